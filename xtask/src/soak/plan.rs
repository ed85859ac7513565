//! The soak's options and its restart plan: which restarts are SIGKILL and which SIGTERM,
//! and how long each outage lasts, all drawn from one seeded PRNG so that a run can be
//! replayed with `--seed`.

use std::time::Duration;

use crate::args::Args;
use crate::asterisk::Sandbox;
use crate::error::{Error, Result};

/// The options of `cargo xtask soak` besides the sandbox's.
pub(crate) const OPTIONS: &[&str] = &["restarts", "rate", "seed", "max-outage"];

/// The shortest outage between the old Asterisk's death and the next start.
const MIN_OUTAGE: Duration = Duration::from_millis(100);

/// How a soak runs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Options {
    /// How many times Asterisk is restarted under the load.
    pub(crate) restarts: u32,
    /// Calls originated per second.
    pub(crate) rate: f64,
    /// The PRNG's seed.
    pub(crate) seed: u64,
    /// The longest outage (the shortest is 0.1 s).
    pub(crate) max_outage: Duration,
}

impl Options {
    /// `cargo xtask soak`'s defaults.
    pub(crate) const DEFAULT_RESTARTS: u32 = 20;
    pub(crate) const DEFAULT_RATE: f64 = 10.0;
    pub(crate) const DEFAULT_MAX_OUTAGE: Duration = Duration::from_secs(3);

    /// The short soak `cargo xtask test` runs: 3 restarts (one SIGKILL), 4 calls/s.
    pub(crate) fn short() -> Self {
        Options {
            restarts: 3,
            rate: 4.0,
            seed: fresh_seed(),
            max_outage: Self::DEFAULT_MAX_OUTAGE,
        }
    }

    /// `--restarts`, `--rate`, `--seed` (a fresh seed when not given), `--max-outage`
    /// (seconds).
    pub(crate) fn from_args(args: &Args) -> Result<Self> {
        let restarts = match args.value("restarts") {
            None => Self::DEFAULT_RESTARTS,
            Some(v) => v
                .parse()
                .ok()
                .filter(|&n| (1..=1000).contains(&n))
                .ok_or_else(|| Error::usage(format!("--restarts must be 1-1000: {v:?}")))?,
        };
        let rate = match args.value("rate") {
            None => Self::DEFAULT_RATE,
            Some(v) => v
                .parse::<f64>()
                .ok()
                .filter(|r| r.is_finite() && (0.1..=100.0).contains(r))
                .ok_or_else(|| {
                    Error::usage(format!("--rate must be 0.1-100 calls per second: {v:?}"))
                })?,
        };
        let seed = match args.value("seed") {
            None => fresh_seed(),
            Some(v) => v
                .parse()
                .map_err(|_| Error::usage(format!("--seed must be an unsigned integer: {v:?}")))?,
        };
        let max_outage = match args.value("max-outage") {
            None => Self::DEFAULT_MAX_OUTAGE,
            Some(v) => v
                .parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && (0.1..=600.0).contains(s))
                .map(Duration::from_secs_f64)
                .ok_or_else(|| {
                    Error::usage(format!("--max-outage must be 0.1-600 seconds: {v:?}"))
                })?,
        };
        Ok(Options {
            restarts,
            rate,
            seed,
            max_outage,
        })
    }

    /// All the options `soak` takes: the sandbox's and its own.
    pub(crate) fn all_options() -> Vec<&'static str> {
        Sandbox::OPTIONS.iter().chain(OPTIONS).copied().collect()
    }
}

/// A seed from the clock and the PID, for a run without `--seed`.
fn fresh_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    // small enough to type back in
    SplitMix64(nanos ^ u64::from(std::process::id()).rotate_left(32)).next() % 1_000_000
}

/// How Asterisk is taken down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// `ctl.sh stop`: SIGTERM, Asterisk shuts down (closing its websockets).
    Term,
    /// `ctl.sh kill`: SIGKILL, the kernel closes its sockets.
    Kill,
}

impl Stop {
    /// The `ctl.sh` action.
    pub(crate) fn action(self) -> &'static str {
        match self {
            Stop::Term => "stop",
            Stop::Kill => "kill",
        }
    }

    pub(crate) fn signal(self) -> &'static str {
        match self {
            Stop::Term => "SIGTERM",
            Stop::Kill => "SIGKILL",
        }
    }
}

/// One planned restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Restart {
    pub(crate) stop: Stop,
    /// Between the old Asterisk's death and `ctl.sh start`.
    pub(crate) outage: Duration,
}

/// The restarts of a run: `restarts / 2` SIGKILL (rounded down) and the rest SIGTERM, in a
/// shuffled order, each with an outage from 0.1 s to `max_outage`; the same seed gives
/// the same plan.
pub(crate) fn plan(restarts: u32, seed: u64, max_outage: Duration) -> Vec<Restart> {
    let (min, max) = (
        MIN_OUTAGE.as_millis() as u64,
        max_outage.max(MIN_OUTAGE).as_millis() as u64,
    );
    let mut rng = SplitMix64(seed);
    let kills = restarts / 2;
    let mut stops: Vec<Stop> = (0..restarts)
        .map(|i| if i < kills { Stop::Kill } else { Stop::Term })
        .collect();
    // Fisher-Yates
    for i in (1..stops.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        stops.swap(i, j);
    }
    stops
        .into_iter()
        .map(|stop| Restart {
            stop,
            outage: Duration::from_millis(min + rng.below(max - min + 1)),
        })
        .collect()
}

/// SplitMix64 (Steele, Lea, Flood 2014): a small PRNG, plenty for a test plan.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0), without modulo bias.
    fn below(&mut self, n: u64) -> u64 {
        let zone = u64::MAX - u64::MAX % n;
        loop {
            let x = self.next();
            if x < zone {
                return x % n;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_plan() {
        let three = Duration::from_secs(3);
        assert_eq!(plan(20, 42, three), plan(20, 42, three));
        assert_ne!(plan(20, 42, three), plan(20, 43, three));
    }

    #[test]
    fn half_are_kills_and_outages_stay_in_range() {
        for (restarts, kills) in [(1, 0), (3, 1), (20, 10), (21, 10)] {
            for seed in 0..50 {
                let p = plan(restarts, seed, Duration::from_secs(3));
                assert_eq!(p.len(), restarts as usize);
                assert_eq!(
                    p.iter().filter(|r| r.stop == Stop::Kill).count(),
                    kills,
                    "{restarts} restarts"
                );
                for r in &p {
                    assert!(r.outage >= Duration::from_millis(100));
                    assert!(r.outage <= Duration::from_secs(3));
                }
            }
        }
        // the kills do not always come first
        let first_kills = (0..50)
            .filter(|&s| plan(20, s, Duration::from_secs(3))[0].stop == Stop::Kill)
            .count();
        assert!((5..45).contains(&first_kills), "{first_kills}");
        // long outages, when asked for
        let long = plan(20, 1, Duration::from_secs(60));
        assert!(long.iter().all(|r| r.outage <= Duration::from_secs(60)));
        assert!(long.iter().any(|r| r.outage > Duration::from_secs(3)));
    }

    #[test]
    fn options_parse_and_check_ranges() {
        let all = Options::all_options();
        let o = Options::from_args(
            &Args::parse(
                &strings(&[
                    "--restarts",
                    "3",
                    "--rate=2.5",
                    "--seed",
                    "7",
                    "--max-outage",
                    "60",
                ]),
                &all,
                &[],
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(
            o,
            Options {
                restarts: 3,
                rate: 2.5,
                seed: 7,
                max_outage: Duration::from_secs(60),
            }
        );
        let defaults = Options::from_args(&Args::parse(&[], &all, &[]).unwrap()).unwrap();
        assert_eq!(defaults.restarts, 20);
        assert_eq!(defaults.rate, 10.0);
        assert_eq!(defaults.max_outage, Duration::from_secs(3));
        for bad in [
            &["--restarts", "0"][..],
            &["--rate", "0"],
            &["--rate", "nan"],
            &["--seed", "-1"],
            &["--max-outage", "0"],
            &["--max-outage", "1e9"],
        ] {
            let args = Args::parse(&strings(bad), &all, &[]).unwrap();
            assert!(Options::from_args(&args).unwrap_err().is_usage(), "{bad:?}");
        }
    }
}
