//! A lane's task: takes the queued events of one object in order and runs their handlers,
//! one after the other, each awaited to its end; exits when the queue is empty.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use futures_util::FutureExt as _;

use super::table::{Entry, Work};
use super::{lock, Hub, Scope};
use crate::events::{Event, EventKind, ObjectKind};
use crate::handler::{Ctx, ErasedHandler};

/// How many queued items a lane takes at once: fewer lock round trips under load.
const BATCH: usize = 32;

/// Which lane.
#[derive(Clone)]
enum Key {
    /// The events that name no object.
    Global,
    Object(ObjectKind, Box<str>),
}

impl Hub {
    pub(super) fn spawn_lane(self: &Arc<Self>, kind: ObjectKind, id: &str) {
        tokio::spawn(run(self.clone(), Key::Object(kind, id.into())));
    }

    pub(super) fn spawn_global_lane(self: &Arc<Self>) {
        tokio::spawn(run(self.clone(), Key::Global));
    }

    /// Runs `f` on the lane's entry, under its table's lock; removes the entry afterwards
    /// when nothing keeps it.
    fn with_entry<T>(&self, key: &Key, f: impl FnOnce(&mut Entry) -> T) -> Option<T> {
        match key {
            Key::Global => Some(f(&mut lock(&self.global))),
            Key::Object(kind, id) => {
                let mut table = self.table(*kind);
                let entry = table.entries.get_mut(&**id)?;
                let out = f(entry);
                if entry.idle() {
                    table.entries.remove(&**id);
                }
                Some(out)
            }
        }
    }

    /// Releases the handlers of life `life` (and older) of the lane's object.
    fn release(&self, key: &Key, life: u32) {
        self.with_entry(key, |entry| {
            let before = entry.handlers.len();
            entry.handlers.retain(|h| h.life > life);
            self.counters
                .object_handlers
                .fetch_sub(before - entry.handlers.len(), Ordering::Relaxed);
        });
    }

    /// The handlers of one event in this lane, in order: plain type handlers (on the
    /// event's first object), kind handlers (on its first object of that kind), then the
    /// object's own.
    fn handlers_of(
        &self,
        key: &Key,
        kind: EventKind,
        primary: bool,
        first_of_kind: bool,
        out: &mut Vec<ErasedHandler>,
    ) {
        let object_kind = match key {
            Key::Global => None,
            Key::Object(k, _) => Some(*k),
        };
        if primary || first_of_kind {
            let types = self.types.read().unwrap_or_else(|p| p.into_inner());
            for h in types.get(&kind).into_iter().flatten() {
                let runs_here = match h.scope {
                    Scope::Primary => primary,
                    Scope::Kind(k) => first_of_kind && Some(k) == object_kind,
                };
                if runs_here {
                    out.push(h.handler.clone());
                }
            }
        }
        if let Key::Object(..) = key {
            self.with_entry(key, |entry| {
                out.extend(
                    entry
                        .handlers
                        .iter()
                        .filter(|h| h.event == kind)
                        .map(|h| h.handler.clone()),
                );
            });
        }
    }

    /// Handles one item of its lane.
    async fn handle(&self, key: &Key, work: Work, handlers: &mut Vec<ErasedHandler>) {
        match work {
            Work::Release { life } => self.release(key, life),
            Work::Barrier(done) => {
                let _ = done.send(());
            }
            Work::Event {
                kind,
                frame,
                decoded,
                primary,
                first_of_kind,
                ends,
                bytes,
            } => {
                self.handlers_of(key, kind, primary, first_of_kind, handlers);
                if !handlers.is_empty() {
                    // decoded once, by the reader or here
                    let event = match decoded {
                        Some(shared) => Some(Arc::unwrap_or_clone(shared)),
                        None => self.decode(frame.as_str()),
                    };
                    if let Some(event) = event {
                        self.call_all(key, event, handlers).await;
                    }
                    handlers.clear();
                }
                if let Some(life) = ends {
                    self.release(key, life);
                }
                self.budget.give(bytes);
            }
        }
    }

    async fn call_all(&self, key: &Key, event: Event, handlers: &mut Vec<ErasedHandler>) {
        let object = match key {
            Key::Global => None,
            Key::Object(kind, id) => Some((*kind, &**id)),
        };
        let kind = event.kind();
        let mut event = Some(event);
        let n = handlers.len();
        for (i, handler) in handlers.drain(..).enumerate() {
            let ev = if i + 1 < n {
                event.clone()
            } else {
                event.take()
            };
            let Some(ev) = ev else { break };
            let Some(call) = handler(ev, Ctx { object }) else {
                continue;
            };
            self.counters.handler_calls.fetch_add(1, Ordering::Relaxed);
            match AssertUnwindSafe(call).catch_unwind().await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    self.counters.handler_errors.fetch_add(1, Ordering::Relaxed);
                    let error = error.chain();
                    match object {
                        Some((k, id)) => tracing::warn!(
                            event = %kind, object = %k, id, %error,
                            "ARI event handler failed"
                        ),
                        None => tracing::warn!(event = %kind, %error, "ARI event handler failed"),
                    }
                }
                Err(_) => {
                    self.counters.handler_panics.fetch_add(1, Ordering::Relaxed);
                    match object {
                        Some((k, id)) => tracing::error!(
                            event = %kind, object = %k, id,
                            "an ARI event handler panicked"
                        ),
                        None => tracing::error!(event = %kind, "an ARI event handler panicked"),
                    }
                }
            }
        }
    }
}

async fn run(hub: Arc<Hub>, key: Key) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut handlers = Vec::new();
    loop {
        let more = hub.with_entry(&key, |entry| {
            let n = entry.queue.len().min(BATCH);
            batch.extend(entry.queue.drain(..n));
            if batch.is_empty() {
                entry.running = false;
            }
            !batch.is_empty()
        });
        if more != Some(true) {
            return;
        }
        for work in batch.drain(..) {
            hub.handle(&key, work, &mut handlers).await;
        }
    }
}
