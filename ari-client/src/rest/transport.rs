//! Sending [`Request`]s with `reqwest`, which stays private to this module.

use std::fmt;
use std::sync::Arc;

use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use serde::de::DeserializeOwned;

use super::{Method, Request};
use crate::error::{BoxError, Error, ErrorKind, Result};

/// A cheap, cloneable handle that sends ARI REST requests; the client holds one. It never
/// shows the password in `Debug` output.
#[derive(Clone)]
pub(crate) struct RestClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    /// `http(s)://host:port/ari`, without a trailing slash.
    base: String,
    user: String,
    authorization: HeaderValue,
}

impl fmt::Debug for RestClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RestClient")
            .field("base", &self.inner.base)
            .field("user", &self.inner.user)
            .finish_non_exhaustive()
    }
}

/// The body of an error response, as Asterisk writes it: `{"message": …}`, or
/// `{"error": …}` (some modules' answers).
#[derive(serde::Deserialize)]
struct ErrorBody {
    #[serde(alias = "error")]
    message: String,
}

impl RestClient {
    /// A client for the ARI base `base` (`http(s)://host:port/ari`) with Basic credentials.
    pub(crate) fn new(http: reqwest::Client, base: String, user: &str, password: &str) -> Self {
        use base64::Engine as _;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        let mut authorization = HeaderValue::from_str(&format!("Basic {token}"))
            .expect("base64 is always a valid header value");
        authorization.set_sensitive(true);
        Self {
            inner: Arc::new(Inner {
                http,
                base,
                user: user.to_owned(),
                authorization,
            }),
        }
    }

    /// The `Authorization` header value (marked sensitive).
    pub(crate) fn authorization(&self) -> &HeaderValue {
        &self.inner.authorization
    }

    /// Sends the request and returns the successful response's body.
    async fn send(&self, req: Request) -> Result<bytes::Bytes> {
        let op = req.op;
        let url = format!("{}{}{}", self.inner.base, req.path, req.query);
        let method = match op.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Delete => reqwest::Method::DELETE,
        };
        let mut builder = self
            .inner
            .http
            .request(method, url)
            .header(AUTHORIZATION, self.inner.authorization.clone());
        if let Some(body) = req.body {
            builder = builder
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .body(body);
        }
        let response = builder
            .send()
            .await
            .map_err(|e| transport_error(e).with_operation(op.name))?;
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|e| transport_error(e).with_operation(op.name))?;
        if (200..300).contains(&status) {
            return Ok(body);
        }
        let message = serde_json::from_slice::<ErrorBody>(&body)
            .ok()
            .map(|b| b.message);
        Err(Error::status(status, op.name, op.reason(status), message))
    }

    /// Sends the request and decodes the JSON response into `T`.
    pub(crate) async fn json<T: DeserializeOwned>(&self, req: Request) -> Result<T> {
        let op = req.op.name;
        let body = self.send(req).await?;
        serde_json::from_slice(&body).map_err(|e| {
            Error::new(ErrorKind::Decode)
                .with_operation(op)
                .with_source(e)
        })
    }

    /// Sends the request and ignores the (empty) response body.
    pub(crate) async fn empty(&self, req: Request) -> Result<()> {
        self.send(req).await.map(drop)
    }

    /// Sends the request and returns the response body as raw bytes.
    pub(crate) async fn bytes(&self, req: Request) -> Result<Vec<u8>> {
        self.send(req).await.map(Vec::from)
    }
}

/// Maps a `reqwest` failure to our kinds, keeping it as the opaque source.
pub(crate) fn transport_error(e: reqwest::Error) -> Error {
    let kind = if e.is_timeout() {
        ErrorKind::Timeout
    } else if has_tls_cause(&e) {
        ErrorKind::Tls
    } else if e.is_connect() {
        ErrorKind::Connect
    } else if e.is_builder() {
        ErrorKind::InvalidUrl
    } else if e.is_decode() {
        ErrorKind::Decode
    } else {
        ErrorKind::Connect
    };
    Error::new(kind).with_source(BoxError::from(e.without_url()))
}

fn has_tls_cause(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if err.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        // io::Error::source() skips the wrapped error itself: look at it directly
        cur = match err.downcast_ref::<std::io::Error>() {
            Some(io) => io.get_ref().map(|inner| inner as _),
            None => err.source(),
        };
    }
    false
}

#[cfg(test)]
mod tests {
    #[test]
    fn debug_never_shows_the_password() {
        let client = crate::Client::builder("http://127.0.0.1:8088", "asterisk", "pa55word")
            .build()
            .unwrap();
        let shown = format!("{:?}", client.rest());
        assert!(
            shown.contains("asterisk") && !shown.contains("pa55word"),
            "{shown}"
        );
    }
}
