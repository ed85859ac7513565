//! Bridges two Local channels: both are originated into the app, a mixing bridge is
//! created, and each channel is added to it when it enters the app. Runs until Ctrl-C.

use ari_client::events::{ChannelEnteredBridge, ChannelLeftBridge, StasisStart};
use ari_client::objects::{Bridge, Channel};
use ari_client::{Client, Result};

mod support;

/// Creates a mixing bridge and puts every channel that enters the app into it, answered.
pub(crate) async fn bridge_every_call(client: &Client) -> Result<Bridge> {
    let bridge = client
        .bridges()
        .create()
        .kind("mixing")
        .name("ari-rs-demo")
        .await?;
    println!("bridge {} created ({})", bridge.id, bridge.bridge_type);
    bridge.on_event(|bridge: Bridge, e: ChannelEnteredBridge| async move {
        let who = e.channel.as_ref().map_or("?", |c| c.id.as_str());
        println!(
            "bridge {}: {who} entered, now {:?}",
            bridge.id, bridge.channels
        );
        Ok(())
    })?;
    bridge.on_event(|bridge: Bridge, e: ChannelLeftBridge| async move {
        println!("bridge {}: {} left", bridge.id, e.channel.id);
        Ok(())
    })?;

    let in_bridge = bridge.clone();
    client.on_channel_event(move |channel: Channel, _e: StasisStart| {
        let bridge = in_bridge.clone();
        async move {
            println!("{}: in the app, answering and bridging", channel.id);
            channel.answer().await?;
            bridge.add_channel([channel.id.clone()]).await
        }
    });
    Ok(bridge)
}

#[tokio::main]
async fn main() -> Result<()> {
    let (client, app) = support::connect().await?;
    client.start([app.as_str()]).await?;
    let bridge = bridge_every_call(&client).await?;

    for leg in ["answer", "echo"] {
        let c = client
            .channels()
            .originate(format!("Local/{leg}@ari-test"))
            .app(&app)
            .await?;
        println!("{}: originated Local/{leg}@ari-test", c.id);
    }

    tokio::signal::ctrl_c().await.ok();
    println!("Ctrl-C: hanging up and destroying the bridge");
    for id in &bridge.get().await?.channels {
        client.channels().hangup(id).await.ok();
    }
    bridge.destroy().await?;
    client.shutdown();
    client.wait().await
}

/// The bridging against the fake Asterisk (`cargo test --example bridge --features testing`).
#[cfg(all(test, feature = "testing"))]
mod tests {
    use ari_client::testing::{Ending, FakeAsterisk};
    use ari_client::Result;

    #[tokio::test]
    async fn every_call_is_answered_into_the_bridge_and_leaves_it_on_hangup() -> Result<()> {
        let fake = FakeAsterisk::start().await?;
        let client = fake.client().await?;
        client.start(["bridge"]).await?;
        let bridge = super::bridge_every_call(&client).await?;

        let alice = fake.call_in("100").caller("1001").app("bridge").await?;
        let bob = fake.call_in("100").caller("1002").app("bridge").await?;
        fake.settle().await;
        // each call's handler runs on its own: either may be added first
        let mut members = fake.bridges()[&bridge.id].clone();
        members.sort();
        assert_eq!(members, [alice.id(), bob.id()]);
        for call in [&alice, &bob] {
            assert!(call.answered());
            assert_eq!(call.bridge().as_deref(), Some(bridge.id.as_str()));
        }

        alice.hangup();
        assert_eq!(alice.ended().await, Ending::HungUpByCaller);
        fake.settle().await;
        assert_eq!(fake.bridges()[&bridge.id], [bob.id()]);
        assert_eq!(bridge.get().await?.channels, [bob.id()]);
        Ok(())
    }
}
