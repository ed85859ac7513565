//! The event websocket: connect, read, keep alive, and come back after a loss.
//!
//! `tokio-tungstenite` stays private to this module: the public API only shows
//! [`ConnectionState`] and the crate's [`Error`].

use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::TcpStream;
use tokio::sync::{oneshot, watch};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::header::AUTHORIZATION;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use crate::client::Shared;
use crate::config::events_url;
use crate::dispatch::Dispatcher;
use crate::error::{Error, ErrorKind, Result};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The state of the client's event connection, as [`Client::state_changes`](crate::Client::state_changes)
/// reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionState {
    /// No event connection was started yet.
    Idle,
    /// Opening the websocket (attempt 1 is the first connection).
    Connecting {
        /// 1 for the first attempt, then counting the attempts since the last success.
        attempt: u32,
    },
    /// The websocket is open and the applications are registered.
    Connected,
    /// The connection was lost; a reconnect follows unless the policy says otherwise.
    Disconnected {
        /// Why, in words.
        reason: String,
    },
    /// Waiting before the next attempt.
    Reconnecting {
        /// The attempt that follows the wait.
        attempt: u32,
        /// How long the wait is.
        delay: Duration,
    },
    /// The event connection ended: shut down, or the reconnect policy gave up.
    Closed,
}

/// Why one connection ended.
enum Ended {
    Shutdown,
    Lost(String),
}

/// Runs the event connection until shutdown or until the reconnect policy gives up.
/// `ready` learns the outcome of the first attempt; a failed first attempt ends the run.
pub(crate) async fn run(
    shared: std::sync::Arc<Shared>,
    apps: Vec<String>,
    ready: oneshot::Sender<Result<()>>,
) -> Result<()> {
    let config = &shared.config;
    let mut shutdown = shared.shutdown.subscribe();
    let dispatcher = Dispatcher::start(
        shared.hub.clone(),
        config.dispatch_workers,
        config.queue_capacity,
    );
    let mut ready = Some(ready);
    let mut attempt = 1u32;
    let result = loop {
        shared.set_state(ConnectionState::Connecting { attempt });
        let outcome = tokio::select! {
            _ = stopped(&mut shutdown) => break Ok(()),
            outcome = connect(&shared, &apps) => outcome,
        };
        let reason = match outcome {
            Ok(socket) => {
                attempt = 1;
                shared.set_state(ConnectionState::Connected);
                tracing::info!(apps = ?apps, "ARI event connection open");
                if let Some(ready) = ready.take() {
                    let _ = ready.send(Ok(()));
                }
                match read(socket, &dispatcher, &mut shutdown, config.keepalive).await {
                    Ended::Shutdown => break Ok(()),
                    Ended::Lost(reason) => reason,
                }
            }
            Err(error) => {
                if let Some(ready) = ready.take() {
                    let _ = ready.send(Err(error));
                    break Ok(());
                }
                error.to_string()
            }
        };
        tracing::warn!(%reason, "ARI event connection lost");
        shared.set_state(ConnectionState::Disconnected {
            reason: reason.clone(),
        });
        if config
            .reconnect
            .max_attempts
            .is_some_and(|max| attempt > max)
        {
            break Err(Error::new(ErrorKind::WebSocket)
                .with_message(format!("gave up reconnecting: {reason}")));
        }
        let delay = config
            .reconnect
            .delay(attempt, crate::client::random_unit());
        shared.set_state(ConnectionState::Reconnecting { attempt, delay });
        tokio::select! {
            _ = stopped(&mut shutdown) => break Ok(()),
            () = tokio::time::sleep(delay) => {}
        }
        attempt = attempt.saturating_add(1);
    };
    // let the handlers finish what was already received, then end the streams
    dispatcher.finish().await;
    shared.hub.close_streams();
    shared.set_state(ConnectionState::Closed);
    result
}

/// Resolves once shutdown is asked for (or the client is gone).
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    // the guard wait_for returns is not Send: drop it here
    let _ = shutdown.wait_for(|stop| *stop).await.map(|_| ());
}

/// Opens the websocket, which registers the applications.
async fn connect(shared: &Shared, apps: &[String]) -> Result<Socket> {
    let config = &shared.config;
    let url = events_url(shared.rest.base_url(), apps, config.subscribe_all);
    let mut request = url.as_str().into_client_request().map_err(|e| {
        Error::new(ErrorKind::InvalidUrl)
            .with_operation("events.eventWebsocket")
            .with_source(e)
    })?;
    let mut auth = HeaderValue::from_bytes(shared.rest.authorization().as_bytes())
        .map_err(|e| Error::new(ErrorKind::InvalidArgument).with_source(e))?;
    auth.set_sensitive(true);
    request.headers_mut().insert(AUTHORIZATION, auth);
    let connector = if url.starts_with("wss://") {
        Connector::Rustls(shared.tls.clone())
    } else {
        Connector::Plain
    };
    let ws_config = WebSocketConfig::default()
        .max_message_size(Some(64 << 20))
        .max_frame_size(Some(16 << 20));
    let attempt = tokio_tungstenite::connect_async_tls_with_config(
        request,
        Some(ws_config),
        true,
        Some(connector),
    );
    match tokio::time::timeout(config.connect_timeout, attempt).await {
        Err(_) => Err(Error::new(ErrorKind::Timeout)
            .with_operation("events.eventWebsocket")
            .with_message(format!("no websocket within {:?}", config.connect_timeout))),
        Ok(Err(e)) => Err(handshake_error(e)),
        Ok(Ok((socket, _response))) => Ok(socket),
    }
}

fn handshake_error(e: tungstenite::Error) -> Error {
    let op = "events.eventWebsocket";
    match e {
        tungstenite::Error::Http(response) => {
            let status = response.status().as_u16();
            let message = response
                .body()
                .as_deref()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok())
                .and_then(|v| v.get("message")?.as_str().map(str::to_owned));
            let mut err = Error::status(status, op, None, message);
            if status != 401 {
                err = Error::new(ErrorKind::NotAri)
                    .with_operation(op)
                    .with_message(format!("the events websocket answered HTTP {status}"));
            }
            err
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

/// Reads frames until the connection ends. After `keepalive` without any frame it sends a
/// ping; when that ping, too, goes unanswered for `keepalive`, the connection counts as lost.
async fn read(
    mut socket: Socket,
    dispatcher: &Dispatcher,
    shutdown: &mut watch::Receiver<bool>,
    keepalive: Duration,
) -> Ended {
    let mut ping_sent = false;
    loop {
        let next = tokio::select! {
            _ = stopped(shutdown) => {
                let _ = socket.close(None).await;
                return Ended::Shutdown;
            }
            next = tokio::time::timeout(keepalive, socket.next()) => next,
        };
        let message = match next {
            Err(_) if ping_sent => {
                return Ended::Lost(format!("no answer from the server for {:?}", keepalive * 2))
            }
            Err(_) => {
                if let Err(e) = socket.send(Message::Ping(Default::default())).await {
                    return Ended::Lost(format!("sending a ping failed: {e}"));
                }
                ping_sent = true;
                continue;
            }
            Ok(None) => return Ended::Lost("the server closed the connection (EOF)".into()),
            Ok(Some(Err(e))) => return Ended::Lost(format!("websocket error: {e}")),
            Ok(Some(Ok(message))) => message,
        };
        ping_sent = false;
        match message {
            Message::Text(text) => dispatcher.frame(text).await,
            Message::Close(frame) => {
                let why = frame.map_or_else(
                    || "no close code".to_owned(),
                    |f| format!("code {}, {:?}", u16::from(f.code), f.reason.as_str()),
                );
                return Ended::Lost(format!("the server closed the websocket ({why})"));
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
