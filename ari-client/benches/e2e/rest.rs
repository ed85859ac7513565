//! Figure 3: REST round trips, sequential and concurrent, against raw reqwest + serde_json.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ari_client::Client;

use crate::{fmt_rate, median, verdict, REST_CALLS, REST_CONCURRENCY, REST_RUNS, RUNS};

pub(crate) async fn rest_bench(url: &str) {
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
