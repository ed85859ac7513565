//! Figure 7: events through a relay and a nats-server (`ari_client::nats`, feature `nats`)
//! against the same client connected directly, in the same run:
//!
//! - 7a, events/s: the fake server's calls (the event set of figure 1, fewer calls) read by a
//!   client with the same handlers, directly or as an app instance behind a relay (the relay,
//!   the instance and the fake in this process, the nats-server beside it);
//! - 7b, end-to-end latency of one event, fake server → (relay → nats-server →) app
//!   handler: a server of this module's own sends a call's `ChannelDtmfReceived` events one
//!   every millisecond, each carrying its send time, and the handler measures.
//!
//! The nats-server is Debian's, started by `nats/start.sh` on a free loopback port and
//! stopped by its PID (the integration tests' `tests/support/nats.rs`); without it (or
//! without the `nats` feature) the figure is skipped, loudly.

use std::sync::Arc;

use crate::frames::Frames;
use crate::server::Server;

/// The integration tests' nats-server (started and stopped by the project's scripts).
#[cfg(feature = "nats")]
#[path = "../../tests/support/nats.rs"]
#[allow(dead_code)]
mod nats_server;

/// Runs figure 7 (or says why it is skipped).
pub(crate) fn nats_bench(url: &str, server: &Server, frames: &Arc<Frames>) {
    #[cfg(feature = "nats")]
    imp::run(url, server, frames);
    #[cfg(not(feature = "nats"))]
    {
        let _ = (url, server, frames);
        println!("7. events through NATS: SKIPPED (built without the `nats` feature; `cargo xtask bench` enables it)");
    }
}

#[cfg(feature = "nats")]
mod imp {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex, OnceLock};
    use std::time::{Duration, Instant};

    use ari_client::events::{ChannelDtmfReceived, StasisEnd};
    use ari_client::nats::{Instance, Relay};
    use ari_client::Client;
    use futures_util::{SinkExt as _, StreamExt as _};
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::{TcpListener, TcpStream};
    use tokio::sync::{oneshot, Notify};
    use tokio_tungstenite::tungstenite::Message;

    use super::nats_server::NatsServer;
    use crate::event_path::event_handlers;
    use crate::frames::{build_calls, channel_json, Frames};
    use crate::server::Server;
    use crate::{fmt_rate, median};

    /// Calls of the throughput runs (11 events each).
    const CALLS: usize = 2_000;
    const RUNS: usize = 3;
    /// DTMF events of one latency run, one a millisecond.
    const PINGS: usize = 2_000;

    pub(super) fn run(url: &str, server: &Server, _frames32: &Arc<Frames>) {
        let Some(nats) = NatsServer::start() else {
            println!("7. events through NATS: SKIPPED (no nats-server: `bash nats/install.sh`)");
            return;
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let frames = Arc::new(build_calls(32, CALLS));
            let (mut direct, mut relayed) = (Vec::new(), Vec::new());
            for _ in 0..RUNS {
                direct.push(throughput(url, server, &frames, None).await);
                relayed.push(throughput(url, server, &frames, Some(&nats.url)).await);
            }
            let (d, r) = (median(direct), median(relayed));
            println!(
                "7a. events/s, {} events ({CALLS} calls x 11, 32 live), same handlers: direct {} /s, through relay + nats-server {} /s ({:.2} of direct)",
                frames.events,
                fmt_rate(d),
                fmt_rate(r),
                r / d
            );
            let ping = ping_server();
            let direct = latency(&ping, None).await;
            let relayed = latency(&ping, Some(&nats.url)).await;
            let show = |v: &[f64]| {
                format!(
                    "p50 {:.0} µs, p99 {:.0} µs, max {:.0} µs",
                    pct(v, 0.5),
                    pct(v, 0.99),
                    v.last().copied().unwrap_or(f64::NAN)
                )
            };
            println!(
                "7b. event latency, server → handler, {PINGS} events 1 ms apart: direct {}; server → relay → nats-server → instance {}",
                show(&direct),
                show(&relayed)
            );
        });
    }

    fn pct(sorted: &[f64], p: f64) -> f64 {
        if sorted.is_empty() {
            return f64::NAN;
        }
        sorted[((sorted.len() - 1) as f64 * p).round() as usize]
    }

    /// A relay of the fake at `url` on NATS `nats`, and an instance client of it.
    async fn relayed_client(url: &str, nats: &str, app: &str) -> (Relay, Client, Instance) {
        let relay = Relay::builder(
            async_nats::connect(nats).await.unwrap(),
            "bench",
            Client::builder(url, "asterisk", "asterisk").check_server_api(false),
            [app],
        )
        .start()
        .await
        .unwrap();
        let instance = Instance::builder(async_nats::connect(nats).await.unwrap())
            .build()
            .unwrap();
        let client = instance.client("bench").unwrap();
        (relay, client, instance)
    }

    /// Events/s of one run: every call's StasisStart installs a DTMF handler on its
    /// channel, StasisEnd counts the call (the handlers of figure 1).
    async fn throughput(
        url: &str,
        server: &Server,
        frames: &Arc<Frames>,
        nats: Option<&str>,
    ) -> f64 {
        let (go_tx, go_rx) = oneshot::channel();
        server.set_job(frames.clone(), Some(go_rx));
        let (client, relay) = match nats {
            None => (
                Client::builder(url, "asterisk", "asterisk")
                    .build()
                    .unwrap(),
                None,
            ),
            Some(nats) => {
                let (relay, client, instance) = relayed_client(url, nats, "bench").await;
                (client, Some((relay, instance)))
            }
        };
        let (dtmf, done) = event_handlers(&client, frames.calls);
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
        if let Some((relay, instance)) = relay {
            let s = instance.stats();
            assert_eq!((s.gaps, s.missed), (0, 0), "nothing lost: {s:?}");
            assert_eq!(relay.stats().calls_assigned as usize, frames.calls);
            client.shutdown();
            let _ = client.wait().await;
            relay.shutdown();
            let _ = relay.wait().await;
            instance.shutdown();
        } else {
            client.shutdown();
            let _ = client.wait().await;
        }
        frames.events as f64 / elapsed
    }

    /// The latency figure's own server: `GET /ari/asterisk/ping`, and an event websocket
    /// that sends one call's StasisStart, then [`PINGS`] `ChannelDtmfReceived` events 1 ms
    /// apart whose `digit` is their send time (ns since [`base`]), then its StasisEnd.
    struct PingServer {
        url: String,
    }

    fn base() -> Instant {
        static BASE: OnceLock<Instant> = OnceLock::new();
        *BASE.get_or_init(Instant::now)
    }

    fn ping_server() -> PingServer {
        base();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap()).unwrap();
                let calls = Arc::new(AtomicUsize::new(0));
                while let Ok((tcp, _)) = listener.accept().await {
                    let _ = tcp.set_nodelay(true);
                    tokio::spawn(serve(tcp, calls.clone()));
                }
            });
        });
        PingServer {
            url: format!("http://{}", rx.recv().unwrap()),
        }
    }

    async fn serve(mut tcp: TcpStream, calls: Arc<AtomicUsize>) {
        let mut head = [0u8; 64];
        let n = loop {
            match tcp.peek(&mut head).await {
                Ok(0) | Err(_) => return,
                Ok(n) if n >= 16 => break n,
                Ok(_) => tokio::task::yield_now().await,
            }
        };
        if !head[..n].windows(11).any(|w| w == b"/ari/events") {
            // keep-alive HTTP: every request is a ping
            let mut buf = vec![0u8; 8192];
            let mut have = Vec::new();
            loop {
                match tcp.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(k) => have.extend_from_slice(&buf[..k]),
                }
                while let Some(end) = have.windows(4).position(|w| w == b"\r\n\r\n") {
                    have.drain(..end + 4);
                    let body = r#"{"asterisk_id":"02:fc:00:00:00:01","ping":"pong","timestamp":"2026-11-26T13:22:17.520+0000"}"#;
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if tcp.write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                }
            }
        }
        let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
            return;
        };
        let call = calls.fetch_add(1, Ordering::Relaxed);
        let id = format!("ping-{call}");
        let up = channel_json(&id, call, "Up");
        const TAIL: &str = r#""asterisk_id":"02:fc:00:00:00:01","application":"ping""#;
        // let the client settle first
        tokio::time::sleep(Duration::from_millis(200)).await;
        let start = format!(
            r#"{{"type":"StasisStart","timestamp":"2026-11-26T13:22:17.520+0000","args":[],"channel":{up},{TAIL}}}"#
        );
        if ws.send(Message::text(start)).await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut tick = tokio::time::interval(Duration::from_millis(1));
        for _ in 0..PINGS {
            tick.tick().await;
            let sent = base().elapsed().as_nanos();
            let frame = format!(
                r#"{{"type":"ChannelDtmfReceived","timestamp":"2026-11-26T13:22:17.520+0000","digit":"{sent}","duration_ms":100,"channel":{up},{TAIL}}}"#
            );
            if ws.send(Message::text(frame)).await.is_err() {
                return;
            }
        }
        let end = format!(
            r#"{{"type":"StasisEnd","timestamp":"2026-11-26T13:22:17.520+0000","channel":{up},{TAIL}}}"#
        );
        let _ = ws.send(Message::text(end)).await;
        // until the client goes
        while let Some(Ok(_)) = ws.next().await {}
    }

    /// One latency run: the handler of each DTMF event takes its send time from `digit`.
    async fn latency(server: &PingServer, nats: Option<&str>) -> Vec<f64> {
        let (client, relay) = match nats {
            None => (
                Client::builder(&server.url, "asterisk", "asterisk")
                    .build()
                    .unwrap(),
                None,
            ),
            Some(nats) => {
                let (relay, client, instance) = relayed_client(&server.url, nats, "ping").await;
                (client, Some((relay, instance)))
            }
        };
        let seen = Arc::new(Mutex::new(Vec::with_capacity(PINGS)));
        let done = Arc::new(Notify::new());
        let s = seen.clone();
        client.on_event(move |e: ChannelDtmfReceived| {
            let now = base().elapsed().as_nanos();
            if let Ok(sent) = e.digit.parse::<u128>() {
                s.lock()
                    .unwrap()
                    .push(now.saturating_sub(sent) as f64 / 1000.0);
            }
            async { Ok(()) }
        });
        let n = done.clone();
        client.on_event(move |_: StasisEnd| {
            n.notify_one();
            async { Ok(()) }
        });
        client.start(["ping"]).await.unwrap();
        tokio::time::timeout(Duration::from_secs(60), done.notified())
            .await
            .expect("the latency run ends within 60 s");
        client.shutdown();
        let _ = client.wait().await;
        if let Some((relay, instance)) = relay {
            relay.shutdown();
            let _ = relay.wait().await;
            instance.shutdown();
        }
        let mut v = std::mem::take(&mut *seen.lock().unwrap());
        assert_eq!(v.len(), PINGS, "every event arrived");
        v.sort_by(f64::total_cmp);
        v
    }
}
