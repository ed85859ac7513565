//! Conformance suite against a real Asterisk (`cargo xtask conformance`).
//!
//! * Calls every operation this Asterisk build can serve, with realistic arguments, through
//!   the generated API, and checks that each answer decodes into its generated type. GET
//!   answers are also fetched raw and compared with the typed value re-encoded, which names
//!   the fields Asterisk sends that the spec lacks. What cannot run here (no mailbox module)
//!   is called anyway when a documented error proves the call reached Asterisk, and is
//!   listed with the reason.
//! * Provokes every event type it can with Local channels, bridges, playback, recording,
//!   snoop, external media, user events, device states, subscriptions and filters,
//!   StasisBroadcast(), and PJSIP on 127.0.0.1: its own SIP user agent (tests/sip) behind an
//!   endpoint it creates over ARI dynamic configuration (qualify, MESSAGE both ways, REFER,
//!   calls that are redirected, answered with RTP, held, transferred), over its
//!   own websockets (raw frames), and checks that each frame decodes into its typed variant
//!   (never `Unknown`) and re-encodes to the same JSON, or names the fields that differ.
//! * Hostile ids (`/`, `+`, `?`, `#`, `%`, space, non-ASCII) for channels, bridges,
//!   playbacks and recordings must reach Asterisk intact and must not address another object.
//!
//! Environment: `ARI_URL`, `ARI_USER`, `ARI_PASSWORD` (see tests/support/mod.rs);
//! `ARI_CONFORMANCE_REPORT=<path>` writes the JSON report there; `ARI_RECORD=1` saves the raw
//! event frames and GET answers under `tests/fixtures/recorded/`.

mod sip;
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::future::IntoFuture;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ari_client::events::Event;
use ari_client::models::{
    ConfigTuple, ControlOperation, ExternalMediaEncapsulation, ExternalMediaTransport, GetInfoOnly,
    HangupReason, MuteDirection, RecordIfExists, SnoopChannelSpy, SnoopChannelWithIdSpy,
    UnmuteDirection, UpdateDeviceState,
};
use ari_client::{Client, ErrorKind};
use futures_util::{SinkExt, StreamExt};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde::Serialize;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

/// Timeout of one REST call.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// The characters every hostile id contains.
const HOSTILE: &str = "/+?#% é✓";

// ---------------------------------------------------------------------------------------
// Results

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
enum OpOutcome {
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

#[derive(Debug, Default, Clone, Serialize)]
struct EventStats {
    received: usize,
    typed: usize,
    unknown: usize,
    decode_errors: Vec<String>,
    /// Fields in Asterisk's frames that the typed event drops (the spec lacks them).
    unspecified_fields: BTreeSet<String>,
    /// Other differences between the raw frame and the re-encoded event.
    mismatches: BTreeSet<String>,
}

#[derive(Debug, Clone)]
struct Frame {
    socket: String,
    text: String,
    value: Value,
}

type Frames = Arc<Mutex<Vec<Frame>>>;

#[derive(Debug)]
struct Suite {
    client: Client,
    url: String,
    user: String,
    password: String,
    /// Unique prefix of every id and app name of this run.
    prefix: String,
    app: String,
    /// Every operation of the specs: `resource.nickname`.
    all_ops: BTreeSet<String>,
    ops: BTreeMap<String, OpOutcome>,
    frames: Frames,
    hostile: Vec<Value>,
    failures: Vec<String>,
    record: Option<PathBuf>,
    /// Raw GET answers, by operation (first of each).
    responses: BTreeMap<String, Value>,
    channels: Vec<String>,
    bridges: Vec<String>,
    stored: Vec<String>,
}

fn specs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../swagger-specs")
}

/// `resource.nickname` of every operation, and every event type, from the specs.
fn spec_inventory() -> (BTreeSet<String>, BTreeSet<String>) {
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
fn diff(
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

fn hostile(prefix: &str, what: &str) -> String {
    format!("{prefix}-{what}{HOSTILE}")
}

impl Suite {
    fn op_name(&self, op: &str) -> String {
        assert!(
            self.all_ops.contains(op),
            "not an operation of the specs: {op}"
        );
        op.to_string()
    }

    /// Sends one request; `Ok` answers mark `op` covered (the first outcome of an op sticks,
    /// except that a success replaces an earlier failure).
    async fn call<T, F>(&mut self, op: &str, request: F) -> Option<T>
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
    async fn get<T, F>(&mut self, op: &str, path: &str, request: F) -> Option<T>
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
    async fn expect_err<T, F>(&mut self, op: &str, kinds: &[ErrorKind], reason: &str, request: F)
    where
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
                reason: format!("{reason} (Asterisk: {e})"),
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

    fn fail_op(&mut self, op: &str, detail: String) {
        if !matches!(self.ops.get(op), Some(OpOutcome::Ok { .. })) {
            self.ops
                .insert(op.to_string(), OpOutcome::Failed { detail });
        }
    }

    fn check(&mut self, ok: bool, what: impl Into<String>) {
        if !ok {
            let what = what.into();
            eprintln!("conformance: CHECK FAILED: {what}");
            self.failures.push(what);
        }
    }

    /// `GET /ari/<path_and_query>` over a plain HTTP/1.0 connection: status and JSON body.
    async fn raw_get(&self, path_and_query: &str) -> Option<(u16, Value)> {
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
    async fn wait_event(&self, timeout: Duration, pred: impl Fn(&Value) -> bool) -> Option<Value> {
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

    async fn wait_type(
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
    async fn call_into_app(&mut self, exten: &str, id: &str) -> bool {
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

    async fn stasis_started(&self, id: &str) -> bool {
        self.wait_type("StasisStart", Duration::from_secs(5), |v| {
            v["channel"]["id"] == id
        })
        .await
        .is_some()
    }

    fn ws_url(&self, app: &str) -> String {
        let base = self
            .url
            .trim_end_matches('/')
            .trim_end_matches("/ari")
            .replacen("http", "ws", 1);
        let enc = |s: &str| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
        format!(
            "{base}/ari/events?app={}&api_key={}:{}&subscribeAll=true",
            enc(app),
            enc(&self.user),
            enc(&self.password)
        )
    }
}

/// Opens an event websocket for `app`; every text frame lands in `frames`. The returned
/// sender writes frames (REST over websocket); dropping it closes the socket.
async fn open_socket(
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

// ---------------------------------------------------------------------------------------
// The suite

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance() {
    let Some(live) = support::live().await else {
        return;
    };
    let started = Instant::now();
    let client = live.client().await;
    let (all_ops, all_events) = spec_inventory();
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        % 1_000_000_000;
    let prefix = format!("conf{}-{stamp}", std::process::id());
    let record = std::env::var("ARI_RECORD")
        .is_ok_and(|v| v == "1")
        .then(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/recorded"));
    let mut s = Suite {
        client,
        url: live.url.clone(),
        user: live.user.clone(),
        password: live.password.clone(),
        app: format!("{prefix}-app"),
        prefix,
        all_ops,
        ops: BTreeMap::new(),
        frames: Arc::default(),
        hostile: Vec::new(),
        failures: Vec::new(),
        record,
        responses: BTreeMap::new(),
        channels: Vec::new(),
        bridges: Vec::new(),
        stored: Vec::new(),
    };

    // The main app's websocket (subscribeAll): GET /events is an operation too.
    eprintln!("conformance: {} (app {})", s.url, s.app);
    let main_ws = open_socket(&s.ws_url(&s.app), "main", s.frames.clone()).await;
    s.ops.insert(
        "events.eventWebsocket".into(),
        OpOutcome::Ok {
            unspecified_fields: Vec::new(),
        },
    );
    let t = Instant::now();
    asterisk_ops(&mut s).await;
    eprintln!(
        "conformance: asterisk resource done ({:.1} s)",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    application_ops(&mut s).await;
    eprintln!(
        "conformance: applications done ({:.1} s)",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    channel_ops(&mut s).await;
    eprintln!(
        "conformance: channels done ({:.1} s)",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    recording_ops(&mut s).await;
    eprintln!(
        "conformance: recordings done ({:.1} s)",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    bridge_ops(&mut s).await;
    eprintln!(
        "conformance: bridges done ({:.1} s)",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    misc_ops(&mut s, &main_ws).await;
    eprintln!(
        "conformance: device states, events, sounds, endpoints, mailboxes done ({:.1} s)",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    sip_ops(&mut s).await;
    eprintln!(
        "conformance: PJSIP (dynamic config, endpoints, messages, calls) done ({:.1} s)",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    hostile_ids(&mut s).await;
    eprintln!(
        "conformance: hostile ids done ({:.1} s)",
        t.elapsed().as_secs_f64()
    );

    cleanup(&mut s).await;
    // let the last events arrive, then close the main socket
    tokio::time::sleep(Duration::from_millis(500)).await;
    drop(main_ws);

    let report = build_report(&mut s, &all_events, started.elapsed());
    finish(&s, &report);
}

async fn asterisk_ops(s: &mut Suite) {
    let c = s.client.clone();
    let a = c.asterisk();
    s.get("asterisk.getInfo", "asterisk/info", a.get_info())
        .await;
    s.call(
        "asterisk.getInfo",
        a.get_info().only([
            GetInfoOnly::Build,
            GetInfoOnly::System,
            GetInfoOnly::Config,
            GetInfoOnly::Status,
        ]),
    )
    .await;
    s.get("asterisk.ping", "asterisk/ping", a.ping()).await;
    s.get("asterisk.listModules", "asterisk/modules", a.list_modules())
        .await;
    s.get(
        "asterisk.getModule",
        "asterisk/modules/res_ari.so",
        a.get_module("res_ari.so"),
    )
    .await;
    // load/unload a harmless module the sandbox does not load; load the detectors the event
    // part needs (talk and tone detection), if they are not loaded yet
    if a.get_module("app_playtones.so").await.is_ok() {
        let _ = a.unload_module("app_playtones.so").await;
    }
    s.call("asterisk.loadModule", a.load_module("app_playtones.so"))
        .await;
    s.call(
        "asterisk.reloadModule",
        a.reload_module("res_rtp_asterisk.so"),
    )
    .await;
    s.call("asterisk.unloadModule", a.unload_module("app_playtones.so"))
        .await;
    for module in ["func_talkdetect.so", "res_stasis_broadcast.so"] {
        if a.get_module(module).await.is_err() {
            let loaded = a.load_module(module).await;
            s.check(loaded.is_ok(), format!("load {module}: {loaded:?}"));
        }
    }
    s.get(
        "asterisk.listLogChannels",
        "asterisk/logging",
        a.list_log_channels(),
    )
    .await;
    let log = format!("{}-log", s.prefix);
    s.call("asterisk.addLog", a.add_log(&log, "notice,warning"))
        .await;
    s.call("asterisk.deleteLog", a.delete_log(&log)).await;
    // rotating a log channel added over ARI also removes it (observed on 22.10.1)
    s.call("asterisk.addLog", a.add_log(&log, "notice")).await;
    s.call("asterisk.rotateLog", a.rotate_log(&log)).await;
    let _ = a.delete_log(&log).await;
    let var = format!("CONF_{}", s.prefix.replace('-', "_").to_uppercase());
    s.call(
        "asterisk.setGlobalVar",
        a.set_global_var(&var).value("g-value"),
    )
    .await;
    if let Some(v) = s
        .get(
            "asterisk.getGlobalVar",
            &format!("asterisk/variable?variable={var}"),
            a.get_global_var(&var),
        )
        .await
    {
        s.check(
            v.value == "g-value",
            format!("global variable read back {:?}", v.value),
        );
    }
}

async fn application_ops(s: &mut Suite) {
    let c = s.client.clone();
    let apps = c.applications();
    let app = s.app.clone();
    s.get("applications.list", "applications", apps.list())
        .await;
    s.get(
        "applications.get",
        &format!("applications/{app}"),
        apps.get(&app),
    )
    .await;
    let device = format!("Stasis:{}-dev", s.prefix);
    let source = format!("deviceState:{device}");
    if let Some(a) = s
        .call(
            "applications.subscribe",
            apps.subscribe(&app, source.as_str()),
        )
        .await
    {
        // with subscribeAll the app is already subscribed to every device
        let all = a
            .device_names
            .iter()
            .any(|d| d == &device || d.contains("ALL_TOPIC"));
        s.check(
            all,
            format!(
                "subscribe: device_names {:?} lacks {device}",
                a.device_names
            ),
        );
    }
    if let Some(a) = s
        .call(
            "applications.unsubscribe",
            apps.unsubscribe(&app, source.as_str()),
        )
        .await
    {
        s.check(
            !a.device_names.contains(&device),
            "unsubscribe kept the device",
        );
    }
    // filter: only ChannelUserevent may pass; a user event passes, a device state does not
    let filter = json!({"allowed": [{"type": "ChannelUserevent"}]});
    if let Some(a) = s
        .call("applications.filter", apps.filter(&app).filter(filter))
        .await
    {
        s.check(
            a.events_allowed.len() == 1,
            format!("filter: events_allowed {:?}", a.events_allowed),
        );
    }
    let name = format!("{}-filtered", s.prefix);
    let _ = c.events_api().user_event(&name, &app).await;
    let passed = s
        .wait_type("ChannelUserevent", Duration::from_secs(2), |v| {
            v["eventname"] == name.as_str()
        })
        .await;
    s.check(
        passed.is_some(),
        "filter: an allowed ChannelUserevent did not arrive",
    );
    let dev2 = format!("Stasis:{}-filtered", s.prefix);
    let _ = c
        .device_states()
        .update(&dev2, UpdateDeviceState::Busy)
        .await;
    let blocked = s
        .wait_type("DeviceStateChanged", Duration::from_millis(700), |v| {
            v["device_state"]["name"] == dev2.as_str()
        })
        .await;
    s.check(
        blocked.is_none(),
        "filter: a DeviceStateChanged that the filter blocks arrived",
    );
    let _ = c.device_states().delete(&dev2).await;
    s.call("applications.filter", apps.filter(&app).filter(json!({})))
        .await;
}

async fn channel_ops(s: &mut Suite) {
    let c = s.client.clone();
    let ch = c.channels();
    let app = s.app.clone();
    let p = s.prefix.clone();

    // A: an answered call parked in the app (far side silent)
    let a = format!("{p}-a");
    if !s.call_into_app("answer", &a).await {
        s.check(false, "channel A never entered the app");
        return;
    }
    s.get("channels.list", "channels", ch.list()).await;
    s.get("channels.get", &format!("channels/{a}"), ch.get(&a))
        .await;
    s.call("channels.answer", ch.answer(&a)).await;
    s.call("channels.ring", ch.ring(&a)).await;
    s.call("channels.ringStop", ch.ring_stop(&a)).await;
    s.call("channels.progress", ch.progress(&a)).await;
    s.call("channels.mute", ch.mute(&a).direction(MuteDirection::Both))
        .await;
    s.call(
        "channels.unmute",
        ch.unmute(&a).direction(UnmuteDirection::Both),
    )
    .await;
    s.call("channels.hold", ch.hold(&a)).await;
    s.call("channels.unhold", ch.unhold(&a)).await;
    s.call("channels.startSilence", ch.start_silence(&a)).await;
    s.call("channels.stopSilence", ch.stop_silence(&a)).await;
    s.call("channels.startMoh", ch.start_moh(&a).moh_class("default"))
        .await;
    s.call("channels.stopMoh", ch.stop_moh(&a)).await;
    s.call(
        "channels.setChannelVar",
        ch.set_channel_var(&a, "CONF_VAR").value("v1"),
    )
    .await;
    if let Some(v) = s
        .get(
            "channels.getChannelVar",
            &format!("channels/{a}/variable?variable=CONF_VAR"),
            ch.get_channel_var(&a, "CONF_VAR"),
        )
        .await
    {
        s.check(
            v.value == "v1",
            format!("channel variable read back {:?}", v.value),
        );
    }
    s.call(
        "channels.setChannelVars",
        ch.set_channel_vars(&a, [("CONF_X", json!("x")), ("CONF_Y", json!("y"))]),
    )
    .await;
    if let Some(v) = s
        .get(
            "channels.getChannelVars",
            &format!("channels/{a}/variables?variables=CONF_X,CONF_Y"),
            ch.get_channel_vars(&a, ["CONF_X", "CONF_Y"]),
        )
        .await
    {
        s.check(
            serde_json::to_string(&v).unwrap().contains("\"x\""),
            format!("channel variables read back {v:?}"),
        );
    }
    // caller id change → ChannelCallerId
    s.call(
        "channels.setChannelVar",
        ch.set_channel_var(&a, "CALLERID(num)").value("4242"),
    )
    .await;
    s.call(
        "channels.sendDTMF",
        ch.send_dtmf(&a).dtmf("12").between(100).duration(100),
    )
    .await;

    // playback: pause/unpause/restart/forward/reverse, stop; a media list → PlaybackContinuing
    let pb = format!("{p}-pb");
    if s.call(
        "channels.playWithId",
        ch.play_with_id(&a, &pb, ["sound:beep", "sound:hello-world"])
            .lang("en"),
    )
    .await
    .is_some()
    {
        s.wait_type("PlaybackContinuing", Duration::from_secs(3), |v| {
            v["playback"]["id"] == pb.as_str()
        })
        .await;
        s.get(
            "playbacks.get",
            &format!("playbacks/{pb}"),
            c.playbacks().get(&pb),
        )
        .await;
        for op in [
            ControlOperation::Pause,
            ControlOperation::Unpause,
            ControlOperation::Forward,
            ControlOperation::Reverse,
            ControlOperation::Restart,
        ] {
            s.call("playbacks.control", c.playbacks().control(&pb, op))
                .await;
        }
        s.call("playbacks.stop", c.playbacks().stop(&pb)).await;
        s.wait_type("PlaybackFinished", Duration::from_secs(3), |v| {
            v["playback"]["id"] == pb.as_str()
        })
        .await;
    }
    if let Some(playback) = s
        .call(
            "channels.play",
            ch.play(&a, "sound:beep").offsetms(0).skipms(3000),
        )
        .await
    {
        s.wait_type("PlaybackFinished", Duration::from_secs(3), |v| {
            v["playback"]["id"] == playback.id.as_str()
        })
        .await;
    }

    // snoop → the snoop channel's own StasisStart
    let snoop_id = format!("{p}-snoop");
    if let Some(snoop) = s
        .call(
            "channels.snoopChannelWithId",
            ch.snoop_channel_with_id(&a, &snoop_id, &app)
                .spy(SnoopChannelWithIdSpy::Both),
        )
        .await
    {
        s.check(snoop.id == snoop_id, format!("snoop id {:?}", snoop.id));
        s.stasis_started(&snoop_id).await;
        s.channels.push(snoop_id.clone());
        let _ = ch.hangup(&snoop_id).await;
    }
    if let Some(snoop) = s
        .call(
            "channels.snoopChannel",
            ch.snoop_channel(&a, &app)
                .spy(SnoopChannelSpy::In)
                .app_args("snooped"),
        )
        .await
    {
        s.channels.push(snoop.id.clone());
        s.stasis_started(&snoop.id).await;
        let _ = ch.hangup(&snoop.id).await;
    }
    // Local channels have no RTP; redirect needs a channel driver with redirect (SIP)
    s.expect_err(
        "channels.rtpstatistics",
        &[
            ErrorKind::NotFound,
            ErrorKind::Server,
            ErrorKind::PreconditionFailed,
            ErrorKind::Forbidden,
        ],
        "no RTP statistics on a Local channel (no RTP instance); sip_ops asks a PJSIP channel",
        ch.rtp_statistics(&a),
    )
    .await;
    s.expect_err(
        "channels.redirect",
        &[
            ErrorKind::Unprocessable,
            ErrorKind::PreconditionFailed,
            ErrorKind::BadRequest,
            ErrorKind::NotFound,
            ErrorKind::Server,
        ],
        "redirect needs a channel technology that can redirect (PJSIP: sip_ops); Local cannot",
        ch.redirect(&a, "Local/answer@ari-test"),
    )
    .await;
    s.expect_err(
        "channels.transfer_progress",
        &[
            ErrorKind::Unprocessable,
            ErrorKind::PreconditionFailed,
            ErrorKind::BadRequest,
            ErrorKind::NotFound,
            ErrorKind::Server,
            ErrorKind::Conflict,
        ],
        "transfer progress only applies to a channel whose REFER Asterisk handed to ARI (PJSIP_TRANSFER_HANDLING()=ari-only); a Local channel has none",
        ch.transfer_progress(&a, "channel_answered"),
    )
    .await;

    // DTMF sent to a channel whose far side echoes it comes back as ChannelDtmfReceived
    let d1 = format!("{p}-d1");
    let d2 = format!("{p}-d2");
    if s.call(
        "channels.originate",
        ch.originate("Local/echo@ari-test")
            .app(&app)
            .channel_id(&d1)
            .other_channel_id(&d2),
    )
    .await
    .is_some()
    {
        s.channels.extend([d1.clone(), d2.clone()]);
        s.stasis_started(&d1).await;
        s.call(
            "channels.sendDTMF",
            ch.send_dtmf(&d1).dtmf("45").between(100).duration(120),
        )
        .await;
        s.wait_type("ChannelDtmfReceived", Duration::from_secs(3), |v| {
            v["channel"]["id"] == d1.as_str()
        })
        .await;
        let _ = ch.hangup(&d1).await;
    }

    // create + dial
    let created = format!("{p}-created");
    if s.call(
        "channels.create",
        ch.create("Local/answer@ari-test", &app)
            .channel_id(&created)
            .variables([("CONF_CREATED", json!("1"))]),
    )
    .await
    .is_some()
    {
        s.channels.push(created.clone());
        s.stasis_started(&created).await;
        s.call("channels.dial", ch.dial(&created).timeout(5)).await;
        s.wait_type("Dial", Duration::from_secs(3), |v| {
            v["peer"]["id"] == created.as_str() && v["dialstatus"] == "ANSWER"
        })
        .await;
        s.call(
            "channels.hangup",
            ch.hangup(&created).reason(HangupReason::Normal),
        )
        .await;
    }

    // originate with id + continue in the dialplan (StasisEnd)
    let cont = format!("{p}-cont");
    if s.call(
        "channels.originateWithId",
        ch.originate_with_id(&cont, "Local/answer@ari-test")
            .app(&app)
            .app_args("a,b")
            .variables([("CONF_ORIG", json!("yes"))]),
    )
    .await
    .is_some()
    {
        s.channels.push(cont.clone());
        s.stasis_started(&cont).await;
        s.call(
            "channels.continueInDialplan",
            ch.continue_in_dialplan(&cont)
                .context("ari-test")
                .extension("hangup")
                .priority(1),
        )
        .await;
        s.wait_type("StasisEnd", Duration::from_secs(3), |v| {
            v["channel"]["id"] == cont.as_str()
        })
        .await;
    }

    // move to another app (StasisEnd, StasisStart there), and to a missing one (ApplicationMoveFailed)
    let other_app = format!("{p}-other");
    let other_ws = open_socket(&s.ws_url(&other_app), "other", s.frames.clone()).await;
    let mv = format!("{p}-move");
    if s.call_into_app("answer", &mv).await {
        s.call(
            "channels.move",
            ch.move_to_app(&mv, &other_app).app_args("moved"),
        )
        .await;
        s.wait_type("StasisStart", Duration::from_secs(3), |v| {
            v["channel"]["id"] == mv.as_str() && v["application"] == other_app.as_str()
        })
        .await;
        let _ = ch.hangup(&mv).await;
    }
    let mv2 = format!("{p}-move2");
    if s.call_into_app("answer", &mv2).await {
        let _ = ch.move_to_app(&mv2, format!("{p}-no-such-app")).await;
        s.wait_type("ApplicationMoveFailed", Duration::from_secs(2), |_| true)
            .await;
        let _ = ch.hangup(&mv2).await;
    }
    // a second socket for the same app takes it over: ApplicationReplaced on the first
    let dup_ws = open_socket(&s.ws_url(&other_app), "other-dup", s.frames.clone()).await;
    s.wait_type("ApplicationReplaced", Duration::from_secs(2), |v| {
        v["application"] == other_app.as_str()
    })
    .await;
    drop(dup_ws);
    drop(other_ws);

    // external media (UnicastRTP): it has RTP statistics
    let em = format!("{p}-em");
    if let Some(chan) = s
        .call(
            "channels.externalMedia",
            ch.external_media(&app, "ulaw")
                .channel_id(&em)
                .external_host("127.0.0.1:40000")
                .encapsulation(ExternalMediaEncapsulation::Rtp)
                .transport(ExternalMediaTransport::Udp),
        )
        .await
    {
        s.channels.push(chan.id.clone());
        s.check(chan.id == em, format!("external media id {:?}", chan.id));
        let _ = ch.hangup(&em).await;
    }

    // hold and talk detection on a channel whose far side sends a 1004 Hz tone
    let echo = format!("{p}-tone");
    if s.call_into_app("tone", &echo).await {
        let is_echo = |v: &Value| v["channel"]["id"] == echo.as_str();
        let _ = ch.hold(&echo).await;
        s.wait_type("ChannelHold", Duration::from_secs(1), is_echo)
            .await;
        let _ = ch.unhold(&echo).await;
        s.wait_type("ChannelUnhold", Duration::from_secs(1), is_echo)
            .await;
        let talk = ch
            .set_channel_var(&echo, "TALK_DETECT(set)")
            .value("300")
            .await;
        s.check(talk.is_ok(), format!("TALK_DETECT(set): {talk:?}"));
        s.wait_type("ChannelTalkingStarted", Duration::from_secs(3), is_echo)
            .await;
        s.wait_type("ChannelTalkingFinished", Duration::from_secs(3), is_echo)
            .await;
        let _ = ch.hangup(&echo).await;
    }

    s.call("channels.hangup", ch.hangup(&a).reason_code("16"))
        .await;
    s.wait_type("ChannelDestroyed", Duration::from_secs(3), |v| {
        v["channel"]["id"] == a.as_str()
    })
    .await;
}

async fn recording_ops(s: &mut Suite) {
    let c = s.client.clone();
    let ch = c.channels();
    let rec = c.recordings();
    let p = s.prefix.clone();
    let t = format!("{p}-rec");
    if !s.call_into_app("tone", &t).await {
        s.check(false, "recording channel never entered the app");
        return;
    }
    let name = format!("{p}-r1");
    s.stored.push(name.clone());
    if s.call(
        "channels.record",
        ch.record(&t, &name, "wav")
            .max_duration_seconds(10)
            .if_exists(RecordIfExists::Overwrite)
            .beep(false),
    )
    .await
    .is_some()
    {
        s.wait_type("RecordingStarted", Duration::from_secs(3), |v| {
            v["recording"]["name"] == name.as_str()
        })
        .await;
        s.get(
            "recordings.getLive",
            &format!("recordings/live/{name}"),
            rec.get_live(&name),
        )
        .await;
        s.call("recordings.pause", rec.pause(&name)).await;
        s.call("recordings.unpause", rec.unpause(&name)).await;
        s.call("recordings.mute", rec.mute(&name)).await;
        s.call("recordings.unmute", rec.unmute(&name)).await;
        tokio::time::sleep(Duration::from_millis(1200)).await;
        s.call("recordings.stop", rec.stop(&name)).await;
        s.wait_type("RecordingFinished", Duration::from_secs(3), |v| {
            v["recording"]["name"] == name.as_str()
        })
        .await;
    }
    s.get(
        "recordings.listStored",
        "recordings/stored",
        rec.list_stored(),
    )
    .await;
    s.get(
        "recordings.getStored",
        &format!("recordings/stored/{name}"),
        rec.get_stored(&name),
    )
    .await;
    if let Some(bytes) = s
        .call("recordings.getStoredFile", rec.get_stored_file(&name))
        .await
    {
        s.check(
            bytes.starts_with(b"RIFF"),
            format!("stored file is not a wav ({} bytes)", bytes.len()),
        );
    }
    let copy = format!("{p}-r1-copy");
    s.stored.push(copy.clone());
    s.call("recordings.copyStored", rec.copy_stored(&name, &copy))
        .await;
    s.call("recordings.deleteStored", rec.delete_stored(&copy))
        .await;

    // a recording cancelled while it runs
    let cancelled = format!("{p}-r2");
    s.stored.push(cancelled.clone());
    if s.call(
        "channels.record",
        ch.record(&t, &cancelled, "gsm")
            .max_silence_seconds(5)
            .if_exists(RecordIfExists::Overwrite),
    )
    .await
    .is_some()
    {
        s.wait_type("RecordingStarted", Duration::from_secs(3), |v| {
            v["recording"]["name"] == cancelled.as_str()
        })
        .await;
        s.call("recordings.cancel", rec.cancel(&cancelled)).await;
    }
    // a recording whose file name is taken by a folder: RecordingFailed
    let blocker = format!("{p}-rf/z.wav/q");
    s.stored.push(blocker.clone());
    if ch
        .record(&t, &blocker, "wav")
        .max_duration_seconds(1)
        .if_exists(RecordIfExists::Overwrite)
        .await
        .is_ok()
    {
        s.wait_type("RecordingFinished", Duration::from_secs(3), |v| {
            v["recording"]["name"] == blocker.as_str()
        })
        .await;
        let failing = format!("{p}-rf/z");
        if ch
            .record(&t, &failing, "wav")
            .max_duration_seconds(1)
            .await
            .is_ok()
        {
            s.wait_event(Duration::from_secs(3), |v| {
                (v["type"] == "RecordingFailed" || v["type"] == "RecordingFinished")
                    && v["recording"]["name"] == failing.as_str()
            })
            .await;
        }
    }
    let _ = ch.hangup(&t).await;
}

async fn bridge_ops(s: &mut Suite) {
    let c = s.client.clone();
    let br = c.bridges();
    let p = s.prefix.clone();
    let b1 = format!("{p}-b1");
    let x = format!("{p}-bx");
    let y = format!("{p}-by");
    let joined = s.call_into_app("tone", &x).await & s.call_into_app("answer", &y).await;
    s.check(joined, "bridge channels never entered the app");
    if let Some(b) = s
        .call(
            "bridges.createWithId",
            br.create_with_id(&b1).kind("mixing").name("conformance"),
        )
        .await
    {
        s.bridges.push(b.id.clone());
    }
    if let Some(b) = s
        .call(
            "bridges.create",
            br.create()
                .kind("holding")
                .name("conformance-2")
                .variables([("CONF_B", json!("1"))]),
        )
        .await
    {
        s.bridges.push(b.id.clone());
        s.call("bridges.destroy", br.destroy(&b.id)).await;
        s.wait_type("BridgeDestroyed", Duration::from_secs(2), |v| {
            v["bridge"]["id"] == b.id.as_str()
        })
        .await;
    }
    s.get("bridges.list", "bridges", br.list()).await;
    s.call(
        "bridges.addChannel",
        br.add_channel(&b1, [x.as_str(), y.as_str()])
            .role("participant")
            .absorb_dtmf(false)
            .mute(false),
    )
    .await;
    s.wait_type("ChannelEnteredBridge", Duration::from_secs(2), |v| {
        v["channel"]["id"] == y.as_str()
    })
    .await;
    s.get("bridges.get", &format!("bridges/{b1}"), br.get(&b1))
        .await;
    s.call(
        "bridges.setBridgeVar",
        br.set_bridge_var(&b1, "CONF_BV").value("bv"),
    )
    .await;
    s.get(
        "bridges.getBridgeVar",
        &format!("bridges/{b1}/variable?variable=CONF_BV"),
        br.get_bridge_var(&b1, "CONF_BV"),
    )
    .await;
    s.call(
        "bridges.setBridgeVars",
        br.set_bridge_vars(&b1, [("CONF_B1", json!("1")), ("CONF_B2", json!("2"))]),
    )
    .await;
    s.get(
        "bridges.getBridgeVars",
        &format!("bridges/{b1}/variables?variables=CONF_B1,CONF_B2"),
        br.get_bridge_vars(&b1, ["CONF_B1", "CONF_B2"]),
    )
    .await;
    s.call("bridges.setVideoSource", br.set_video_source(&b1, &x))
        .await;
    s.call("bridges.clearVideoSource", br.clear_video_source(&b1))
        .await;
    s.call("bridges.startMoh", br.start_moh(&b1).moh_class("default"))
        .await;
    s.call("bridges.stopMoh", br.stop_moh(&b1)).await;
    if let Some(pb) = s
        .call("bridges.play", br.play(&b1, "sound:beep").lang("en"))
        .await
    {
        s.wait_type("PlaybackFinished", Duration::from_secs(3), |v| {
            v["playback"]["id"] == pb.id.as_str()
        })
        .await;
    }
    let bpb = format!("{p}-bpb");
    if s.call(
        "bridges.playWithId",
        br.play_with_id(&b1, &bpb, "sound:hello-world"),
    )
    .await
    .is_some()
    {
        let _ = c.playbacks().stop(&bpb).await;
    }
    let brec = format!("{p}-brec");
    s.stored.push(brec.clone());
    if s.call(
        "bridges.record",
        br.record(&b1, &brec, "wav")
            .max_duration_seconds(1)
            .if_exists(RecordIfExists::Overwrite),
    )
    .await
    .is_some()
    {
        s.wait_type("RecordingFinished", Duration::from_secs(4), |v| {
            v["recording"]["name"] == brec.as_str()
        })
        .await;
    }
    s.call("bridges.removeChannel", br.remove_channel(&b1, y.as_str()))
        .await;
    s.wait_type("ChannelLeftBridge", Duration::from_secs(2), |v| {
        v["channel"]["id"] == y.as_str()
    })
    .await;
    s.call("bridges.destroy", br.destroy(&b1)).await;
    let _ = c.channels().hangup(&x).await;
    let _ = c.channels().hangup(&y).await;
}

async fn misc_ops(s: &mut Suite, main_ws: &tokio::sync::mpsc::UnboundedSender<String>) {
    let c = s.client.clone();
    let app = s.app.clone();
    let p = s.prefix.clone();

    // device states (the app is subscribed to all: subscribeAll)
    let ds = c.device_states();
    let dev = format!("Stasis:{p}-dev");
    let _ = c
        .applications()
        .subscribe(&app, format!("deviceState:{dev}").as_str())
        .await;
    s.call(
        "deviceStates.update",
        ds.update(&dev, UpdateDeviceState::Inuse),
    )
    .await;
    s.wait_type("DeviceStateChanged", Duration::from_secs(2), |v| {
        v["device_state"]["name"] == dev.as_str()
    })
    .await;
    s.get("deviceStates.list", "deviceStates", ds.list()).await;
    s.get(
        "deviceStates.get",
        &format!(
            "deviceStates/{}",
            utf8_percent_encode(&dev, NON_ALPHANUMERIC)
        ),
        ds.get(&dev),
    )
    .await;
    s.call("deviceStates.delete", ds.delete(&dev)).await;

    // user event with a channel source (ChannelUserevent)
    let u = format!("{p}-u");
    if s.call_into_app("answer", &u).await {
        s.call(
            "events.userEvent",
            c.events_api()
                .user_event("ConformanceEvent", &app)
                .source(format!("channel:{u}"))
                .variables([("k", json!("v"))]),
        )
        .await;
        s.wait_type("ChannelUserevent", Duration::from_secs(2), |v| {
            v["eventname"] == "ConformanceEvent"
        })
        .await;
        // StasisBroadcast(): a Local channel whose ;1 half runs `broadcast-<app>` is offered
        // to our app only (CallBroadcast); claiming it puts it into the app (CallClaimed,
        // StasisStart). The claim of a channel that was not offered is refused first.
        s.expect_err(
            "events.claimChannel",
            &[ErrorKind::NotFound, ErrorKind::Conflict, ErrorKind::BadRequest, ErrorKind::PreconditionFailed, ErrorKind::Server],
            "only a channel offered by StasisBroadcast() can be claimed (extension broadcast-<app> in [ari-test]; 501 if res_stasis_broadcast is not loaded)",
            c.events_api().claim_channel(&u, &app),
        )
        .await;
        let bc = format!("{p}-bcast");
        let made = c
            .channels()
            .originate_with_id(&bc, "Local/answer@ari-test")
            .context("ari-test")
            .extension(format!("broadcast-{app}"))
            .priority(1)
            .await;
        s.channels.push(bc.clone());
        let offered = made.is_ok()
            && s.wait_type("CallBroadcast", Duration::from_secs(3), |v| {
                v["channel"]["id"] == bc.as_str()
            })
            .await
            .is_some();
        if offered {
            s.call(
                "events.claimChannel",
                c.events_api().claim_channel(&bc, &app),
            )
            .await;
            s.wait_type("CallClaimed", Duration::from_secs(2), |v| {
                v["channel"]["id"] == bc.as_str()
            })
            .await;
            s.stasis_started(&bc).await;
        }
        let _ = c.channels().hangup(&bc).await;
        let _ = c.channels().hangup(&u).await;
    }

    // REST over the websocket: RESTResponse
    let request = json!({"type": "RESTRequest", "transaction_id": format!("{p}-t"), "request_id": "r1", "method": "GET", "uri": "asterisk/ping"});
    let _ = main_ws.send(request.to_string());
    s.wait_type("RESTResponse", Duration::from_secs(2), |_| true)
        .await;

    // sounds
    let sounds = c.sounds();
    s.get(
        "sounds.list",
        "sounds?lang=en&format=gsm",
        sounds.list().lang("en").format("gsm"),
    )
    .await;
    s.get(
        "sounds.get",
        "sounds/hello-world",
        sounds.get("hello-world"),
    )
    .await;

    // endpoints (the PJSIP ones: sip_ops)
    let ep = c.endpoints();
    s.get("endpoints.list", "endpoints", ep.list()).await;

    // mailboxes: the Debian build has no res_ari_mailboxes (the whole resource is 404)
    let mb = c.mailboxes();
    let no_mb = "this Debian build ships no res_ari_mailboxes: /ari/mailboxes is 404";
    let kinds = [ErrorKind::NotFound];
    s.expect_err("mailboxes.list", &kinds, no_mb, mb.list())
        .await;
    s.expect_err("mailboxes.get", &kinds, no_mb, mb.get("1000@default"))
        .await;
    s.expect_err(
        "mailboxes.update",
        &kinds,
        no_mb,
        mb.update("1000@default", 1, 2),
    )
    .await;
    s.expect_err("mailboxes.delete", &kinds, no_mb, mb.delete("1000@default"))
        .await;
}

fn tuples(fields: &[(&str, String)]) -> Vec<ConfigTuple> {
    fields
        .iter()
        .map(|(k, v)| ConfigTuple {
            attribute: (*k).into(),
            value: v.clone(),
        })
        .collect()
}

/// PJSIP on 127.0.0.1: the suite's own SIP user agent (tests/sip) behind an endpoint and an
/// AOR it creates over ARI dynamic configuration (sorcery.conf keeps them in memory).
/// Without res_pjsip (an old sandbox config) the operations get their documented errors.
async fn sip_ops(s: &mut Suite) {
    let c = s.client.clone();
    let a = c.asterisk();
    let ep = c.endpoints();
    let ch = c.channels();
    let app = s.app.clone();
    let p = s.prefix.clone();
    let id = format!("{p}-sip");

    // the transport from pjsip.conf tells where Asterisk listens for SIP
    let transport = s
        .get(
            "asterisk.getObject",
            "asterisk/config/dynamic/res_pjsip/transport/transport-udp",
            a.get_object("res_pjsip", "transport", "transport-udp"),
        )
        .await;
    let sip_addr: Option<std::net::SocketAddr> = transport.as_ref().and_then(|fields| {
        fields
            .iter()
            .find(|t| t.attribute == "bind")
            .and_then(|t| t.value.parse().ok())
    });
    let Some(sip_addr) = sip_addr.filter(|a| a.ip().is_loopback()) else {
        no_sip(s, &id).await;
        return;
    };
    let ua = match sip::Ua::bind(&id, sip_addr).await {
        Ok(ua) => ua,
        Err(e) => {
            s.check(false, format!("SIP agent: cannot bind 127.0.0.1: {e}"));
            return;
        }
    };
    ua.deaf.store(true, std::sync::atomic::Ordering::Relaxed);
    // AOR with a static contact (our agent) qualified every second, then the endpoint
    s.call(
        "asterisk.updateObject",
        a.update_object("res_pjsip", "aor", &id).fields(tuples(&[
            ("contact", format!("sip:{id}@127.0.0.1:{}", ua.port)),
            ("qualify_frequency", "1".into()),
            ("qualify_timeout", "1.0".into()),
        ])),
    )
    .await;
    let made = s
        .call(
            "asterisk.updateObject",
            a.update_object("res_pjsip", "endpoint", &id)
                .fields(tuples(&[
                    ("transport", "transport-udp".into()),
                    ("aors", id.clone()),
                    ("context", "ari-sip".into()),
                    ("message_context", "ari-sip-messages".into()),
                    ("disallow", "all".into()),
                    ("allow", "ulaw".into()),
                    ("direct_media", "no".into()),
                    // RTP on 127.0.0.1 only, like everything else
                    ("media_address", "127.0.0.1".into()),
                    ("bind_rtp_to_media_address", "yes".into()),
                    ("rtp_symmetric", "yes".into()),
                ])),
        )
        .await;
    if made.is_none() {
        s.check(false, "PJSIP endpoint could not be created over ARI");
        no_sip(s, &id).await;
        return;
    }
    s.get(
        "asterisk.getObject",
        &format!("asterisk/config/dynamic/res_pjsip/endpoint/{id}"),
        a.get_object("res_pjsip", "endpoint", &id),
    )
    .await;
    // subscribeAll covers endpoint state; TextMessageReceived needs the endpoint itself
    let _ = c
        .applications()
        .subscribe(&app, format!("endpoint:PJSIP/{id}").as_str())
        .await;
    let is_ours = |v: &Value| v["endpoint"]["resource"] == id.as_str();
    // the agent ignores the first qualify OPTIONS: contact Unreachable, endpoint offline;
    // then it answers: Reachable, and the endpoint comes online (EndpointStateChange)
    s.wait_type("ContactStatusChange", Duration::from_secs(4), |v| {
        is_ours(v) && v["contact_info"]["contact_status"] == "Unreachable"
    })
    .await;
    ua.deaf.store(false, std::sync::atomic::Ordering::Relaxed);
    s.wait_type("PeerStatusChange", Duration::from_secs(2), is_ours)
        .await;
    s.wait_type("EndpointStateChange", Duration::from_secs(4), |v| {
        is_ours(v) && v["endpoint"]["state"] == "online"
    })
    .await;
    s.get(
        "endpoints.listByTech",
        "endpoints/PJSIP",
        ep.list_by_tech("PJSIP"),
    )
    .await;
    s.get(
        "endpoints.get",
        &format!("endpoints/PJSIP/{id}"),
        ep.get("PJSIP", &id),
    )
    .await;

    // messages and out-of-dialog REFERs from Asterisk to the agent
    s.call(
        "endpoints.sendMessage",
        ep.send_message(format!("pjsip:{id}"), "sip:conformance@127.0.0.1")
            .body("hello from ARI")
            .variables([("X-Conformance", json!("1"))]),
    )
    .await;
    s.call(
        "endpoints.sendMessageToEndpoint",
        ep.send_message_to_endpoint("PJSIP", &id, "sip:conformance@127.0.0.1")
            .body("hello again"),
    )
    .await;
    let got = ua
        .wait_request("MESSAGE", Duration::from_secs(3), |m| {
            m.body.contains("hello from ARI")
        })
        .await;
    s.check(got.is_some(), "the SIP agent received no MESSAGE from ARI");
    s.call(
        "endpoints.refer",
        ep.refer(
            format!("pjsip:{id}"),
            "sip:conformance@127.0.0.1",
            "sip:bob@127.0.0.1",
        ),
    )
    .await;
    s.call(
        "endpoints.referToEndpoint",
        ep.refer_to_endpoint(
            "PJSIP",
            &id,
            "sip:conformance@127.0.0.1",
            "sip:bob@127.0.0.1",
        ),
    )
    .await;

    // a MESSAGE from the agent: TextMessageReceived
    // (Stasis routes a MESSAGE by its To user: the endpoint the app subscribed to)
    let status = ua.message(&id, "hello from SIP").await;
    s.check(
        status.is_some_and(|st| (200..300).contains(&st)),
        format!("MESSAGE to Asterisk answered {status:?}"),
    );
    s.wait_type("TextMessageReceived", Duration::from_secs(2), |v| {
        v["message"]["body"] == "hello from SIP"
    })
    .await;

    let sip_channel = |v: &Value| {
        v["channel"]["name"]
            .as_str()
            .is_some_and(|n| n.starts_with(&format!("PJSIP/{id}-")))
    };
    // call 1, ringing in the app: redirect (302 to the agent)
    let mut call = ua.invite(&app).await;
    let started = s
        .wait_event(Duration::from_secs(4), |v| {
            v["type"] == "StasisStart" && sip_channel(v)
        })
        .await;
    if let Some(chan) = started.as_ref().and_then(|v| v["channel"]["id"].as_str()) {
        let chan = chan.to_string();
        s.channels.push(chan.clone());
        s.call(
            "channels.redirect",
            ch.redirect(&chan, format!("PJSIP/sip:bob@127.0.0.1:{}", ua.port)),
        )
        .await;
        let status = ua.wait_final(&mut call, Duration::from_secs(3)).await;
        s.check(
            status == Some(302),
            format!("redirect: the agent got {status:?}, not 302"),
        );
    } else {
        s.check(false, "SIP call 1 never entered the app");
    }

    // call 2: answered by ARI; RTP both ways, hold/unhold by re-INVITE, REFER handed to ARI
    let mut call = ua.invite(&app).await;
    let started = s
        .wait_event(Duration::from_secs(4), |v| {
            v["type"] == "StasisStart"
                && sip_channel(v)
                && v["channel"]["id"]
                    != started
                        .as_ref()
                        .map_or(Value::Null, |f| f["channel"]["id"].clone())
        })
        .await;
    let Some(chan) = started
        .as_ref()
        .and_then(|v| v["channel"]["id"].as_str())
        .map(String::from)
    else {
        s.check(false, "SIP call 2 never entered the app");
        cleanup_sip(s, &id).await;
        return;
    };
    s.channels.push(chan.clone());
    s.call("channels.answer", ch.answer(&chan)).await;
    let status = ua.wait_final(&mut call, Duration::from_secs(3)).await;
    s.check(
        status == Some(200),
        format!("answer: the agent got {status:?}"),
    );
    let talk = ch
        .set_channel_var(&chan, "TALK_DETECT(set)")
        .value("300")
        .await;
    s.check(talk.is_ok(), format!("TALK_DETECT(set): {talk:?}"));
    ua.send_rtp(&call, 40, true).await;
    ua.send_rtp(&call, 30, false).await;
    s.get(
        "channels.rtpstatistics",
        &format!("channels/{chan}/rtp_statistics"),
        ch.rtp_statistics(&chan),
    )
    .await;
    let is_chan = |v: &Value| v["channel"]["id"] == chan.as_str();
    ua.reinvite(&mut call, "sendonly").await;
    s.wait_type("ChannelHold", Duration::from_secs(2), is_chan)
        .await;
    ua.reinvite(&mut call, "sendrecv").await;
    s.wait_type("ChannelUnhold", Duration::from_secs(2), is_chan)
        .await;
    let handled = ch
        .set_channel_var(&chan, "PJSIP_TRANSFER_HANDLING()")
        .value("ari-only")
        .await;
    s.check(
        handled.is_ok(),
        format!("PJSIP_TRANSFER_HANDLING()=ari-only: {handled:?}"),
    );
    let refer = ua
        .in_dialog(
            &mut call,
            "REFER",
            &format!("Refer-To: <sip:bob@127.0.0.1>\r\nReferred-By: <sip:{id}@127.0.0.1>\r\n"),
        )
        .await;
    s.check(
        refer == Some(202),
        format!("REFER answered {refer:?}, not 202"),
    );
    if s.wait_type("ChannelTransfer", Duration::from_secs(3), |v| {
        v["refer_to"]["requested_destination"].is_object()
    })
    .await
    .is_some()
    {
        s.call(
            "channels.transfer_progress",
            ch.transfer_progress(&chan, "channel_answered"),
        )
        .await;
    }
    ua.in_dialog(&mut call, "BYE", "").await;
    s.wait_type("ChannelDestroyed", Duration::from_secs(3), is_chan)
        .await;

    // call 3 in a Stasis bridge with a Local channel: a REFER that Asterisk handles itself
    // (core) is a blind transfer of the bridge to sip:<app>, i.e. [ari-sip] Stasis(<app>)
    let mut call = ua.invite(&app).await;
    let third = s
        .wait_event(Duration::from_secs(4), |v| {
            v["type"] == "StasisStart"
                && sip_channel(v)
                && v["channel"]["id"] != chan.as_str()
                && !s.channels.iter().any(|c| v["channel"]["id"] == c.as_str())
        })
        .await
        .and_then(|v| v["channel"]["id"].as_str().map(String::from));
    let peer = format!("{p}-xfer");
    let bridge = format!("{p}-xbridge");
    if let Some(third) = third {
        s.channels.push(third.clone());
        let _ = ch.answer(&third).await;
        ua.wait_final(&mut call, Duration::from_secs(3)).await;
        if s.call_into_app("answer", &peer).await
            && c.bridges()
                .create_with_id(&bridge)
                .kind("mixing")
                .await
                .is_ok()
        {
            s.bridges.push(bridge.clone());
            let _ = c
                .bridges()
                .add_channel(&bridge, [third.as_str(), peer.as_str()])
                .await;
            s.wait_type("ChannelEnteredBridge", Duration::from_secs(2), |v| {
                v["channel"]["id"] == third.as_str()
            })
            .await;
            let refer = ua
                .in_dialog(
                    &mut call,
                    "REFER",
                    &format!(
                        "Refer-To: <sip:{app}@127.0.0.1>\r\nReferred-By: <sip:{id}@127.0.0.1>\r\n"
                    ),
                )
                .await;
            s.check(
                refer == Some(202),
                format!("blind REFER answered {refer:?}, not 202"),
            );
            s.wait_type("BridgeBlindTransfer", Duration::from_secs(3), |_| true)
                .await;
        }
        ua.in_dialog(&mut call, "BYE", "").await;
        let _ = ch.hangup(&third).await;
    } else {
        s.check(false, "SIP call 3 never entered the app");
    }
    let _ = ch.hangup(&peer).await;
    let _ = c.bridges().destroy(&bridge).await;

    // the agent stops answering OPTIONS: contact unreachable, endpoint offline
    ua.deaf.store(true, std::sync::atomic::Ordering::Relaxed);
    s.wait_type("EndpointStateChange", Duration::from_secs(5), |v| {
        is_ours(v) && v["endpoint"]["state"] == "offline"
    })
    .await;
    cleanup_sip(s, &id).await;
}

/// Deletes the suite's PJSIP endpoint and AOR.
async fn cleanup_sip(s: &mut Suite, id: &str) {
    let a = s.client.asterisk();
    s.call(
        "asterisk.deleteObject",
        a.delete_object("res_pjsip", "endpoint", id),
    )
    .await;
    s.call(
        "asterisk.deleteObject",
        a.delete_object("res_pjsip", "aor", id),
    )
    .await;
}

/// No PJSIP here: every SIP-only operation is called anyway and must give its documented error.
async fn no_sip(s: &mut Suite, id: &str) {
    let c = s.client.clone();
    let a = c.asterisk();
    let ep = c.endpoints();
    let no_sorcery = "dynamic configuration needs res_pjsip (sorcery): this sandbox runs no SIP (old asterisk/conf?)";
    let kinds = [
        ErrorKind::NotFound,
        ErrorKind::BadRequest,
        ErrorKind::Forbidden,
        ErrorKind::Server,
    ];
    s.expect_err(
        "asterisk.getObject",
        &kinds,
        no_sorcery,
        a.get_object("res_pjsip", "endpoint", id),
    )
    .await;
    s.expect_err(
        "asterisk.updateObject",
        &kinds,
        no_sorcery,
        a.update_object("res_pjsip", "endpoint", id)
            .fields(tuples(&[("allow", "ulaw".into())])),
    )
    .await;
    s.expect_err(
        "asterisk.deleteObject",
        &kinds,
        no_sorcery,
        a.delete_object("res_pjsip", "endpoint", id),
    )
    .await;
    let nf = [
        ErrorKind::NotFound,
        ErrorKind::BadRequest,
        ErrorKind::Unprocessable,
    ];
    let no_sip =
        "no endpoint exists: Local is not an endpoint technology and this sandbox runs no SIP";
    s.expect_err(
        "endpoints.listByTech",
        &nf,
        no_sip,
        ep.list_by_tech("PJSIP"),
    )
    .await;
    s.expect_err("endpoints.get", &nf, no_sip, ep.get("PJSIP", id))
        .await;
    let to = format!("pjsip:{id}");
    s.expect_err(
        "endpoints.sendMessage",
        &nf,
        no_sip,
        ep.send_message(to.as_str(), "sip:conformance")
            .body("hello"),
    )
    .await;
    s.expect_err(
        "endpoints.sendMessageToEndpoint",
        &nf,
        no_sip,
        ep.send_message_to_endpoint("PJSIP", id, "sip:conformance")
            .body("hello"),
    )
    .await;
    s.expect_err(
        "endpoints.refer",
        &nf,
        no_sip,
        ep.refer(to.as_str(), "sip:conformance", "sip:bob"),
    )
    .await;
    s.expect_err(
        "endpoints.referToEndpoint",
        &nf,
        no_sip,
        ep.refer_to_endpoint("PJSIP", id, "sip:conformance", "sip:bob"),
    )
    .await;
}

/// Ids with `/ + ? # %`, a space and non-ASCII reach Asterisk intact; look-alike ids do not
/// reach another object.
async fn hostile_ids(s: &mut Suite) {
    let c = s.client.clone();
    let ch = c.channels();
    let app = s.app.clone();
    let p = s.prefix.clone();

    let victim = format!("{p}-victim");
    s.call_into_app("answer", &victim).await;
    let victim_bridge = format!("{p}-vbridge");
    let _ = c.bridges().create_with_id(&victim_bridge).await;
    s.bridges.push(victim_bridge.clone());

    // channel
    let hc = hostile(&p, "chan");
    let made = ch
        .originate_with_id(&hc, "Local/answer@ari-test")
        .app(&app)
        .await;
    s.channels.push(hc.clone());
    let entered = made.is_ok() && s.stasis_started(&hc).await;
    let got = ch.get(&hc).await.map(|x| x.id);
    let intact = made.as_ref().is_ok_and(|x| x.id == hc)
        && entered
        && got.as_ref().is_ok_and(|id| *id == hc);
    s.hostile.push(json!({"object": "channel", "id": hc, "intact": intact, "originate": format!("{:?}", made.map(|x| x.id)), "get": format!("{got:?}")}));
    s.check(
        intact,
        format!("hostile channel id {hc:?} did not round-trip"),
    );

    // bridge
    let hb = hostile(&p, "bridge");
    let made = c.bridges().create_with_id(&hb).await;
    s.bridges.push(hb.clone());
    let got = c.bridges().get(&hb).await.map(|x| x.id);
    let intact = made.as_ref().is_ok_and(|x| x.id == hb) && got.as_ref().is_ok_and(|id| *id == hb);
    s.hostile.push(json!({"object": "bridge", "id": hb, "intact": intact, "create": format!("{:?}", made.map(|x| x.id)), "get": format!("{got:?}")}));
    s.check(
        intact,
        format!("hostile bridge id {hb:?} did not round-trip"),
    );
    let _ = c.bridges().destroy(&hb).await;

    // playback (on the victim channel)
    let hp = hostile(&p, "pb");
    let made = ch.play_with_id(&victim, &hp, "sound:hello-world").await;
    let got = c.playbacks().get(&hp).await.map(|x| x.id);
    let intact = made.as_ref().is_ok_and(|x| x.id == hp) && got.as_ref().is_ok_and(|id| *id == hp);
    s.hostile.push(json!({"object": "playback", "id": hp, "intact": intact, "play": format!("{:?}", made.map(|x| x.id)), "get": format!("{got:?}")}));
    s.check(
        intact,
        format!("hostile playback id {hp:?} did not round-trip"),
    );
    let _ = c.playbacks().stop(&hp).await;

    // recording: a name is also a file name below the spool folder (`/` makes a sub-folder)
    let hr = hostile(&p, "rec");
    s.stored.push(hr.clone());
    let made = ch
        .record(&victim, &hr, "wav")
        .max_duration_seconds(1)
        .if_exists(RecordIfExists::Overwrite)
        .await;
    let live = c.recordings().get_live(&hr).await.map(|x| x.name);
    let _ = c.recordings().stop(&hr).await;
    s.wait_type("RecordingFinished", Duration::from_secs(3), |v| {
        v["recording"]["name"] == hr.as_str()
    })
    .await;
    let stored = c.recordings().get_stored(&hr).await.map(|x| x.name);
    let intact = made.as_ref().is_ok_and(|x| x.name == hr)
        && live.as_ref().is_ok_and(|n| *n == hr)
        && stored.as_ref().is_ok_and(|n| *n == hr);
    s.hostile.push(json!({"object": "recording", "id": hr, "intact": intact, "record": format!("{:?}", made.map(|x| x.name)), "get_live": format!("{live:?}"), "get_stored": format!("{stored:?}")}));
    s.check(
        intact,
        format!("hostile recording name {hr:?} did not round-trip"),
    );

    // look-alikes of the victim's ids must not address it
    let first = victim.chars().next().unwrap();
    let probes = [
        format!("{victim}?"),
        format!("{victim}?x=1"),
        format!("{victim}#"),
        format!("{victim}/"),
        format!("{victim}/."),
        format!("%{:02X}{}", first as u32, &victim[first.len_utf8()..]),
        format!("{victim} "),
        format!("./{victim}"),
        format!("../channels/{victim}"),
    ];
    let mut leaks = Vec::new();
    for probe in &probes {
        if let Ok(x) = ch.get(probe).await {
            leaks.push(format!("GET channel {probe:?} returned channel {:?}", x.id));
        }
        let _ = ch.hangup(probe).await;
        let bprobe = probe.replace(&victim, &victim_bridge);
        if let Ok(x) = c.bridges().get(&bprobe).await {
            leaks.push(format!("GET bridge {bprobe:?} returned bridge {:?}", x.id));
        }
        let _ = c.bridges().destroy(&bprobe).await;
    }
    let victim_alive = ch.get(&victim).await.is_ok();
    let bridge_alive = c.bridges().get(&victim_bridge).await.is_ok();
    if !victim_alive {
        leaks.push("a look-alike hangup hung up the victim channel".into());
    }
    if !bridge_alive {
        leaks.push("a look-alike destroy destroyed the victim bridge".into());
    }
    s.hostile
        .push(json!({"object": "look-alike ids", "probes": probes, "leaks": leaks}));
    s.check(
        leaks.is_empty(),
        format!("look-alike ids reached another object: {leaks:?}"),
    );
    let _ = ch.hangup(&victim).await;
}

async fn cleanup(s: &mut Suite) {
    let c = s.client.clone();
    for id in s.channels.clone() {
        let _ = c.channels().hangup(&id).await;
    }
    for id in s.bridges.clone() {
        let _ = c.bridges().destroy(&id).await;
    }
    for name in s.stored.clone() {
        let _ = c.recordings().delete_stored(&name).await;
    }
}

// ---------------------------------------------------------------------------------------
// Report

/// Event types that no Local channel, bridge or ARI call can provoke here, and why.
const UNPROVOKABLE: &[(&str, &str)] = &[
    ("ApplicationRegistered", "not sent to inbound /ari/events websockets (observed on 22.10.1); Asterisk raises it for outbound websocket connections (ari.conf outbound_websocket), which the sandbox does not configure"),
    ("ApplicationUnregistered", "not sent to inbound /ari/events websockets (observed on 22.10.1); Asterisk raises it for outbound websocket connections, which the sandbox does not configure"),
    ("BridgeMerged", "ARI cannot merge bridges; only features/transfers inside Asterisk do"),
    ("BridgeAttendedTransfer", "needs an attended transfer: a REFER with Replaces from a SIP phone that holds two calls; the suite's SIP agent (tests/sip) makes blind transfers only"),
    ("EndpointStateChange", "not sent on 22.10.1 (observed): the suite's PJSIP endpoint goes offline -> online -> offline (PeerStatusChange/ContactStatusChange carry the new state) and gains/loses channels while the app is subscribed to endpoint:PJSIP/<id> and to all (subscribeAll), yet no EndpointStateChange arrives"),
    ("ChannelToneDetected", "needs TONE_DETECT() on a Stasis channel; in a manual try on 22.10.1 that wedged Asterisk (a later addChannel never answered, then GET /applications hung until a restart), so the suite does not risk it"),
];

fn build_report(s: &mut Suite, all_events: &BTreeSet<String>, elapsed: Duration) -> Value {
    let frames = s.frames.lock().unwrap().clone();
    let mut stats: BTreeMap<String, EventStats> = BTreeMap::new();
    let mut first_of_type: BTreeMap<String, &Frame> = BTreeMap::new();
    for frame in &frames {
        let kind = frame.value["type"]
            .as_str()
            .unwrap_or("<no type>")
            .to_string();
        first_of_type.entry(kind.clone()).or_insert(frame);
        let st = stats.entry(kind.clone()).or_default();
        st.received += 1;
        match Event::from_json(&frame.text) {
            Err(e) => st.decode_errors.push(e.to_string()),
            Ok(Event::Unknown(_)) => st.unknown += 1,
            Ok(event) => {
                if event.type_name() != kind {
                    st.mismatches
                        .insert(format!("kind() is {:?}", event.type_name()));
                }
                st.typed += 1;
                let again = serde_json::to_value(&event).expect("re-encode event");
                let mut missing = BTreeSet::new();
                diff(&frame.value, &again, "", &mut missing, &mut st.mismatches);
                st.unspecified_fields
                    .extend(missing.into_iter().map(|m| m.replace("[]", "")));
            }
        }
    }

    let covered_events: Vec<&String> = all_events
        .iter()
        .filter(|k| {
            stats
                .get(*k)
                .is_some_and(|st| st.typed == st.received && st.mismatches.is_empty())
        })
        .collect();
    let mut event_rows = serde_json::Map::new();
    for kind in all_events {
        let row = match stats.get(kind) {
            Some(st) if covered_events.contains(&kind) => json!({"status": "ok", "stats": st}),
            Some(st) => json!({"status": "failed", "stats": st}),
            None => match UNPROVOKABLE.iter().find(|(k, _)| k == kind) {
                Some((_, why)) => json!({"status": "not_provokable", "reason": why}),
                None => {
                    json!({"status": "not_seen", "reason": "provoked, but Asterisk sent no such event"})
                }
            },
        };
        event_rows.insert(kind.clone(), row);
    }
    for (kind, st) in &stats {
        if !all_events.contains(kind) {
            event_rows.insert(kind.clone(), json!({"status": "not_in_spec", "stats": st}));
        }
    }

    let mut op_rows = serde_json::Map::new();
    for op in &s.all_ops {
        let row = match s.ops.get(op) {
            Some(outcome) => serde_json::to_value(outcome).unwrap(),
            None => json!({"status": "not_run", "reason": "the suite makes no call of it"}),
        };
        op_rows.insert(op.clone(), row);
    }
    let covered_ops = s
        .ops
        .values()
        .filter(|o| matches!(o, OpOutcome::Ok { .. }))
        .count();
    let expected = s
        .ops
        .values()
        .filter(|o| matches!(o, OpOutcome::ExpectedError { .. }))
        .count();
    for (op, o) in &s.ops {
        if let OpOutcome::Failed { detail } = o {
            s.failures.push(format!("operation {op} failed: {detail}"));
        }
    }
    for (kind, st) in &stats {
        if st.unknown > 0 || !st.decode_errors.is_empty() || !st.mismatches.is_empty() {
            s.failures.push(format!(
                "event {kind}: {} unknown, decode errors {:?}, re-encode differences {:?}",
                st.unknown, st.decode_errors, st.mismatches
            ));
        }
    }

    if let Some(dir) = &s.record {
        let events_dir = dir.join("events");
        let rest_dir = dir.join("rest");
        std::fs::create_dir_all(&events_dir).unwrap();
        std::fs::create_dir_all(&rest_dir).unwrap();
        for (kind, frame) in &first_of_type {
            let pretty = serde_json::to_string_pretty(&frame.value).unwrap();
            std::fs::write(events_dir.join(format!("{kind}.json")), pretty + "\n").unwrap();
        }
        let all: String = frames.iter().map(|f| format!("{}\n", f.text)).collect();
        std::fs::write(dir.join("events.jsonl"), all).unwrap();
        for (op, raw) in &s.responses {
            let pretty = serde_json::to_string_pretty(raw).unwrap();
            std::fs::write(rest_dir.join(format!("{op}.json")), pretty + "\n").unwrap();
        }
        eprintln!(
            "conformance: recorded {} event types, {} frames and {} GET answers under {}",
            first_of_type.len(),
            frames.len(),
            s.responses.len(),
            dir.display()
        );
    }

    json!({
        "asterisk": s.url,
        "seconds": elapsed.as_secs_f64(),
        "operations": {"total": s.all_ops.len(), "covered": covered_ops, "expected_errors": expected, "results": op_rows},
        "events": {"total": all_events.len(), "covered": covered_events.len(), "frames": frames.len(), "results": event_rows},
        "hostile_ids": s.hostile,
        "failures": s.failures,
        "sockets": frames.iter().map(|f| f.socket.clone()).collect::<BTreeSet<_>>(),
    })
}

fn finish(s: &Suite, report: &Value) {
    if let Ok(path) = std::env::var("ARI_CONFORMANCE_REPORT") {
        if !path.is_empty() {
            std::fs::write(&path, serde_json::to_string_pretty(report).unwrap())
                .expect("write the report");
            eprintln!("conformance: report written to {path}");
        }
    }
    println!(
        "conformance report ({:.1} s):",
        report["seconds"].as_f64().unwrap_or(0.0)
    );
    for (op, row) in report["operations"]["results"].as_object().unwrap() {
        let status = row["status"].as_str().unwrap_or("?");
        if status != "ok" {
            let why = row["reason"]
                .as_str()
                .or(row["detail"].as_str())
                .unwrap_or("");
            println!("  operation {op}: {status}: {why}");
        }
    }
    for (kind, row) in report["events"]["results"].as_object().unwrap() {
        let status = row["status"].as_str().unwrap_or("?");
        if status != "ok" {
            let why = row["reason"]
                .as_str()
                .map(String::from)
                .unwrap_or_else(|| row["stats"].to_string());
            println!("  event {kind}: {status}: {why}");
        }
    }
    for f in &s.failures {
        println!("  FAILURE: {f}");
    }
    println!(
        "conformance: {}/{} operations, {}/{} event types",
        report["operations"]["covered"],
        report["operations"]["total"],
        report["events"]["covered"],
        report["events"]["total"]
    );
    assert!(
        s.failures.is_empty(),
        "{} conformance failures (see above)",
        s.failures.len()
    );
}
