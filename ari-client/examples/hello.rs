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
use ari_client::{Client, Result};

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

async fn on_dtmf(channel: Channel, event: ChannelDtmfReceived) -> Result<()> {
    let digit = event.digit.as_str();
    match digit {
        "#" => {
            println!(
                "{}: # pressed: playing sound:goodbye, continuing in dialplan",
                channel.id
            );
            channel.play("sound:goodbye").await?;
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
    channel.on_event(on_dtmf);
    channel.answer().await?;
    channel.play("sound:hello-world").await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let url = env("ARI_URL", "http://127.0.0.1:8088");
    let user = env("ARI_USER", "asterisk");
    let password = env("ARI_PASSWORD", "asterisk");
    let app = env("ARI_APP", "hello");

    let client = Client::connect(&url, &user, &password).await?;
    client.on_channel_event(on_start);

    let stopper = client.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            println!("Ctrl-C: shutting down");
            stopper.shutdown();
        }
    });
    println!("app {app} registered at {url}; waiting for calls (Ctrl-C to stop)");
    client.run([app]).await
}
