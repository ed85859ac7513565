//! The table of the objects the dispatcher knows, one per kind: for each live object its
//! handlers, its waiters and its lane (the queue of its events and whether a task runs
//! it); and the tombstones of the objects that ended.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::events::{Event, EventKind};
use crate::handler::ErasedHandler;
use crate::ws::Frame;

/// How many ended objects of one kind are remembered (their end event included), so that
/// a late `finished()` or handler on them is answered rather than left waiting forever.
pub(crate) const TOMBSTONES: usize = 16_384;

/// Why an object's handlers and waiters were released.
#[derive(Debug, Clone)]
pub(crate) enum EndReason {
    /// Its end event arrived (`ChannelDestroyed`, `StasisEnd` of an inbound channel, …).
    Event(EventKind),
    /// The request that was to create it failed.
    NotCreated,
    /// A request that destroys it succeeded, and no end event will come (the application
    /// was not subscribed to it).
    Destroyed,
}

impl std::fmt::Display for EndReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EndReason::Event(kind) => write!(f, "{kind}"),
            EndReason::NotCreated => f.write_str("its creation failed"),
            EndReason::Destroyed => f.write_str("it was destroyed"),
        }
    }
}

/// One item of a lane.
pub(crate) enum Work {
    /// An event for the lane's handlers.
    Event {
        kind: EventKind,
        frame: Frame,
        /// The event, when the reader decoded it already (for waiters or streams).
        decoded: Option<Arc<Event>>,
        /// The lane's object is the event's first: plain `on_event` handlers run here.
        primary: bool,
        /// The lane's object is the first of its kind in the event: `on_<kind>_event`
        /// handlers run here.
        first_of_kind: bool,
        /// The event ends this life of the object: release its handlers afterwards.
        ends: Option<u32>,
        /// Budget bytes to give back once handled.
        bytes: usize,
    },
    /// Release the handlers of this life of the object, after what is queued before.
    Release { life: u32 },
    /// Everything queued before has been handled.
    Barrier(oneshot::Sender<()>),
}

/// A handler bound to one object.
pub(crate) struct ObjectHandler {
    pub(crate) id: u64,
    /// The life of the object it was registered in.
    pub(crate) life: u32,
    pub(crate) event: EventKind,
    pub(crate) handler: ErasedHandler,
}

/// Where a waiter's events go.
pub(crate) enum WaitTx {
    /// The next matching event, or why none will come.
    Once(oneshot::Sender<Result<Arc<Event>, EndReason>>),
    /// Every matching event until the object ends.
    Stream(mpsc::Sender<Arc<Event>>),
}

/// Someone awaiting events of one object, served when an event is routed.
pub(crate) struct Waiter {
    pub(crate) id: u64,
    /// `None`: every event.
    pub(crate) want: Option<EventKind>,
    pub(crate) tx: WaitTx,
}

impl Waiter {
    pub(crate) fn wants(&self, kind: EventKind) -> bool {
        self.want.is_none_or(|w| w == kind)
    }
}

/// A live object (or the lane of the events that name none).
#[derive(Default)]
pub(crate) struct Entry {
    /// Counts the object's lives: an ended channel may enter the application again.
    pub(crate) life: u32,
    /// The end of this life was routed: no new handlers or waiters.
    pub(crate) ending: bool,
    /// The application stays subscribed to it: events after which Asterisk sends nothing
    /// more unless subscribed (a channel's `StasisEnd`) do not end it.
    pub(crate) subscribed: bool,
    pub(crate) handlers: Vec<ObjectHandler>,
    pub(crate) waiters: Vec<Waiter>,
    pub(crate) queue: VecDeque<Work>,
    /// A task runs this lane now.
    pub(crate) running: bool,
}

impl Entry {
    pub(crate) fn active(&self) -> bool {
        self.running || !self.queue.is_empty()
    }

    /// Nothing keeps the entry: it can go.
    pub(crate) fn idle(&self) -> bool {
        !self.active() && self.handlers.is_empty() && self.waiters.is_empty() && !self.subscribed
    }
}

/// An ended object.
pub(crate) struct Tomb {
    pub(crate) reason: EndReason,
    /// The end event as received.
    pub(crate) frame: Option<Frame>,
    /// How many frames had been routed when it ended (see `Hub::routed`).
    pub(crate) seq: u64,
}

/// The objects of one kind.
#[derive(Default)]
pub(crate) struct KindTable {
    pub(crate) entries: HashMap<Box<str>, Entry>,
    tombs: HashMap<Box<str>, Tomb>,
    order: VecDeque<Box<str>>,
}

impl KindTable {
    /// Remembers that `id` ended; the oldest tombstone goes when there are too many.
    pub(crate) fn bury(&mut self, id: &str, tomb: Tomb) {
        if self.tombs.insert(id.into(), tomb).is_none() {
            self.order.push_back(id.into());
        }
        while self.order.len() > TOMBSTONES {
            if let Some(old) = self.order.pop_front() {
                self.tombs.remove(&old);
            }
        }
    }

    pub(crate) fn tomb(&self, id: &str) -> Option<&Tomb> {
        self.tombs.get(id)
    }

    /// The object is alive again (a channel back in the application).
    pub(crate) fn revive(&mut self, id: &str) {
        if self.tombs.remove(id).is_some() {
            self.order.retain(|o| &**o != id);
        }
    }
}
