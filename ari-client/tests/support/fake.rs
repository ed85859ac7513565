//! A small fake ARI server on 127.0.0.1 for what a real Asterisk cannot be made to do: REST
//! answers from a closure, and every events websocket handed to the test.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::WebSocketStream;

/// A REST request as the fake saw it.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) authorization: Option<String>,
}

/// The REST answers: `(status, JSON body)` for a request.
pub(crate) type Rest = Arc<dyn Fn(&Seen) -> (u16, String) + Send + Sync>;

pub(crate) struct FakeAri {
    /// `http://127.0.0.1:PORT`.
    pub(crate) url: String,
    /// Every websocket accepted (with the right credentials), in order.
    pub(crate) sockets: mpsc::UnboundedReceiver<WebSocketStream<TcpStream>>,
    /// Every REST request, in order.
    pub(crate) seen: Arc<Mutex<Vec<Seen>>>,
}

/// Starts the fake. Websockets need `Authorization` equal to `authorization` (else 401).
pub(crate) async fn start(authorization: &str, rest: Rest) -> FakeAri {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, sockets) = mpsc::unbounded_channel();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let auth = authorization.to_owned();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (tx, rest, log, auth) = (tx.clone(), rest.clone(), log.clone(), auth.clone());
            tokio::spawn(serve(tcp, tx, rest, log, auth));
        }
    });
    FakeAri { url, sockets, seen }
}

// the handshake callback's error type is tungstenite's
#[allow(clippy::result_large_err)]
async fn serve(
    tcp: TcpStream,
    sockets: mpsc::UnboundedSender<WebSocketStream<TcpStream>>,
    rest: Rest,
    log: Arc<Mutex<Vec<Seen>>>,
    auth: String,
) {
    let mut peek = [0u8; 64];
    let Ok(n) = tcp.peek(&mut peek).await else {
        return;
    };
    if peek[..n].starts_with(b"GET /ari/events") {
        let check = |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
            let given = req
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok());
            if given == Some(auth.as_str()) {
                Ok(resp)
            } else {
                let mut refused =
                    ErrorResponse::new(Some(r#"{"message":"Authentication required"}"#.to_owned()));
                *refused.status_mut() = 401.try_into().unwrap();
                Err(refused)
            }
        };
        if let Ok(ws) = tokio_tungstenite::accept_hdr_async(tcp, check).await {
            let _ = sockets.send(ws);
        }
        return;
    }
    http(tcp, rest, log).await;
}

/// Answers REST requests on one connection (keep-alive) until it closes.
async fn http(mut tcp: TcpStream, rest: Rest, log: Arc<Mutex<Vec<Seen>>>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let end = loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break end;
            }
            match tcp.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        let length = head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse::<usize>().ok())?
            })
            .unwrap_or(0);
        while buf.len() < end + 4 + length {
            match tcp.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        buf.drain(..end + 4 + length);
        let mut first = head.lines().next().unwrap_or_default().split(' ');
        let seen = Seen {
            method: first.next().unwrap_or_default().to_owned(),
            path: first.next().unwrap_or_default().to_owned(),
            authorization: head.lines().find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("authorization")
                    .then(|| value.trim().to_owned())
            }),
        };
        let (status, body) = rest(&seen);
        log.lock().unwrap().push(seen);
        let reply = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if tcp.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// The JSON of a channel with id `id`.
pub(crate) fn channel_json(id: &str) -> String {
    format!(
        r#"{{"id":"{id}","name":"Local/x@ari-test-00000001;1","state":"Up","protocol_id":"","caller":{{"name":"","number":""}},"connected":{{"name":"","number":""}},"accountcode":"","dialplan":{{"context":"ari-test","exten":"x","priority":1,"app_name":"Stasis","app_data":"app"}},"creationtime":"2026-11-26T13:22:17.521+0000","language":"en"}}"#
    )
}

/// An event of type `kind` naming channel `id`, with `extra` members (each followed by a
/// comma) before the channel.
pub(crate) fn channel_event(kind: &str, id: &str, extra: &str) -> String {
    format!(
        r#"{{"type":"{kind}","timestamp":"2026-11-26T13:22:20.933+0000",{extra}"channel":{},"asterisk_id":"02:fc:00:00:00:01","application":"app"}}"#,
        channel_json(id)
    )
}
