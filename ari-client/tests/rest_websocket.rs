//! REST over the event websocket against a fake server, for what a real Asterisk cannot be
//! made to do: answers out of order, an answer that never comes, the websocket lost with a
//! request in flight. None of them hangs; each fails with its own typed error.

mod support;

use std::sync::Arc;
use std::time::Duration;

use ari_client::{Client, ErrorKind, RestTransport};
use futures_util::{SinkExt as _, StreamExt as _};
use tokio_tungstenite::tungstenite::Message;

const AUTH: &str = "Basic YXN0ZXJpc2s6YXN0ZXJpc2s=";

async fn setup() -> (Client, support::fake::FakeAri) {
    let fake = support::fake::start(
        AUTH,
        Arc::new(|_| {
            (
                200,
                r#"{"asterisk_id":"02:fc:00:00:00:01","ping":"pong","timestamp":"2026-11-26T13:22:17.521+0000"}"#
                    .to_owned(),
            )
        }),
    )
    .await;
    let client = Client::builder(&fake.url, "asterisk", "asterisk")
        .rest_transport(RestTransport::WebSocket)
        .check_server_api(false)
        .request_timeout(Duration::from_millis(500))
        .connect()
        .await
        .unwrap();
    (client, fake)
}

/// The next `RESTRequest` the client wrote.
async fn request<S>(socket: &mut S) -> serde_json::Value
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        match socket.next().await.expect("a frame").expect("no error") {
            Message::Text(text) => return serde_json::from_str(text.as_str()).unwrap(),
            _ => continue,
        }
    }
}

fn answer(request: &serde_json::Value, status: u16, body: Option<&str>) -> Message {
    let mut response = serde_json::json!({
        "type": "RESTResponse",
        "transaction_id": request["transaction_id"],
        "request_id": request["request_id"],
        "status_code": status,
        "reason_phrase": "whatever",
        "uri": request["uri"],
        // what Asterisk 22.10.1 adds to every RESTResponse it sends
        "application": "app",
        "timestamp": "2026-12-02T18:46:14.114+0000",
        "asterisk_id": "02:fc:00:00:00:01",
    });
    if let Some(body) = body {
        response["content_type"] = "application/json".into();
        response["message_body"] = body.into();
    }
    Message::text(response.to_string())
}

#[tokio::test]
async fn answers_out_of_order_reach_their_own_requests() {
    let (client, mut fake) = setup().await;
    client.start(["app"]).await.unwrap();
    let mut socket = fake.sockets.recv().await.unwrap();
    let (c1, c2) = (client.clone(), client.clone());
    let first = tokio::spawn(async move { c1.channels().get("first").await });
    let r1 = request(&mut socket).await;
    let second = tokio::spawn(async move { c2.channels().get("second").await });
    let r2 = request(&mut socket).await;
    assert_eq!(
        (r1["uri"].as_str(), r2["uri"].as_str()),
        (Some("channels/first"), Some("channels/second"))
    );
    socket
        .send(answer(
            &r2,
            200,
            Some(&support::fake::channel_json("second")),
        ))
        .await
        .unwrap();
    socket
        .send(answer(&r1, 404, Some(r#"{"message":"Channel not found"}"#)))
        .await
        .unwrap();
    assert_eq!(second.await.unwrap().unwrap().id, "second");
    let e = first.await.unwrap().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(e.message(), Some("Channel not found"));
    // only connect's ping went over HTTP
    let seen = fake.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].path, "/ari/asterisk/ping");
    client.shutdown();
    client.wait().await.unwrap();
}

#[tokio::test]
async fn a_lost_websocket_fails_the_request_in_flight_and_the_next_one_uses_the_new_one() {
    let (client, mut fake) = setup().await;
    client.start(["app"]).await.unwrap();
    let mut socket = fake.sockets.recv().await.unwrap();
    let c = client.clone();
    let lost = tokio::spawn(async move { c.channels().get("lost").await });
    let _ = request(&mut socket).await;
    drop(socket);
    let e = lost.await.unwrap().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::WebSocket, "{e}");
    assert!(
        e.to_string()
            .contains("may or may not have been carried out"),
        "{e}"
    );
    // the client reconnects; the next request goes over the new websocket
    let mut socket = fake.sockets.recv().await.unwrap();
    let c = client.clone();
    let next = tokio::spawn(async move { c.channels().get("next").await });
    let r = request(&mut socket).await;
    socket
        .send(answer(&r, 200, Some(&support::fake::channel_json("next"))))
        .await
        .unwrap();
    assert_eq!(next.await.unwrap().unwrap().id, "next");
    client.shutdown();
    client.wait().await.unwrap();
}

#[tokio::test]
async fn an_answer_that_never_comes_is_a_timeout() {
    let (client, mut fake) = setup().await;
    client.start(["app"]).await.unwrap();
    let mut socket = fake.sockets.recv().await.unwrap();
    let c = client.clone();
    let call = tokio::spawn(async move { c.channels().hangup("silent").await });
    let r = request(&mut socket).await;
    assert_eq!(
        (r["method"].as_str(), r["uri"].as_str()),
        (Some("DELETE"), Some("channels/silent"))
    );
    let e = call.await.unwrap().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    // the late answer is an event like any other: it does not break the connection
    let mut events = client.events();
    socket.send(answer(&r, 204, None)).await.unwrap();
    let late = tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(late.kind().as_str(), "RESTResponse");
    client.shutdown();
    client.wait().await.unwrap();
}

/// A handler waits for a REST answer while the events queued behind it spend the event
/// budget: the reader, waiting for room, must still take the answer from the websocket
/// (over HTTP the answer has its own connection; over the websocket it queues behind the
/// events).
#[tokio::test]
async fn an_answer_behind_a_spent_event_budget_still_reaches_its_handler() {
    const EVENTS: usize = 20;
    let fake = support::fake::start(AUTH, Arc::new(|_| (200, "{}".to_owned()))).await;
    let mut sockets = fake.sockets;
    let client = Client::builder(&fake.url, "asterisk", "asterisk")
        .rest_transport(RestTransport::WebSocket)
        .check_server_api(false)
        .event_budget(8 << 10)
        .request_timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let (answered, mut answered_rx) = tokio::sync::mpsc::unbounded_channel();
    client.on_channel_event(
        move |channel: ari_client::objects::Channel, _: ari_client::events::StasisStart| {
            let answered = answered.clone();
            async move {
                // REST over the websocket, from inside the channel's lane
                channel.answer().await?;
                let _ = answered.send(());
                Ok(())
            }
        },
    );
    let varsets = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = varsets.clone();
    client.on_channel_event(
        move |_: ari_client::objects::Channel, _: ari_client::events::ChannelVarset| {
            seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            async { Ok(()) }
        },
    );
    client.start(["app"]).await.unwrap();
    let mut socket = sockets.recv().await.unwrap();
    socket
        .send(Message::text(support::fake::channel_event(
            "StasisStart",
            "c1",
            r#""args":[],"#,
        )))
        .await
        .unwrap();
    let r = request(&mut socket).await;
    // 20 events of the same channel, queued behind the waiting handler: some 12 kB, more
    // than the budget (8 kB), less than the budget and the read-ahead together
    for n in 0..EVENTS {
        let extra = format!(r#""variable":"V{n}","value":"x","#);
        socket
            .send(Message::text(support::fake::channel_event(
                "ChannelVarset",
                "c1",
                &extra,
            )))
            .await
            .unwrap();
    }
    socket.send(answer(&r, 204, None)).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), answered_rx.recv())
        .await
        .expect("the answer reached the handler while the budget was spent")
        .unwrap();
    // and every event after it was handled, none lost
    support::eventually("the events", Duration::from_secs(5), || {
        varsets.load(std::sync::atomic::Ordering::Relaxed) == EVENTS
    })
    .await;
    client.shutdown();
    client.wait().await.unwrap();
}
