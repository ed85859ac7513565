//! The events websocket (`GET /ari/events`, operation `events.eventWebsocket`): its URL,
//! the upgrade ([`handshake`]) and its errors, and reading text frames with a keepalive.
//!
//! The events websocket's frames are read and written by [`frames`]; `tokio-tungstenite`
//! (for [`dial`]'s other websockets, the call media's) stays private to this module: the
//! rest of the runtime sees only [`EventSocket`], [`Frame`], [`Incoming`], [`Lost`] and
//! the crate's [`Error`].

mod frames;
mod handshake;

use std::sync::Arc;
use std::time::Duration;

use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;

use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::rest::{self, Method, Operation, RestClient};

/// The operation the websocket is in the specs; errors name it. (Not the generated
/// table's entry, which this layer cannot name: the connection is not checked against the
/// server's declarations, it reports its own errors.)
static OP: Operation = Operation {
    index: rest::UNCHECKED,
    name: "events.eventWebsocket",
    method: Method::Get,
    path: "/events",
    params: &["app", "subscribeAll"],
    since: &[],
    errors: &[],
};

/// The largest message and frame the client accepts.
const MAX_MESSAGE: usize = 64 << 20;
const MAX_FRAME: usize = 16 << 20;

/// One text frame as received: one event's JSON, in memory of its own. (A frame that
/// shared the read buffer would, queued behind a busy lane, keep the whole buffer alive,
/// and the event budget, which counts frames' bytes, would no longer bound the memory.)
/// One allocation, shared by the lanes it goes to (a `Bytes` made of a `String`
/// allocates again when first cloned).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Frame(Arc<str>);

impl Frame {
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Frame {
    fn from(text: &str) -> Self {
        Self(text.into())
    }
}

/// The operation an accepted websocket's errors name.
const ACCEPT_OP: &str = "outbound websocket";

/// Where the websockets that Asterisk opens to the application arrive (an outbound
/// websocket of `ari.conf`, through `res_websocket_client`): a listening socket and the
/// credentials Asterisk must present.
pub(crate) struct Acceptor {
    listener: tokio::net::TcpListener,
    /// The `Authorization` header value Asterisk must send.
    authorization: String,
    /// TLS first, when Asterisk's `websocket_client.conf` has `tls_enabled = yes`.
    tls: Option<tokio_rustls::TlsAcceptor>,
}

impl Acceptor {
    /// Listens on `addr`; connections must authenticate as `user` with `password`.
    pub(crate) async fn bind(
        addr: &str,
        user: &str,
        password: &str,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> Result<Acceptor> {
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
            Error::new(ErrorKind::Connect)
                .with_operation(ACCEPT_OP)
                .with_message(format!("cannot listen on {addr}"))
                .with_source(e)
        })?;
        Ok(Acceptor {
            listener,
            authorization: crate::rest::basic_authorization(user, password),
            tls: tls.map(tokio_rustls::TlsAcceptor::from),
        })
    }

    /// The address it listens on.
    pub(crate) fn local_addr(&self) -> std::net::SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// The next TCP connection.
    pub(crate) async fn accept_tcp(&self) -> Result<tokio::net::TcpStream> {
        let (tcp, _) = self.listener.accept().await.map_err(|e| {
            Error::new(ErrorKind::Connect)
                .with_operation(ACCEPT_OP)
                .with_message("accepting a connection failed")
                .with_source(e)
        })?;
        Ok(tcp)
    }

    /// Upgrades a connection to a websocket, within `config.connect_timeout`; a refusal
    /// (logged at `warn` with the peer's address) is an error of kind `Unauthorized`,
    /// `Protocol` or `Timeout`.
    pub(crate) async fn upgrade(
        &self,
        tcp: tokio::net::TcpStream,
        config: &Config,
    ) -> Result<EventSocket> {
        let peer = tcp.peer_addr().ok();
        let _ = tcp.set_nodelay(true);
        let upgrade = async {
            let stream = match &self.tls {
                None => handshake::Stream::Plain(tcp),
                Some(tls) => match tls.accept(tcp).await {
                    Ok(tls) => handshake::Stream::Server(Box::new(tls)),
                    Err(e) => {
                        return Err(handshake::Refused::Broken(
                            Error::new(ErrorKind::Tls)
                                .with_operation(ACCEPT_OP)
                                .with_source(e),
                        ))
                    }
                },
            };
            handshake::accept(ACCEPT_OP, stream, self.authorization.as_bytes()).await
        };
        let refused = match tokio::time::timeout(config.connect_timeout, upgrade).await {
            Ok(Ok(upgraded)) => return Ok(EventSocket::accepted(upgraded, config)),
            Ok(Err(refused)) => refused,
            Err(_) => {
                tracing::warn!(
                    ?peer,
                    "an incoming websocket did not finish its upgrade in time"
                );
                return Err(Error::new(ErrorKind::Timeout)
                    .with_operation(ACCEPT_OP)
                    .with_message(format!(
                        "no websocket upgrade within {:?}",
                        config.connect_timeout
                    )));
            }
        };
        tracing::warn!(?peer, why = %refused, "an incoming websocket was refused");
        Err(match refused {
            handshake::Refused::Unauthorized => Error::status(401, ACCEPT_OP, None, None),
            handshake::Refused::NotWebSocket(why) => Error::new(ErrorKind::Protocol)
                .with_operation(ACCEPT_OP)
                .with_message(why),
            handshake::Refused::Broken(e) => e,
        })
    }

    /// The next websocket that Asterisk opens with the right credentials: connections
    /// refused meanwhile are logged and skipped. Fails only when the listening socket does.
    pub(crate) async fn accept(&self, config: &Config) -> Result<EventSocket> {
        loop {
            let tcp = self.accept_tcp().await?;
            if let Ok(socket) = self.upgrade(tcp, config).await {
                return Ok(socket);
            }
        }
    }
}

/// The websocket URL of the `/events` endpoint for a normalized base URL.
pub(crate) fn events_url(base: &str, apps: &[String], subscribe_all: bool) -> Result<String> {
    let (ws_scheme, rest) = match base.split_once("://") {
        Some(("https", rest)) => ("wss://", rest),
        Some((_, rest)) => ("ws://", rest),
        None => ("ws://", base),
    };
    let mut req = rest::Request::new(&OP, String::new());
    req.query_list("app", apps)?;
    if subscribe_all {
        req.query("subscribeAll", true)?;
    }
    Ok(format!("{ws_scheme}{rest}/events{}", req.query))
}

/// The events websocket's answer other than 101: refused credentials, or not ARI.
fn events_refused(op: &'static str, status: u16, message: Option<String>) -> Error {
    if status == 401 {
        Error::status(401, op, None, message)
    } else {
        Error::new(ErrorKind::NotAri)
            .with_operation(op)
            .with_message(format!("the events websocket answered HTTP {status}"))
    }
}

/// A websocket the client opened.
pub(crate) type Socket = WebSocketStream<handshake::Upgraded>;

use handshake::Refusal;

/// Opens a websocket to `url` (`ws://` or `wss://`, with `tls`) with one more request
/// header and the limits of `limits`, within `timeout`: the events websocket's way, for
/// the other websockets of the client (the media websocket).
pub(crate) async fn dial(
    op: &'static str,
    url: &str,
    header: (&str, &[u8]),
    refused: Refusal,
    tls: &std::sync::Arc<rustls::ClientConfig>,
    limits: WebSocketConfig,
    timeout: Duration,
) -> Result<Socket> {
    let upgraded = upgrade(op, url, header, refused, tls, timeout).await?;
    Ok(WebSocketStream::from_raw_socket(upgraded, Role::Client, Some(limits)).await)
}

/// The upgrade of a connection to `url` into a websocket, within `timeout`.
async fn upgrade(
    op: &'static str,
    url: &str,
    header: (&str, &[u8]),
    refused: Refusal,
    tls: &std::sync::Arc<rustls::ClientConfig>,
    timeout: Duration,
) -> Result<handshake::Upgraded> {
    let target = handshake::Target::parse(url)?;
    match tokio::time::timeout(
        timeout,
        handshake::upgrade(op, &target, header, refused, tls),
    )
    .await
    {
        Err(_) => Err(Error::new(ErrorKind::Timeout)
            .with_operation(op)
            .with_message(format!("no websocket within {timeout:?}"))),
        Ok(result) => result,
    }
}

/// The keepalive's clock ticks this many times per `keepalive` interval: the connection
/// counts as silent after `KEEPALIVE_TICKS` ticks in a row without a frame, so a ping
/// goes out after `keepalive` to `keepalive * (1 + 1 / KEEPALIVE_TICKS)` of silence.
const KEEPALIVE_TICKS: u32 = 4;

/// An open events websocket.
pub(crate) struct EventSocket {
    socket: frames::Conn,
    keepalive: Duration,
    ping_sent: bool,
    /// The keepalive's clock: fires every `keepalive / KEEPALIVE_TICKS`. A frame only sets
    /// `heard`, so reading a frame costs no clock read and no timer of its own.
    tick: std::pin::Pin<Box<tokio::time::Sleep>>,
    /// Whether a frame arrived since the last tick.
    heard: bool,
    /// Ticks in a row without a frame (since the ping, when one was sent).
    silent: u32,
    /// Text frames to write (REST requests, [`carry`](Self::carry)).
    outgoing: Option<tokio::sync::mpsc::Receiver<String>>,
}

impl EventSocket {
    /// Opens the websocket for `apps`, which registers them.
    pub(crate) async fn connect(
        config: &Config,
        rest: &RestClient,
        apps: &[String],
    ) -> Result<EventSocket> {
        let url = events_url(&config.base_url, apps, config.subscribe_all)?;
        let header = ("Authorization", rest.authorization().as_bytes());
        let timeout = config.connect_timeout;
        let upgraded = upgrade(OP.name, &url, header, events_refused, &config.tls, timeout).await?;
        Ok(EventSocket::of(upgraded, frames::Role::Client, config))
    }

    /// A websocket of the same kind for a connection Asterisk opened ([`Acceptor`]).
    fn accepted(upgraded: handshake::Upgraded, config: &Config) -> EventSocket {
        EventSocket::of(upgraded, frames::Role::Server, config)
    }

    fn of(upgraded: handshake::Upgraded, role: frames::Role, config: &Config) -> EventSocket {
        let tick = tokio::time::sleep(config.keepalive / KEEPALIVE_TICKS);
        EventSocket {
            socket: frames::Conn::new(upgraded, role, MAX_MESSAGE, MAX_FRAME),
            keepalive: config.keepalive,
            ping_sent: false,
            tick: Box::pin(tick),
            heard: false,
            silent: 0,
            outgoing: None,
        }
    }

    /// Writes the text frames that arrive on `outgoing` while it reads.
    pub(crate) fn carry(&mut self, outgoing: tokio::sync::mpsc::Receiver<String>) {
        self.outgoing = Some(outgoing);
    }

    /// The next frame worth reporting: a text frame, or a binary frame (which carries no
    /// event; its size is reported for the stats). After `keepalive` without any frame (up
    /// to a quarter more: the keepalive's clock ticks four times an interval) it sends a
    /// ping; when that ping, too, goes unanswered for `keepalive`, the connection counts
    /// as lost. `Err` says why the connection ended.
    ///
    /// Meanwhile it writes the frames given to [`carry`](Self::carry).
    ///
    /// Cancel safe: when the future is dropped, no frame read is lost, and a request
    /// taken from [`carry`](Self::carry) is queued already (the next call writes it).
    /// A server that reads nothing for `keepalive` (up to a quarter more) after the
    /// ping is due is left, as one that does not answer it.
    pub(crate) async fn next(&mut self) -> std::result::Result<Incoming, Lost> {
        loop {
            // the socket before the clock: a frame that is there is read without looking
            // at the time
            let read = tokio::select! {
                biased;
                // one at a time, written by the read (which returns `Sent` once it is):
                // a server that reads nothing holds one request, not all of them, and
                // the clock below still runs
                Some(text) = next_outgoing(&mut self.outgoing), if !self.socket.writing() => {
                    self.socket.queue_text(&text).map_err(Lost::of)?;
                    continue;
                }
                read = self.socket.read() => read,
                () = &mut self.tick => {
                    self.on_tick().await?;
                    continue;
                }
            };
            let read = read.map_err(Lost::of)?;
            // what this end wrote is not word from the server
            self.heard |= !matches!(read, frames::Read::Sent);
            match read {
                frames::Read::Text(frame) => return Ok(Incoming::Text(frame)),
                frames::Read::Binary(len) => return Ok(Incoming::Binary(len)),
                frames::Read::Close(frame) => {
                    let why = frame.map_or_else(
                        || "no close code".to_owned(),
                        |(code, reason)| format!("code {code}, {reason:?}"),
                    );
                    return Err(Lost::other(format!(
                        "the server closed the websocket ({why})"
                    )));
                }
                frames::Read::Control | frames::Read::Sent => {}
            }
        }
    }

    /// A tick of the keepalive's clock: after `KEEPALIVE_TICKS` ticks in a row without a
    /// frame, a ping, or the end when the ping was not answered either.
    async fn on_tick(&mut self) -> std::result::Result<(), Lost> {
        self.tick
            .as_mut()
            .reset(tokio::time::Instant::now() + self.keepalive / KEEPALIVE_TICKS);
        if std::mem::take(&mut self.heard) {
            self.silent = 0;
            self.ping_sent = false;
            return Ok(());
        }
        self.silent += 1;
        if self.silent < KEEPALIVE_TICKS {
            return Ok(());
        }
        self.silent = 0;
        if self.ping_sent {
            return Err(Lost::other(format!(
                "no answer from the server for {:?}",
                self.keepalive * 2
            )));
        }
        // sent from here on, even when this future is dropped while writing it
        self.ping_sent = true;
        // a server that reads nothing (a full window) does not hold the ping forever
        match tokio::time::timeout(self.keepalive, self.socket.ping()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(Lost::other(format!("sending a ping failed: {e}"))),
            Err(_) => Err(Lost::other(format!(
                "the server read nothing for {:?}: a ping could not be written",
                self.keepalive
            ))),
        }
    }

    /// Closes the websocket gracefully: sends the close frame, waiting at most
    /// `keepalive` for a server that reads nothing.
    pub(crate) async fn close(mut self) {
        let _ = tokio::time::timeout(self.keepalive, self.socket.close()).await;
    }
}

/// The next frame to write, or never when there is nothing to write from.
async fn next_outgoing(
    outgoing: &mut Option<tokio::sync::mpsc::Receiver<String>>,
) -> Option<String> {
    match outgoing {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// A frame the socket received.
pub(crate) enum Incoming {
    /// A text frame: one event.
    Text(Frame),
    /// A binary frame of this many bytes: Asterisk sends none on the events websocket.
    Binary(usize),
}

/// Why the connection ended.
#[derive(Debug)]
pub(crate) struct Lost {
    pub(crate) reason: String,
    pub(crate) cause: LostCause,
}

/// What kind of loss, for the stats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LostCause {
    /// A frame or message over the size limit.
    Oversize,
    /// A text frame that is not UTF-8.
    InvalidUtf8,
    /// Anything else: EOF, a close frame, a silent server, an I/O error.
    Other,
}

impl Lost {
    fn other(reason: impl Into<String>) -> Self {
        Lost {
            reason: reason.into(),
            cause: LostCause::Other,
        }
    }

    fn of(e: frames::WsError) -> Self {
        let cause = match &e {
            frames::WsError::TooLong(..) => LostCause::Oversize,
            frames::WsError::Utf8 => LostCause::InvalidUtf8,
            _ => LostCause::Other,
        };
        let reason = match e {
            frames::WsError::Eof => e.to_string(),
            e => format!("websocket error: {e}"),
        };
        Lost { reason, cause }
    }
}

/// A frame as a server writes it (unmasked) of first byte `first` (FIN, RSV and opcode)
/// and a payload of at most 125 bytes: the tests' frames, here for `handshake`'s, this
/// module's and `frames`' tests.
#[cfg(test)]
fn unmasked_frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let len = u8::try_from(payload.len())
        .ok()
        .filter(|len| *len <= 125)
        .expect("a payload of at most 125 bytes");
    let mut frame = vec![first, len];
    frame.extend_from_slice(payload);
    frame
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::time::Instant;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::{TcpListener, TcpStream};

    const KEEPALIVE: Duration = Duration::from_millis(200);

    /// A client's events socket over plain TCP with keepalive `KEEPALIVE`, and the
    /// server's end of the connection, raw.
    async fn socket_pair() -> (EventSocket, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap());
        let (client, server) = tokio::join!(client, listener.accept());
        let config = crate::Client::builder("http://127.0.0.1:9", "u", "p")
            .keepalive(KEEPALIVE)
            .into_config()
            .unwrap();
        let upgraded = handshake::Upgraded::plain(client.unwrap());
        let socket = EventSocket::of(upgraded, frames::Role::Client, &config);
        (socket, server.unwrap().0)
    }

    /// A silent server gets a ping after `keepalive` (and at most a tick more), and the
    /// connection is lost when the ping goes unanswered as long again.
    #[tokio::test]
    async fn a_silent_server_is_pinged_then_left() {
        let (mut socket, mut server) = socket_pair().await;
        let start = Instant::now();
        let client = tokio::spawn(async move {
            let end = socket.next().await;
            (end.err().map(|lost| lost.reason), Instant::now())
        });
        // a masked ping from the client: 0x89, then the mask bit and an empty payload
        let mut head = [0u8; 2];
        server.read_exact(&mut head).await.unwrap();
        let pinged = start.elapsed();
        assert_eq!(head, [0x89, 0x80], "a ping");
        assert!(pinged >= KEEPALIVE, "pinged after {pinged:?}");
        assert!(pinged < KEEPALIVE * 2, "pinged after {pinged:?}");
        let (reason, ended) = client.await.unwrap();
        assert!(reason.unwrap().contains("no answer from the server"));
        let ended = ended - start;
        assert!(ended >= KEEPALIVE * 2, "lost after {ended:?}");
        assert!(ended < KEEPALIVE * 4, "lost after {ended:?}");
    }

    /// Frames keep the connection from pinging however long they come, and the first
    /// ping goes out only after `keepalive` of silence after the last frame.
    #[tokio::test]
    async fn frames_keep_a_connection_alive_without_pings() {
        let (mut socket, server) = socket_pair().await;
        let (mut from_client, mut to_client) = server.into_split();
        let pinged = tokio::spawn(async move {
            let mut byte = [0u8; 1];
            from_client.read_exact(&mut byte).await.unwrap();
            (byte[0], Instant::now())
        });
        let sent = tokio::spawn(async move {
            // frames for four keepalive intervals, a frame every 20 ms
            for i in 0..24 {
                to_client
                    .write_all(&unmasked_frame(0x81, format!("{{\"n\":{i}}}").as_bytes()))
                    .await
                    .unwrap();
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            (to_client, Instant::now())
        });
        for i in 0..24 {
            match socket.next().await {
                Ok(Incoming::Text(frame)) => assert_eq!(frame.as_str(), format!("{{\"n\":{i}}}")),
                _ => panic!("frame {i}"),
            }
        }
        let (_to_client, last) = sent.await.unwrap();
        assert!(!pinged.is_finished(), "no ping while frames came");
        let reader = tokio::spawn(async move { socket.next().await.err() });
        let (byte, at) = pinged.await.unwrap();
        assert_eq!(byte, 0x89, "a ping");
        assert!(
            at - last >= KEEPALIVE - Duration::from_millis(20),
            "after {:?}",
            at - last
        );
        reader.abort();
    }

    /// A server that sends nothing but answers each ping stays connected: a pong counts
    /// as hearing from it, and the next silence gets a new ping.
    #[tokio::test]
    async fn a_quiet_server_that_answers_pings_stays_connected() {
        let (mut socket, server) = socket_pair().await;
        let (mut from_client, mut to_client) = server.into_split();
        let answered = tokio::spawn(async move {
            let mut pings = 0;
            loop {
                // a masked empty ping: the header and the masking key
                let mut ping = [0u8; 6];
                if from_client.read_exact(&mut ping).await.is_err() {
                    return pings;
                }
                assert_eq!(ping[..2], [0x89, 0x80], "a ping");
                pings += 1;
                to_client.write_all(&[0x8A, 0]).await.unwrap();
            }
        });
        let outcome = tokio::time::timeout(KEEPALIVE * 7, socket.next()).await;
        assert!(
            outcome.is_err(),
            "still connected after 7 keepalive intervals"
        );
        drop(socket);
        assert!(
            answered.await.unwrap() >= 3,
            "pinged and answered again and again"
        );
    }

    /// A server that reads nothing holds one request; the keepalive's ping cannot be
    /// written either, and the connection is left after `keepalive` more.
    #[tokio::test]
    async fn a_server_that_reads_nothing_is_left() {
        let start = Instant::now();
        let (mut socket, _server) = socket_pair().await;
        let (requests, outgoing) = tokio::sync::mpsc::channel(64);
        socket.carry(outgoing);
        let big = "x".repeat(1 << 20);
        for _ in 0..64 {
            requests.try_send(big.clone()).unwrap();
        }
        let lost = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("left within 10 s")
            .err()
            .expect("lost");
        assert!(lost.reason.contains("read nothing"), "{}", lost.reason);
        assert!(
            start.elapsed() >= KEEPALIVE * 2,
            "after {:?}",
            start.elapsed()
        );
        // one request at a time was taken (a channel's capacity is its free slots): what
        // the socket's buffers took, and one more; the rest wait in the channel
        let taken = requests.capacity();
        assert!((1..32).contains(&taken), "{taken} requests of 1 MiB taken");
    }

    #[test]
    fn events_url_joins_apps() {
        let apps = vec!["hello".to_owned(), "b c".to_owned()];
        assert_eq!(
            events_url("http://127.0.0.1:8088/ari", &apps, false).unwrap(),
            "ws://127.0.0.1:8088/ari/events?app=hello,b%20c"
        );
        assert_eq!(
            events_url("https://h/ari", &apps[..1], true).unwrap(),
            "wss://h/ari/events?app=hello&subscribeAll=true"
        );
    }

    #[test]
    fn app_names_with_control_characters_are_refused() {
        let apps = vec!["hello".to_owned(), "victim\0".to_owned()];
        let e = events_url("http://127.0.0.1:8088/ari", &apps, false).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert_eq!(e.operation(), Some("events.eventWebsocket"));
    }
}
