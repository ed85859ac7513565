//! Asterisk dials the application: the fake's outbound websockets, as
//! `websocket_client.conf` and `ari.conf` configure Asterisk's (`docs/ari-spec-notes.md`
//! §10): `Authorization: Basic`, `Sec-WebSocket-Protocol: ari`, and `ApplicationRegistered`
//! first. A persistent one carries its applications and is dialled again after a loss (the
//! events of the meantime wait for it); a per-call one is opened for each call of its
//! application, registers `<app>:<channel name>`, and is closed 3 s after the call's
//! `StasisEnd`.

use std::sync::Weak;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::WebSocketStream;

use super::{server, Shared};
use crate::rest::basic_authorization;

/// How long Asterisk waits before dialling a lost persistent websocket again (its
/// `reconnect_interval`, 500 ms in the sandbox's configuration).
const RECONNECT: Duration = Duration::from_millis(500);

/// Where an outbound websocket goes (`ws://` only), with the credentials it presents.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) url: String,
    pub(crate) user: String,
    pub(crate) password: String,
}

impl Target {
    pub(crate) fn new(url: &str, user: &str, password: &str) -> Self {
        Self {
            url: url.to_owned(),
            user: user.to_owned(),
            password: password.to_owned(),
        }
    }
}

/// Opens one outbound websocket.
pub(crate) async fn dial(target: &Target) -> Result<WebSocketStream<TcpStream>, String> {
    let rest = target
        .url
        .strip_prefix("ws://")
        .ok_or_else(|| format!("{}: the fake dials ws:// URLs only", target.url))?;
    let authority = rest.split('/').next().unwrap_or_default();
    let tcp = TcpStream::connect(authority)
        .await
        .map_err(|e| format!("cannot connect to {authority}: {e}"))?;
    let mut request = target
        .url
        .as_str()
        .into_client_request()
        .map_err(|e| format!("{}: {e}", target.url))?;
    let headers = request.headers_mut();
    let basic = HeaderValue::from_str(&basic_authorization(&target.user, &target.password))
        .map_err(|e| e.to_string())?;
    headers.insert("Authorization", basic);
    headers.insert("Sec-WebSocket-Protocol", HeaderValue::from_static("ari"));
    let (ws, _) = tokio_tungstenite::client_async(request, tcp)
        .await
        .map_err(|e| format!("websocket to {}: {e}", target.url))?;
    Ok(ws)
}

/// A persistent outbound websocket for `apps`: dialled until the fake drops, again
/// [`RECONNECT`] after each loss (not while the fake is killed).
pub(crate) async fn persistent(shared: Weak<Shared>, target: Target, apps: Vec<String>) {
    loop {
        let Some(s) = shared.upgrade() else {
            return;
        };
        let down = s.lock().down;
        if !down {
            match dial(&target).await {
                Ok(ws) => server::carry(&s, ws, apps.clone(), true).await,
                Err(e) => tracing::debug!(error = %e, "the fake's outbound websocket"),
            }
        }
        drop(s);
        tokio::time::sleep(RECONNECT).await;
    }
}
