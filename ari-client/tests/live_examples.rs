//! The straight-line call-flow examples (`examples/ivr.rs`, `examples/dialer.rs`) run
//! against the real sandbox Asterisk (see tests/support/mod.rs): their flow functions are
//! compiled in here as they are.

// each example has its own `mod support;` (examples/support/mod.rs), so it is loaded twice
#![allow(clippy::duplicate_mod)]

mod support;

#[allow(dead_code)]
#[path = "../examples/ivr.rs"]
mod ivr;

#[allow(dead_code)]
#[path = "../examples/dialer.rs"]
mod dialer;

use std::time::{Duration, Instant};

use ari_client::events::StasisStart;
use ari_client::objects::Channel;
use ari_client::ErrorKind;
use support::{eventually, live, unique_app};
use tokio::sync::mpsc;

/// Runs the IVR menu on every call into a fresh app; each outcome goes to the channel.
async fn ivr_app(
    live: &support::Live,
    menu: ivr::Menu,
) -> (
    ari_client::Client,
    String,
    mpsc::UnboundedReceiver<ari_client::Result<ivr::Choice>>,
) {
    let client = live.client().await;
    let app = unique_app("ivr");
    let (tx, rx) = mpsc::unbounded_channel();
    let menu = std::sync::Arc::new(menu);
    client.on_channel_event(move |channel: Channel, _e: StasisStart| {
        let (tx, menu) = (tx.clone(), menu.clone());
        async move {
            let outcome = menu.run(&channel).await;
            let _ = tx.send(outcome);
            channel
                .hangup()
                .await
                .or_else(|e| if e.is_not_found() { Ok(()) } else { Err(e) })
        }
    });
    client.start([app.as_str()]).await.unwrap();
    (client, app, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ivr_waits_for_its_prompt_then_takes_the_digit() {
    let Some(live) = live().await else { return };
    let (client, app, mut outcomes) = ivr_app(&live, ivr::Menu::DEFAULT).await;
    let t0 = Instant::now();
    // the far side presses 1 2 3 # from ~3.5 s after answer
    client
        .channels()
        .originate("Local/dtmf-late@ari-test")
        .app(&app)
        .await
        .unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(20), outcomes.recv())
        .await
        .expect("the menu ends within 20 s")
        .unwrap();
    assert_eq!(outcome.unwrap(), ivr::Choice::Pressed("1".into()));
    // the 1.42 s prompt was played to its end before the digit came
    assert!(
        t0.elapsed() > Duration::from_millis(1400),
        "{:?}",
        t0.elapsed()
    );
    eventually("all released", Duration::from_secs(5), || {
        let s = client.stats();
        s.object_handlers == 0 && s.waiters == 0
    })
    .await;
    assert_eq!(client.stats().handler_errors, 0);
    client.shutdown();
    client.wait().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ivr_gives_up_after_its_tries_without_a_digit() {
    let Some(live) = live().await else { return };
    let menu = ivr::Menu {
        prompt: "sound:beep",
        digit_timeout: Duration::from_millis(700),
        tries: 2,
    };
    let (client, app, mut outcomes) = ivr_app(&live, menu).await;
    client
        .channels()
        .originate("Local/answer@ari-test")
        .app(&app)
        .await
        .unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(20), outcomes.recv())
        .await
        .expect("the menu ends within 20 s")
        .unwrap();
    assert_eq!(outcome.unwrap(), ivr::Choice::NoInput);
    client.shutdown();
    client.wait().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ivr_caller_hanging_up_mid_prompt_ends_the_wait() {
    let Some(live) = live().await else { return };
    let menu = ivr::Menu {
        prompt: "sound:tt-monkeys",
        digit_timeout: Duration::from_secs(5),
        tries: 1,
    };
    let (client, app, mut outcomes) = ivr_app(&live, menu).await;
    // the far side hangs up ~1 s after answer, while the 11 s prompt plays
    client
        .channels()
        .originate("Local/hangup@ari-test")
        .app(&app)
        .await
        .unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(10), outcomes.recv())
        .await
        .expect("a hangup ends the menu at once, not after the prompt")
        .unwrap();
    let err = outcome.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Failed | ErrorKind::Ended),
        "{err}"
    );
    client.shutdown();
    client.wait().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dialer_bridges_two_answered_legs() {
    let Some(live) = live().await else { return };
    let client = live.client().await;
    let app = unique_app("dialer");
    client.start([app.as_str()]).await.unwrap();
    let outcome = dialer::dial(
        &client,
        &app,
        "Local/answer@ari-test",
        "Local/echo@ari-test",
        Duration::from_secs(10),
    )
    .await
    .unwrap();
    let dialer::Outcome::Bridged {
        bridge,
        agent,
        customer,
    } = outcome
    else {
        panic!("not bridged: {outcome:?}");
    };
    let now = bridge.get().await.unwrap();
    let mut inside = now.channels.clone();
    inside.sort();
    let mut want = vec![agent.id.clone(), customer.id.clone()];
    want.sort();
    assert_eq!(inside, want);
    agent.hangup().await.unwrap();
    customer.hangup().await.unwrap();
    bridge.destroy().await.unwrap();
    client.shutdown();
    client.wait().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dialer_gives_up_on_a_busy_customer() {
    let Some(live) = live().await else { return };
    let client = live.client().await;
    let app = unique_app("dialer");
    client.start([app.as_str()]).await.unwrap();
    let outcome = dialer::dial(
        &client,
        &app,
        "Local/answer@ari-test",
        "Local/busy@ari-test",
        Duration::from_secs(10),
    )
    .await
    .unwrap();
    let dialer::Outcome::NotAnswered(why) = outcome else {
        panic!("bridged a busy customer");
    };
    assert_eq!(why.kind(), ErrorKind::Failed, "{why}");
    assert!(why.to_string().to_lowercase().contains("busy"), "{why}");
    eventually("all released", Duration::from_secs(5), || {
        let s = client.stats();
        s.object_handlers == 0 && s.waiters == 0
    })
    .await;
    client.shutdown();
    client.wait().await.unwrap();
}
