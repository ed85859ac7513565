//! The call load: `Local/dtmf@ari-test` originated into the app at a steady rate, and the
//! handler every call runs (answer, beep, the digits 1 2 3 #).
//!
//! Every call carries the *epoch* it was originated in as its app argument. The epoch goes
//! up three times per restart: `3k-2` once restart `k` began (the old Asterisk is dying),
//! `3k-1` once it is dead, `3k` once the app is registered on the new one (`GET
//! /applications/{app}` answers). A StasisStart of a call originated at `3k-1` or `3k` can
//! only come from the new Asterisk: the first one handled is restart `k`'s "first new
//! StasisStart". A call is *touched* by a restart when it was originated outside a steady
//! epoch (`3k`) or the epoch moved before it ended; its errors are expected.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ari_client::events::{ChannelDestroyed, ChannelDtmfReceived, StasisStart};
use ari_client::objects::Channel;
use ari_client::Client;

use super::tally::{Failure, Tally};

/// The scripted caller of `asterisk/conf/extensions.conf`: answers, sends `123#` ~1 s after
/// the answer (250 ms apart), hangs up 1 s after the last digit.
pub(crate) const ENDPOINT: &str = "Local/dtmf@ari-test";
const DIGITS: &str = "123#";
/// How long the beep may take to finish (it lasts ~0.3 s).
const BEEP_TIMEOUT: Duration = Duration::from_secs(3);
/// How long each digit may take (the first comes ~1 s after the answer, the others 350 ms
/// apart).
const DIGIT_TIMEOUT: Duration = Duration::from_secs(3);

/// What the calls did, for the report.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    /// Originates answered 200.
    pub(crate) originated: AtomicU64,
    /// StasisStarts handled.
    pub(crate) started: AtomicU64,
    /// Calls whose handler heard `123#`, untouched and touched by a restart.
    pub(crate) completed: AtomicU64,
    pub(crate) completed_touched: AtomicU64,
    /// Calls whose handler failed (see the tally), untouched and touched by a restart.
    pub(crate) failed: AtomicU64,
    pub(crate) failed_touched: AtomicU64,
}

/// The load and what it observed; shared by the originate loop, the handlers and the
/// restarts.
#[derive(Debug)]
pub(crate) struct Load {
    client: Client,
    app: String,
    epoch: AtomicU32,
    /// Restart index → when its first new StasisStart was handled.
    first_start: Mutex<HashMap<u32, Instant>>,
    /// Channels originated into the app on the Asterisk running now and not destroyed yet.
    live: Mutex<HashSet<String>>,
    /// Originate requests under way.
    originating: AtomicUsize,
    /// StasisStart handlers under way.
    handling: AtomicUsize,
    stopped: AtomicBool,
    pub(crate) counts: Counts,
    pub(crate) tally: Tally,
}

/// Decrements a counter when dropped.
struct Busy<'a>(&'a AtomicUsize);

impl<'a> Busy<'a> {
    fn enter(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        Busy(counter)
    }
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Load {
    /// The load of `app`, its handlers registered on `client` (before the app starts).
    pub(crate) fn install(client: &Client, app: &str) -> Arc<Load> {
        let load = Arc::new(Load {
            client: client.clone(),
            app: app.to_string(),
            epoch: AtomicU32::new(0),
            first_start: Mutex::default(),
            live: Mutex::default(),
            originating: AtomicUsize::new(0),
            handling: AtomicUsize::new(0),
            stopped: AtomicBool::new(false),
            counts: Counts::default(),
            tally: Tally::default(),
        });
        // the handlers hold the load weakly: the client keeps its handlers
        let weak = Arc::downgrade(&load);
        client.on_channel_event(move |channel: Channel, start: StasisStart| {
            let load = weak.upgrade();
            async move {
                match load {
                    Some(load) => load.handle(channel, start).await,
                    None => Ok(()),
                }
            }
        });
        let weak = Arc::downgrade(&load);
        client.on_channel_event(move |channel: Channel, _e: ChannelDestroyed| {
            if let Some(load) = weak.upgrade() {
                lock(&load.live).remove(&channel.id);
            }
            async { Ok(()) }
        });
        load
    }

    /// Restart `k` (1-based) began: the old Asterisk is going.
    pub(crate) fn restart_began(&self, k: u32) {
        self.epoch.store(3 * k - 2, Ordering::SeqCst);
    }

    /// The old Asterisk of restart `k` is dead: its channels are gone.
    pub(crate) fn asterisk_gone(&self, k: u32) {
        self.epoch.store(3 * k - 1, Ordering::SeqCst);
        lock(&self.live).clear();
    }

    /// The app is registered on the new Asterisk of restart `k`.
    pub(crate) fn app_back(&self, k: u32) {
        self.epoch.store(3 * k, Ordering::SeqCst);
    }

    /// When restart `k`'s first new StasisStart was handled, if it was.
    pub(crate) fn first_start(&self, k: u32) -> Option<Instant> {
        lock(&self.first_start).get(&k).copied()
    }

    /// Originates `rate` calls per second until [`stop`](Self::stop).
    pub(crate) async fn originate_loop(self: Arc<Self>, rate: f64) {
        let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !self.stopped.load(Ordering::SeqCst) {
            tick.tick().await;
            let load = self.clone();
            tokio::spawn(async move { load.originate().await });
        }
    }

    async fn originate(&self) {
        let _busy = Busy::enter(&self.originating);
        let id = self.client.new_id();
        let epoch = self.epoch.load(Ordering::SeqCst);
        let result = self
            .client
            .channels()
            .originate_with_id(&id, ENDPOINT)
            .app(&self.app)
            .app_args(epoch.to_string())
            .await;
        match result {
            Ok(_) => {
                self.counts.originated.fetch_add(1, Ordering::Relaxed);
                let mut live = lock(&self.live);
                // a channel of an Asterisk that died meanwhile is gone
                if self.epoch.load(Ordering::SeqCst) == epoch {
                    live.insert(id);
                }
            }
            Err(e) => self
                .tally
                .add(&Failure::client("originate", &e), self.touched(epoch)),
        }
    }

    /// Stops originating.
    pub(crate) fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
    }

    /// Originate requests and handlers still under way.
    pub(crate) fn busy(&self) -> (usize, usize) {
        (
            self.originating.load(Ordering::SeqCst),
            self.handling.load(Ordering::SeqCst),
        )
    }

    /// The channels originated on the Asterisk running now and not destroyed yet.
    pub(crate) fn live_channels(&self) -> HashSet<String> {
        lock(&self.live).clone()
    }

    /// Whether a call originated in `epoch` was touched by a restart (so far).
    fn touched(&self, epoch: u32) -> bool {
        epoch % 3 != 0 || self.epoch.load(Ordering::SeqCst) != epoch
    }

    /// The StasisStart handler of every call.
    async fn handle(&self, channel: Channel, start: StasisStart) -> ari_client::Result<()> {
        let _busy = Busy::enter(&self.handling);
        let now = Instant::now();
        self.counts.started.fetch_add(1, Ordering::Relaxed);
        let epoch: Option<u32> = start.args.first().and_then(|a| a.parse().ok());
        if let Some(k) = epoch.and_then(restart_of) {
            lock(&self.first_start).entry(k).or_insert(now);
        }
        let result = call_flow(&channel).await;
        let touched = epoch.is_none_or(|e| self.touched(e));
        let counter = match (&result, touched) {
            (Ok(()), false) => &self.counts.completed,
            (Ok(()), true) => &self.counts.completed_touched,
            (Err(_), false) => &self.counts.failed,
            (Err(_), true) => &self.counts.failed_touched,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if let Err(failure) = result {
            self.tally.add(&failure, touched);
            // the client counts it too (stats().handler_errors)
            return Err(ari_client::Error::other(failure));
        }
        Ok(())
    }
}

/// The restart whose first new StasisStart a call of `epoch` can be: `k` for `3k-1` and
/// `3k` (`k` ≥ 1); `None` for the first epoch and for calls sent to a dying Asterisk.
fn restart_of(epoch: u32) -> Option<u32> {
    (epoch > 0 && epoch % 3 != 1).then_some(epoch.div_ceil(3))
}

/// Answer, beep to its end, then the digits `123#`, each within [`DIGIT_TIMEOUT`]; the far
/// end hangs up by itself afterwards.
async fn call_flow(channel: &Channel) -> Result<(), Failure> {
    // listen before answering: no digit is missed
    let mut digits = channel.events::<ChannelDtmfReceived>();
    channel
        .answer()
        .await
        .map_err(|e| Failure::client("answer", &e))?;
    let beep = channel
        .play("sound:beep")
        .await
        .map_err(|e| Failure::client("play", &e))?;
    beep.finished()
        .timeout(BEEP_TIMEOUT)
        .await
        .map_err(|e| Failure::client("beep", &e))?;
    let mut heard = String::new();
    while heard.len() < DIGITS.len() {
        match tokio::time::timeout(DIGIT_TIMEOUT, digits.next()).await {
            Ok(Some(dtmf)) => heard.push_str(&dtmf.digit),
            Ok(None) => {
                return Err(Failure::harness(
                    "digits",
                    "Ended",
                    format!("channel {} ended after digits {heard:?}", channel.id),
                ))
            }
            Err(_) => {
                return Err(Failure::harness(
                    "digits",
                    "Timeout",
                    format!(
                        "no digit within {DIGIT_TIMEOUT:?} after {heard:?} on {}",
                        channel.id
                    ),
                ))
            }
        }
    }
    if heard != DIGITS {
        return Err(Failure::harness(
            "digits",
            "WrongDigits",
            format!("heard {heard:?} on {}, expected {DIGITS:?}", channel.id),
        ));
    }
    Ok(())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::restart_of;

    #[test]
    fn epochs_map_to_the_restart_whose_new_asterisk_they_reached() {
        assert_eq!(restart_of(0), None); // before the first restart
        assert_eq!(restart_of(1), None); // restart 1 began: maybe the old Asterisk
        assert_eq!(restart_of(2), Some(1)); // the old one is dead
        assert_eq!(restart_of(3), Some(1)); // the new one answers
        assert_eq!(restart_of(4), None);
        assert_eq!(restart_of(5), Some(2));
        assert_eq!(restart_of(6), Some(2));
    }
}
