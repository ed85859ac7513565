//! Figures 1 and 2: the event path (decode + typed dispatch) against a bare
//! tokio-tungstenite + `Event::from_json` loop, and its scaling with the number of live calls.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ari_client::events::{ChannelDtmfReceived, Event, StasisEnd, StasisStart};
use ari_client::objects::Channel;
use ari_client::Client;
use futures_util::StreamExt as _;
use tokio::sync::{oneshot, Notify};
use tokio_tungstenite::tungstenite::Message;

use crate::frames::{build_frames, Frames};
use crate::server::Server;
use crate::{fmt_rate, median, verdict, RUNS};

/// The handlers of the event path on `client`: StasisStart installs a per-channel DTMF
/// handler (they count the DTMF events: the first value), StasisEnd (which also releases
/// it) counts the calls and notifies the second value at the `calls`-th.
pub(crate) fn event_handlers(client: &Client, calls: usize) -> (Arc<AtomicUsize>, Arc<Notify>) {
    let ended = Arc::new(AtomicUsize::new(0));
    let dtmf = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(Notify::new());
    let d = dtmf.clone();
    client.on_channel_event(move |channel: Channel, _start: StasisStart| {
        let d = d.clone();
        let installed = channel.on_event(move |_channel: Channel, _e: ChannelDtmfReceived| {
            d.fetch_add(1, Ordering::Relaxed);
            async { Ok(()) }
        });
        async move { installed.map(drop) }
    });
    let n = done.clone();
    client.on_event(move |_end: StasisEnd| {
        if ended.fetch_add(1, Ordering::AcqRel) + 1 == calls {
            n.notify_one();
        }
        async { Ok(()) }
    });
    (dtmf, done)
}

pub(crate) async fn run_ours(url: &str, server: &Server, frames: &Arc<Frames>) -> f64 {
    let client = Client::builder(url, "asterisk", "asterisk")
        .build()
        .unwrap();
    let (dtmf, done) = event_handlers(&client, frames.calls);
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

/// What decoding costs / what the machine can move: the same frames from the same server
/// read with tokio-tungstenite, then decoded with `Event::from_json` (the decode-only
/// baseline, `decode`) or dropped (the raw limit).
pub(crate) async fn run_bare(
    url: &str,
    server: &Server,
    frames: &Arc<Frames>,
    decode: bool,
) -> f64 {
    let (go_tx, go_rx) = oneshot::channel();
    server.set_job(frames.clone(), Some(go_rx));
    let ws_url = format!("{}/ari/events?app=bench", url.replacen("http", "ws", 1));
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url).await.unwrap();
    let start = Instant::now();
    go_tx.send(()).unwrap();
    let mut read = 0;
    while read < frames.events {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => {
                if decode {
                    std::hint::black_box(Event::from_json(text.as_str()).unwrap());
                } else {
                    std::hint::black_box(&text);
                }
                read += 1;
            }
            Some(Ok(_)) => {}
            other => panic!("bare socket ended: {other:?}"),
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let _ = ws.close(None).await;
    frames.events as f64 / elapsed
}

/// Figures 1 and 2: ours against the baseline on the 32-live-call set, then ours alone on
/// 1, 32, 256 and 4096 live calls.
pub(crate) async fn event_path_bench(url: &str, server: &Server, frames32: &Arc<Frames>) {
    let (mut ours, mut base, mut raw) = (Vec::new(), Vec::new(), Vec::new());
    // warm-up
    run_ours(url, server, frames32).await;
    run_bare(url, server, frames32, true).await;
    run_bare(url, server, frames32, false).await;
    for _ in 0..RUNS {
        ours.push(run_ours(url, server, frames32).await);
        base.push(run_bare(url, server, frames32, true).await);
        raw.push(run_bare(url, server, frames32, false).await);
    }
    let (ours, base, raw) = (median(ours), median(base), median(raw));
    println!(
        "1. event path (decode + typed dispatch, per-channel DTMF handlers): ours {} events/s, decode-only baseline (tokio-tungstenite + Event::from_json, no dispatch) {} events/s, ratio {:.3}; raw limit (the same frames read with tokio-tungstenite and dropped) {} events/s, ours / raw limit {:.3} (target >= 1,000,000 events/s: {}; or >= 0.5 of the raw limit: {})",
        fmt_rate(ours),
        fmt_rate(base),
        ours / base,
        fmt_rate(raw),
        ours / raw,
        verdict(ours >= 1_000_000.0),
        verdict(ours / raw >= 0.5)
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
            runs.push(run_ours(url, server, set).await);
        }
    }
    let scaling: Vec<(usize, f64)> = sizes
        .into_iter()
        .zip(runs.into_iter().map(median))
        .collect();
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
}
