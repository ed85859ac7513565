//! The fake Asterisk (`testing` feature) as an application's tests use it: call flows
//! end to end through a real `Client`, no Asterisk.

use std::time::Duration;

use ari_client::api::OperationId;
use ari_client::events::{ChannelDtmfReceived, StasisStart};
use ari_client::objects::Channel;
use ari_client::testing::{Ending, FakeAsterisk};

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
