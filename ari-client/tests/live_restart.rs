//! Restarting the real sandbox Asterisk under a running client. In a test binary of its
//! own, because cargo runs test binaries one after the other: no other live test sees
//! Asterisk go away.

mod support;

use std::time::Duration;

use ari_client::events::StasisStart;
use ari_client::objects::Channel;
use ari_client::{Client, ConnectionState};
use support::{live, unique_app};

/// Restarts Asterisk while the app runs: the client reconnects by itself and a new
/// call's StasisStart reaches the handler. Needs `ARI_RESTART_CMD` (set by `cargo xtask test`).
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

    let status = tokio::process::Command::new("bash")
        .arg("-c")
        .arg(&restart)
        .status()
        .await
        .unwrap();
    assert!(status.success(), "{restart} failed");
    // see the loss, then the new connection
    let mut saw_loss = false;
    loop {
        let state = tokio::time::timeout(Duration::from_secs(30), states.next())
            .await
            .expect("state change within 30 s")
            .expect("client alive");
        match state {
            ConnectionState::Disconnected { .. } => saw_loss = true,
            ConnectionState::Connected if saw_loss => break,
            _ => {}
        }
    }
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
