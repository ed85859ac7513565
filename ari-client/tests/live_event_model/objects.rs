//! One object type per resource, and a replaced application as a state.

use std::time::Duration;

use ari_client::events::StasisStart;
use ari_client::objects::Channel;
use ari_client::{ConnectionState, ErrorKind};
use tokio::sync::mpsc;

use crate::support::{live, unique_app};

/// A second client registering the same app: the first one is told, in its state and by
/// `wait`, instead of going deaf.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_app_is_a_state_and_an_error() {
    let Some(live) = live().await else { return };
    let first = live.client().await;
    let app = unique_app("dup");
    let mut states = first.state_changes();
    first.start([app.as_str()]).await.unwrap();
    let second = live.client().await;
    second.start([app.as_str()]).await.unwrap();
    let err = tokio::time::timeout(Duration::from_secs(10), first.wait())
        .await
        .expect("the first client ends")
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Replaced, "{err}");
    let mut saw = false;
    while let Ok(Some(state)) = tokio::time::timeout(Duration::from_secs(1), states.next()).await {
        saw |= state == ConnectionState::Replaced { app: app.clone() };
    }
    assert!(saw, "the state says Replaced");
    second.shutdown();
    second.wait().await.unwrap();
}

/// An operation's result is the domain object: fetched, then answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fetched_channel_has_the_methods() {
    let Some(live) = live().await else { return };
    let client = live.client().await;
    // the sandbox's `hello` extension runs Stasis(hello) without answering; no other test
    // of this binary registers `hello`
    client.start(["hello"]).await.unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    client.on_channel_event(move |c: Channel, _e: StasisStart| {
        let _ = tx.send(c.id.clone());
        async { Ok(()) }
    });
    // a channel in the app that is not answered yet (state Ring)
    client
        .channels()
        .originate("Local/hello@ari-test")
        .context("ari-test")
        .extension("answer")
        .priority(1)
        .await
        .unwrap();
    let id = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("StasisStart")
        .unwrap();
    client
        .channels()
        .get(&id)
        .await
        .unwrap()
        .answer()
        .await
        .unwrap();
    let now = client.channels().get(&id).await.unwrap();
    assert_eq!(now.state, ari_client::models::ChannelState::Up);
    now.hangup().await.unwrap();
    client.shutdown();
    client.wait().await.unwrap();
}
