//! The websocket upgrade, done here rather than by tungstenite: tungstenite logs the raw
//! handshake request at `trace` level, `Authorization` header included (marking the header
//! sensitive does not stop that), so the request — the one place the credentials travel on
//! the event connection — is written by this module and handed to no logger. tungstenite
//! gets the socket after the `101 Switching Protocols`.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use base64::Engine as _;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use crate::error::{Error, ErrorKind, Result};

/// The longest response head (status line and headers) accepted.
const MAX_HEAD: usize = 16 * 1024;
/// The longest error body read for its message.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Where to connect, from a `ws://` or `wss://` URL.
pub(super) struct Target {
    tls: bool,
    host: String,
    port: u16,
    /// Path and query.
    resource: String,
}

impl Target {
    pub(super) fn parse(url: &str) -> Result<Target> {
        let invalid = |why: &str| Error::new(ErrorKind::InvalidUrl).with_message(why.to_owned());
        let (tls, rest) = if let Some(rest) = url.strip_prefix("wss://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("ws://") {
            (false, rest)
        } else {
            return Err(invalid("the websocket URL is not ws:// or wss://"));
        };
        let (authority, resource) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let (host, port) = match authority.rsplit_once(':') {
            // an IPv6 literal without a port is `[::1]`
            Some((host, port)) if !port.contains(']') => (
                host,
                port.parse()
                    .map_err(|_| invalid("the port of the websocket URL is not a number"))?,
            ),
            _ => (authority, if tls { 443 } else { 80 }),
        };
        if host.is_empty() {
            return Err(invalid("no host in the websocket URL"));
        }
        Ok(Target {
            tls,
            host: host.to_owned(),
            port,
            resource: if resource.is_empty() {
                "/".into()
            } else {
                resource.to_owned()
            },
        })
    }

    /// The `Host` header's value.
    fn host_header(&self) -> String {
        match (self.tls, self.port) {
            (true, 443) | (false, 80) => self.host.clone(),
            (_, port) => format!("{}:{port}", self.host),
        }
    }
}

/// The stream after the upgrade's response head: first what was read of the websocket's
/// frames with the head, then the socket.
///
/// Handing the bytes over this way, instead of with tungstenite's `from_partially_read`,
/// is what keeps the websocket's reads large: a read buffer built from a (usually empty)
/// `Vec` remembers its original capacity as 0, and once the first frames' payloads share
/// it, every later reservation is only one frame long, so every frame cost a `recv` of
/// its own (the event path's bench: 200k instead of 300k–400k events/s).
pub(crate) struct Upgraded {
    stream: Stream,
    leftover: Vec<u8>,
    /// How much of `leftover` was read.
    read: usize,
}

impl Upgraded {
    /// A plain TCP connection whose upgrade is taken as done (the tests' sockets).
    #[cfg(test)]
    pub(super) fn plain(tcp: TcpStream) -> Upgraded {
        Upgraded {
            stream: Stream::Plain(tcp),
            leftover: Vec::new(),
            read: 0,
        }
    }
}

/// A websocket's connection: plain TCP, or TLS as the client (`wss://` to Asterisk) or as
/// the server (Asterisk's outbound websocket with `tls_enabled`).
pub(super) enum Stream {
    Plain(TcpStream),
    Client(Box<tokio_rustls::client::TlsStream<TcpStream>>),
    Server(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

/// Runs `$e` on the stream inside, whichever it is.
macro_rules! each {
    ($stream:expr, $s:ident => $e:expr) => {
        match $stream {
            Stream::Plain($s) => $e,
            Stream::Client($s) => $e,
            Stream::Server($s) => $e,
        }
    };
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        each!(self.get_mut(), s => Pin::new(s).poll_read(cx, buf))
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        each!(self.get_mut(), s => Pin::new(s).poll_write(cx, buf))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        each!(self.get_mut(), s => Pin::new(s).poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        each!(self.get_mut(), s => Pin::new(s).poll_shutdown(cx))
    }
}

impl std::fmt::Debug for Upgraded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.stream {
            Stream::Plain(_) => "plain",
            Stream::Client(_) => "TLS client",
            Stream::Server(_) => "TLS server",
        };
        f.debug_struct("Upgraded")
            .field("stream", &kind)
            .finish_non_exhaustive()
    }
}

impl AsyncRead for Upgraded {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        if this.read < this.leftover.len() {
            let n = buf.remaining().min(this.leftover.len() - this.read);
            buf.put_slice(&this.leftover[this.read..this.read + n]);
            this.read += n;
            if this.read == this.leftover.len() {
                this.leftover = Vec::new();
                this.read = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Upgraded {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// Why an upgrade failed before a response.
fn io_error(op: &'static str, e: std::io::Error) -> Error {
    Error::new(ErrorKind::Connect)
        .with_operation(op)
        .with_source(e)
}

/// What an upgrade answered with another status than 101 becomes: from the operation, the
/// status and the body's `message`.
pub(crate) type Refusal = fn(&'static str, u16, Option<String>) -> Error;

/// Connects and upgrades to a websocket, with one more request header (`header`'s name
/// and value: the events websocket's `Authorization`, which is written to the socket and
/// nowhere else, or the media websocket's `Sec-WebSocket-Protocol`).
pub(super) async fn upgrade(
    op: &'static str,
    target: &Target,
    header: (&str, &[u8]),
    refused: Refusal,
    tls: &std::sync::Arc<rustls::ClientConfig>,
) -> Result<Upgraded> {
    let tcp = TcpStream::connect((target.host.trim_matches(['[', ']']), target.port))
        .await
        .map_err(|e| io_error(op, e))?;
    // events and media frames are small and latency counts
    let _ = tcp.set_nodelay(true);
    let mut stream = if target.tls {
        let name = rustls::pki_types::ServerName::try_from(
            target.host.trim_matches(['[', ']']).to_owned(),
        )
        .map_err(|e| {
            Error::new(ErrorKind::InvalidUrl)
                .with_operation(op)
                .with_source(e)
        })?;
        let connector = tokio_rustls::TlsConnector::from(tls.clone());
        let tls = connector.connect(name, tcp).await.map_err(|e| {
            let kind = if e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) {
                ErrorKind::Tls
            } else {
                ErrorKind::Connect
            };
            Error::new(kind).with_operation(op).with_source(e)
        })?;
        Stream::Client(Box::new(tls))
    } else {
        Stream::Plain(tcp)
    };
    let key = base64::engine::general_purpose::STANDARD.encode(
        [
            crate::random::u64().to_le_bytes(),
            crate::random::u64().to_le_bytes(),
        ]
        .concat(),
    );
    let mut request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{}: ",
        target.resource,
        target.host_header(),
        header.0
    )
    .into_bytes();
    request.extend_from_slice(header.1);
    request.extend_from_slice(b"\r\n\r\n");
    stream
        .write_all(&request)
        .await
        .map_err(|e| io_error(op, e))?;
    // the request holds the credentials: gone before anything can fail and be reported
    drop(request);
    let (head, mut rest) = read_head(op, &mut stream).await?;
    let response = Head::parse(op, &head)?;
    if response.status != 101 {
        let body = read_body(&mut stream, &mut rest, response.content_length).await;
        let message = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("message")?.as_str().map(str::to_owned));
        return Err(refused(op, response.status, message));
    }
    let accepted = response.header("sec-websocket-accept").unwrap_or_default();
    if accepted != derive_accept_key(key.as_bytes()) {
        return Err(Error::new(ErrorKind::Protocol)
            .with_operation(op)
            .with_message("the websocket upgrade was answered with a wrong Sec-WebSocket-Accept"));
    }
    Ok(Upgraded {
        stream,
        leftover: rest,
        read: 0,
    })
}

/// Reads up to the end of the response head; returns the head and what came after it.
async fn read_head<S: AsyncRead + Unpin>(
    op: &'static str,
    stream: &mut S,
) -> Result<(Vec<u8>, Vec<u8>)> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            let rest = buf.split_off(end + 4);
            return Ok((buf, rest));
        }
        if buf.len() > MAX_HEAD {
            return Err(Error::new(ErrorKind::Protocol)
                .with_operation(op)
                .with_message(format!(
                    "the upgrade's response head is over {MAX_HEAD} bytes"
                )));
        }
        let n = stream.read(&mut chunk).await.map_err(|e| io_error(op, e))?;
        if n == 0 {
            return Err(Error::new(ErrorKind::Protocol)
                .with_operation(op)
                .with_message(
                    "the server closed the connection before answering the websocket upgrade",
                ));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The error body after a refused upgrade, for its message: bounded in size and time.
async fn read_body(stream: &mut Stream, have: &mut Vec<u8>, length: Option<usize>) -> Vec<u8> {
    let want = length.unwrap_or(0).min(MAX_ERROR_BODY);
    let mut chunk = [0u8; 1024];
    while have.len() < want {
        let read = tokio::time::timeout(Duration::from_secs(1), stream.read(&mut chunk)).await;
        match read {
            Ok(Ok(n)) if n > 0 => have.extend_from_slice(&chunk[..n]),
            _ => break,
        }
    }
    have.truncate(want);
    std::mem::take(have)
}

/// Why an upgrade from Asterisk was refused: for the log, never with the credentials.
#[derive(Debug)]
pub(crate) enum Refused {
    /// No `Authorization`, or not the expected one: answered 401.
    Unauthorized,
    /// Not a websocket upgrade, or one for protocols other than `ari`: answered 400.
    NotWebSocket(&'static str),
    /// The connection broke or sent something that is not HTTP.
    Broken(Error),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unauthorized => f.write_str("refused with 401: wrong or missing credentials"),
            Self::NotWebSocket(why) => write!(f, "refused with 400: {why}"),
            Self::Broken(e) => write!(f, "{e}"),
        }
    }
}

/// Accepts a websocket upgrade that Asterisk sends to the application (an outbound
/// websocket, `res_websocket_client`): its `Authorization` must be `authorization`
/// (compared in constant time); a `Sec-WebSocket-Protocol` offer must include `ari`,
/// which the answer then names (Asterisk checks that). Everything else is refused.
pub(super) async fn accept(
    op: &'static str,
    mut tcp: Stream,
    authorization: &[u8],
) -> std::result::Result<Upgraded, Refused> {
    let (head, rest) = read_head(op, &mut tcp).await.map_err(Refused::Broken)?;
    let request = match Request::parse(&head) {
        Ok(request) => request,
        Err(why) => return Err(refuse(&mut tcp, 400, Refused::NotWebSocket(why)).await),
    };
    let given = request.header("authorization").unwrap_or_default();
    if !constant_time_eq(given.as_bytes(), authorization) {
        return Err(refuse(&mut tcp, 401, Refused::Unauthorized).await);
    }
    let protocol = match request.header("sec-websocket-protocol") {
        None => None,
        Some(offer) if offer.split(',').any(|p| p.trim() == "ari") => Some("ari"),
        Some(_) => {
            return Err(refuse(
                &mut tcp,
                400,
                Refused::NotWebSocket("a websocket for other protocols than `ari`"),
            )
            .await)
        }
    };
    let Some(key) = request.header("sec-websocket-key") else {
        return Err(refuse(&mut tcp, 400, Refused::NotWebSocket("no Sec-WebSocket-Key")).await);
    };
    let mut answer = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n",
        derive_accept_key(key.as_bytes())
    );
    if let Some(protocol) = protocol {
        answer.push_str(&format!("Sec-WebSocket-Protocol: {protocol}\r\n"));
    }
    answer.push_str("\r\n");
    tcp.write_all(answer.as_bytes())
        .await
        .map_err(|e| Refused::Broken(io_error(op, e)))?;
    Ok(Upgraded {
        stream: tcp,
        leftover: rest,
        read: 0,
    })
}

/// Answers `status` with an empty body, closes, and says why.
async fn refuse(tcp: &mut Stream, status: u16, why: Refused) -> Refused {
    let head = match status {
        401 => "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"ari-client\"\r\n",
        _ => "HTTP/1.1 400 Bad Request\r\n",
    };
    let _ = tcp
        .write_all(format!("{head}Content-Length: 0\r\nConnection: close\r\n\r\n").as_bytes())
        .await;
    let _ = tcp.shutdown().await;
    why
}

/// Equal bytes, in a time that does not depend on where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A parsed upgrade request head: what [`accept`] checks.
struct Request {
    headers: Headers,
}

impl Request {
    fn parse(head: &[u8]) -> std::result::Result<Request, &'static str> {
        let text = std::str::from_utf8(head).map_err(|_| "a request head that is not UTF-8")?;
        let mut lines = text.split("\r\n");
        let line = lines.next().unwrap_or_default();
        let mut parts = line.split(' ');
        if parts.next() != Some("GET") || !parts.nth(1).is_some_and(|v| v.starts_with("HTTP/1.")) {
            return Err("not an HTTP/1.1 GET");
        }
        let headers = Headers::parse(lines).ok_or("a malformed header")?;
        let request = Request { headers };
        let upgrade = request.header("upgrade").unwrap_or_default();
        if !upgrade.eq_ignore_ascii_case("websocket") {
            return Err("not a websocket upgrade");
        }
        if request.header("sec-websocket-version") != Some("13") {
            return Err("not websocket version 13");
        }
        Ok(request)
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }
}

/// The header lines of a request or response head, names in lower case.
#[derive(Debug)]
struct Headers(Vec<(String, String)>);

impl Headers {
    /// The headers of these lines (the head's first line taken already); `None` for a
    /// line that is not `name: value`.
    fn parse<'a>(lines: impl Iterator<Item = &'a str>) -> Option<Headers> {
        let mut headers = Vec::new();
        for line in lines.filter(|l| !l.is_empty()) {
            let (name, value) = line.split_once(':')?;
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
        Some(Headers(headers))
    }

    /// The first value of the header `name` (lower case).
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A parsed response head.
#[derive(Debug)]
struct Head {
    status: u16,
    headers: Headers,
    content_length: Option<usize>,
}

impl Head {
    fn parse(op: &'static str, head: &[u8]) -> Result<Head> {
        let garbage = || {
            Error::new(ErrorKind::Protocol)
                .with_operation(op)
                .with_message("the websocket upgrade was answered with something that is not HTTP")
        };
        let text = std::str::from_utf8(head).map_err(|_| garbage())?;
        let mut lines = text.split("\r\n");
        let status_line = lines.next().ok_or_else(garbage)?;
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or_default();
        let status = parts.next().and_then(|s| s.parse().ok());
        let (true, Some(status)) = (version.starts_with("HTTP/1."), status) else {
            return Err(garbage());
        };
        let headers = Headers::parse(lines).ok_or_else(garbage)?;
        let content_length = headers.get("content-length").and_then(|v| v.parse().ok());
        Ok(Head {
            status,
            headers,
            content_length,
        })
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server's unmasked text frame.
    fn text_frame(text: &str) -> Vec<u8> {
        super::super::unmasked_frame(0x81, text.as_bytes())
    }

    /// Frames that came with the response head are read first, then the socket's.
    #[tokio::test]
    async fn frames_read_with_the_head_come_first() {
        use futures_util::StreamExt as _;
        use tokio_tungstenite::tungstenite::protocol::Role;
        use tokio_tungstenite::WebSocketStream;

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut tcp, _) = listener.accept().await.unwrap();
            tcp.write_all(&text_frame("from the socket")).await.unwrap();
            tcp
        });
        let tcp = TcpStream::connect(addr).await.unwrap();
        let upgraded = Upgraded {
            stream: Stream::Plain(tcp),
            leftover: [text_frame("with the head"), text_frame("also")].concat(),
            read: 0,
        };
        let mut ws = WebSocketStream::from_raw_socket(upgraded, Role::Client, None).await;
        let mut texts = Vec::new();
        for _ in 0..3 {
            let message = ws.next().await.unwrap().unwrap();
            texts.push(message.into_text().unwrap().to_string());
        }
        assert_eq!(texts, ["with the head", "also", "from the socket"]);
        drop(server.await.unwrap());
    }

    #[test]
    fn targets_of_events_urls() {
        let t = Target::parse("ws://127.0.0.1:8088/ari/events?app=a").unwrap();
        assert_eq!((t.tls, t.host.as_str(), t.port), (false, "127.0.0.1", 8088));
        assert_eq!(t.resource, "/ari/events?app=a");
        assert_eq!(t.host_header(), "127.0.0.1:8088");
        let t = Target::parse("wss://pbx.example/ari/events").unwrap();
        assert_eq!((t.tls, t.port), (true, 443));
        assert_eq!(t.host_header(), "pbx.example");
        let t = Target::parse("ws://[::1]:9/x").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("[::1]", 9));
        assert!(Target::parse("http://h/x").is_err());
        assert!(Target::parse("ws://:80/x").is_err());
    }

    #[test]
    fn response_heads() {
        let h = Head::parse(
            "op",
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: abc\r\n",
        )
        .unwrap();
        assert_eq!(h.status, 101);
        assert_eq!(h.header("sec-websocket-accept"), Some("abc"));
        let h = Head::parse("op", b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 42\r\n").unwrap();
        assert_eq!((h.status, h.content_length), (401, Some(42)));
        for garbage in [
            &b"SSH-2.0-OpenSSH\r\n"[..],
            b"HTTP/1.1 abc\r\n",
            b"\xff\xfe",
        ] {
            let e = Head::parse("op", garbage).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Protocol);
        }
    }
}
