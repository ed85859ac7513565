//! The soak's end: the client's stats, the process's memory, the errors by kind, the
//! summary line and the targets.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use ari_client::DispatchStats;

use super::load::Load;
use super::restart::Measured;

/// The most the process's VmRSS may grow from before the load to after it, in MiB.
///
/// What a leak-free client may keep once every call has ended is bounded, not proportional
/// to the calls: the event budget (4 MiB of frames at most, which the allocator may keep
/// after they were handled) and the tombstones of the kinds of objects the soak ends,
/// channels and playbacks (4,096 per kind, some 240 KB with their map and queue, plus the
/// newest 256 per kind with their end event's text of ~2 KiB: ≤ 0.8 MiB per kind), and
/// some slack for the allocator's arenas and the HTTP connection pools: 4 + 2 × 0.8 + 2.4 =
/// 8 MiB. The objects the client still tracks are counted exactly by the `objects` target;
/// this bound catches what that cannot see, such as frames or tasks kept after their call
/// (the default run's ~15,000 frames of ~1.5 KiB would be some 20 MiB).
pub(crate) const RSS_GROWTH_BOUND_MIB: f64 = 8.0;
/// How [`RSS_GROWTH_BOUND_MIB`] is made up, for the report.
const RSS_GROWTH_BOUND_WHY: &str =
    "4 MiB event budget + 2 × 0.8 MiB tombstones of channels and playbacks + 2.4 MiB allocator and connection pools";

/// The most the client may take from the first ping to being registered again, in seconds
/// (median and maximum).
pub(crate) const REGISTERED_BOUND_S: f64 = 0.5;

/// The process's resident memory now (`VmRSS` of /proc/self/status), in KiB.
pub(crate) fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Minimum, median and maximum of some measurements.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Spread {
    pub(crate) min: f64,
    pub(crate) median: f64,
    pub(crate) max: f64,
}

impl Spread {
    /// `None` for no values.
    pub(crate) fn of(values: &[f64]) -> Option<Spread> {
        let mut v: Vec<f64> = values.to_vec();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = match n {
            0 => return None,
            _ if n % 2 == 1 => v[n / 2],
            _ => (v[n / 2 - 1] + v[n / 2]) / 2.0,
        };
        Some(Spread {
            min: v[0],
            median,
            max: v[n - 1],
        })
    }

    fn show(spread: Option<Spread>, missing: usize) -> String {
        let mut out = match spread {
            Some(s) => format!("{:.3} / {:.3} / {:.3} s", s.min, s.median, s.max),
            None => "- / - / -".to_string(),
        };
        if missing > 0 {
            let _ = write!(out, " ({missing} never)");
        }
        out
    }
}

/// Everything the end of a soak reports.
#[derive(Debug)]
pub(crate) struct Outcome<'a> {
    pub(crate) seed: u64,
    pub(crate) measured: &'a [Measured],
    pub(crate) stats: DispatchStats,
    pub(crate) rss_before_kib: Option<u64>,
    pub(crate) rss_after_kib: Option<u64>,
    pub(crate) load: &'a Load,
    /// Channels still up at the end, hung up by the harness.
    pub(crate) hung_up: usize,
    /// Whether `client.drain()` came back in time.
    pub(crate) drained: bool,
}

/// One target: what, whether it was met, and the measured value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Target {
    pub(crate) what: String,
    pub(crate) met: bool,
    pub(crate) value: String,
}

impl Outcome<'_> {
    fn registered(&self) -> (Option<Spread>, usize) {
        spread_of(self.measured.iter().map(|m| m.registered))
    }

    fn first_start(&self) -> (Option<Spread>, usize) {
        spread_of(self.measured.iter().map(|m| m.first_start))
    }

    /// The targets: none missed means exit 0.
    pub(crate) fn targets(&self) -> Vec<Target> {
        let s = &self.stats;
        let zero = |what: &str, n: u64| Target {
            what: format!("{what} = 0"),
            met: n == 0,
            value: n.to_string(),
        };
        let mut targets = vec![
            zero("handler panics", s.handler_panics),
            zero("object handlers left", s.object_handlers as u64),
            zero("waiters left", s.waiters as u64),
            zero("objects left", s.objects as u64),
        ];
        let (registered, never) = self.registered();
        let bound = REGISTERED_BOUND_S;
        let (median, max) =
            registered.map_or((f64::INFINITY, f64::INFINITY), |r| (r.median, r.max));
        let show = |v: f64| {
            if never > 0 {
                format!("{never} restart(s) never registered")
            } else {
                format!("{v:.3} s")
            }
        };
        targets.push(Target {
            what: format!("median ping→registered ≤ {bound} s"),
            met: never == 0 && median <= bound,
            value: show(median),
        });
        targets.push(Target {
            what: format!("max ping→registered ≤ {bound} s"),
            met: never == 0 && max <= bound,
            value: show(max),
        });
        let (_, no_start) = self.first_start();
        targets.push(Target {
            what: "a new call handled after every restart".to_string(),
            met: no_start == 0,
            value: format!("{no_start} restart(s) without one"),
        });
        let untouched = self.load.tally.untouched();
        targets.push(Target {
            what: "no error in calls no restart touched".to_string(),
            met: untouched == 0,
            value: format!("{untouched} error(s)"),
        });
        let growth = match (self.rss_before_kib, self.rss_after_kib) {
            (Some(a), Some(b)) => Some(mib(b) - mib(a)),
            _ => None,
        };
        targets.push(Target {
            what: format!("RSS growth ≤ {RSS_GROWTH_BOUND_MIB} MiB"),
            met: growth.is_some_and(|g| g <= RSS_GROWTH_BOUND_MIB),
            value: growth.map_or_else(|| "unknown".to_string(), |g| format!("{g:+.1} MiB")),
        });
        targets
    }

    /// The report, last line the summary.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        let s = &self.stats;
        let _ = writeln!(
            out,
            "soak: client stats after drain{}: object_handlers {}, waiters {}, objects {}, handler_panics {}, handler_errors {}, decode_errors {}, received {} (handler_calls {}, queued_bytes {})",
            if self.drained { "" } else { " (drain timed out)" },
            s.object_handlers, s.waiters, s.objects, s.handler_panics, s.handler_errors,
            s.decode_errors, s.received, s.handler_calls, s.queued_bytes
        );
        let kib = |v: Option<u64>| {
            v.map_or_else(|| "unknown".to_string(), |k| format!("{:.1} MiB", mib(k)))
        };
        let _ = writeln!(
            out,
            "soak: VmRSS before the load {}, after {} (bound on the growth: {RSS_GROWTH_BOUND_MIB} MiB = {RSS_GROWTH_BOUND_WHY})",
            kib(self.rss_before_kib),
            kib(self.rss_after_kib)
        );
        self.render_calls(&mut out);
        self.render_errors(&mut out);
        for t in self.targets() {
            let _ = writeln!(
                out,
                "soak: target {}: {} ({})",
                t.what,
                if t.met { "ok" } else { "MISSED" },
                t.value
            );
        }
        let kills = self
            .measured
            .iter()
            .filter(|m| m.restart.stop == super::plan::Stop::Kill)
            .count();
        let (registered, reg_never) = self.registered();
        let (first, first_never) = self.first_start();
        let missed = self.targets().iter().filter(|t| !t.met).count();
        let _ = writeln!(
            out,
            "soak: {} restarts ({kills} SIGKILL, {} SIGTERM), seed {}: ping→registered min/median/max {}, ping→first StasisStart {}; {}",
            self.measured.len(),
            self.measured.len() - kills,
            self.seed,
            Spread::show(registered, reg_never),
            Spread::show(first, first_never),
            if missed == 0 {
                "all targets met".to_string()
            } else {
                format!("{missed} target(s) MISSED")
            }
        );
        out
    }

    fn render_calls(&self, out: &mut String) {
        let c = &self.load.counts;
        let get = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
        let (originated, started) = (get(&c.originated), get(&c.started));
        let _ = writeln!(
            out,
            "soak: calls: {originated} originated, {started} StasisStarts handled ({} never reached the app: lost with an Asterisk or originated before the app was registered again); completed {} untouched + {} touched by a restart, failed {} untouched + {} touched; {} hung up at the end",
            originated.saturating_sub(started),
            get(&c.completed),
            get(&c.completed_touched),
            get(&c.failed),
            get(&c.failed_touched),
            self.hung_up
        );
    }

    fn render_errors(&self, out: &mut String) {
        let all = self.load.tally.snapshot();
        if all.is_empty() {
            let _ = writeln!(out, "soak: errors: none");
            return;
        }
        let _ = writeln!(
            out,
            "soak: errors by step and kind (in calls a restart touched + calls none touched):"
        );
        for ((step, kind), count) in all {
            let _ = writeln!(
                out,
                "  {step:<9} {kind:<18} {:>5} + {:<4} e.g. {}",
                count.touched, count.untouched, count.example
            );
        }
    }
}

/// The spread of the values that are there, and how many are not.
fn spread_of(values: impl Iterator<Item = Option<f64>>) -> (Option<Spread>, usize) {
    let mut there = Vec::new();
    let mut missing = 0;
    for v in values {
        match v {
            Some(v) => there.push(v),
            None => missing += 1,
        }
    }
    (Spread::of(&there), missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_has_min_median_max() {
        assert_eq!(Spread::of(&[]), None);
        let s = Spread::of(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.min, s.median, s.max), (1.0, 2.0, 3.0));
        let s = Spread::of(&[4.0, 1.0, 2.0, 3.0]).unwrap();
        assert_eq!((s.min, s.median, s.max), (1.0, 2.5, 4.0));
        assert_eq!(
            spread_of([Some(1.0), None, Some(-0.5)].into_iter()),
            (Spread::of(&[1.0, -0.5]), 1)
        );
    }

    #[test]
    fn reads_its_own_rss() {
        assert!(rss_kib().is_some_and(|k| k > 0));
    }
}
