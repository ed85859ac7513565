//! Figure 5: peak RSS of a client-only child process after the event path, and the memory
//! of a per-channel subscription (this binary again, with `ARI_BENCH_CHILD` set).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use ari_client::events::ChannelDtmfReceived;
use ari_client::objects::Channel;
use ari_client::Client;

use crate::event_path::event_handlers;
use crate::frames::{channel_json, Frames};
use crate::server::Server;
use crate::{status_kb, verdict, SUBSCRIPTIONS};

/// Bytes of RSS per per-channel subscription: `count` channels with realistic data, one
/// DTMF handler each, RSS before/after registering (RssAnon, kB granularity).
fn subscription_bytes(client: &Client, count: usize, base: usize) -> f64 {
    let channels: Vec<Channel> = (0..count)
        .map(|i| {
            let id = format!("sub-{}", base + i);
            client.object(
                serde_json::from_str::<ari_client::models::Channel>(&channel_json(&id, i, "Up"))
                    .unwrap(),
            )
        })
        .collect();
    let before = status_kb("RssAnon:");
    for channel in &channels {
        channel
            .on_event(|_c: Channel, _e: ChannelDtmfReceived| async { Ok(()) })
            .unwrap();
    }
    let after = status_kb("RssAnon:");
    assert!(client.stats().object_handlers >= count);
    (after.saturating_sub(before) * 1024) as f64 / count as f64
}

/// Prints the process's RSS now, file-backed and anonymous, as `{at}_file_kb` and
/// `{at}_anon_kb`.
fn print_rss(at: &str) {
    println!("{at}_file_kb={}", status_kb("RssFile:"));
    println!("{at}_anon_kb={}", status_kb("RssAnon:"));
}

/// The children: `subs` measures the subscription memory on a fresh heap; `events` runs
/// the event path of ours once against the parent's server. Both print `key=value` lines.
pub(crate) fn child(mode: &str, url: &str) {
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
        print_rss("start");
        let target: usize = std::env::var("ARI_BENCH_CALLS").unwrap().parse().unwrap();
        let client = Client::builder(url, "asterisk", "asterisk")
            .build()
            .unwrap();
        let (_dtmf, done) = event_handlers(&client, target);
        print_rss("built");
        // how far the reader ran ahead of the handlers: the frames queued, sampled
        let peak = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let sampler = {
            let (client, peak) = (client.clone(), peak.clone());
            tokio::spawn(async move {
                loop {
                    peak.fetch_max(client.stats().queued_bytes, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            })
        };
        client.start(["bench"]).await.unwrap();
        print_rss("connected");
        tokio::time::timeout(Duration::from_secs(120), done.notified())
            .await
            .expect("child: every call handled");
        sampler.abort();
        print_rss("handled");
        client.shutdown();
        client.wait().await.unwrap();
        println!("hwm_kb={}", status_kb("VmHWM:"));
        println!("queued_peak_kb={}", peak.load(Ordering::Relaxed) / 1024);
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

pub(crate) fn memory_bench(url: &str, server: &Server, frames: &Arc<Frames>) {
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
    let mb = |key: &str| get(key) / 1024.0;
    let split = |at: &str| {
        format!(
            "{at} {:.1} + {:.1}",
            mb(&format!("{at}_file_kb")),
            mb(&format!("{at}_anon_kb"))
        )
    };
    println!(
        "5a. peak RSS (VmHWM) of a client-only process after the event path (child process): {hwm:.1} MB (target <= 8 MB: {}); RSS as file-backed (the binary's and libraries' code and read-only data) + anonymous (heap, stacks) MB: {}, {}, {}, {}; frames queued for the handlers at most {:.1} MB (sampled every ms; the event budget is 4 MiB)",
        verdict(hwm <= 8.0),
        split("start"),
        split("built"),
        split("connected"),
        split("handled"),
        mb("queued_peak_kb"),
    );
    println!(
        "5b. peak RSS (VmHWM) of this whole bench process (fake server with {:.0} MB of pre-encoded frames, baselines, REST): {:.1} MB (not a client figure)",
        frames.bytes.len() as f64 / 1e6 * 1.0,
        status_kb("VmHWM:") as f64 / 1024.0
    );
    let small = get("sub_bytes");
    println!(
        "5c. memory per live per-channel subscription (RssAnon delta in a fresh child process, realistic channel data): {small:.0} B at {SUBSCRIPTIONS}, {:.0} B at {} more (target <= 400 B: {})",
        get("sub_bytes_large"),
        SUBSCRIPTIONS * 8,
        verdict(small <= 400.0)
    );
}
