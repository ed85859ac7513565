//! One restart under the load, measured: take Asterisk down (SIGTERM or SIGKILL), wait the
//! outage, start it, and time — from the first `200` of `GET /ari/asterisk/ping` — the
//! client's registration and its first new StasisStart.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ari_client::{Client, ConnectionState};

use super::control::Control;
use super::load::Load;
use super::plan::Restart;
use crate::error::{Error, Result};

/// How often the probe polls `ping` and `applications/{app}`.
const POLL: Duration = Duration::from_millis(5);
/// How long Asterisk may take to answer `ping` after `ctl.sh start`.
const START_TIMEOUT: Duration = Duration::from_secs(40);
/// How long, from the first ping, the client may take to register again and to handle a
/// new StasisStart before the restart counts as missed.
const RECOVERY_TIMEOUT: Duration = Duration::from_secs(30);

/// A second client, for REST only: it polls the server for the harness.
#[derive(Debug, Clone)]
pub(crate) struct Probe {
    rest: Client,
}

impl Probe {
    pub(crate) fn new(url: &str, user: &str, password: &str) -> Result<Self> {
        let rest = Client::builder(url, user, password)
            .request_timeout(Duration::from_millis(500))
            .connect_timeout(Duration::from_millis(200))
            .build()
            .map_err(|e| Error::new(format!("cannot build the probe client for {url}: {e}")))?;
        Ok(Probe { rest })
    }

    /// Polls `GET /asterisk/ping` every [`POLL`]; when it first answers 200, or `None`.
    async fn first_ping(&self, timeout: Duration) -> Option<Instant> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.rest.asterisk().ping().await.is_ok() {
                return Some(Instant::now());
            }
            tokio::time::sleep(POLL).await;
        }
        None
    }

    /// Polls `GET /applications/{app}` every [`POLL`]; when it first answers 200, or `None`.
    async fn app_registered(&self, app: &str, timeout: Duration) -> Option<Instant> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.rest.applications().get(app).await.is_ok() {
                return Some(Instant::now());
            }
            tokio::time::sleep(POLL).await;
        }
        None
    }
}

/// Every state the client's event connection moved to, with when it was seen.
#[derive(Debug, Clone, Default)]
pub(crate) struct StateLog {
    seen: Arc<Mutex<Vec<(Instant, ConnectionState)>>>,
}

impl StateLog {
    /// Records `client.state_changes()` from now on, in a task of its own.
    pub(crate) fn watch(client: &Client) -> StateLog {
        let log = StateLog::default();
        let seen = log.seen.clone();
        let mut changes = client.state_changes();
        tokio::spawn(async move {
            while let Some(state) = changes.next().await {
                let mut seen = seen.lock().unwrap_or_else(|p| p.into_inner());
                seen.push((Instant::now(), state));
            }
        });
        log
    }

    /// The first `Connected` seen after `after`, waiting until `deadline`.
    async fn connected_after(&self, after: Instant, deadline: Instant) -> Option<Instant> {
        loop {
            let found = self
                .seen
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .find(|(t, s)| *t > after && *s == ConnectionState::Connected)
                .map(|(t, _)| *t);
            if found.is_some() || Instant::now() >= deadline {
                return found;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The last state seen, in words.
    pub(crate) fn last(&self) -> String {
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.last()
            .map_or_else(|| "no change".to_string(), |(_, s)| format!("{s:?}"))
    }
}

/// What one restart measured. Times after the first ping are signed seconds: the client
/// may register a few milliseconds before the probe's ping comes back.
#[derive(Debug, Clone)]
pub(crate) struct Measured {
    pub(crate) restart: Restart,
    /// `ctl.sh stop|kill`: from the signal to the process gone.
    pub(crate) stop_took: Duration,
    /// From `ctl.sh start` to the first ping answered.
    pub(crate) start_to_ping: Duration,
    /// From the signal to the first ping answered: how long ARI was away.
    pub(crate) down: Duration,
    /// First ping → the client's first `Connected` after the restart.
    pub(crate) registered: Option<f64>,
    /// First ping → `GET /applications/{app}` answering 200 (the cross-check).
    pub(crate) app_listed: Option<f64>,
    /// First ping → the first new StasisStart handled.
    pub(crate) first_start: Option<f64>,
}

impl Measured {
    /// One line for the restart's report.
    pub(crate) fn line(&self, k: u32, of: usize) -> String {
        let secs = |v: Option<f64>| v.map_or_else(|| "never".to_string(), |s| format!("{s:.3} s"));
        format!(
            "restart {k:>2}/{of} {}: stop {:.2} s, outage {:.2} s, start→ping {:.2} s (down {:.2} s) | ping→registered {} (app listed {}), ping→first StasisStart {}",
            self.restart.stop.signal(),
            self.stop_took.as_secs_f64(),
            self.restart.outage.as_secs_f64(),
            self.start_to_ping.as_secs_f64(),
            self.down.as_secs_f64(),
            secs(self.registered),
            secs(self.app_listed),
            secs(self.first_start),
        )
    }
}

/// What a restart needs.
#[derive(Debug)]
pub(crate) struct Harness<'a> {
    pub(crate) control: &'a Control,
    pub(crate) probe: &'a Probe,
    pub(crate) states: &'a StateLog,
    pub(crate) load: &'a Load,
    pub(crate) app: &'a str,
}

/// Restart `k` (1-based) as planned, measured. `Err` when Asterisk cannot be taken down or
/// brought back: the soak cannot go on.
pub(crate) async fn restart(h: &Harness<'_>, k: u32, restart: Restart) -> Result<Measured> {
    let signalled = Instant::now();
    h.load.restart_began(k);
    let stop_took = h
        .control
        .run(restart.stop.action())
        .await
        .map_err(Error::new)?;
    let dead = Instant::now();
    h.load.asterisk_gone(k);
    tokio::time::sleep(restart.outage).await;

    let started = Instant::now();
    let control = h.control.clone();
    let start = tokio::spawn(async move { control.run("start").await });
    let ping = h.probe.first_ping(START_TIMEOUT).await;
    let app_listed = match ping {
        Some(_) => h.probe.app_registered(h.app, RECOVERY_TIMEOUT).await,
        None => None,
    };
    h.load.app_back(k);
    match start.await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => return Err(Error::new(e)),
        Err(e) => return Err(Error::new(format!("ctl.sh start: {e}"))),
    }
    let Some(ping) = ping else {
        return Err(Error::new(format!(
            "Asterisk did not answer GET /ari/asterisk/ping within {START_TIMEOUT:?} of ctl.sh start"
        )));
    };
    let deadline = ping + RECOVERY_TIMEOUT;
    let registered = h.states.connected_after(dead, deadline).await;
    let first_start = first_start_after(h.load, k, deadline).await;
    let since_ping = |t: Option<Instant>| t.map(|t| signed_secs(ping, t));
    Ok(Measured {
        restart,
        stop_took,
        start_to_ping: ping.saturating_duration_since(started),
        down: ping.saturating_duration_since(signalled),
        registered: since_ping(registered),
        app_listed: since_ping(app_listed),
        first_start: since_ping(first_start),
    })
}

/// Waits until restart `k`'s first new StasisStart was handled, or `deadline`.
async fn first_start_after(load: &Load, k: u32, deadline: Instant) -> Option<Instant> {
    loop {
        let found = load.first_start(k);
        if found.is_some() || Instant::now() >= deadline {
            return found;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// `to - from` in seconds, negative when `to` came first.
fn signed_secs(from: Instant, to: Instant) -> f64 {
    match to.checked_duration_since(from) {
        Some(d) => d.as_secs_f64(),
        None => -from.duration_since(to).as_secs_f64(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_seconds_go_both_ways() {
        let a = Instant::now();
        let b = a + Duration::from_millis(250);
        assert!((signed_secs(a, b) - 0.25).abs() < 1e-9);
        assert!((signed_secs(b, a) + 0.25).abs() < 1e-9);
    }
}
