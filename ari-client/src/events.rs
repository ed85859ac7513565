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

use std::borrow::Cow;
use std::fmt;

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

include!(concat!(env!("OUT_DIR"), "/events.rs"));
