//! An older Asterisk, faked: a server on 127.0.0.1 that serves Asterisk 21.12.3's own
//! declarations (tests/fixtures/asterisk-21.12.3/) and answers everything else. What 21.12.3
//! lacks of the checked-in 22.10.1 specs fails with `ErrorKind::Unsupported` and no request
//! reaches the server; what it has goes through.

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;

use ari_client::api::OperationId;
use ari_client::{Client, ErrorKind, EventKind};
use support::fake::{self, FakeAri};

const AUTH: &str = "Basic YXN0ZXJpc2s6YXN0ZXJpc2s="; // asterisk:asterisk
const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/asterisk-21.12.3"
);

/// The modules a 21.12.3 with every ARI resource loaded lists, minus `without`.
fn modules(without: &[&str]) -> String {
    let names = [
        "res_ari.so",
        "res_ari_applications.so",
        "res_ari_asterisk.so",
        "res_ari_bridges.so",
        "res_ari_channels.so",
        "res_ari_device_states.so",
        "res_ari_endpoints.so",
        "res_ari_events.so",
        "res_ari_mailboxes.so",
        "res_ari_playbacks.so",
        "res_ari_recordings.so",
        "res_ari_sounds.so",
    ];
    let list: Vec<String> = names
        .iter()
        .filter(|n| !without.contains(n))
        .map(|n| {
            format!(r#"{{"name":"{n}","description":"","use_count":0,"status":"Running","support_level":"core"}}"#)
        })
        .collect();
    format!("[{}]", list.join(","))
}

/// A fake Asterisk 21.12.3: its declarations, `info`, `modules` (all but `without`), and
/// `{}` for any other request.
async fn asterisk_21(without: &'static [&'static str]) -> FakeAri {
    fake::start(
        AUTH,
        Arc::new(move |seen| {
            let path = seen.path.split('?').next().unwrap_or_default();
            if let Some(file) = path.strip_prefix("/ari/api-docs/") {
                return match std::fs::read_to_string(format!("{FIXTURE}/{file}")) {
                    Ok(text) => (200, text),
                    Err(_) => (404, r#"{"message":"Resource not found"}"#.into()),
                };
            }
            match path {
                "/ari/asterisk/info" => (
                    200,
                    r#"{"system":{"version":"21.12.3","entity_id":"02:fc:00:00:00:21"}}"#.into(),
                ),
                "/ari/asterisk/modules" => (200, modules(without)),
                "/ari/asterisk/ping" => (
                    200,
                    r#"{"asterisk_id":"02:fc:00:00:00:21","ping":"pong","timestamp":"2026-12-02T12:00:00.000+0000"}"#.into(),
                ),
                _ => (204, String::new()),
            }
        }),
    )
    .await
}

/// The requests the fake saw for `path` (without the query).
fn requests_to(fake: &FakeAri, path: &str) -> Vec<String> {
    fake.seen
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.path.split('?').next() == Some(path))
        .map(|s| s.path.clone())
        .collect()
}

#[tokio::test]
async fn what_asterisk_21_lacks_fails_before_it_is_sent() {
    let fake = asterisk_21(&[]).await;
    let client = Client::connect(&fake.url, "asterisk", "asterisk")
        .await
        .unwrap();
    // ping, the listing and its 11 declarations, info, modules
    assert_eq!(fake.seen.lock().unwrap().len(), 15);
    let server = client.server_api().expect("the declarations were read");
    assert_eq!(server.asterisk_version(), Some("21.12.3"));
    assert_eq!(server.api_version(), Some("9.0.0"));

    // the 7 operations of 22.10.1 that 21.12.3 lacks (docs/ari-spec-notes.md §6)
    let missing: BTreeSet<&str> = server
        .unsupported_operations()
        .map(|op| op.name())
        .collect();
    let expected: BTreeSet<&str> = [
        "channels.getChannelVars",
        "channels.setChannelVars",
        "bridges.getBridgeVar",
        "bridges.setBridgeVar",
        "bridges.getBridgeVars",
        "bridges.setBridgeVars",
        "events.claimChannel",
    ]
    .into();
    assert_eq!(missing, expected);
    assert!(
        server.unknown_operations().is_empty(),
        "{:?}",
        server.unknown_operations()
    );
    assert!(!server.supports_event(EventKind::CallClaimed));
    assert!(server.supports_event(EventKind::StasisStart));

    // an operation it lacks: a typed error, nothing sent
    let e = client
        .channels()
        .get_channel_vars("call-1", "X")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    assert_eq!(e.operation(), Some("channels.getChannelVars"));
    let msg = e.to_string();
    assert!(
        msg.contains(
            "Asterisk 21.12.3 (ARI 9.0.0) does not serve `GET /channels/{channelId}/variables`"
        ),
        "{msg}"
    );
    // the versions that have it, from the spec's `since`: the 21 branch never got it
    assert!(
        msg.contains(
            "it is in Asterisk 20.20.0, 22.10.0, 23.4.0 and later releases of those branches"
        ),
        "{msg}"
    );
    assert!(requests_to(&fake, "/ari/channels/call-1/variables").is_empty());

    // a parameter it lacks, which it would ignore: refused, nothing sent
    assert!(server.supports(OperationId::ChannelSetChannelVar));
    assert!(!server.supports_parameter(OperationId::ChannelSetChannelVar, "report_events"));
    let e = client
        .channels()
        .set_channel_var("call-1", "X")
        .value("1")
        .report_events(true)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    assert!(e.to_string().contains("parameter `report_events`"), "{e}");
    assert!(requests_to(&fake, "/ari/channels/call-1/variable").is_empty());

    // what it has goes through
    client
        .channels()
        .set_channel_var("call-1", "X")
        .value("1")
        .await
        .unwrap();
    assert_eq!(
        requests_to(&fake, "/ari/channels/call-1/variable"),
        ["/ari/channels/call-1/variable?variable=X&value=1"]
    );
}

#[tokio::test]
async fn undeclared_parameters_are_sent_when_the_caller_allows_it() {
    let fake = asterisk_21(&[]).await;
    let client = Client::builder(&fake.url, "asterisk", "asterisk")
        .send_undeclared_parameters(true)
        .connect()
        .await
        .unwrap();
    client
        .channels()
        .set_channel_var("call-1", "X")
        .report_events(true)
        .await
        .unwrap();
    assert_eq!(
        requests_to(&fake, "/ari/channels/call-1/variable"),
        ["/ari/channels/call-1/variable?variable=X&report_events=true"]
    );
    // operations it does not serve fail either way
    let e = client
        .bridges()
        .get_bridge_vars("b-1", "X")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
}

#[tokio::test]
async fn a_resource_without_its_module_is_not_served() {
    let fake = asterisk_21(&["res_ari_mailboxes.so"]).await;
    let client = Client::connect(&fake.url, "asterisk", "asterisk")
        .await
        .unwrap();
    let server = client.server_api().unwrap();
    assert!(!server.supports(OperationId::MailboxList));
    let e = client.mailboxes().list().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    assert!(
        e.to_string()
            .contains("its module res_ari_mailboxes.so is not loaded"),
        "{e}"
    );
    assert!(requests_to(&fake, "/ari/mailboxes").is_empty());
}

#[tokio::test]
async fn without_the_check_connect_sends_one_request_and_checks_nothing() {
    let fake = asterisk_21(&[]).await;
    let client = Client::builder(&fake.url, "asterisk", "asterisk")
        .check_server_api(false)
        .connect()
        .await
        .unwrap();
    assert!(client.server_api().is_none());
    assert_eq!(fake.seen.lock().unwrap().len(), 1);
    client
        .channels()
        .get_channel_vars("call-1", "X")
        .await
        .unwrap_err();
    assert_eq!(
        requests_to(&fake, "/ari/channels/call-1/variables").len(),
        1
    );
}

#[tokio::test]
async fn declarations_that_cannot_be_read_leave_the_client_unchecked() {
    // an ARI that serves no api-docs (or garbage): connect succeeds, nothing is checked
    for docs in [
        None,
        Some("not json"),
        Some(r#"{"apis":[{"path":"/api-docs/../x"}]}"#),
    ] {
        let fake = fake::start(
            AUTH,
            Arc::new(move |seen| match (seen.path.as_str(), docs) {
                ("/ari/api-docs/resources.json", Some(body)) => (200, body.to_owned()),
                ("/ari/asterisk/ping", _) => (
                    200,
                    r#"{"asterisk_id":"x","ping":"pong","timestamp":"2026-12-02T12:00:00.000+0000"}"#.into(),
                ),
                (p, _) if p.starts_with("/ari/api-docs/") => (404, r#"{"message":"Resource not found"}"#.into()),
                _ => (204, String::new()),
            }),
        )
        .await;
        let client = Client::connect(&fake.url, "asterisk", "asterisk")
            .await
            .unwrap();
        assert!(client.server_api().is_none(), "{docs:?}");
        client
            .channels()
            .get_channel_vars("call-1", "X")
            .await
            .unwrap_err();
        assert_eq!(
            requests_to(&fake, "/ari/channels/call-1/variables").len(),
            1,
            "{docs:?}"
        );
    }
}
