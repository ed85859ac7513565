//! An IVR menu as straight-line code: answer, play the menu to its end, wait a few seconds
//! for a digit, read it back; no digit: "please try again", up to three times. A digit
//! pressed during the menu counts. Runs until Ctrl-C.
//!
//! ```sh
//! ARI_APP=ivr cargo run --example ivr
//! # then: POST /ari/channels?endpoint=Local/dtmf-late@ari-test&app=ivr
//! ```

use std::time::Duration;

use ari_client::events::{ChannelDtmfReceived, StasisStart};
use ari_client::objects::Channel;
use ari_client::{ErrorKind, Result};

mod support;

/// What the caller chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Choice {
    /// The digit pressed.
    Pressed(String),
    /// Nothing, every time.
    NoInput,
}

/// How the menu runs.
pub(crate) struct Menu {
    pub(crate) prompt: &'static str,
    pub(crate) digit_timeout: Duration,
    pub(crate) tries: usize,
}

impl Menu {
    pub(crate) const DEFAULT: Menu = Menu {
        prompt: "sound:hello-world",
        digit_timeout: Duration::from_secs(5),
        tries: 3,
    };

    /// Runs the menu on a channel that entered the application.
    pub(crate) async fn run(&self, channel: &Channel) -> Result<Choice> {
        channel.answer().await?;
        for _ in 0..self.tries {
            // listen before playing: a digit pressed during the menu is not missed
            let digit = channel.next::<ChannelDtmfReceived>();
            channel.play(self.prompt).await?.finished().await?;
            match digit.timeout(self.digit_timeout).await {
                Ok(pressed) => {
                    let readback = format!("digits:{}", pressed.digit);
                    channel.play(readback).await?.finished().await?;
                    return Ok(Choice::Pressed(pressed.digit));
                }
                Err(e) if e.kind() == ErrorKind::Timeout => {
                    channel
                        .play("sound:please-try-again")
                        .await?
                        .finished()
                        .await?;
                }
                // the caller hung up: the wait says so (ErrorKind::Ended), never hangs
                Err(e) => return Err(e),
            }
        }
        Ok(Choice::NoInput)
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let (client, app) = support::connect().await?;
    client.on_channel_event(|channel: Channel, _e: StasisStart| async move {
        let choice = Menu::DEFAULT.run(&channel).await?;
        println!("{}: {choice:?}", channel.id);
        channel.hangup().await
    });
    support::shutdown_on_ctrl_c(&client);
    println!("app {app}: waiting for calls (Ctrl-C to stop)");
    client.run([app]).await
}
