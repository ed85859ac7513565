//! The event set: realistic calls of 11 events each, pre-encoded as server-to-client
//! websocket frames so that the fake server only copies bytes.

use crate::{EVENTS, PER_CALL};

pub(crate) fn channel_json(id: &str, n: usize, state: &str) -> String {
    format!(
        r#"{{"id":"{id}","name":"PJSIP/provider-trunk-eu-{n:08x}","state":"{state}","protocol_id":"4a1f9c2e-7d3b-4c1a-9e2f-{n:012x}@10.20.30.40","caller":{{"name":"Customer {n}","number":"+49301234{n:05}"}},"connected":{{"name":"Service Desk","number":"+4930999000"}},"accountcode":"bench","dialplan":{{"context":"from-provider","exten":"+4930999000","priority":3,"app_name":"Stasis","app_data":"bench,x"}},"creationtime":"2026-11-26T13:22:17.520+0000","language":"en"}}"#
    )
}

fn ts(n: usize, step: usize) -> String {
    let ms = (n * 37 + step * 113) % 60_000;
    format!(
        "2026-11-26T13:{:02}:{:02}.{:03}+0000",
        22 + (n / 2000) % 30,
        ms / 1000,
        ms % 1000
    )
}

const TAIL: &str = r#""asterisk_id":"02:fc:00:00:00:01","application":"bench""#;

/// The 11 events of call `n`, in order.
fn call_events(n: usize) -> Vec<String> {
    let id = format!("1764163337.{n}");
    let ring = channel_json(&id, n, "Ring");
    let up = channel_json(&id, n, "Up");
    let pb = format!(
        r#""playback":{{"id":"pb-{n}","media_uri":"sound:hello-world","target_uri":"channel:{id}","language":"en","state":"#
    );
    let mut v = vec![
        format!(
            r#"{{"type":"StasisStart","timestamp":"{}","args":["bench","x"],"channel":{ring},{TAIL}}}"#,
            ts(n, 0)
        ),
        format!(
            r#"{{"type":"ChannelStateChange","timestamp":"{}","channel":{up},{TAIL}}}"#,
            ts(n, 1)
        ),
        format!(
            r#"{{"variable":"BENCH_VAR","value":"value-{n}","type":"ChannelVarset","timestamp":"{}","channel":{up},{TAIL}}}"#,
            ts(n, 2)
        ),
        format!(
            r#"{{"type":"PlaybackStarted","timestamp":"{}",{pb}"playing"}},{TAIL}}}"#,
            ts(n, 3)
        ),
    ];
    for (i, digit) in ["1", "2", "3", "#"].iter().enumerate() {
        v.push(format!(
            r#"{{"type":"ChannelDtmfReceived","timestamp":"{}","digit":"{digit}","duration_ms":100,"channel":{up},{TAIL}}}"#,
            ts(n, 4 + i)
        ));
    }
    v.push(format!(
        r#"{{"type":"PlaybackFinished","timestamp":"{}",{pb}"done"}},{TAIL}}}"#,
        ts(n, 8)
    ));
    v.push(format!(
        r#"{{"cause":16,"soft":true,"type":"ChannelHangupRequest","timestamp":"{}","channel":{up},{TAIL}}}"#,
        ts(n, 9)
    ));
    v.push(format!(
        r#"{{"type":"StasisEnd","timestamp":"{}","channel":{up},{TAIL}}}"#,
        ts(n, 10)
    ));
    debug_assert_eq!(v.len(), PER_CALL);
    v
}

/// Pre-encoded server-to-client websocket text frames (unmasked).
pub(crate) struct Frames {
    pub(crate) bytes: Vec<u8>,
    pub(crate) events: usize,
    pub(crate) calls: usize,
    pub(crate) payload: usize,
}

fn push_frame(out: &mut Vec<u8>, payload: &[u8]) {
    out.push(0x81);
    match payload.len() {
        n if n < 126 => out.push(n as u8),
        n if n <= 0xffff => {
            out.push(126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
}

/// `EVENTS` events (rounded up to whole calls) with `live` calls interleaved.
pub(crate) fn build_frames(live: usize) -> Frames {
    build_calls(live, EVENTS.div_ceil(PER_CALL))
}

/// `calls` calls of `PER_CALL` events with `live` calls interleaved: each of `live` slots
/// runs its calls one after the other, and the slots take turns event by event.
pub(crate) fn build_calls(live: usize, calls: usize) -> Frames {
    let mut slots: Vec<std::collections::VecDeque<String>> =
        (0..live).map(|_| Default::default()).collect();
    let mut next_call = 0;
    let mut bytes = Vec::with_capacity(calls * PER_CALL * 600);
    let (mut events, mut payload) = (0, 0);
    loop {
        let mut any = false;
        for slot in &mut slots {
            if slot.is_empty() && next_call < calls {
                slot.extend(call_events(next_call));
                next_call += 1;
            }
            if let Some(ev) = slot.pop_front() {
                push_frame(&mut bytes, ev.as_bytes());
                events += 1;
                payload += ev.len();
                any = true;
            }
        }
        if !any {
            break;
        }
    }
    Frames {
        bytes,
        events,
        calls,
        payload,
    }
}
