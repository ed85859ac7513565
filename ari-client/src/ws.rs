//! The events websocket (`GET /ari/events`, operation `events.eventWebsocket`): its URL,
//! the handshake and its errors, and reading text frames with a keepalive.
//!
//! `tokio-tungstenite` stays private to this module: the rest of the runtime sees only
//! [`EventSocket`], [`Frame`] and the crate's [`Error`].

use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::header::AUTHORIZATION;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message, Utf8Bytes};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::rest::{self, Method, Operation, RestClient};

/// The operation the websocket is in the specs; errors name it.
static OP: Operation = Operation {
    name: "events.eventWebsocket",
    method: Method::Get,
    errors: &[],
};

/// The largest message and frame the client accepts.
const MAX_MESSAGE: usize = 64 << 20;
const MAX_FRAME: usize = 16 << 20;

/// One text frame as received: one event's JSON.
#[derive(Clone)]
pub(crate) struct Frame(Utf8Bytes);

impl Frame {
    pub(crate) fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl From<String> for Frame {
    fn from(text: String) -> Self {
        Self(text.into())
    }
}

/// The websocket URL of the `/events` endpoint for a normalized base URL.
pub(crate) fn events_url(base: &str, apps: &[String], subscribe_all: bool) -> String {
    let (ws_scheme, rest) = match base.split_once("://") {
        Some(("https", rest)) => ("wss://", rest),
        Some((_, rest)) => ("ws://", rest),
        None => ("ws://", base),
    };
    let mut req = rest::Request::new(&OP, String::new());
    req.query_list("app", apps);
    if subscribe_all {
        req.query("subscribeAll", true);
    }
    format!("{ws_scheme}{rest}/events{}", req.query)
}

/// An open events websocket.
pub(crate) struct EventSocket {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    keepalive: Duration,
    ping_sent: bool,
}

impl EventSocket {
    /// Opens the websocket for `apps`, which registers them.
    pub(crate) async fn connect(
        config: &Config,
        rest: &RestClient,
        apps: &[String],
    ) -> Result<EventSocket> {
        let url = events_url(&config.base_url, apps, config.subscribe_all);
        let mut request = url.as_str().into_client_request().map_err(|e| {
            Error::new(ErrorKind::InvalidUrl)
                .with_operation(OP.name)
                .with_source(e)
        })?;
        let mut auth = HeaderValue::from_bytes(rest.authorization().as_bytes())
            .map_err(|e| Error::new(ErrorKind::InvalidArgument).with_source(e))?;
        auth.set_sensitive(true);
        request.headers_mut().insert(AUTHORIZATION, auth);
        let connector = if url.starts_with("wss://") {
            Connector::Rustls(config.tls.clone())
        } else {
            Connector::Plain
        };
        let ws_config = WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE))
            .max_frame_size(Some(MAX_FRAME));
        let attempt = tokio_tungstenite::connect_async_tls_with_config(
            request,
            Some(ws_config),
            true,
            Some(connector),
        );
        match tokio::time::timeout(config.connect_timeout, attempt).await {
            Err(_) => Err(Error::new(ErrorKind::Timeout)
                .with_operation(OP.name)
                .with_message(format!("no websocket within {:?}", config.connect_timeout))),
            Ok(Err(e)) => Err(handshake_error(e)),
            Ok(Ok((socket, _response))) => Ok(EventSocket {
                socket,
                keepalive: config.keepalive,
                ping_sent: false,
            }),
        }
    }

    /// The next text frame. After `keepalive` without any frame it sends a ping; when that
    /// ping, too, goes unanswered for `keepalive`, the connection counts as lost. `Err` is
    /// why the connection ended, in words.
    ///
    /// Cancel safe: a frame is never lost when the future is dropped.
    pub(crate) async fn next(&mut self) -> std::result::Result<Frame, String> {
        loop {
            let message = match tokio::time::timeout(self.keepalive, self.socket.next()).await {
                Err(_) if self.ping_sent => {
                    return Err(format!(
                        "no answer from the server for {:?}",
                        self.keepalive * 2
                    ))
                }
                Err(_) => {
                    if let Err(e) = self.socket.send(Message::Ping(Default::default())).await {
                        return Err(format!("sending a ping failed: {e}"));
                    }
                    self.ping_sent = true;
                    continue;
                }
                Ok(None) => return Err("the server closed the connection (EOF)".into()),
                Ok(Some(Err(e))) => return Err(format!("websocket error: {e}")),
                Ok(Some(Ok(message))) => message,
            };
            self.ping_sent = false;
            match message {
                Message::Text(text) => return Ok(Frame(text)),
                Message::Close(frame) => {
                    let why = frame.map_or_else(
                        || "no close code".to_owned(),
                        |f| format!("code {}, {:?}", u16::from(f.code), f.reason.as_str()),
                    );
                    return Err(format!("the server closed the websocket ({why})"));
                }
                Message::Binary(data) => {
                    tracing::warn!(
                        bytes = data.len(),
                        "unexpected binary websocket frame ignored"
                    );
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

fn handshake_error(e: tungstenite::Error) -> Error {
    let op = OP.name;
    match e {
        tungstenite::Error::Http(response) => {
            let status = response.status().as_u16();
            let message = response
                .body()
                .as_deref()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok())
                .and_then(|v| v.get("message")?.as_str().map(str::to_owned));
            if status == 401 {
                Error::status(status, op, None, message)
            } else {
                Error::new(ErrorKind::NotAri)
                    .with_operation(op)
                    .with_message(format!("the events websocket answered HTTP {status}"))
            }
        }
        tungstenite::Error::Tls(e) => Error::new(ErrorKind::Tls).with_operation(op).with_source(e),
        tungstenite::Error::Io(e) => Error::new(ErrorKind::Connect)
            .with_operation(op)
            .with_source(e),
        tungstenite::Error::Url(e) => Error::new(ErrorKind::InvalidUrl)
            .with_operation(op)
            .with_source(e),
        other => Error::new(ErrorKind::WebSocket)
            .with_operation(op)
            .with_source(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_url_joins_apps() {
        let apps = vec!["hello".to_owned(), "b c".to_owned()];
        assert_eq!(
            events_url("http://127.0.0.1:8088/ari", &apps, false),
            "ws://127.0.0.1:8088/ari/events?app=hello,b%20c"
        );
        assert_eq!(
            events_url("https://h/ari", &apps[..1], true),
            "wss://h/ari/events?app=hello&subscribeAll=true"
        );
    }
}
