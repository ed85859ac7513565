//! The events Asterisk sends over the websocket, generated at build time.
//!
//! [`Event`] has one variant per event type of the spec, each a struct of this module with
//! the inherited `Message`/`Event` fields (`asterisk_id`, `application`, `timestamp`)
//! written out as real fields. Types the spec does not know become [`Event::Unknown`].
//!
//! `MissingParams` is a sub-type of `Message`, not of `Event`, and Asterisk never sends
//! it: it is the model [`crate::models::MissingParams`], not a variant here.

use std::borrow::Cow;
use std::fmt;

use serde::Serialize;

/// Reads only `type` of an event.
#[derive(serde::Deserialize)]
pub(crate) struct TypeTag<'a> {
    #[serde(rename = "type", borrow)]
    pub(crate) kind: Cow<'a, str>,
}

/// The `type` of an event's JSON text.
///
/// A small scanner finds the top-level `"type"` key without building anything: it skips
/// other values (strings with escapes, nested objects and arrays) and gives up on anything
/// unusual (an escaped key, malformed text), leaving those to serde. It does not validate:
/// the full decode that follows does.
pub(crate) fn event_type(json: &str) -> Result<Cow<'_, str>, serde_json::Error> {
    match scan_type(json.as_bytes()) {
        // the scanner only returns a slice between two ASCII quotes, so it is valid UTF-8
        Some((start, end)) => Ok(Cow::Borrowed(&json[start..end])),
        None => serde_json::from_str::<TypeTag<'_>>(json).map(|tag| tag.kind),
    }
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// The end (after the closing quote) of the string starting at `i` (its opening quote),
/// and whether it holds an escape.
fn skip_string(b: &[u8], mut i: usize) -> Option<(usize, bool)> {
    let mut escaped = false;
    i += 1;
    loop {
        match *b.get(i)? {
            b'"' => return Some((i + 1, escaped)),
            b'\\' => {
                escaped = true;
                i += 2;
            }
            _ => i += 1,
        }
    }
}

/// The end of the JSON value starting at `i`.
fn skip_value(b: &[u8], i: usize) -> Option<usize> {
    match *b.get(i)? {
        b'"' => skip_string(b, i).map(|(end, _)| end),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            loop {
                match *b.get(j)? {
                    b'"' => {
                        j = skip_string(b, j)?.0;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
        }
        _ => {
            let mut j = i;
            while !matches!(b.get(j)?, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                j += 1;
            }
            Some(j)
        }
    }
}

/// The byte range of the top-level `type` string's content.
fn scan_type(b: &[u8]) -> Option<(usize, usize)> {
    let mut i = skip_ws(b, 0);
    if *b.get(i)? != b'{' {
        return None;
    }
    i += 1;
    loop {
        i = skip_ws(b, i);
        if *b.get(i)? != b'"' {
            return None;
        }
        let (key_end, key_escaped) = skip_string(b, i)?;
        if key_escaped {
            return None;
        }
        let is_type = &b[i + 1..key_end - 1] == b"type";
        i = skip_ws(b, key_end);
        if *b.get(i)? != b':' {
            return None;
        }
        i = skip_ws(b, i + 1);
        if is_type {
            if *b.get(i)? != b'"' {
                return None;
            }
            let (end, escaped) = skip_string(b, i)?;
            return (!escaped).then_some((i + 1, end - 1));
        }
        i = skip_ws(b, skip_value(b, i)?);
        match *b.get(i)? {
            b',' => i += 1,
            _ => return None,
        }
    }
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

include!(concat!(env!("OUT_DIR"), "/events.rs"));

#[cfg(test)]
mod tests {
    use super::event_type;

    #[test]
    fn finds_type_wherever_it_is() {
        for (json, want) in [
            (r#"{"type":"StasisStart","x":1}"#, "StasisStart"),
            (
                r#" { "variable" : "type", "value":"{\"type\":1}", "channel":{"type":"no","a":[1,{"type":"x"}]}, "n": -1.5e3, "ok": true, "nil": null, "type" : "ChannelVarset" }"#,
                "ChannelVarset",
            ),
            (r#"{"a":"\\","type":"Dial"}"#, "Dial"),
            (r#"{"typ\u0065":"Escaped"}"#, "Escaped"),
            (r#"{"type":"Esc\u0061ped"}"#, "Escaped"),
        ] {
            assert_eq!(event_type(json).unwrap(), want, "{json}");
        }
    }

    #[test]
    fn errors_without_type_or_on_garbage() {
        for json in [
            "",
            "[]",
            "{}",
            r#"{"a":1}"#,
            r#"{"type":1}"#,
            r#"{"a":"unterminated"#,
            r#"{"a":{"type":"nested"}}"#,
            "not json",
        ] {
            assert!(event_type(json).is_err(), "{json}");
        }
    }
}
