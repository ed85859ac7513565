//! One application over several Asterisk nodes: every call that enters the app on any node
//! is answered, greeted and hung up on the node it is on; new calls (`ARI_DIAL`, optional)
//! are placed on the connected nodes in turn. Runs until Ctrl-C.
//!
//! ```sh
//! ARI_NODES=a=http://127.0.0.1:8088,b=http://127.0.0.1:9088 ARI_APP=hello \
//!     cargo run --example cluster
//! ```

use ari_client::cluster::Cluster;
use ari_client::events::StasisStart;
use ari_client::objects::Channel;
use ari_client::{Client, Result};

mod support;

async fn on_start(channel: Channel, _event: StasisStart) -> Result<()> {
    let node = channel.client().node().to_owned();
    println!("{node}/{}: StasisStart: answering", channel.id);
    // every request made through `channel` goes to its node
    channel.answer().await?;
    channel.play("sound:hello-world").await?.finished().await?;
    channel.hangup().await
}

/// `name=url` pairs, comma-separated.
fn nodes(spec: &str) -> Vec<(String, String)> {
    spec.split(',')
        .filter_map(|pair| pair.split_once('='))
        .map(|(name, url)| (name.trim().to_owned(), url.trim().to_owned()))
        .collect()
}

#[tokio::main]
async fn main() -> Result<()> {
    let (user, password) = (
        support::env("ARI_USER", "asterisk"),
        support::env("ARI_PASSWORD", "asterisk"),
    );
    let app = support::env("ARI_APP", "hello");
    let mut builder = Cluster::builder();
    for (name, url) in nodes(&support::env("ARI_NODES", "a=http://127.0.0.1:8088")) {
        builder = builder.node(&name, Client::builder(&url, &user, &password));
    }
    let cluster = builder.connect().await?;
    cluster.on_channel_event(on_start);
    let stop = cluster.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            println!("Ctrl-C: shutting down");
            stop.shutdown();
        }
    });
    cluster.start([app.as_str()]).await?;
    let names: Vec<&str> = cluster.nodes().iter().map(|n| n.name()).collect();
    println!("app {app} registered on {names:?}; waiting for calls (Ctrl-C to stop)");
    if let Ok(endpoint) = std::env::var("ARI_DIAL") {
        let node = cluster.place()?;
        let leg = node.channels().originate(endpoint).app(&app).await?;
        println!("{}/{}: dialled", node.node(), leg.id);
    }
    cluster.wait().await
}

/// The example's handler over two fake Asterisks (`cargo test --example cluster --features
/// testing`): no Asterisk needed.
#[cfg(all(test, feature = "testing"))]
mod tests {
    use ari_client::cluster::Cluster;
    use ari_client::testing::{Ending, FakeAsterisk};
    use ari_client::Client;

    #[test]
    fn reads_node_lists() {
        assert_eq!(
            super::nodes("a=http://h:1, b = http://h:2,junk"),
            [
                ("a".to_owned(), "http://h:1".to_owned()),
                ("b".to_owned(), "http://h:2".to_owned())
            ]
        );
    }

    #[tokio::test]
    async fn each_call_is_handled_on_its_own_node() -> ari_client::Result<()> {
        let (a, b) = (FakeAsterisk::start().await?, FakeAsterisk::start().await?);
        let node = |fake: &FakeAsterisk| {
            let (user, password) = fake.credentials();
            Client::builder(fake.url(), user, password)
        };
        let cluster = Cluster::builder()
            .node("a", node(&a))
            .node("b", node(&b))
            .connect()
            .await?;
        cluster.on_channel_event(super::on_start);
        cluster.start(["hello"]).await?;
        // the two fakes give their first calls the same id
        let on_a = a.call_in("7000").app("hello").await?;
        let on_b = b.call_in("7000").app("hello").await?;
        assert_eq!(on_a.id(), on_b.id());
        for call in [&on_a, &on_b] {
            assert_eq!(call.ended().await, Ending::HungUpByApp { cause: 16 });
            assert_eq!(call.played(), ["sound:hello-world"]);
        }
        cluster.shutdown();
        cluster.wait().await
    }
}
