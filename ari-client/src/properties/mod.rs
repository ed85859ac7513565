//! Properties of the event path that hold for every text a peer may send, checked on
//! Asterisk's real events (the recorded fixtures) and on seeded mutations of them:
//!
//! - decoding never panics;
//! - an event that decodes encodes back to a text that decodes to the same event;
//! - `Deserialize for Event` and [`Event::from_json`] agree, on success and on failure;
//! - an event's type is the text's first `type`, whether its key is escaped or not;
//! - where the reader's scan is sure, it finds the type and the objects the decoded event
//!   has, and decoding with the scanned type gives the same event;
//! - decoding while reusing a snapshot decoded before gives the same event or error as
//!   decoding the whole text — sharing it when the text is the same, patching it when one
//!   member's value differs — and an event that decodes shares a snapshot of the same
//!   text.
//!
//! The checks are here, the inputs elsewhere: the unit tests (`tests.rs`) feed them
//! seeded mutations in every test run, the fuzz targets (`ari-client/fuzz`, built with
//! the `fuzzing` feature) coverage-guided ones. Not an API: nothing else may use it.

use crate::events::{Event, EventKind, ObjectKind, Snapshot, OBJECT_FIELDS};
use crate::scan;

/// What serde reads of a text's top level: the value of its first `type` if that is a
/// string (escapes decoded), and how many members are named `type`.
struct TypeMembers {
    first: Option<String>,
    count: usize,
}

impl<'de> serde::Deserialize<'de> for TypeMembers {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = TypeMembers;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<TypeMembers, A::Error> {
                let mut members = TypeMembers {
                    first: None,
                    count: 0,
                };
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    if key == "type" {
                        let value: serde_json::Value = map.next_value()?;
                        if members.count == 0 {
                            members.first = value.as_str().map(str::to_owned);
                        }
                        members.count += 1;
                    } else {
                        map.next_value::<serde::de::IgnoredAny>()?;
                    }
                }
                Ok(members)
            }
        }
        d.deserialize_map(Visitor)
    }
}

/// The first top-level `type` of a text, if it is a JSON object whose first `type` is a
/// string.
fn first_type(text: &str) -> Option<String> {
    serde_json::from_str::<TypeMembers>(text).ok()?.first
}

fn objects_of(event: &Event) -> Vec<(ObjectKind, String)> {
    let mut out = Vec::new();
    event.for_each_object(|kind, id| out.push((kind, id.to_owned())));
    out
}

/// Checks every property of the event path on one text; panics with the text on a
/// violation. Whether the text decoded.
pub fn event(text: &str) -> bool {
    let decoded = Event::from_json(text);
    let through_serde = serde_json::from_str::<Event>(text);
    match (&decoded, &through_serde) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "Deserialize and from_json disagree on {text}"),
        (Err(_), Err(_)) => {}
        (a, b) => panic!("Deserialize and from_json disagree on {text}: {a:?} vs {b:?}"),
    }
    let Ok(event) = decoded else {
        return false;
    };
    // the first `type` decides, escaped or not
    assert_eq!(
        first_type(text).as_deref(),
        Some(event.type_name()),
        "the type of {text}"
    );
    let encoded = serde_json::to_string(&event).expect("an event encodes");
    match Event::from_json(&encoded) {
        Ok(again) => assert_eq!(again, event, "{text} → {encoded} decodes to another event"),
        Err(e) => panic!("{text} → {encoded} does not decode: {e}"),
    }
    if let Some(head) = crate::events::head(text) {
        let kind = EventKind::from_type_name(head.kind);
        assert_eq!(kind, event.kind(), "the scan's type of {text}");
        let scanned: Vec<(ObjectKind, String)> = head
            .into_objects()
            .into_iter()
            .map_while(|o| o.map(|n| (n.kind, n.id.into_owned())))
            .collect();
        assert_eq!(scanned, objects_of(&event), "the scan's objects of {text}");
        match Event::from_json_of(kind, text) {
            Ok(e) => assert_eq!(e, event, "decoding {text} as its scanned type"),
            Err(e) => panic!("{text} decodes, but not as its scanned type: {e}"),
        }
    }
    for place in places(text) {
        // nothing known: the snapshot is decoded, and kept
        let (_, kept) = reusing(text, place, None);
        let kept = kept.unwrap_or_else(|| panic!("no snapshot kept of {text} at {place:?}"));
        // known: shared
        let (shared, _) = reusing(text, place, Some(kept));
        assert!(shared, "the snapshot of {text} at {place:?} was not shared");
    }
    true
}

/// Where a text holds snapshots, as the reader's scan finds them: its type, and the kind,
/// field and start of each snapshot.
type SnapshotPlace = (EventKind, ObjectKind, &'static str, usize);

fn places(text: &str) -> Vec<SnapshotPlace> {
    let Some(head) = crate::events::head(text) else {
        return Vec::new();
    };
    let kind = EventKind::from_type_name(head.kind);
    head.into_objects()
        .into_iter()
        .map_while(|named| named)
        .filter_map(|named| {
            let place = named.place?;
            let (field, object, _) = OBJECT_FIELDS[place.field()];
            Some((kind, object, field, place.at()))
        })
        .collect()
}

/// Decodes `text` reusing `known` at `place`, checks that the result is what decoding
/// the whole text gives, and says whether `known` was shared; returns the snapshot kept.
fn reusing(
    text: &str,
    (kind, object, field, at): SnapshotPlace,
    known: Option<Box<Snapshot>>,
) -> (bool, Option<Box<Snapshot>>) {
    let known_at = known.as_deref().map(std::ptr::from_ref);
    let (decoded, kept) = Event::from_json_reusing(kind, text, (object, field), at, known);
    match (&decoded, Event::from_json_of(kind, text)) {
        (Ok(a), Ok(b)) => assert_eq!(*a, b, "reusing a snapshot at {at} of {text}"),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "the error of {text}"),
        (a, b) => panic!("reusing a snapshot at {at} of {text} gives {a:?}, not {b:?}"),
    }
    let shared = decoded.is_ok()
        && known_at.is_some()
        && kept.as_deref().map(std::ptr::from_ref) == known_at;
    (shared, kept)
}

/// How the snapshots of a text were decoded when another text's stood by.
#[derive(Debug, Default, Clone, Copy)]
pub struct Reused {
    /// The other text's snapshot, shared.
    pub shared: usize,
    /// The other text's snapshot with one member decoded again.
    pub patched: usize,
}

/// Decodes `text` reusing each snapshot of `other` (another text) in the same field, as a
/// lane does with its object's last snapshot; checks that each result is what decoding the
/// whole text gives.
pub fn reuse(text: &str, other: &str) -> Reused {
    let known = places(other);
    let mut reused = Reused::default();
    for place in places(text) {
        let Some(&theirs) = known.iter().find(|k| k.2 == place.2) else {
            continue;
        };
        let (_, snapshot) = reusing(other, theirs, None);
        // whether the decode below patches it: what `from_json_reusing` tries first
        let (_, object, _, at) = place;
        let patches = snapshot
            .as_ref()
            .is_some_and(|k| k.patched(object, &text[at..]).is_some());
        let (shared, _) = reusing(text, place, snapshot);
        reused.shared += usize::from(shared);
        reused.patched += usize::from(patches);
    }
    reused
}

/// Checks the scanner alone on one text: it never panics, and on a text that serde reads
/// as an object, what the scanner is sure of is what serde reads: the first `type`, and
/// how many members are named `type`. (The scanner does not validate: on malformed text
/// its answers mean nothing, and the full decode that follows refuses the text.)
pub fn scan(text: &str) {
    let kind = scan::string_field(text, "type");
    let count = scan::occurrences(text, "type");
    let _ = crate::events::head(text);
    let Ok(members) = serde_json::from_str::<TypeMembers>(text) else {
        return;
    };
    if let Some(kind) = kind {
        assert_eq!(
            members.first.as_deref(),
            Some(kind),
            "the first type of {text}"
        );
    }
    if let Some(count) = count {
        assert_eq!(members.count, count, "the `type` members of {text}");
    }
}

#[cfg(test)]
mod tests;
