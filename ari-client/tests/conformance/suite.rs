//! The suite's state and the helpers every resource module calls: [`Suite::call`],
//! [`Suite::get`] (typed answer compared with the raw one), [`Suite::expect_err`], the
//! event waits, and the raw websockets whose frames the report checks.

use std::collections::{BTreeMap, BTreeSet};
use std::future::IntoFuture;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ari_client::{Client, ErrorKind};
use futures_util::{SinkExt, StreamExt};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde::Serialize;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

/// Timeout of one REST call.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------
// Results

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub(crate) enum OpOutcome {
    /// Called; the expected success answer decoded into its type.
    Ok {
        #[serde(skip_serializing_if = "Vec::is_empty")]
        unspecified_fields: Vec<String>,
    },
    /// Called; success is impossible here, and Asterisk gave the documented error.
    ExpectedError {
        http_status: Option<u16>,
        reason: String,
    },
    /// Called and failed unexpectedly (a client or conformance bug).
    Failed { detail: String },
}

#[derive(Debug, Clone)]
pub(crate) struct Frame {
    pub(crate) socket: String,
    pub(crate) text: String,
    pub(crate) value: Value,
}

pub(crate) type Frames = Arc<Mutex<Vec<Frame>>>;

#[derive(Debug)]
pub(crate) struct Suite {
    pub(crate) client: Client,
    pub(crate) url: String,
    pub(crate) user: String,
    pub(crate) password: String,
    /// Unique prefix of every id and app name of this run.
    pub(crate) prefix: String,
    pub(crate) app: String,
    /// Every operation of the specs: `resource.nickname`.
    pub(crate) all_ops: BTreeSet<String>,
    pub(crate) ops: BTreeMap<String, OpOutcome>,
    pub(crate) frames: Frames,
    pub(crate) hostile: Vec<Value>,
    pub(crate) failures: Vec<String>,
    pub(crate) record: Option<PathBuf>,
    /// Raw GET answers, by operation (first of each).
    pub(crate) responses: BTreeMap<String, Value>,
    pub(crate) channels: Vec<String>,
    pub(crate) bridges: Vec<String>,
    pub(crate) stored: Vec<String>,
}

fn specs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../swagger-specs")
}

/// `resource.nickname` of every operation, and every event type, from the specs.
pub(crate) fn spec_inventory() -> (BTreeSet<String>, BTreeSet<String>) {
    let mut ops = BTreeSet::new();
    let mut events = BTreeSet::new();
    for entry in std::fs::read_dir(specs_dir()).expect("swagger-specs/") {
        let path = entry.unwrap().path();
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        if stem == "resources" || path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for api in doc["apis"].as_array().into_iter().flatten() {
            for op in api["operations"].as_array().into_iter().flatten() {
                ops.insert(format!("{stem}.{}", op["nickname"].as_str().unwrap()));
            }
        }
        if stem == "events" {
            for t in doc["models"]["Event"]["subTypes"].as_array().unwrap() {
                events.insert(t.as_str().unwrap().to_string());
            }
        }
    }
    (ops, events)
}

/// Paths where `raw` (from Asterisk) and `typed` (re-encoded) differ.
/// `missing`: in `raw` but not in `typed`; `other`: any other difference.
pub(crate) fn diff(
    raw: &Value,
    typed: &Value,
    path: &str,
    missing: &mut BTreeSet<String>,
    other: &mut BTreeSet<String>,
) {
    match (raw, typed) {
        (Value::Object(r), Value::Object(t)) => {
            for (k, rv) in r {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match t.get(k) {
                    Some(tv) => diff(rv, tv, &p, missing, other),
                    None => {
                        missing.insert(p);
                    }
                }
            }
            for k in t.keys().filter(|k| !r.contains_key(*k)) {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                other.insert(format!("{p}: added by re-encoding"));
            }
        }
        (Value::Array(r), Value::Array(t)) if r.len() == t.len() => {
            for (rv, tv) in r.iter().zip(t) {
                diff(rv, tv, &format!("{path}[]"), missing, other);
            }
        }
        (r, t) if r == t => {}
        (Value::Number(r), Value::Number(t)) if r.as_f64() == t.as_f64() => {}
        (r, t) => {
            other.insert(format!("{path}: Asterisk sent {r}, re-encoded {t}"));
        }
    }
}

impl Suite {
    pub(crate) fn op_name(&self, op: &str) -> String {
        assert!(
            self.all_ops.contains(op),
            "not an operation of the specs: {op}"
        );
        op.to_string()
    }

    /// Sends one request; `Ok` answers mark `op` covered (the first outcome of an op sticks,
    /// except that a success replaces an earlier failure).
    pub(crate) async fn call<T, F>(&mut self, op: &str, request: F) -> Option<T>
    where
        F: IntoFuture<Output = ari_client::Result<T>>,
    {
        let op = self.op_name(op);
        match tokio::time::timeout(CALL_TIMEOUT, request.into_future()).await {
            Ok(Ok(value)) => {
                let replace = !matches!(self.ops.get(&op), Some(OpOutcome::Ok { .. }));
                if replace {
                    self.ops.insert(
                        op,
                        OpOutcome::Ok {
                            unspecified_fields: Vec::new(),
                        },
                    );
                }
                Some(value)
            }
            Ok(Err(e)) => {
                self.fail_op(
                    &op,
                    format!("{e} (kind {:?}, HTTP {:?})", e.kind(), e.http_status()),
                );
                None
            }
            Err(_) => {
                self.fail_op(&op, format!("no answer within {CALL_TIMEOUT:?}"));
                None
            }
        }
    }

    /// Like [`Suite::call`] for a GET, and compares the typed answer with the raw one.
    pub(crate) async fn get<T, F>(&mut self, op: &str, path: &str, request: F) -> Option<T>
    where
        T: Serialize,
        F: IntoFuture<Output = ari_client::Result<T>>,
    {
        let value = self.call(op, request).await?;
        let typed = serde_json::to_value(&value).expect("re-encode");
        if let Some((200, raw)) = self.raw_get(path).await {
            let mut missing = BTreeSet::new();
            let mut other = BTreeSet::new();
            diff(&raw, &typed, "", &mut missing, &mut other);
            // volatile values (timestamps, counters, durations) may change between two GETs
            other.retain(|d| !d.contains("Asterisk sent \""));
            if let Some(OpOutcome::Ok { unspecified_fields }) = self.ops.get_mut(op) {
                for m in missing {
                    let m = m.replace("[]", "");
                    if !unspecified_fields.contains(&m) {
                        unspecified_fields.push(m);
                    }
                }
            }
            self.responses.entry(op.to_string()).or_insert(raw);
        }
        Some(value)
    }

    /// A request whose success is impossible on this build: the documented error `kinds`
    /// proves it reached Asterisk. A success counts as covered.
    pub(crate) async fn expect_err<T, F>(
        &mut self,
        op: &str,
        kinds: &[ErrorKind],
        reason: &str,
        request: F,
    ) where
        F: IntoFuture<Output = ari_client::Result<T>>,
    {
        let op = self.op_name(op);
        if matches!(self.ops.get(&op), Some(OpOutcome::Ok { .. })) {
            return;
        }
        let outcome = match tokio::time::timeout(CALL_TIMEOUT, request.into_future()).await {
            Ok(Ok(_)) => OpOutcome::Ok {
                unspecified_fields: Vec::new(),
            },
            Ok(Err(e)) if kinds.contains(&e.kind()) => OpOutcome::ExpectedError {
                http_status: e.http_status(),
                reason: format!("{reason} (error: {e})"),
            },
            Ok(Err(e)) => OpOutcome::Failed {
                detail: format!(
                    "expected {kinds:?} because {reason}, got {e} (kind {:?})",
                    e.kind()
                ),
            },
            Err(_) => OpOutcome::Failed {
                detail: format!("no answer within {CALL_TIMEOUT:?}"),
            },
        };
        self.ops.insert(op, outcome);
    }

    pub(crate) fn fail_op(&mut self, op: &str, detail: String) {
        if !matches!(self.ops.get(op), Some(OpOutcome::Ok { .. })) {
            self.ops
                .insert(op.to_string(), OpOutcome::Failed { detail });
        }
    }

    pub(crate) fn check(&mut self, ok: bool, what: impl Into<String>) {
        if !ok {
            let what = what.into();
            eprintln!("conformance: CHECK FAILED: {what}");
            self.failures.push(what);
        }
    }

    /// `GET /ari/<path_and_query>` over a plain HTTP/1.0 connection: status and JSON body.
    pub(crate) async fn raw_get(&self, path_and_query: &str) -> Option<(u16, Value)> {
        let authority = self
            .url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .trim_end_matches("/ari");
        let mut stream = tokio::net::TcpStream::connect(authority).await.ok()?;
        use base64::Engine as _;
        let auth = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", self.user, self.password));
        let request = format!(
            "GET /ari/{path_and_query} HTTP/1.0\r\nHost: {authority}\r\nAuthorization: Basic {auth}\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut bytes = Vec::new();
        tokio::time::timeout(CALL_TIMEOUT, stream.read_to_end(&mut bytes))
            .await
            .ok()?
            .ok()?;
        let text = String::from_utf8_lossy(&bytes);
        let (head, body) = text.split_once("\r\n\r\n")?;
        let status = head.split_whitespace().nth(1)?.parse().ok()?;
        Some((status, serde_json::from_str(body).unwrap_or(Value::Null)))
    }

    /// Waits for a frame (of any of our sockets) that `pred` accepts.
    pub(crate) async fn wait_event(
        &self,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Option<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(f) = self.frames.lock().unwrap().iter().find(|f| pred(&f.value)) {
                return Some(f.value.clone());
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    pub(crate) async fn wait_type(
        &self,
        kind: &str,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Option<Value> {
        self.wait_event(timeout, |v| v["type"] == kind && pred(v))
            .await
    }

    /// Originates `Local/<exten>@ari-test` into our app with channel id `id` and waits for
    /// its StasisStart.
    pub(crate) async fn call_into_app(&mut self, exten: &str, id: &str) -> bool {
        let c = self.client.clone();
        let app = self.app.clone();
        let ok = self
            .call(
                "channels.originate",
                c.channels()
                    .originate(format!("Local/{exten}@ari-test"))
                    .app(&app)
                    .channel_id(id)
                    .caller_id("Conformance <100>")
                    .timeout(10),
            )
            .await
            .is_some();
        self.channels.push(id.to_string());
        ok && self.stasis_started(id).await
    }

    pub(crate) async fn stasis_started(&self, id: &str) -> bool {
        self.wait_type("StasisStart", Duration::from_secs(5), |v| {
            v["channel"]["id"] == id
        })
        .await
        .is_some()
    }

    /// The event websocket's URL for `app`, subscribed to all the system's events or not.
    ///
    /// A socket subscribed to all (hence to all device states) must be unsubscribed from
    /// `deviceState:` before it closes: closing it while a device state change is sent to
    /// it deadlocks Asterisk's ARI (docs/ari-spec-notes.md §11).
    pub(crate) fn ws_url(&self, app: &str, subscribe_all: bool) -> String {
        let base = self
            .url
            .trim_end_matches('/')
            .trim_end_matches("/ari")
            .replacen("http", "ws", 1);
        let enc = |s: &str| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
        format!(
            "{base}/ari/events?app={}&api_key={}:{}&subscribeAll={subscribe_all}",
            enc(app),
            enc(&self.user),
            enc(&self.password)
        )
    }
}

/// Opens an event websocket for `app`; every text frame lands in `frames`. The returned
/// sender writes frames (REST over websocket); dropping it closes the socket.
pub(crate) async fn open_socket(
    url: &str,
    label: &str,
    frames: Frames,
) -> tokio::sync::mpsc::UnboundedSender<String> {
    let (socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("event websocket");
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    tokio::spawn(async move {
        while let Some(text) = rx.recv().await {
            if sink.send(Message::Text(text.into())).await.is_err() {
                break;
            }
        }
        let _ = sink.close().await;
    });
    let label = label.to_string();
    tokio::spawn(async move {
        while let Some(Ok(msg)) = stream.next().await {
            if let Message::Text(text) = msg {
                let text = text.as_str().to_string();
                let value = serde_json::from_str(&text).unwrap_or(Value::Null);
                frames.lock().unwrap().push(Frame {
                    socket: label.clone(),
                    text,
                    value,
                });
            }
        }
    });
    tx
}
