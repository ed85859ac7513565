//! Blocking HTTP GET with Basic auth (plain HTTP; the sandbox listens on 127.0.0.1 only), for
//! the commands that need no async runtime: `regen --from http://…` and `asterisk status`.

use std::time::Duration;

use base64::Engine as _;

/// A response of any status.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
}

/// `GET url` with HTTP Basic auth. `Err` is a transport failure (refused, timeout, bad URL),
/// described for a message that names the URL itself.
pub(crate) fn get(
    url: &str,
    user: &str,
    password: &str,
    timeout: Duration,
) -> Result<Response, String> {
    let config = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .build();
    let agent = ureq::Agent::new_with_config(config);
    let mut response = agent
        .get(url)
        .header("Authorization", &basic_auth(user, password))
        .call()
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_vec()
        .map_err(|e| format!("reading the body: {e}"))?;
    Ok(Response { status, body })
}

/// The `Authorization` header value: `Basic` and base64 (RFC 4648, padded) of `user:password`.
fn basic_auth(user: &str, password: &str) -> String {
    let credentials =
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {credentials}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn basic_auth_is_base64_of_user_and_password() {
        assert_eq!(
            super::basic_auth("asterisk", "asterisk"),
            "Basic YXN0ZXJpc2s6YXN0ZXJpc2s="
        );
        assert_eq!(super::basic_auth("f", ""), "Basic Zjo=");
    }
}
