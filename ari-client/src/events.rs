//! The events Asterisk sends over the websocket, generated at build time.
//!
//! [`Event`] has one variant per event type of the spec, each a struct of this module with
//! the inherited `Message`/`Event` fields (`asterisk_id`, `application`, `timestamp`)
//! written out as real fields. Types the spec does not know become [`Event::Unknown`].
//!
//! `MissingParams` is a sub-type of `Message`, not of `Event`, and Asterisk never sends
//! it: it is the model [`crate::models::MissingParams`], not a variant here.
//!
//! [`EventKind`] names the types without their data, and [`ObjectKind`] the kinds of
//! domain objects that events name; both are generated from the specs and the crate's
//! domain-object table like the rest of this module.

use std::any::Any;
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use serde::Serialize;

/// Reads only `type` of an event.
#[derive(serde::Deserialize)]
pub(crate) struct TypeTag<'a> {
    #[serde(rename = "type", borrow)]
    pub(crate) kind: Cow<'a, str>,
}

/// The `type` of an event's JSON text: the first `type` member, found by [`crate::scan`]
/// without building anything, or by serde when the scanner gives up (escaped keys,
/// malformed text; serde refuses a `type` given twice). It does not validate: the full
/// decode that follows does.
pub(crate) fn event_type(json: &str) -> Result<Cow<'_, str>, serde_json::Error> {
    match crate::scan::string_field(json, "type") {
        Some(kind) => Ok(Cow::Borrowed(kind)),
        None => serde_json::from_str::<TypeTag<'_>>(json).map(|tag| tag.kind),
    }
}

/// What routing needs of an event's text, found by [`crate::scan::head`] with the fields
/// where this spec's events name objects: its `type` and those objects, with where their
/// snapshots are. `None` when the scanner is unsure (serde then decides).
pub(crate) fn head(text: &str) -> Option<crate::scan::Head<'_, ObjectKind, MOST_OBJECTS>> {
    crate::scan::head(text, OBJECT_FIELDS, object_field, |name| {
        EventKind::from_type_name(name).object_fields()
    })
}

/// An event of a type this version does not know keeps its raw JSON, whose `type` must
/// then be the one the text gave: a text with `type` twice is refused (serde's JSON value
/// would keep the last one, the typed events the first). When the scanner is unsure (an
/// escaped key may be a second `type`), serde counts, and refuses a `type` given twice.
pub(crate) fn single_type(json: &str) -> Result<(), serde_json::Error> {
    match crate::scan::occurrences(json, "type") {
        Some(1) => Ok(()),
        Some(_) => Err(serde::de::Error::custom("`type` is given more than once")),
        None => serde_json::from_str::<TypeTag<'_>>(json).map(drop),
    }
}

/// `Deserialize for Event`: the text as it came, decoded by [`Event::from_json`], so that
/// both agree on every text, a `type` or another key given twice included (a JSON value
/// would keep the last one and hide it). It needs a `serde_json` deserializer: text,
/// bytes, a reader or a `Value`.
pub(crate) fn deserialize_event<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Event, D::Error> {
    let raw = <Box<serde_json::value::RawValue> as serde::Deserialize>::deserialize(d)?;
    Event::from_json(raw.get()).map_err(serde::de::Error::custom)
}

/// Writes `type` and then an event's own fields.
#[derive(Serialize)]
pub(crate) struct Tagged<'a, T> {
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    #[serde(flatten)]
    pub(crate) event: &'a T,
}

/// An event of a type this version of the spec does not know, with its raw JSON.
#[derive(Clone, PartialEq)]
pub struct UnknownEvent {
    kind: Box<str>,
    raw: serde_json::Value,
}

impl UnknownEvent {
    pub(crate) fn new(raw: serde_json::Value) -> Result<Self, serde_json::Error> {
        let kind = match raw.get("type") {
            Some(serde_json::Value::String(s)) => s.as_str().into(),
            _ => return Err(serde::de::Error::missing_field("type")),
        };
        Ok(Self { kind, raw })
    }

    /// The event's `type`.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The whole event as received.
    pub fn raw(&self) -> &serde_json::Value {
        &self.raw
    }
}

impl fmt::Debug for UnknownEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnknownEvent")
            .field("kind", &self.kind)
            .field("raw", &self.raw)
            .finish()
    }
}

mod sealed {
    /// Keeps [`EventType`](super::EventType) implemented by this crate's event types only.
    pub trait Sealed {}
}

/// Implemented by every event struct (`StasisStart`, `ChannelDtmfReceived`, …): its type
/// and the conversions out of [`Event`]. Typed handlers use it, e.g. a handler for
/// `StasisStart` receives only those events. Sealed: only the generated event types
/// implement it.
pub trait EventType: Sized + sealed::Sealed {
    /// The event's `type` on the wire (`"StasisStart"`).
    const NAME: &'static str;

    /// The event's type as an [`EventKind`].
    const KIND: EventKind;

    /// The payload, if `event` is this type.
    fn from_event(event: Event) -> Option<Self>;

    /// The payload by reference, if `event` is this type.
    fn from_ref(event: &Event) -> Option<&Self>;
}

/// A snapshot of a domain object as an event carried it: its JSON text and what that
/// decoded to (an `Arc<models::Channel>`, `Arc<models::Bridge>`, …).
///
/// Most of an event is the snapshot of the object it is about — a channel's ~400 bytes of
/// a ~575-byte event — and it is byte for byte the one of the object's previous event
/// unless something about the object changed. A lane keeps the last snapshot it decoded;
/// [`Event::from_json_reusing`] compares the new event's snapshot text with it and, when
/// they are equal, shares the decoded `Arc` instead of decoding the snapshot again; when
/// they differ in one member's value (a channel's `state`), it decodes only that member
/// into a copy ([`Snapshot::patched`]).
pub(crate) struct Snapshot {
    raw: Box<str>,
    value: Arc<dyn Any + Send + Sync>,
}

impl Snapshot {
    /// This snapshot with the one member changed in `rest` (the text from the start of
    /// the object's new snapshot on) decoded again, and the length of the new snapshot's
    /// text; `None` when more than one member's value changed, or the scanner or the
    /// member's decode is unsure (see [`patch_snapshot`]).
    pub(crate) fn patched(
        &self,
        object: ObjectKind,
        rest: &str,
    ) -> Option<(Arc<dyn Any + Send + Sync>, usize)> {
        let (key, value, len) = crate::scan::changed_member(&self.raw, rest)?;
        Some((object.patch_snapshot(&*self.value, key, &rest[value])?, len))
    }
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snapshot").field("raw", &self.raw).finish()
    }
}

/// The most brackets the text of a snapshot, or of a member's value, decoded apart from
/// its event may hold. serde_json refuses a text nested deeper than 128; inside its event
/// the text sits one or two levels deeper than when decoded alone, so a text nested near
/// the limit could decode alone and be refused in the event. Nesting is at most the count
/// of brackets; Asterisk's snapshots hold a handful.
const APART_BRACKETS: usize = 64;

/// Whether `text` may be decoded apart from its event (see [`APART_BRACKETS`]).
fn shallow(text: &str) -> bool {
    memchr::memchr2_iter(b'[', b'{', text.as_bytes())
        .nth(APART_BRACKETS)
        .is_none()
}

/// Decodes the model `M` at the start of `text`: the snapshot, shared, and where its text
/// ends. (The generated `ObjectKind::decode_snapshot` picks `M`.) An error, too, for a
/// snapshot nested so deep that the event might refuse it ([`APART_BRACKETS`]): the
/// caller then decodes the whole event, which decides.
pub(crate) fn decode_snapshot<M>(
    text: &str,
) -> Result<(Arc<dyn Any + Send + Sync>, usize), serde_json::Error>
where
    M: serde::de::DeserializeOwned + Send + Sync + 'static,
{
    let mut values = serde_json::Deserializer::from_str(text).into_iter::<M>();
    match values.next() {
        Some(Ok(model)) => {
            let end = values.byte_offset();
            if !shallow(&text[..end]) {
                return Err(serde::de::Error::custom("a snapshot nested too deep"));
            }
            Ok((Arc::new(model), end))
        }
        Some(Err(e)) => Err(e),
        None => Err(serde::de::Error::custom("no snapshot")),
    }
}

impl ObjectKind {
    /// The object an event source names (`channel:<id>`: the channel `<id>`); `None` for a
    /// whole kind (`channel:`, the application's own, nobody's object) or a prefix that no
    /// kind has.
    pub(crate) fn named_by_source(source: &str) -> Option<(ObjectKind, &str)> {
        let (prefix, id) = source.split_once(':')?;
        let kind = ObjectKind::ALL
            .into_iter()
            .find(|k| k.event_source() == Some(prefix))?;
        (!id.is_empty()).then_some((kind, id))
    }
}

/// A model whose members can be set one by one from their JSON values (generated for the
/// models of object snapshots).
pub(crate) trait Members {
    /// Sets the field of member `key` from `d`, which holds its value, as the model's
    /// derived `Deserialize` decodes that member; a member the model does not have is
    /// read and ignored, as there.
    fn set_member<'de, D: serde::Deserializer<'de>>(
        &mut self,
        key: &str,
        d: D,
    ) -> Result<(), D::Error>;
}

/// The snapshot `kept` (an `M`) with its member `key` set from `value`, the JSON text of
/// that member's value (nothing before or after it). (The generated
/// `ObjectKind::patch_snapshot` picks `M`.)
///
/// When a snapshot's text is `kept`'s text with only the value of one member changed,
/// this is the model that decoding the new text gives: serde reads the same bytes before
/// the value alike, decodes the value as that member wherever it is (`set_member` does as
/// the derived code does for a member that is there), and reads the same bytes after it
/// alike; `kept` decoded, so no member the model has occurs twice. `None` when the value
/// does not decode, or is nested so deep that in the event it might be refused
/// ([`APART_BRACKETS`]): the caller then decodes the whole snapshot, which decides.
pub(crate) fn patch_snapshot<M>(
    kept: &(dyn Any + Send + Sync),
    key: &str,
    value: &str,
) -> Option<Arc<dyn Any + Send + Sync>>
where
    M: Members + Clone + Send + Sync + 'static,
{
    if !shallow(value) {
        return None;
    }
    let mut model = kept.downcast_ref::<M>()?.clone();
    let mut d = serde_json::Deserializer::from_str(value);
    model.set_member(key, &mut d).ok()?;
    d.end().ok()?;
    Some(Arc::new(model))
}

impl Event {
    /// Decodes the text of an event whose type is `kind`, as [`Event::from_json_of`] does,
    /// where the value of the field `field` (one of [`OBJECT_FIELDS`], naming an object of
    /// kind `object`) is a JSON object that starts at byte `at` (as [`crate::scan::head`]
    /// found it). When the text of that value is `known`'s, the event shares `known`'s
    /// decoded snapshot; when it differs from `known`'s only in the value of one member
    /// ([`crate::scan::changed_member`]), the snapshot is `known`'s with that member decoded
    /// again ([`patch_snapshot`]); otherwise the snapshot is decoded on its own. Then the
    /// rest of the event is decoded. Returns the decoded event, or the error `from_json_of`
    /// gives, and the snapshot to keep for the next event of the object.
    ///
    /// The rest of the event is decoded from a copy of the text in which a placeholder
    /// stands where the snapshot's text was ([`reuse`]). Why the result is the same: the
    /// bytes before `at` are the same in both texts, so serde reads them alike and reaches
    /// `at` — the value of `field`, as the scanner agrees with serde on any text serde
    /// accepts so far — in the same state. There the original text holds the snapshot's
    /// text, a complete JSON object that decodes into the snapshot as that field (a field's
    /// value decodes the same wherever it is), and serde goes on after it as it goes on
    /// after the placeholder. A duplicate `field` or any other error fails either way; on
    /// an error the original text is decoded again, so that the error is the one
    /// `from_json_of` gives.
    pub(crate) fn from_json_reusing(
        kind: EventKind,
        json: &str,
        (object, field): (ObjectKind, &'static str),
        at: usize,
        known: Option<Box<Snapshot>>,
    ) -> (Result<Event, serde_json::Error>, Option<Box<Snapshot>>) {
        let Some(rest) = json.get(at..) else {
            return (Event::from_json_of(kind, json), None);
        };
        let same = known
            .as_ref()
            .is_some_and(|k| rest.as_bytes().get(..k.raw.len()) == Some(k.raw.as_bytes()));
        let (value, len) = match &known {
            Some(k) if same => (k.value.clone(), k.raw.len()),
            _ => match known
                .as_ref()
                .and_then(|k| k.patched(object, rest))
                .map_or_else(|| object.decode_snapshot(rest), Ok)
            {
                Ok(decoded) => decoded,
                Err(_) => return (Event::from_json_of(kind, json), None),
            },
        };
        let end = at + len;
        let decoded = reuse::with_placeholder(json, at..end, |text| {
            reuse::standing_in(field, value.clone(), || Event::from_json_of(kind, text))
        });
        match decoded {
            Some(Ok(event)) => {
                let keep = match known {
                    Some(k) if same => k,
                    _ => Box::new(Snapshot {
                        raw: json[at..end].into(),
                        value,
                    }),
                };
                (Ok(event), Some(keep))
            }
            _ => (Event::from_json_of(kind, json), known.filter(|_| same)),
        }
    }
}

/// How a snapshot decoded before stands in for the value of one field while an event is
/// decoded: the field's text is replaced by a placeholder, and the field's
/// `deserialize_with` (the generated `reuse_fields`) takes the snapshot instead of the
/// placeholder. Only [`Event::from_json_reusing`] sets it, on its own thread, for the one
/// decode; every other decode of the same types decodes the field as usual.
pub(crate) mod reuse {
    use std::any::Any;
    use std::cell::RefCell;
    use std::sync::Arc;

    use serde::de::{Deserialize, Deserializer, Error as _, IgnoredAny};

    /// What the text holds where the snapshot's text was.
    const PLACEHOLDER: &str = "0";

    /// A buffer of this thread's decodes, for the texts with a placeholder.
    const SCRATCH_KEPT: usize = 64 << 10;

    thread_local! {
        static SCRATCH: RefCell<String> = const { RefCell::new(String::new()) };
    }

    /// Runs `decode` on `json` with the placeholder in place of `json[snapshot]` (the
    /// range of a JSON object: its ends are on char boundaries).
    pub(super) fn with_placeholder<T>(
        json: &str,
        snapshot: std::ops::Range<usize>,
        decode: impl FnOnce(&str) -> T,
    ) -> T {
        SCRATCH.with(|scratch| {
            let mut text = scratch.take();
            text.clear();
            text.push_str(&json[..snapshot.start]);
            text.push_str(PLACEHOLDER);
            text.push_str(&json[snapshot.end..]);
            let out = decode(&text);
            // a large text's buffer is not kept
            if text.capacity() <= SCRATCH_KEPT {
                *scratch.borrow_mut() = text;
            }
            out
        })
    }

    type Standing = (&'static str, Arc<dyn Any + Send + Sync>);

    thread_local! {
        static STANDING: RefCell<Option<Standing>> = const { RefCell::new(None) };
    }

    /// Runs `decode` with `value` standing in for field `field`; `None` when no field of
    /// that name took it (then the placeholder was not where it was thought to be, and
    /// the result means nothing).
    pub(super) fn standing_in<T>(
        field: &'static str,
        value: Arc<dyn Any + Send + Sync>,
        decode: impl FnOnce() -> T,
    ) -> Option<T> {
        /// Clears the slot even if `decode` panics.
        struct Clear;
        impl Drop for Clear {
            fn drop(&mut self) {
                STANDING.with(|s| s.borrow_mut().take());
            }
        }
        STANDING.with(|s| *s.borrow_mut() = Some((field, value)));
        let clear = Clear;
        let out = decode();
        let unused = STANDING.with(|s| s.borrow_mut().take()).is_some();
        drop(clear);
        (!unused).then_some(out)
    }

    /// A field type that a snapshot can stand in for: `Arc<Model>`, `Option<Arc<Model>>`.
    pub(crate) trait Shared: Sized {
        /// The field's value for a snapshot; `None` for a snapshot of another model.
        fn shared(value: Arc<dyn Any + Send + Sync>) -> Option<Self>;
    }

    impl<M: Send + Sync + 'static> Shared for Arc<M> {
        fn shared(value: Arc<dyn Any + Send + Sync>) -> Option<Self> {
            value.downcast().ok()
        }
    }

    impl<M: Send + Sync + 'static> Shared for Option<Arc<M>> {
        fn shared(value: Arc<dyn Any + Send + Sync>) -> Option<Self> {
            value.downcast().ok().map(Some)
        }
    }

    /// Decodes field `name`: the snapshot standing in for it, if any (reading the
    /// placeholder), else the value as usual.
    pub(crate) fn field<'de, D, T>(name: &'static str, d: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de> + Shared,
    {
        let standing = STANDING.with(|s| {
            let mut s = s.borrow_mut();
            match &*s {
                Some((field, _)) if *field == name => s.take().map(|(_, value)| value),
                _ => None,
            }
        });
        match standing {
            None => T::deserialize(d),
            Some(value) => {
                IgnoredAny::deserialize(d)?;
                T::shared(value).ok_or_else(|| D::Error::custom("a snapshot of another model"))
            }
        }
    }
}

include!(concat!(env!("OUT_DIR"), "/events.rs"));

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(state: &str, number: &str) -> String {
        format!(
            r#"{{"id":"1764163337.5","name":"PJSIP/trunk-00000005","state":"{state}","protocol_id":"","caller":{{"name":"Customer","number":"{number}"}},"connected":{{"name":"","number":""}},"accountcode":"","dialplan":{{"context":"in","exten":"100","priority":3,"app_name":"Stasis","app_data":"app"}},"creationtime":"2026-11-26T13:22:17.520+0000","language":"en"}}"#
        )
    }

    fn dtmf(digit: &str, channel: &str, tail: &str) -> String {
        format!(
            r#"{{"type":"ChannelDtmfReceived","timestamp":"2026-11-26T13:22:17.521+0000","digit":"{digit}","duration_ms":100,"channel":{channel},"application":"app"{tail}}}"#
        )
    }

    /// Decodes `text` as the lane of its channel does, with `known`.
    fn decode(
        text: &str,
        known: Option<Box<Snapshot>>,
    ) -> (Result<Event, serde_json::Error>, Option<Box<Snapshot>>) {
        let head = super::head(text).expect("scanned");
        let kind = EventKind::from_type_name(head.kind);
        let named = head.into_objects()[0].take().expect("names a channel");
        let place = named.place.expect("a place");
        let (field, object, _) = OBJECT_FIELDS[place.field()];
        Event::from_json_reusing(kind, text, (object, field), place.at(), known)
    }

    fn channel_of(event: &Event) -> &Arc<crate::models::Channel> {
        event.channel().expect("a channel")
    }

    #[test]
    fn event_sources_name_objects_of_their_kind() {
        assert_eq!(
            ObjectKind::named_by_source("channel:1764163337.5"),
            Some((ObjectKind::Channel, "1764163337.5"))
        );
        // an id may hold the separator
        assert_eq!(
            ObjectKind::named_by_source("bridge:a:b"),
            Some((ObjectKind::Bridge, "a:b"))
        );
        for source in ["channel:", "channel", "nosuchkind:1", ":1", ""] {
            assert_eq!(ObjectKind::named_by_source(source), None, "{source}");
        }
    }

    #[test]
    fn the_scans_field_match_agrees_with_the_fields_table() {
        for (n, (field, _, _)) in OBJECT_FIELDS.iter().enumerate() {
            assert_eq!(object_field(field.as_bytes()), Some(n), "{field}");
            // a prefix or a longer key is another member
            assert_eq!(object_field(&field.as_bytes()[1..]), None, "{field}");
            assert_eq!(
                object_field(format!("{field}s").as_bytes()),
                None,
                "{field}"
            );
        }
        for other in ["type", "timestamp", "application", "", "Channel"] {
            assert_eq!(object_field(other.as_bytes()), None, "{other}");
        }
    }

    #[test]
    fn a_snapshot_of_the_same_text_is_shared() {
        let up = channel("Up", "100");
        let (first, kept) = decode(&dtmf("1", &up, ""), None);
        let first = first.unwrap();
        let (second, kept_again) = decode(&dtmf("2", &up, ""), kept);
        let second = second.unwrap();
        assert!(Arc::ptr_eq(channel_of(&first), channel_of(&second)));
        assert_eq!(second, Event::from_json(&dtmf("2", &up, "")).unwrap());
        assert!(kept_again.is_some());
    }

    #[test]
    fn a_changed_snapshot_is_decoded_anew_and_kept() {
        let (ring, kept) = decode(&dtmf("1", &channel("Ring", "100"), ""), None);
        let ring = ring.unwrap();
        // a state, one byte deep inside the snapshot (both patched: one member's value
        // changed), and both (decoded whole)
        for (changed, patched) in [
            (channel("Up", "100"), true),
            (channel("Ring", "101"), true),
            (channel("Up", "101"), false),
        ] {
            let text = dtmf("2", &changed, "");
            let at = text.find(r#"{"id""#).unwrap();
            let patch = kept
                .as_ref()
                .unwrap()
                .patched(ObjectKind::Channel, &text[at..]);
            assert_eq!(patch.is_some(), patched, "{changed}");
            if let Some((value, len)) = patch {
                assert_eq!(len, changed.len());
                let value = value.downcast::<crate::models::Channel>().unwrap();
                let whole: crate::models::Channel = serde_json::from_str(&changed).unwrap();
                assert_eq!(*value, whole);
            }
            let (event, _) = decode(
                &text,
                Some(Box::new(Snapshot {
                    raw: kept.as_ref().unwrap().raw.clone(),
                    value: kept.as_ref().unwrap().value.clone(),
                })),
            );
            let event = event.unwrap();
            assert!(!Arc::ptr_eq(channel_of(&ring), channel_of(&event)));
            assert_eq!(event, Event::from_json(&text).unwrap());
        }
        // the new snapshot replaces the old one: the next event shares it
        let up = channel("Up", "100");
        let (second, kept) = decode(&dtmf("2", &up, ""), kept);
        let (third, _) = decode(&dtmf("3", &up, ""), kept);
        assert!(Arc::ptr_eq(
            channel_of(&second.unwrap()),
            channel_of(&third.unwrap())
        ));
    }

    #[test]
    fn a_member_set_to_null_is_patched_as_the_whole_decode_reads_it() {
        let base = channel("Up", "100");
        let with_tenant = base.replace(r#""language":"en""#, r#""language":"en","tenantid":"t1""#);
        let (_, kept) = decode(&dtmf("1", &with_tenant, ""), None);
        let kept = kept.unwrap();
        // a lenient string (empty), an optional one (none), a required object (refused)
        for (from, to, patched) in [
            (r#""language":"en""#, r#""language":null"#, true),
            (r#""tenantid":"t1""#, r#""tenantid":null"#, true),
            (
                r#""caller":{"name":"Customer","number":"100"}"#,
                r#""caller":null"#,
                false,
            ),
        ] {
            let changed = with_tenant.replace(from, to);
            assert_ne!(changed, with_tenant);
            let text = dtmf("2", &changed, "");
            let at = text.find(r#"{"id""#).unwrap();
            assert_eq!(
                kept.patched(ObjectKind::Channel, &text[at..]).is_some(),
                patched,
                "{to}"
            );
            let known = Box::new(Snapshot {
                raw: kept.raw.clone(),
                value: kept.value.clone(),
            });
            let (event, _) = decode(&text, Some(known));
            match Event::from_json(&text) {
                Ok(whole) => assert_eq!(event.unwrap(), whole, "{to}"),
                Err(e) => assert_eq!(event.unwrap_err().to_string(), e.to_string(), "{to}"),
            }
        }
    }

    #[test]
    fn a_snapshot_nested_near_serdes_limit_is_decoded_with_its_event() {
        // 127 levels decode on their own, not one level deeper in the event
        for depth in [127, 126, 125, 65, 64, 63, 60] {
            let deep = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
            let snapshot = channel("Up", "100").replace(
                r#""language":"en""#,
                &format!(r#""language":"en","channelvars":{deep}"#),
            );
            let text = dtmf("1", &snapshot, "");
            let (event, kept) = decode(&text, None);
            match Event::from_json(&text) {
                Ok(whole) => assert_eq!(event.unwrap(), whole, "{depth}"),
                Err(e) => assert_eq!(event.unwrap_err().to_string(), e.to_string(), "{depth}"),
            }
            // kept only when shallow enough to be decoded apart again
            let brackets = snapshot.matches(['[', '{']).count();
            assert_eq!(kept.is_some(), brackets <= APART_BRACKETS, "{depth}");
        }
    }

    #[test]
    fn an_event_that_does_not_decode_fails_as_it_would_without_reuse() {
        let up = channel("Up", "100");
        let (_, kept) = decode(&dtmf("1", &up, ""), None);
        for tail in [
            // the field again, after the snapshot
            &format!(r#","channel":{up}"#),
            r#","duration_ms":"long""#,
            r#","timestamp":"yesterday""#,
        ] {
            let text = dtmf("2", &up, tail);
            let known = kept.as_ref().map(|k| {
                Box::new(Snapshot {
                    raw: k.raw.clone(),
                    value: k.value.clone(),
                })
            });
            let (event, still) = decode(&text, known);
            let expected = Event::from_json(&text).unwrap_err().to_string();
            assert_eq!(event.unwrap_err().to_string(), expected, "{text}");
            assert!(still.is_some(), "the known snapshot is kept");
        }
    }
}
