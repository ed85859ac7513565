//! One soak, start to end: the client and its app, the load, the planned restarts each
//! after a steady spell, then the end of the calls, the drain and the report.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use ari_client::Client;

use super::control::Control;
use super::load::{Load, ENDPOINT};
use super::plan::{self, Options, Stop};
use super::report::{self, Outcome};
use super::restart::{self, Harness, Probe, StateLog};
use crate::error::{Error, Result};
use crate::server::Server;

/// The load runs this long before each restart (and after the last): longer than a call
/// (~3.5 s), so that some calls see no restart at all.
const STEADY: Duration = Duration::from_secs(4);
/// How long the calls may take to end by themselves once the load stops.
const CALLS_END_TIMEOUT: Duration = Duration::from_secs(15);
/// How long `client.drain()` may take.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// The timeout of the client's REST requests (the default 30 s would keep handlers of
/// calls caught in a restart waiting long after it).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs the soak against `server`'s sandbox; `Ok(true)` when every target was met.
pub(crate) async fn soak(server: &Server, control: &Control, options: &Options) -> Result<bool> {
    let plan = plan::plan(options.restarts, options.seed, options.max_outage);
    let kinds: Vec<&str> = plan
        .iter()
        .map(|r| if r.stop == Stop::Kill { "K" } else { "T" })
        .collect();
    println!(
        "soak: seed {seed} (replay with --seed {seed}): {} restarts (K = SIGKILL, T = SIGTERM: {}), {} calls/s of {ENDPOINT}, against {}",
        plan.len(),
        kinds.join(""),
        options.rate,
        server.url,
        seed = options.seed,
    );
    let policy = ari_client::ReconnectPolicy::default();
    println!(
        "soak: the client's reconnect policy is the default: {:?} to {:?}, doubling, ±{:.0} % jitter",
        policy.initial_delay,
        policy.max_delay,
        policy.jitter * 100.0
    );
    let app = format!("soak-{}-{}", std::process::id(), options.seed);
    let client = Client::builder(&server.url, &server.user, &server.password)
        .request_timeout(REQUEST_TIMEOUT)
        .connect()
        .await
        .map_err(|e| Error::new(format!("cannot connect to ARI at {}: {e}", server.url)))?;
    let load = Load::install(&client, &app);
    let states = StateLog::watch(&client);
    client
        .start([app.as_str()])
        .await
        .map_err(|e| Error::new(format!("cannot register the app `{app}`: {e}")))?;
    let probe = Probe::new(&server.url, &server.user, &server.password)?;
    let rss_before_kib = report::rss_kib();
    println!("soak: app `{app}` registered; load started");

    let originating = tokio::spawn(load.clone().originate_loop(options.rate));
    let harness = Harness {
        control,
        probe: &probe,
        states: &states,
        load: &load,
        app: &app,
    };
    let mut measured = Vec::new();
    let mut fatal = None;
    for (i, planned) in plan.iter().enumerate() {
        tokio::time::sleep(STEADY).await;
        let k = i as u32 + 1;
        match restart::restart(&harness, k, *planned).await {
            Ok(m) => {
                let s = client.stats();
                println!(
                    "soak: {} | now: objects {}, waiters {}, object handlers {}, VmRSS {}",
                    m.line(k, plan.len()),
                    s.objects,
                    s.waiters,
                    s.object_handlers,
                    report::rss_kib().map_or_else(
                        || "unknown".to_string(),
                        |k| format!("{:.1} MiB", k as f64 / 1024.0)
                    )
                );
                measured.push(m);
            }
            Err(e) => {
                eprintln!("soak: restart {k} failed: {e}");
                fatal = Some(e);
                break;
            }
        }
    }
    if fatal.is_some() {
        // leave the sandbox running, as it was found
        if let Err(e) = control.run("start").await {
            eprintln!("soak: cannot start Asterisk again: {e}");
        }
    } else {
        tokio::time::sleep(STEADY).await;
    }

    println!(
        "soak: stopping the load; waiting for the calls to end (≤ {} s)",
        CALLS_END_TIMEOUT.as_secs()
    );
    load.stop();
    let _ = originating.await;
    let hung_up = end_calls(&client, &load).await;
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, client.drain())
        .await
        .is_ok();
    let stats = client.stats();
    let rss_after_kib = report::rss_kib();
    client.shutdown();
    if tokio::time::timeout(Duration::from_secs(10), client.wait())
        .await
        .is_err()
    {
        eprintln!(
            "soak: the client's event connection did not close within 10 s ({})",
            states.last()
        );
    }
    let outcome = Outcome {
        seed: options.seed,
        measured: &measured,
        stats,
        rss_before_kib,
        rss_after_kib,
        load: &load,
        hung_up,
        drained,
    };
    print!("{}", outcome.render());
    match fatal {
        Some(e) => Err(e),
        None => Ok(outcome.targets().iter().all(|t| t.met)),
    }
}

/// Waits until no originate or handler is under way and none of the load's channels is
/// up any more (they hang up by themselves ~3.5 s after the answer), then hangs up what is
/// left. Returns how many channels it hung up.
async fn end_calls(client: &Client, load: &Load) -> usize {
    let deadline = Instant::now() + CALLS_END_TIMEOUT;
    let mut left = HashSet::new();
    while Instant::now() < deadline {
        left = still_up(client, load).await;
        if left.is_empty() && load.busy() == (0, 0) {
            return 0;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let (originating, handling) = load.busy();
    println!(
        "soak: after {} s: {} channels still up, {originating} originates and {handling} handlers under way; hanging the channels up",
        CALLS_END_TIMEOUT.as_secs(),
        left.len()
    );
    for id in &left {
        if let Err(e) = client.channels().hangup(id).await {
            if !e.is_not_found() {
                eprintln!("soak: hanging up {id}: {e}");
            }
        }
    }
    // their handlers see the hangup and end
    let deadline = Instant::now() + Duration::from_secs(10);
    while load.busy() != (0, 0) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    left.len()
}

/// The load's channels that Asterisk still lists.
async fn still_up(client: &Client, load: &Load) -> HashSet<String> {
    let live = load.live_channels();
    if live.is_empty() {
        return live;
    }
    match client.channels().list().await {
        Ok(channels) => channels
            .into_iter()
            .map(|c| c.id.to_string())
            .filter(|id| live.contains(id))
            .collect(),
        // cannot tell: assume they are all up
        Err(_) => live,
    }
}
