//! Bridges two Local channels: both are originated into the app, a mixing bridge is
//! created, and each channel is added to it when it enters the app. Runs until Ctrl-C.

use ari_client::events::{ChannelEnteredBridge, ChannelLeftBridge, StasisStart};
use ari_client::objects::{Bridge, Channel};
use ari_client::Result;

mod support;

#[tokio::main]
async fn main() -> Result<()> {
    let (client, app) = support::connect().await?;
    client.start([app.as_str()]).await?;

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
