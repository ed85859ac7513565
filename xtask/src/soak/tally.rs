//! The errors a soak saw, by the step that failed and the error's kind, split into calls a
//! restart touched (expected) and calls no restart touched.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;

/// Why one step of a call (or an originate) failed.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    /// `originate`, `answer`, `play`, `beep`, `digits`, ….
    pub(crate) step: &'static str,
    /// The client's `ErrorKind` (`Connect`, `NotFound`, …) or the harness's own (`Timeout`
    /// of a digit, `Ended`: the channel ended first, `WrongDigits`).
    pub(crate) kind: String,
    pub(crate) message: String,
}

impl Failure {
    /// A failure of `step` with a client error.
    pub(crate) fn client(step: &'static str, error: &ari_client::Error) -> Self {
        Failure {
            step,
            kind: format!("{:?}", error.kind()),
            message: error.to_string(),
        }
    }

    /// A failure of `step` that the harness noticed itself.
    pub(crate) fn harness(step: &'static str, kind: &str, message: impl Into<String>) -> Self {
        Failure {
            step,
            kind: kind.to_string(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.step, self.kind, self.message)
    }
}

impl std::error::Error for Failure {}

/// The count of one `(step, kind)`.
#[derive(Debug, Default, Clone)]
pub(crate) struct Count {
    /// In calls a restart touched.
    pub(crate) touched: u64,
    /// In calls no restart touched.
    pub(crate) untouched: u64,
    /// The first message seen.
    pub(crate) example: String,
}

/// Failures by `(step, kind)`.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    counts: Mutex<BTreeMap<(&'static str, String), Count>>,
}

impl Tally {
    pub(crate) fn add(&self, failure: &Failure, touched: bool) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let count = counts
            .entry((failure.step, failure.kind.clone()))
            .or_default();
        if count.example.is_empty() {
            count.example = failure.message.clone();
        }
        if touched {
            count.touched += 1;
        } else {
            count.untouched += 1;
        }
    }

    /// Every `(step, kind)` with its count, sorted.
    pub(crate) fn snapshot(&self) -> Vec<((&'static str, String), Count)> {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.iter().map(|(k, c)| (k.clone(), c.clone())).collect()
    }

    /// How many failures no restart explains.
    pub(crate) fn untouched(&self) -> u64 {
        self.snapshot().iter().map(|(_, c)| c.untouched).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_step_and_kind_and_keeps_the_first_message() {
        let tally = Tally::default();
        tally.add(&Failure::harness("digits", "Timeout", "first"), true);
        tally.add(&Failure::harness("digits", "Timeout", "second"), false);
        tally.add(&Failure::harness("answer", "Connect", "x"), true);
        let all = tally.snapshot();
        assert_eq!(all.len(), 2);
        let ((step, kind), count) = &all[1];
        assert_eq!((*step, kind.as_str()), ("digits", "Timeout"));
        assert_eq!((count.touched, count.untouched), (1, 1));
        assert_eq!(count.example, "first");
        assert_eq!(tally.untouched(), 1);
    }
}
