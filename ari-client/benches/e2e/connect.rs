//! Figure 4: `Client::connect` and `start()` until the event websocket is open.

use std::time::Instant;

use ari_client::Client;

use crate::{median, verdict, CONNECT_RUNS};

pub(crate) async fn connect_bench(url: &str) {
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
