//! Figure 4: `Client::connect` and `start()` until the event websocket is open, with and
//! without reading the server's API (`ClientBuilder::check_server_api`), in alternating
//! runs.

use std::time::Instant;

use ari_client::Client;

use crate::{median, verdict, CONNECT_RUNS};

/// Milliseconds from `connect` to the websocket open, and whether the API was read.
async fn connect_once(url: &str, check: bool) -> f64 {
    let t = Instant::now();
    let client = Client::builder(url, "asterisk", "asterisk")
        .check_server_api(check)
        .connect()
        .await
        .unwrap();
    assert_eq!(client.server_api().is_some(), check);
    client.start(["bench"]).await.unwrap();
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    client.shutdown();
    client.wait().await.unwrap();
    ms
}

fn spread(times: &[f64]) -> (f64, f64) {
    let min = times.iter().copied().fold(f64::MAX, f64::min);
    let max = times.iter().copied().fold(0.0, f64::max);
    (min, max)
}

/// `label` says which server: the fake, or a real Asterisk (`ARI_URL`).
pub(crate) async fn connect_bench(url: &str, label: &str) {
    let (mut checked, mut bare) = (Vec::new(), Vec::new());
    for _ in 0..CONNECT_RUNS {
        bare.push(connect_once(url, false).await);
        checked.push(connect_once(url, true).await);
    }
    let (bmin, bmax) = spread(&bare);
    let (cmin, cmax) = spread(&checked);
    let (bare, checked) = (median(bare), median(checked));
    let target = if label == "the fake" {
        format!(" (target <= 2 ms: {})", verdict(bare <= 2.0))
    } else {
        String::new()
    };
    println!(
        "4. connect to {label} (GET /asterisk/ping, then start() until the websocket is open), {CONNECT_RUNS} runs each: median {bare:.3} ms (min {bmin:.3}, max {bmax:.3}){target}"
    );
    println!(
        "   with the server's API read (check_server_api, the default: + resources.json, 11 declarations, info, modules): median {checked:.3} ms (min {cmin:.3}, max {cmax:.3}), {:.3} ms more",
        checked - bare
    );
}
