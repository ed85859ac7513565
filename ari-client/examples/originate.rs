//! Originates a call into the app and prints its events, subscribing before the call
//! exists so that its `StasisStart` cannot be missed. Runs until Ctrl-C.
//!
//! `ARI_ENDPOINT` (default `Local/dtmf@ari-test`) is the endpoint to call.

use ari_client::events::{ChannelDtmfReceived, ChannelStateChange, StasisEnd, StasisStart};
use ari_client::objects::Channel;
use ari_client::{Client, Result};
use tokio::sync::mpsc;

mod support;

/// Originates `endpoint` into `app` and describes the call's events, one line each, on
/// the receiver: subscribed before the channel exists, so none is missed.
pub(crate) async fn originate_and_watch(
    client: &Client,
    app: &str,
    endpoint: &str,
) -> Result<(Channel, mpsc::UnboundedReceiver<String>)> {
    let (lines, rx) = mpsc::unbounded_channel();
    let call = client.pending_channel();
    let say = lines.clone();
    call.on_event(move |channel: Channel, e: StasisStart| {
        let line = format!(
            "{}: StasisStart (args {:?}, state {})",
            channel.id, e.args, channel.state
        );
        let _ = say.send(line);
        async { Ok(()) }
    })?;
    let say = lines.clone();
    call.on_event(move |channel: Channel, _e: ChannelStateChange| {
        let _ = say.send(format!("{}: state is now {}", channel.id, channel.state));
        async { Ok(()) }
    })?;
    let say = lines.clone();
    call.on_event(move |channel: Channel, e: ChannelDtmfReceived| {
        let line = format!("{}: DTMF {} ({} ms)", channel.id, e.digit, e.duration_ms);
        let _ = say.send(line);
        async { Ok(()) }
    })?;
    call.on_event(move |channel: Channel, _e: StasisEnd| {
        let _ = lines.send(format!("{}: StasisEnd: the call left the app", channel.id));
        async { Ok(()) }
    })?;

    let channel = client
        .channels()
        .originate_with_id(call.id(), endpoint)
        .app(app)
        .caller_id("ari-rs <100>")
        .await?;
    Ok((channel, rx))
}

#[tokio::main]
async fn main() -> Result<()> {
    let (client, app) = support::connect().await?;
    let endpoint = support::env("ARI_ENDPOINT", "Local/dtmf@ari-test");
    client.start([app.as_str()]).await?;

    println!("originating {endpoint} into app {app}");
    let (channel, mut lines) = originate_and_watch(&client, &app, &endpoint).await?;
    println!("{}: created, state {}", channel.id, channel.state);

    support::shutdown_on_ctrl_c(&client);
    tokio::spawn(async move {
        while let Some(line) = lines.recv().await {
            println!("{line}");
        }
    });
    client.wait().await
}

/// The watching against the fake Asterisk (`cargo test --example originate --features
/// testing`).
#[cfg(all(test, feature = "testing"))]
mod tests {
    use ari_client::models::ChannelState;
    use ari_client::testing::FakeAsterisk;
    use ari_client::Result;

    #[tokio::test]
    async fn every_event_of_the_originated_call_is_seen_from_the_first() -> Result<()> {
        let fake = FakeAsterisk::start().await?;
        let client = fake.client().await?;
        client.start(["originate"]).await?;
        let (channel, mut lines) =
            super::originate_and_watch(&client, "originate", "PJSIP/bob").await?;
        let id = &channel.id;
        assert_eq!(channel.state, ChannelState::Down);
        let call = fake.originated(0).await;
        assert_eq!(call.id(), id);
        assert_eq!(
            lines.recv().await.unwrap(),
            format!("{id}: state is now Up")
        );
        assert_eq!(
            lines.recv().await.unwrap(),
            format!("{id}: StasisStart (args [], state Up)")
        );
        call.press("7");
        assert_eq!(
            lines.recv().await.unwrap(),
            format!("{id}: DTMF 7 (100 ms)")
        );
        call.hangup();
        assert_eq!(
            lines.recv().await.unwrap(),
            format!("{id}: StasisEnd: the call left the app")
        );
        Ok(())
    }
}
