//! Originates a call into the app and prints its events, subscribing before the call
//! exists so that its `StasisStart` cannot be missed. Runs until Ctrl-C.
//!
//! `ARI_ENDPOINT` (default `Local/dtmf@ari-test`) is the endpoint to call.

use ari_client::events::{ChannelDtmfReceived, ChannelStateChange, StasisEnd, StasisStart};
use ari_client::objects::Channel;
use ari_client::Result;

mod support;

#[tokio::main]
async fn main() -> Result<()> {
    let (client, app) = support::connect().await?;
    let endpoint = support::env("ARI_ENDPOINT", "Local/dtmf@ari-test");
    client.start([app.as_str()]).await?;

    let call = client.pending_channel();
    call.on_event(|channel: Channel, e: StasisStart| async move {
        println!(
            "{}: StasisStart (args {:?}, state {})",
            channel.id, e.args, channel.state
        );
        Ok(())
    })?;
    call.on_event(|channel: Channel, _e: ChannelStateChange| async move {
        println!("{}: state is now {}", channel.id, channel.state);
        Ok(())
    })?;
    call.on_event(|channel: Channel, e: ChannelDtmfReceived| async move {
        println!("{}: DTMF {} ({} ms)", channel.id, e.digit, e.duration_ms);
        Ok(())
    })?;
    call.on_event(|channel: Channel, _e: StasisEnd| async move {
        println!("{}: StasisEnd: the call left the app", channel.id);
        Ok(())
    })?;

    println!(
        "originating {endpoint} into app {app} as channel {}",
        call.id()
    );
    let channel = client
        .channels()
        .originate_with_id(call.id(), &endpoint)
        .app(&app)
        .caller_id("ari-rs <100>")
        .await?;
    println!("{}: created, state {}", channel.id, channel.state);

    support::shutdown_on_ctrl_c(&client);
    client.wait().await
}
