//! Outbound websockets: the suite listens where the sandbox's `websocket_client.conf`
//! points Asterisk (loopback), as Asterisk's own peer, and records the frames of the
//! persistent connection (`ApplicationRegistered` on connect; with the sandbox's `ctl.sh`,
//! `ARI_ASTERISK_CTL`, a reload that adds an application and one that drops it again:
//! `ApplicationRegistered`, `ApplicationUnregistered`) and of a per-call one from the call's
//! start to the websocket's close.

use std::time::Duration;

use futures_util::StreamExt as _;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::Message;

use crate::suite::{Frame, Suite};

pub(crate) async fn outbound_ops(s: &mut Suite) {
    let port = crate::support::outbound_port(&s.url);
    // the persistent connection: Asterisk retries every 200 ms until it gets in
    match accept(port).await {
        Some(mut ws) => {
            read_until(s, &mut ws, "outbound", Duration::from_secs(1), |_| false).await;
            // a reload that adds an application, then one that drops it again
            // (ApplicationRegistered, ApplicationUnregistered): needs the sandbox's ctl.sh
            if let Ok(ctl) = std::env::var("ARI_ASTERISK_CTL") {
                let extra = format!("outbound-app,{}-extra", s.prefix);
                for apps in [extra.as_str(), "outbound-app"] {
                    let status = std::process::Command::new("bash")
                        .args([ctl.as_str(), "outbound-apps", apps])
                        .status();
                    s.check(
                        status.is_ok_and(|st| st.success()),
                        format!("ctl.sh outbound-apps {apps}"),
                    );
                    read_until(s, &mut ws, "outbound", Duration::from_secs(1), |_| false).await;
                }
            }
        }
        None => s.check(
            false,
            format!("no persistent outbound websocket on 127.0.0.1:{port}"),
        ),
    }
    // one call's own websocket, from StasisStart to its close
    let listener = TcpListener::bind(("127.0.0.1", port + 1)).await;
    let Ok(listener) = listener else {
        s.check(false, format!("cannot listen on 127.0.0.1:{}", port + 1));
        return;
    };
    let originated = s
        .client
        .channels()
        .originate("Local/call@ari-outbound")
        .context("ari-test")
        .extension("answer")
        .await;
    s.check(
        originated.is_ok(),
        "originate into the per-call application",
    );
    let Some(mut ws) = accept_on(&listener).await else {
        s.check(false, "no per-call outbound websocket");
        return;
    };
    let client = s.client.clone();
    read_until(s, &mut ws, "outbound-call", Duration::from_secs(15), |v| {
        if v["type"] == "StasisStart" {
            let id = v["channel"]["id"].as_str().unwrap_or_default().to_owned();
            let client = client.clone();
            tokio::spawn(async move { client.channels().hangup(&id).await });
        }
        false
    })
    .await;
}

/// Accepts Asterisk's next websocket on `port`, answering its protocol `ari`.
async fn accept(port: u16) -> Option<tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await.ok()?;
    accept_on(&listener).await
}

async fn accept_on(
    listener: &TcpListener,
) -> Option<tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>> {
    let (tcp, _) = tokio::time::timeout(Duration::from_secs(10), listener.accept())
        .await
        .ok()?
        .ok()?;
    #[allow(clippy::result_large_err)]
    fn ari(
        _: &Request,
        mut response: Response,
    ) -> Result<Response, tokio_tungstenite::tungstenite::handshake::server::ErrorResponse> {
        response
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", "ari".parse().unwrap());
        Ok(response)
    }
    tokio_tungstenite::accept_hdr_async(tcp, ari).await.ok()
}

/// Records the socket's text frames as `label` until it closes, `quiet` passes without
/// one, or `stop` says so.
async fn read_until(
    s: &mut Suite,
    ws: &mut tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
    label: &str,
    quiet: Duration,
    mut stop: impl FnMut(&Value) -> bool,
) {
    while let Ok(Some(Ok(message))) = tokio::time::timeout(quiet, ws.next()).await {
        let Message::Text(text) = message else {
            continue;
        };
        let text = text.as_str().to_owned();
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let done = stop(&value);
        s.frames.lock().unwrap().push(Frame {
            socket: label.to_owned(),
            text,
            value,
        });
        if done {
            break;
        }
    }
}
