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

/// `0x01` in every byte of a word.
const ONES: u64 = u64::from_ne_bytes([1; 8]);

/// The high bit of each byte of `word` that equals `byte`, for the lowest such byte at
/// least (a byte after it may be flagged too: only the lowest flag is to be trusted).
fn bytes_equal(word: u64, byte: u8) -> u64 {
    let x = word ^ (ONES * u64::from(byte));
    x.wrapping_sub(ONES) & !x & (ONES << 7)
}

/// The first byte at or after `i` that is one of `stops` (at most three), 8 bytes a step:
/// JSON strings and the gaps between brackets are short, where `memchr`'s set-up per call
/// costs more than the search.
fn find(b: &[u8], mut i: usize, stops: &[u8]) -> Option<usize> {
    while let Some(chunk) = b.get(i..i + 8) {
        let word = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        let hits = stops
            .iter()
            .fold(0, |hits, &stop| hits | bytes_equal(word, stop));
        if hits != 0 {
            return Some(i + (hits.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    let rest = b.get(i..)?;
    rest.iter().position(|c| stops.contains(c)).map(|p| i + p)
}

/// The end (after the closing quote) of the string whose opening quote is at `i`, and
/// whether it holds an escape.
fn skip_string(b: &[u8], mut i: usize) -> Option<(usize, bool)> {
    let mut escaped = false;
    i += 1;
    loop {
        i = find(b, i, b"\"\\")?;
        if b[i] == b'"' {
            return Some((i + 1, escaped));
        }
        escaped = true;
        i += 2;
    }
}

/// The end (after the closing quote) of the key whose opening quote is at `i`; `None` if
/// it is escaped or unterminated. Most keys are shorter than a word: one step, no call.
#[inline]
fn key_end(b: &[u8], i: usize) -> Option<usize> {
    if let Some(chunk) = b.get(i + 1..i + 9) {
        let word = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        let hits = bytes_equal(word, b'"') | bytes_equal(word, b'\\');
        if hits != 0 {
            let end = i + 1 + (hits.trailing_zeros() / 8) as usize;
            return (b[end] == b'"').then_some(end + 1);
        }
    }
    match skip_string(b, i)? {
        (end, false) => Some(end),
        (_, true) => None,
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
        j = find(b, j, &[b'"', open, close])?;
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
fn for_each_member<'b, T>(
    b: &'b [u8],
    i: usize,
    mut f: impl FnMut(&'b [u8], usize) -> ControlFlow<T>,
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
        let key_end = key_end(b, i)?;
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

/// The value of the first top-level string member `key` of the object `text`.
pub(crate) fn string_field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    string_member(text, 0, key)
}

/// How many top-level members named `key` the object `text` has (`None`: unsure).
pub(crate) fn occurrences(text: &str, key: &str) -> Option<usize> {
    let mut n = 0;
    let _: ControlFlow<()> = for_each_member(text.as_bytes(), 0, |k, _| {
        n += usize::from(k == key.as_bytes());
        ControlFlow::Continue(())
    })?;
    Some(n)
}

/// The first string member `key` of the object at `obj` (ids inside an object snapshot).
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

/// The first index at which `a` and `b` differ, 8 bytes a step; `None` when one is the
/// start of the other.
fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    let len = a.len().min(b.len());
    let mut i = 0;
    while i + 8 <= len {
        let x = u64::from_le_bytes(a[i..i + 8].try_into().expect("8 bytes"));
        let y = u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        if x != y {
            return Some(i + ((x ^ y).trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    (i..len).find(|&j| a[j] != b[j])
}

/// Where `new`, the text from the start of an object on, holds the object whose text is
/// `old` with the value of one top-level member changed: that member's key, the range of
/// its new value in `new`, and the length of the new object's text. The bytes before the
/// value and after it are `old`'s; the new value is not checked (the caller decodes it).
/// `None` when they differ elsewhere or in more than one value, or the scanner is unsure
/// (an escaped key, malformed text).
pub(crate) fn changed_member<'a>(
    old: &'a str,
    new: &str,
) -> Option<(&'a str, std::ops::Range<usize>, usize)> {
    let (o, n) = (old.as_bytes(), new.as_bytes());
    // the first byte that differs (`new` holds more than the object: it differs inside it)
    let first = first_difference(o, n)?;
    // the last member whose value starts at or before the difference
    let mut last = None;
    let _: ControlFlow<()> = for_each_member(o, 0, |key, at| {
        if at > first {
            return ControlFlow::Break(());
        }
        last = Some((key, at));
        ControlFlow::Continue(())
    })?;
    let (key, at) = last?;
    // and the difference inside its value, not after it (a key, between members)
    let end = skip_value(o, at)?;
    if first > end {
        return None;
    }
    let new_end = skip_value(n, at)?;
    let after = &o[end..];
    if n.get(new_end..new_end + after.len())? != after {
        return None;
    }
    // the key lies between two ASCII quotes: whole characters
    let key = std::str::from_utf8(key).ok()?;
    Some((key, at..new_end, new_end + after.len()))
}

/// Where events name objects: `(top-level field, kind, id fields)`, in routing order (the
/// generated `events::OBJECT_FIELDS`).
pub(crate) type ObjectFields<K> = [(&'static str, K, &'static [&'static str])];

/// The most fields [`head`] looks for; beyond it answers "unsure".
const MAX_FIELDS: usize = 16;

/// What the router needs of an event's text: its `type` and the objects it names, at most
/// `N` (the most one event type can name: a small array, copied as the head is returned).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Head<'a, K, const N: usize> {
    /// The `type`.
    pub(crate) kind: &'a str,
    objects: [Option<Named<'a, K>>; N],
}

/// An object an event names.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Named<'a, K> {
    pub(crate) kind: K,
    pub(crate) id: Cow<'a, str>,
    /// Where the text holds its snapshot, when known.
    pub(crate) place: Option<Place>,
}

/// Where an event's text holds the snapshot of an object it names (small: it travels with
/// each queued event).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Place {
    field: u8,
    at: u32,
}

impl Place {
    /// `None` when `field` or `at` is beyond what a place holds.
    fn new(field: usize, at: usize) -> Option<Place> {
        Some(Place {
            field: field.try_into().ok()?,
            at: at.try_into().ok()?,
        })
    }

    /// The index of its field in the fields table.
    pub(crate) fn field(self) -> usize {
        self.field.into()
    }

    /// Where the field's value (a JSON object) starts in the text.
    pub(crate) fn at(self) -> usize {
        self.at as usize
    }
}

impl<'a, K: Copy, const N: usize> Head<'a, K, N> {
    /// The objects the event names, in the order of the fields table; unused places are
    /// `None`.
    pub(crate) fn into_objects(self) -> [Option<Named<'a, K>>; N] {
        self.objects
    }

    /// The objects the event names, in the order of the fields table: `(kind, id)`.
    #[cfg(test)]
    fn objects(&self) -> impl Iterator<Item = (K, &str)> + '_ {
        self.objects
            .iter()
            .map_while(|o| o.as_ref().map(|n| (n.kind, n.id.as_ref())))
    }
}

/// The `type` of an event and the ids of the objects it names (`channel.id`, `peer.id`,
/// `bridge.id`, …, in the order of `fields`; an id of several fields is their values joined
/// with `/`), with where each one's snapshot starts, in one pass over the top level of the
/// text. `field_of` gives the index in `fields` of a member's key, as `fields` would
/// (`None`: not one of them); `fields_of` gives, for a type,
/// the bit mask of the `fields` its events can have: the scan stops as soon as the type
/// and all of those are found, so it reads the snapshot of the last object only up to
/// its id. A field the type does not have names nothing, as in the decoded event, which
/// ignores it.
///
/// The first `type` decides, as for [`Event::from_json`](crate::Event::from_json). `None`
/// when the scanner is unsure — malformed text, escapes, a key that occurs twice before
/// the scan ends, more objects than `N` — and the caller decodes the event with
/// serde instead, which decides and validates.
pub(crate) fn head<'a, K: Copy, const N: usize>(
    text: &'a str,
    fields: &ObjectFields<K>,
    field_of: impl Fn(&[u8]) -> Option<usize>,
    fields_of: impl Fn(&str) -> u64,
) -> Option<Head<'a, K, N>> {
    if fields.len() > MAX_FIELDS {
        return None;
    }
    // no allocation on the event path: the value positions of `type` and of each field
    let mut kind = None;
    let mut at = [None; MAX_FIELDS];
    let mut found = 0u64;
    let mut wanted = None;
    let mut twice = false;
    let b = text.as_bytes();
    let _: ControlFlow<()> = for_each_member(b, 0, |k, value| {
        if k == b"type" {
            // a `type` that is not a plain string leaves the scan unsure
            twice |= kind.replace(plain_string(text, value)).is_some();
            wanted = kind.flatten().map(&fields_of);
        } else if let Some(n) = field_of(k).filter(|&n| n < fields.len()) {
            twice |= at[n].replace(value).is_some();
            found |= 1 << n;
        } else {
            return ControlFlow::Continue(());
        }
        if twice {
            return ControlFlow::Break(());
        }
        match wanted {
            Some(mask) if found & mask == mask => ControlFlow::Break(()),
            _ => ControlFlow::Continue(()),
        }
    })?;
    if twice {
        return None;
    }
    let kind = kind??;
    let mask = wanted?;
    let mut objects: [Option<Named<'a, K>>; N] = std::array::from_fn(|_| None);
    let mut count = 0;
    for (n, value) in at.into_iter().take(fields.len()).enumerate() {
        let Some(value) = value.filter(|_| mask & 1 << n != 0) else {
            continue;
        };
        match b.get(value)? {
            b'{' => {}
            // an absent object written as null: the decoded event has none either
            b'n' => continue,
            _ => return None,
        }
        let (_, object_kind, id_fields) = fields[n];
        let id = match id_fields {
            [field] => Cow::Borrowed(string_member(text, value, field)?),
            parts => {
                let parts: Option<Vec<&str>> = parts
                    .iter()
                    .map(|f| string_member(text, value, f))
                    .collect();
                Cow::Owned(parts?.join("/"))
            }
        };
        *objects.get_mut(count)? = Some(Named {
            kind: object_kind,
            id,
            place: Some(Place::new(n, value)?),
        });
        count += 1;
    }
    Some(Head { kind, objects })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_stops_at_the_first_stop_byte_wherever_it_is() {
        let text = b"abcdefghijklmnopqrstuvwxyz0123456789";
        for at in 0..text.len() {
            for stop in [b'"', b'\\', b'{'] {
                let mut b = text.to_vec();
                b[at] = stop;
                // a second stop after the first must not hide it
                if at + 1 < b.len() {
                    b[at + 1] = b'"';
                }
                assert_eq!(find(&b, 0, b"\"\\{"), Some(at), "{at} {stop}");
                assert_eq!(find(&b, at + 1, b"\\{"), None);
            }
        }
        // bytes that differ from a stop by one bit, or are above it, are not stops
        assert_eq!(find(b"#!]|\xa2\xdc#!]|", 0, b"\"\\"), None);
        assert_eq!(find(b"", 0, b"\""), None);
        assert_eq!(find(b"ab", 3, b"\""), None);
    }

    #[test]
    fn the_first_difference_is_found_wherever_it_is() {
        let a: Vec<u8> = (0..40).collect();
        for at in 0..a.len() {
            let mut b = a.clone();
            b[at] ^= 0x80;
            // a second difference after the first must not hide it
            if at + 1 < b.len() {
                b[at + 1] ^= 1;
            }
            assert_eq!(first_difference(&a, &b), Some(at), "{at}");
            assert_eq!(first_difference(&a[..at], &b), None, "a prefix, {at}");
            assert_eq!(first_difference(&b, &a[..at]), None, "a prefix, {at}");
        }
        assert_eq!(first_difference(&a, &a), None);
    }

    #[test]
    fn a_changed_member_is_found_only_when_it_is_the_one_difference() {
        let old = r#"{"id":"c1","state":"Ring","n":12,"caller":{"name":"a","number":"1"},"x":[1]}"#;
        // what follows the object in an event is not part of it
        let tail = r#","application":"app"}"#;
        let changed = |new: &str| {
            let text = format!("{new}{tail}");
            changed_member(old, &text).map(|(key, value, len)| {
                assert_eq!(&text[..len], new, "the new object's length");
                (key.to_owned(), text[value].to_owned())
            })
        };
        let some = |key: &str, value: &str| Some((key.to_owned(), value.to_owned()));
        for (new, want) in [
            (
                r#"{"id":"c1","state":"Up","n":12,"caller":{"name":"a","number":"1"},"x":[1]}"#,
                some("state", r#""Up""#),
            ),
            (
                r#"{"id":"c1","state":"Ringing","n":12,"caller":{"name":"a","number":"1"},"x":[1]}"#,
                some("state", r#""Ringing""#),
            ),
            // the difference right after the old value
            (
                r#"{"id":"c1","state":"Ring","n":123,"caller":{"name":"a","number":"1"},"x":[1]}"#,
                some("n", "123"),
            ),
            (
                r#"{"id":"c1","state":"Ring","n":12,"caller":{"name":"b","number":"2"},"x":[1]}"#,
                some("caller", r#"{"name":"b","number":"2"}"#),
            ),
            (
                r#"{"id":"c1","state":"Ring","n":12,"caller":{"name":"a","number":"1"},"x":[1,{"y":"}"}]}"#,
                some("x", r#"[1,{"y":"}"}]"#),
            ),
            (
                r#"{"id":"c2","state":"Ring","n":12,"caller":{"name":"a","number":"1"},"x":[1]}"#,
                some("id", r#""c2""#),
            ),
            // two values
            (
                r#"{"id":"c1","state":"Up","n":13,"caller":{"name":"a","number":"1"},"x":[1]}"#,
                None,
            ),
            // a key, the space between members, a member more or less
            (
                r#"{"id":"c1","stat":"Ring","n":12,"caller":{"name":"a","number":"1"},"x":[1]}"#,
                None,
            ),
            (
                r#"{"id":"c1", "state":"Ring","n":12,"caller":{"name":"a","number":"1"},"x":[1]}"#,
                None,
            ),
            (
                r#"{"id":"c1","state":"Ring","n":12,"caller":{"name":"a","number":"1"},"x":[1],"y":2}"#,
                None,
            ),
            (
                r#"{"id":"c1","state":"Ring","n":12,"caller":{"name":"a","number":"1"}}"#,
                None,
            ),
            // the same object: no member changed
            (
                r#"{"id":"c1","state":"Ring","n":12,"caller":{"name":"a","number":"1"},"x":[1]}"#,
                None,
            ),
            (
                r#"{"id":"c1","state":"Up\"","n":12,"caller":{"name":"a","number":"1"},"x":[1]}"#,
                some("state", r#""Up\"""#),
            ),
            (r#"{"id":"c1","state":"Ri"#, None),
        ] {
            assert_eq!(changed(new), want, "{new}");
        }
        assert_eq!(changed_member(r#"{"a\u0041":1}"#, r#"{"a\u0041":2}"#), None);
    }

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

    fn objects(json: &str) -> Option<(String, Vec<(&'static str, String)>)> {
        const FIELDS: &ObjectFields<&str> = &[
            ("channel", "Channel", &["id"]),
            ("peer", "Channel", &["id"]),
            ("bridge", "Bridge", &["id"]),
            ("playback", "Playback", &["id"]),
            ("recording", "LiveRecording", &["name"]),
            ("endpoint", "Endpoint", &["technology", "resource"]),
        ];
        // type `X` names a channel or a peer, `U` is unknown, the others may name anything
        let field_of = |k: &[u8]| FIELDS.iter().position(|(f, _, _)| f.as_bytes() == k);
        let h = head::<_, 8>(json, FIELDS, field_of, |t| match t {
            "X" => 0b11,
            "U" => 0,
            _ => u64::MAX,
        })?;
        let objects = h.objects().map(|(k, id)| (k, id.to_owned())).collect();
        // each snapshot's place: the `{` right after its field's key
        for named in h.objects.iter().flatten() {
            let place = named.place.expect("the scan knows where");
            let before = json[..place.at()].trim_end().strip_suffix(':').unwrap();
            let key = format!("\"{}\"", FIELDS[place.field()].0);
            assert!(
                before.trim_end().ends_with(&key),
                "{json} at {}",
                place.at()
            );
            assert_eq!(
                json.as_bytes()[place.at()],
                b'{',
                "{json} at {}",
                place.at()
            );
        }
        Some((h.kind.to_owned(), objects))
    }

    #[test]
    fn heads_name_the_type_and_every_object_in_table_order() {
        let some = |kind: &str, objects: &[(&'static str, &str)]| {
            Some((
                kind.to_owned(),
                objects
                    .iter()
                    .map(|(k, id)| (*k, (*id).to_owned()))
                    .collect::<Vec<_>>(),
            ))
        };
        let cases = [
            (
                r#"{"type":"Y","bridge":{"id":"b1"},"channel":{"name":"a","id":"c1"}}"#,
                some("Y", &[("Channel", "c1"), ("Bridge", "b1")]),
            ),
            // all that `X` can name is found: the scan reads no further
            (
                r#"{"type":"X","peer":{"id":"p"},"channel":{"id":"c1"},"bridge":{"id":"#,
                some("X", &[("Channel", "c1"), ("Channel", "p")]),
            ),
            (
                r#"{"bridge":{"id":"b1"},"type":"Y"}"#,
                some("Y", &[("Bridge", "b1")]),
            ),
            (
                r#"{"type":"Y","channel":null,"bridge":{"id":"b1"}}"#,
                some("Y", &[("Bridge", "b1")]),
            ),
            // fields the type does not have: serde ignores them, so does the scan
            (
                r#"{"type":"X","bridge":{"id":"b1"},"channel":{"id":"c1"}}"#,
                some("X", &[("Channel", "c1")]),
            ),
            (
                r#"{"type":"X","bridge":"not even an object"}"#,
                some("X", &[]),
            ),
            (
                r#"{"channel":{"id":"c1"},"type":"U","bridge":{"id":"b1"}}"#,
                some("U", &[]),
            ),
            (
                r#"{"type":"P","playback":{"id":"p","target_uri":"channel:c9"}}"#,
                some("P", &[("Playback", "p")]),
            ),
            (
                r#"{"type":"R","recording":{"name":"r","target_uri":"bridge:b2"}}"#,
                some("R", &[("LiveRecording", "r")]),
            ),
            (
                r#"{"type":"Dial","peer":{"id":"c7","name":"x"}}"#,
                some("Dial", &[("Channel", "c7")]),
            ),
            (
                r#"{"type":"E","endpoint":{"technology":"PJSIP","resource":"alice"}}"#,
                some("E", &[("Endpoint", "PJSIP/alice")]),
            ),
            (
                r#"{"type":"ApplicationReplaced","application":"x"}"#,
                some("ApplicationReplaced", &[]),
            ),
            (r#"{"type":"Y","channel":{"id":"with\"quote"}}"#, None),
            (r#"{"type":"X","channel":{"name":"no id"}}"#, None),
            (r#"{"type":"X","channel":"not an object"}"#, None),
            (r#"{"type":"Y","bridge":{"id":"b1"}"#, None),
            (r#"{"channel":{"id":"c1"}}"#, None),
            // a key twice: serde takes the last one, the scanner leaves it to serde
            (r#"{"type":"StasisStart","type":"Other"}"#, None),
            (
                r#"{"type":"X","channel":{"id":"a"},"channel":{"id":"b"}}"#,
                None,
            ),
        ];
        for (json, want) in cases {
            assert_eq!(objects(json), want, "{json}");
        }
    }
}
