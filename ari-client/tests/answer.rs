//! `Channel::wait_for_answer` against a scripted fake ARI server, in Asterisk's own orders
//! (`tests/fixtures/events/captured.jsonl`): an originated channel is `Up` (its originate's
//! `AppDial2` still running) before it enters the application, and a request made in
//! between fails with 422 "Channel not in Stasis application"; the wait ends at its
//! `StasisStart`.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ari_client::objects::Channel;
use ari_client::Client;
use futures_util::SinkExt as _;
use tokio_tungstenite::tungstenite::Message;

const AUTH: &str = "Basic YXN0ZXJpc2s6YXN0ZXJpc2s=";

/// A channel's JSON with `state` and the dialplan application `app` (`AppDial2` while its
/// originate runs, `Stasis` in the application, another one in the dialplan).
fn channel(id: &str, state: &str, app: &str) -> String {
    format!(
        r#"{{"id":"{id}","name":"Local/answer@ari-test-00000001;1","state":"{state}","protocol_id":"","caller":{{"name":"","number":""}},"connected":{{"name":"","number":""}},"accountcode":"","dialplan":{{"context":"ari-test","exten":"answer","priority":1,"app_name":"{app}","app_data":""}},"creationtime":"2026-11-26T13:22:17.521+0000","language":"en"}}"#
    )
}

fn event(kind: &str, channel: &str, extra: &str) -> String {
    format!(
        r#"{{"type":"{kind}","timestamp":"2026-11-26T13:22:20.933+0000",{extra}"channel":{channel},"asterisk_id":"02:fc:00:00:00:01","application":"app"}}"#
    )
}

/// A client of a fake whose `GET /channels/c1` answers `now` (a JSON body) and whose
/// `POST /channels/c1/answer` answers `answer` (422 for a channel not in the application
/// yet), and its websocket, on which the test plays Asterisk.
async fn setup(
    now: String,
    answer: u16,
) -> (
    Client,
    tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
    Arc<Mutex<Vec<support::fake::Seen>>>,
) {
    let mut fake = support::fake::start(
        AUTH,
        Arc::new(
            move |seen| match (seen.method.as_str(), seen.path.as_str()) {
                ("GET", "/ari/channels/c1") => (200, now.clone()),
                ("POST", "/ari/channels/c1/answer") if answer == 422 => (
                    422,
                    r#"{"message":"Channel not in Stasis application"}"#.to_owned(),
                ),
                ("POST", "/ari/channels/c1/answer") => (answer, String::new()),
                _ => (404, r#"{"message":"Not found"}"#.to_owned()),
            },
        ),
    )
    .await;
    let client = Client::builder(&fake.url, "asterisk", "asterisk")
        .check_server_api(false)
        .build()
        .unwrap();
    client.start(["app"]).await.unwrap();
    let socket = tokio::time::timeout(Duration::from_secs(5), fake.sockets.recv())
        .await
        .unwrap()
        .unwrap();
    (client, socket, fake.seen)
}

/// The answers the wait sent.
fn answers(seen: &Mutex<Vec<support::fake::Seen>>) -> usize {
    seen.lock()
        .unwrap()
        .iter()
        .filter(|s| s.path.ends_with("/answer"))
        .count()
}

/// The wait on channel `c1` of `client`, started, and when it began.
fn waiting(
    client: &Client,
) -> (
    tokio::task::JoinHandle<ari_client::Result<Channel>>,
    Instant,
) {
    let c1 = client.object(
        serde_json::from_str::<ari_client::models::Channel>(&channel("c1", "Down", "AppDial2"))
            .unwrap(),
    );
    let started = Instant::now();
    let wait =
        tokio::spawn(async move { c1.wait_for_answer().timeout(Duration::from_secs(5)).await });
    (wait, started)
}

/// Originated into the application: `Up` in `AppDial2`, `Dial` ANSWER, then (300 ms later
/// here) `ChannelVarset` and `StasisStart` in `Stasis`: the wait ends at the `StasisStart`,
/// not at the `Up`.
#[tokio::test]
async fn an_originated_channel_is_answered_when_it_enters_the_application() {
    let (client, mut asterisk, seen) = setup(channel("c1", "Down", "AppDial2"), 204).await;
    let (wait, started) = waiting(&client);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let dialling = channel("c1", "Up", "AppDial2");
    for frame in [
        event("ChannelStateChange", &dialling, ""),
        format!(
            r#"{{"type":"Dial","timestamp":"2026-11-26T13:22:20.933+0000","dialstatus":"ANSWER","peer":{dialling},"asterisk_id":"02:fc:00:00:00:01","application":"app"}}"#
        ),
    ] {
        asterisk.send(Message::text(frame)).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!wait.is_finished(), "answered before its StasisStart");
    let in_app = channel("c1", "Up", "Stasis");
    for frame in [
        event(
            "ChannelVarset",
            &in_app,
            r#""variable":"STASISSTATUS","value":"","#,
        ),
        event("StasisStart", &in_app, r#""args":[],"#),
    ] {
        asterisk.send(Message::text(frame)).await.unwrap();
    }
    let answered = wait.await.unwrap().unwrap();
    assert_eq!(answered.dialplan.app_name, "Stasis");
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(answers(&seen), 0, "no answer: the events told");
}

/// A channel the application created is in `Stasis()` before it is answered: its
/// `ChannelStateChange` to `Up` ends the wait; one originated into the dialplan ends it
/// when it is `Up` there.
#[tokio::test]
async fn a_channel_in_the_application_or_the_dialplan_is_answered_when_up() {
    for (now, up) in [
        (
            channel("c1", "Down", "Stasis"),
            channel("c1", "Up", "Stasis"),
        ),
        (
            channel("c1", "Down", "AppDial2"),
            channel("c1", "Up", "Wait"),
        ),
    ] {
        let (client, mut asterisk, seen) = setup(now, 204).await;
        let (wait, _) = waiting(&client);
        tokio::time::sleep(Duration::from_millis(100)).await;
        asterisk
            .send(Message::text(event("ChannelStateChange", &up, "")))
            .await
            .unwrap();
        let answered = tokio::time::timeout(Duration::from_secs(2), wait)
            .await
            .expect("answered at the state change")
            .unwrap()
            .unwrap();
        assert_eq!(answered.state, ari_client::models::ChannelState::Up);
        assert_eq!(answers(&seen), 0);
        client.shutdown();
    }
}

/// Up in `Stasis()` already when asked: in the application (Asterisk accepts an answer
/// of it, and does nothing), or entering it (Asterisk refuses the answer with 422, and its
/// `StasisStart` ends the wait).
#[tokio::test]
async fn a_channel_up_in_stasis_when_asked_is_probed_with_an_answer() {
    let (client, _asterisk, seen) = setup(channel("c1", "Up", "Stasis"), 204).await;
    let (wait, _) = waiting(&client);
    let answered = tokio::time::timeout(Duration::from_secs(2), wait)
        .await
        .expect("answered after the GET and the answer")
        .unwrap()
        .unwrap();
    assert_eq!(answered.dialplan.app_name, "Stasis");
    assert_eq!(answers(&seen), 1);

    let (client, mut asterisk, seen) = setup(channel("c1", "Up", "Stasis"), 422).await;
    let (wait, _) = waiting(&client);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(answers(&seen), 1);
    assert!(!wait.is_finished(), "not in the application yet");
    asterisk
        .send(Message::text(event(
            "StasisStart",
            &channel("c1", "Up", "Stasis"),
            r#""args":[],"#,
        )))
        .await
        .unwrap();
    let answered = tokio::time::timeout(Duration::from_secs(2), wait)
        .await
        .expect("answered at the StasisStart")
        .unwrap()
        .unwrap();
    assert_eq!(answered.dialplan.app_name, "Stasis");
}
