//! Seeded mutations of Asterisk's recorded events, fed to the checks of the event path.
//!
//! `ARI_PROPERTY_CASES` sets the number of mutated texts (default 20,000) and
//! `ARI_PROPERTY_SEED` the seed (default: a fixed one, so a failure repeats).

use super::{event as check, reuse as check_reuse, scan as check_scan};
use crate::events::Event;

#[path = "../../tests/support/recorded.rs"]
mod recorded;

/// Every recorded event, compact as Asterisk sends them.
fn fixture_texts() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let texts: Vec<String> = recorded::recorded_events(&dir)
        .unwrap()
        .into_iter()
        .map(|(_, text)| text)
        .collect();
    assert!(texts.len() > 50, "fixtures missing");
    texts
}

/// xorshift64*: a seeded source of choices, the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Pieces a mutation inserts: JSON syntax, escapes, numbers that do not round-trip with a
/// fast float parser, keys the scanner looks for (escaped too), objects of every kind.
const PIECES: &[&str] = &[
    "\"",
    "\\",
    ",",
    ":",
    "{",
    "}",
    "[",
    "]",
    " ",
    "null",
    "true",
    "0",
    "-1",
    "1e400",
    "0.30000000000000004",
    "2.2250738585072014e-308",
    "9007199254740993",
    "1.5e-7",
    "\\u0000",
    "\\u0065",
    "\\ud800",
    "\\\"",
    "é",
    "\u{2028}",
    "\"type\":\"StasisEnd\",",
    "\"typ\\u0065\":\"ChannelDestroyed\",",
    "\"type\":\"NoSuchEvent\",",
    "\"channel\":{\"id\":\"intruder\"},",
    "\"ch\\u0061nnel\":{\"id\":\"escaped\"},",
    "\"peer\":{\"id\":\"p1\"},",
    "\"bridge\":{\"id\":\"b1\"},",
    "\"bridge\":null,",
    "\"playback\":{\"id\":\"pb\"},",
    "\"recording\":{\"name\":\"r\"},",
    "\"endpoint\":{\"technology\":\"PJSIP\",\"resource\":\"x\"},",
    "\"id\":\"second\",",
    "\"i\\u0064\":\"escaped-id\",",
    "\"args\":[1.25e2,\"x\"],",
];

/// One mutation of `text`: a piece inserted, bytes removed or repeated, or a member of
/// another event spliced in; a few in a row.
fn mutate(rng: &mut Rng, text: &str, others: &[String]) -> String {
    let mut out = text.as_bytes().to_vec();
    for _ in 0..1 + rng.below(3) {
        let at = rng.below(out.len() + 1);
        match rng.below(7) {
            0 | 1 => {
                // right after a `{` or a `,` most of the time, where a member may start
                let at = out[..at]
                    .iter()
                    .rposition(|b| matches!(b, b'{' | b','))
                    .map_or(at, |p| p + 1);
                let piece = rng.pick(PIECES).as_bytes();
                out.splice(at..at, piece.iter().copied());
            }
            2 => {
                let len = rng.below(8).min(out.len() - at.min(out.len()));
                out.drain(at..at + len);
            }
            3 => {
                let len = rng.below(16).min(out.len() - at.min(out.len()));
                let copy = out[at..at + len].to_vec();
                out.splice(at..at, copy);
            }
            4 => {
                // a member of another event, at this one's top level
                let other = rng.pick(others).as_bytes();
                let start = 1 + rng.below(other.len().saturating_sub(2).max(1));
                let len = rng.below(200).min(other.len() - start);
                let open = out.iter().position(|b| *b == b'{').map_or(0, |p| p + 1);
                out.splice(open..open, other[start..start + len].iter().copied());
            }
            5 => {
                // a number of up to 17 digits with any exponent: the floats that parse to
                // the wrong neighbour without an exact parser
                let digits = 1 + rng.below(17);
                let mantissa = rng.next() % 10u64.pow(digits as u32);
                let exponent = rng.below(630) as i64 - 320;
                let member = format!("\"n\":{mantissa}e{exponent},");
                let open = out.iter().position(|b| *b == b'{').map_or(0, |p| p + 1);
                out.splice(open..open, member.bytes());
            }
            _ => {
                if let Some(b) = out.get_mut(at) {
                    *b = *rng.pick(b"\"\\{}[],:0aZ \x00\x7f");
                }
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn every_recorded_event_has_the_properties() {
    let mut with_objects = 0;
    for text in fixture_texts() {
        assert!(check(&text), "a recorded event does not decode: {text}");
        check_scan(&text);
        // Deserialize from a JSON value, as a struct holding an event would
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let from_value = serde_json::from_value::<Event>(value).unwrap();
        assert_eq!(from_value, Event::from_json(&text).unwrap(), "{text}");
        // Asterisk's own text is never left to serde by the scan
        let head = crate::events::head(&text);
        let head = head.unwrap_or_else(|| panic!("the scan is unsure of {text}"));
        with_objects += usize::from(head.into_objects()[0].is_some());
    }
    assert!(with_objects > 40, "fixtures naming objects missing");
}

#[test]
fn mutated_events_have_the_properties() {
    let texts = fixture_texts();
    let cases = env_number("ARI_PROPERTY_CASES", 20_000);
    let seed = env_number("ARI_PROPERTY_SEED", 0x5eed_a51e_2026_1202) | 1;
    let mut rng = Rng(seed);
    let (mut decoded, mut shared, mut patched) = (0, 0, 0);
    for _ in 0..cases {
        let original = rng.below(texts.len());
        let text = mutate(&mut rng, &texts[original], &texts);
        check_scan(&text);
        decoded += u64::from(check(&text));
        // the snapshots of the text it was made of, as a lane would have them
        let reused = check_reuse(&text, &texts[original]);
        shared += reused.shared as u64;
        patched += reused.patched as u64;
    }
    // the mutations must keep some events whole, or the properties are checked on errors only
    assert!(
        decoded * 10 > cases,
        "only {decoded} of {cases} mutated texts decoded"
    );
    // and some snapshots untouched, or reuse is checked on misses only
    assert!(
        shared * 20 > cases,
        "only {shared} snapshots of {cases} mutated texts shared"
    );
    // and some changed in one member's value, or patching is checked on misses only
    assert!(
        patched * 100 > cases,
        "only {patched} snapshots of {cases} mutated texts patched"
    );
    println!(
        "{cases} mutated texts (seed {seed:#x}), {decoded} decoded, {shared} snapshots shared, {patched} patched"
    );
}

/// Texts that each broke one property once (found by the mutations above and by the
/// fuzz targets), kept as regressions; each decodes, so every property is checked on it.
#[test]
fn the_found_texts_have_the_properties() {
    for text in [
        // the scan named a channel that a bridge event does not have
        r#"{"type":"BridgeDestroyed","timestamp":"2026-11-26T14:20:20.186+0000","channel":{"id":"intruder"},"bridge":{"id":"fx-bridge","technology":"simple_bridge","bridge_type":"mixing","bridge_class":"stasis","creator":"Stasis","name":"fx","channels":[],"creationtime":"2026-11-26T14:20:19.873+0000","video_mode":"talker"},"application":"fixtures"}"#,
        // the scan named objects of a type the specs do not know
        r#"{"type":"NoSuchEvent","channel":{"id":"c1"}}"#,
        // an escaped second `type`: a JSON value keeps the last one
        r#"{"type":"BridgeDestroyed","timestamp":"2026-11-26T14:20:20.186+0000","bridge":{"id":"fx-bridge","technology":"simple_bridge","bridge_type":"mixing","bridge_class":"stasis","creator":"Stasis","name":"fx","channels":[],"creationtime":"2026-11-26T14:20:19.873+0000","video_mode":"talker"},"typ\u0065":"BridgeCreated"}"#,
        // a number that a fast float parser reads one unit off, so it encodes differently
        r#"{"type":"NoSuchEvent","n":19351028216238e-118}"#,
    ] {
        assert!(check(text), "does not decode: {text}");
    }
    // an unknown type keeps its raw JSON, whose `type` would be the last one: refused
    let text = r#"{"type":"NoSuchEvent","typ\u0065":"Other"}"#;
    assert!(!check(text), "decodes: {text}");
}
