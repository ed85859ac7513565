//! Figure 3: REST round trips, sequential and concurrent, against raw reqwest + serde_json
//! (3, 3b), the same calls over the event websocket (`RestTransport::WebSocket`, 3c, 3d),
//! and HTTP against the websocket on a real Asterisk when `ARI_URL` names one (3e, 3f).

use std::sync::Arc;
use std::time::{Duration, Instant};

use ari_client::events::StasisStart;
use ari_client::{Client, RestTransport};

use crate::server::Server;
use crate::{fmt_rate, median, verdict, REST_CALLS, REST_CONCURRENCY, REST_RUNS, RUNS};

/// The channel the fake server serves.
const FAKE_CHANNEL: &str = "1764163337.42";

/// The calls each concurrent task makes: 31, so 1,984 in all.
const PER_TASK: usize = REST_CALLS / REST_CONCURRENCY;

/// Calls/s of `REST_CALLS` sequential `GET /channels/{id}`.
async fn sequential(client: &Client, id: &str) -> f64 {
    let t = Instant::now();
    for _ in 0..REST_CALLS {
        let ch = client.channels().get(id).await.unwrap();
        std::hint::black_box(ch);
    }
    REST_CALLS as f64 / t.elapsed().as_secs_f64()
}

/// Calls/s of `REST_CONCURRENCY` tasks making `PER_TASK` calls each.
async fn concurrent(client: &Client, id: &str) -> f64 {
    let t = Instant::now();
    let tasks: Vec<_> = (0..REST_CONCURRENCY)
        .map(|_| {
            let (client, id) = (client.clone(), id.to_owned());
            tokio::spawn(async move {
                for _ in 0..PER_TASK {
                    let ch = client.channels().get(&id).await.unwrap();
                    std::hint::black_box(ch);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    (PER_TASK * REST_CONCURRENCY) as f64 / t.elapsed().as_secs_f64()
}

/// The baseline: the same request with a raw `reqwest::Client`, decoded with serde_json.
#[derive(Clone)]
struct Raw {
    http: reqwest::Client,
    auth: String,
    url: String,
}

impl Raw {
    fn new(url: &str) -> Self {
        let http = reqwest::Client::builder()
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
        Raw {
            http,
            auth,
            url: format!("{url}/ari/channels/{FAKE_CHANNEL}"),
        }
    }

    async fn get(&self) {
        let body = self
            .http
            .get(&self.url)
            .header("authorization", &self.auth)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let ch: ari_client::models::Channel = serde_json::from_slice(&body).unwrap();
        std::hint::black_box(ch);
    }

    async fn sequential(&self) -> f64 {
        let t = Instant::now();
        for _ in 0..REST_CALLS {
            self.get().await;
        }
        REST_CALLS as f64 / t.elapsed().as_secs_f64()
    }

    async fn concurrent(&self) -> f64 {
        let t = Instant::now();
        let tasks: Vec<_> = (0..REST_CONCURRENCY)
            .map(|_| {
                let raw = self.clone();
                tokio::spawn(async move {
                    for _ in 0..PER_TASK {
                        raw.get().await;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        (PER_TASK * REST_CONCURRENCY) as f64 / t.elapsed().as_secs_f64()
    }
}

/// A client whose REST calls go over its event websocket, started with `app`.
async fn websocket_client(url: &str, app: &str) -> Client {
    let client = Client::builder(url, "asterisk", "asterisk")
        .rest_transport(RestTransport::WebSocket)
        .build()
        .unwrap();
    client.start([app]).await.unwrap();
    client
}

async fn stop(client: Client) {
    client.shutdown();
    client.wait().await.unwrap();
}

pub(crate) async fn rest_bench(url: &str, server: &Server) {
    let client = Client::builder(url, "asterisk", "asterisk")
        .build()
        .unwrap();
    let ws = websocket_client(url, "bench-rest").await;
    let raw = Raw::new(url);
    // warm up the three connections
    let answered = server.rest_requests();
    for _ in 0..200 {
        client.channels().get(FAKE_CHANNEL).await.unwrap();
        raw.get().await;
        ws.channels().get(FAKE_CHANNEL).await.unwrap();
    }
    // the websocket client's calls really went over the websocket
    assert_eq!(server.rest_requests() - answered, 200);
    let (mut ours, mut base, mut over_ws) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..REST_RUNS {
        ours.push(sequential(&client, FAKE_CHANNEL).await);
        base.push(raw.sequential().await);
        over_ws.push(sequential(&ws, FAKE_CHANNEL).await);
    }
    let (ours, base, over_ws) = (median(ours), median(base), median(over_ws));
    let overhead = base / ours;
    println!(
        "3. REST sequential GET /channels/{{id}} x{REST_CALLS} (median of {REST_RUNS} alternating runs): ours {} calls/s, baseline (raw reqwest + serde_json) {} calls/s, time ratio ours/baseline {:.3} (target <= 1.10: {}), calls/s target >= 20,000: {}",
        fmt_rate(ours),
        fmt_rate(base),
        overhead,
        verdict(overhead <= 1.10),
        verdict(ours >= 20_000.0)
    );
    let (mut ours_c, mut base_c, mut over_ws_c) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..RUNS {
        ours_c.push(concurrent(&client, FAKE_CHANNEL).await);
        base_c.push(raw.concurrent().await);
        over_ws_c.push(concurrent(&ws, FAKE_CHANNEL).await);
    }
    let (ours_c, base_c, over_ws_c) = (median(ours_c), median(base_c), median(over_ws_c));
    println!(
        "3b. REST {REST_CONCURRENCY} concurrent ({} calls): ours {} calls/s, baseline {} calls/s, time ratio {:.3}",
        PER_TASK * REST_CONCURRENCY,
        fmt_rate(ours_c),
        fmt_rate(base_c),
        base_c / ours_c
    );
    println!(
        "3c. REST sequential over the event websocket (RESTRequest/RESTResponse frames, the same calls and runs as 3): {} calls/s, time ratio websocket/HTTP (ours) {:.3}",
        fmt_rate(over_ws),
        ours / over_ws
    );
    println!(
        "3d. REST {REST_CONCURRENCY} concurrent over the event websocket (the same calls and runs as 3b): {} calls/s, time ratio websocket/HTTP (ours) {:.3}",
        fmt_rate(over_ws_c),
        ours_c / over_ws_c
    );
    assert_eq!(
        server.rest_requests() - answered,
        200 + REST_RUNS * REST_CALLS + RUNS * PER_TASK * REST_CONCURRENCY
    );
    stop(ws).await;
}

/// A channel of `app` in Stasis: `Local/answer@ari-test` (which hangs up after 60 s),
/// originated over `client`'s websocket, once its StasisStart arrived.
async fn live_channel(client: &Client, app: &str) -> String {
    let pending = client.pending_channel();
    let started = pending.next::<StasisStart>();
    let channel = client
        .channels()
        .originate_with_id(pending.id(), "Local/answer@ari-test")
        .app(app)
        .await
        .unwrap();
    started.timeout(Duration::from_secs(10)).await.unwrap();
    channel.id.clone()
}

/// 3e, 3f: the same calls against a real Asterisk, HTTP against the websocket, on a channel
/// that exists: a new one for each round (the dialplan hangs it up after 60 s).
pub(crate) async fn rest_asterisk_bench(url: &str) {
    let app = "bench-rest";
    let http = Client::builder(url, "asterisk", "asterisk")
        .build()
        .unwrap();
    let ws = websocket_client(url, app).await;
    let id = live_channel(&ws, app).await;
    for _ in 0..200 {
        http.channels().get(&id).await.unwrap();
        ws.channels().get(&id).await.unwrap();
    }
    ws.channels().hangup(&id).await.unwrap();
    let (mut over_http, mut over_ws) = (Vec::new(), Vec::new());
    for _ in 0..REST_RUNS {
        let id = live_channel(&ws, app).await;
        over_http.push(sequential(&http, &id).await);
        over_ws.push(sequential(&ws, &id).await);
        ws.channels().hangup(&id).await.unwrap();
    }
    let (over_http, over_ws) = (median(over_http), median(over_ws));
    println!(
        "3e. REST sequential GET /channels/{{id}} of a live channel x{REST_CALLS}, Asterisk at {url} (median of {REST_RUNS} alternating runs): HTTP {} calls/s, websocket {} calls/s, time ratio websocket/HTTP {:.3}",
        fmt_rate(over_http),
        fmt_rate(over_ws),
        over_http / over_ws
    );
    let (mut over_http_c, mut over_ws_c) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let id = live_channel(&ws, app).await;
        over_http_c.push(concurrent(&http, &id).await);
        over_ws_c.push(concurrent(&ws, &id).await);
        ws.channels().hangup(&id).await.unwrap();
    }
    let (over_http_c, over_ws_c) = (median(over_http_c), median(over_ws_c));
    println!(
        "3f. REST {REST_CONCURRENCY} concurrent ({} calls), Asterisk at {url}: HTTP {} calls/s, websocket {} calls/s, time ratio websocket/HTTP {:.3}",
        PER_TASK * REST_CONCURRENCY,
        fmt_rate(over_http_c),
        fmt_rate(over_ws_c),
        over_http_c / over_ws_c
    );
    stop(ws).await;
}
