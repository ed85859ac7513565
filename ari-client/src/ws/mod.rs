//! The events websocket (`GET /ari/events`, operation `events.eventWebsocket`): its URL,
//! the upgrade ([`handshake`]) and its errors, and reading text frames with a keepalive.
//!
//! `tokio-tungstenite` stays private to this module: the rest of the runtime sees only
//! [`EventSocket`], [`Frame`], [`Incoming`], [`Lost`] and the crate's [`Error`].

mod handshake;

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use tokio_tungstenite::tungstenite::error::{CapacityError, Error as WsError};
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
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

/// How much one read of the socket takes at most: some 30 typical events.
const READ_BUFFER: usize = 16 << 10;

/// One text frame as received: one event's JSON, in memory of its own. (tungstenite's
/// frames share its read buffer, [`READ_BUFFER`] or more a read: a frame queued behind a
/// busy lane would keep the whole buffer alive, and the event budget, which counts
/// frames' bytes, would no longer bound the memory.) One allocation, shared by the lanes
/// it goes to (a `Bytes` made of a `String` allocates again when first cloned).
#[derive(Clone)]
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

/// The limits of every websocket of the client.
fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_FRAME))
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
            Ok(Ok(upgraded)) => return Ok(EventSocket::accepted(upgraded, config).await),
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
        Ok(Err(e)) => Err(e),
        Ok(Ok(upgraded)) => {
            Ok(WebSocketStream::from_raw_socket(upgraded, Role::Client, Some(limits)).await)
        }
    }
}

/// An open events websocket.
pub(crate) struct EventSocket {
    socket: Socket,
    keepalive: Duration,
    ping_sent: bool,
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
        let socket = dial(
            OP.name,
            &url,
            ("Authorization", rest.authorization().as_bytes()),
            events_refused,
            &config.tls,
            ws_config(),
            config.connect_timeout,
        )
        .await?;
        Ok(EventSocket::of(socket, config))
    }

    /// A websocket of the same kind for a connection Asterisk opened ([`Acceptor`]).
    async fn accepted(upgraded: handshake::Upgraded, config: &Config) -> EventSocket {
        let socket = WebSocketStream::from_raw_socket(upgraded, Role::Server, Some(ws_config()));
        EventSocket::of(socket.await, config)
    }

    fn of(socket: Socket, config: &Config) -> EventSocket {
        EventSocket {
            socket,
            keepalive: config.keepalive,
            ping_sent: false,
            outgoing: None,
        }
    }

    /// Writes the text frames that arrive on `outgoing` while it reads.
    pub(crate) fn carry(&mut self, outgoing: tokio::sync::mpsc::Receiver<String>) {
        self.outgoing = Some(outgoing);
    }

    /// The next frame worth reporting: a text frame, or a binary frame (which carries no
    /// event; its size is reported for the stats). After `keepalive` without any frame it
    /// sends a ping; when that ping, too, goes unanswered for `keepalive`, the connection
    /// counts as lost. `Err` says why the connection ended.
    ///
    /// Meanwhile it writes the frames given to [`carry`](Self::carry).
    ///
    /// Cancel safe for what it reads: a frame is never lost when the future is dropped (a
    /// frame being written then may be; the connection is closing then, and the request
    /// it carried fails with it).
    pub(crate) async fn next(&mut self) -> std::result::Result<Incoming, Lost> {
        let mut deadline = tokio::time::Instant::now() + self.keepalive;
        loop {
            let read = tokio::select! {
                biased;
                Some(text) = next_outgoing(&mut self.outgoing) => {
                    if let Err(e) = self.socket.send(Message::text(text)).await {
                        return Err(Lost::of(e));
                    }
                    continue;
                }
                read = tokio::time::timeout_at(deadline, self.socket.next()) => read,
            };
            deadline = tokio::time::Instant::now() + self.keepalive;
            let message = match read {
                Err(_) if self.ping_sent => {
                    return Err(Lost::other(format!(
                        "no answer from the server for {:?}",
                        self.keepalive * 2
                    )))
                }
                Err(_) => {
                    if let Err(e) = self.socket.send(Message::Ping(Default::default())).await {
                        return Err(Lost::other(format!("sending a ping failed: {e}")));
                    }
                    self.ping_sent = true;
                    continue;
                }
                Ok(None) => return Err(Lost::other("the server closed the connection (EOF)")),
                Ok(Some(Err(e))) => return Err(Lost::of(e)),
                Ok(Some(Ok(message))) => message,
            };
            self.ping_sent = false;
            match message {
                Message::Text(text) => return Ok(Incoming::Text(Frame::from(text.as_str()))),
                Message::Binary(data) => return Ok(Incoming::Binary(data.len())),
                Message::Close(frame) => {
                    let why = frame.map_or_else(
                        || "no close code".to_owned(),
                        |f| format!("code {}, {:?}", u16::from(f.code), f.reason.as_str()),
                    );
                    return Err(Lost::other(format!(
                        "the server closed the websocket ({why})"
                    )));
                }
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
            }
        }
    }

    /// Closes the websocket gracefully.
    pub(crate) async fn close(mut self) {
        let _ = self.socket.close(None).await;
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

    fn of(e: WsError) -> Self {
        let cause = match &e {
            WsError::Capacity(CapacityError::MessageTooLong { .. })
            | WsError::Capacity(CapacityError::TooManyHeaders) => LostCause::Oversize,
            WsError::Utf8(_) => LostCause::InvalidUtf8,
            _ => LostCause::Other,
        };
        Lost {
            reason: format!("websocket error: {e}"),
            cause,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
