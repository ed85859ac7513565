//! Sending at the codec's frame time: one frame a tick of a [`tokio::time::Interval`].
//!
//! The interval's [`MissedTickBehavior`] is `Skip`: when the sender falls behind (a busy
//! runtime, a slow producer), the frames it owes are not sent in a burst to catch up
//! (`Burst`, tokio's default, would), and the ticks stay on the grid of the stream's start
//! instead of drifting by each delay (`Delay`). After a pause longer than a frame (the
//! application had nothing to say) the grid starts anew at the next frame, which is marked
//! as the start of a talkspurt; the media clock (RTP timestamps) still advances by the
//! real time that passed.

use std::time::Duration;

use tokio::time::{Instant, Interval, MissedTickBehavior};

/// The next frame's place on the media clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Slot {
    /// Frames since the stream's first by the media clock: one more than the last within
    /// a talkspurt (the frames are contiguous audio, whatever the send jitter); after a
    /// pause, the frames that the pause lasted are counted too.
    pub(crate) index: u64,
    /// The first frame after a pause (or the very first): the start of a talkspurt.
    pub(crate) resumed: bool,
}

/// One frame a `ptime`, no burst.
#[derive(Debug)]
pub(crate) struct Pacer {
    ptime: Duration,
    interval: Option<Interval>,
    start: Instant,
    /// When the last frame went, and its index.
    last: Option<(Instant, u64)>,
}

impl Pacer {
    /// A pacer for frames of `ptime` (at least 1 ms).
    pub(crate) fn new(ptime: Duration) -> Self {
        Self {
            ptime: ptime.max(Duration::from_millis(1)),
            interval: None,
            start: Instant::now(),
            last: None,
        }
    }

    /// Waits for the next frame's slot.
    pub(crate) async fn next(&mut self) -> Slot {
        let now = Instant::now();
        // nothing sent for more than a frame past its slot: a pause; the grid starts anew
        let resumed = match self.last {
            None => true,
            Some((at, _)) => now.saturating_duration_since(at) > self.ptime * 2,
        };
        let interval = match (&mut self.interval, resumed) {
            (Some(interval), false) => interval,
            (slot, _) => {
                if self.last.is_none() {
                    self.start = now;
                }
                let mut interval = tokio::time::interval_at(now, self.ptime);
                interval.set_missed_tick_behavior(MissedTickBehavior::Skip);
                slot.insert(interval)
            }
        };
        interval.tick().await;
        let sent = Instant::now();
        let index = match self.last {
            None => 0,
            Some((_, prev)) if !resumed => prev + 1,
            Some((_, prev)) => {
                let elapsed =
                    sent.saturating_duration_since(self.start).as_nanos() / self.ptime.as_nanos();
                (prev + 1).max(u64::try_from(elapsed).unwrap_or(u64::MAX))
            }
        };
        self.last = Some((sent, index));
        Slot { index, resumed }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PTIME: Duration = Duration::from_millis(20);

    #[tokio::test(start_paused = true)]
    async fn frames_go_at_the_frame_time() {
        let mut pacer = Pacer::new(PTIME);
        let t0 = Instant::now();
        let mut sent = Vec::new();
        for _ in 0..50 {
            let slot = pacer.next().await;
            sent.push((Instant::now() - t0, slot.index, slot.resumed));
        }
        for (n, (at, index, resumed)) in sent.iter().enumerate() {
            assert_eq!(*at, PTIME * n as u32, "frame {n}");
            assert_eq!(*index, n as u64);
            assert_eq!(*resumed, n == 0);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_late_producer_gets_no_burst() {
        let mut pacer = Pacer::new(PTIME);
        let t0 = Instant::now();
        pacer.next().await;
        pacer.next().await; // 20 ms
                            // the producer is late by 1.75 frames within a talkspurt
        tokio::time::sleep(Duration::from_millis(35)).await; // now 55 ms
        let mut at = Vec::new();
        let mut index = Vec::new();
        for _ in 0..4 {
            index.push(pacer.next().await.index);
            at.push((Instant::now() - t0).as_millis());
        }
        // the late frame at once, then back on the 20 ms grid: never two in one tick
        assert_eq!(at, [55, 60, 80, 100]);
        assert_eq!(index, [2, 3, 4, 5]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_runtime_gets_no_burst() {
        let mut pacer = Pacer::new(PTIME);
        let t0 = Instant::now();
        pacer.next().await;
        // the runtime stalls for 5 frames while the sender waits for its tick
        let mut waiting = Box::pin(pacer.next());
        assert!(tokio::time::timeout(Duration::ZERO, &mut waiting)
            .await
            .is_err());
        tokio::time::advance(Duration::from_millis(100)).await;
        waiting.await;
        let mut at = vec![(Instant::now() - t0).as_millis()];
        for _ in 0..3 {
            pacer.next().await;
            at.push((Instant::now() - t0).as_millis());
        }
        // Burst would send the 4 missed frames at 100 ms; Skip sends one, then 20 ms apart
        assert_eq!(at, [100, 120, 140, 160]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_restarts_the_grid_and_the_clock_counts_it() {
        let mut pacer = Pacer::new(PTIME);
        let t0 = Instant::now();
        for _ in 0..3 {
            pacer.next().await; // 0, 20, 40
        }
        tokio::time::sleep(Duration::from_millis(1_005)).await; // now 1045
        let first = pacer.next().await;
        assert!(first.resumed);
        assert_eq!((Instant::now() - t0).as_millis(), 1_045);
        // the media clock: 1045 ms are 52 whole frames since the start
        assert_eq!(first.index, 52);
        let second = pacer.next().await;
        assert!(!second.resumed);
        assert_eq!((Instant::now() - t0).as_millis(), 1_065);
        assert_eq!(second.index, 53);
    }

    #[tokio::test(start_paused = true)]
    async fn measured_rate_over_a_second() {
        let mut pacer = Pacer::new(PTIME);
        let t0 = Instant::now();
        let mut n = 0;
        while Instant::now() - t0 < Duration::from_secs(1) {
            pacer.next().await;
            n += 1;
        }
        // ticks at 0, 20, …, 1000 ms
        assert_eq!(n, 51);
    }
}
