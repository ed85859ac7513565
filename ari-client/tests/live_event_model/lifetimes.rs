//! Lifetimes that end: bridges, failed creates, channels' end events and subscriptions;
//! every handler called in wire order, then released.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ari_client::events::{
    BridgeDestroyed, ChannelDestroyed, ChannelEnteredBridge, ChannelLeftBridge, PlaybackFinished,
    StasisEnd, StasisStart,
};
use ari_client::objects::{Bridge, Channel};
use ari_client::ErrorKind;
use tokio::sync::mpsc;

use crate::all_released;
use crate::support::{eventually, live, unique_app};

/// A bridge the app creates, joins, leaves, joins and destroys: its handlers see every
/// event in wire order, BridgeDestroyed last, and are released — with the app subscribed
/// to the bridge by hand, and without (the client subscribes it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bridge_handlers_see_every_event_in_order_and_are_released() {
    let Some(live) = live().await else { return };
    for by_hand in [true, false] {
        let client = live.client().await;
        let app = unique_app("bridge");
        client.start([app.as_str()]).await.unwrap();
        let channel = client
            .channels()
            .originate("Local/answer@ari-test")
            .app(&app)
            .await
            .unwrap();
        let channel = channel
            .wait_for_answer()
            .timeout(Duration::from_secs(10))
            .await
            .unwrap();
        let bridge = client.bridges().create().kind("mixing").await.unwrap();
        if by_hand {
            client
                .applications()
                .subscribe(&app, format!("bridge:{}", bridge.id))
                .await
                .unwrap();
        }
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = |what: &'static str| {
            let seen = seen.clone();
            move || {
                seen.lock().unwrap().push(what);
                async { Ok(()) }
            }
        };
        let entered = log("entered");
        bridge
            .on_event(move |_b: Bridge, _e: ChannelEnteredBridge| entered())
            .unwrap();
        let left = log("left");
        bridge
            .on_event(move |_b: Bridge, _e: ChannelLeftBridge| left())
            .unwrap();
        let destroyed = log("destroyed");
        bridge
            .on_event(move |_b: Bridge, _e: BridgeDestroyed| destroyed())
            .unwrap();
        // the client's own subscription is made in the background
        tokio::time::sleep(Duration::from_millis(300)).await;
        for _ in 0..2 {
            bridge.add_channel([channel.id.clone()]).await.unwrap();
            tokio::time::sleep(Duration::from_millis(200)).await;
            bridge.remove_channel([channel.id.clone()]).await.unwrap();
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        bridge.add_channel([channel.id.clone()]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        bridge.destroy().await.unwrap();
        let want = [
            "entered",
            "left",
            "entered",
            "left",
            "entered",
            "left",
            "destroyed",
        ];
        eventually("every bridge event", Duration::from_secs(10), || {
            seen.lock().unwrap().len() >= want.len()
        })
        .await;
        assert_eq!(*seen.lock().unwrap(), want, "subscribed by hand: {by_hand}");
        channel.hangup().await.unwrap();
        let stats = all_released(&client).await;
        eprintln!(
            "bridge (subscribed by hand: {by_hand}): {} events in order, {} handlers left",
            want.len(),
            stats.object_handlers
        );
        // an ended bridge takes no new handler
        let late = bridge.on_event(|_b: Bridge, _e: ChannelEnteredBridge| async { Ok(()) });
        assert_eq!(late.unwrap_err().kind(), ErrorKind::Ended);
        client.shutdown();
        client.wait().await.unwrap();
    }
}

/// A bridge with handlers, on a client whose event connection was never started: no
/// event will come, and destroying the bridge releases its handlers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroying_an_unsubscribed_bridge_releases_its_handlers() {
    let Some(live) = live().await else { return };
    let client = live.client().await;
    let bridge = client.bridges().create().await.unwrap();
    bridge
        .on_event(|_b: Bridge, _e: BridgeDestroyed| async { Ok(()) })
        .unwrap();
    let end = bridge.next::<ChannelEnteredBridge>();
    assert_eq!(client.stats().object_handlers, 1);
    bridge.destroy().await.unwrap();
    let err = end.await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Ended, "{err}");
    all_released(&client).await;
}

/// Handlers and waiters registered for an id whose create request fails are released;
/// the waiters learn why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_creates_release_what_was_registered_for_their_id() {
    let Some(live) = live().await else { return };
    let client = live.client().await;
    let app = unique_app("failed");
    client.start([app.as_str()]).await.unwrap();
    // an originate Asterisk refuses
    let call = client.pending_channel();
    call.on_event(|_c: Channel, _e: StasisStart| async { Ok(()) })
        .unwrap();
    let start = call.next::<StasisStart>();
    let refused = client
        .channels()
        .originate_with_id(call.id(), "NoSuchTech/nobody")
        .app(&app)
        .await;
    assert!(refused.is_err());
    assert_eq!(start.await.unwrap_err().kind(), ErrorKind::Ended);
    // a play on a channel that hung up meanwhile
    let playback = client.pending_playback();
    playback
        .on_event(|_p, _e: PlaybackFinished| async { Ok(()) })
        .unwrap();
    let gone = client
        .channels()
        .play_with_id("no-such-channel", playback.id(), "sound:beep")
        .await
        .unwrap_err();
    assert_eq!(gone.kind(), ErrorKind::NotFound);
    let stats = all_released(&client).await;
    eprintln!(
        "failed creates: {} handlers, {} waiters left",
        stats.object_handlers, stats.waiters
    );
    client.shutdown();
    client.wait().await.unwrap();
}

/// A channel's own ChannelDestroyed reaches its handler (with the hangup cause), for a
/// channel the app originated; an inbound channel ends with StasisEnd. Both are released.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_handlers_get_their_end_events() {
    let Some(live) = live().await else { return };
    let client = live.client().await;
    let app = unique_app("ends");
    client.start([app.as_str()]).await.unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let call = client.pending_channel();
    let t = tx.clone();
    call.on_event(move |_c: Channel, e: StasisEnd| {
        let _ = t.send(format!("StasisEnd {}", e.channel.id));
        async { Ok(()) }
    })
    .unwrap();
    let t = tx.clone();
    call.on_event(move |_c: Channel, e: ChannelDestroyed| {
        let _ = t.send(format!("ChannelDestroyed {} {}", e.cause, e.cause_txt));
        async { Ok(()) }
    })
    .unwrap();
    client
        .channels()
        .originate_with_id(call.id(), "Local/hangup@ari-test")
        .app(&app)
        .await
        .unwrap();
    let mut got = Vec::new();
    while got.len() < 2 {
        let line = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("the channel's end events")
            .unwrap();
        got.push(line);
    }
    assert_eq!(got[0], format!("StasisEnd {}", call.id()));
    assert_eq!(got[1], "ChannelDestroyed 16 Normal Clearing");
    let stats = all_released(&client).await;
    eprintln!(
        "end events: {got:?}; {} handlers left",
        stats.object_handlers
    );
    client.shutdown();
    client.wait().await.unwrap();
}

/// A channel that entered the app from the dialplan ends, for the client, with its
/// StasisEnd: Asterisk sends nothing more about it. Subscribed with
/// `applications.subscribe`, it is followed past StasisEnd to its ChannelDestroyed; after
/// `applications.unsubscribe` it ends with StasisEnd again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_follows_a_channel_past_stasis_end() {
    let Some(live) = live().await else { return };
    let client = live.client().await;
    let app = unique_app("follow");
    let (entered, mut inbound) = mpsc::unbounded_channel();
    client.on_channel_event(move |channel: Channel, _e: StasisStart| {
        let _ = entered.send(channel);
        async { Ok(()) }
    });
    client.start([app.as_str()]).await.unwrap();
    // (subscribe, then unsubscribe before leaving): what the channel's handlers see
    let mut seen = Vec::new();
    for (subscribe, unsubscribe) in [(false, false), (true, false), (true, true)] {
        // the ;1 half runs [ari-sip] <app>: Stasis(<app>), then Hangup() once continued
        client
            .channels()
            .originate("Local/answer@ari-test")
            .context("ari-sip")
            .extension(&app)
            .await
            .unwrap();
        let channel = tokio::time::timeout(Duration::from_secs(10), inbound.recv())
            .await
            .expect("the channel enters the app")
            .unwrap();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let t = tx.clone();
        channel
            .on_event(move |_c: Channel, _e: StasisEnd| {
                let _ = t.send("StasisEnd");
                async { Ok(()) }
            })
            .unwrap();
        channel
            .on_event(move |_c: Channel, _e: ChannelDestroyed| {
                let _ = tx.send("ChannelDestroyed");
                async { Ok(()) }
            })
            .unwrap();
        if subscribe {
            client
                .applications()
                .subscribe(&app, [format!("channel:{}", channel.id)])
                .await
                .unwrap();
        }
        if unsubscribe {
            client
                .applications()
                .unsubscribe(&app, [format!("channel:{}", channel.id)])
                .await
                .unwrap();
        }
        channel.continue_in_dialplan().await.unwrap();
        let mut got = Vec::new();
        // the handlers are released after the end: the senders go, and recv() ends
        while let Ok(Some(line)) = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
            got.push(line);
        }
        seen.push(got);
        all_released(&client).await;
    }
    eprintln!("dialplan channel, not subscribed / subscribed / unsubscribed again: {seen:?}");
    assert_eq!(seen[0], ["StasisEnd"]);
    assert_eq!(seen[1], ["StasisEnd", "ChannelDestroyed"]);
    assert_eq!(seen[2], ["StasisEnd"]);
    client.shutdown();
    client.wait().await.unwrap();
}
