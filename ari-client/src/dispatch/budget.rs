//! The one memory budget of the event path: bytes of frames received but not yet handled.
//!
//! The websocket reader takes a frame's bytes before routing it and the lane that handles
//! it gives them back. While the budget is spent the reader waits, so the server's TCP
//! stream waits too: back-pressure instead of unbounded queues, and nothing is dropped.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::sync::Notify;

pub(crate) struct Budget {
    limit: usize,
    used: AtomicUsize,
    /// The reader waits for bytes (only the reader takes them, so one flag suffices).
    waiting: AtomicBool,
    freed: Notify,
}

impl Budget {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            limit: limit.max(1),
            used: AtomicUsize::new(0),
            waiting: AtomicBool::new(false),
            freed: Notify::new(),
        }
    }

    /// Takes `bytes`, waiting while the budget is spent. A frame larger than the whole
    /// budget gets in when nothing else is queued.
    pub(crate) async fn take(&self, bytes: usize) {
        loop {
            let used = self.used.load(Ordering::Acquire);
            if used == 0 || used.saturating_add(bytes) <= self.limit {
                self.used.fetch_add(bytes, Ordering::AcqRel);
                return;
            }
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            self.waiting.store(true, Ordering::Release);
            // freed meanwhile: look again before sleeping
            let used = self.used.load(Ordering::Acquire);
            if used == 0 || used.saturating_add(bytes) <= self.limit {
                self.waiting.store(false, Ordering::Release);
                continue;
            }
            freed.await;
            self.waiting.store(false, Ordering::Release);
        }
    }

    /// Takes `bytes` more without waiting (a frame that goes to a second lane).
    pub(crate) fn add(&self, bytes: usize) {
        self.used.fetch_add(bytes, Ordering::AcqRel);
    }

    /// Gives `bytes` back.
    pub(crate) fn give(&self, bytes: usize) {
        self.used.fetch_sub(bytes, Ordering::AcqRel);
        if self.waiting.load(Ordering::Acquire) {
            self.freed.notify_one();
        }
    }

    /// The bytes taken now.
    pub(crate) fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test]
    async fn the_reader_waits_until_bytes_come_back() {
        let budget = Arc::new(Budget::new(100));
        budget.take(60).await;
        budget.take(40).await;
        let b = budget.clone();
        let waiter = tokio::spawn(async move { b.take(10).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(
            !waiter.is_finished(),
            "the budget is spent: the reader must wait"
        );
        budget.give(60);
        tokio::time::timeout(Duration::from_secs(1), waiter)
            .await
            .expect("released")
            .unwrap();
        assert_eq!(budget.used(), 50);
    }

    #[tokio::test]
    async fn an_oversize_frame_gets_in_alone() {
        let budget = Budget::new(10);
        budget.take(1000).await;
        assert_eq!(budget.used(), 1000);
        budget.give(1000);
        assert_eq!(budget.used(), 0);
    }
}
