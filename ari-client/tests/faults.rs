//! Faults the real Asterisk is not made to produce on demand, on the fake ARI server of
//! tests/support/fake.rs: a connection lost while objects have handlers and waiters (the
//! resync ends the ones that are gone), binary frames, frames over the limit.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ari_client::events::{ChannelDtmfReceived, StasisStart};
use ari_client::objects::Channel;
use ari_client::{Client, ConnectionState, ErrorKind, ObjectKind, ReconnectPolicy};
use futures_util::SinkExt as _;
use support::fake::{self, channel_event};
use tokio_tungstenite::tungstenite::Message;

const AUTH: &str = "Basic YXN0ZXJpc2s6YXN0ZXJpc2s="; // asterisk:asterisk

fn client(url: &str) -> Client {
    Client::builder(url, "asterisk", "asterisk")
        .reconnect(ReconnectPolicy {
            initial_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            ..Default::default()
        })
        .build()
        .unwrap()
}

async fn next_socket(
    fake: &mut fake::FakeAri,
) -> tokio_tungstenite::WebSocketStream<tokio::net::TcpStream> {
    tokio::time::timeout(Duration::from_secs(5), fake.sockets.recv())
        .await
        .expect("a websocket within 5 s")
        .expect("fake alive")
}

/// A channel with a handler and a waiter; the connection drops; after the reconnect,
/// `GET /channels` does not list it: its waiter gets `Ended`, its handler is released, and
/// the state changes report the resync with the channel and the downtime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_ends_the_objects_that_vanished_meanwhile() {
    // the first GET /channels (before the drop) lists it, the next ones do not
    let listed = Arc::new(Mutex::new(true));
    let l = listed.clone();
    let mut fake = fake::start(
        AUTH,
        Arc::new(move |seen| match seen.path.as_str() {
            "/ari/channels" if *l.lock().unwrap() => {
                (200, format!("[{}]", fake::channel_json("gone-1")))
            }
            "/ari/channels" | "/ari/bridges" => (200, "[]".into()),
            _ => (404, r#"{"message":"nope"}"#.into()),
        }),
    )
    .await;
    let client = client(&fake.url);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    client.on_channel_event(move |channel: Channel, _e: StasisStart| {
        let dtmf = channel.next::<ChannelDtmfReceived>();
        let handler = channel.on_event(|_c: Channel, _e: ChannelDtmfReceived| async { Ok(()) });
        let tx = tx.clone();
        async move {
            handler?;
            let _ = tx.send(dtmf.await);
            Ok(())
        }
    });
    let mut states = client.state_changes();
    client.start(["app"]).await.unwrap();
    let mut ws = next_socket(&mut fake).await;
    ws.send(Message::text(channel_event(
        "StasisStart",
        "gone-1",
        r#""args":[],"#,
    )))
    .await
    .unwrap();
    support::eventually("the handler", Duration::from_secs(5), || {
        client.stats().object_handlers == 1
    })
    .await;
    *listed.lock().unwrap() = false;
    drop(ws); // the connection is lost (EOF), as when Asterisk is killed
    let _reconnected = next_socket(&mut fake).await;
    let outcome = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("the waiter learns why")
        .unwrap();
    let err = outcome.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Ended, "{err}");
    assert!(
        err.to_string().contains("gone when the client reconnected"),
        "{err}"
    );
    let report = loop {
        let state = tokio::time::timeout(Duration::from_secs(5), states.next())
            .await
            .expect("a resync report")
            .unwrap();
        if let ConnectionState::Resynced { .. } = state {
            break state;
        }
    };
    let ConnectionState::Resynced {
        ended, downtime, ..
    } = report
    else {
        unreachable!()
    };
    assert_eq!(ended, [(ObjectKind::Channel, "gone-1".to_owned())]);
    assert!(downtime < Duration::from_secs(5));
    assert_eq!(client.state(), ConnectionState::Connected);
    let stats = client.stats();
    assert_eq!(
        (stats.object_handlers, stats.waiters, stats.objects),
        (0, 0, 0),
        "{stats:?}"
    );
    assert_eq!(stats.lost_objects, 1);
    // it ended: a new handler on it is refused
    let late = client
        .object(
            serde_json::from_str::<ari_client::models::Channel>(&fake::channel_json("gone-1"))
                .unwrap(),
        )
        .on_event(|_c: Channel, _e: ChannelDtmfReceived| async { Ok(()) });
    assert_eq!(late.unwrap_err().kind(), ErrorKind::Ended);
    client.shutdown();
    client.wait().await.unwrap();
}

/// What the application subscribed to (`applications.subscribe`) is subscribed again after
/// a reconnect, for the objects that still exist: not a channel that vanished meanwhile,
/// and not a whole kind (`channel:`), which names no object the client tracks. After
/// `applications.unsubscribe` nothing is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_subscribes_again_what_the_application_subscribed_to() {
    let listed = Arc::new(Mutex::new(true));
    let l = listed.clone();
    let app_json = r#"{"name":"app","channel_ids":[],"bridge_ids":[],"endpoint_ids":[],"device_names":[],"events_allowed":[],"events_disallowed":[]}"#;
    let mut fake = fake::start(
        AUTH,
        Arc::new(move |seen| {
            let path = seen.path.as_str();
            if path == "/ari/channels" {
                let mut list = vec![fake::channel_json("alive-1")];
                if *l.lock().unwrap() {
                    list.push(fake::channel_json("gone-1"));
                }
                (200, format!("[{}]", list.join(",")))
            } else if path == "/ari/bridges" {
                (200, "[]".into())
            } else if path.starts_with("/ari/applications/app/subscription?") {
                (200, app_json.into())
            } else {
                (404, r#"{"message":"nope"}"#.into())
            }
        }),
    )
    .await;
    let client = client(&fake.url);
    let mut states = client.state_changes();
    client.start(["app"]).await.unwrap();
    let ws = next_socket(&mut fake).await;
    client
        .applications()
        .subscribe(
            "app",
            [
                "channel:alive-1",
                "channel:gone-1",
                "endpoint:PJSIP/100",
                "channel:",
            ],
        )
        .await
        .unwrap();
    assert_eq!(client.stats().objects, 3);
    *listed.lock().unwrap() = false;
    let before = fake.seen.lock().unwrap().len();
    drop(ws);
    let _ws = next_socket(&mut fake).await;
    let report = loop {
        let state = tokio::time::timeout(Duration::from_secs(5), states.next())
            .await
            .expect("a resync report")
            .unwrap();
        if let ConnectionState::Resynced { .. } = state {
            break state;
        }
    };
    let ConnectionState::Resynced {
        ended,
        resubscribed,
        ..
    } = report
    else {
        unreachable!()
    };
    assert_eq!(ended, [(ObjectKind::Channel, "gone-1".to_owned())]);
    assert_eq!(resubscribed, 2);
    let mut again: Vec<String> = fake.seen.lock().unwrap()[before..]
        .iter()
        .filter(|s| s.method == "POST" && s.path.starts_with("/ari/applications/"))
        .map(|s| s.path.clone())
        .collect();
    again.sort();
    assert_eq!(
        again,
        [
            "/ari/applications/app/subscription?eventSource=channel%3Aalive-1",
            "/ari/applications/app/subscription?eventSource=endpoint%3APJSIP%2F100",
        ]
    );
    client
        .applications()
        .unsubscribe("app", ["channel:alive-1", "endpoint:PJSIP/100"])
        .await
        .unwrap();
    assert_eq!(client.stats().objects, 0);
    client.shutdown();
    client.wait().await.unwrap();
}

/// Binary frames are skipped and counted; an oversize frame and a text frame that is not
/// UTF-8 drop the connection, are counted, and the client comes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames_are_counted() {
    let mut fake = fake::start(AUTH, Arc::new(|_| (200, "[]".into()))).await;
    let client = client(&fake.url);
    let mut events = client.events();
    client.start(["app"]).await.unwrap();
    let mut ws = next_socket(&mut fake).await;
    ws.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    ws.send(Message::text(channel_event(
        "ChannelDtmfReceived",
        "c1",
        r#""digit":"1","duration_ms":100,"#,
    )))
    .await
    .unwrap();
    let event = tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(event.type_name(), "ChannelDtmfReceived");
    assert_eq!(client.stats().binary_frames, 1);
    // a text frame with invalid UTF-8, written raw: opcode 1, unmasked, 2 bytes
    let mut raw = ws.into_inner();
    use tokio::io::AsyncWriteExt as _;
    raw.write_all(&[0x81, 0x02, 0xff, 0xfe]).await.unwrap();
    let mut ws = next_socket(&mut fake).await;
    support::eventually("counted", Duration::from_secs(5), || {
        client.stats().invalid_utf8 == 1
    })
    .await;
    // a frame header announcing 100 MiB: over the 16 MiB frame limit
    let mut raw = {
        ws.send(Message::Ping(Default::default())).await.unwrap();
        ws.into_inner()
    };
    raw.write_all(&[0x81, 127, 0, 0, 0, 0, 6, 0x40, 0, 0])
        .await
        .unwrap();
    let _ws = next_socket(&mut fake).await;
    support::eventually("counted", Duration::from_secs(5), || {
        client.stats().oversize_frames == 1
    })
    .await;
    client.shutdown();
    client.wait().await.unwrap();
}
