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
#[derive(Clone, Copy)]
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

/// The menu against the fake Asterisk (`cargo test --example ivr --features testing`).
#[cfg(all(test, feature = "testing"))]
mod tests {
    use std::time::Duration;

    use ari_client::events::StasisStart;
    use ari_client::objects::Channel;
    use ari_client::testing::{Ending, FakeAsterisk, FakeChannel, Time};
    use ari_client::{Client, ErrorKind, Result};
    use tokio::sync::mpsc;

    use super::{Choice, Menu};

    /// The menu's digit timeout is real time: short in tests.
    const QUICK: Menu = Menu {
        digit_timeout: Duration::from_millis(50),
        ..Menu::DEFAULT
    };

    /// A client running the menu on each call; each outcome is sent to the receiver.
    async fn app(
        fake: &FakeAsterisk,
        menu: Menu,
    ) -> Result<(Client, mpsc::UnboundedReceiver<Result<Choice>>)> {
        let client = fake.client().await?;
        let (tx, rx) = mpsc::unbounded_channel();
        client.on_channel_event(move |channel: Channel, _: StasisStart| {
            let tx = tx.clone();
            async move {
                let choice = menu.run(&channel).await;
                let hang_up = choice.is_ok();
                let _ = tx.send(choice);
                if hang_up {
                    channel.hangup().await?;
                }
                Ok(())
            }
        });
        client.start(["ivr"]).await?;
        Ok((client, rx))
    }

    async fn call(fake: &FakeAsterisk) -> Result<FakeChannel> {
        fake.call_in("7000").caller("1001").app("ivr").await
    }

    #[tokio::test]
    async fn a_digit_pressed_during_the_menu_counts() -> Result<()> {
        let fake = FakeAsterisk::start().await?;
        let (_client, mut outcomes) = app(&fake, QUICK).await?;
        let call = call(&fake).await?;
        call.wait_played(1).await;
        call.press("5");
        assert_eq!(outcomes.recv().await.unwrap()?, Choice::Pressed("5".into()));
        assert_eq!(call.ended().await, Ending::HungUpByApp { cause: 16 });
        assert_eq!(call.played(), ["sound:hello-world", "digits:5"]);
        Ok(())
    }

    #[tokio::test]
    async fn no_digit_three_times_is_no_input() -> Result<()> {
        let fake = FakeAsterisk::start().await?;
        let (_client, mut outcomes) = app(&fake, QUICK).await?;
        let call = call(&fake).await?;
        assert_eq!(outcomes.recv().await.unwrap()?, Choice::NoInput);
        assert_eq!(
            call.played(),
            ["sound:hello-world", "sound:please-try-again"].repeat(3)
        );
        Ok(())
    }

    #[tokio::test]
    async fn a_caller_who_hangs_up_mid_menu_fails_the_prompt() -> Result<()> {
        let fake = FakeAsterisk::start().await?;
        let (_client, mut outcomes) = app(&fake, QUICK).await?;
        let call = call(&fake).await?;
        call.wait_played(1).await;
        call.hangup();
        // as Asterisk: the prompt cut by the hangup finishes `failed`
        let e = outcomes.recv().await.unwrap().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Failed, "{e}");
        assert_eq!(call.ended().await, Ending::HungUpByCaller);
        Ok(())
    }

    #[tokio::test]
    async fn a_caller_who_hangs_up_while_it_waits_for_a_digit_ends_the_wait() -> Result<()> {
        let fake = FakeAsterisk::builder().time(Time::Manual).start().await?;
        let (_client, mut outcomes) = app(&fake, Menu::DEFAULT).await?;
        let call = call(&fake).await?;
        call.wait_played(1).await;
        // the 1 s prompt ends; the menu waits up to 5 s for a digit
        fake.advance(Duration::from_secs(1)).await;
        call.hangup();
        let e = outcomes.recv().await.unwrap().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Ended, "{e}");
        assert_eq!(call.played(), ["sound:hello-world"]);
        Ok(())
    }
}
