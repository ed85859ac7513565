//! The fake Asterisk (`testing` feature) as an application's tests use it: call flows
//! end to end through a real `Client`, no Asterisk.

use std::time::Duration;

use ari_client::api::OperationId;
use ari_client::events::{ChannelDtmfReceived, StasisStart};
use ari_client::objects::Channel;
use ari_client::testing::{Ending, FakeAsterisk, Time};

/// Bounds a wait in a test: the fake's flows take milliseconds.
async fn within<T>(what: &str, f: impl std::future::IntoFuture<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), f)
        .await
        .unwrap_or_else(|_| panic!("{what}: not within 10 s"))
}

#[tokio::test]
async fn hello_answers_plays_and_hangs_up() {
    let fake = FakeAsterisk::start().await.unwrap();
    let client = fake.client().await.unwrap();
    client.on_channel_event(|channel: Channel, _: StasisStart| async move {
        channel.answer().await?;
        channel.play("sound:hello-world").await?.finished().await?;
        channel.hangup().await
    });
    client.start(["hello"]).await.unwrap();
    let started = std::time::Instant::now();
    let call = within("call in", fake.call_in("7000").caller("1001"))
        .await
        .unwrap();
    assert_eq!(
        within("end", call.ended()).await,
        Ending::HungUpByApp { cause: 16 }
    );
    println!("flow took {:?}", started.elapsed());
    assert_eq!(call.played(), ["sound:hello-world"]);
    assert!(call.answered());
    let ops: Vec<_> = fake.requests().iter().filter_map(|r| r.operation).collect();
    assert!(
        ops.ends_with(&[
            OperationId::ChannelAnswer,
            OperationId::ChannelPlay,
            OperationId::ChannelHangup
        ]),
        "{ops:?}"
    );
}

#[tokio::test]
async fn digits_reach_a_handler() {
    let fake = FakeAsterisk::start().await.unwrap();
    let client = fake.client().await.unwrap();
    client.on_channel_event(|channel: Channel, _: StasisStart| async move {
        channel.answer().await?;
        let d = channel.next::<ChannelDtmfReceived>().await?;
        channel
            .play(format!("digits:{}", d.digit))
            .await?
            .finished()
            .await?;
        channel.hangup().await
    });
    client.start(["ivr"]).await.unwrap();
    let call = within("call in", fake.call_in("7000")).await.unwrap();
    within("answered", async {
        while !call.answered() {
            tokio::time::sleep(Duration::from_millis(1)).await
        }
    })
    .await;
    fake.settle().await;
    call.press("5");
    assert_eq!(
        within("end", call.ended()).await,
        Ending::HungUpByApp { cause: 16 }
    );
    assert_eq!(call.played(), ["digits:5"]);
}

/// A client that sends its REST requests over the events websocket gets the same answers.
#[tokio::test]
async fn rest_over_the_websocket() {
    let fake = FakeAsterisk::start().await.unwrap();
    let (user, password) = fake.credentials();
    let client = ari_client::Client::builder(fake.url(), user, password)
        .rest_transport(ari_client::RestTransport::WebSocket)
        .connect()
        .await
        .unwrap();
    client.on_channel_event(|channel: Channel, _: StasisStart| async move {
        channel.answer().await?;
        channel.play("sound:hello-world").await?.finished().await?;
        channel.hangup().await
    });
    client.start(["hello"]).await.unwrap();
    let call = within("call in", fake.call_in("7000")).await.unwrap();
    assert_eq!(
        within("end", call.ended()).await,
        Ending::HungUpByApp { cause: 16 }
    );
    assert_eq!(call.played(), ["sound:hello-world"]);
    let missing = client.channels().get("nope").await.unwrap_err();
    assert_eq!(missing.kind(), ari_client::ErrorKind::NotFound);
}

/// Manual time: nothing due happens until the test moves the clock, so a digit lands at an
/// exact point of the prompt.
#[tokio::test]
async fn manual_time_places_a_digit_inside_the_prompt() {
    let fake = FakeAsterisk::builder()
        .time(Time::Manual)
        .start()
        .await
        .unwrap();
    fake.set_media_duration("sound:menu", Some(Duration::from_secs(3)));
    let client = fake.client().await.unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    client.on_channel_event(move |channel: Channel, _: StasisStart| {
        let tx = tx.clone();
        async move {
            channel.answer().await?;
            let digit = channel.next::<ChannelDtmfReceived>();
            let playback = channel.play("sound:menu").await?;
            let finished = playback.finished();
            // the digit comes first: the prompt is still playing
            let pressed = digit.await?;
            let _ = tx.send(format!("digit {}", pressed.digit));
            finished.await?;
            let _ = tx.send("prompt done".to_owned());
            channel.hangup().await
        }
    });
    client.start(["menu"]).await.unwrap();
    let call = within("call in", fake.call_in("7000")).await.unwrap();
    within("prompt", call.wait_played(1)).await;
    let start = fake.now();
    fake.settle().await;
    assert_eq!(fake.now(), start, "manual time does not move by itself");
    call.press("7");
    fake.advance(Duration::from_millis(150)).await;
    assert_eq!(within("digit", rx.recv()).await.unwrap(), "digit 7");
    assert!(call.in_stasis(), "the prompt is still playing");
    fake.advance(Duration::from_secs(3)).await;
    assert_eq!(within("prompt", rx.recv()).await.unwrap(), "prompt done");
    assert_eq!(
        within("end", call.ended()).await,
        Ending::HungUpByApp { cause: 16 }
    );
    let elapsed = fake.now().unix_millis() - start.unix_millis();
    assert_eq!(elapsed, 3150, "virtual time is what the test advanced");
}

/// Originated legs: answered after ringing, busy, unanswered — as the test scripts them.
#[tokio::test]
async fn originate_as_scripted() {
    let fake = FakeAsterisk::start().await.unwrap();
    fake.endpoint("PJSIP/alice")
        .answers_after(Duration::from_secs(4));
    fake.endpoint("PJSIP/bob").busy();
    fake.endpoint("PJSIP/carol").no_answer();
    let client = fake.client().await.unwrap();
    client.start(["dialer"]).await.unwrap();
    let mut outcomes = Vec::new();
    for endpoint in ["PJSIP/alice", "PJSIP/bob", "PJSIP/carol"] {
        let leg = client
            .channels()
            .originate(endpoint)
            .app("dialer")
            .timeout(10)
            .await
            .unwrap();
        let answered = within(
            "answer",
            leg.wait_for_answer().timeout(Duration::from_secs(5)),
        )
        .await;
        outcomes.push((
            endpoint,
            answered
                .map(|c| c.state.as_str().to_owned())
                .map_err(|e| e.kind()),
        ));
    }
    assert_eq!(outcomes[0], ("PJSIP/alice", Ok("Up".to_owned())));
    assert_eq!(outcomes[1].1, Err(ari_client::ErrorKind::Failed));
    assert_eq!(outcomes[2].1, Err(ari_client::ErrorKind::Failed));
    assert_eq!(fake.originated(1).await.ending(), Some(Ending::Busy));
    assert_eq!(fake.originated(2).await.ending(), Some(Ending::NoAnswer));
    assert!(fake.originated(0).await.in_stasis());
}

/// Faults: an operation that fails, a websocket lost mid-call, Asterisk killed and back.
#[tokio::test]
async fn faults_reach_the_application_typed() {
    let fake = FakeAsterisk::start().await.unwrap();
    let client = ari_client::Client::builder(fake.url(), "asterisk", "asterisk")
        .reconnect(ari_client::ReconnectPolicy {
            initial_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            ..Default::default()
        })
        .connect()
        .await
        .unwrap();
    let mut states = client.state_changes();
    client.start(["app"]).await.unwrap();
    let call = within("call in", fake.call_in("1")).await.unwrap();
    let channel = client.channels().get(call.id()).await.unwrap();

    fake.fail(OperationId::ChannelAnswer, 500, 1);
    let e = channel.answer().await.unwrap_err();
    assert_eq!(e.kind(), ari_client::ErrorKind::Server);
    channel.answer().await.unwrap();

    // a lost websocket: the client reconnects, the call goes on
    fake.drop_websockets();
    within("reconnected", async {
        let mut lost = false;
        while let Some(s) = states.next().await {
            match s {
                ari_client::ConnectionState::Disconnected { .. } => lost = true,
                ari_client::ConnectionState::Connected if lost => return,
                _ => {}
            }
        }
    })
    .await;
    within("app back", fake.app_connected("app")).await;
    call.press("1");
    let digit = within(
        "digit",
        channel
            .next::<ChannelDtmfReceived>()
            .timeout(Duration::from_secs(5)),
    )
    .await;
    assert_eq!(digit.unwrap().digit, "1");

    // Asterisk killed: the call is gone without an event; the client's waits end
    let waiting = channel.next::<ChannelDtmfReceived>();
    fake.kill();
    assert_eq!(call.ending(), Some(Ending::Lost));
    fake.revive();
    within("app back after kill", fake.app_connected("app")).await;
    let e = within("wait ends", waiting.timeout(Duration::from_secs(5)))
        .await
        .unwrap_err();
    assert_ne!(
        e.kind(),
        ari_client::ErrorKind::Timeout,
        "the channel's wait ends when the resync finds it gone: {e}"
    );
    let e = channel.answer().await.unwrap_err();
    assert_eq!(e.kind(), ari_client::ErrorKind::NotFound);
}

/// Asterisk dials the application: a persistent outbound websocket to a `Listener`, lost
/// and dialled again; the events of the meantime arrive on the next connection.
#[tokio::test]
async fn outbound_persistent_websocket() {
    let fake = FakeAsterisk::start().await.unwrap();
    let listener = ari_client::outbound::Listener::bind("127.0.0.1:0", "ast", "secret")
        .await
        .unwrap();
    let url = format!("ws://{}/", listener.local_addr());
    let client = listener.client().unwrap();
    client.on_channel_event(|channel: Channel, _: StasisStart| async move {
        channel.answer().await?;
        channel.play("sound:hello-world").await?.finished().await?;
        channel.hangup().await
    });
    // Asterisk dials the listener; start returns once that websocket is open
    fake.dial_outbound(&url, "ast", "secret", &["outbound-app"]);
    within("start", client.start(["outbound-app"]))
        .await
        .unwrap();
    within("registered", fake.app_connected("outbound-app")).await;
    let call = within("call in", fake.call_in("1").app("outbound-app"))
        .await
        .unwrap();
    assert_eq!(
        within("end", call.ended()).await,
        Ending::HungUpByApp { cause: 16 }
    );
    assert_eq!(call.played(), ["sound:hello-world"]);
    // every request went over the websocket Asterisk opened
    assert!(fake
        .requests()
        .iter()
        .any(|r| r.operation == Some(OperationId::ChannelPlay)));

    // the websocket lost: the call that comes meanwhile waits for the next one
    fake.drop_websockets();
    let call = within("call in while lost", fake.call_in("2").app("outbound-app"))
        .await
        .unwrap();
    assert_eq!(
        within("end after redial", call.ended()).await,
        Ending::HungUpByApp { cause: 16 }
    );
    assert_eq!(call.played(), ["sound:hello-world"]);

    // wrong credentials: the listener refuses, the fake keeps trying
    let refused = FakeAsterisk::start().await.unwrap();
    refused.dial_outbound(&url, "ast", "wrong", &["other"]);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(refused.apps().is_empty(), "{:?}", refused.apps());
}

/// One websocket per call (`per_call_config`): each call is its own client and task.
#[tokio::test]
async fn outbound_per_call_websockets() {
    let fake = FakeAsterisk::start().await.unwrap();
    let listener = ari_client::outbound::Listener::bind("127.0.0.1:0", "ast", "secret")
        .await
        .unwrap();
    let url = format!("ws://{}/", listener.local_addr());
    let mut calls = listener.calls().unwrap();
    tokio::spawn(async move {
        while let Some(call) = calls.next().await {
            let Ok(call) = call else { continue };
            tokio::spawn(async move {
                let channel = call.channel();
                channel.answer().await?;
                channel.play("sound:hello-world").await?.finished().await?;
                channel.hangup().await?;
                call.finished().await
            });
        }
    });
    fake.dial_per_call(&url, "ast", "secret", "ivr");
    let mut ended = Vec::new();
    let a = within("call a", fake.call_in("1").app("ivr"))
        .await
        .unwrap();
    let b = within("call b", fake.call_in("2").app("ivr"))
        .await
        .unwrap();
    for call in [&a, &b] {
        ended.push(within("end", call.ended()).await);
        assert_eq!(call.played(), ["sound:hello-world"]);
    }
    assert_eq!(
        ended,
        [
            Ending::HungUpByApp { cause: 16 },
            Ending::HungUpByApp { cause: 16 }
        ]
    );
}

/// A `subscribe_all` client unsubscribes each application from all device states before
/// its shutdown closes the websocket (Asterisk's deadlock, docs/ari-spec-notes.md §11); a
/// client without it sends nothing on shutdown.
#[tokio::test]
async fn a_subscribe_all_client_unsubscribes_device_states_on_shutdown() {
    let fake = FakeAsterisk::start().await.unwrap();
    let (user, password) = fake.credentials();
    for subscribe_all in [true, false] {
        let client = ari_client::Client::builder(fake.url(), user, password)
            .subscribe_all(subscribe_all)
            .connect()
            .await
            .unwrap();
        let apps = ["one", "two"].map(|a| format!("{a}-{subscribe_all}"));
        client.start(apps.clone()).await.unwrap();
        let before = fake.requests().len();
        client.shutdown();
        within("shutdown", client.wait()).await.unwrap();
        let sent: Vec<_> = fake.requests()[before..]
            .iter()
            .map(|r| {
                (
                    r.operation,
                    r.path.clone(),
                    r.param("eventSource").map(str::to_owned),
                )
            })
            .collect();
        let want: Vec<_> = if subscribe_all {
            apps.iter()
                .map(|app| {
                    (
                        Some(OperationId::ApplicationUnsubscribe),
                        format!("/applications/{app}/subscription"),
                        Some("deviceState:".to_owned()),
                    )
                })
                .collect()
        } else {
            Vec::new()
        };
        assert_eq!(sent, want);
    }
}

/// The per-call clients of one listener share the server's declarations, read over a call's
/// websocket. When that websocket is lost during the read (on the sandbox: Asterisk closed a
/// per-call websocket and reopened it), the read is not final: the next call's client reads
/// them, and gets them.
#[tokio::test]
async fn a_read_of_the_declarations_lost_with_its_websocket_is_made_again() {
    let fake = FakeAsterisk::start().await.unwrap();
    let listener = ari_client::outbound::Listener::bind("127.0.0.1:0", "ast", "secret")
        .await
        .unwrap();
    let url = format!("ws://{}/", listener.local_addr());
    let mut calls = listener.calls().unwrap();
    fake.dial_per_call(&url, "ast", "secret", "ivr");
    // the first read is still under way when the websocket goes
    fake.delay_api_docs(Duration::from_millis(500));
    within("call in", fake.call_in("1").app("ivr"))
        .await
        .unwrap();
    let first = within("the first call's client", calls.next())
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    fake.drop_websockets();
    fake.delay_api_docs(Duration::ZERO);
    let first_client = first.client().clone();
    // its websocket is gone: the call's client ends
    let _ = within("the first call's client ends", first.finished()).await;
    assert!(first_client.server_api().is_none());
    within("call in", fake.call_in("2").app("ivr"))
        .await
        .unwrap();
    let second = within("the second call's client", calls.next())
        .await
        .unwrap()
        .unwrap();
    within("the second call's client has the declarations", async {
        while second.client().server_api().is_none() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}
