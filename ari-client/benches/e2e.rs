//! End-to-end benchmarks of `ari-client` against in-process fake servers, each figure with
//! a baseline measured in the same run. Run with `cargo xtask bench` (or
//! `cargo bench -p ari-client --bench e2e`); see docs/benchmarks.md.
//!
//! Everything runs on 127.0.0.1: one server thread (its own single-threaded runtime) speaks
//! just enough HTTP/1.1 (keep-alive) for `GET /ari/channels/{id}` and `/ari/asterisk/ping`,
//! and accepts the event websocket with `tokio-tungstenite`, then writes pre-encoded
//! websocket frames as fast as the socket takes them.
//!
//! The client-only peak RSS and the bytes per per-channel subscription are measured in a
//! child process (this binary again, with `ARI_BENCH_CHILD` set) so that the server's
//! pre-encoded frames do not count.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ari_client::events::{ChannelDtmfReceived, Event, StasisEnd, StasisStart};
use ari_client::objects::Channel;
use ari_client::Client;
use futures_util::StreamExt as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, Notify};
use tokio_tungstenite::tungstenite::Message;

const EVENTS: usize = 100_000;
const PER_CALL: usize = 11;
const REST_CALLS: usize = 2_000;
const REST_CONCURRENCY: usize = 64;
const CONNECT_RUNS: usize = 50;
const SUBSCRIPTIONS: usize = 4_096;
const RUNS: usize = 5;
/// REST round trips are short and this machine is noisy: more alternating runs.
const REST_RUNS: usize = 9;

// ---------------------------------------------------------------- event frames

fn channel_json(id: &str, n: usize, state: &str) -> String {
    format!(
        r#"{{"id":"{id}","name":"PJSIP/provider-trunk-eu-{n:08x}","state":"{state}","protocol_id":"4a1f9c2e-7d3b-4c1a-9e2f-{n:012x}@10.20.30.40","caller":{{"name":"Customer {n}","number":"+49301234{n:05}"}},"connected":{{"name":"Service Desk","number":"+4930999000"}},"accountcode":"bench","dialplan":{{"context":"from-provider","exten":"+4930999000","priority":3,"app_name":"Stasis","app_data":"bench,x"}},"creationtime":"2026-11-26T13:22:17.520+0000","language":"en"}}"#
    )
}

fn ts(n: usize, step: usize) -> String {
    let ms = (n * 37 + step * 113) % 60_000;
    format!(
        "2026-11-26T13:{:02}:{:02}.{:03}+0000",
        22 + (n / 2000) % 30,
        ms / 1000,
        ms % 1000
    )
}

const TAIL: &str = r#""asterisk_id":"02:fc:00:00:00:01","application":"bench""#;

/// The 11 events of call `n`, in order.
fn call_events(n: usize) -> Vec<String> {
    let id = format!("1764163337.{n}");
    let ring = channel_json(&id, n, "Ring");
    let up = channel_json(&id, n, "Up");
    let pb = format!(
        r#""playback":{{"id":"pb-{n}","media_uri":"sound:hello-world","target_uri":"channel:{id}","language":"en","state":"#
    );
    let mut v = vec![
        format!(
            r#"{{"type":"StasisStart","timestamp":"{}","args":["bench","x"],"channel":{ring},{TAIL}}}"#,
            ts(n, 0)
        ),
        format!(
            r#"{{"type":"ChannelStateChange","timestamp":"{}","channel":{up},{TAIL}}}"#,
            ts(n, 1)
        ),
        format!(
            r#"{{"variable":"BENCH_VAR","value":"value-{n}","type":"ChannelVarset","timestamp":"{}","channel":{up},{TAIL}}}"#,
            ts(n, 2)
        ),
        format!(
            r#"{{"type":"PlaybackStarted","timestamp":"{}",{pb}"playing"}},{TAIL}}}"#,
            ts(n, 3)
        ),
    ];
    for (i, digit) in ["1", "2", "3", "#"].iter().enumerate() {
        v.push(format!(
            r#"{{"type":"ChannelDtmfReceived","timestamp":"{}","digit":"{digit}","duration_ms":100,"channel":{up},{TAIL}}}"#,
            ts(n, 4 + i)
        ));
    }
    v.push(format!(
        r#"{{"type":"PlaybackFinished","timestamp":"{}",{pb}"done"}},{TAIL}}}"#,
        ts(n, 8)
    ));
    v.push(format!(
        r#"{{"cause":16,"soft":true,"type":"ChannelHangupRequest","timestamp":"{}","channel":{up},{TAIL}}}"#,
        ts(n, 9)
    ));
    v.push(format!(
        r#"{{"type":"StasisEnd","timestamp":"{}","channel":{up},{TAIL}}}"#,
        ts(n, 10)
    ));
    debug_assert_eq!(v.len(), PER_CALL);
    v
}

/// Pre-encoded server-to-client websocket text frames (unmasked).
struct Frames {
    bytes: Vec<u8>,
    events: usize,
    calls: usize,
    payload: usize,
}

fn push_frame(out: &mut Vec<u8>, payload: &[u8]) {
    out.push(0x81);
    match payload.len() {
        n if n < 126 => out.push(n as u8),
        n if n <= 0xffff => {
            out.push(126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
}

/// `EVENTS` events (rounded up to whole calls) with `live` calls interleaved: each of
/// `live` slots runs its calls one after the other, and the slots take turns event by event.
fn build_frames(live: usize) -> Frames {
    let calls = EVENTS.div_ceil(PER_CALL);
    let mut slots: Vec<std::collections::VecDeque<String>> =
        (0..live).map(|_| Default::default()).collect();
    let mut next_call = 0;
    let mut bytes = Vec::with_capacity(calls * PER_CALL * 600);
    let (mut events, mut payload) = (0, 0);
    loop {
        let mut any = false;
        for slot in &mut slots {
            if slot.is_empty() && next_call < calls {
                slot.extend(call_events(next_call));
                next_call += 1;
            }
            if let Some(ev) = slot.pop_front() {
                push_frame(&mut bytes, ev.as_bytes());
                events += 1;
                payload += ev.len();
                any = true;
            }
        }
        if !any {
            break;
        }
    }
    Frames {
        bytes,
        events,
        calls,
        payload,
    }
}

// ---------------------------------------------------------------- fake server

/// What the next websocket connection gets: frames to send after `go` fires.
struct Job {
    frames: Arc<Frames>,
    go: Option<oneshot::Receiver<()>>,
}

#[derive(Clone, Default)]
struct Server {
    job: Arc<Mutex<Option<Job>>>,
}

impl Server {
    fn set_job(&self, frames: Arc<Frames>, go: Option<oneshot::Receiver<()>>) {
        *self.job.lock().unwrap() = Some(Job { frames, go });
    }
}

/// Starts the fake server on its own thread; returns `http://127.0.0.1:PORT`.
fn start_server(server: Server) -> String {
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

async fn serve_ws(tcp: TcpStream, server: Server) {
    let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
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
    // keep the connection until the client closes it
    while let Some(Ok(_)) = ws.next().await {}
}

const PING: &str = r#"{"asterisk_id":"02:fc:00:00:00:01","ping":"pong","timestamp":"2026-11-26T13:22:17.521+0000"}"#;

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
        let (status, body) = if path.starts_with("/ari/channels/") {
            ("200 OK", channel.as_str())
        } else if path.starts_with("/ari/asterisk/ping") {
            ("200 OK", PING)
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

// ---------------------------------------------------------------- helpers

fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "MET"
    } else {
        "NOT MET"
    }
}

fn fmt_rate(r: f64) -> String {
    let s = format!("{:.0}", r);
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

// ---------------------------------------------------------------- 1, 2: event path

/// The client with the handlers of the event path: StasisStart installs a per-channel
/// DTMF handler, StasisEnd (which also releases it) counts the call.
fn event_client(url: &str) -> (Client, Arc<AtomicUsize>, Arc<AtomicUsize>, Arc<Notify>) {
    let mut builder = Client::builder(url, "asterisk", "asterisk");
    // for experiments only: the figures use the default (16 dispatch workers)
    if let Some(n) = std::env::var("ARI_BENCH_DISPATCH_WORKERS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        builder = builder.dispatch_workers(n);
    }
    let client = builder.build().unwrap();
    let ended = Arc::new(AtomicUsize::new(0));
    let dtmf = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(Notify::new());
    let d = dtmf.clone();
    client.on_channel_event(move |channel: Channel, _start: StasisStart| {
        let d = d.clone();
        channel.on_event(move |_channel: Channel, _e: ChannelDtmfReceived| {
            d.fetch_add(1, Ordering::Relaxed);
            async {}
        });
        async {}
    });
    (client, ended, dtmf, done)
}

async fn run_ours(url: &str, server: &Server, frames: &Arc<Frames>) -> f64 {
    let (client, ended, dtmf, done) = event_client(url);
    let target = frames.calls;
    let (e, n) = (ended.clone(), done.clone());
    client.on_event(move |_end: StasisEnd| {
        if e.fetch_add(1, Ordering::AcqRel) + 1 == target {
            n.notify_one();
        }
        async {}
    });
    let (go_tx, go_rx) = oneshot::channel();
    server.set_job(frames.clone(), Some(go_rx));
    client.start(["bench"]).await.unwrap();
    let start = Instant::now();
    go_tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(120), done.notified())
        .await
        .expect("every call handled within 120 s");
    let elapsed = start.elapsed().as_secs_f64();
    assert_eq!(
        dtmf.load(Ordering::Relaxed),
        frames.calls * 4,
        "DTMF handlers"
    );
    // the release follows the last handler's return: give it a moment
    let deadline = Instant::now() + Duration::from_secs(5);
    while client.stats().object_handlers != 0 && Instant::now() < deadline {
        tokio::task::yield_now().await;
    }
    assert_eq!(client.stats().object_handlers, 0, "handlers released");
    let stats = client.stats();
    assert_eq!(stats.decode_errors, 0);
    assert_eq!(stats.received as usize, frames.events);
    client.shutdown();
    client.wait().await.unwrap();
    frames.events as f64 / elapsed
}

async fn run_baseline(url: &str, server: &Server, frames: &Arc<Frames>) -> f64 {
    let (go_tx, go_rx) = oneshot::channel();
    server.set_job(frames.clone(), Some(go_rx));
    let ws_url = format!("{}/ari/events?app=bench", url.replacen("http", "ws", 1));
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url).await.unwrap();
    let start = Instant::now();
    go_tx.send(()).unwrap();
    let mut decoded = 0;
    while decoded < frames.events {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => {
                let event = Event::from_json(text.as_str()).unwrap();
                std::hint::black_box(&event);
                decoded += 1;
            }
            Some(Ok(_)) => {}
            other => panic!("baseline socket ended: {other:?}"),
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let _ = ws.close(None).await;
    frames.events as f64 / elapsed
}

// ---------------------------------------------------------------- 3: REST

async fn rest_bench(url: &str) {
    let client = Client::builder(url, "asterisk", "asterisk")
        .build()
        .unwrap();
    let raw = reqwest::Client::builder()
        .tls_backend_preconfigured(
            rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth(),
        )
        .tcp_nodelay(true)
        // the same HTTP client as ours: ClientBuilder's default timeouts (a per-request
        // timeout arms a tokio timer per call, ~8 % of a loopback round trip here)
        .timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let auth = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            "asterisk:asterisk"
        )
    );
    let raw_url = format!("{url}/ari/channels/1764163337.42");
    let raw_get = |raw: reqwest::Client, auth: String, url: String| async move {
        let body = raw
            .get(url)
            .header("authorization", auth)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let ch: ari_client::models::Channel = serde_json::from_slice(&body).unwrap();
        std::hint::black_box(ch);
    };
    // warm up both connections
    for _ in 0..200 {
        client.channels().get("1764163337.42").await.unwrap();
        raw_get(raw.clone(), auth.clone(), raw_url.clone()).await;
    }
    let (mut ours, mut base) = (Vec::new(), Vec::new());
    for _ in 0..REST_RUNS {
        let t = Instant::now();
        for _ in 0..REST_CALLS {
            let ch = client.channels().get("1764163337.42").await.unwrap();
            std::hint::black_box(ch);
        }
        ours.push(REST_CALLS as f64 / t.elapsed().as_secs_f64());
        let t = Instant::now();
        for _ in 0..REST_CALLS {
            raw_get(raw.clone(), auth.clone(), raw_url.clone()).await;
        }
        base.push(REST_CALLS as f64 / t.elapsed().as_secs_f64());
    }
    let (ours, base) = (median(ours), median(base));
    let overhead = base / ours;
    println!(
        "3. REST sequential GET /channels/{{id}} x{REST_CALLS} (median of {REST_RUNS} alternating runs): ours {} calls/s, baseline (raw reqwest + serde_json) {} calls/s, time ratio ours/baseline {:.3} (target <= 1.10: {}), calls/s target >= 20,000: {}",
        fmt_rate(ours),
        fmt_rate(base),
        overhead,
        verdict(overhead <= 1.10),
        verdict(ours >= 20_000.0)
    );
    let (mut ours_c, mut base_c) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let t = Instant::now();
        let tasks: Vec<_> = (0..REST_CONCURRENCY)
            .map(|_| {
                let client = client.clone();
                tokio::spawn(async move {
                    for _ in 0..REST_CALLS / REST_CONCURRENCY {
                        let ch = client.channels().get("1764163337.42").await.unwrap();
                        std::hint::black_box(ch);
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        ours_c.push(REST_CALLS as f64 / t.elapsed().as_secs_f64());
        let t = Instant::now();
        let tasks: Vec<_> = (0..REST_CONCURRENCY)
            .map(|_| {
                let (raw, auth, url) = (raw.clone(), auth.clone(), raw_url.clone());
                tokio::spawn(async move {
                    for _ in 0..REST_CALLS / REST_CONCURRENCY {
                        raw_get(raw.clone(), auth.clone(), url.clone()).await;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        base_c.push(REST_CALLS as f64 / t.elapsed().as_secs_f64());
    }
    let (ours_c, base_c) = (median(ours_c), median(base_c));
    println!(
        "3b. REST {REST_CONCURRENCY} concurrent ({} calls): ours {} calls/s, baseline {} calls/s, time ratio {:.3}",
        REST_CALLS / REST_CONCURRENCY * REST_CONCURRENCY,
        fmt_rate(ours_c),
        fmt_rate(base_c),
        base_c / ours_c
    );
}

// ---------------------------------------------------------------- 4: connect

async fn connect_bench(url: &str) {
    let mut times = Vec::new();
    for _ in 0..CONNECT_RUNS {
        let t = Instant::now();
        let client = Client::connect(url, "asterisk", "asterisk").await.unwrap();
        client.start(["bench"]).await.unwrap();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        client.shutdown();
        client.wait().await.unwrap();
    }
    let min = times.iter().copied().fold(f64::MAX, f64::min);
    let max = times.iter().copied().fold(0.0, f64::max);
    let med = median(times);
    println!(
        "4. connect (Client::connect = GET /asterisk/ping, then start() until the websocket is open), {CONNECT_RUNS} runs: median {med:.3} ms (min {min:.3}, max {max:.3}) (target <= 2 ms: {})",
        verdict(med <= 2.0)
    );
}

// ---------------------------------------------------------------- 5: memory (child)

/// Bytes of RSS per per-channel subscription: `count` channels with realistic data, one
/// DTMF handler each, RSS before/after registering (RssAnon, kB granularity).
fn subscription_bytes(client: &Client, count: usize, base: usize) -> f64 {
    let channels: Vec<Channel> = (0..count)
        .map(|i| {
            let id = format!("sub-{}", base + i);
            client.channel_object(
                serde_json::from_str::<ari_client::models::Channel>(&channel_json(&id, i, "Up"))
                    .unwrap(),
            )
        })
        .collect();
    let before = status_kb("RssAnon:");
    for channel in &channels {
        channel.on_event(|_c: Channel, _e: ChannelDtmfReceived| async {});
    }
    let after = status_kb("RssAnon:");
    assert!(client.stats().object_handlers >= count);
    (after.saturating_sub(before) * 1024) as f64 / count as f64
}

/// The children: `subs` measures the subscription memory on a fresh heap; `events` runs
/// the event path of ours once against the parent's server. Both print `key=value` lines.
fn child(mode: &str, url: &str) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        if mode == "subs" {
            let client = Client::builder(url, "asterisk", "asterisk")
                .build()
                .unwrap();
            let small = subscription_bytes(&client, SUBSCRIPTIONS, 0);
            let large = subscription_bytes(&client, SUBSCRIPTIONS * 8, SUBSCRIPTIONS);
            println!("sub_bytes={small:.0}");
            println!("sub_bytes_large={large:.0}");
            return;
        }
        println!("hwm_before_events_kb={}", status_kb("VmHWM:"));
        let (client, ended, _dtmf, done) = event_client(url);
        let target: usize = std::env::var("ARI_BENCH_CALLS").unwrap().parse().unwrap();
        let n = done.clone();
        client.on_event(move |_end: StasisEnd| {
            if ended.fetch_add(1, Ordering::AcqRel) + 1 == target {
                n.notify_one();
            }
            async {}
        });
        client.start(["bench"]).await.unwrap();
        tokio::time::timeout(Duration::from_secs(120), done.notified())
            .await
            .expect("child: every call handled");
        client.shutdown();
        client.wait().await.unwrap();
        println!("hwm_kb={}", status_kb("VmHWM:"));
    });
}

fn run_child(mode: &str, url: &str, calls: usize) -> String {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .env("ARI_BENCH_CHILD", mode)
        .env("ARI_BENCH_URL", url)
        .env("ARI_BENCH_CALLS", calls.to_string())
        .output()
        .expect("run the child");
    assert!(
        out.status.success(),
        "child failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn memory_bench(url: &str, server: &Server, frames: &Arc<Frames>) {
    server.set_job(frames.clone(), None);
    let mut text = run_child("events", url, frames.calls);
    text.push_str(&run_child("subs", url, frames.calls));
    let get = |key: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN)
    };
    let hwm = get("hwm_kb") / 1024.0;
    println!(
        "5a. peak RSS (VmHWM) of a client-only process after the event path (child process): {hwm:.1} MB (at its start: {:.1} MB) (target <= 8 MB: {})",
        get("hwm_before_events_kb") / 1024.0,
        verdict(hwm <= 8.0)
    );
    println!(
        "5b. peak RSS (VmHWM) of this whole bench process (fake server with {:.0} MB of pre-encoded frames, baselines, REST): {:.1} MB (not a client figure)",
        frames.bytes.len() as f64 / 1e6 * 1.0,
        status_kb("VmHWM:") as f64 / 1024.0
    );
    let small = get("sub_bytes");
    println!(
        "5c. memory per live per-channel subscription (RssAnon delta in a fresh child process, realistic channel data): {small:.0} B at {SUBSCRIPTIONS}, {:.0} B at {} more (target <= 1 KB: {})",
        get("sub_bytes_large"),
        SUBSCRIPTIONS * 8,
        verdict(small <= 1024.0)
    );
}

// ---------------------------------------------------------------- 6: build

fn codegen_bench() {
    let specs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../swagger-specs");
    let mut times = Vec::new();
    let mut counts = None;
    for _ in 0..5 {
        let t = Instant::now();
        let generated = ari_codegen::generate(&specs).expect("codegen");
        times.push(t.elapsed().as_secs_f64());
        counts = Some(generated.counts);
    }
    let med = median(times);
    let counts = counts.unwrap();
    println!(
        "6a. codegen (ari_codegen::generate on swagger-specs/: {} operations, {} models, {} events), median of 5: {:.1} ms (target <= 500 ms: {})",
        counts.operations,
        counts.models,
        counts.events,
        med * 1000.0,
        verdict(med <= 0.5)
    );
    // the build script's recorded dependencies: cargo reruns it only when one changes
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let mut outputs = Vec::new();
    for profile in std::fs::read_dir(&target).into_iter().flatten().flatten() {
        let build = profile.path().join("build");
        for dir in std::fs::read_dir(build).into_iter().flatten().flatten() {
            let name = dir.file_name().to_string_lossy().into_owned();
            let output = dir.path().join("output");
            if name.starts_with("ari-client-") && output.is_file() {
                let modified = output.metadata().and_then(|m| m.modified()).ok();
                outputs.push((modified, output));
            }
        }
    }
    outputs.sort();
    let Some((_, newest)) = outputs.last() else {
        println!(
            "6b. build script output: none found under {}",
            target.display()
        );
        return;
    };
    let text = std::fs::read_to_string(newest).unwrap_or_default();
    let reruns: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("cargo:rerun-if-changed="))
        .collect();
    let bad: Vec<&&str> = reruns
        .iter()
        .filter(|p| {
            let p = p.replace('\\', "/");
            p.contains("/src/")
                || p.contains("/examples/")
                || p.ends_with("/src")
                || !p.contains("swagger-specs")
        })
        .collect();
    let all_bad = outputs
        .iter()
        .filter_map(|(_, o)| std::fs::read_to_string(o).ok())
        .flat_map(|t| {
            t.lines()
                .filter_map(|l| l.strip_prefix("cargo:rerun-if-changed=").map(str::to_owned))
                .collect::<Vec<_>>()
        })
        .filter(|p| p.contains("/src/") || p.contains("/examples/") || !p.contains("swagger-specs"))
        .count();
    println!(
        "6b. build script ({}): {} rerun-if-changed lines, all under swagger-specs/, none into src/ or examples/: {} (all {} ari-client build outputs checked: {} bad lines) -> editing user code does not rerun codegen: {}",
        newest.strip_prefix(&target).unwrap_or(newest).display(),
        reruns.len(),
        bad.is_empty(),
        outputs.len(),
        all_bad,
        verdict(bad.is_empty() && all_bad == 0 && !reruns.is_empty())
    );
}

// ---------------------------------------------------------------- main

fn main() {
    if let Some(mode) = std::env::var_os("ARI_BENCH_CHILD") {
        let url = std::env::var("ARI_BENCH_URL").expect("ARI_BENCH_URL");
        child(&mode.to_string_lossy(), &url);
        return;
    }
    // `cargo bench` passes `--bench`; a filter argument is not supported
    let t0 = Instant::now();
    let server = Server::default();
    let url = start_server(server.clone());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!(
        "ari-client e2e bench: {} cores, tokio multi-thread runtime with 2 workers, fake server on its own thread; medians of {RUNS} runs",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let frames32 = Arc::new(build_frames(32));
    println!(
        "   event set: {} events ({} calls x {PER_CALL}), average {} bytes of JSON per event",
        frames32.events,
        frames32.calls,
        frames32.payload / frames32.events
    );
    let scaling = rt.block_on(async {
        let mut ours = Vec::new();
        let mut base = Vec::new();
        // warm-up
        run_ours(&url, &server, &frames32).await;
        run_baseline(&url, &server, &frames32).await;
        for _ in 0..RUNS {
            ours.push(run_ours(&url, &server, &frames32).await);
            base.push(run_baseline(&url, &server, &frames32).await);
        }
        let (ours, base) = (median(ours), median(base));
        let ratio = ours / base;
        println!(
            "1. event path (decode + typed dispatch, per-channel DTMF handlers): ours {} events/s, baseline (tokio-tungstenite + Event::from_json, no dispatch) {} events/s, ratio {:.3} (target >= 1,000,000 events/s: {}; >= 0.8 of baseline: {})",
            fmt_rate(ours),
            fmt_rate(base),
            ratio,
            verdict(ours >= 1_000_000.0),
            verdict(ratio >= 0.8)
        );
        // the sizes alternate within each round, so that drift of this shared machine
        // spreads over all of them instead of favouring one
        let sizes = [1usize, 32, 256, 4096];
        let sets: Vec<Arc<Frames>> = sizes
            .iter()
            .map(|&live| {
                if live == 32 {
                    frames32.clone()
                } else {
                    Arc::new(build_frames(live))
                }
            })
            .collect();
        let mut runs = vec![Vec::new(); sizes.len()];
        for _ in 0..RUNS {
            for (set, runs) in sets.iter().zip(&mut runs) {
                runs.push(run_ours(&url, &server, set).await);
            }
        }
        let scaling: Vec<(usize, f64)> = sizes.into_iter().zip(runs.into_iter().map(median)).collect();
        scaling
    });
    let one = scaling[0].1;
    let many = scaling.last().unwrap().1;
    println!(
        "2. per-channel scaling (live channels: events/s): {} ; 4096 vs 1: {:.3} (target >= 0.9: {})",
        scaling
            .iter()
            .map(|(l, r)| format!("{l}: {}", fmt_rate(*r)))
            .collect::<Vec<_>>()
            .join(", "),
        many / one,
        verdict(many / one >= 0.9)
    );
    rt.block_on(rest_bench(&url));
    rt.block_on(connect_bench(&url));
    memory_bench(&url, &server, &frames32);
    codegen_bench();
    println!("total bench time: {:.1} s", t0.elapsed().as_secs_f64());
}
