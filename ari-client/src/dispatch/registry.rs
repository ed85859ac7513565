//! Who listens to what: handlers by event type, and handlers bound to one object.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, Weak};

use crate::events::{Event, EventKind, ObjectKind};
use crate::handler::ErasedHandler;

struct Entry {
    id: u64,
    event: EventKind,
    handler: ErasedHandler,
}

struct Tables {
    /// Handlers for every event of a type.
    by_type: HashMap<EventKind, Vec<Entry>>,
    /// Handlers bound to one object, by object kind (its index), then id.
    by_object: [HashMap<String, Vec<Entry>>; ObjectKind::ALL.len()],
}

impl Default for Tables {
    fn default() -> Self {
        Self {
            by_type: HashMap::new(),
            by_object: std::array::from_fn(|_| HashMap::new()),
        }
    }
}

/// The handler tables. Cheap to share; handlers can be added and removed from any task,
/// including from inside a handler.
#[derive(Default)]
pub(crate) struct Registry {
    tables: RwLock<Tables>,
    next_id: AtomicU64,
}

/// Where a handler is registered, so that it can be removed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Slot {
    Type(EventKind),
    Object(ObjectKind, String),
}

/// The handle of a registered handler. Dropping it keeps the handler; call
/// [`Subscription::unsubscribe`] to remove it earlier than it would go by itself.
#[derive(Debug, Clone)]
pub struct Subscription {
    id: u64,
    slot: Slot,
    registry: Weak<Registry>,
}

impl Subscription {
    /// Removes the handler. Returns `false` if it was already gone (for example
    /// released because its object ended).
    pub fn unsubscribe(&self) -> bool {
        let Some(registry) = self.registry.upgrade() else {
            return false;
        };
        let mut tables = registry.write();
        let list = match &self.slot {
            Slot::Type(name) => tables.by_type.get_mut(name),
            Slot::Object(kind, id) => tables.by_object[kind.index()].get_mut(id),
        };
        let Some(list) = list else { return false };
        let before = list.len();
        list.retain(|e| e.id != self.id);
        let removed = list.len() != before;
        if list.is_empty() {
            match &self.slot {
                Slot::Type(name) => {
                    tables.by_type.remove(name);
                }
                Slot::Object(kind, id) => {
                    tables.by_object[kind.index()].remove(id);
                }
            }
        }
        removed
    }

    /// Whether the handler is still registered.
    pub fn is_active(&self) -> bool {
        let Some(registry) = self.registry.upgrade() else {
            return false;
        };
        let tables = registry.read();
        let list = match &self.slot {
            Slot::Type(name) => tables.by_type.get(name),
            Slot::Object(kind, id) => tables.by_object[kind.index()].get(id),
        };
        list.is_some_and(|l| l.iter().any(|e| e.id == self.id))
    }
}

impl Registry {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Tables> {
        // a handler panicking cannot poison this lock (no user code runs under it)
        self.tables.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Tables> {
        self.tables.write().unwrap_or_else(|p| p.into_inner())
    }

    fn entry(&self, event: EventKind, handler: ErasedHandler) -> Entry {
        Entry {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            event,
            handler,
        }
    }

    /// Adds a handler for every event of type `event`.
    pub(crate) fn add_type(
        self: &Arc<Self>,
        event: EventKind,
        handler: ErasedHandler,
    ) -> Subscription {
        let entry = self.entry(event, handler);
        let id = entry.id;
        self.write().by_type.entry(event).or_default().push(entry);
        Subscription {
            id,
            slot: Slot::Type(event),
            registry: Arc::downgrade(self),
        }
    }

    /// Adds a handler for events of type `event` about one object.
    pub(crate) fn add_object(
        self: &Arc<Self>,
        kind: ObjectKind,
        object_id: &str,
        event: EventKind,
        handler: ErasedHandler,
    ) -> Subscription {
        let entry = self.entry(event, handler);
        let id = entry.id;
        self.write().by_object[kind.index()]
            .entry(object_id.to_owned())
            .or_default()
            .push(entry);
        Subscription {
            id,
            slot: Slot::Object(kind, object_id.to_owned()),
            registry: Arc::downgrade(self),
        }
    }

    /// The handlers that `event` goes to, in registration order: type handlers first,
    /// then the handlers of each object it names.
    pub(crate) fn matching(&self, event: &Event, out: &mut Vec<ErasedHandler>) {
        let kind = event.kind();
        let tables = self.read();
        if let Some(list) = tables.by_type.get(&kind) {
            out.extend(list.iter().map(|e| e.handler.clone()));
        }
        if tables.by_object.iter().all(HashMap::is_empty) {
            return;
        }
        event.for_each_object(|object, id| {
            if let Some(list) = tables.by_object[object.index()].get(id) {
                out.extend(
                    list.iter()
                        .filter(|e| e.event == kind)
                        .map(|e| e.handler.clone()),
                );
            }
        });
    }

    /// The objects whose life `event` ends. (An event after which Asterisk sends nothing
    /// more about an object unless the app stays subscribed ends it too.)
    pub(crate) fn ended_by(event: &Event) -> Vec<(ObjectKind, String)> {
        let kind = event.kind();
        let mut ended = Vec::new();
        event.for_each_object(|object, id| {
            if kind.ends(object) || kind.leaves(object) {
                ended.push((object, id.to_owned()));
            }
        });
        ended
    }

    /// Releases the handlers bound to these objects.
    pub(crate) fn release(&self, ended: &[(ObjectKind, String)]) {
        if ended.is_empty() {
            return;
        }
        let needed = {
            let tables = self.read();
            ended
                .iter()
                .any(|(k, id)| tables.by_object[k.index()].contains_key(id))
        };
        if needed {
            let mut tables = self.write();
            for (k, id) in ended {
                tables.by_object[k.index()].remove(id);
            }
        }
    }

    /// How many object-bound handlers are registered (all kinds).
    pub(crate) fn object_handler_count(&self) -> usize {
        self.read()
            .by_object
            .iter()
            .flat_map(|m| m.values())
            .map(Vec::len)
            .sum()
    }
}
