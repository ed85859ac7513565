//! Routing one frame: find what it is and which objects it names, serve the waiters and
//! streams, and queue it into the lanes that have something to do with it.

use std::borrow::Cow;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::sync::mpsc;

use super::lane::Key;
use super::table::{EndReason, Entry, Tomb, WaitTx, Work};
use super::{lock, Hub, Scope};
use crate::events::{Event, EventKind, ObjectKind, MOST_OBJECTS};
use crate::scan;
use crate::ws::Frame;

/// What the connection learns from routing a frame.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Routed {
    /// Nothing it must act on.
    Done,
    /// `ApplicationReplaced`: another connection registered this application.
    Replaced(String),
}

/// The objects an event names, in the order of `OBJECT_FIELDS`, in the first places (no
/// allocation on the event path).
type Objects<'a> = [Option<scan::Named<'a, ObjectKind>>; MOST_OBJECTS];

/// Stream waiters whose queue was full: sent to after the table lock is released, which
/// makes the reader wait for them (back-pressure, nothing dropped).
type Deferred = Vec<(mpsc::Sender<Arc<Event>>, Arc<Event>)>;

/// What the type handlers want of an event of one type.
struct Wanted {
    primary: bool,
    /// Bit `kind.index()`: a handler of this kind's first object.
    kinds: u64,
}

impl Hub {
    /// Routes one frame. Waits while the budget is spent or a stream is full.
    pub(crate) async fn route(self: &Arc<Self>, frame: Frame) -> Routed {
        let seq = self.counters.received.fetch_add(1, Ordering::AcqRel) + 1;
        let text = frame.as_str();
        let mut decoded: Option<Arc<Event>> = None;
        let (kind, objects): (EventKind, Objects<'_>) = match crate::events::head(text) {
            Some(head) => (EventKind::from_type_name(head.kind), head.into_objects()),
            None => {
                // the scanner is unsure: serde decides (and counts what does not decode)
                let Some(event) = self.decode(text) else {
                    return Routed::Done;
                };
                let mut objects: Objects<'_> = Default::default();
                let mut n = 0;
                event.for_each_object(|k, id| {
                    match objects.get_mut(n) {
                        Some(slot) => {
                            *slot = Some(scan::Named {
                                kind: k,
                                id: Cow::Owned(id.to_owned()),
                                place: None,
                            })
                        }
                        // no event of the specs names that many objects
                        None => tracing::warn!(kind = %k, id, "an event names too many objects: this one gets none of its handlers"),
                    }
                    n += 1;
                });
                let kind = event.kind();
                decoded = Some(Arc::new(event));
                (kind, objects)
            }
        };
        let mut routed = Routed::Done;
        if kind == EventKind::ApplicationReplaced {
            if let Some(event) = self.decoded(&mut decoded, kind, text) {
                let app = event.application().unwrap_or_default().to_owned();
                routed = Routed::Replaced(app);
            }
        }
        let senders = self.stream_senders();
        if !senders.is_empty() {
            if let Some(event) = self.decoded(&mut decoded, kind, text) {
                for stream in senders {
                    // a stream dropped meanwhile is pruned on the next event
                    let _ = stream.send((*event).clone()).await;
                }
            }
        }
        let wanted = self.wanted(kind);
        let bytes = text.len();
        self.budget.take(bytes).await;
        let mut queued = 0;
        let mut deferred = Deferred::new();
        if objects[0].is_none() {
            let mut global = lock(&self.global);
            if wanted.primary || global.active() {
                let work = Work::Event {
                    kind,
                    frame: frame.clone(),
                    decoded: decoded.clone(),
                    primary: true,
                    first_of_kind: false,
                    ends: None,
                    bytes,
                    place: None,
                    known: None,
                };
                self.enqueue(&mut global, Key::Global, work);
                queued += 1;
            }
        }
        let mut seen = 0u64;
        for (i, named) in objects.iter().map_while(Option::as_ref).enumerate() {
            let (object_kind, id) = (&named.kind, &named.id);
            let bit = 1u64 << object_kind.index();
            let first_of_kind = seen & bit == 0;
            seen |= bit;
            let wants = (i == 0 && wanted.primary) || (first_of_kind && wanted.kinds & bit != 0);
            let tomb = || Tomb {
                reason: EndReason::Event(kind),
                frame: Some(frame.clone()),
                seq,
            };
            // the rest, once the object's entry is found or made: whether it can go
            let mut route_to = |entry: &mut Entry, ends: bool| -> bool {
                entry.seen = true;
                if !entry.waiters.is_empty() {
                    self.serve(entry, kind, ends, &mut decoded, text, &mut deferred);
                }
                let handled = wants || entry.handlers.iter().any(|h| h.event == kind);
                let release = ends && !entry.handlers.is_empty();
                let end_life = (ends && !entry.ending).then_some(entry.life);
                if ends {
                    // the subscription ends with the object: nothing keeps the entry
                    entry.ending = true;
                    entry.subscribed = false;
                    entry.apps = Default::default();
                }
                if handled || release || entry.active() {
                    let work = Work::Event {
                        kind,
                        frame: frame.clone(),
                        decoded: decoded.clone(),
                        primary: i == 0,
                        first_of_kind,
                        ends: end_life,
                        bytes,
                        place: named.place,
                        known: None,
                    };
                    if queued > 0 {
                        self.budget.add(bytes);
                    }
                    let key = Key::Object(*object_kind, entry.name.clone());
                    self.enqueue(entry, key, work);
                    queued += 1;
                    false
                } else {
                    entry.idle()
                }
            };
            let mut guard = self.table(*object_kind, id);
            let super::table::KindTable { entries, tombs } = &mut *guard;
            let idle = match entries.get_mut(&**id) {
                Some(entry) => {
                    let ends =
                        kind.ends(*object_kind) || (kind.leaves(*object_kind) && !entry.subscribed);
                    if ends {
                        tombs.bury(id, tomb());
                    }
                    route_to(entry, ends)
                }
                None => {
                    let ends = kind.ends(*object_kind) || kind.leaves(*object_kind);
                    if ends {
                        tombs.bury(id, tomb());
                    }
                    if !wants {
                        continue;
                    }
                    if !ends {
                        tombs.revive(id);
                    }
                    let name: Arc<str> = id.as_ref().into();
                    let entry = entries
                        .entry(name.clone())
                        .or_insert_with(|| Entry::named(name));
                    route_to(entry, ends)
                }
            };
            if idle {
                entries.remove(&**id);
            }
        }
        if queued == 0 {
            self.budget.give(bytes);
        }
        for (tx, event) in deferred {
            // a stream dropped meanwhile needs nothing more
            let _ = tx.send(event).await;
        }
        routed
    }

    /// The event, decoding it now if nobody did.
    fn decoded(
        &self,
        decoded: &mut Option<Arc<Event>>,
        kind: EventKind,
        text: &str,
    ) -> Option<Arc<Event>> {
        if decoded.is_none() {
            *decoded = self.decode_of(kind, text).map(Arc::new);
        }
        decoded.clone()
    }

    fn wanted(&self, kind: EventKind) -> Wanted {
        let types = self.types.read().unwrap_or_else(|p| p.into_inner());
        let mut wanted = Wanted {
            primary: false,
            kinds: 0,
        };
        for h in types.of(kind) {
            match h.scope {
                Scope::Primary => wanted.primary = true,
                Scope::Kind(k) => wanted.kinds |= 1 << k.index(),
            }
        }
        wanted
    }

    /// Serves the waiters of one object: those that want this event get it; when it ends
    /// the object, the others learn so and its streams end.
    fn serve(
        &self,
        entry: &mut Entry,
        kind: EventKind,
        ends: bool,
        decoded: &mut Option<Arc<Event>>,
        text: &str,
        deferred: &mut Deferred,
    ) {
        if !ends && !entry.waiters.iter().any(|w| w.wants(kind)) {
            return;
        }
        let event = self.decoded(decoded, kind, text);
        let before = entry.waiters.len();
        let mut kept = Vec::with_capacity(before);
        for w in entry.waiters.take() {
            let wants = w.wants(kind);
            match w.tx {
                WaitTx::Once(tx) if wants => {
                    let _ = tx.send(event.clone().ok_or(EndReason::Event(kind)));
                }
                WaitTx::Once(tx) if ends => {
                    let _ = tx.send(Err(EndReason::Event(kind)));
                }
                WaitTx::Stream(tx) if wants => {
                    if let Some(event) = &event {
                        match tx.try_send(event.clone()) {
                            Ok(()) => {}
                            Err(mpsc::error::TrySendError::Full(event)) => {
                                deferred.push((tx.clone(), event));
                            }
                            Err(mpsc::error::TrySendError::Closed(_)) => continue,
                        }
                    }
                    if !ends {
                        kept.push(super::table::Waiter {
                            id: w.id,
                            want: w.want,
                            tx: WaitTx::Stream(tx),
                        });
                    }
                }
                // a stream ends with its object
                WaitTx::Stream(_) if ends => {}
                tx => kept.push(super::table::Waiter {
                    id: w.id,
                    want: w.want,
                    tx,
                }),
            }
        }
        self.counters
            .waiters
            .fetch_sub(before - kept.len(), Ordering::Relaxed);
        entry.waiters = kept.into();
    }
}
