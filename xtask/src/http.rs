//! Blocking HTTP GET/POST/DELETE with Basic auth (plain HTTP; the sandbox listens on 127.0.0.1 only).

use std::time::Duration;

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
    request("GET", url, user, password, timeout)
}

/// `method url` (`GET`, `POST` without a body, or `DELETE`) with HTTP Basic auth; see [`get`].
pub(crate) fn request(
    method: &str,
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
    let auth = format!("Basic {}", base64(format!("{user}:{password}").as_bytes()));
    let response = match method {
        "GET" => agent.get(url).header("Authorization", &auth).call(),
        "DELETE" => agent.delete(url).header("Authorization", &auth).call(),
        "POST" => agent.post(url).header("Authorization", &auth).send_empty(),
        other => return Err(format!("unsupported HTTP method {other}")),
    };
    let mut response = response.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_vec()
        .map_err(|e| format!("reading the body: {e}"))?;
    Ok(Response { status, body })
}

/// Standard base64 with padding (RFC 4648), enough for a Basic auth header.
fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(super::base64(b""), "");
        assert_eq!(super::base64(b"f"), "Zg==");
        assert_eq!(super::base64(b"fo"), "Zm8=");
        assert_eq!(super::base64(b"foo"), "Zm9v");
        assert_eq!(
            super::base64(b"asterisk:asterisk"),
            "YXN0ZXJpc2s6YXN0ZXJpc2s="
        );
    }
}
