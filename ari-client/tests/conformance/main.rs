//! Conformance suite against a real Asterisk (`cargo xtask conformance`).
//!
//! * Calls every operation this Asterisk build can serve, with realistic arguments, through
//!   the generated API, and checks that each answer decodes into its generated type. GET
//!   answers are also fetched raw and compared with the typed value re-encoded, which names
//!   the fields Asterisk sends that the spec lacks. What cannot run here (no mailbox module)
//!   is called anyway when a documented error proves the call reached Asterisk, and is
//!   listed with the reason.
//! * Provokes every event type it can with Local channels, bridges, playback, recording,
//!   snoop, external media, user events, device states, subscriptions and filters,
//!   StasisBroadcast(), and PJSIP on 127.0.0.1: its own SIP user agent (tests/sip) behind an
//!   endpoint it creates over ARI dynamic configuration (qualify, MESSAGE both ways, REFER,
//!   calls that are redirected, answered with RTP, held, transferred), over its
//!   own websockets (raw frames) and the outbound websockets Asterisk opens to it, and checks that each frame decodes into its typed variant
//!   (never `Unknown`) and re-encodes to the same JSON, or names the fields that differ.
//! * Hostile ids (`/`, `+`, `?`, `#`, `%`, space, non-ASCII) for channels, bridges,
//!   playbacks and recordings must reach Asterisk intact and must not address another object.
//!
//! Environment: `ARI_URL`, `ARI_USER`, `ARI_PASSWORD` (see tests/support/mod.rs);
//! `ARI_CONFORMANCE_REPORT=<path>` writes the JSON report there; `ARI_RECORD=1` saves the raw
//! event frames and GET answers under `tests/fixtures/recorded/`.
//!
//! Layout: this file drives the run (one step per resource, in a fixed order, since later
//! steps rely on what earlier ones set up); `suite` holds the shared state and helpers,
//! one module per resource group makes the calls and provokes the events, and `report`
//! turns what happened into the JSON report and the printed summary.

#[path = "../sip/mod.rs"]
mod sip;
#[path = "../support/mod.rs"]
mod support;

mod applications;
mod asterisk;
mod bridges;
mod channels;
mod hostile;
mod misc;
mod outbound;
mod recordings;
mod report;
mod sip_ops;
mod suite;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use applications::application_ops;
use asterisk::asterisk_ops;
use bridges::bridge_ops;
use channels::channel_ops;
use hostile::hostile_ids;
use misc::misc_ops;
use outbound::outbound_ops;
use recordings::recording_ops;
use report::{build_report, finish};
use sip_ops::sip_ops;
use suite::{open_socket, spec_inventory, OpOutcome, Suite};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance() {
    let Some(live) = support::live().await else {
        return;
    };
    let started = Instant::now();
    let client = live.client().await;
    let (all_ops, all_events) = spec_inventory();
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        % 1_000_000_000;
    let prefix = format!("conf{}-{stamp}", std::process::id());
    let record = std::env::var("ARI_RECORD")
        .is_ok_and(|v| v == "1")
        .then(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/recorded"));
    let mut s = Suite {
        client,
        url: live.url.clone(),
        user: live.user.clone(),
        password: live.password.clone(),
        app: format!("{prefix}-app"),
        prefix,
        all_ops,
        ops: BTreeMap::new(),
        frames: Arc::default(),
        hostile: Vec::new(),
        failures: Vec::new(),
        record,
        responses: BTreeMap::new(),
        channels: Vec::new(),
        bridges: Vec::new(),
        stored: Vec::new(),
    };

    // The main app's websocket (subscribeAll): GET /events is an operation too.
    eprintln!("conformance: {} (app {})", s.url, s.app);
    let main_ws = open_socket(&s.ws_url(&s.app, true), "main", s.frames.clone()).await;
    s.ops.insert(
        "events.eventWebsocket".into(),
        OpOutcome::Ok {
            unspecified_fields: Vec::new(),
        },
    );
    let t = Instant::now();
    asterisk_ops(&mut s).await;
    eprintln!(
        "conformance: asterisk resource done ({:.1} s)",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    application_ops(&mut s).await;
    eprintln!(
        "conformance: applications done ({:.1} s)",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    channel_ops(&mut s).await;
    eprintln!(
        "conformance: channels done ({:.1} s)",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    recording_ops(&mut s).await;
    eprintln!(
        "conformance: recordings done ({:.1} s)",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    bridge_ops(&mut s).await;
    eprintln!(
        "conformance: bridges done ({:.1} s)",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    misc_ops(&mut s, &main_ws).await;
    eprintln!(
        "conformance: device states, events, sounds, endpoints, mailboxes done ({:.1} s)",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    sip_ops(&mut s).await;
    eprintln!(
        "conformance: PJSIP (dynamic config, endpoints, messages, calls) done ({:.1} s)",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    outbound_ops(&mut s).await;
    eprintln!(
        "conformance: outbound websockets done ({:.1} s)",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    hostile_ids(&mut s).await;
    eprintln!(
        "conformance: hostile ids done ({:.1} s)",
        t.elapsed().as_secs_f64()
    );

    cleanup(&mut s).await;
    // a subscribeAll websocket that closes while a device state change is sent to it
    // deadlocks Asterisk's ARI (docs/ari-spec-notes.md §11): unsubscribe first
    let unsubscribed = s
        .client
        .applications()
        .unsubscribe(&s.app, "deviceState:")
        .await;
    s.check(
        unsubscribed.is_ok(),
        format!("unsubscribe from all device states before closing: {unsubscribed:?}"),
    );
    // let the last events arrive, then close the main socket
    tokio::time::sleep(Duration::from_millis(500)).await;
    drop(main_ws);
    // the suite leaves ARI working for the test binaries after it: a wedge (§11) shows here,
    // not as a timeout in whichever test next lists or subscribes applications
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = tokio::time::timeout(Duration::from_secs(5), s.client.applications().list()).await;
    s.check(
        matches!(after, Ok(Ok(_))),
        format!("ARI's applications answer after the suite's sockets closed: {after:?}"),
    );

    let report = build_report(&mut s, &all_events, started.elapsed());
    finish(&s, &report);
}

async fn cleanup(s: &mut Suite) {
    let c = s.client.clone();
    for id in s.channels.clone() {
        let _ = c.channels().hangup(&id).await;
    }
    for id in s.bridges.clone() {
        let _ = c.bridges().destroy(&id).await;
    }
    for name in s.stored.clone() {
        let _ = c.recordings().delete_stored(&name).await;
    }
}
