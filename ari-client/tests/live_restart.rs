//! Restarting the real sandbox Asterisk under a running client. In a test binary of its
//! own, because cargo runs test binaries one after the other: no other live test sees
//! Asterisk go away.

mod support;

use std::time::Duration;

use ari_client::events::StasisStart;
use ari_client::objects::Channel;
use ari_client::{Client, ConnectionState};
use support::{live, unique_app};

/// Restarts Asterisk while the app runs and a call with a handler and a waiter is up: the
/// client reconnects by itself, the resync ends the call that vanished (its waiter gets
/// `Ended`, its handler is released, the state changes report it), and a new call's
/// StasisStart reaches the handler. Needs `ARI_RESTART_CMD` (set by `cargo xtask test`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_an_asterisk_restart() {
    let Some(live) = live().await else { return };
    let Ok(restart) = std::env::var("ARI_RESTART_CMD") else {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("CI=true but ARI_RESTART_CMD is not set");
        }
        eprintln!("\n*** SKIPPED survives_an_asterisk_restart: ARI_RESTART_CMD not set ***\n");
        return;
    };
    let client = Client::builder(&live.url, &live.user, &live.password)
        .reconnect(ari_client::ReconnectPolicy {
            initial_delay: Duration::from_millis(50),
            max_delay: Duration::from_millis(500),
            ..Default::default()
        })
        .connect()
        .await
        .unwrap();
    let app = unique_app("restart");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    client.on_channel_event(move |channel: Channel, _e: StasisStart| {
        let _ = tx.send(channel.id.clone());
        async { Ok(()) }
    });
    let mut states = client.state_changes();
    client.start([app.as_str()]).await.unwrap();
    // a call up, with a handler and a waiter, when Asterisk goes away
    let before = client
        .channels()
        .originate("Local/answer@ari-test")
        .app(&app)
        .await
        .unwrap();
    let before = before
        .wait_for_answer()
        .timeout(Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(rx.recv().await.as_deref(), Some(before.id.as_str()));
    before
        .on_event(|_c: Channel, _e: ari_client::events::ChannelDtmfReceived| async { Ok(()) })
        .unwrap();
    let waiter = before.next::<ari_client::events::ChannelDtmfReceived>();

    support::run_shell(&restart).await;
    // see the loss, the new connection, then the resync
    let mut saw_loss = false;
    let ended = loop {
        let state = tokio::time::timeout(Duration::from_secs(30), states.next())
            .await
            .expect("state change within 30 s")
            .expect("client alive");
        match state {
            ConnectionState::Disconnected { .. } => saw_loss = true,
            ConnectionState::Resynced { ended, .. } if saw_loss => break ended,
            _ => {}
        }
    };
    // a clean stop hangs the call up first (its end events arrive before the websocket
    // closes); a crash leaves it to the resync: either way it ended
    eprintln!("resync after the restart ended {ended:?}");
    let err = waiter.await.unwrap_err();
    assert_eq!(err.kind(), ari_client::ErrorKind::Ended, "{err}");
    assert_eq!(client.stats().object_handlers, 0);
    let id = client.new_id();
    client
        .channels()
        .originate_with_id(&id, "Local/answer@ari-test")
        .app(&app)
        .await
        .unwrap();
    let got = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("StasisStart after restart")
        .unwrap();
    assert_eq!(got, id);
    client.channels().hangup(&id).await.unwrap();
    client.shutdown();
    client.wait().await.unwrap();
}
