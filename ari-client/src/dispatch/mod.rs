//! Event dispatch: from the websocket's frames to handlers, waiters and streams.
//!
//! Every object an event names (its channel, bridge, playback, …) has a **lane**: the
//! object's handlers run one event after the other, in wire order. An event that names
//! several objects (`ChannelEnteredBridge`: a channel and a bridge) goes into each of their
//! lanes. A handler that waits — for a REST call, a timer, another object's event —
//! delays only its own object's lane; every other object goes on ([`lane`] says how:
//! workers that poll handlers inline, and a task of the lane's own while one waits).
//! Events that name no object have one lane of their own.
//!
//! **Waiters** (`channel.next::<E>()`, `playback.finished()`, object streams) are served
//! when an event is *routed*, before any lane sees it, so a handler may await its own
//! object's next event. An object's end event completes its waiters with the event or
//! with an "ended" error; its handlers run for the end event and are released after it.
//!
//! Memory is bounded by one budget of bytes of frames queued in lanes ([`budget`]); while
//! it is spent the websocket reader waits. Nothing is dropped; frames that do not decode
//! and handlers that fail or panic are counted ([`DispatchStats`]) and logged.

mod budget;
mod lane;
mod register;
mod route;
mod stream;
mod table;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, RwLock};

use tokio::sync::mpsc;

use crate::events::{Event, EventKind, ObjectKind};
use crate::handler::ErasedHandler;

pub use register::Subscription;
pub(crate) use register::{ObjectStream, WaitError};
pub(crate) use route::Routed;
pub use stream::EventStream;
pub(crate) use table::EndReason;

/// Counters of the event path, since the client was built, and what is registered now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DispatchStats {
    /// Text frames received from the websocket.
    pub received: u64,
    /// Frames that did not decode into an event (logged at `warn`). Frames are decoded
    /// when a handler, waiter or stream wants them; nothing else drops events.
    pub decode_errors: u64,
    /// Handler calls made.
    pub handler_calls: u64,
    /// Handlers that returned an error (logged at `warn` with the event and object).
    pub handler_errors: u64,
    /// Handlers that panicked (logged at `error`; the lane goes on).
    pub handler_panics: u64,
    /// Handlers bound to one object (channel, bridge, playback, …) registered now.
    pub object_handlers: usize,
    /// Waiters registered now (`next`, `finished`, object streams).
    pub waiters: usize,
    /// Objects the dispatcher tracks now: with handlers, waiters or queued events, or
    /// subscribed to until their end event.
    pub objects: usize,
    /// Bytes of frames received and not yet handled (at most the budget, see
    /// [`ClientBuilder::event_budget`](crate::ClientBuilder::event_budget)).
    pub queued_bytes: usize,
    /// Binary websocket frames (Asterisk sends events as text; logged and skipped).
    pub binary_frames: u64,
    /// Frames over the size limit (64 MiB a message, 16 MiB a frame): the connection is
    /// dropped and comes back.
    pub oversize_frames: u64,
    /// Text frames that were not UTF-8: the connection is dropped and comes back.
    pub invalid_utf8: u64,
    /// Objects that were gone when the client reconnected (their end events were lost
    /// with the connection): ended by the resync.
    pub lost_objects: u64,
}

#[derive(Default)]
struct Counters {
    received: AtomicU64,
    decode_errors: AtomicU64,
    handler_calls: AtomicU64,
    handler_errors: AtomicU64,
    handler_panics: AtomicU64,
    object_handlers: AtomicUsize,
    waiters: AtomicUsize,
    binary_frames: AtomicU64,
    oversize_frames: AtomicU64,
    invalid_utf8: AtomicU64,
    lost_objects: AtomicU64,
}

/// Where a type handler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// `Client::on_event`: in the lane of the event's first object (or the lane of events
    /// that name none).
    Primary,
    /// `Client::on_<kind>_event`: in the lane of the event's first object of this kind.
    Kind(ObjectKind),
}

struct TypeHandler {
    id: u64,
    scope: Scope,
    handler: ErasedHandler,
}

/// The type handlers, by event type: an index, not a hash, on the event path.
struct TypeHandlers(Vec<Vec<TypeHandler>>);

impl Default for TypeHandlers {
    fn default() -> Self {
        // every known type and `EventKind::Unknown`
        Self((0..=EventKind::ALL.len()).map(|_| Vec::new()).collect())
    }
}

impl TypeHandlers {
    fn of(&self, kind: EventKind) -> &[TypeHandler] {
        &self.0[kind as usize]
    }

    fn of_mut(&mut self, kind: EventKind) -> &mut Vec<TypeHandler> {
        &mut self.0[kind as usize]
    }
}

/// What the dispatch path shares with the client: the objects and their lanes, the
/// handlers, the streams, the budget and the counters.
pub(crate) struct Hub {
    /// By kind, then by shard of the id ([`shard`]).
    objects: Vec<Vec<Mutex<table::KindTable>>>,
    /// The lane of the events that name no object.
    global: Mutex<table::Entry>,
    types: RwLock<TypeHandlers>,
    streams: Mutex<Vec<mpsc::Sender<Event>>>,
    /// Whether `streams` may be non-empty: spares the event path the lock when no one streams.
    has_streams: AtomicBool,
    budget: budget::Budget,
    /// The lanes' workers, started with the first event.
    workers: std::sync::OnceLock<lane::Workers>,
    /// Capacity of each stream (`Client::events`, object streams).
    stream_capacity: usize,
    counters: Counters,
    next_id: AtomicU64,
}

/// How many shards each kind's object table has; the lanes of one shard share a worker.
const SHARDS: usize = 16;

/// The shard of an object id: bits 32–35 of the tables' own hash of it ([`table::IdHasher`],
/// 8 bytes a step; ids are not chosen by an adversary who gains anything from a crowded
/// shard). Not its low or top bits: those place it in its shard's hash table, where every
/// id has the same shard bits.
fn shard(id: &str) -> usize {
    use std::hash::Hasher as _;
    let mut h = table::IdHasher::default();
    h.write(id.as_bytes());
    ((h.finish() >> 32) % SHARDS as u64) as usize
}

/// Locks a mutex of the hub; no user code runs under these locks, so a poisoned one is
/// still consistent.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Hub {
    /// A hub whose lanes may hold `budget` bytes of frames, with streams of `stream_capacity`.
    pub(crate) fn new(budget: usize, stream_capacity: usize) -> Self {
        Self {
            objects: ObjectKind::ALL
                .iter()
                .map(|_| (0..SHARDS).map(|_| Mutex::default()).collect())
                .collect(),
            global: Mutex::default(),
            types: RwLock::default(),
            streams: Mutex::default(),
            has_streams: AtomicBool::new(false),
            budget: budget::Budget::new(budget),
            workers: std::sync::OnceLock::new(),
            stream_capacity: stream_capacity.max(1),
            counters: Counters::default(),
            next_id: AtomicU64::new(0),
        }
    }

    /// The table shard of object `id` of kind `kind`.
    fn table(&self, kind: ObjectKind, id: &str) -> MutexGuard<'_, table::KindTable> {
        lock(&self.objects[kind.index()][shard(id)])
    }

    /// Every table shard, with its kind.
    fn tables(&self) -> impl Iterator<Item = (ObjectKind, &Mutex<table::KindTable>)> {
        ObjectKind::ALL
            .into_iter()
            .zip(&self.objects)
            .flat_map(|(kind, shards)| shards.iter().map(move |t| (kind, t)))
    }

    fn id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// The counters now.
    pub(crate) fn stats(&self) -> DispatchStats {
        let c = &self.counters;
        let objects = self.tables().map(|(_, t)| lock(t).entries.len()).sum();
        DispatchStats {
            received: c.received.load(Ordering::Relaxed),
            decode_errors: c.decode_errors.load(Ordering::Relaxed),
            handler_calls: c.handler_calls.load(Ordering::Relaxed),
            handler_errors: c.handler_errors.load(Ordering::Relaxed),
            handler_panics: c.handler_panics.load(Ordering::Relaxed),
            object_handlers: c.object_handlers.load(Ordering::Relaxed),
            waiters: c.waiters.load(Ordering::Relaxed),
            objects,
            queued_bytes: self.budget.used(),
            binary_frames: c.binary_frames.load(Ordering::Relaxed),
            oversize_frames: c.oversize_frames.load(Ordering::Relaxed),
            invalid_utf8: c.invalid_utf8.load(Ordering::Relaxed),
            lost_objects: c.lost_objects.load(Ordering::Relaxed),
        }
    }

    /// A binary frame was received and skipped.
    pub(crate) fn count_binary(&self) {
        self.counters.binary_frames.fetch_add(1, Ordering::Relaxed);
    }

    /// The connection was dropped for a frame over the limit (`oversize`) or not UTF-8.
    pub(crate) fn count_bad_frame(&self, oversize: bool) {
        let counter = if oversize {
            &self.counters.oversize_frames
        } else {
            &self.counters.invalid_utf8
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A resync ended this many lost objects.
    pub(crate) fn count_lost(&self, n: usize) {
        self.counters
            .lost_objects
            .fetch_add(n as u64, Ordering::Relaxed);
    }

    /// A new stream that receives every event from now on.
    pub(crate) fn subscribe_stream(&self) -> EventStream {
        let (tx, rx) = mpsc::channel(self.stream_capacity);
        lock(&self.streams).push(tx);
        self.has_streams.store(true, Ordering::Release);
        EventStream::new(rx)
    }

    /// Ends every stream (after the events already queued in it).
    pub(crate) fn close_streams(&self) {
        lock(&self.streams).clear();
        self.has_streams.store(false, Ordering::Release);
    }

    fn stream_senders(&self) -> Vec<mpsc::Sender<Event>> {
        if !self.has_streams.load(Ordering::Acquire) {
            return Vec::new();
        }
        let mut streams = lock(&self.streams);
        streams.retain(|s| !s.is_closed());
        if streams.is_empty() {
            self.has_streams.store(false, Ordering::Release);
        }
        streams.clone()
    }

    /// Decodes a frame; one that does not decode is counted and logged.
    fn decode(&self, text: &str) -> Option<Event> {
        self.decoded_or_counted(Event::from_json(text), text)
    }

    /// Decodes a frame whose type the scan found already.
    fn decode_of(&self, kind: EventKind, text: &str) -> Option<Event> {
        self.decoded_or_counted(Event::from_json_of(kind, text), text)
    }

    fn decoded_or_counted(
        &self,
        decoded: Result<Event, serde_json::Error>,
        text: &str,
    ) -> Option<Event> {
        match decoded {
            Ok(event) => Some(event),
            Err(e) => {
                self.counters.decode_errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, frame = %truncate(text, 512), "undecodable ARI event");
                None
            }
        }
    }

    /// Waits until every event routed so far has been handled by its lanes.
    pub(crate) async fn drain(self: &std::sync::Arc<Self>) {
        let mut barriers = Vec::new();
        let mut barrier = |entry: &mut table::Entry, key: lane::Key| {
            if entry.active() {
                let (tx, rx) = tokio::sync::oneshot::channel();
                self.enqueue(entry, key, table::Work::Barrier(tx));
                barriers.push(rx);
            }
        };
        barrier(&mut lock(&self.global), lane::Key::Global);
        for (kind, t) in self.tables() {
            for entry in lock(t).entries.values_mut() {
                let key = lane::Key::Object(kind, entry.name.clone());
                barrier(entry, key);
            }
        }
        for rx in barriers {
            // a lane that is gone has handled everything
            let _ = rx.await;
        }
    }
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
