//! A tiny JSON scanner for the event path: finds a few top-level facts of an event's text
//! (its `type`, the id that decides its dispatch worker) without building anything.
//!
//! It does not validate. It answers `None` whenever it is unsure — an escaped key or
//! value, malformed text — and the caller then falls back to a full serde decode, which
//! does validate.

use std::borrow::Cow;
use std::ops::ControlFlow;

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// The end (after the closing quote) of the string whose opening quote is at `i`, and
/// whether it holds an escape.
fn skip_string(b: &[u8], mut i: usize) -> Option<(usize, bool)> {
    let mut escaped = false;
    i += 1;
    loop {
        i += memchr::memchr2(b'"', b'\\', b.get(i..)?)?;
        if b[i] == b'"' {
            return Some((i + 1, escaped));
        }
        escaped = true;
        i += 2;
    }
}

/// The end of the JSON value starting at `i`.
fn skip_value(b: &[u8], i: usize) -> Option<usize> {
    let (open, close) = match *b.get(i)? {
        b'"' => return skip_string(b, i).map(|(end, _)| end),
        b'{' => (b'{', b'}'),
        b'[' => (b'[', b']'),
        _ => {
            let mut j = i;
            while !matches!(b.get(j)?, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                j += 1;
            }
            return Some(j);
        }
    };
    // only this kind of bracket changes the depth; strings are skipped whole
    let mut depth = 0usize;
    let mut j = i;
    loop {
        j += memchr::memchr3(b'"', open, close, b.get(j..)?)?;
        match b[j] {
            b'"' => {
                j = skip_string(b, j)?.0;
                continue;
            }
            c if c == open => depth += 1,
            _ => {
                depth -= 1;
                if depth == 0 {
                    return Some(j + 1);
                }
            }
        }
        j += 1;
    }
}

/// Calls `f(key, value_start)` for each member of the object starting at `i`, until it
/// breaks. `None` when the text is not what it should be or a key is escaped.
fn for_each_member<T>(
    b: &[u8],
    i: usize,
    mut f: impl FnMut(&[u8], usize) -> ControlFlow<T>,
) -> Option<ControlFlow<T>> {
    let mut i = skip_ws(b, i);
    if *b.get(i)? != b'{' {
        return None;
    }
    i = skip_ws(b, i + 1);
    if *b.get(i)? == b'}' {
        return Some(ControlFlow::Continue(()));
    }
    loop {
        if *b.get(i)? != b'"' {
            return None;
        }
        let (key_end, key_escaped) = skip_string(b, i)?;
        if key_escaped {
            return None;
        }
        let key = &b[i + 1..key_end - 1];
        i = skip_ws(b, key_end);
        if *b.get(i)? != b':' {
            return None;
        }
        i = skip_ws(b, i + 1);
        if let ControlFlow::Break(found) = f(key, i) {
            return Some(ControlFlow::Break(found));
        }
        i = skip_ws(b, skip_value(b, i)?);
        match *b.get(i)? {
            b',' => i = skip_ws(b, i + 1),
            b'}' => return Some(ControlFlow::Continue(())),
            _ => return None,
        }
    }
}

/// The string value at `i`, if it is a string without escapes.
fn plain_string(text: &str, i: usize) -> Option<&str> {
    let b = text.as_bytes();
    if *b.get(i)? != b'"' {
        return None;
    }
    let (end, escaped) = skip_string(b, i)?;
    // the range lies between two ASCII quotes, so it is on char boundaries
    (!escaped).then(|| &text[i + 1..end - 1])
}

/// The value of the top-level string member `key` of the object `text`.
pub(crate) fn string_field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    string_member(text, 0, key)
}

fn string_member<'a>(text: &'a str, obj: usize, key: &str) -> Option<&'a str> {
    let found = for_each_member(text.as_bytes(), obj, |k, at| {
        if k == key.as_bytes() {
            ControlFlow::Break(at)
        } else {
            ControlFlow::Continue(())
        }
    })?;
    match found {
        ControlFlow::Break(at) => plain_string(text, at),
        ControlFlow::Continue(()) => None,
    }
}

/// What decides an event's dispatch worker, as found in its text.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RouteKey<'a> {
    /// The id of the first object the event names (see [`route_key`]).
    Id(Cow<'a, str>),
    /// The event names no object.
    None,
}

/// Where events name objects: `(top-level field, kind, id fields)`, in routing order (the
/// generated `events::OBJECT_FIELDS`).
pub(crate) type ObjectFields<K> = [(&'static str, K, &'static [&'static str])];

/// The most fields [`route_key`] looks for; a longer table makes it answer "unsure".
const MAX_FIELDS: usize = 16;

/// The routing key of an event: the id of the first object it names, in the order of
/// `fields` (`channel.id`, `peer.id`, `bridge.id`, …) — the same precedence as the decoded
/// event's `for_each_object`. An id of several fields is their values joined with `/`.
/// `None` (the outer one) when the scanner is unsure.
pub(crate) fn route_key<'a, K>(text: &'a str, fields: &ObjectFields<K>) -> Option<RouteKey<'a>> {
    // no allocation on the event path: a table of up to MAX_FIELDS fields
    let mut at = [None; MAX_FIELDS];
    if fields.len() > MAX_FIELDS {
        return None;
    }
    let b = text.as_bytes();
    // the first field outranks the others: once it is found, the rest need not be scanned
    let _: ControlFlow<()> = for_each_member(b, 0, |k, value| {
        if let Some(n) = fields.iter().position(|(f, _, _)| f.as_bytes() == k) {
            at[n] = Some(value);
            if n == 0 && b.get(value) == Some(&b'{') {
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    })?;
    for (n, value) in at.into_iter().take(fields.len()).enumerate() {
        let Some(value) = value else { continue };
        match b.get(value)? {
            b'{' => {}
            // an absent object written as null: the accessor says None too
            b'n' => continue,
            _ => return None,
        }
        let id = match fields[n].2 {
            [field] => Cow::Borrowed(string_member(text, value, field)?),
            parts => {
                let parts: Option<Vec<&str>> = parts
                    .iter()
                    .map(|f| string_member(text, value, f))
                    .collect();
                Cow::Owned(parts?.join("/"))
            }
        };
        return Some(RouteKey::Id(id));
    }
    Some(RouteKey::None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_string_fields_wherever_they_are() {
        for (json, want) in [
            (r#"{"type":"StasisStart","x":1}"#, "StasisStart"),
            (
                r#" { "variable" : "type", "value":"{\"type\":1}", "channel":{"type":"no","a":[1,{"type":"x"}]}, "n": -1.5e3, "ok": true, "nil": null, "type" : "ChannelVarset" }"#,
                "ChannelVarset",
            ),
            (r#"{"a":"\\","type":"Dial"}"#, "Dial"),
        ] {
            assert_eq!(string_field(json, "type"), Some(want), "{json}");
        }
    }

    #[test]
    fn unsure_or_absent_is_none() {
        for json in [
            "",
            "[]",
            "{}",
            r#"{"a":1}"#,
            r#"{"type":1}"#,
            r#"{"typ\u0065":"Escaped"}"#,
            r#"{"type":"Esc\u0061ped"}"#,
            r#"{"a":"unterminated"#,
            r#"{"a":{"type":"nested"}}"#,
            r#"{"a":1 "type":"x"}"#,
            "not json",
        ] {
            assert_eq!(string_field(json, "type"), None, "{json}");
        }
    }

    #[test]
    fn route_keys_follow_the_accessors_precedence() {
        let cases = [
            (
                r#"{"type":"X","channel":{"name":"a","id":"c1"},"bridge":{"id":"b1"}}"#,
                Some(RouteKey::Id("c1".into())),
            ),
            (
                r#"{"bridge":{"id":"b1"},"type":"X"}"#,
                Some(RouteKey::Id("b1".into())),
            ),
            (
                r#"{"channel":null,"bridge":{"id":"b1"}}"#,
                Some(RouteKey::Id("b1".into())),
            ),
            (
                r#"{"playback":{"id":"p","target_uri":"channel:c9"}}"#,
                Some(RouteKey::Id("p".into())),
            ),
            (
                r#"{"recording":{"name":"r","target_uri":"bridge:b2"}}"#,
                Some(RouteKey::Id("r".into())),
            ),
            (
                r#"{"type":"Dial","peer":{"id":"c7","name":"x"}}"#,
                Some(RouteKey::Id("c7".into())),
            ),
            (
                r#"{"endpoint":{"technology":"PJSIP","resource":"alice"}}"#,
                Some(RouteKey::Id("PJSIP/alice".into())),
            ),
            (
                r#"{"type":"DeviceStateChanged","device_state":{"name":"x"}}"#,
                Some(RouteKey::Id("x".into())),
            ),
            (
                r#"{"type":"ApplicationReplaced","application":"x"}"#,
                Some(RouteKey::None),
            ),
            (r#"{"channel":{"id":"with\"quote"}}"#, None),
            (r#"{"channel":{"name":"no id"}}"#, None),
            (r#"{"channel":"not an object"}"#, None),
            (r#"{"bridge":{"id":"b1"}"#, None),
            // the scan stops at `channel`: what follows is for the decoder to judge
            (
                r#"{"channel":{"id":"c1"},garbage"#,
                Some(RouteKey::Id("c1".into())),
            ),
        ];
        for (json, want) in cases {
            assert_eq!(
                route_key(json, crate::events::OBJECT_FIELDS),
                want,
                "{json}"
            );
        }
    }
}
