//! The runtime against the real sandbox Asterisk (see tests/support/mod.rs).

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ari_client::events::{ChannelDtmfReceived, PlaybackStarted, StasisEnd, StasisStart};
use ari_client::objects::Channel;
use ari_client::{Client, ErrorKind};
use support::{eventually, live, unique_app};

/// The hello example's logic, recording what it plays.
fn install_hello(client: &Client) {
    client.on_channel_event(|channel: Channel, _e: StasisStart| async move {
        channel.on_event(|channel: Channel, e: ChannelDtmfReceived| async move {
            match e.digit.as_str() {
                "#" => {
                    channel.play("sound:goodbye").await?;
                    channel.continue_in_dialplan().await?;
                }
                "*" => {
                    channel.play("sound:asterisk-friend").await?;
                }
                d => {
                    channel.play(format!("sound:digits/{d}")).await?;
                }
            }
            Ok(())
        })?;
        channel.answer().await?;
        channel.play("sound:hello-world").await?;
        Ok(())
    });
}

fn record_playbacks(client: &Client) -> Arc<Mutex<Vec<String>>> {
    let played = Arc::new(Mutex::new(Vec::new()));
    let sink = played.clone();
    client.on_event(move |e: PlaybackStarted| {
        sink.lock().unwrap().push(e.playback.media_uri.clone());
        async { Ok(()) }
    });
    played
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hello_flow_plays_each_sound_in_order() {
    let Some(live) = live().await else { return };
    let client = live.client().await;
    let app = unique_app("hello");
    install_hello(&client);
    let played = record_playbacks(&client);
    client.start([app.as_str()]).await.unwrap();

    client
        .channels()
        .originate("Local/hello-dtmf@ari-test")
        .app(&app)
        .await
        .unwrap();
    let want = [
        "sound:hello-world",
        "sound:digits/1",
        "sound:digits/2",
        "sound:digits/3",
        "sound:goodbye",
    ];
    eventually("the five plays", Duration::from_secs(20), || {
        played.lock().unwrap().len() >= want.len()
    })
    .await;
    assert_eq!(*played.lock().unwrap(), want);
    assert_eq!(client.stats().decode_errors, 0);
    assert_eq!(client.stats().handler_panics, 0);
    client.shutdown();
    client.wait().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_handlers_are_released_after_stasis_end() {
    let Some(live) = live().await else { return };
    let client = live.client().await;
    let app = unique_app("release");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    client.on_channel_event(move |channel: Channel, _e: StasisStart| {
        let sub = channel
            .on_event(|_c: Channel, _e: ChannelDtmfReceived| async { Ok(()) })
            .unwrap();
        let _ = tx.send((channel, sub));
        async { Ok(()) }
    });
    let ended = Arc::new(Mutex::new(0));
    let counter = ended.clone();
    client.on_event(move |_e: StasisEnd| {
        *counter.lock().unwrap() += 1;
        async { Ok(()) }
    });
    client.start([app.as_str()]).await.unwrap();
    client
        .channels()
        .originate("Local/hangup@ari-test")
        .app(&app)
        .await
        .unwrap();
    let (channel, sub) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("StasisStart within 10 s")
        .unwrap();
    assert!(sub.is_active());
    assert_eq!(client.stats().object_handlers, 1);
    eventually("StasisEnd", Duration::from_secs(10), || {
        *ended.lock().unwrap() == 1
    })
    .await;
    eventually("release", Duration::from_secs(2), || !sub.is_active()).await;
    assert_eq!(client.stats().object_handlers, 0);
    assert!(!sub.unsubscribe(), "already released");

    // the channel is gone: the stale object's hangup is NotFound with the documented reason
    let err = channel.hangup().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert_eq!(err.reason(), Some("Channel not found"));
    assert_eq!(err.http_status(), Some(404));
    client.shutdown();
    client.wait().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_before_create_sees_stasis_start() {
    let Some(live) = live().await else { return };
    let client = live.client().await;
    let app = unique_app("precreate");
    client.start([app.as_str()]).await.unwrap();
    let pending = client.pending_channel();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    pending
        .on_event(move |channel: Channel, e: StasisStart| {
            let _ = tx.send((channel.id.clone(), e.args.clone()));
            async { Ok(()) }
        })
        .unwrap();
    let created = client
        .channels()
        .originate_with_id(pending.id(), "Local/answer@ari-test")
        .app(&app)
        .app_args("4242")
        .await
        .unwrap();
    assert_eq!(created.id, pending.id());
    let (id, args) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("StasisStart within 10 s")
        .unwrap();
    assert_eq!(id, pending.id());
    assert_eq!(args, ["4242"]);
    client.channels().hangup(pending.id()).await.unwrap();
    client.shutdown();
    client.wait().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_is_an_unauthorized_error() {
    let Some(live) = live().await else { return };
    let err = Client::connect(&live.url, &live.user, "not-the-password")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err}");
    assert!(!format!("{err} {err:?}").contains("not-the-password"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_path_is_not_ari() {
    let Some(live) = live().await else { return };
    let url = format!("{}/nothing-here", live.url.trim_end_matches("/ari"));
    let err = Client::connect(&url, &live.user, &live.password)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotAri, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_server_is_a_connect_error() {
    // a loopback port nobody listens on
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let err = Client::connect(&format!("http://127.0.0.1:{port}"), "u", "p")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connect, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_serves_everything_but_mailboxes() {
    use ari_client::api::OperationId;
    let Some(live) = live().await else { return };
    let client = live.client().await;
    let server = client
        .server_api()
        .expect("the sandbox's declarations are read");
    assert!(
        server
            .asterisk_version()
            .is_some_and(|v| v.starts_with("22.")),
        "{:?}",
        server.asterisk_version()
    );
    assert_eq!(server.api_version(), Some("10.0.0"));
    // Debian's 22.10.1 installs mailboxes.json but no res_ari_mailboxes
    let missing: Vec<&str> = server
        .unsupported_operations()
        .map(|op| op.name())
        .collect();
    assert_eq!(
        missing,
        [
            "mailboxes.list",
            "mailboxes.get",
            "mailboxes.update",
            "mailboxes.delete"
        ]
    );
    assert!(
        server.unknown_operations().is_empty(),
        "{:?}",
        server.unknown_operations()
    );
    for op in OperationId::ALL
        .into_iter()
        .filter(|op| server.supports(*op))
    {
        for p in op.parameters() {
            assert!(server.supports_parameter(op, p), "{} {p}", op.name());
        }
    }
    for kind in ari_client::EventKind::ALL {
        assert!(server.supports_event(kind), "{kind}");
    }
    // refused before sending, with what the server is …
    let e = client.mailboxes().list().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    assert!(
        e.to_string()
            .contains("its module res_ari_mailboxes.so is not loaded"),
        "{e}"
    );
    // … where an unchecked client sends it and gets Asterisk's 404
    let unchecked = Client::builder(&live.url, &live.user, &live.password)
        .check_server_api(false)
        .connect()
        .await
        .unwrap();
    assert!(unchecked.server_api().is_none());
    let e = unchecked.mailboxes().list().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
}

/// Asterisk 22.10.1 deadlocks its ARI when the websocket of an application subscribed to
/// all device states closes while a device state change is on its way to it
/// (asterisk/asterisk#2170; without the client's unsubscribe the sandbox wedged at the
/// second or third round, every later `GET /applications` hanging). A `subscribe_all`
/// client's `shutdown` unsubscribes from all device states first: 40 rounds of closing
/// in the middle of a stream of device state changes leave `applications.list` answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutting_down_a_subscribe_all_client_amid_device_state_changes_keeps_ari_alive() {
    use ari_client::models::UpdateDeviceState;
    let Some(live) = live().await else { return };
    let other = live.client().await;
    let device = format!("Stasis:{}", unique_app("farewell"));
    for round in 0..40u64 {
        let app = unique_app("farewell");
        let client = Client::builder(&live.url, &live.user, &live.password)
            .subscribe_all(true)
            .connect()
            .await
            .unwrap();
        client.start([app.as_str()]).await.unwrap();
        let (o, d) = (other.clone(), device.clone());
        let changes = tokio::spawn(async move {
            for i in 0..10_000u32 {
                let state = if i % 2 == 0 {
                    UpdateDeviceState::Busy
                } else {
                    UpdateDeviceState::NotInuse
                };
                let _ = o.device_states().update(&d, state).await;
            }
        });
        // close at different points of the stream
        tokio::time::sleep(Duration::from_millis(20 + (round % 7) * 5)).await;
        client.shutdown();
        client.wait().await.unwrap();
        changes.abort();
        let listed =
            tokio::time::timeout(Duration::from_secs(5), other.applications().list()).await;
        assert!(
            listed.is_ok(),
            "round {round}: GET /applications did not answer within 5 s: Asterisk's ARI is deadlocked"
        );
    }
    let _ = other.device_states().delete(&device).await;
}
