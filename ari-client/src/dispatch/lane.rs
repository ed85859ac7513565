//! Running the lanes: a fixed set of workers takes the lanes' work in order, and a lane
//! whose handler waits is handed to a task of its own until it has caught up.
//!
//! Every lane belongs to one worker (by a hash of its object), which gets the lane's items
//! in routing order. The worker runs an item's handlers one after the other and polls each
//! handler's future once, inline: most handlers finish there (a counter, a log line, a
//! registration), which costs no task and no wake-up. A handler that is not finished at
//! once — it awaits a REST call, a timer, another event — is handed, with the rest of the
//! item, to a task of its own that owns the lane meanwhile: items for the lane that arrive
//! at the worker are parked in the lane, in order, and the task handles them, awaiting
//! each handler, until none is left; then the lane goes back to its worker. So a handler
//! that waits delays only its own object, and one object's items always run in order.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::task::Poll;

use futures_util::FutureExt as _;
use tokio::sync::mpsc;

use super::table::{Entry, Work};
use super::{lock, shard, Hub, Scope};
use crate::error::Result;
use crate::events::{Event, EventKind, ObjectKind, Snapshot, OBJECT_FIELDS};
use crate::handler::{Ctx, ErasedHandler, HandlerFuture};

/// How many workers run the lanes (one per shard of the object tables). Handlers that
/// wait leave their worker, so this bounds only how much non-waiting handler code runs at
/// once.
const WORKERS: usize = super::SHARDS;

/// How many items a worker takes from its queue at once: fewer wake-ups under load.
const BATCH: usize = 64;

/// Which lane.
#[derive(Clone)]
pub(super) enum Key {
    /// The events that name no object.
    Global,
    Object(ObjectKind, Arc<str>),
}

/// The senders of the workers' queues.
pub(super) type Workers = Vec<mpsc::UnboundedSender<(Key, Work)>>;

impl Key {
    fn worker(&self) -> usize {
        match self {
            Key::Global => 0,
            Key::Object(_, id) => shard(id),
        }
    }

    fn object(&self) -> Option<(ObjectKind, &str)> {
        match self {
            Key::Global => None,
            Key::Object(kind, id) => Some((*kind, id)),
        }
    }
}

/// The end of one handler call.
enum Call {
    Done,
    /// Not finished at its first poll: the rest must run in a task of its own.
    Waiting(HandlerFuture),
}

impl Hub {
    /// Queues `work` into the lane of `entry` (`key`): counted in the entry until done.
    pub(super) fn enqueue(self: &Arc<Self>, entry: &mut Entry, key: Key, work: Work) {
        entry.pending += 1;
        let workers = self
            .workers
            .get_or_init(|| start_workers(Arc::downgrade(self)));
        // a worker only ends when the hub is gone
        let _ = workers[key.worker()].send((key, work));
    }

    /// Runs `f` on the lane's entry, under its table's lock; removes the entry afterwards
    /// when nothing keeps it.
    fn with_entry<T>(&self, key: &Key, f: impl FnOnce(&mut Entry) -> T) -> Option<T> {
        match key {
            Key::Global => Some(f(&mut lock(&self.global))),
            Key::Object(kind, id) => {
                let mut table = self.table(*kind, id);
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
    fn release(entry: &mut Entry, hub: &Hub, life: u32) {
        entry.released = Some(life);
        let before = entry.handlers.len();
        entry.handlers.retain(|h| h.life > life);
        hub.counters
            .object_handlers
            .fetch_sub(before - entry.handlers.len(), Ordering::Relaxed);
    }

    /// An item is done: release what its end releases, keep the object's last snapshot,
    /// give its bytes back.
    fn done(&self, key: &Key, ends: Option<u32>, bytes: usize, snapshot: Option<Box<Snapshot>>) {
        self.with_entry(key, |entry| {
            if let Some(life) = ends {
                Self::release(entry, self, life);
            }
            if snapshot.is_some() {
                entry.snapshot = snapshot;
            }
            entry.pending -= 1;
        });
        self.budget.give(bytes);
    }

    /// The type handlers of one event in this lane, in order: plain type handlers (on the
    /// event's first object), then kind handlers (on its first object of that kind).
    fn type_handlers(
        &self,
        key: &Key,
        kind: EventKind,
        primary: bool,
        first_of_kind: bool,
        out: &mut Vec<ErasedHandler>,
    ) {
        if !(primary || first_of_kind) {
            return;
        }
        let object_kind = key.object().map(|(k, _)| k);
        let types = self.types.read().unwrap_or_else(|p| p.into_inner());
        for h in types.of(kind) {
            let runs_here = match h.scope {
                Scope::Primary => primary,
                Scope::Kind(k) => first_of_kind && Some(k) == object_kind,
            };
            if runs_here {
                out.push(h.handler.clone());
            }
        }
    }

    /// Takes the next item of a lane, with the object's own handlers of its event (pushed
    /// onto `own`), under one lock: from the worker (`work`, parked instead while a task
    /// owns the lane), or from the lane's parked items (`work` `None`, for that task; the
    /// lane goes back to its worker when none is left).
    fn take(&self, key: &Key, work: Option<Work>, own: &mut Vec<ErasedHandler>) -> Option<Work> {
        self.with_entry(key, |entry| {
            let mut work = match work {
                Some(work) if entry.busy => {
                    entry.parked.get_or_insert_default().push_back(work);
                    return None;
                }
                Some(work) => work,
                None => match entry.parked.as_mut().and_then(|p| p.pop_front()) {
                    Some(work) => work,
                    None => {
                        entry.busy = false;
                        return None;
                    }
                },
            };
            if let Work::Event {
                kind, place, known, ..
            } = &mut work
            {
                own.extend(
                    entry
                        .handlers
                        .iter()
                        .filter(|h| h.event == *kind)
                        .map(|h| h.handler.clone()),
                );
                if place.is_some() {
                    *known = entry.snapshot.take();
                }
            }
            Some(work)
        })
        .flatten()
    }

    /// Handles one item on its worker, with the object's own handlers of its event (from
    /// [`take`](Self::take), in `handlers`, which it leaves empty: a buffer the worker
    /// reuses). Returns what is left when a handler waits: the lane then belongs to a task
    /// of its own.
    async fn handle_inline(
        self: &Arc<Self>,
        key: &Key,
        work: Work,
        handlers: &mut Vec<ErasedHandler>,
    ) -> Option<Rest> {
        match work {
            Work::Release { life } => {
                self.with_entry(key, |entry| Self::release(entry, self, life));
                self.done(key, None, 0, None);
                None
            }
            Work::Barrier(done) => {
                let _ = done.send(());
                self.done(key, None, 0, None);
                None
            }
            Work::Event {
                kind,
                frame,
                decoded,
                primary,
                first_of_kind,
                ends,
                bytes,
                place,
                known,
            } => {
                // the type handlers first, then the object's own
                let own = handlers.len();
                self.type_handlers(key, kind, primary, first_of_kind, handlers);
                handlers.rotate_left(own);
                let (event, snapshot) = match (handlers.is_empty(), decoded, place) {
                    (true, _, _) => (None, known),
                    // decoded once, by the reader or here
                    (false, Some(shared), _) => (Some(Arc::unwrap_or_clone(shared)), known),
                    (false, None, Some(place)) => {
                        let text = frame.as_str();
                        let (field, object, _) = OBJECT_FIELDS[place.field()];
                        let (decoded, snapshot) = Event::from_json_reusing(
                            kind,
                            text,
                            (object, field),
                            place.at(),
                            known,
                        );
                        (self.decoded_or_counted(decoded, text), snapshot)
                    }
                    (false, None, None) => (self.decode_of(kind, frame.as_str()), known),
                };
                let mut rest = Rest {
                    handlers: std::mem::take(handlers),
                    next: 0,
                    event,
                    waiting: None,
                    ends,
                    bytes,
                    snapshot,
                };
                while let Some(call) = rest.next_call(key) {
                    let call = self.counted(call);
                    match self.poll_once(key, kind, call).await {
                        Call::Done => {}
                        Call::Waiting(fut) => {
                            rest.waiting = Some(fut);
                            return Some(rest);
                        }
                    }
                }
                // the buffer goes back to the worker, emptied
                *handlers = rest.handlers;
                handlers.clear();
                self.done(key, ends, bytes, rest.snapshot);
                None
            }
        }
    }

    /// Awaits what is left of an item.
    async fn finish(self: &Arc<Self>, key: &Key, mut rest: Rest) {
        let kind_of = |rest: &Rest| rest.event.as_ref().map_or(EventKind::Unknown, Event::kind);
        let kind = kind_of(&rest);
        if let Some(fut) = rest.waiting.take() {
            self.report(key, kind, AssertUnwindSafe(fut).catch_unwind().await);
        }
        while let Some(call) = rest.next_call(key) {
            let call = self.counted(call);
            self.report(key, kind, AssertUnwindSafe(call).catch_unwind().await);
        }
        self.done(key, rest.ends, rest.bytes, rest.snapshot);
    }

    fn counted(&self, call: HandlerFuture) -> HandlerFuture {
        self.counters.handler_calls.fetch_add(1, Ordering::Relaxed);
        call
    }

    /// Polls a handler's future once, here.
    async fn poll_once(&self, key: &Key, kind: EventKind, mut call: HandlerFuture) -> Call {
        let polled = std::future::poll_fn(|cx| {
            Poll::Ready(std::panic::catch_unwind(AssertUnwindSafe(|| {
                call.as_mut().poll(cx)
            })))
        })
        .await;
        match polled {
            Ok(Poll::Ready(outcome)) => {
                self.report(key, kind, Ok(outcome));
                Call::Done
            }
            Ok(Poll::Pending) => Call::Waiting(call),
            Err(panic) => {
                self.report(key, kind, Err(panic));
                Call::Done
            }
        }
    }

    /// Counts and logs how a handler call ended.
    fn report(
        &self,
        key: &Key,
        kind: EventKind,
        outcome: std::result::Result<Result<()>, Box<dyn std::any::Any + Send>>,
    ) {
        let object = key.object();
        match outcome {
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

    /// A lane's own task: what is left of the item whose handler waits, then the items
    /// parked meanwhile, until none is left; then the lane goes back to its worker.
    async fn own_lane(self: Arc<Self>, key: Key, rest: Rest) {
        self.finish(&key, rest).await;
        let mut handlers = Vec::new();
        while let Some(work) = self.take(&key, None, &mut handlers) {
            if let Some(rest) = self.handle_inline(&key, work, &mut handlers).await {
                self.finish(&key, rest).await;
            }
        }
    }
}

/// What is left of an item when one of its handlers waits.
struct Rest {
    handlers: Vec<ErasedHandler>,
    /// The next handler to call.
    next: usize,
    event: Option<Event>,
    /// The handler call that waits.
    waiting: Option<HandlerFuture>,
    ends: Option<u32>,
    bytes: usize,
    /// The lane's object's snapshot to keep.
    snapshot: Option<Box<Snapshot>>,
}

impl Rest {
    /// The next handler's call: each handler but the last gets a copy of the event.
    fn next_call(&mut self, key: &Key) -> Option<HandlerFuture> {
        loop {
            let handler = self.handlers.get(self.next)?;
            self.next += 1;
            let event = if self.next < self.handlers.len() {
                self.event.clone()
            } else {
                self.event.take()
            }?;
            if let Some(call) = handler(
                event,
                Ctx {
                    object: key.object(),
                },
            ) {
                return Some(call);
            }
        }
    }
}

fn start_workers(hub: Weak<Hub>) -> Workers {
    (0..WORKERS)
        .map(|_| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(worker(hub.clone(), rx));
            tx
        })
        .collect()
}

/// One worker: the items of its lanes, in order; a lane owned by its own task gets its
/// items parked.
async fn worker(hub: Weak<Hub>, mut rx: mpsc::UnboundedReceiver<(Key, Work)>) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut handlers = Vec::new();
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        let Some(hub) = hub.upgrade() else { return };
        for (key, work) in batch.drain(..) {
            let Some(work) = hub.take(&key, Some(work), &mut handlers) else {
                continue;
            };
            if let Some(rest) = hub.handle_inline(&key, work, &mut handlers).await {
                hub.with_entry(&key, |entry| entry.busy = true);
                tokio::spawn(hub.clone().own_lane(key, rest));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::Channel;
    use crate::ws::Frame;
    use std::sync::Mutex;

    fn dtmf(digit: &str, state: &str) -> String {
        format!(
            r#"{{"type":"ChannelDtmfReceived","timestamp":"2026-11-26T13:22:17.521+0000","digit":"{digit}","duration_ms":100,"channel":{{"id":"c1","name":"PJSIP/a-00000001","state":"{state}","caller":{{"name":"","number":"100"}},"connected":{{"name":"","number":""}},"dialplan":{{"context":"in","exten":"100","priority":1}},"creationtime":"2026-11-26T13:22:17.520+0000"}},"application":"app"}}"#
        )
    }

    #[tokio::test]
    async fn a_lane_shares_an_unchanged_snapshot_and_decodes_a_changed_one() {
        let hub = Arc::new(Hub::new(1 << 20, 16));
        let seen: Arc<Mutex<Vec<Arc<Channel>>>> = Arc::default();
        let s = seen.clone();
        let handler: ErasedHandler = Arc::new(move |event: Event, _ctx: Ctx<'_>| {
            s.lock().unwrap().push(event.channel()?.clone());
            Some(Box::pin(async { Ok(()) }) as HandlerFuture)
        });
        hub.add_object(
            ObjectKind::Channel,
            "c1",
            EventKind::ChannelDtmfReceived,
            handler,
        )
        .unwrap();
        for (digit, state) in [("1", "Up"), ("2", "Up"), ("3", "Ring"), ("4", "Ring")] {
            hub.route(Frame::from(dtmf(digit, state).as_str())).await;
        }
        hub.drain().await;
        let seen = seen.lock().unwrap();
        let states: Vec<&str> = seen.iter().map(|c| c.state.as_str()).collect();
        assert_eq!(states, ["Up", "Up", "Ring", "Ring"]);
        assert!(Arc::ptr_eq(&seen[0], &seen[1]), "the same text: shared");
        assert!(!Arc::ptr_eq(&seen[1], &seen[2]), "a changed text: decoded");
        assert!(Arc::ptr_eq(&seen[2], &seen[3]), "the new snapshot is kept");
    }
}
