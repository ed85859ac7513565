//! Relays and app instances over a real nats-server (started by `nats/start.sh` on a free
//! loopback port), in front of the fake Asterisk: new calls spread over the instances, each
//! owned by one; what an instance creates (playbacks, bridges, originated legs) reaches it;
//! a dead instance loses only its calls; lost events are detected; hostile messages are
//! refused with typed errors.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ari_client::api::OperationId;
use ari_client::events::{ChannelDtmfReceived, StasisStart};
use ari_client::nats::{Instance, Relay};
use ari_client::objects::Channel;
use ari_client::testing::{Ending, FakeAsterisk, FakeChannel};
use ari_client::{Client, ConnectionState, ErrorKind, ObjectKind};
use futures_util::StreamExt as _;
use support::nats::{FreezingProxy, NatsServer};

const APP: &str = "hello";

/// Bounds a wait in a test.
async fn within<T>(what: &str, f: impl std::future::IntoFuture<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(15), f)
        .await
        .unwrap_or_else(|_| panic!("{what}: not within 15 s"))
}

async fn relay(nats: &NatsServer, fake: &FakeAsterisk, node: &str) -> Relay {
    let (user, password) = fake.credentials();
    Relay::builder(
        nats.connect(&format!("relay {node}")).await,
        node,
        Client::builder(fake.url(), user, password),
        [APP],
    )
    .instance_timeout(Duration::from_millis(600))
    .start()
    .await
    .expect("the relay starts")
}

async fn instance(nats: &NatsServer, id: &str) -> Instance {
    Instance::builder(nats.connect(id).await)
        .id(id)
        .build()
        .unwrap()
}

/// Who handled which channel: `(instance, channel id)`.
type Log = Arc<Mutex<Vec<(String, String)>>>;

/// A client of `node` on `instance` whose calls are answered, played a prompt to its end
/// and hung up; each StasisStart is logged with the instance's id.
async fn answering(instance: &Instance, node: &str, log: &Log) -> Client {
    let client = instance.connect(node).await.expect("the relay answers");
    let (log, me) = (log.clone(), instance.id().to_owned());
    client.on_channel_event(move |channel: Channel, start: StasisStart| {
        let (log, me) = (log.clone(), me.clone());
        async move {
            log.lock().unwrap().push((me, channel.id.clone()));
            if start.args.first().map(String::as_str) == Some("leg") {
                return Ok(());
            }
            channel.answer().await?;
            channel.play("sound:hello").await?.finished().await?;
            channel.hangup().await
        }
    });
    client.start([APP]).await.expect("the client starts");
    client
}

/// With `old` shut down, a new call goes to a fresh instance (`i2`), which handles it.
async fn a_fresh_instance_takes_a_call(nats: &NatsServer, fake: &FakeAsterisk, old: Client) {
    let log: Log = Arc::default();
    let fresh = instance(nats, "i2").await;
    let _client = answering(&fresh, "pbx-a", &log).await;
    old.shutdown();
    old.wait().await.unwrap();
    let call = within("a call in", fake.call_in("7001")).await.unwrap();
    assert_eq!(
        within("it ends", call.ended()).await,
        Ending::HungUpByApp { cause: 16 }
    );
    assert_eq!(
        *log.lock().unwrap(),
        [("i2".to_owned(), call.id().to_owned())]
    );
}

/// A client of a node whose calls are answered and then wait for one digit (30 s at most):
/// each handler reports that it waits, then the digit or the error that ended the wait,
/// and hangs up after a digit.
struct DigitWaiter {
    client: Client,
    waiting: tokio::sync::mpsc::UnboundedReceiver<()>,
    digits: tokio::sync::mpsc::UnboundedReceiver<Result<String, ErrorKind>>,
}

async fn waiting_for_a_digit(client: Client) -> DigitWaiter {
    let (waits, waiting) = tokio::sync::mpsc::unbounded_channel();
    let (ends, digits) = tokio::sync::mpsc::unbounded_channel();
    client.on_channel_event(move |channel: Channel, _: StasisStart| {
        let (waits, ends) = (waits.clone(), ends.clone());
        async move {
            channel.answer().await?;
            let _ = waits.send(());
            let digit = channel
                .next::<ChannelDtmfReceived>()
                .timeout(Duration::from_secs(30))
                .await;
            let _ = ends.send(
                digit
                    .as_ref()
                    .map(|d| d.digit.clone())
                    .map_err(|e| e.kind()),
            );
            digit?;
            channel.hangup().await
        }
    });
    client.start([APP]).await.unwrap();
    DigitWaiter {
        client,
        waiting,
        digits,
    }
}

impl DigitWaiter {
    /// A call in, once its handler waits for the digit.
    async fn call_in(&mut self, fake: &FakeAsterisk, exten: &str) -> FakeChannel {
        let call = within("call in", fake.call_in(exten)).await.unwrap();
        within("the handler waits for a digit", self.waiting.recv()).await;
        // its waiter is registered right after it said so
        tokio::time::sleep(Duration::from_millis(100)).await;
        call
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_spread_over_instances_and_each_has_one_owner() {
    let Some(nats) = NatsServer::start() else {
        return;
    };
    let fake = FakeAsterisk::start().await.unwrap();
    let relay = relay(&nats, &fake, "pbx-a").await;
    let log: Log = Arc::default();
    let (i1, i2) = (instance(&nats, "i1").await, instance(&nats, "i2").await);
    let _c1 = answering(&i1, "pbx-a", &log).await;
    let _c2 = answering(&i2, "pbx-a", &log).await;
    let mut calls = Vec::new();
    for n in 0..20 {
        calls.push(
            within("call in", fake.call_in("7000").caller(&format!("10{n:02}")))
                .await
                .unwrap(),
        );
    }
    for call in &calls {
        assert_eq!(
            within("the call ends", call.ended()).await,
            Ending::HungUpByApp { cause: 16 }
        );
        assert_eq!(call.played(), ["sound:hello"]);
    }
    let log = log.lock().unwrap().clone();
    let mut owners: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (instance, channel) in &log {
        owners
            .entry(channel.clone())
            .or_default()
            .insert(instance.clone());
    }
    assert_eq!(owners.len(), 20, "every call reached an instance: {log:?}");
    assert!(
        owners.values().all(|o| o.len() == 1) && log.len() == 20,
        "each call was handled once, by one instance: {log:?}"
    );
    let per: BTreeSet<&String> = log.iter().map(|(i, _)| i).collect();
    assert_eq!(per.len(), 2, "both instances took calls: {log:?}");
    let stats = relay.stats();
    assert_eq!(stats.calls_assigned, 20, "{stats:?}");
    assert_eq!(stats.calls_unassigned, 0, "{stats:?}");
    assert_eq!(
        i1.stats().calls_taken + i2.stats().calls_taken,
        20,
        "{:?} {:?}",
        i1.stats(),
        i2.stats()
    );
    assert_eq!(i1.stats().gaps + i2.stats().gaps, 0);
    // every channel ended: the table is empty again (nothing leaks)
    within("the table empties", async {
        while relay.stats().owned > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    relay.shutdown();
    relay.wait().await.unwrap();
}

/// A call's handler creates a bridge (the relay names it), originates a leg into the app
/// (the relay names its channel) and bridges both: the leg's StasisStart and the bridge's
/// events reach the instance that created them, not the queue group.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_an_instance_creates_reaches_it() {
    let Some(nats) = NatsServer::start() else {
        return;
    };
    let fake = FakeAsterisk::start().await.unwrap();
    let relay = relay(&nats, &fake, "pbx-a").await;
    let log: Log = Arc::default();
    let (i1, i2) = (instance(&nats, "i1").await, instance(&nats, "i2").await);
    let results = Arc::new(Mutex::new(Vec::new()));
    for inst in [&i1, &i2] {
        let client = inst.connect("pbx-a").await.unwrap();
        let (log, me, results) = (log.clone(), inst.id().to_owned(), results.clone());
        let node = client.clone();
        client.on_channel_event(move |channel: Channel, start: StasisStart| {
            let (log, me, results, node) = (log.clone(), me.clone(), results.clone(), node.clone());
            async move {
                log.lock().unwrap().push((me.clone(), channel.id.clone()));
                if start.args.first().map(String::as_str) == Some("leg") {
                    return Ok(());
                }
                let flow = async {
                    channel.answer().await?;
                    let leg = node
                        .channels()
                        .originate("PJSIP/agent")
                        .app(APP)
                        .app_args("leg")
                        .await?;
                    let leg = leg
                        .wait_for_answer()
                        .timeout(Duration::from_secs(10))
                        .await?;
                    let bridge = node.bridges().create().kind("mixing").await?;
                    let entered = bridge.next::<ari_client::events::ChannelEnteredBridge>();
                    bridge
                        .add_channel([channel.id.clone(), leg.id.clone()])
                        .await?;
                    entered.timeout(Duration::from_secs(10)).await?;
                    bridge.play("sound:beep").await?.finished().await?;
                    leg.hangup().await?;
                    bridge.destroy().await?;
                    channel.hangup().await?;
                    Ok::<_, ari_client::Error>((leg.id.clone(), bridge.id.clone()))
                }
                .await;
                results
                    .lock()
                    .unwrap()
                    .push((me, flow.map_err(|e| e.to_string())));
                Ok(())
            }
        });
        client.start([APP]).await.unwrap();
        std::mem::forget(client);
    }
    let mut calls = Vec::new();
    for _ in 0..6 {
        calls.push(within("call in", fake.call_in("7000")).await.unwrap());
    }
    for call in &calls {
        assert_eq!(
            within("the call ends", call.ended()).await,
            Ending::HungUpByApp { cause: 16 }
        );
    }
    within("every flow reported", async {
        while results.lock().unwrap().len() < 6 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let results = results.lock().unwrap().clone();
    let log = log.lock().unwrap().clone();
    for (owner, result) in &results {
        let (leg, bridge) = result.as_ref().unwrap_or_else(|e| panic!("{owner}: {e}"));
        assert!(leg.starts_with("relay-"), "the relay named the leg: {leg}");
        assert!(
            bridge.starts_with("relay-"),
            "the relay named the bridge: {bridge}"
        );
        let leg_owner: Vec<&String> = log
            .iter()
            .filter(|(_, c)| c == leg)
            .map(|(i, _)| i)
            .collect();
        assert_eq!(
            leg_owner,
            [owner],
            "the leg's StasisStart reached its creator"
        );
    }
    let stats = relay.stats();
    assert_eq!(
        stats.calls_assigned, 6,
        "the legs were no new calls: {stats:?}"
    );
    relay.shutdown();
    relay.wait().await.unwrap();
}

/// An instance that stops sending heartbeats is held dead: the relay hangs up the calls it
/// owned; the other instance's calls go on and it takes the new ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_instance_loses_only_its_calls() {
    let Some(nats) = NatsServer::start() else {
        return;
    };
    let fake = FakeAsterisk::start().await.unwrap();
    let relay = relay(&nats, &fake, "pbx-a").await;
    let log: Log = Arc::default();
    let (i1, i2) = (instance(&nats, "i1").await, instance(&nats, "i2").await);
    for inst in [&i1, &i2] {
        let client = inst.connect("pbx-a").await.unwrap();
        let (log, me) = (log.clone(), inst.id().to_owned());
        client.on_channel_event(move |channel: Channel, _: StasisStart| {
            let (log, me) = (log.clone(), me.clone());
            async move {
                log.lock().unwrap().push((me, channel.id.clone()));
                channel.answer().await?;
                // a digit, then the end
                channel.next::<ChannelDtmfReceived>().await?;
                channel.hangup().await
            }
        });
        client.start([APP]).await.unwrap();
        std::mem::forget(client);
    }
    let mut calls = Vec::new();
    for _ in 0..12 {
        calls.push(within("call in", fake.call_in("7000")).await.unwrap());
    }
    within("every call answered", async {
        while !calls.iter().all(|c| c.answered()) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let owner_of = |id: &str| {
        log.lock()
            .unwrap()
            .iter()
            .find(|(_, c)| c == id)
            .map(|(i, _)| i.clone())
            .expect("owned")
    };
    let (of_1, of_2): (Vec<_>, Vec<_>) = calls.iter().partition(|c| owner_of(c.id()) == "i1");
    assert!(!of_1.is_empty() && !of_2.is_empty(), "both took calls");
    assert_eq!(
        relay
            .owner(ObjectKind::Channel, of_1[0].id())
            .await
            .as_deref(),
        Some("i1")
    );
    // i1 dies: no heartbeats, no new calls
    i1.shutdown();
    for call in &of_1 {
        // hung up by the relay (DELETE /channels/{id})
        assert_eq!(
            within("i1's calls end", call.ended()).await,
            Ending::HungUpByApp { cause: 16 }
        );
    }
    assert!(
        of_2.iter().all(|c| c.ending().is_none()),
        "i2's calls go on"
    );
    for call in &of_2 {
        call.press("5");
    }
    for call in &of_2 {
        assert_eq!(
            within("i2's calls end", call.ended()).await,
            Ending::HungUpByApp { cause: 16 }
        );
    }
    // a new call goes to i2
    let late = within("call in", fake.call_in("7000")).await.unwrap();
    within("answered", async {
        while !late.answered() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert_eq!(owner_of(late.id()), "i2");
    late.press("1");
    within("the late call ends", late.ended()).await;
    let stats = relay.stats();
    assert_eq!(stats.instances_dead, 1, "{stats:?}");
    assert_eq!(stats.orphans_ended, of_1.len() as u64, "{stats:?}");
    relay.shutdown();
    relay.wait().await.unwrap();
}

/// REST errors cross NATS typed; hostile requests and garbage on the subjects are refused
/// or counted, and nothing stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_typed_and_garbage_is_refused() {
    let Some(nats) = NatsServer::start() else {
        return;
    };
    let fake = FakeAsterisk::start().await.unwrap();
    let relay = relay(&nats, &fake, "pbx.a").await;
    let inst = instance(&nats, "i1").await;
    let client = inst.connect("pbx.a").await.unwrap();
    client.start([APP]).await.unwrap();
    let e = client.channels().get("no-such-channel").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert_eq!(e.http_status(), Some(404));
    // a node nobody relays
    let orphan = inst.client("pbx-nobody").unwrap();
    let e = orphan.asterisk().ping().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connect, "{e}");
    let e = orphan.start([APP]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connect, "{e}");

    // hostile requests on the REST subject
    let raw = nats.connect("hostile").await;
    let subject = "ari.pbx~2Ea.rest";
    let ask = |headers: Vec<(&'static str, String)>| {
        let raw = raw.clone();
        async move {
            let mut h = async_nats::HeaderMap::new();
            for (k, v) in headers {
                h.insert(k, v);
            }
            raw.request_with_headers(subject, h, "x".into())
                .await
                .unwrap()
        }
    };
    let error_of = |m: &async_nats::Message| {
        m.headers
            .as_ref()
            .and_then(|h| h.get("Ari-Error"))
            .map(|v| v.as_str().to_owned())
    };
    let cases = [
        vec![],
        vec![("Ari-Instance", "i1".into())],
        vec![("Ari-Instance", "i 1".into()), ("Ari-Op-Index", "0".into())],
        vec![
            ("Ari-Instance", "i1".into()),
            ("Ari-Op-Index", "9999".into()),
            ("Ari-Op", "channels.hangup".into()),
        ],
        // an operation with another operation's path
        vec![
            ("Ari-Instance", "i1".into()),
            (
                "Ari-Op-Index",
                (ari_client::api::OperationId::ALL
                    .iter()
                    .position(|o| format!("{o:?}") == "ChannelList")
                    .unwrap())
                .to_string(),
            ),
            ("Ari-Op", "channels.list".into()),
            ("Ari-Path", "/bridges/victim".into()),
        ],
        vec![
            ("Ari-Instance", "i1".into()),
            ("Ari-Op-Index", "65535".into()),
            ("Ari-Op", "api-docs".into()),
            ("Ari-Path", "/api-docs/../../etc/passwd".into()),
        ],
    ];
    for case in cases {
        let answer = ask(case.clone()).await;
        assert_eq!(
            error_of(&answer).as_deref(),
            Some("InvalidArgument"),
            "{case:?}: {:?}",
            String::from_utf8_lossy(&answer.payload)
        );
    }
    assert!(relay.stats().rest_refused >= 6, "{:?}", relay.stats());
    // garbage where events and new calls come from
    raw.publish("ari.pbx~2Ea.to.i1", vec![0xff, 0xfe].into())
        .await
        .unwrap();
    let mut h = async_nats::HeaderMap::new();
    h.insert("Ari-Epoch", relay.epoch());
    h.insert("Ari-Seq", "1");
    raw.publish_with_headers("ari.pbx~2Ea.to.i1", h, vec![0xff].into())
        .await
        .unwrap();
    raw.flush().await.unwrap();
    within("the garbage is counted", async {
        while inst.stats().garbage < 2 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    // hostile ids reach their owner through escaped subjects
    let id = "a.b c*>~";
    let channel = client
        .channels()
        .originate("PJSIP/agent")
        .app(APP)
        .channel_id(id)
        .await
        .unwrap();
    assert_eq!(channel.id, id);
    let answered = channel
        .wait_for_answer()
        .timeout(Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(answered.id, id);
    assert_eq!(
        relay.owner(ObjectKind::Channel, id).await.as_deref(),
        Some("i1")
    );
    channel.hangup().await.unwrap();
    assert!(client.asterisk().ping().await.is_ok());
    relay.shutdown();
    relay.wait().await.unwrap();
}

async fn resynced(states: &mut ari_client::StateChanges) {
    loop {
        match states.next().await {
            Some(ConnectionState::Resynced { .. }) => return,
            Some(_) => {}
            None => panic!("the client went away"),
        }
    }
}

/// A gap in the sequence numbers (an event lost between relay and instance) is counted and
/// the node is resynced; the relay's lost ARI connection reaches the instance's client as a
/// disconnection, its return as a resync.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losses_are_detected_and_resynced() {
    let Some(nats) = NatsServer::start() else {
        return;
    };
    let fake = FakeAsterisk::start().await.unwrap();
    let relay = relay(&nats, &fake, "pbx-a").await;
    let inst = instance(&nats, "i1").await;
    let client = inst.connect("pbx-a").await.unwrap();
    let mut states = client.state_changes();
    client.start([APP]).await.unwrap();
    let raw = nats.connect("lossy").await;
    let mut h = async_nats::HeaderMap::new();
    h.insert("Ari-Epoch", relay.epoch());
    h.insert("Ari-Seq", "5");
    raw.publish_with_headers(
        "ari.pbx-a.to.i1",
        h,
        r#"{"type":"ChannelVarset","variable":"x","value":"1","application":"hello"}"#.into(),
    )
    .await
    .unwrap();
    within("resynced after the gap", resynced(&mut states)).await;
    let stats = inst.stats();
    assert_eq!((stats.gaps, stats.missed), (1, 4), "{stats:?}");
    // the relay loses Asterisk's websocket and comes back
    fake.drop_websockets();
    within(
        "resynced after the relay's reconnect",
        resynced(&mut states),
    )
    .await;
    assert!(inst.stats().interruptions >= 2, "{:?}", inst.stats());
    // and calls still work
    a_fresh_instance_takes_a_call(&nats, &fake, client).await;
    relay.shutdown();
    relay.wait().await.unwrap();
}

/// The relay restarts while a call waits for a digit: the instance sees the new epoch,
/// claims the channel it tracks (it has a waiter), and the call's later events reach it
/// again through the new relay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_relay_gets_back_what_instances_claim() {
    let Some(nats) = NatsServer::start() else {
        return;
    };
    let fake = FakeAsterisk::start().await.unwrap();
    let first = relay(&nats, &fake, "pbx-a").await;
    let inst = instance(&nats, "i1").await;
    let mut waiter = waiting_for_a_digit(inst.connect("pbx-a").await.unwrap()).await;
    let call = waiter.call_in(&fake, "7000").await;
    first.shutdown();
    first.wait().await.unwrap();
    let second = relay(&nats, &fake, "pbx-a").await;
    assert_ne!(first.epoch(), second.epoch());
    // (the resync that follows reports only once the handler, which waits on the
    // channel's lane, is done)
    within("the claim was taken", async {
        while second.owner(ObjectKind::Channel, call.id()).await.is_none() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert_eq!(
        second
            .owner(ObjectKind::Channel, call.id())
            .await
            .as_deref(),
        Some("i1")
    );
    call.press("7");
    assert_eq!(
        within("the digit reaches the handler", waiter.digits.recv()).await,
        Some(Ok("7".to_owned()))
    );
    assert_eq!(
        within("the call ends", call.ended()).await,
        Ending::HungUpByApp { cause: 16 }
    );
    assert!(inst.stats().interruptions >= 1, "{:?}", inst.stats());
    second.shutdown();
    second.wait().await.unwrap();
}

/// The NATS server is killed (SIGKILL) while a call waits for a digit and started again on
/// its port 3 s later, five times the relay's instance timeout: the relay, which heard no
/// heartbeat meanwhile, hangs up nothing and holds no instance dead; a digit pressed during
/// the outage reaches the handler after it or is lost with a trace (the instance's gap and
/// resync), and the next digit reaches it then; a new call works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nats_outage_hangs_up_no_call() {
    let Some(mut nats) = NatsServer::start() else {
        return;
    };
    let fake = FakeAsterisk::start().await.unwrap();
    let relay = relay(&nats, &fake, "pbx-a").await;
    let inst = instance(&nats, "i1").await;
    let mut waiter = waiting_for_a_digit(inst.connect("pbx-a").await.unwrap()).await;
    let call = waiter.call_in(&fake, "7000").await;

    nats.kill();
    tokio::time::sleep(Duration::from_millis(300)).await;
    call.press("1");
    tokio::time::sleep(Duration::from_millis(2_700)).await;
    assert!(
        call.state().is_some(),
        "the call was hung up during the outage"
    );
    nats.restart();

    let got = within("a digit reaches the handler after the outage", async {
        loop {
            if let Ok(digit) = waiter.digits.try_recv() {
                return digit;
            }
            if call.state().is_some() {
                call.press("7");
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    })
    .await
    .expect("a digit, not an error");
    assert_eq!(
        within("the call ends", call.ended()).await,
        Ending::HungUpByApp { cause: 16 }
    );
    let (relayed, seen) = (relay.stats(), inst.stats());
    eprintln!("outage: digits {got:?}, relay {relayed:?}, instance {seen:?}");
    assert_eq!(relayed.instances_dead, 0, "{relayed:?}");
    assert_eq!(relayed.orphans_ended, 0, "{relayed:?}");
    match got.as_str() {
        "1" => {}
        // the outage's digit was lost (published into the dead connection, or dropped by
        // the relay): the instance saw the gap in the sequence numbers, and resynced
        "7" => assert!(seen.gaps >= 1 && seen.missed >= 1, "{seen:?}"),
        other => panic!("digit {other:?}"),
    }

    // and a new call is taken and handled
    a_fresh_instance_takes_a_call(&nats, &fake, waiter.client).await;
    relay.shutdown();
    relay.wait().await.unwrap();
}

/// An instance that goes silent (its NATS connection frozen, as a hung process or a
/// partition looks) is held dead by the relay, which hangs up its call; when it is heard
/// again the relay tells it so, and the handler waiting on that call ends with
/// `ErrorKind::Ended` instead of waiting on a call that is gone. The instance then takes
/// new calls as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_held_dead_learns_it_when_heard_again() {
    held_dead(false).await;
}

/// The same, with the relay's hang-up refused by Asterisk: the call lingers, unowned (the
/// relay logs that it could not end it), and is still listed when the instance resyncs;
/// the instance ends its handler all the same, from the relay's notice of what it took.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_held_dead_ends_its_handlers_even_for_a_call_that_lingers() {
    held_dead(true).await;
}

async fn held_dead(hangup_refused: bool) {
    let Some(nats) = NatsServer::start() else {
        return;
    };
    let fake = FakeAsterisk::start().await.unwrap();
    let relay = relay(&nats, &fake, "pbx-a").await;
    let proxy = FreezingProxy::start(&nats).await;
    let inst = Instance::builder(proxy.connect("i1").await)
        .id("i1")
        .build()
        .unwrap();
    let mut waiter = waiting_for_a_digit(inst.connect("pbx-a").await.unwrap()).await;
    let call = waiter.call_in(&fake, "7000").await;

    if hangup_refused {
        fake.fail(OperationId::ChannelHangup, 500, 1);
    }
    proxy.freeze(true);
    // the relay's instance timeout is 600 ms
    within("the silent instance held dead", async {
        while relay.stats().instances_dead < 1 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    if hangup_refused {
        // the relay's hang-up was answered 500
        within("the relay's hang-up", async {
            while fake.requests_for(OperationId::ChannelHangup).is_empty() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        assert!(call.ending().is_none(), "the call lingers");
    } else {
        assert_eq!(
            within("the silent instance's call is hung up", call.ended()).await,
            Ending::HungUpByApp { cause: 16 }
        );
    }
    proxy.freeze(false);
    assert_eq!(
        within("the handler's wait ends", waiter.digits.recv()).await,
        Some(Err(ErrorKind::Ended))
    );
    assert!(inst.stats().interruptions >= 1, "{:?}", inst.stats());
    if hangup_refused {
        call.hangup();
        within("the lingering call ends", call.ended()).await;
    }

    // it takes calls again
    let call = waiter.call_in(&fake, "7001").await;
    call.press("4");
    assert_eq!(
        within("the handler gets the digit", waiter.digits.recv()).await,
        Some(Ok("4".to_owned()))
    );
    assert_eq!(
        within("the call ends", call.ended()).await,
        Ending::HungUpByApp { cause: 16 }
    );
    relay.shutdown();
    relay.wait().await.unwrap();
}

/// A graceful stop: after `stop_taking_calls` new calls go to the other instance while the
/// stopping one's calls go on past the relay's instance timeout (its heartbeats continue);
/// after its `shutdown` the relay ends the call it still had.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_that_stops_taking_calls_keeps_its_calls() {
    let Some(nats) = NatsServer::start() else {
        return;
    };
    let fake = FakeAsterisk::start().await.unwrap();
    let relay = relay(&nats, &fake, "pbx-a").await;
    let log: Log = Arc::default();
    let waiting = |inst: &Instance| {
        let (log, me) = (log.clone(), inst.id().to_owned());
        move |channel: Channel, _: StasisStart| {
            let (log, me) = (log.clone(), me.clone());
            async move {
                log.lock().unwrap().push((me, channel.id.clone()));
                channel.answer().await?;
                channel.next::<ChannelDtmfReceived>().await?;
                channel.hangup().await
            }
        }
    };
    let answered = |call: &ari_client::testing::FakeChannel| {
        let call = call.clone();
        within("answered", async move {
            while !call.answered() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let owner_of = |id: &str| {
        log.lock()
            .unwrap()
            .iter()
            .find(|(_, c)| c == id)
            .map(|(i, _)| i.clone())
    };
    // i1 alone takes two calls
    let i1 = instance(&nats, "i1").await;
    let c1 = i1.connect("pbx-a").await.unwrap();
    c1.on_channel_event(waiting(&i1));
    c1.start([APP]).await.unwrap();
    let mut kept = Vec::new();
    for _ in 0..2 {
        let call = within("call in", fake.call_in("7000")).await.unwrap();
        answered(&call).await;
        kept.push(call);
    }
    // i2 comes, i1 stops taking calls: the next ones go to i2
    let i2 = instance(&nats, "i2").await;
    let c2 = i2.connect("pbx-a").await.unwrap();
    c2.on_channel_event(waiting(&i2));
    c2.start([APP]).await.unwrap();
    i1.stop_taking_calls();
    let mut later = Vec::new();
    for _ in 0..4 {
        let call = within("call in", fake.call_in("7000")).await.unwrap();
        answered(&call).await;
        later.push(call);
    }
    for call in &kept {
        assert_eq!(owner_of(call.id()).as_deref(), Some("i1"));
    }
    for call in &later {
        assert_eq!(
            owner_of(call.id()).as_deref(),
            Some("i2"),
            "a call after the stop"
        );
    }
    // past the relay's instance timeout (600 ms), i1's calls are up and still its own
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert!(
        kept.iter().all(|c| c.ending().is_none()),
        "i1's calls go on"
    );
    kept[0].press("1");
    assert_eq!(
        within("i1 ends its call", kept[0].ended()).await,
        Ending::HungUpByApp { cause: 16 }
    );
    for call in &later {
        call.press("2");
        assert_eq!(
            within("i2 ends its call", call.ended()).await,
            Ending::HungUpByApp { cause: 16 }
        );
    }
    // i1 shuts down with a call up: the relay ends it
    i1.shutdown();
    assert_eq!(
        within("the relay ends what i1 left", kept[1].ended()).await,
        Ending::HungUpByApp { cause: 16 }
    );
    // (counted once the hang-up's answer is back)
    within("the orphan counted", async {
        while relay.stats().orphans_ended < 1 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let stats = relay.stats();
    assert_eq!(
        (stats.instances_dead, stats.orphans_ended),
        (1, 1),
        "{stats:?}"
    );
    c2.shutdown();
    c2.wait().await.unwrap();
    relay.shutdown();
    relay.wait().await.unwrap();
}

/// A new call has one owner even when the instance it was offered to answers late (its
/// NATS connection frozen past the relay's 1 s wait, as a busy or cut-off instance): the
/// relay offers it again, another instance takes it, and the late one, when it answers at
/// last, does not handle it too.
///
/// The queue group picks one of its members at random for each offer. Three prompt
/// instances beside the late one keep the test's outcome from hanging on that draw: a call
/// is given up (hung up, by design) when ten offers in a row, one second each, go to the
/// late instance, which is 2⁻¹⁰ a call with one prompt instance and 4⁻¹⁰ with three;
/// and 40 calls make it all but certain (1 − (3/4)⁴⁰) that some call is offered to the
/// late one at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_offered_to_a_late_instance_has_one_owner() {
    let Some(nats) = NatsServer::start() else {
        return;
    };
    let fake = FakeAsterisk::start().await.unwrap();
    let relay = relay(&nats, &fake, "pbx-a").await;
    let proxy = FreezingProxy::start(&nats).await;
    let log: Log = Arc::default();
    let late_nats = proxy.connect("late").await;
    let late = Instance::builder(late_nats.clone())
        .id("late")
        .build()
        .unwrap();
    let _c1 = answering(&late, "pbx-a", &log).await;
    let mut prompt = Vec::new();
    for id in ["prompt-1", "prompt-2", "prompt-3"] {
        let instance = instance(&nats, id).await;
        let client = answering(&instance, "pbx-a", &log).await;
        prompt.push((instance, client));
    }
    // the server has `late`'s subscriptions: a message of its own made the round trip
    // after them
    let inbox = late_nats.new_inbox();
    let mut echo = late_nats.subscribe(inbox.clone()).await.unwrap();
    late_nats.publish(inbox, "".into()).await.unwrap();
    within("late's round trip", echo.next()).await;

    proxy.freeze(true);
    let mut calls = Vec::new();
    for _ in 0..40 {
        calls.push(within("call in", fake.call_in("7000")).await.unwrap());
    }
    // every call is offered until a prompt instance has it (1 s per offer to `late`)
    within("every call taken", async {
        while log.lock().unwrap().len() < calls.len() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    proxy.freeze(false);
    for call in &calls {
        within("the call ends", call.ended()).await;
    }
    // what the late instance answers now, it answers to nobody
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let log = log.lock().unwrap().clone();
    let repeated = relay.stats().asks_repeated;
    eprintln!("late instance: {repeated} offers repeated; handled: {log:?}");
    assert!(repeated >= 1, "no call was offered to the frozen instance");
    let mut handled = BTreeMap::<String, Vec<String>>::new();
    for (instance, channel) in log {
        handled.entry(channel).or_default().push(instance);
    }
    for (channel, by) in &handled {
        let once_by_a_prompt_one = matches!(&by[..], [one] if one.starts_with("prompt-"));
        assert!(once_by_a_prompt_one, "channel {channel} handled by {by:?}");
    }
    assert_eq!(handled.len(), calls.len());
    relay.shutdown();
    relay.wait().await.unwrap();
}

/// The relay's own NATS connection freezes for 2.5 s (a paused process or VM, a partition
/// on its side) while a call waits for a digit: it heard no heartbeat meanwhile, yet it
/// holds no instance dead and hangs up nothing; the call goes on after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_relay_hangs_up_no_call() {
    let Some(nats) = NatsServer::start() else {
        return;
    };
    let fake = FakeAsterisk::start().await.unwrap();
    let proxy = FreezingProxy::start(&nats).await;
    let (user, password) = fake.credentials();
    let relay = Relay::builder(
        proxy.connect("relay pbx-a").await,
        "pbx-a",
        Client::builder(fake.url(), user, password),
        [APP],
    )
    .instance_timeout(Duration::from_millis(600))
    .start()
    .await
    .expect("the relay starts");
    let inst = instance(&nats, "i1").await;
    let mut waiter = waiting_for_a_digit(inst.connect("pbx-a").await.unwrap()).await;
    let call = waiter.call_in(&fake, "7000").await;

    proxy.freeze(true);
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert!(
        call.ending().is_none(),
        "the call was hung up while the relay was frozen: {:?} {:?}",
        call.ending(),
        relay.stats()
    );
    proxy.freeze(false);
    // the relay hears the instance again before it judges anyone
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert!(
        call.ending().is_none(),
        "the call was hung up after the relay thawed"
    );
    assert_eq!(relay.stats().instances_dead, 0, "{:?}", relay.stats());
    call.press("7");
    assert_eq!(
        within("the digit reaches the handler", waiter.digits.recv()).await,
        Some(Ok("7".to_owned()))
    );
    assert_eq!(
        within("the call ends", call.ended()).await,
        Ending::HungUpByApp { cause: 16 }
    );
    relay.shutdown();
    relay.wait().await.unwrap();
}
