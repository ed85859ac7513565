//! A voice-bot skeleton: every call that enters the app is answered and bridged with an
//! external-media channel; the bot hears the caller through the media stream, frame by
//! frame, and talks back through it (here: a short beep, then an echo of what it hears).
//! Put speech recognition where the frames arrive and synthesis where the samples go.
//!
//! `MEDIA_TRANSPORT=rtp` uses RTP (chan_rtp, a UDP socket on 127.0.0.1) instead of the
//! websocket (chan_websocket). It places one call to `Local/play@ari-test` (the sandbox
//! plays tt-weasels into it) and runs until Ctrl-C.

use ari_client::events::{StasisEnd, StasisStart};
use ari_client::media::{AudioFormat, Control, MediaEvent, MediaStream};
use ari_client::objects::Channel;
use ari_client::{Client, Result};

mod support;

#[tokio::main]
async fn main() -> Result<()> {
    let (client, app) = support::connect().await?;
    support::shutdown_on_ctrl_c(&client);
    client.start([app.as_str()]).await?;

    let bot_app = app.clone();
    client
        .on_channel_event(move |caller: Channel, _e: StasisStart| on_call(bot_app.clone(), caller));

    let call = client
        .channels()
        .originate("Local/play@ari-test")
        .app(&app)
        .await?;
    println!("{}: originated Local/play@ari-test", call.id);
    client.wait().await
}

/// A channel entered the app: talk with it, then hang it up, whatever went wrong.
async fn on_call(app: String, caller: Channel) -> Result<()> {
    // the bot's own media channels enter the app too
    if caller.name.starts_with("WebSocket/") || caller.name.starts_with("UnicastRTP/") {
        return Ok(());
    }
    let client = caller.client().clone();
    if let Err(e) = talk(&client, &app, &caller).await {
        println!("{}: {e}", caller.id);
    }
    caller.hangup().await.ok();
    Ok(())
}

/// One call: bridge the caller with a media stream, listen and answer until it ends.
async fn talk(client: &Client, app: &str, caller: &Channel) -> Result<()> {
    // registered first: a hangup meanwhile is not missed
    let caller_gone = caller.next::<StasisEnd>();
    caller.answer().await.ok();
    let media = if support::env("MEDIA_TRANSPORT", "websocket") == "rtp" {
        let bind = "127.0.0.1:0".parse().map_err(ari_client::Error::other)?;
        MediaStream::rtp(client, app, AudioFormat::Ulaw, bind).await?
    } else {
        MediaStream::websocket(client, app, AudioFormat::Slin16).await?
    };
    let format = media.format();
    println!(
        "{}: media {} over {}, {} Hz, {:?} frames",
        caller.id,
        media.channel().id,
        if media.media_start().is_some() {
            "websocket"
        } else {
            "RTP"
        },
        format.sample_rate(),
        media.ptime()
    );
    let bridge = client.bridges().create().await?;
    bridge
        .add_channel([caller.id.clone(), media.channel().id.clone()])
        .await?;
    let media_channel = media.channel().clone();

    // the two halves in two tasks: hearing never waits for talking
    let (mut ears, mut mouth) = media.split();
    let (heard, mut to_say) = tokio::sync::mpsc::channel::<Vec<i16>>(50);
    let listening = tokio::spawn(async move {
        let mut frames = 0u64;
        while let Some(event) = ears.next().await? {
            match event {
                MediaEvent::Audio(frame) => {
                    frames += 1;
                    // speech recognition goes here; this bot only echoes (and drops what
                    // the mouth is behind on, rather than queue up latency)
                    let _ = heard.try_send(frame.samples());
                }
                MediaEvent::Control(Control::DtmfEnd { digit }) => println!("digit {digit}"),
                MediaEvent::Control(other) => println!("control: {other:?}"),
                _ => {}
            }
        }
        Ok::<_, ari_client::Error>(frames)
    });
    let talking = tokio::spawn(async move {
        // a 200 ms beep at 440 Hz, then what it hears, paced at the frame time
        let rate = format.sample_rate();
        let beep: Vec<i16> = (0..rate / 5)
            .map(|i| {
                let t = f64::from(i) / f64::from(rate);
                (6_000.0 * (2.0 * std::f64::consts::PI * 440.0 * t).sin()) as i16
            })
            .collect();
        mouth.send(&beep).await?;
        while let Some(samples) = to_say.recv().await {
            mouth.send(&samples).await?;
        }
        mouth.flush().await
    });
    // the media stream ends with its channel: hang it up when the caller is gone
    caller_gone.await.ok();
    media_channel.hangup().await.ok();
    let frames = listening.await.map_err(ari_client::Error::other)??;
    println!("{}: the media ended after {frames} frames", caller.id);
    talking.abort();
    bridge.destroy().await.ok();
    Ok(())
}

/// The call handling against the fake Asterisk (`cargo test --example voice_bot --features
/// testing`). The fake carries no media (its external-media channels enter the app but
/// no media websocket answers), so this proves the paths around the media: the caller is
/// answered, and hung up when the media cannot be had, not left in the app.
#[cfg(all(test, feature = "testing"))]
mod tests {
    use ari_client::api::OperationId;
    use ari_client::events::StasisStart;
    use ari_client::objects::Channel;
    use ari_client::testing::{Ending, FakeAsterisk};
    use ari_client::Result;

    #[tokio::test]
    async fn a_caller_without_media_is_answered_then_hung_up() -> Result<()> {
        let fake = FakeAsterisk::start().await?;
        let client = fake.client().await?;
        client.on_channel_event(|caller: Channel, _: StasisStart| {
            super::on_call("bot".to_owned(), caller)
        });
        client.start(["bot"]).await?;
        let call = fake.call_in("300").caller("1001").app("bot").await?;
        assert_eq!(call.ended().await, Ending::HungUpByApp { cause: 16 });
        assert!(call.answered());
        let media = fake.requests_for(OperationId::ChannelExternalMedia);
        assert_eq!(media.len(), 1, "{media:?}");
        assert_eq!(media[0].param("transport"), Some("websocket"));
        // nor is the media channel left behind
        fake.settle().await;
        let left = client.channels().list().await?;
        assert!(left.is_empty(), "{left:?}");
        Ok(())
    }
}
