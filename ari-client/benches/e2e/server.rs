//! The fake Asterisk on its own thread: keep-alive HTTP/1.1 for `GET /ari/channels/{id}`,
//! `/ari/asterisk/ping`, and what `connect` reads of the server's API (the checked-in
//! specs under `/ari/api-docs/`, `/ari/asterisk/info`, `/ari/asterisk/modules`), and the
//! event websocket that writes a job's frames and answers `RESTRequest` frames with
//! `RESTResponse` events, as Asterisk does (`res/ari/ari_websocket_requests.c`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use futures_util::{SinkExt as _, StreamExt as _};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::Message;

use crate::frames::{channel_json, Frames};

/// What the next websocket connection gets: frames to send after `go` fires.
struct Job {
    frames: Arc<Frames>,
    go: Option<oneshot::Receiver<()>>,
}

#[derive(Clone, Default)]
pub(crate) struct Server {
    job: Arc<Mutex<Option<Job>>>,
    /// `RESTRequest` frames answered so far, on every websocket.
    rest_requests: Arc<AtomicUsize>,
}

impl Server {
    pub(crate) fn set_job(&self, frames: Arc<Frames>, go: Option<oneshot::Receiver<()>>) {
        *self.job.lock().unwrap() = Some(Job { frames, go });
    }

    /// How many `RESTRequest` frames the websockets answered so far.
    pub(crate) fn rest_requests(&self) -> usize {
        self.rest_requests.load(Ordering::Relaxed)
    }
}

/// Starts the fake server on its own thread; returns `http://127.0.0.1:PORT`.
pub(crate) fn start_server(server: Server) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            while let Ok((tcp, _)) = listener.accept().await {
                let _ = tcp.set_nodelay(true);
                tokio::spawn(serve(tcp, server.clone()));
            }
        });
    });
    format!("http://{}", rx.recv().unwrap())
}

async fn serve(tcp: TcpStream, server: Server) {
    let mut head = [0u8; 32];
    let n = loop {
        match tcp.peek(&mut head).await {
            Ok(0) | Err(_) => return,
            Ok(n) if n >= 16 => break n,
            Ok(_) => tokio::task::yield_now().await,
        }
    };
    if head[..n].windows(11).any(|w| w == b"/ari/events") {
        serve_ws(tcp, server).await;
    } else {
        serve_http(tcp).await;
    }
}

// the handshake callback's error type is tungstenite's
#[allow(clippy::result_large_err)]
async fn serve_ws(tcp: TcpStream, server: Server) {
    // the application a `RESTResponse` names: the websocket's `app=`
    let mut app = String::new();
    let read_app = |request: &Request, response: Response| {
        app = request
            .uri()
            .query()
            .unwrap_or("")
            .split('&')
            .find_map(|pair| pair.strip_prefix("app="))
            .unwrap_or("")
            .split(',')
            .next()
            .unwrap_or("")
            .to_owned();
        Ok(response)
    };
    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(tcp, read_app).await else {
        return;
    };
    let job = server.job.lock().unwrap().take();
    if let Some(job) = job {
        if let Some(go) = job.go {
            let _ = go.await;
        }
        // the frames are already encoded: write them straight to the socket
        if ws.get_mut().write_all(&job.frames.bytes).await.is_err() {
            return;
        }
        let _ = ws.get_mut().flush().await;
    }
    // like Asterisk, one request at a time: read it, answer it, read the next; until the
    // client closes the connection
    let channel = channel_json("1764163337.42", 42, "Up");
    while let Some(Ok(message)) = ws.next().await {
        let Message::Text(text) = message else {
            continue;
        };
        let Some(response) = rest_response(text.as_str(), &app, &channel) else {
            continue;
        };
        server.rest_requests.fetch_add(1, Ordering::Relaxed);
        if ws.send(Message::text(response)).await.is_err() {
            return;
        }
    }
}

/// The members of a `RESTRequest` frame the fake reads.
#[derive(serde::Deserialize)]
struct RestRequest {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    transaction_id: String,
    #[serde(default)]
    request_id: String,
    uri: String,
}

/// A `RESTResponse` event as Asterisk 22 writes it (`send_rest_response`, then
/// `ari_websocket_send_event` adds the application, timestamp and Asterisk id).
#[derive(serde::Serialize)]
struct RestResponse<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    transaction_id: &'a str,
    request_id: &'a str,
    status_code: u16,
    reason_phrase: &'static str,
    uri: &'a str,
    content_type: &'static str,
    message_body: &'a str,
    application: &'a str,
    timestamp: &'static str,
    asterisk_id: &'static str,
}

/// The `RESTResponse` to a `RESTRequest` frame (`GET channels/{id}`: the channel; anything
/// else: 404); `None` for any other frame.
fn rest_response(text: &str, app: &str, channel: &str) -> Option<String> {
    let request: RestRequest = serde_json::from_str(text).ok()?;
    if request.kind != "RESTRequest" {
        return None;
    }
    let (status_code, reason_phrase, message_body) = if request.uri.starts_with("channels/") {
        (200, "OK", channel)
    } else {
        (404, "Not Found", r#"{"message":"Resource not found"}"#)
    };
    let response = RestResponse {
        kind: "RESTResponse",
        transaction_id: &request.transaction_id,
        request_id: &request.request_id,
        status_code,
        reason_phrase,
        uri: &request.uri,
        content_type: "application/json",
        message_body,
        application: app,
        timestamp: "2026-12-02T18:46:14.114+0000",
        asterisk_id: "02:fc:00:00:00:01",
    };
    Some(serde_json::to_string(&response).expect("strings always serialize"))
}

const PING: &str = r#"{"asterisk_id":"02:fc:00:00:00:01","ping":"pong","timestamp":"2026-11-26T13:22:17.521+0000"}"#;

const INFO: &str = r#"{"system":{"version":"22.10.1","entity_id":"02:fc:00:00:00:01"}}"#;

/// What `connect` reads of the server's API: the checked-in specs, as Asterisk serves them
/// (`/ari/api-docs/<file>`), by file name.
fn declarations() -> &'static HashMap<String, String> {
    static DOCS: OnceLock<HashMap<String, String>> = OnceLock::new();
    DOCS.get_or_init(|| {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../swagger-specs");
        std::fs::read_dir(dir)
            .expect("the checked-in specs")
            .map(|entry| {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                (name, std::fs::read_to_string(&path).unwrap())
            })
            .collect()
    })
}

/// `GET /asterisk/modules`: every ARI resource's module, running.
fn modules() -> &'static str {
    static MODULES: OnceLock<String> = OnceLock::new();
    MODULES.get_or_init(|| {
        let list: Vec<String> = declarations()
            .keys()
            .filter(|f| *f != "resources.json")
            .map(|f| {
                let mut snake = String::new();
                for c in f.trim_end_matches(".json").chars() {
                    if c.is_ascii_uppercase() {
                        snake.push('_');
                    }
                    snake.push(c.to_ascii_lowercase());
                }
                format!(r#"{{"name":"res_ari_{snake}.so","description":"","use_count":0,"status":"Running","support_level":"core"}}"#)
            })
            .collect();
        format!("[{}]", list.join(","))
    })
}

async fn serve_http(mut tcp: TcpStream) {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    let channel = channel_json("1764163337.42", 42, "Up");
    loop {
        let end = loop {
            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
            match tcp.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let line =
            String::from_utf8_lossy(&buf[..buf.iter().position(|&b| b == b'\r').unwrap_or(0)])
                .into_owned();
        buf.drain(..end);
        let path = line.split(' ').nth(1).unwrap_or("");
        let docs = path
            .strip_prefix("/ari/api-docs/")
            .and_then(|file| declarations().get(file));
        let (status, body) = if path.starts_with("/ari/channels/") {
            ("200 OK", channel.as_str())
        } else if path.starts_with("/ari/asterisk/ping") {
            ("200 OK", PING)
        } else if let Some(doc) = docs {
            ("200 OK", doc.as_str())
        } else if path.starts_with("/ari/asterisk/info") {
            ("200 OK", INFO)
        } else if path.starts_with("/ari/asterisk/modules") {
            ("200 OK", modules())
        } else {
            ("404 Not Found", r#"{"message":"Resource not found"}"#)
        };
        let response = format!(
            "HTTP/1.1 {status}\r\nServer: Asterisk/22.10.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if tcp.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}
