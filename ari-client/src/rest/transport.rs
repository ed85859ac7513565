//! Sending [`Request`]s with `reqwest`, which stays private to this module.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;

use super::websocket::Tunnel;
use super::{Method, Operation, Request, ServerApi};
use crate::error::{BoxError, Error, ErrorKind, Result};

/// The `Authorization` value of HTTP Basic auth for `user` and `password`: what the client
/// sends to Asterisk, and what an outbound listener expects from it.
pub(crate) fn basic_authorization(user: &str, password: &str) -> String {
    use base64::Engine as _;
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {token}")
}

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
    limits: Limits,
    /// A permit per request in flight, up to `limits.max_concurrent_requests`.
    in_flight: Semaphore,
    /// What the server serves, once `connect` has read it: every request is checked
    /// against it before it is sent.
    server_api: OnceLock<Arc<ServerApi>>,
    /// REST over the event websocket ([`RestTransport::WebSocket`]); `None`: HTTP only.
    tunnel: Option<Arc<Tunnel>>,
    /// Another way to the server than HTTP or the websocket (a relay over NATS): when set,
    /// every request goes through it.
    remote: Option<Arc<dyn Remote>>,
}

/// What a [`Remote`] brings back: the server's status, its reason phrase (for errors found
/// before the operation ran, when there is no JSON message) and the body.
#[derive(Debug)]
pub(crate) struct RemoteAnswer {
    pub(crate) status: u16,
    pub(crate) reason: String,
    pub(crate) body: bytes::Bytes,
}

impl From<super::websocket::Answer> for RemoteAnswer {
    fn from(answer: super::websocket::Answer) -> Self {
        RemoteAnswer {
            status: answer.status,
            reason: answer.reason,
            body: answer
                .body
                .map(String::into_bytes)
                .unwrap_or_default()
                .into(),
        }
    }
}

/// A way to the server through something else than HTTP or the event websocket — a relay
/// that holds the ARI connection and performs requests for the client (`crate::nats`). The
/// client checks and maps requests and answers as for HTTP; the remote only carries them,
/// within `timeout`, and reports a failure to carry one as an [`Error`] of its kind.
pub(crate) trait Remote: Send + Sync {
    /// Carries `req` to the server and brings its answer back.
    fn exchange<'a>(
        &'a self,
        req: &'a Request,
        timeout: Duration,
    ) -> Pin<Box<dyn Future<Output = Result<RemoteAnswer>> + Send + 'a>>;
}

/// How a client sends its REST requests ([`ClientBuilder::rest_transport`](crate::ClientBuilder::rest_transport)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum RestTransport {
    /// HTTP requests to the server's URL, on a pool of connections (the default).
    #[default]
    Http,
    /// `RESTRequest` frames on the event websocket, answered by `RESTResponse` events
    /// (Asterisk 20.14, 21.9, 22.4 and later). One connection carries events and
    /// requests; no route from the application to Asterisk's HTTP port is needed once the
    /// websocket is open.
    ///
    /// Requests made before the event websocket first opens — [`connect`](crate::ClientBuilder::connect)'s
    /// own checks among them — and after the event connection ended
    /// ([`Client::shutdown`](crate::Client::shutdown)) go over HTTP when the client has a
    /// URL; in between every request goes over the websocket, and one made while it
    /// reconnects waits for it, within
    /// [`request_timeout`](crate::ClientBuilder::request_timeout). Without a URL (a client
    /// Asterisk connects to), a request after the end fails at once with
    /// [`ErrorKind::Closed`](crate::ErrorKind::Closed). A request in
    /// flight when the websocket is lost fails at once with
    /// [`ErrorKind::WebSocket`](crate::ErrorKind::WebSocket): Asterisk may or may not
    /// have carried it out. Answers are read ahead of the events before them: a handler
    /// that waits for one while the events queued behind it have spent the
    /// [`event_budget`](crate::ClientBuilder::event_budget) still gets it, as long as no
    /// more than another budget's worth of events arrived before the answer (beyond that,
    /// the reader waits, and the request may time out). Asterisk does not send files this way: an operation that
    /// returns one (`recordings.getStoredFile`) fails with
    /// [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported), nothing sent.
    WebSocket,
}

/// The bounds of the REST transport (set by `ClientBuilder`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// The largest successful response body read (`ClientBuilder::max_response_bytes`).
    pub(crate) max_response_bytes: usize,
    /// How many requests are in flight at once (`ClientBuilder::max_concurrent_requests`);
    /// the others wait for their turn, in order.
    pub(crate) max_concurrent_requests: usize,
    /// A parameter the server's declarations lack is sent anyway
    /// (`ClientBuilder::send_undeclared_parameters`).
    pub(crate) send_undeclared_parameters: bool,
    /// The longest a request takes, answer included (`ClientBuilder::request_timeout`).
    pub(crate) request_timeout: std::time::Duration,
    pub(crate) transport: RestTransport,
}

/// The most of an error response's body that is read for its `{"message": …}`. Asterisk's
/// error bodies are a line of JSON; a longer one is not read, and the error has the
/// status and the documented reason without the message.
const MAX_ERROR_BODY: usize = 64 << 10;

impl fmt::Debug for RestClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RestClient")
            .field("base", &self.inner.base)
            .field("user", &self.inner.user)
            .field("limits", &self.inner.limits)
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
    /// A client for the ARI base `base` (`http(s)://host:port/ari`) with Basic credentials,
    /// within `limits`.
    pub(crate) fn new(
        http: reqwest::Client,
        base: String,
        user: &str,
        password: &str,
        limits: Limits,
    ) -> Self {
        let mut authorization = HeaderValue::from_str(&basic_authorization(user, password))
            .expect("base64 is always a valid header value");
        authorization.set_sensitive(true);
        Self {
            inner: Arc::new(Inner {
                http,
                base,
                user: user.to_owned(),
                authorization,
                limits,
                in_flight: Semaphore::new(limits.max_concurrent_requests.max(1)),
                server_api: OnceLock::new(),
                tunnel: (limits.transport == RestTransport::WebSocket)
                    .then(|| Arc::new(Tunnel::default())),
                remote: None,
            }),
        }
    }

    /// The same client sending every request through `remote` (before it is shared).
    pub(crate) fn with_remote(mut self, remote: Arc<dyn Remote>) -> Self {
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => {
                inner.remote = Some(remote);
                inner.tunnel = None;
            }
            None => tracing::error!("a REST client already in use cannot change its transport"),
        }
        self
    }

    /// The `Authorization` header value (marked sensitive).
    pub(crate) fn authorization(&self) -> &HeaderValue {
        &self.inner.authorization
    }

    /// What the server serves, once read.
    pub(crate) fn server_api(&self) -> Option<&Arc<ServerApi>> {
        self.inner.server_api.get()
    }

    /// The requests over the event websocket, when that is the transport.
    pub(crate) fn tunnel(&self) -> Option<&Arc<Tunnel>> {
        self.inner.tunnel.as_ref()
    }

    /// Sets what the server serves (once: later calls change nothing).
    pub(crate) fn set_server_api(&self, api: Arc<ServerApi>) {
        let _ = self.inner.server_api.set(api);
    }

    /// Sends the request and returns the successful response's body.
    async fn send(&self, req: Request) -> Result<bytes::Bytes> {
        if let Some(api) = self.inner.server_api.get() {
            api.check(&req, self.inner.limits.send_undeclared_parameters)?;
        }
        // held until the body is read: the connection is busy until then
        let Ok(_permit) = self.inner.in_flight.acquire().await else {
            // never closed: only a client that is gone could get here
            return Err(Error::new(ErrorKind::Closed).with_operation(req.op.name));
        };
        if let Some(remote) = &self.inner.remote {
            return self.send_remote(remote.as_ref(), req).await;
        }
        match self.over_websocket() {
            Some(tunnel) => self.send_websocket(tunnel, req).await,
            None => self.send_http(req).await,
        }
    }

    /// [`send`](Self::send) through a [`Remote`]: the answer is read as one over the
    /// websocket is.
    async fn send_remote(&self, remote: &dyn Remote, req: Request) -> Result<bytes::Bytes> {
        let op = req.op;
        let answer = remote
            .exchange(&req, self.inner.limits.request_timeout)
            .await
            .map_err(|e| e.with_operation(op.name))?;
        self.answered(op, answer)
    }

    /// The outcome of an answer that came whole (over the event websocket, or through a
    /// [`Remote`]): the body of a success within the size limit, or the error that the
    /// status, Asterisk's message and its reason phrase make.
    fn answered(&self, op: &'static Operation, answer: RemoteAnswer) -> Result<bytes::Bytes> {
        if (200..300).contains(&answer.status) {
            let limit = self.inner.limits.max_response_bytes;
            if answer.body.len() > limit {
                return Err(too_large(format!(
                    "a body of {} bytes, over the limit of {limit} bytes",
                    answer.body.len()
                ))
                .with_operation(op.name));
            }
            return Ok(answer.body);
        }
        if let Some(message) = http_error_page(&answer.body) {
            // refused by Asterisk's HTTP server before ARI saw it (see `send_http`)
            return Err(Error::status(answer.status, op.name, None, Some(message)));
        }
        let message = serde_json::from_slice::<ErrorBody>(&answer.body)
            .ok()
            .map(|b| b.message)
            // errors Asterisk finds before the operation runs have only a reason phrase
            .or_else(|| (!answer.reason.is_empty()).then_some(answer.reason));
        Err(Error::status(
            answer.status,
            op.name,
            op.reason(answer.status),
            message,
        ))
    }

    /// Performs `req` for someone else (a relay serving REST to app instances): the
    /// server's status and body whatever the status (an error body read up to 64 KiB),
    /// after the same check against the server's declarations as [`send`](Self::send).
    /// `Err` only when no answer came (the request may or may not have been carried out
    /// when it is [`ErrorKind::Timeout`] or [`ErrorKind::Connect`] after sending).
    #[cfg_attr(not(feature = "nats"), allow(dead_code))]
    pub(crate) async fn forward(&self, req: Request) -> Result<RemoteAnswer> {
        if let Some(api) = self.inner.server_api.get() {
            api.check(&req, self.inner.limits.send_undeclared_parameters)?;
        }
        let Ok(_permit) = self.inner.in_flight.acquire().await else {
            return Err(Error::new(ErrorKind::Closed).with_operation(req.op.name));
        };
        let op = req.op;
        if let Some(tunnel) = self.over_websocket() {
            let answer = tunnel.send(&req, self.inner.limits.request_timeout).await?;
            return Ok(answer.into());
        }
        let response = self.http_response(req).await?;
        let status = response.status().as_u16();
        let reason = response
            .status()
            .canonical_reason()
            .unwrap_or_default()
            .to_owned();
        let limit = if (200..300).contains(&status) {
            self.inner.limits.max_response_bytes
        } else {
            MAX_ERROR_BODY.min(self.inner.limits.max_response_bytes)
        };
        let body = read_body(response, limit)
            .await
            .map_err(|e| e.with_operation(op.name))?;
        Ok(RemoteAnswer {
            status,
            reason,
            body,
        })
    }

    /// The tunnel a request goes through now, if not HTTP: once a websocket was attached
    /// and until the event connection ends, and always when there is no URL to send HTTP
    /// requests to.
    fn over_websocket(&self) -> Option<&Tunnel> {
        let http = !self.inner.base.is_empty();
        self.inner
            .tunnel
            .as_deref()
            .filter(|t| !http || (t.engaged() && !t.closed()))
    }

    /// [`send`](Self::send) over the event websocket.
    async fn send_websocket(&self, tunnel: &Tunnel, req: Request) -> Result<bytes::Bytes> {
        let answer = tunnel.send(&req, self.inner.limits.request_timeout).await?;
        self.answered(req.op, answer.into())
    }

    /// Sends `req` over HTTP and returns the response, its body unread.
    async fn http_response(&self, req: Request) -> Result<reqwest::Response> {
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
        builder
            .send()
            .await
            .map_err(|e| transport_error(e).with_operation(op.name))
    }

    /// [`send`](Self::send) over HTTP.
    async fn send_http(&self, req: Request) -> Result<bytes::Bytes> {
        let op = req.op;
        let response = self.http_response(req).await?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return read_body(response, self.inner.limits.max_response_bytes)
                .await
                .map_err(|e| e.with_operation(op.name));
        }
        // the status says what happened: a body that is too long, or broken, only loses
        // Asterisk's message
        let body = read_body(
            response,
            MAX_ERROR_BODY.min(self.inner.limits.max_response_bytes),
        )
        .await
        .ok();
        if let Some(message) = body.as_deref().and_then(http_error_page) {
            // Asterisk's HTTP server refused the request before ARI saw it (a request
            // line longer than some 8 kB is "400 Request line too long"): the
            // operation's documented reason for the status would mislead
            return Err(Error::status(status, op.name, None, Some(message)));
        }
        let message = body
            .and_then(|body| serde_json::from_slice::<ErrorBody>(&body).ok())
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

    /// `GET /ari/api-docs/<file>`: one of the server's declarations of the API, as served
    /// (not checked against the declarations, which it is read to make).
    pub(crate) async fn api_doc(&self, file: &str) -> Result<bytes::Bytes> {
        static OP: Operation = Operation {
            index: super::UNCHECKED,
            name: "api-docs",
            method: Method::Get,
            path: "/api-docs/{file}",
            params: &["file"],
            since: &[],
            errors: &[(404, "Resource not found")],
        };
        let path = format!("/api-docs/{}", super::segment(&OP, "file", file)?);
        self.send(Request::new(&OP, path)).await
    }

    /// Sends the request and returns the response body as raw bytes.
    pub(crate) async fn bytes(&self, req: Request) -> Result<Vec<u8>> {
        if self.inner.remote.is_none() && self.over_websocket().is_some() {
            // Asterisk answers a file download over the websocket with 406 ("Not
            // Acceptable.  Use HTTP GET", res/ari/ari_websocket_requests.c)
            return Err(Error::new(ErrorKind::Unsupported)
                .with_operation(req.op.name)
                .with_message(
                    "Asterisk does not send files over the websocket (RestTransport::WebSocket); nothing was sent",
                ));
        }
        self.send(req).await.map(Vec::from)
    }
}

/// The text of an HTML error page of Asterisk's HTTP server (`<p>Request line too
/// long</p>`), at most 200 characters of it; ARI's own errors are JSON.
fn http_error_page(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?.trim_start();
    let head = text
        .chars()
        .take(14)
        .collect::<String>()
        .to_ascii_lowercase();
    if !head.starts_with("<!doctype html") && !head.starts_with("<html") {
        return None;
    }
    let start = text.find("<p>")? + 3;
    let end = start + text[start..].find("</p>")?;
    let message: String = text[start..end].trim().chars().take(200).collect();
    Some(message)
}

/// Reads a response body of at most `limit` bytes, chunk by chunk: refused at once when its
/// `Content-Length` is larger, and as soon as more arrived, so that a huge or endless body
/// costs at most `limit` bytes of memory.
async fn read_body(mut response: reqwest::Response, limit: usize) -> Result<bytes::Bytes> {
    let announced = response.content_length();
    if let Some(len) = announced.filter(|&len| len > limit as u64) {
        return Err(too_large(format!(
            "Content-Length {len} bytes, over the limit of {limit} bytes"
        )));
    }
    // most bodies arrive in one chunk: no copy then
    let Some(first) = next_chunk(&mut response, 0, announced).await? else {
        return Ok(bytes::Bytes::new());
    };
    if first.len() > limit {
        return Err(too_large(format!(
            "more than the limit of {limit} bytes arrived"
        )));
    }
    let Some(mut chunk) = next_chunk(&mut response, first.len(), announced).await? else {
        return Ok(first);
    };
    let mut body = Vec::new();
    // what the server announced (not more than the limit), else what is here
    let want = announced
        .map_or(0, |len| len as usize)
        .max(first.len() + chunk.len());
    grow(&mut body, want.min(limit), limit)?;
    body.extend_from_slice(&first);
    drop(first);
    loop {
        let len = body.len() + chunk.len();
        if len > limit {
            return Err(too_large(format!(
                "more than the limit of {limit} bytes arrived"
            )));
        }
        grow(&mut body, len, limit)?;
        body.extend_from_slice(&chunk);
        match next_chunk(&mut response, body.len(), announced).await? {
            Some(c) => chunk = c,
            None => return Ok(body.into()),
        }
    }
}

/// The next chunk of the body, after `received` bytes of it; a failure says how far it got.
async fn next_chunk(
    response: &mut reqwest::Response,
    received: usize,
    announced: Option<u64>,
) -> Result<Option<bytes::Bytes>> {
    response.chunk().await.map_err(|e| {
        let e = transport_error(e);
        let of = announced.map_or(String::new(), |len| format!(" of {len}"));
        let detail = format!("{received}{of} bytes");
        let message = match e.message() {
            Some(m) => format!("{detail}: {m}"),
            None => detail,
        };
        e.with_message(message)
    })
}

/// Makes room for `len` bytes in `body`: at least doubling, never beyond `limit`, and
/// an error rather than an abort when the memory is not there.
fn grow(body: &mut Vec<u8>, len: usize, limit: usize) -> Result<()> {
    if len <= body.capacity() {
        return Ok(());
    }
    let target = len.max(body.capacity().saturating_mul(2)).min(limit);
    body.try_reserve_exact(target - body.len()).map_err(|e| {
        Error::new(ErrorKind::ResponseTooLarge)
            .with_message(format!("no memory for a body of {target} bytes"))
            .with_source(e)
    })
}

fn too_large(what: String) -> Error {
    Error::new(ErrorKind::ResponseTooLarge)
        .with_message(format!("{what} (ClientBuilder::max_response_bytes)"))
}

/// Maps a `reqwest` failure to our kinds, keeping it as the opaque source.
///
/// What reqwest 0.13 (hyper 1) reports, measured with a fake server
/// (`tests/rest_faults.rs`):
///
/// | the server | reqwest | kind |
/// | --- | --- | --- |
/// | refuses the connection | `is_connect()` | `Connect` |
/// | answers a garbage status line (`GARBAGE`, `HTTP/1.1 abc`, an SSH banner, a bare JSON text) | `is_request()`, source `hyper::Error(Parse(Version))` or `Parse(Status)`, no I/O error | `Protocol` |
/// | answers a malformed header or `Content-Length` | `is_request()`, `hyper::Error(Parse(Header(…)))` | `Protocol` |
/// | answers a head larger than hyper's buffer (some 400 kB) | `is_request()`, `hyper::Error(Parse(TooLarge))` | `Protocol` |
/// | closes the connection before a complete head (Asterisk past its `sessionlimit`, a pooled connection closed as it was reused) | `is_request()`, `hyper::Error(IncompleteMessage)` | `Connect` |
/// | sends fewer body bytes than its `Content-Length`, or stops inside a chunked body | `is_decode()` (from `chunk()`), sources `is_body()` and `hyper::Error(Body, io::Error(UnexpectedEof))` | `Truncated` |
/// | sends a malformed chunk size line | `is_decode()`, `hyper::Error(Body, io::Error(InvalidInput))` | `Protocol` |
/// | stalls in the body past the request timeout | `is_decode()`, `is_timeout()` | `Timeout` |
///
/// The decision rests on reqwest's flags, on the [`std::io::Error`] in the source chain
/// and on hyper's `is_incomplete_message`.
pub(crate) fn transport_error(e: reqwest::Error) -> Error {
    let io = io_cause(&e);
    let kind = if e.is_timeout() {
        ErrorKind::Timeout
    } else if has_tls_cause(&e) {
        ErrorKind::Tls
    } else if e.is_connect() {
        ErrorKind::Connect
    } else if e.is_builder() {
        ErrorKind::InvalidUrl
    } else if e.is_decode() {
        // reading the body after the head arrived (`Response::chunk` reports every
        // failure as `is_decode`): the connection ended or broke mid-body, or a chunk
        // was malformed
        match io {
            Some(std::io::ErrorKind::InvalidInput | std::io::ErrorKind::InvalidData) => {
                ErrorKind::Protocol
            }
            _ => ErrorKind::Truncated,
        }
    } else if io.is_some() || closed_before_answer(&e) {
        // the connection broke or closed while the request was sent or the head awaited
        ErrorKind::Connect
    } else {
        // connected, and hyper refused what came back, or nothing came back
        ErrorKind::Protocol
    };
    let mut error = Error::new(kind);
    if matches!(
        kind,
        ErrorKind::Protocol | ErrorKind::Truncated | ErrorKind::Connect
    ) {
        // what hyper found ("invalid HTTP version parsed", "connection closed before
        // message completed"), for logs that show only the error itself
        error = error.with_message(innermost(&e).to_string());
    }
    error.with_source(BoxError::from(e.without_url()))
}

/// The connection closed before a complete answer's head arrived.
fn closed_before_answer(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(h) = err.downcast_ref::<hyper::Error>() {
            return h.is_incomplete_message();
        }
        cur = err.source();
    }
    false
}

/// The last error of the source chain: the one that says what was found.
fn innermost<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> &'a (dyn std::error::Error + 'static) {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur
}

/// The kind of the first I/O error in the source chain.
fn io_cause(e: &(dyn std::error::Error + 'static)) -> Option<std::io::ErrorKind> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        cur = err.source();
    }
    None
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
