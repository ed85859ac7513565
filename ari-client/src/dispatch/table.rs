//! The table of the objects the dispatcher knows, one per kind: for each live object its
//! handlers, its waiters and the state of its lane (items in flight, whether a task of its
//! own runs it, the items parked meanwhile); and the tombstones of the objects that ended.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::events::{Event, EventKind, Snapshot};
use crate::handler::ErasedHandler;
use crate::scan::Place;
use crate::ws::Frame;

/// How many ended objects one table shard remembers (4,096 per kind, 240 KB when full), so
/// that a late handler or waiter on one is answered rather than left waiting forever; the
/// newest [`TOMB_EVENTS`] of them (256 per kind) keep their end event too (a late
/// `finished()` returns it).
pub(crate) const TOMBSTONES: usize = 256;
pub(crate) const TOMB_EVENTS: usize = 16;

/// Why an object's handlers and waiters were released.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EndReason {
    /// Its end event arrived (`ChannelDestroyed`, `StasisEnd` of an inbound channel, …).
    Event(EventKind),
    /// The request that was to create it failed.
    NotCreated,
    /// A request that destroys it succeeded, and no end event will come (the application
    /// was not subscribed to it).
    Destroyed,
    /// It was gone when the client reconnected: it ended while the event connection was
    /// down, and its end event was lost with the connection.
    Lost,
}

impl std::fmt::Display for EndReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EndReason::Event(kind) => write!(f, "{kind}"),
            EndReason::NotCreated => f.write_str("its creation failed"),
            EndReason::Destroyed => f.write_str("it was destroyed"),
            EndReason::Lost => f.write_str("it was gone when the client reconnected"),
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
        /// Where the text holds the snapshot of the lane's object, when the scan found it.
        place: Option<Place>,
        /// The last snapshot of the lane's object that the lane decoded, taken out of its
        /// entry with the item and put back (or replaced) when the item is done.
        known: Option<Box<Snapshot>>,
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

/// A list that is empty in nearly every entry (waiters, subscriptions): 8 bytes in the
/// entry where a `Vec` takes 24. Every live object has an entry, and a map's slots are
/// up to twice as many as its entries: 32 bytes less per list and slot is some 60 bytes
/// less per live object.
pub(crate) struct Rare<T>(
    #[allow(
        clippy::box_collection,
        reason = "8 bytes in every entry instead of an empty Vec's 24"
    )]
    Option<Box<Vec<T>>>,
);

impl<T> Default for Rare<T> {
    fn default() -> Self {
        Rare(None)
    }
}

impl<T> Rare<T> {
    pub(crate) fn push(&mut self, item: T) {
        self.0.get_or_insert_default().push(item);
    }

    pub(crate) fn retain(&mut self, keep: impl FnMut(&T) -> bool) {
        if let Some(items) = &mut self.0 {
            items.retain(keep);
            if items.is_empty() {
                self.0 = None;
            }
        }
    }

    /// The items, leaving the list empty.
    pub(crate) fn take(&mut self) -> Vec<T> {
        self.0.take().map(|items| *items).unwrap_or_default()
    }
}

impl<T> std::ops::Deref for Rare<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        self.0.as_deref().map_or(&[], Vec::as_slice)
    }
}

impl<T> From<Vec<T>> for Rare<T> {
    fn from(items: Vec<T>) -> Self {
        Rare((!items.is_empty()).then(|| Box::new(items)))
    }
}

/// A live object (or the lane of the events that name none).
#[derive(Default)]
pub(crate) struct Entry {
    /// The object's id (empty for the lane of events that name none).
    pub(crate) name: Arc<str>,
    /// Counts the object's lives: an ended channel may enter the application again.
    pub(crate) life: u32,
    /// The end of this life was routed: no new waiters (they are served at routing).
    pub(crate) ending: bool,
    /// The lane handled the end of this life (or of an older one) and released its
    /// handlers: no new handlers either (they run when their lane gets there).
    pub(crate) released: Option<u32>,
    /// The application stays subscribed to it: events after which Asterisk sends nothing
    /// more unless subscribed (a channel's `StasisEnd`) do not end it.
    pub(crate) subscribed: bool,
    /// The applications this client subscribed to it (`applications.subscribe`): they are
    /// subscribed again after a reconnect, while it lives.
    pub(crate) apps: Rare<Arc<str>>,
    /// It exists on the server: an event named it or a request created it (a pending id
    /// that was not created yet has handlers but is not seen).
    pub(crate) seen: bool,
    pub(crate) handlers: Vec<ObjectHandler>,
    pub(crate) waiters: Rare<Waiter>,
    /// Items routed to the lane and not done yet.
    pub(crate) pending: u32,
    /// A task of the lane's own runs it now (a handler waits); its worker parks the
    /// lane's items meanwhile.
    pub(crate) busy: bool,
    /// Boxed: most lanes never park, and every live object has an entry.
    #[allow(
        clippy::box_collection,
        reason = "8 bytes in every entry instead of an empty deque's 32"
    )]
    pub(crate) parked: Option<Box<VecDeque<Work>>>,
    /// The last snapshot of the object that its lane decoded: an event whose snapshot has
    /// the same text shares it instead of decoding it again (see [`Snapshot`]).
    pub(crate) snapshot: Option<Box<Snapshot>>,
}

impl Entry {
    /// The entry of object `name`.
    pub(crate) fn named(name: Arc<str>) -> Self {
        Self {
            name,
            ..Self::default()
        }
    }

    pub(crate) fn active(&self) -> bool {
        self.pending > 0 || self.busy
    }

    /// Nothing keeps the entry: it can go.
    pub(crate) fn idle(&self) -> bool {
        !self.active() && self.handlers.is_empty() && self.waiters.is_empty() && !self.subscribed
    }
}

/// An ended object.
pub(crate) struct Tomb {
    pub(crate) reason: EndReason,
    /// The end event's text (the frame, which holds only its own bytes), for the newest
    /// [`TOMB_EVENTS`] tombstones of a shard.
    pub(crate) frame: Option<Frame>,
    /// How many frames had been routed when it ended (see `Hub::routed`).
    pub(crate) seq: u64,
}

/// Hashes the ids of a table's objects, 8 bytes a step, each mixed in with a folded
/// 64×64→128-bit multiply (as foldhash and wyhash do): every bit of the result depends on
/// every bit of the input. The std `SipHash` cost some 1,100 instructions an event (an
/// event looks its object up about five times, each hashing the whole id). Ids are
/// Asterisk's and the application's, not an adversary's, as for the shards
/// (`dispatch::shard`); the tombstones, which keep only a hash of an ended id, keep a keyed
/// hash.
#[derive(Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl IdHasher {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;

    fn add(&mut self, word: u64) {
        let product = u128::from(self.0 ^ word) * u128::from(Self::K);
        self.0 = (product as u64) ^ ((product >> 64) as u64);
    }
}

impl std::hash::Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        let mut word = [0u8; 8];
        word[..rest.len()].copy_from_slice(rest);
        // the length keeps "a" and "a\0" apart
        self.add(u64::from_le_bytes(word) ^ (rest.len() as u64) << 59);
    }

    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The objects of one kind (one shard of them).
#[derive(Default)]
pub(crate) struct KindTable {
    /// Keyed by the entry's own `name` (one allocation of the id for both).
    pub(crate) entries: HashMap<Arc<str>, Entry, std::hash::BuildHasherDefault<IdHasher>>,
    pub(crate) tombs: Tombs,
}

impl KindTable {
    /// The entry of object `id`, made if there is none.
    pub(crate) fn entry(&mut self, id: &str) -> &mut Entry {
        let name: Arc<str> = id.into();
        self.entries
            .entry(name.clone())
            .or_insert_with(|| Entry::named(name))
    }

    pub(crate) fn tomb(&self, id: &str) -> Option<Tomb> {
        self.tombs.get(id)
    }
}

/// The hasher of keys that are (keyed) hashes already: the key itself.
#[derive(Default, Clone, Copy)]
pub(crate) struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        // only `u64` keys are hashed with it; anything else still hashes (folded in)
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, key: u64) {
        self.0 = key;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The tombstones of one table: the last [`TOMBSTONES`] objects that ended, kept small —
/// by a keyed hash of the id, with the end event's text for the newest few only.
#[derive(Default)]
pub(crate) struct Tombs {
    keys: std::collections::hash_map::RandomState,
    /// By the keyed hash of the id, which is its own hash here.
    ended: HashMap<u64, (EndReason, u64), std::hash::BuildHasherDefault<KeyHasher>>,
    order: VecDeque<u64>,
    events: VecDeque<(u64, Frame)>,
}

impl Tombs {
    fn key(&self, id: &str) -> u64 {
        use std::hash::BuildHasher as _;
        self.keys.hash_one(id)
    }

    /// Remembers that `id` ended; the oldest tombstone goes when there are too many (first,
    /// so that the collections never grow past their bound).
    pub(crate) fn bury(&mut self, id: &str, tomb: Tomb) {
        let key = self.key(id);
        let again = self.ended.contains_key(&key);
        if !again {
            if self.order.len() == TOMBSTONES {
                if let Some(old) = self.order.pop_front() {
                    self.ended.remove(&old);
                }
            }
            self.order.push_back(key);
        }
        self.ended.insert(key, (tomb.reason, tomb.seq));
        // at most one each; only an id buried before can have one (a search of up to
        // `TOMB_EVENTS` saved for every other end; `get` takes the newest in any case)
        if again {
            if let Some(at) = self.events.iter().position(|(k, _)| *k == key) {
                self.events.remove(at);
            }
        }
        if let Some(frame) = tomb.frame {
            if self.events.len() == TOMB_EVENTS {
                self.events.pop_front();
            }
            self.events.push_back((key, frame));
        }
    }

    pub(crate) fn get(&self, id: &str) -> Option<Tomb> {
        let key = self.key(id);
        let (reason, seq) = *self.ended.get(&key)?;
        let frame = self
            .events
            .iter()
            .rev()
            .find(|(k, _)| *k == key)
            .map(|(_, f)| f.clone());
        Some(Tomb { reason, frame, seq })
    }

    /// The object is alive again (a channel back in the application).
    pub(crate) fn revive(&mut self, id: &str) {
        let key = self.key(id);
        if self.ended.remove(&key).is_some() {
            self.order.retain(|o| *o != key);
            self.events.retain(|(k, _)| *k != key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rare_lists_are_small_and_act_as_lists() {
        assert_eq!(std::mem::size_of::<Rare<Waiter>>(), 8);
        let mut list: Rare<u32> = Rare::default();
        assert!(list.is_empty());
        list.push(1);
        list.push(2);
        list.push(3);
        assert_eq!(&*list, &[1, 2, 3]);
        list.retain(|n| *n != 2);
        assert_eq!(&*list, &[1, 3]);
        assert_eq!(list.take(), vec![1, 3]);
        assert!(list.is_empty() && list.0.is_none());
        list.push(4);
        list.retain(|_| false);
        assert!(list.0.is_none(), "an emptied list frees its box");
        assert!(Rare::from(Vec::<u32>::new()).0.is_none());
        assert_eq!(&*Rare::from(vec![5]), &[5]);
    }

    /// Every live object has an entry, in a map with up to twice as many slots: the
    /// entry stays small (figure 5c of the bench, bytes per subscription).
    #[test]
    fn an_entry_stays_small() {
        let size = std::mem::size_of::<Entry>();
        assert!(size <= 96, "an entry takes {size} bytes");
    }

    #[test]
    fn ids_spread_over_the_shards_and_within_one() {
        use std::hash::BuildHasher as _;
        let hasher = std::hash::BuildHasherDefault::<IdHasher>::default();
        let ids: Vec<String> = (0..16_384).map(|n| format!("1764163337.{n}")).collect();
        let mut shards = [0usize; super::super::SHARDS];
        for id in &ids {
            shards[super::super::shard(id)] += 1;
        }
        let even = ids.len() / shards.len();
        for (i, n) in shards.iter().enumerate() {
            assert!(
                n.abs_diff(even) <= even / 4,
                "shard {i} has {n} of {}",
                ids.len()
            );
        }
        // the ids of one shard still spread over the buckets of its table: 1,024 ids in
        // 256 buckets (low bits) or control bytes (top 7 bits)
        let one: Vec<u64> = ids
            .iter()
            .filter(|id| super::super::shard(id) == 3)
            .map(|id| hasher.hash_one(id.as_str()))
            .collect();
        for (what, bits, buckets) in [("low", 0u32, 256usize), ("top", 57, 128)] {
            let mut counts = vec![0usize; buckets];
            for h in &one {
                counts[((h >> bits) as usize) % buckets] += 1;
            }
            let fullest = counts.iter().max().copied().unwrap_or(0);
            let mean = one.len() / buckets;
            assert!(
                fullest <= 3 * mean.max(4),
                "{what} bits: {fullest} in one bucket"
            );
        }
    }

    #[test]
    fn id_hashes_spread_over_the_bits_hash_tables_use() {
        use std::hash::BuildHasher as _;
        let hasher = std::hash::BuildHasherDefault::<IdHasher>::default();
        // Asterisk's ids differ in their last digits only, and may differ in length
        let ids: Vec<String> = (0..4096).map(|n| format!("1764163337.{n}")).collect();
        let hashes: Vec<u64> = ids.iter().map(|id| hasher.hash_one(id.as_str())).collect();
        let distinct: std::collections::HashSet<u64> = hashes.iter().copied().collect();
        assert_eq!(distinct.len(), ids.len(), "no two ids hash alike");
        // the bucket (low bits) and the control byte (top 7 bits) of a 256-bucket table:
        // each of the 256 buckets gets 16 on average, and none more than three times that
        for (what, bits) in [("low", 0u32), ("high", 56)] {
            let mut buckets = [0usize; 256];
            for h in &hashes {
                buckets[((h >> bits) & 0xff) as usize] += 1;
            }
            let fullest = buckets.iter().max().copied().unwrap_or(0);
            assert!(
                fullest <= 48,
                "{what} bits crowd one bucket with {fullest} ids"
            );
        }
        assert_ne!(hasher.hash_one("a"), hasher.hash_one("a\0"));
    }

    fn tomb(seq: u64, text: Option<&str>) -> Tomb {
        Tomb {
            reason: EndReason::Destroyed,
            frame: text.map(Frame::from),
            seq,
        }
    }

    #[test]
    fn tombstones_keep_the_newest_and_never_outgrow_their_bound() {
        let mut tombs = Tombs::default();
        let extra = 10;
        for i in 0..TOMBSTONES + extra {
            tombs.bury(&format!("c-{i}"), tomb(i as u64, Some(&format!("end {i}"))));
        }
        assert_eq!(tombs.ended.len(), TOMBSTONES);
        assert_eq!(tombs.order.len(), TOMBSTONES);
        assert!(tombs.order.capacity() < 2 * TOMBSTONES);
        assert_eq!(tombs.events.len(), TOMB_EVENTS);
        assert!(tombs.get("c-0").is_none());
        assert!(tombs.get(&format!("c-{}", extra - 1)).is_none());
        let oldest = tombs.get(&format!("c-{extra}")).expect("kept");
        assert_eq!((oldest.seq, oldest.frame.is_none()), (extra as u64, true));
        let newest = TOMBSTONES + extra - 1;
        let last = tombs.get(&format!("c-{newest}")).expect("kept");
        assert_eq!(
            last.frame.as_ref().map(Frame::as_str),
            Some(&*format!("end {newest}"))
        );
        // burying an id again updates it in place
        tombs.bury(&format!("c-{extra}"), tomb(7, None));
        assert_eq!(tombs.ended.len(), TOMBSTONES);
        assert_eq!(tombs.get(&format!("c-{extra}")).unwrap().seq, 7);
        // and its end event: still one for it
        tombs.bury(&format!("c-{newest}"), tomb(8, Some("again")));
        assert_eq!(tombs.events.len(), TOMB_EVENTS);
        let again = tombs.get(&format!("c-{newest}")).expect("kept");
        assert_eq!(again.frame.as_ref().map(Frame::as_str), Some("again"));
        let kept = |key| tombs.events.iter().filter(|(k, _)| *k == key).count();
        assert_eq!(kept(tombs.key(&format!("c-{newest}"))), 1);
        tombs.revive(&format!("c-{newest}"));
        assert!(tombs.get(&format!("c-{newest}")).is_none());
        assert_eq!(tombs.order.len(), TOMBSTONES - 1);
    }
}
