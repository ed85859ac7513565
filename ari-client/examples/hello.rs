//! The `ari-py` example, typed: answer, say hello, and read back the digits pressed.
//!
//! `#` plays goodbye and sends the call back to the dialplan, `*` plays
//! `asterisk-friend`, any other digit is read back. Runs until Ctrl-C.
//!
//! ```sh
//! ARI_URL=http://127.0.0.1:8088 ARI_USER=asterisk ARI_PASSWORD=asterisk ARI_APP=hello \
//!     cargo run --example hello
//! ```

use ari_client::events::{ChannelDtmfReceived, StasisStart};
use ari_client::objects::Channel;
use ari_client::Result;

mod support;

async fn on_dtmf(channel: Channel, event: ChannelDtmfReceived) -> Result<()> {
    let digit = event.digit.as_str();
    match digit {
        "#" => {
            println!(
                "{}: # pressed: playing sound:goodbye, continuing in dialplan",
                channel.id
            );
            // to its end: leaving the app at once would cut it (and drop it if queued)
            channel.play("sound:goodbye").await?.finished().await?;
            channel.continue_in_dialplan().await?;
        }
        "*" => {
            println!("{}: * pressed: playing sound:asterisk-friend", channel.id);
            channel.play("sound:asterisk-friend").await?;
        }
        _ => {
            println!(
                "{}: {digit} pressed: playing sound:digits/{digit}",
                channel.id
            );
            channel.play(format!("sound:digits/{digit}")).await?;
        }
    }
    Ok(())
}

async fn on_start(channel: Channel, _event: StasisStart) -> Result<()> {
    println!(
        "{}: StasisStart: answering, playing sound:hello-world",
        channel.id
    );
    channel.on_event(on_dtmf)?;
    channel.answer().await?;
    channel.play("sound:hello-world").await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let (client, app) = support::connect().await?;
    client.on_channel_event(on_start);
    support::shutdown_on_ctrl_c(&client);
    client.start([app.as_str()]).await?;
    println!(
        "app {app} registered at {}; waiting for calls (Ctrl-C to stop)",
        client.base_url()
    );
    client.wait().await
}

/// The example's handlers against the fake Asterisk (`cargo test --example hello
/// --features testing`): no Asterisk needed.
#[cfg(all(test, feature = "testing"))]
mod tests {
    use ari_client::testing::{Ending, FakeAsterisk};

    #[tokio::test]
    async fn greets_reads_back_digits_and_continues_on_hash() -> ari_client::Result<()> {
        let fake = FakeAsterisk::start().await?;
        let client = fake.client().await?;
        client.on_channel_event(super::on_start);
        client.start(["hello"]).await?;

        let call = fake.call_in("7000").caller("1001").app("hello").await?;
        call.wait_played(1).await;
        assert!(call.answered());
        call.press("4*");
        call.wait_played(3).await;
        call.press("#");
        let ending = call.ended().await;
        assert!(matches!(ending, Ending::Continued { .. }), "{ending:?}");
        assert_eq!(
            call.played(),
            [
                "sound:hello-world",
                "sound:digits/4",
                "sound:asterisk-friend",
                "sound:goodbye"
            ]
        );
        Ok(())
    }
}
