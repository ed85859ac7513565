//! Registering handlers and waiters, and what the REST side tells the dispatcher about
//! objects it created, failed to create or destroyed.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};

use tokio::sync::{mpsc, oneshot};

use super::table::{EndReason, Entry, ObjectHandler, WaitTx, Waiter, Work};
use super::{Hub, Scope, TypeHandler};
use crate::events::{Event, EventKind, ObjectKind};
use crate::handler::ErasedHandler;

/// Where a handler is registered, so that it can be removed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Slot {
    Type(EventKind),
    Object(ObjectKind, Box<str>),
}

/// The handle of a registered handler. Dropping it keeps the handler; call
/// [`Subscription::unsubscribe`] to remove it earlier than it would go by itself.
#[derive(Debug, Clone)]
pub struct Subscription {
    id: u64,
    slot: Slot,
    hub: Weak<Hub>,
}

impl Subscription {
    /// Removes the handler. Returns `false` if it was already gone (for example
    /// released because its object ended).
    pub fn unsubscribe(&self) -> bool {
        let Some(hub) = self.hub.upgrade() else {
            return false;
        };
        match &self.slot {
            Slot::Type(kind) => {
                let mut types = hub.types.write().unwrap_or_else(|p| p.into_inner());
                let list = types.of_mut(*kind);
                let before = list.len();
                list.retain(|h| h.id != self.id);
                list.len() != before
            }
            Slot::Object(kind, id) => {
                let mut table = hub.table(*kind, id);
                let Some(entry) = table.entries.get_mut(&**id) else {
                    return false;
                };
                let before = entry.handlers.len();
                entry.handlers.retain(|h| h.id != self.id);
                let removed = entry.handlers.len() != before;
                if removed {
                    hub.counters.object_handlers.fetch_sub(1, Ordering::Relaxed);
                }
                if entry.idle() {
                    table.entries.remove(&**id);
                }
                removed
            }
        }
    }

    /// Whether the handler is still registered.
    pub fn is_active(&self) -> bool {
        let Some(hub) = self.hub.upgrade() else {
            return false;
        };
        match &self.slot {
            Slot::Type(kind) => hub
                .types
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .of(*kind)
                .iter()
                .any(|h| h.id == self.id),
            Slot::Object(kind, id) => hub
                .table(*kind, id)
                .entries
                .get(&**id)
                .is_some_and(|e| e.handlers.iter().any(|h| h.id == self.id)),
        }
    }
}

/// Removes a waiter from its object when the future or stream that owns it is dropped.
struct WaiterGuard {
    hub: Weak<Hub>,
    kind: ObjectKind,
    id: Box<str>,
    waiter: u64,
}

impl Drop for WaiterGuard {
    fn drop(&mut self) {
        let Some(hub) = self.hub.upgrade() else {
            return;
        };
        let mut table = hub.table(self.kind, &self.id);
        if let Some(entry) = table.entries.get_mut(&*self.id) {
            let before = entry.waiters.len();
            entry.waiters.retain(|w| w.id != self.waiter);
            if entry.waiters.len() != before {
                hub.counters.waiters.fetch_sub(1, Ordering::Relaxed);
            }
            if entry.idle() {
                table.entries.remove(&*self.id);
            }
        }
    }
}

/// Why a wait ended without its event.
#[derive(Debug, Clone)]
pub(crate) enum WaitError {
    /// The object ended first.
    Ended(EndReason),
    /// The client is gone.
    Closed,
}

/// The next matching event of one object (untyped; `objects` wraps it).
pub(crate) struct Next {
    rx: oneshot::Receiver<Result<Arc<Event>, EndReason>>,
    _guard: Option<WaiterGuard>,
}

impl Future for Next {
    type Output = Result<Arc<Event>, WaitError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.rx).poll(cx).map(|r| match r {
            Ok(Ok(event)) => Ok(event),
            Ok(Err(reason)) => Err(WaitError::Ended(reason)),
            Err(_) => Err(WaitError::Closed),
        })
    }
}

/// The matching events of one object until it ends (untyped; `objects` wraps it).
pub(crate) struct ObjectStream {
    rx: mpsc::Receiver<Arc<Event>>,
    _guard: Option<WaiterGuard>,
}

impl ObjectStream {
    pub(crate) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Arc<Event>>> {
        self.rx.poll_recv(cx)
    }
}

/// The outcome of registering on an object.
pub(crate) struct Registered<T> {
    pub(crate) value: T,
    /// The object had no handlers or waiters before (its lane may want a subscription).
    pub(crate) first: bool,
}

impl Hub {
    /// Adds a handler for every event of type `event`: in the lane of the event's first
    /// object (`kind` `None`) or of its first object of kind `kind`.
    pub(crate) fn add_type(
        self: &Arc<Self>,
        event: EventKind,
        kind: Option<ObjectKind>,
        handler: ErasedHandler,
    ) -> Subscription {
        let id = self.id();
        let scope = kind.map_or(Scope::Primary, Scope::Kind);
        self.types
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .of_mut(event)
            .push(TypeHandler { id, scope, handler });
        Subscription {
            id,
            slot: Slot::Type(event),
            hub: Arc::downgrade(self),
        }
    }

    /// The entry of a live object for a new handler (`waiter` false) or waiter, or why
    /// there is none: an object that ended takes no more. For waiters, which are served
    /// when events are routed, the object ended when its end was routed; for handlers,
    /// which run when their lane gets to an event, when its lane handled the end — so a
    /// handler that registers another one for its own object is never refused.
    fn live_entry<'t>(
        table: &'t mut super::table::KindTable,
        id: &str,
        waiter: bool,
    ) -> Result<(&'t mut Entry, bool), EndReason> {
        let reason = |table: &super::table::KindTable| {
            table.tomb(id).map_or(EndReason::Destroyed, |t| t.reason)
        };
        match table.entries.get(id) {
            Some(e) if waiter && e.ending => return Err(reason(table)),
            Some(e) if e.released == Some(e.life) => return Err(reason(table)),
            Some(_) => {}
            None if table.tomb(id).is_some() => return Err(reason(table)),
            None => {}
        }
        let fresh = !table.entries.contains_key(id);
        let entry = table.entry(id);
        let first = fresh || (entry.handlers.is_empty() && entry.waiters.is_empty());
        Ok((entry, first))
    }

    /// Adds a handler for events of type `event` about one object.
    pub(crate) fn add_object(
        self: &Arc<Self>,
        kind: ObjectKind,
        object: &str,
        event: EventKind,
        handler: ErasedHandler,
    ) -> Result<Registered<Subscription>, EndReason> {
        let id = self.id();
        let mut table = self.table(kind, object);
        let (entry, first) = Self::live_entry(&mut table, object, false)?;
        // most objects get one handler: room for one, not four (more grow as usual)
        if entry.handlers.capacity() == 0 {
            entry.handlers.reserve_exact(1);
        }
        entry.handlers.push(ObjectHandler {
            id,
            life: entry.life,
            event,
            handler,
        });
        self.counters
            .object_handlers
            .fetch_add(1, Ordering::Relaxed);
        Ok(Registered {
            value: Subscription {
                id,
                slot: Slot::Object(kind, object.into()),
                hub: Arc::downgrade(self),
            },
            first,
        })
    }

    /// Waits for the next event of type `want` (any type for `None`) about one object. For
    /// an object that ended already it resolves at once: with its end event when that is
    /// what it waits for, else with why it ended.
    pub(crate) fn wait_once(
        self: &Arc<Self>,
        kind: ObjectKind,
        object: &str,
        want: Option<EventKind>,
    ) -> Registered<Next> {
        let (tx, rx) = oneshot::channel();
        let mut table = self.table(kind, object);
        match Self::live_entry(&mut table, object, true) {
            Ok((entry, first)) => {
                let waiter = self.id();
                entry.waiters.push(Waiter {
                    id: waiter,
                    want,
                    tx: WaitTx::Once(tx),
                });
                self.counters.waiters.fetch_add(1, Ordering::Relaxed);
                Registered {
                    value: Next {
                        rx,
                        _guard: Some(self.guard(kind, object, waiter)),
                    },
                    first,
                }
            }
            Err(reason) => {
                let end = table.tomb(object).and_then(|t| t.frame);
                drop(table);
                let outcome = match (&reason, end) {
                    (EndReason::Event(k), Some(frame)) if want.is_none_or(|w| w == *k) => {
                        match self.decode_of(*k, frame.as_str()) {
                            Some(event) => Ok(Arc::new(event)),
                            None => Err(reason),
                        }
                    }
                    _ => Err(reason),
                };
                let _ = tx.send(outcome);
                Registered {
                    value: Next { rx, _guard: None },
                    first: false,
                }
            }
        }
    }

    /// Streams the events of type `want` (any type for `None`) about one object until it
    /// ends; for an object that ended already, a stream that ends at once.
    pub(crate) fn wait_stream(
        self: &Arc<Self>,
        kind: ObjectKind,
        object: &str,
        want: Option<EventKind>,
    ) -> Registered<ObjectStream> {
        let (tx, rx) = mpsc::channel(self.stream_capacity);
        let mut table = self.table(kind, object);
        match Self::live_entry(&mut table, object, true) {
            Ok((entry, first)) => {
                let waiter = self.id();
                entry.waiters.push(Waiter {
                    id: waiter,
                    want,
                    tx: WaitTx::Stream(tx),
                });
                self.counters.waiters.fetch_add(1, Ordering::Relaxed);
                Registered {
                    value: ObjectStream {
                        rx,
                        _guard: Some(self.guard(kind, object, waiter)),
                    },
                    first,
                }
            }
            Err(_) => Registered {
                value: ObjectStream { rx, _guard: None },
                first: false,
            },
        }
    }

    fn guard(self: &Arc<Self>, kind: ObjectKind, object: &str, waiter: u64) -> WaiterGuard {
        WaiterGuard {
            hub: Arc::downgrade(self),
            kind,
            id: object.into(),
            waiter,
        }
    }

    /// How many frames have been routed: taken before a request that creates an object,
    /// so that [`created`](Self::created) can tell an end that came before the answer.
    pub(crate) fn routed(&self) -> u64 {
        self.counters.received.load(Ordering::Acquire)
    }

    /// A request sent when `since` frames had been routed created the object: it is alive
    /// (again, for a reused id), and `subscribed` says whether the application stays
    /// subscribed to it after it leaves the application. An object whose end was routed
    /// after the request was sent (a call that failed at once) stays ended.
    pub(crate) fn created(&self, kind: ObjectKind, object: &str, subscribed: bool, since: u64) {
        let mut table = self.table(kind, object);
        if table.tomb(object).is_some_and(|t| t.seq > since) {
            return;
        }
        table.tombs.revive(object);
        let entry = table.entry(object);
        entry.subscribed |= subscribed;
        entry.seen = true;
        if entry.idle() {
            table.entries.remove(object);
        }
    }

    /// The object exists on the server (a handler or waiter was registered on a domain
    /// object, made of the server's data): the resync checks it.
    pub(crate) fn seen(&self, kind: ObjectKind, object: &str) {
        let mut table = self.table(kind, object);
        if let Some(entry) = table.entries.get_mut(object) {
            if !entry.ending {
                entry.seen = true;
            }
        }
    }

    /// This client subscribed application `app` to the object (`on`), or unsubscribed it.
    /// While an application is subscribed, Asterisk sends the object's events after it
    /// leaves the application (a channel's `StasisEnd` does not end it), and the
    /// subscription is made again after a reconnect.
    pub(crate) fn app_subscription(&self, kind: ObjectKind, object: &str, app: &str, on: bool) {
        let mut table = self.table(kind, object);
        if on {
            if table.entries.get(object).is_some_and(|e| e.ending) {
                // its end is on its way to the handlers: this life is over for the client
                return;
            }
            // Asterisk subscribes only to objects that exist
            table.tombs.revive(object);
            let entry = table.entry(object);
            entry.seen = true;
            entry.subscribed = true;
            if !entry.apps.iter().any(|a| &**a == app) {
                entry.apps.push(app.into());
            }
            return;
        }
        let Some(entry) = table.entries.get_mut(object) else {
            return;
        };
        entry.apps.retain(|a| &**a != app);
        if entry.apps.is_empty() {
            entry.subscribed = false;
        }
        if entry.idle() {
            table.entries.remove(object);
        }
    }

    /// The subscriptions this client made that are to be made again after a reconnect:
    /// `(application, kind, id)` of the objects that did not end.
    pub(crate) fn app_subscriptions(&self) -> Vec<(Arc<str>, ObjectKind, String)> {
        let mut out = Vec::new();
        for (kind, table) in self.tables() {
            for (id, entry) in &super::lock(table).entries {
                if !entry.ending {
                    out.extend(
                        entry
                            .apps
                            .iter()
                            .map(|app| (app.clone(), kind, id.to_string())),
                    );
                }
            }
        }
        out
    }

    /// A request that was to create the object failed: its handlers (registered before,
    /// for a pending id) are released and its waiters learn why. The id stays usable.
    pub(crate) fn creation_failed(self: &Arc<Self>, kind: ObjectKind, object: &str) {
        self.end_without_event(kind, object, EndReason::NotCreated);
    }

    /// A request destroyed the object. When the application is subscribed to it, its end
    /// event comes and ends it; otherwise it ends now.
    pub(crate) fn destroyed(self: &Arc<Self>, kind: ObjectKind, object: &str) {
        let subscribed = self
            .table(kind, object)
            .entries
            .get(object)
            .is_some_and(|e| e.subscribed);
        if !subscribed {
            self.end_without_event(kind, object, EndReason::Destroyed);
        }
    }

    /// The objects of the kinds that can end that were seen on the server, with handlers,
    /// waiters or a subscription: what a resync checks after a reconnect.
    pub(crate) fn tracked(&self) -> Vec<(ObjectKind, String)> {
        let mut out = Vec::new();
        for (kind, table) in self.tables() {
            for (id, entry) in &super::lock(table).entries {
                if entry.seen && !entry.ending && kind.can_end() {
                    out.push((kind, id.to_string()));
                }
            }
        }
        out
    }

    /// The object was gone when the client reconnected: it ends now.
    pub(crate) fn lost(self: &Arc<Self>, kind: ObjectKind, object: &str) {
        self.end_without_event(kind, object, EndReason::Lost);
    }

    fn end_without_event(self: &Arc<Self>, kind: ObjectKind, object: &str, reason: EndReason) {
        let mut table = self.table(kind, object);
        let Some(entry) = table.entries.get_mut(object) else {
            return;
        };
        if entry.ending {
            return;
        }
        let failed = entry.waiters.take();
        self.counters
            .waiters
            .fetch_sub(failed.len(), Ordering::Relaxed);
        let life = entry.life;
        entry.subscribed = false;
        entry.apps = Default::default();
        match reason {
            // another request may create an object with this id: a new life
            EndReason::NotCreated => entry.life += 1,
            _ => entry.ending = true,
        }
        if !entry.handlers.is_empty() {
            let key = super::lane::Key::Object(kind, entry.name.clone());
            self.enqueue(entry, key, Work::Release { life });
        }
        let remove = entry.idle();
        if !matches!(reason, EndReason::NotCreated) {
            table.tombs.bury(
                object,
                super::table::Tomb {
                    reason,
                    frame: None,
                    seq: self.routed(),
                },
            );
        }
        if remove {
            table.entries.remove(object);
        }
        drop(table);
        for w in failed {
            if let WaitTx::Once(tx) = w.tx {
                let _ = tx.send(Err(reason));
            }
        }
    }
}
