//! The report: every event frame decoded and re-encoded, every operation's outcome, the
//! JSON written to `ARI_CONFORMANCE_REPORT` and the lines printed at the end.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use ari_client::events::Event;
use serde::Serialize;
use serde_json::{json, Value};

use crate::suite::{diff, Frame, OpOutcome, Suite};

#[derive(Debug, Default, Clone, Serialize)]
struct EventStats {
    received: usize,
    typed: usize,
    unknown: usize,
    decode_errors: Vec<String>,
    /// Fields in Asterisk's frames that the typed event drops (the spec lacks them).
    unspecified_fields: BTreeSet<String>,
    /// Other differences between the raw frame and the re-encoded event.
    mismatches: BTreeSet<String>,
}

/// Event types that no Local channel, bridge or ARI call can provoke here, and why.
const UNPROVOKABLE: &[(&str, &str)] = &[
    ("ApplicationUnregistered", "sent on a persistent outbound websocket only when a reload drops an application from ari.conf (session_unregister_app_cb in res/ari/ari_websockets.c), never to inbound or per_call_config websockets; the suite provokes it with the sandbox's `ctl.sh outbound-apps` (tests/conformance/outbound.rs), so without ARI_ASTERISK_CTL (an Asterisk of your own) it is not provoked"),
    ("BridgeMerged", "ARI cannot merge bridges; only features/transfers inside Asterisk do"),
    ("BridgeAttendedTransfer", "needs an attended transfer: a REFER with Replaces from a SIP phone that holds two calls; the suite's SIP agent (tests/sip) makes blind transfers only"),
    ("EndpointStateChange", "not sent on 22.10.1 (observed): the suite's PJSIP endpoint goes offline -> online -> offline (PeerStatusChange/ContactStatusChange carry the new state) and gains/loses channels while the app is subscribed to endpoint:PJSIP/<id> and to all (subscribeAll), yet no EndpointStateChange arrives"),
    ("ChannelToneDetected", "needs TONE_DETECT() on a Stasis channel; in a manual try on 22.10.1 that wedged Asterisk (a later addChannel never answered, then GET /applications hung until a restart), so the suite does not risk it"),
];

pub(crate) fn build_report(
    s: &mut Suite,
    all_events: &BTreeSet<String>,
    elapsed: Duration,
) -> Value {
    let frames = s.frames.lock().unwrap().clone();
    let mut stats: BTreeMap<String, EventStats> = BTreeMap::new();
    let mut first_of_type: BTreeMap<String, &Frame> = BTreeMap::new();
    for frame in &frames {
        let kind = frame.value["type"]
            .as_str()
            .unwrap_or("<no type>")
            .to_string();
        first_of_type.entry(kind.clone()).or_insert(frame);
        let st = stats.entry(kind.clone()).or_default();
        st.received += 1;
        match Event::from_json(&frame.text) {
            Err(e) => st.decode_errors.push(e.to_string()),
            Ok(Event::Unknown(_)) => st.unknown += 1,
            Ok(event) => {
                if event.type_name() != kind {
                    st.mismatches
                        .insert(format!("kind() is {:?}", event.type_name()));
                }
                st.typed += 1;
                let again = serde_json::to_value(&event).expect("re-encode event");
                let mut missing = BTreeSet::new();
                diff(&frame.value, &again, "", &mut missing, &mut st.mismatches);
                st.unspecified_fields
                    .extend(missing.into_iter().map(|m| m.replace("[]", "")));
            }
        }
    }

    let covered_events: Vec<&String> = all_events
        .iter()
        .filter(|k| {
            stats
                .get(*k)
                .is_some_and(|st| st.typed == st.received && st.mismatches.is_empty())
        })
        .collect();
    let mut event_rows = serde_json::Map::new();
    for kind in all_events {
        let row = match stats.get(kind) {
            Some(st) if covered_events.contains(&kind) => json!({"status": "ok", "stats": st}),
            Some(st) => json!({"status": "failed", "stats": st}),
            None => match UNPROVOKABLE.iter().find(|(k, _)| k == kind) {
                Some((_, why)) => json!({"status": "not_provokable", "reason": why}),
                None => {
                    json!({"status": "not_seen", "reason": "provoked, but Asterisk sent no such event"})
                }
            },
        };
        event_rows.insert(kind.clone(), row);
    }
    for (kind, st) in &stats {
        if !all_events.contains(kind) {
            event_rows.insert(kind.clone(), json!({"status": "not_in_spec", "stats": st}));
        }
    }

    let mut op_rows = serde_json::Map::new();
    for op in &s.all_ops {
        let row = match s.ops.get(op) {
            Some(outcome) => serde_json::to_value(outcome).unwrap(),
            None => json!({"status": "not_run", "reason": "the suite makes no call of it"}),
        };
        op_rows.insert(op.clone(), row);
    }
    let covered_ops = s
        .ops
        .values()
        .filter(|o| matches!(o, OpOutcome::Ok { .. }))
        .count();
    let expected = s
        .ops
        .values()
        .filter(|o| matches!(o, OpOutcome::ExpectedError { .. }))
        .count();
    for (op, o) in &s.ops {
        if let OpOutcome::Failed { detail } = o {
            s.failures.push(format!("operation {op} failed: {detail}"));
        }
    }
    for (kind, st) in &stats {
        if st.unknown > 0 || !st.decode_errors.is_empty() || !st.mismatches.is_empty() {
            s.failures.push(format!(
                "event {kind}: {} unknown, decode errors {:?}, re-encode differences {:?}",
                st.unknown, st.decode_errors, st.mismatches
            ));
        }
    }

    if let Some(dir) = &s.record {
        let events_dir = dir.join("events");
        let rest_dir = dir.join("rest");
        std::fs::create_dir_all(&events_dir).unwrap();
        std::fs::create_dir_all(&rest_dir).unwrap();
        for (kind, frame) in &first_of_type {
            let pretty = serde_json::to_string_pretty(&frame.value).unwrap();
            std::fs::write(events_dir.join(format!("{kind}.json")), pretty + "\n").unwrap();
        }
        let all: String = frames.iter().map(|f| format!("{}\n", f.text)).collect();
        std::fs::write(dir.join("events.jsonl"), all).unwrap();
        for (op, raw) in &s.responses {
            let pretty = serde_json::to_string_pretty(raw).unwrap();
            std::fs::write(rest_dir.join(format!("{op}.json")), pretty + "\n").unwrap();
        }
        eprintln!(
            "conformance: recorded {} event types, {} frames and {} GET answers under {}",
            first_of_type.len(),
            frames.len(),
            s.responses.len(),
            dir.display()
        );
    }

    json!({
        "asterisk": s.url,
        "seconds": elapsed.as_secs_f64(),
        "operations": {"total": s.all_ops.len(), "covered": covered_ops, "expected_errors": expected, "results": op_rows},
        "events": {"total": all_events.len(), "covered": covered_events.len(), "frames": frames.len(), "results": event_rows},
        "hostile_ids": s.hostile,
        "failures": s.failures,
        "sockets": frames.iter().map(|f| f.socket.clone()).collect::<BTreeSet<_>>(),
    })
}

pub(crate) fn finish(s: &Suite, report: &Value) {
    if let Ok(path) = std::env::var("ARI_CONFORMANCE_REPORT") {
        if !path.is_empty() {
            std::fs::write(&path, serde_json::to_string_pretty(report).unwrap())
                .expect("write the report");
            eprintln!("conformance: report written to {path}");
        }
    }
    println!(
        "conformance report ({:.1} s):",
        report["seconds"].as_f64().unwrap_or(0.0)
    );
    for (op, row) in report["operations"]["results"].as_object().unwrap() {
        let status = row["status"].as_str().unwrap_or("?");
        if status != "ok" {
            let why = row["reason"]
                .as_str()
                .or(row["detail"].as_str())
                .unwrap_or("");
            println!("  operation {op}: {status}: {why}");
        }
    }
    for (kind, row) in report["events"]["results"].as_object().unwrap() {
        let status = row["status"].as_str().unwrap_or("?");
        if status != "ok" {
            let why = row["reason"]
                .as_str()
                .map(String::from)
                .unwrap_or_else(|| row["stats"].to_string());
            println!("  event {kind}: {status}: {why}");
        }
    }
    for f in &s.failures {
        println!("  FAILURE: {f}");
    }
    println!(
        "conformance: {}/{} operations, {}/{} event types",
        report["operations"]["covered"],
        report["operations"]["total"],
        report["events"]["covered"],
        report["events"]["total"]
    );
    assert!(
        s.failures.is_empty(),
        "{} conformance failures (see above)",
        s.failures.len()
    );
}
