//! A `Cluster` over two fake Asterisks (`testing` feature): one set of handlers, objects
//! that know their node, equal ids on both nodes kept apart, a node down that affects only
//! its own calls.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ari_client::api::OperationId;
use ari_client::cluster::Cluster;
use ari_client::events::StasisStart;
use ari_client::objects::Channel;
use ari_client::testing::{Ending, FakeAsterisk};
use ari_client::{Client, ConnectionState, ErrorKind};

/// Bounds a wait in a test: the fake's flows take milliseconds.
async fn within<T>(what: &str, f: impl std::future::IntoFuture<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), f)
        .await
        .unwrap_or_else(|_| panic!("{what}: not within 10 s"))
}

fn node(fake: &FakeAsterisk) -> ari_client::ClientBuilder {
    let (user, password) = fake.credentials();
    Client::builder(fake.url(), user, password)
}

/// Two fakes, and a cluster of them (nodes `a` and `b`), connected.
async fn two_nodes() -> (FakeAsterisk, FakeAsterisk, Cluster) {
    let (a, b) = (
        FakeAsterisk::start().await.unwrap(),
        FakeAsterisk::start().await.unwrap(),
    );
    let cluster = Cluster::builder()
        .node("a", node(&a))
        .node("b", node(&b))
        .connect()
        .await
        .unwrap();
    (a, b, cluster)
}

/// Waits until `client`'s event connection is connected (`up`) or not.
async fn until(client: &Client, up: bool) {
    within("connection state", async {
        while (client.state() == ConnectionState::Connected) != up {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

async fn until_down(client: &Client) {
    until(client, false).await;
}

/// Both fakes start their clocks at the same instant, so their first calls have the same
/// channel id: each node's handler answers, plays and hangs up its own call, on its own
/// node, and each fake sees only its own call's requests.
#[tokio::test]
async fn equal_ids_on_two_nodes_never_mix() {
    let (a, b, cluster) = two_nodes().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    cluster.on_channel_event(move |channel: Channel, start: StasisStart| {
        let log = log.clone();
        async move {
            let node = channel.client().node().to_owned();
            log.lock()
                .unwrap()
                .push((node.clone(), channel.id.clone(), start.args.clone()));
            channel.answer().await?;
            channel
                .play(format!("sound:hello-{node}"))
                .await?
                .finished()
                .await?;
            channel.hangup().await
        }
    });
    cluster.start(["hello"]).await.unwrap();
    let call_a = within("call into a", a.call_in("7000").args(["on-a"]))
        .await
        .unwrap();
    let call_b = within("call into b", b.call_in("7000").args(["on-b"]))
        .await
        .unwrap();
    assert_eq!(call_a.id(), call_b.id(), "the fakes give the same first id");
    for call in [&call_a, &call_b] {
        assert_eq!(
            within("end", call.ended()).await,
            Ending::HungUpByApp { cause: 16 }
        );
    }
    assert_eq!(call_a.played(), ["sound:hello-a"]);
    assert_eq!(call_b.played(), ["sound:hello-b"]);
    let mut seen = seen.lock().unwrap().clone();
    seen.sort();
    assert_eq!(
        seen,
        [
            (
                "a".to_owned(),
                call_a.id().to_owned(),
                vec!["on-a".to_owned()]
            ),
            (
                "b".to_owned(),
                call_b.id().to_owned(),
                vec!["on-b".to_owned()]
            ),
        ]
    );
    // one answer, one play and one hangup on each node
    for fake in [&a, &b] {
        for op in [
            OperationId::ChannelAnswer,
            OperationId::ChannelPlay,
            OperationId::ChannelHangup,
        ] {
            assert_eq!(fake.requests_for(op).len(), 1, "{op:?}");
        }
    }
    cluster.shutdown();
    within("wait", cluster.wait()).await.unwrap();
}

/// The default placement takes the connected nodes in turn and skips a node that is down;
/// a custom one decides alone; an object made on the placed node is that node's.
#[tokio::test]
async fn placement_takes_connected_nodes_in_turn() {
    let (a, b, cluster) = two_nodes().await;
    assert_eq!(
        cluster.place().unwrap_err().kind(),
        ErrorKind::Connect,
        "no node is connected before start"
    );
    cluster.start(["dialer"]).await.unwrap();
    let names: Vec<String> = (0..4)
        .map(|_| cluster.place().unwrap().node().to_owned())
        .collect();
    assert!(
        names == ["a", "b", "a", "b"] || names == ["b", "a", "b", "a"],
        "{names:?}"
    );
    let bridge = cluster.place().unwrap().bridges().create().await.unwrap();
    let on = bridge.client().node().to_owned();
    let fake = if on == "a" { &a } else { &b };
    assert_eq!(fake.bridges().keys().collect::<Vec<_>>(), [&bridge.id]);
    b.kill();
    until_down(cluster.node("b").unwrap()).await;
    let names: BTreeSet<String> = (0..4)
        .map(|_| cluster.place().unwrap().node().to_owned())
        .collect();
    assert_eq!(names, BTreeSet::from(["a".to_owned()]));
    cluster.shutdown();
    within("wait", cluster.wait()).await.unwrap();

    let custom = Cluster::builder()
        .node("a", node(&a))
        .node("b", node(&b))
        .placement(|nodes| nodes.iter().position(|n| n.name() == "b"))
        .build()
        .unwrap();
    assert_eq!(custom.place().unwrap().node(), "b");
}

/// A node that is down when the cluster connects does not hold the others back: it joins
/// when it answers, and its calls are then handled; a node that goes down mid-run leaves
/// the other's calls as they were.
#[tokio::test]
async fn a_node_down_affects_only_its_own_calls() {
    let (a, b) = (
        FakeAsterisk::start().await.unwrap(),
        FakeAsterisk::start().await.unwrap(),
    );
    b.kill();
    let cluster = Cluster::builder()
        .node("a", node(&a))
        .node("b", node(&b))
        .connect()
        .await
        .unwrap();
    cluster.on_channel_event(|channel: Channel, _: StasisStart| async move {
        channel.answer().await?;
        channel.play("sound:hello-world").await?.finished().await?;
        channel.hangup().await
    });
    cluster.start(["hello"]).await.unwrap();
    let call = within("call into a", a.call_in("7000")).await.unwrap();
    assert_eq!(
        within("end", call.ended()).await,
        Ending::HungUpByApp { cause: 16 }
    );
    // b comes up: the cluster reaches it with its reconnect policy
    b.revive();
    until(cluster.node("b").unwrap(), true).await;
    let call = within("call into b", b.call_in("7000")).await.unwrap();
    assert_eq!(
        within("end", call.ended()).await,
        Ending::HungUpByApp { cause: 16 }
    );
    // b goes down: a's calls go on
    b.kill();
    until_down(cluster.node("b").unwrap()).await;
    let on_a = within("call into a", a.call_in("7001")).await.unwrap();
    assert_eq!(
        within("end", on_a.ended()).await,
        Ending::HungUpByApp { cause: 16 }
    );
    assert_eq!(on_a.played(), ["sound:hello-world"]);
    cluster.shutdown();
    within("wait", cluster.wait()).await.unwrap();
}

/// Handlers of the cluster are registered on every node and removed from all at once; an
/// `on_event` handler gets the node's client.
#[tokio::test]
async fn handlers_cover_every_node_and_unsubscribe_from_all() {
    let (a, b, cluster) = two_nodes().await;
    let nodes = Arc::new(Mutex::new(BTreeSet::new()));
    let seen = nodes.clone();
    let subscriptions = cluster.on_event(move |client: Client, _: StasisStart| {
        seen.lock().unwrap().insert(client.node().to_owned());
        async { Ok(()) }
    });
    cluster.start(["app"]).await.unwrap();
    for fake in [&a, &b] {
        within("call in", fake.call_in("7000")).await.unwrap();
    }
    within("both nodes' StasisStart", async {
        while nodes.lock().unwrap().len() < 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert_eq!(
        *nodes.lock().unwrap(),
        BTreeSet::from(["a".to_owned(), "b".to_owned()])
    );
    assert!(subscriptions.unsubscribe());
    assert!(!subscriptions.unsubscribe(), "already gone from both");
    nodes.lock().unwrap().clear();
    for fake in [&a, &b] {
        within("call in", fake.call_in("7001")).await.unwrap();
    }
    cluster.drain().await;
    assert!(nodes.lock().unwrap().is_empty());
    cluster.shutdown();
    within("wait", cluster.wait()).await.unwrap();
}

/// What cannot make a cluster fails with a typed error, before anything is sent.
#[tokio::test]
async fn bad_clusters_are_typed_errors() {
    let none = Cluster::builder().build().unwrap_err();
    assert_eq!(none.kind(), ErrorKind::InvalidArgument);
    let fake = FakeAsterisk::start().await.unwrap();
    let twice = Cluster::builder()
        .node("a", node(&fake))
        .node("a", node(&fake))
        .build()
        .unwrap_err();
    assert_eq!(twice.kind(), ErrorKind::InvalidArgument);
    assert!(
        twice.to_string().contains("two nodes are named `a`"),
        "{twice}"
    );
    let bad_url = Cluster::builder()
        .node("a", Client::builder("ftp://x", "u", "p"))
        .build()
        .unwrap_err();
    assert_eq!(bad_url.kind(), ErrorKind::InvalidUrl);
    assert!(bad_url.to_string().contains("node `a`"), "{bad_url}");
    // no node answers (the killed fake drops each connection at once): connect fails with
    // the first node's error
    fake.kill();
    let down = Cluster::builder()
        .node("a", node(&fake))
        .node("b", node(&fake))
        .connect()
        .await
        .unwrap_err();
    assert!(down.to_string().contains("node `a`"), "{down}");
}
