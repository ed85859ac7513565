//! Outbound websockets against the real Asterisk: the sandbox's `websocket_client.conf`
//! makes Asterisk connect to `127.0.0.1:$ARI_OUTBOUND_PORT` (persistent, application
//! `outbound-app`) and to the next port (one websocket per call entering
//! `Stasis(outbound-call)`), as `asterisk-out` / `outbound-secret`.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ari_client::api::OperationId;
use ari_client::events::{ApplicationRegistered, StasisEnd, StasisStart};
use ari_client::objects::Channel;
use ari_client::outbound::{Call, Calls, Listener};
use ari_client::{Client, ErrorKind};
use support::{live, Live};

const USER: &str = "asterisk-out";
const PASSWORD: &str = "outbound-secret";

fn outbound_port(live: &Live) -> u16 {
    support::outbound_port(&live.url)
}

/// Waits until the listener's client is connected and Asterisk said which application it
/// registered.
async fn connected(client: &Client) -> String {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let tx = Mutex::new(Some(tx));
    let sub = client.on_event(move |e: ApplicationRegistered| {
        if let Some(tx) = tx.lock().unwrap().take() {
            let _ = tx.send(e.application.clone());
        }
        async { Ok(()) }
    });
    tokio::time::timeout(Duration::from_secs(10), client.start(Vec::<String>::new()))
        .await
        .expect("Asterisk connects within 10 s")
        .unwrap();
    let app = tokio::time::timeout(Duration::from_secs(10), rx)
        .await
        .expect("ApplicationRegistered within 10 s")
        .unwrap();
    sub.unsubscribe();
    app
}

/// A listener made by `bind`, once its port is free: the previous test's listener goes
/// with that test's runtime, which is dropped after the test has released `PORTS`.
async fn when_free<F, Fut>(bind: F) -> Listener
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ari_client::Result<Listener>>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        match bind().await {
            Ok(listener) => return listener,
            Err(e) if std::time::Instant::now() < deadline && in_use(&e) => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("{e}"),
        }
    }
}

fn in_use(e: &ari_client::Error) -> bool {
    std::error::Error::source(e)
        .and_then(|s| s.downcast_ref::<std::io::Error>())
        .is_some_and(|io| io.kind() == std::io::ErrorKind::AddrInUse)
}

/// The sandbox's admin client, and the calls of a listener on the per-call port.
async fn per_call(live: &Live) -> (Client, Calls) {
    let addr = format!("127.0.0.1:{}", outbound_port(live) + 1);
    let calls = when_free(|| Listener::bind(&addr, USER, PASSWORD))
        .await
        .calls()
        .unwrap();
    (live.client().await, calls)
}

/// [`per_call`], and one call into it, taken.
async fn one_call(live: &Live) -> (Client, Calls, Call) {
    let (admin, mut calls) = per_call(live).await;
    admin
        .channels()
        .originate("Local/call@ari-outbound")
        .context("ari-test")
        .extension("answer")
        .await
        .unwrap();
    let call = next_call(&mut calls).await;
    (admin, calls, call)
}

/// The next call, within 15 s.
async fn next_call(calls: &mut Calls) -> Call {
    tokio::time::timeout(Duration::from_secs(15), calls.next())
        .await
        .expect("a call within 15 s")
        .unwrap()
        .unwrap()
}

/// Serialises the tests that listen on the sandbox's fixed outbound ports.
static PORTS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_persistent_connection_carries_a_call_and_comes_back_after_the_app_restarts() {
    let Some(live) = live().await else { return };
    let _ports = PORTS.lock().await;
    let admin = live.client().await;
    let addr = format!("127.0.0.1:{}", outbound_port(&live));
    for round in 0..2 {
        // round 1 is the application restarted: Asterisk connects again on its own
        let client = when_free(|| Listener::bind(&addr, USER, PASSWORD))
            .await
            .client()
            .unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        client.on_channel_event(move |channel: Channel, start: StasisStart| {
            let tx = tx.clone();
            async move {
                // REST over the websocket: the outbound client has no HTTP route
                let playback = channel.play("sound:beep").await?;
                playback.finished().await?;
                let vars = channel.get_channel_var("CHANNEL(state)").await?;
                channel.hangup().await?;
                let _ = tx.send((start.args.clone(), vars.value));
                Ok(())
            }
        });
        let app = connected(&client).await;
        assert_eq!(app, "outbound-app", "round {round}");
        // the server's declarations, read over the websocket once it is open
        support::eventually("the server's declarations", Duration::from_secs(10), || {
            client.server_api().is_some()
        })
        .await;
        let api = client.server_api().unwrap();
        assert!(api.supports(OperationId::ChannelPlay));
        assert!(!api.supports(OperationId::MailboxList));
        let pending = client.pending_channel();
        let ended = pending.next::<StasisEnd>();
        admin
            .channels()
            .originate_with_id(pending.id(), "Local/answer@ari-test")
            .app("outbound-app")
            .app_args(format!("round-{round}"))
            .await
            .unwrap();
        let (args, state) = tokio::time::timeout(Duration::from_secs(15), rx.recv())
            .await
            .expect("the call was handled within 15 s")
            .unwrap();
        assert_eq!(args, [format!("round-{round}")]);
        assert_eq!(state, "Up");
        ended.timeout(Duration::from_secs(10)).await.unwrap();
        client.shutdown();
        client.wait().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asterisk_is_refused_without_the_right_credentials() {
    let Some(live) = live().await else { return };
    let _ports = PORTS.lock().await;
    let addr = format!("127.0.0.1:{}", outbound_port(&live));
    let client = when_free(|| Listener::bind(&addr, USER, "not-the-password"))
        .await
        .client()
        .unwrap();
    // Asterisk tries every 200 ms; each try is answered 401, so start never completes
    let started =
        tokio::time::timeout(Duration::from_secs(2), client.start(Vec::<String>::new())).await;
    assert!(
        started.is_err(),
        "a connection with the wrong password was accepted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_call_connections_give_one_client_per_call() {
    let Some(live) = live().await else { return };
    let _ports = PORTS.lock().await;
    let (admin, mut calls) = per_call(&live).await;
    const CALLS: usize = 100;
    for n in 0..CALLS {
        admin
            .channels()
            .originate("Local/call@ari-outbound")
            .context("ari-test")
            .extension("answer")
            .caller_id(format!("10{n}"))
            .await
            .unwrap();
    }
    let done = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for _ in 0..CALLS {
        let call = next_call(&mut calls).await;
        let done = done.clone();
        tasks.push(tokio::spawn(async move {
            let start = call.start().expect("a new call has its StasisStart");
            let (application, args) = (start.application.clone(), start.args.clone());
            let channel = call.channel().clone();
            // the server's declarations, read once over the first call's websocket
            support::eventually("the server's declarations", Duration::from_secs(10), || {
                call.client().server_api().is_some()
            })
            .await;
            // the call's own client: its REST requests go over its own websocket
            channel.play("sound:beep").await?.finished().await?;
            let ended = channel.next::<StasisEnd>();
            channel.hangup().await?;
            ended.await?;
            call.finished().await?;
            done.lock()
                .unwrap()
                .push((application, args, channel.name.clone()));
            Ok::<_, ari_client::Error>(())
        }));
    }
    for task in tasks {
        tokio::time::timeout(Duration::from_secs(20), task)
            .await
            .expect("a call ends within 20 s")
            .unwrap()
            .unwrap();
    }
    let mut done = done.lock().unwrap().clone();
    done.sort();
    assert_eq!(done.len(), CALLS);
    let mut callers: Vec<_> = done.iter().map(|(_, args, _)| args.clone()).collect();
    callers.sort();
    let mut expected: Vec<_> = (0..CALLS).map(|n| vec![format!("10{n}")]).collect();
    expected.sort();
    assert_eq!(callers, expected);
    for (application, _, name) in &done {
        // Asterisk names each call's application after the channel
        assert_eq!(application, &format!("outbound-call:{name}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_whose_application_dies_goes_back_to_the_dialplan() {
    let Some(live) = live().await else { return };
    let _ports = PORTS.lock().await;
    let (admin, calls, call) = one_call(&live).await;
    let id = call.channel().id.clone();
    // the application dies mid-call: its listener and the call's websocket go away
    drop(calls);
    call.client().shutdown();
    call.finished().await.unwrap();
    // Asterisk tries to reconnect the call's websocket (reconnect_attempts = 3, every
    // 200 ms), fails, and continues the channel in the dialplan after Stasis(), which
    // hangs up (docs/ari-spec-notes.md §10)
    let started = std::time::Instant::now();
    let mut gone = false;
    while started.elapsed() < Duration::from_secs(10) {
        match admin.channels().get(&id).await {
            Err(e) if e.kind() == ErrorKind::NotFound => {
                gone = true;
                break;
            }
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    assert!(gone, "the channel {id} outlived its application by 10 s");
    eprintln!(
        "the channel ended {:?} after its application",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_whose_websocket_drops_is_resumed_on_the_next_one() {
    let Some(live) = live().await else { return };
    let _ports = PORTS.lock().await;
    let (admin, mut calls, call) = one_call(&live).await;
    assert!(!call.resumed());
    let id = call.channel().id.clone();
    // the call's websocket drops; the application (its listener) lives on
    call.client().shutdown();
    call.finished().await.unwrap();
    let started = std::time::Instant::now();
    let resumed = next_call(&mut calls).await;
    eprintln!(
        "resumed {:?} after the websocket dropped",
        started.elapsed()
    );
    assert!(resumed.resumed());
    assert!(resumed.start().is_none());
    assert_eq!(resumed.channel().id, id);
    // the resumed call is the application's again: REST and events over its new websocket
    let ended = resumed.channel().next::<StasisEnd>();
    resumed
        .channel()
        .play("sound:beep")
        .await
        .unwrap()
        .finished()
        .await
        .unwrap();
    resumed.channel().hangup().await.unwrap();
    ended.timeout(Duration::from_secs(10)).await.unwrap();
    resumed.finished().await.unwrap();
    let e = admin.channels().get(&id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asterisk_connects_over_tls() {
    let Some(live) = live().await else { return };
    let _ports = PORTS.lock().await;
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let (cert, key) = (certified.cert.pem(), certified.signing_key.serialize_pem());
    let addr = format!("127.0.0.1:{}", outbound_port(&live) + 2);
    let client =
        when_free(|| Listener::bind_tls(&addr, USER, PASSWORD, cert.as_bytes(), key.as_bytes()))
            .await
            .client()
            .unwrap();
    assert_eq!(connected(&client).await, "outbound-tls-app");
    // REST over the TLS websocket
    let info = client.asterisk().get_info().await.unwrap();
    assert!(info.system.is_some());
    client.shutdown();
    client.wait().await.unwrap();
}
