//! The event model against the real sandbox Asterisk (see tests/support/mod.rs): the call
//! flows that used to hang, lose events or leak handlers. Each test prints its numbers
//! (runs, hangs, handlers and waiters left).

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ari_client::events::{
    BridgeDestroyed, ChannelDestroyed, ChannelDtmfReceived, ChannelEnteredBridge,
    ChannelLeftBridge, ChannelVarset, PlaybackFinished, StasisEnd, StasisStart,
};
use ari_client::models::RecordIfExists;
use ari_client::objects::{Bridge, Channel};
use ari_client::{Client, ConnectionState, ErrorKind};
use support::{eventually, live, unique_app};
use tokio::sync::{mpsc, oneshot};

/// Waits until no handler or waiter is left, and returns the stats.
async fn all_released(client: &Client) -> ari_client::DispatchStats {
    eventually(
        "every handler, waiter and object released",
        Duration::from_secs(10),
        || {
            let s = client.stats();
            s.object_handlers == 0 && s.waiters == 0 && s.objects == 0
        },
    )
    .await;
    client.stats()
}

/// A StasisStart handler of channel A originates channel B and waits — in A's handler —
/// for B's StasisStart, through a handler of B (the pattern that hung when A and B shared a
/// dispatch worker) and through `next`. 100 calls on a runtime of 1 thread, 2 threads
/// and 16 threads: 0 hangs.
#[test]
fn a_handler_waiting_for_another_channel_never_hangs() {
    for threads in [1, 2, 16] {
        let runtime = if threads == 1 {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
        } else {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(threads)
                .enable_all()
                .build()
        }
        .unwrap();
        runtime.block_on(cross_channel_waits(threads));
    }
}

async fn cross_channel_waits(threads: usize) {
    let Some(live) = live().await else { return };
    let client = live.client().await;
    let app = unique_app("cross");
    let app_in = app.clone();
    let (done_tx, mut done) = mpsc::unbounded_channel::<bool>();
    client.on_channel_event(move |a: Channel, e: StasisStart| {
        let (app, done_tx) = (app_in.clone(), done_tx.clone());
        async move {
            if e.args.first().map(String::as_str) != Some("a") {
                return Ok(()); // B itself
            }
            let b = a.client().pending_channel();
            let (tx, rx) = oneshot::channel();
            let tx = Mutex::new(Some(tx));
            b.on_event(move |_b: Channel, _e: StasisStart| {
                if let Some(tx) = tx.lock().unwrap().take() {
                    let _ = tx.send(());
                }
                async { Ok(()) }
            })?;
            let via_next = b.next::<StasisStart>();
            a.client()
                .channels()
                .originate_with_id(b.id(), "Local/answer@ari-test")
                .app(&app)
                .app_args("b")
                .await?;
            let handler = tokio::time::timeout(Duration::from_secs(10), rx)
                .await
                .is_ok();
            let next = via_next.timeout(Duration::from_secs(10)).await.is_ok();
            let _ = done_tx.send(handler && next);
            a.client().channels().hangup(b.id()).await?;
            a.hangup().await
        }
    });
    client.start([app.as_str()]).await.unwrap();
    let runs = 100;
    let t0 = Instant::now();
    let mut hangs = 0;
    for batch in 0..runs / 10 {
        for _ in 0..10 {
            client
                .channels()
                .originate("Local/answer@ari-test")
                .app(&app)
                .app_args("a")
                .await
                .unwrap();
        }
        for _ in 0..10 {
            let ok = tokio::time::timeout(Duration::from_secs(30), done.recv())
                .await
                .unwrap_or_else(|_| panic!("batch {batch}: a flow never finished"))
                .unwrap();
            hangs += usize::from(!ok);
        }
    }
    let stats = all_released(&client).await;
    eprintln!(
        "cross-channel waits, {threads} runtime thread(s): {runs} runs, {hangs} hangs, {:.1} s, {} handlers and {} waiters left, {} handler errors",
        t0.elapsed().as_secs_f64(),
        stats.object_handlers,
        stats.waiters,
        stats.handler_errors
    );
    assert_eq!(hangs, 0);
    assert_eq!(stats.handler_panics, 0);
    client.shutdown();
    client.wait().await.unwrap();
}

/// One channel's handler takes 1 s per event; the other 63 channels' events are handled
/// without waiting behind it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_handler_delays_only_its_own_channel() {
    let Some(live) = live().await else { return };
    let client = live.client().await;
    let app = unique_app("slow");
    let mut channels = Vec::new();
    for _ in 0..64 {
        let c = client.pending_channel();
        channels.push(c.id().to_owned());
    }
    client.start([app.as_str()]).await.unwrap();
    for id in &channels {
        client
            .channels()
            .originate_with_id(id, "Local/answer@ari-test")
            .app(&app)
            .await
            .unwrap();
    }
    let up: Vec<Channel> = {
        let mut up = Vec::new();
        for id in &channels {
            let c = client.channels().get(id).await.unwrap();
            up.push(
                c.wait_for_answer()
                    .timeout(Duration::from_secs(10))
                    .await
                    .unwrap(),
            );
        }
        up
    };
    let handled = Arc::new(AtomicUsize::new(0));
    let slow_id = channels[0].clone();
    let per_channel = 10;
    let fast = 63 * per_channel;
    // one round: every channel gets `per_channel` ChannelVarset events. Measured: the
    // fast channels' rate (their events over the round's time, printed), and the
    // tail, from the last REST call's answer to the last fast channel's event handled.
    // Asterisk has queued every event by the time it answers, so the tail is the
    // client's own delay; a fast channel that waited behind even one of the slow
    // handler's 1 s events would make it at least 1 s, whatever the machine's load.
    let round = |slow: bool| {
        let (up, handled, slow_id) = (up.clone(), handled.clone(), slow_id.clone());
        async move {
            handled.store(0, Ordering::SeqCst);
            let mut subs = Vec::new();
            for c in &up {
                let (h, is_slow, is_fast) =
                    (handled.clone(), slow && c.id == slow_id, c.id != slow_id);
                subs.push(
                    c.on_event(move |_c: Channel, _e: ChannelVarset| {
                        let h = h.clone();
                        async move {
                            if is_slow {
                                tokio::time::sleep(Duration::from_secs(1)).await;
                            } else if is_fast {
                                h.fetch_add(1, Ordering::SeqCst);
                            }
                            Ok(())
                        }
                    })
                    .unwrap(),
                );
            }
            let start = Instant::now();
            for i in 0..per_channel {
                let sets = up.iter().map(|c| {
                    let c = c.clone();
                    async move { c.set_channel_var("ARI_RS_ROUND").value(i.to_string()).await }
                });
                for r in futures_util::future::join_all(sets).await {
                    r.unwrap();
                }
            }
            let sent = Instant::now();
            eventually("the fast channels' events", Duration::from_secs(30), || {
                handled.load(Ordering::SeqCst) >= fast
            })
            .await;
            let tail = sent.elapsed();
            let rate = fast as f64 / start.elapsed().as_secs_f64();
            for s in subs {
                s.unsubscribe();
            }
            (tail, rate)
        }
    };
    let (mut alone, mut with_slow) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        alone.push(round(false).await);
        with_slow.push(round(true).await);
    }
    let median_rate = |rounds: &[(Duration, f64)]| {
        let mut rates: Vec<f64> = rounds.iter().map(|r| r.1).collect();
        rates.sort_by(f64::total_cmp);
        rates[rates.len() / 2]
    };
    let (rate_alone, rate_with_slow) = (median_rate(&alone), median_rate(&with_slow));
    let (alone, with_slow) = (
        alone.into_iter().map(|r| r.0).max().unwrap(),
        with_slow.into_iter().map(|r| r.0).max().unwrap(),
    );
    // the rate is bound by the REST calls that make the events, and by the machine's
    // load: printed, not asserted; the tail is the client's own delay
    eprintln!(
        "slow handler: 63 channels x {per_channel} events; longest tail after the last REST answer {alone:?} alone, {with_slow:?} beside a 1 s/event handler; median rate of the 63 {rate_alone:.0} events/s alone, {rate_with_slow:.0} beside it, ratio {:.2} (3 rounds each)",
        rate_with_slow / rate_alone
    );
    assert!(
        with_slow < Duration::from_secs(1),
        "a fast channel waited behind the slow handler: tail {with_slow:?}"
    );
    for c in &up {
        c.hangup().await.unwrap();
    }
    all_released(&client).await;
    client.shutdown();
    client.wait().await.unwrap();
}

/// Inside a channel's StasisStart handler: play and wait for the end, twice; record and
/// wait for the end. The playback's and recording's events are not stuck behind the
/// handler that waits for them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn play_and_record_then_await_the_end_inside_the_handler() {
    let Some(live) = live().await else { return };
    let client = live.client().await;
    let app = unique_app("await");
    let (tx, mut rx) = mpsc::unbounded_channel();
    client.on_channel_event(move |channel: Channel, _e: StasisStart| {
        let tx = tx.clone();
        async move {
            let t0 = Instant::now();
            channel.answer().await?;
            let first = channel.play("sound:hello-world").await?.finished().await?;
            let second = channel.play("sound:beep").await?.finished().await?;
            let name = format!("ari-rs-await-{}", channel.id);
            let recording = channel
                .record(&name, "wav")
                .max_duration_seconds(1)
                .if_exists(RecordIfExists::Overwrite)
                .await?;
            let recorded = recording.finished().await?;
            let _ = tx.send((t0.elapsed(), first, second, recorded));
            channel.hangup().await
        }
    });
    client.start([app.as_str()]).await.unwrap();
    client
        .channels()
        .originate("Local/tone@ari-test")
        .app(&app)
        .await
        .unwrap();
    let (took, first, second, recorded) = tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("the flow inside the handler completes")
        .unwrap();
    eprintln!("play, play, record in one handler: {took:?}");
    assert_eq!(first.playback.media_uri, "sound:hello-world");
    assert_eq!(second.playback.media_uri, "sound:beep");
    assert!(recorded.recording.duration.unwrap_or_default() >= 1);
    assert!(took >= Duration::from_millis(1400), "{took:?}");
    let stats = all_released(&client).await;
    assert_eq!(stats.handler_errors, 0);
    client.shutdown();
    client.wait().await.unwrap();
}

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

/// A digit pressed while the channel's own handler waits for it (`next` inside the
/// handler), and `drain` waits for what was received.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_awaits_its_own_channels_next_event() {
    let Some(live) = live().await else { return };
    let client = live.client().await;
    let app = unique_app("own");
    let (tx, mut rx) = mpsc::unbounded_channel();
    client.on_channel_event(move |channel: Channel, _e: StasisStart| {
        let tx = tx.clone();
        async move {
            let mut digits = String::new();
            let mut stream = channel.events::<ChannelDtmfReceived>();
            while digits.len() < 4 {
                match tokio::time::timeout(Duration::from_secs(10), stream.next()).await {
                    Ok(Some(d)) => digits.push_str(&d.digit),
                    _ => break,
                }
            }
            let _ = tx.send(digits);
            Ok(())
        }
    });
    client.start([app.as_str()]).await.unwrap();
    client
        .channels()
        .originate("Local/dtmf@ari-test")
        .app(&app)
        .await
        .unwrap();
    let digits = tokio::time::timeout(Duration::from_secs(15), rx.recv())
        .await
        .expect("the digits")
        .unwrap();
    assert_eq!(digits, "123#");
    client.drain().await;
    all_released(&client).await;
    client.shutdown();
    client.wait().await.unwrap();
}
