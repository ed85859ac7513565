//! A `Cluster` of two real Asterisk nodes: the sandbox (`ARI_URL`) and its second instance
//! (`ARI_URL_2`, started by `cargo xtask test`, restarted with `ARI_RESTART_CMD_2`).

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use ari_client::cluster::Cluster;
use ari_client::events::StasisStart;
use ari_client::objects::Channel;
use ari_client::{Client, ConnectionState, ErrorKind};
use support::{live, unique_app, Live};
use tokio::sync::mpsc;

/// The second node's settings (`ARI_URL_2`), or `None` (the test is skipped, loudly)
/// outside CI when it is not set.
fn second(first: &Live) -> Option<Live> {
    match std::env::var("ARI_URL_2") {
        Ok(url) => Some(Live {
            url,
            user: first.user.clone(),
            password: first.password.clone(),
        }),
        Err(_) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true but ARI_URL_2 (the second Asterisk node) is not set")
        }
        Err(_) => {
            eprintln!(
                "\n*** SKIPPED: ARI_URL_2 is not set; run `cargo xtask test` to start two nodes ***\n"
            );
            None
        }
    }
}

async fn cluster(a: &Live, b: &Live) -> Cluster {
    Cluster::builder()
        .node("a", Client::builder(&a.url, &a.user, &a.password))
        .node("b", Client::builder(&b.url, &b.user, &b.password))
        .connect()
        .await
        .expect("both nodes answer")
}

/// A call into `app` on `node`'s Asterisk, with channel id `id`, that the far end answers.
async fn originate(node: &Client, app: &str, id: &str) -> ari_client::Result<Channel> {
    node.channels()
        .originate("Local/answer@ari-test")
        .app(app)
        .channel_id(id)
        .await
}

/// The same channel id on both nodes (`channelId` is the application's to choose): each
/// StasisStart reaches the handler as its node's channel, and a hangup made through the
/// object of one node ends that node's channel only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn equal_channel_ids_on_two_nodes_reach_only_their_node() {
    let Some(a) = live().await else { return };
    let Some(b) = second(&a) else { return };
    let cluster = cluster(&a, &b).await;
    let app = unique_app("cluster-ids");
    let (tx, mut started) = mpsc::unbounded_channel();
    cluster.on_channel_event(move |channel: Channel, _: StasisStart| {
        let _ = tx.send(channel);
        async { Ok(()) }
    });
    cluster.start([app.as_str()]).await.unwrap();
    let id = format!("{app}-same");
    for node in ["a", "b"] {
        originate(cluster.node(node).unwrap(), &app, &id)
            .await
            .unwrap();
    }
    let mut channels = BTreeMap::new();
    for _ in 0..2 {
        let channel = tokio::time::timeout(Duration::from_secs(10), started.recv())
            .await
            .expect("both channels enter the app")
            .unwrap();
        assert_eq!(channel.id, id);
        channels.insert(channel.client().node().to_owned(), channel);
    }
    assert_eq!(
        channels.keys().collect::<Vec<_>>(),
        ["a", "b"],
        "one channel per node"
    );
    channels["a"].hangup().await.unwrap();
    let node_a = cluster.node("a").unwrap();
    let node_b = cluster.node("b").unwrap();
    support::eventually_async("a's channel gone", Duration::from_secs(5), || async {
        node_a
            .channels()
            .get(&id)
            .await
            .is_err_and(|e| e.kind() == ErrorKind::NotFound)
    })
    .await;
    let on_b = node_b
        .channels()
        .get(&id)
        .await
        .expect("b's channel lives on");
    assert_eq!(on_b.client().node(), "b");
    on_b.hangup().await.unwrap();
    cluster.shutdown();
    cluster.wait().await.unwrap();
}

/// What a call ended with: `Ok` or the error kind of the first request that failed.
type Outcome = Result<(), ErrorKind>;

/// 40 calls placed on the two nodes in turn, one every 60 ms, each answered, played a 3 s
/// prompt to its end and hung up; node b is restarted after the 16th. Every call on a ends
/// well; b's calls in flight end with a typed error (none hangs); while b is down the
/// placement puts the new calls on a; once b is back, a call on b ends well again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_restarted_mid_load_affects_only_its_calls() {
    let Some(a) = live().await else { return };
    let Some(b) = second(&a) else { return };
    let Ok(restart_b) = std::env::var("ARI_RESTART_CMD_2") else {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("CI=true but ARI_RESTART_CMD_2 is not set");
        }
        eprintln!("\n*** SKIPPED: ARI_RESTART_CMD_2 is not set ***\n");
        return;
    };
    let cluster = cluster(&a, &b).await;
    let app = unique_app("cluster-load");
    let (tx, mut ended) = mpsc::unbounded_channel::<(String, String, Outcome)>();
    cluster.on_channel_event(move |channel: Channel, _: StasisStart| {
        let tx = tx.clone();
        async move {
            let outcome = async {
                channel.answer().await?;
                channel.play("sound:tt-weasels").await?.finished().await?;
                channel.hangup().await
            }
            .await;
            let node = channel.client().node().to_owned();
            let _ = tx.send((node, channel.id.clone(), outcome.map_err(|e| e.kind())));
            Ok(())
        }
    });
    cluster.start([app.as_str()]).await.unwrap();

    let calls = 40;
    let mut placed: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut refused: Vec<(String, ErrorKind)> = Vec::new();
    let mut restart = None;
    let mut restart_took = Duration::ZERO;
    for n in 0..calls {
        if n == 16 {
            let command = restart_b.clone();
            restart = Some(tokio::spawn(async move {
                let t = Instant::now();
                support::run_shell(&command).await;
                t.elapsed()
            }));
        }
        match cluster.place() {
            Ok(node) => {
                let id = format!("{app}-{n}");
                match originate(&node, &app, &id).await {
                    Ok(_) => placed.entry(node.node().to_owned()).or_default().push(id),
                    Err(e) => refused.push((node.node().to_owned(), e.kind())),
                }
            }
            Err(e) => refused.push(("(none)".to_owned(), e.kind())),
        }
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    if let Some(restart) = restart {
        restart_took = restart.await.unwrap();
    }

    // every call that entered the app ends, one way or another, within its prompt and a
    // margin: none hangs
    let mut outcomes: BTreeMap<(String, String), Outcome> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    let entered_a = placed.get("a").map_or(0, Vec::len);
    while outcomes.keys().filter(|(node, _)| node == "a").count() < entered_a {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, ended.recv()).await {
            Ok(Some((node, id, outcome))) => {
                outcomes.insert((node, id), outcome);
            }
            _ => panic!(
                "not every call on a ended within 20 s: {} of {entered_a}",
                outcomes.keys().filter(|(node, _)| node == "a").count()
            ),
        }
    }
    // b's calls that entered before the restart have ended by now too (their prompt is
    // 3 s); collect what is there
    tokio::time::sleep(Duration::from_secs(1)).await;
    while let Ok((node, id, outcome)) = ended.try_recv() {
        outcomes.insert((node, id), outcome);
    }
    let on = |node: &str| -> Vec<&Outcome> {
        outcomes
            .iter()
            .filter(|((n, _), _)| n == node)
            .map(|(_, o)| o)
            .collect()
    };
    let a_ok = on("a").iter().filter(|o| o.is_ok()).count();
    let b_ok = on("b").iter().filter(|o| o.is_ok()).count();
    let b_failed: BTreeSet<String> = on("b")
        .iter()
        .filter_map(|o| o.err().map(|k| format!("{k:?}")))
        .collect();
    eprintln!(
        "cluster under load, node b restarted in {:.1} s: placed a {} / b {}, refused {refused:?}; \
         a: {a_ok} of {} ended well; b: {b_ok} ended well, {} with errors {b_failed:?}",
        restart_took.as_secs_f64(),
        entered_a,
        placed.get("b").map_or(0, Vec::len),
        on("a").len(),
        on("b").len() - b_ok,
    );
    assert_eq!(a_ok, entered_a, "every call on a ends well: {outcomes:?}");
    assert!(
        placed.get("b").map_or(0, Vec::len) > 0,
        "calls went to b before its restart"
    );
    assert!(
        on("b").len() > b_ok,
        "b's calls in flight ended with an error when b restarted: {outcomes:?}"
    );
    assert!(
        refused.iter().all(|(node, _)| node == "b"),
        "only b refused calls: {refused:?}"
    );

    // b is back: the cluster reconnected it, and a call on it ends well
    let node_b = cluster.node("b").unwrap().clone();
    support::eventually("b connected again", Duration::from_secs(15), || {
        node_b.state() == ConnectionState::Connected
    })
    .await;
    let id = format!("{app}-after");
    originate(&node_b, &app, &id).await.unwrap();
    let (node, got, outcome) = tokio::time::timeout(Duration::from_secs(15), ended.recv())
        .await
        .expect("the call on b after its restart ends")
        .unwrap();
    assert_eq!((node.as_str(), got.as_str()), ("b", id.as_str()));
    assert_eq!(outcome, Ok(()));
    cluster.shutdown();
    cluster.wait().await.unwrap();
}
