//! Event dispatch: from decoded events to handlers and streams.
//!
//! Events are routed to a fixed set of worker tasks by the channel (or else bridge,
//! playback or recording target) they concern, so the events of one channel are handled
//! in order, one after the other, while different channels are handled concurrently.
//! Every queue is bounded: when a worker falls behind, the websocket reader waits, and
//! so does the server's TCP stream. No event is dropped; events that cannot be decoded
//! and handlers that panic are counted ([`DispatchStats`]) and logged.

mod registry;
mod stream;

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::FutureExt as _;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::events::{Event, OBJECT_FIELDS};
use crate::handler::ErasedHandler;
use crate::scan::{self, RouteKey};
use crate::ws::Frame;

pub(crate) use registry::Registry;
pub use registry::Subscription;
pub use stream::EventStream;

/// Counters of the event path, since the client was built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DispatchStats {
    /// Text frames received from the websocket.
    pub received: u64,
    /// Frames that did not decode into an event (logged at `warn`); nothing else drops events.
    pub decode_errors: u64,
    /// Handler calls made.
    pub handler_calls: u64,
    /// Handlers that panicked (logged at `error`; the worker goes on).
    pub handler_panics: u64,
    /// Handlers bound to one object (channel, bridge, playback, …) registered now.
    pub object_handlers: usize,
}

#[derive(Default)]
pub(crate) struct Counters {
    received: AtomicU64,
    decode_errors: AtomicU64,
    handler_calls: AtomicU64,
    handler_panics: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> DispatchStats {
        DispatchStats {
            received: self.received.load(Ordering::Relaxed),
            decode_errors: self.decode_errors.load(Ordering::Relaxed),
            handler_calls: self.handler_calls.load(Ordering::Relaxed),
            handler_panics: self.handler_panics.load(Ordering::Relaxed),
            object_handlers: 0,
        }
    }
}

/// What the dispatch path shares with the client: handlers, stream subscribers, counters.
#[derive(Default)]
pub(crate) struct Hub {
    pub(crate) registry: Arc<Registry>,
    streams: Mutex<Vec<mpsc::Sender<Event>>>,
    /// Whether `streams` may be non-empty: spares the event path the lock when no one streams.
    has_streams: AtomicBool,
    counters: Counters,
}

impl Hub {
    /// The counters now, with the number of object handlers.
    pub(crate) fn stats(&self) -> DispatchStats {
        DispatchStats {
            object_handlers: self.registry.object_handler_count(),
            ..self.counters.snapshot()
        }
    }

    /// A new stream that receives every event from now on.
    pub(crate) fn subscribe_stream(&self, capacity: usize) -> EventStream {
        let (tx, rx) = mpsc::channel(capacity);
        self.streams
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(tx);
        self.has_streams.store(true, Ordering::Release);
        EventStream::new(rx)
    }

    /// Ends every stream (after the events already queued in it).
    pub(crate) fn close_streams(&self) {
        self.streams
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        self.has_streams.store(false, Ordering::Release);
    }

    fn has_streams(&self) -> bool {
        self.has_streams.load(Ordering::Acquire)
    }

    /// Decodes a frame; one that does not decode is counted and logged.
    fn decode(&self, text: &str) -> Option<Event> {
        match Event::from_json(text) {
            Ok(event) => Some(event),
            Err(e) => {
                self.counters.decode_errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, frame = %truncate(text, 512), "undecodable ARI event");
                None
            }
        }
    }

    fn stream_senders(&self) -> Vec<mpsc::Sender<Event>> {
        if !self.has_streams() {
            return Vec::new();
        }
        let mut streams = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        streams.retain(|s| !s.is_closed());
        if streams.is_empty() {
            self.has_streams.store(false, Ordering::Release);
        }
        streams.clone()
    }
}

/// What goes to a worker: a frame it decodes itself, or an event the reader had to
/// decode already (for the streams, or to find its worker).
enum Work {
    Frame(Frame),
    Event(Event),
}

/// The sending side of the workers, owned by the websocket reader.
pub(crate) struct Dispatcher {
    hub: Arc<Hub>,
    shards: Vec<mpsc::Sender<Work>>,
    workers: Vec<JoinHandle<()>>,
}

impl Dispatcher {
    /// Starts `workers` worker tasks with queues of `capacity` events each.
    pub(crate) fn start(hub: Arc<Hub>, workers: usize, capacity: usize) -> Self {
        let mut shards = Vec::with_capacity(workers);
        let mut handles = Vec::with_capacity(workers);
        for _ in 0..workers.max(1) {
            let (tx, rx) = mpsc::channel(capacity.max(1));
            shards.push(tx);
            handles.push(tokio::spawn(worker(hub.clone(), rx)));
        }
        Self {
            hub,
            shards,
            workers: handles,
        }
    }

    /// Hands one text frame on. Waits while the queues are full.
    ///
    /// The worker of the frame's channel (or bridge, …) decodes it, so that decoding runs
    /// on every core and each event is freed where it was made; the reader only scans
    /// for the routing key. Streams need the decoded event in arrival order, so while a
    /// stream exists, or when the scan is unsure, the reader decodes the frame itself.
    pub(crate) async fn frame(&self, frame: Frame) {
        self.hub.counters.received.fetch_add(1, Ordering::Relaxed);
        if !self.hub.has_streams() {
            if let Some(key) = scan::route_key(frame.as_str(), OBJECT_FIELDS) {
                let shard = match key {
                    RouteKey::Id(id) => shard_for(&id, self.shards.len()),
                    RouteKey::None => 0,
                };
                // the worker only ends when its sender is dropped, in `finish`
                let _ = self.shards[shard].send(Work::Frame(frame)).await;
                return;
            }
        }
        if let Some(event) = self.hub.decode(frame.as_str()) {
            self.dispatch(event).await;
        }
    }

    /// Hands an event to the streams and to the worker of its channel or bridge.
    async fn dispatch(&self, event: Event) {
        for stream in self.hub.stream_senders() {
            // a stream dropped meanwhile is pruned on the next event
            let _ = stream.send(event.clone()).await;
        }
        let shard = shard_of(&event, self.shards.len());
        let _ = self.shards[shard].send(Work::Event(event)).await;
    }

    /// Lets the workers finish every queued event, then returns.
    pub(crate) async fn finish(self) {
        drop(self.shards);
        for worker in self.workers {
            let _ = worker.await;
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

/// The worker index for an event: by the first object it names (its channel, else its
/// bridge, …, in the order of the generated `OBJECT_FIELDS`), so that all events of one
/// object stay in order.
fn shard_of(event: &Event, shards: usize) -> usize {
    let mut shard = 0;
    let mut first = true;
    event.for_each_object(|_, id| {
        if first {
            shard = shard_for(id, shards);
            first = false;
        }
    });
    shard
}

/// The worker of a routing key.
fn shard_for(key: &str, shards: usize) -> usize {
    if shards <= 1 {
        return 0;
    }
    let mut h = DefaultHasher::new();
    key.hash(&mut h);
    (h.finish() % shards as u64) as usize
}

/// How many queued events a worker takes at once: fewer wake-ups under load.
const BATCH: usize = 64;

async fn worker(hub: Arc<Hub>, mut rx: mpsc::Receiver<Work>) {
    let mut handlers = Vec::new();
    let mut batch = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        for work in batch.drain(..) {
            let event = match work {
                Work::Event(event) => event,
                Work::Frame(frame) => match hub.decode(frame.as_str()) {
                    Some(event) => event,
                    None => continue,
                },
            };
            handle(&hub, event, &mut handlers).await;
        }
    }
}

/// Runs the handlers of one event, one after the other, then releases ended objects.
async fn handle(hub: &Hub, event: Event, handlers: &mut Vec<ErasedHandler>) {
    hub.registry.matching(&event, handlers);
    let ended = Registry::ended_by(&event);
    let kind = event.kind();
    // every handler but the last gets a clone; the last one gets the event itself
    let mut event = Some(event);
    let n = handlers.len();
    for (i, handler) in handlers.drain(..).enumerate() {
        let ev = match event.take() {
            Some(ev) if i + 1 < n => {
                let copy = ev.clone();
                event = Some(ev);
                copy
            }
            Some(ev) => ev,
            None => break,
        };
        hub.counters.handler_calls.fetch_add(1, Ordering::Relaxed);
        if AssertUnwindSafe(handler(ev)).catch_unwind().await.is_err() {
            hub.counters.handler_panics.fetch_add(1, Ordering::Relaxed);
            tracing::error!(event = %kind, "an ARI event handler panicked");
        }
    }
    hub.registry.release(&ended);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reader's scan and the decoded event agree on the worker of every real event.
    #[test]
    fn scanned_route_matches_the_decoded_event() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut texts = Vec::new();
        for sub in ["events", "recorded/events"] {
            for entry in std::fs::read_dir(dir.join(sub)).unwrap() {
                let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
                if text.trim_start().starts_with('{') && !text.contains("}\n{") {
                    // one pretty-printed event per file: compact it as Asterisk sends it
                    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
                    texts.push(value.to_string());
                } else {
                    texts.extend(
                        text.lines()
                            .filter(|l| !l.trim().is_empty())
                            .map(str::to_owned),
                    );
                }
            }
        }
        assert!(texts.len() > 50, "fixtures missing");
        let mut keyed = 0;
        for text in &texts {
            let event = Event::from_json(text).unwrap();
            let mut objects = Vec::new();
            event.for_each_object(|kind, id| objects.push((kind, id.to_owned())));
            let decoded = objects.first().map(|(_, id)| id.as_str());
            let scanned = match scan::route_key(text, OBJECT_FIELDS).expect("Asterisk's JSON scans")
            {
                RouteKey::Id(id) => Some(id.into_owned()),
                RouteKey::None => None,
            };
            let scanned = scanned.as_deref();
            assert_eq!(scanned, decoded, "{text}");
            keyed += usize::from(decoded.is_some());
            for shards in [1, 2, 16] {
                assert_eq!(
                    shard_of(&event, shards),
                    decoded.map_or(0, |k| shard_for(k, shards))
                );
            }
        }
        assert!(keyed > 40);
    }
}
