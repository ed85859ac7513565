//! The fake's network side on 127.0.0.1: HTTP/1.1 REST under `/ari` (keep-alive, Basic
//! auth or `api_key`), the events websocket `/ari/events`, and REST over that websocket
//! (`RESTRequest` frames answered with `RESTResponse` events).

use std::sync::Arc;

use base64::Engine as _;
use futures_util::{SinkExt as _, StreamExt as _};
use percent_encoding::percent_decode_str;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::model::{Frame, ASTERISK_ID};
use super::ops::{self, Params, Reply};
use super::{spec, RestCall, Shared};

/// The most bytes of one request's head and body the fake reads.
const MAX_REQUEST: usize = 1 << 20;

/// Accepts connections until the listener fails (it lives as long as the fake).
pub(crate) async fn serve(listener: TcpListener, shared: std::sync::Weak<Shared>) {
    while let Ok((tcp, _)) = listener.accept().await {
        let Some(shared) = shared.upgrade() else {
            return;
        };
        shared.activity.touch();
        if shared.lock().down {
            // killed: the connection is dropped at once, as by a host with nothing listening
            drop(tcp);
            continue;
        }
        tokio::spawn(connection(tcp, shared));
    }
}

async fn connection(tcp: TcpStream, shared: Arc<Shared>) {
    let _ = tcp.set_nodelay(true);
    let mut peek = [0u8; 16];
    let Ok(n) = tcp.peek(&mut peek).await else {
        return;
    };
    if peek[..n].starts_with(b"GET /ari/events") {
        websocket(tcp, shared).await;
    } else {
        http(tcp, shared).await;
    }
}

/// Whether a request carries the fake's credentials: Basic auth, or `api_key=user:password`.
fn authorized(shared: &Shared, authorization: Option<&str>, query: &[(String, String)]) -> bool {
    let expected = format!("{}:{}", shared.user, shared.password);
    if let Some(basic) = authorization.and_then(|a| a.strip_prefix("Basic ")) {
        if let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(basic.trim()) {
            return decoded == expected.as_bytes();
        }
    }
    query.iter().any(|(k, v)| k == "api_key" && *v == expected)
}

/// `a=1&b=x%20y` → pairs, decoded.
pub(crate) fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| {
                percent_decode_str(&s.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (decode(k), decode(v))
        })
        .collect()
}

async fn websocket(tcp: TcpStream, shared: Arc<Shared>) {
    let mut apps: Option<Vec<String>> = None;
    // the callback's error type is tungstenite's
    #[allow(clippy::result_large_err)]
    let check = |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
        let query = parse_query(req.uri().query().unwrap_or_default());
        let auth = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        if !authorized(&shared, auth, &query) {
            return Err(refusal(401, "Authentication required"));
        }
        let names: Vec<String> = query
            .iter()
            .filter(|(k, _)| k == "app")
            .flat_map(|(_, v)| v.split(',').map(str::to_owned))
            .filter(|a| !a.is_empty())
            .collect();
        if names.is_empty() {
            return Err(refusal(400, "\"app\" parameter is required"));
        }
        apps = Some(names);
        Ok(resp)
    };
    let accepted = tokio_tungstenite::accept_hdr_async(tcp, check).await;
    let (Ok(ws), Some(apps)) = (accepted, apps) else {
        return;
    };
    carry(&shared, ws, apps, false).await;
}

/// Carries applications' events (and REST requests) on one websocket until it ends:
/// `outbound` when the fake dialled it. The connection is registered before this returns
/// its first await, so events sent after it go to it.
pub(crate) async fn carry(
    shared: &Arc<Shared>,
    ws: WebSocketStream<TcpStream>,
    apps: Vec<String>,
    outbound: bool,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let id = shared.lock().add_connection(apps, tx.clone(), outbound);
    shared.changed();
    carry_registered(shared, ws, id, tx, rx).await;
}

/// [`carry`] for a connection already registered as `id` with the frames of `rx`.
pub(crate) async fn carry_registered(
    shared: &Arc<Shared>,
    ws: WebSocketStream<TcpStream>,
    id: u64,
    tx: mpsc::UnboundedSender<Frame>,
    mut rx: mpsc::UnboundedReceiver<Frame>,
) {
    let (mut sink, mut stream) = ws.split();
    let writer = {
        let shared = shared.clone();
        async move {
            while let Some(frame) = rx.recv().await {
                match frame {
                    Frame::Text(text) => {
                        shared.activity.touch();
                        if sink.send(Message::text(text)).await.is_err() {
                            return;
                        }
                    }
                    Frame::Close => {
                        let _ = sink.send(Message::Close(None)).await;
                        return;
                    }
                    // dropping the sink with the stream closes the TCP connection: no
                    // close frame
                    Frame::Drop => return,
                }
            }
        }
    };
    let reader = {
        let shared = shared.clone();
        async move {
            while let Some(Ok(message)) = stream.next().await {
                shared.activity.touch();
                if let Message::Text(text) = message {
                    rest_over_websocket(&shared, &text, &tx).await;
                }
            }
        }
    };
    tokio::select! {
        () = writer => {}
        () = reader => {}
    }
    shared.lock().remove_connection(id);
    shared.changed();
}

fn refusal(status: u16, message: &str) -> ErrorResponse {
    let mut refused = ErrorResponse::new(Some(json!({ "message": message }).to_string()));
    *refused.status_mut() = tokio_tungstenite::tungstenite::http::StatusCode::from_u16(status)
        .unwrap_or(tokio_tungstenite::tungstenite::http::StatusCode::BAD_REQUEST);
    refused
}

/// A `RESTRequest` frame: answered as over HTTP, with a `RESTResponse` event.
async fn rest_over_websocket(shared: &Shared, text: &str, tx: &mpsc::UnboundedSender<Frame>) {
    let Ok(frame) = serde_json::from_str::<Value>(text) else {
        return;
    };
    if frame["type"] != "RESTRequest" {
        return;
    }
    let method = frame["method"].as_str().unwrap_or_default();
    let uri = frame["uri"].as_str().unwrap_or_default();
    let target = format!("/ari/{}", uri.trim_start_matches('/'));
    let body = frame["message_body"].as_str();
    let reply = rest(shared, method, &target, body).await;
    let st = shared.lock();
    let response = json!({
        "type": "RESTResponse",
        "transaction_id": frame["transaction_id"],
        "request_id": frame["request_id"],
        "status_code": reply.status,
        "reason_phrase": reason(reply.status),
        "uri": uri,
        "content_type": "application/json",
        "message_body": reply.body.unwrap_or_default(),
        "timestamp": st.timestamp().to_string(),
        "asterisk_id": ASTERISK_ID,
    });
    let _ = tx.send(Frame::Text(response.to_string()));
}

/// The key of the delay of the API's declarations (`/ari/api-docs/…`) among those of the
/// operations (`FakeAsterisk::delay_api_docs`).
pub(crate) const API_DOCS: &str = "api-docs";

/// One REST request (`target` = `/ari/...?query`), over either transport.
pub(crate) async fn rest(shared: &Shared, method: &str, target: &str, body: Option<&str>) -> Reply {
    let _busy = shared.activity.busy();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let query = parse_query(query);
    let Some(path) = path.strip_prefix("/ari") else {
        return Reply::error(404, "Not found");
    };
    if let Some(file) = path.strip_prefix("/api-docs/") {
        let delay = shared.lock().delays.get(API_DOCS).copied();
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        return match spec::api_doc(file) {
            Some(text) => Reply {
                status: 200,
                body: Some(text.to_owned()),
            },
            None => Reply::error(404, "Not found"),
        };
    }
    let route = spec::route(method, path);
    let operation = route.as_ref().map(|r| r.operation);
    let reply = match &route {
        None => Reply::error(404, "Resource not found"),
        Some(route) => {
            let delay = shared.lock().delays.get(route.operation.name()).copied();
            if let Some(delay) = delay {
                tokio::time::sleep(delay).await;
            }
            let params = Params::new(route, &query, body);
            let mut st = shared.lock();
            let fault = st
                .faults
                .get_mut(route.operation.name())
                .filter(|f| f.times > 0);
            match fault {
                Some(fault) => {
                    fault.times -= 1;
                    Reply::error(fault.status, "Injected by the fake Asterisk")
                }
                None => ops::handle(&mut st, &shared.answers, route.operation, &params),
            }
        }
    };
    shared.lock().note_request(RestCall {
        operation,
        method: method.to_owned(),
        path: path.to_owned(),
        query,
        status: reply.status,
    });
    shared.changed();
    reply
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        412 => "Precondition Failed",
        422 => "Unprocessable Entity",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// Answers HTTP requests on one connection (keep-alive) until it closes.
async fn http(mut tcp: TcpStream, shared: Arc<Shared>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let end = loop {
            if let Some(end) = memchr::memmem::find(&buf, b"\r\n\r\n") {
                break end;
            }
            if buf.len() > MAX_REQUEST {
                return;
            }
            match tcp.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    shared.activity.touch();
                    buf.extend_from_slice(&chunk[..n]);
                }
            }
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        let header = |name: &str| {
            head.lines().skip(1).find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| v.trim().to_owned())
            })
        };
        let length = header("content-length")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0)
            .min(MAX_REQUEST);
        while buf.len() < end + 4 + length {
            match tcp.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + length]).into_owned();
        buf.drain(..end + 4 + length);
        let mut first = head.lines().next().unwrap_or_default().split(' ');
        let method = first.next().unwrap_or_default().to_owned();
        let target = first.next().unwrap_or_default().to_owned();
        let query = parse_query(target.split_once('?').map_or("", |(_, q)| q));
        let reply = if authorized(&shared, header("authorization").as_deref(), &query) {
            let body = (!body.is_empty()).then_some(body.as_str());
            rest(&shared, &method, &target, body).await
        } else {
            Reply::error(401, "Authentication required")
        };
        let body = reply.body.unwrap_or_default();
        let mut out = format!(
            "HTTP/1.1 {} {}\r\nServer: Asterisk/{}\r\n",
            reply.status,
            reason(reply.status),
            super::ASTERISK_VERSION
        );
        if reply.status == 401 {
            out.push_str("WWW-Authenticate: Basic realm=\"Asterisk REST Interface\"\r\n");
        }
        if reply.status != 204 {
            out.push_str("Content-Type: application/json\r\n");
        }
        out.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        if tcp.write_all(out.as_bytes()).await.is_err() {
            return;
        }
        shared.activity.touch();
    }
}
