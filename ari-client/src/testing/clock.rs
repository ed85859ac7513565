//! The fake's virtual clock: what is due when (a prompt's end, a callee answering, a
//! caller's next digit), and when the clock moves.
//!
//! The clock never follows the wall clock. With [`Time::Auto`](super::Time::Auto) it jumps
//! to the next thing due as soon as the fake is quiet — no request being answered and no
//! traffic for [`QUIET`] — so a 3-second prompt ends as soon as the application has done
//! what it does when the prompt starts. With [`Time::Manual`](super::Time::Manual) it moves
//! only by [`FakeAsterisk::advance`](super::FakeAsterisk::advance). Either way, what is due
//! happens one thing at a time, each after the application has reacted to the one before.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long the fake must see no traffic before it counts as quiet: long enough for an
/// application to answer an event with its next request.
pub(crate) const QUIET: Duration = Duration::from_millis(10);

/// Something due at a virtual time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// The playback's current media ended: the next one, or `PlaybackFinished`.
    PlaybackNext(String),
    /// A recording reached its `maxDurationSeconds`.
    RecordingDone(String),
    /// The callee of an originated channel answers.
    Answer(String),
    /// The callee is busy.
    Busy(String),
    /// The callee did not answer within the originate's timeout.
    NoAnswer(String),
    /// The caller's next DTMF digit (the channel, the digit, its duration in ms).
    Dtmf(String, char, u32),
    /// The caller (or callee) hangs up.
    Hangup(String),
    /// A per-call outbound websocket closes (its call ended 3 s before).
    CloseConnection(u64),
    /// The end of a hangup the application asked for (the channel, the cause).
    HangupDone(String, u16),
}

/// What is due, in time order (ties in the order they were scheduled).
#[derive(Debug, Default)]
pub(crate) struct Schedule {
    due: BTreeMap<(Duration, u64), Action>,
    next: u64,
}

impl Schedule {
    pub(crate) fn at(&mut self, when: Duration, action: Action) {
        self.next += 1;
        self.due.insert((when, self.next), action);
    }

    /// The first thing due, if any, with when.
    pub(crate) fn first(&self) -> Option<Duration> {
        self.due.keys().next().map(|(when, _)| *when)
    }

    pub(crate) fn pop(&mut self) -> Option<(Duration, Action)> {
        self.due
            .pop_first()
            .map(|((when, _), action)| (when, action))
    }

    /// Forgets what `keep` rejects (a playback stopped, a channel gone).
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&Action) -> bool) {
        self.due.retain(|_, a| keep(a));
    }

    pub(crate) fn clear(&mut self) {
        self.due.clear();
    }
}

/// Whether the fake is busy: requests being answered, and when it last saw traffic.
#[derive(Debug)]
pub(crate) struct Activity {
    in_flight: AtomicUsize,
    last: Mutex<Instant>,
}

impl Default for Activity {
    fn default() -> Self {
        Self {
            in_flight: AtomicUsize::new(0),
            last: Mutex::new(Instant::now()),
        }
    }
}

impl Activity {
    /// Notes traffic.
    pub(crate) fn touch(&self) {
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
    }

    /// A request is being answered until the guard drops.
    pub(crate) fn busy(&self) -> Busy<'_> {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        self.touch();
        Busy(self)
    }

    /// Waits until no request is being answered and there was no traffic for [`QUIET`].
    pub(crate) async fn quiet(&self) {
        loop {
            let idle = self
                .last
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .elapsed();
            if self.in_flight.load(Ordering::SeqCst) == 0 && idle >= QUIET {
                return;
            }
            let wait = QUIET.saturating_sub(idle).max(Duration::from_millis(1));
            tokio::time::sleep(wait).await;
        }
    }
}

/// See [`Activity::busy`].
#[derive(Debug)]
pub(crate) struct Busy<'a>(&'a Activity);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}
