//! The generated requests against the live Asterisk (tests/support: `ARI_URL`, default
//! `http://127.0.0.1:8088`): query strings, multi-value parameters, enums and the three body
//! shapes. Skipped (passes with a loud note) when no Asterisk answers, except under `CI=true`.

mod support;

use std::time::Duration;

use ari_client::models::{GetInfoOnly, HangupReason};
use ari_client::ErrorKind;
use support::{live, unique_app};

#[tokio::test]
async fn requests_have_the_shape_asterisk_reads() {
    let Some(live) = live().await else {
        return;
    };
    let client = live.client().await;

    // enum list in the query, comma-joined
    let info = client
        .asterisk()
        .get_info()
        .only([GetInfoOnly::Build, GetInfoOnly::System])
        .await
        .unwrap();
    assert!(info.build.is_some() && info.system.is_some());
    assert!(info.config.is_none() && info.status.is_none());

    // documented errors carry the spec's reason
    let e = client.channels().get("no-such-channel").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(e.operation(), Some("channels.get"));
    assert_eq!(e.reason(), Some("Channel not found"));

    // `variables` body wrapped as {"variables": {...}}; the channel runs dialplan, no app needed
    let id = unique_app("gen-chan");
    let channel = client
        .channels()
        .originate("Local/answer@ari-test")
        .extension("answer")
        .context("ari-test")
        .priority(1)
        .channel_id(&id)
        .variables([("GEN_A", "one two"), ("GEN_B", "x,y")])
        .await
        .unwrap();
    assert_eq!(channel.id, id);
    let v = client
        .channels()
        .get_channel_var(&id, "GEN_A")
        .await
        .unwrap();
    assert_eq!(v.value, "one two");
    // a required `variables` body: the channel is not in Stasis, so the server refuses it
    // after reading the body (a malformed body would be a 400)
    let e = client
        .channels()
        .set_channel_vars(&id, [("GEN_C", "3")])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");

    // POST /bridges reads the whole body as the variables
    let bridge_id = unique_app("gen-bridge");
    let bridge = client
        .bridges()
        .create()
        .kind("mixing")
        .bridge_id(&bridge_id)
        .name("generated")
        .variables([("BRIDGE_V", "b")])
        .await
        .unwrap();
    assert_eq!(bridge.id, bridge_id);
    let v = client
        .bridges()
        .get_bridge_var(&bridge_id, "BRIDGE_V")
        .await
        .unwrap();
    assert_eq!(v.value, "b");
    // hostile ids are encoded as one segment
    let e = client.bridges().get("a/b?c").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    client.bridges().destroy(&bridge_id).await.unwrap();

    // an enum in the query
    tokio::time::sleep(Duration::from_millis(200)).await;
    client
        .channels()
        .hangup(&id)
        .reason(HangupReason::Busy)
        .await
        .unwrap();
}
