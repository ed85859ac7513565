//! Awaiting a channel's answer: [`Channel::wait_for_answer`].

use crate::error::{Error, ErrorKind};
use crate::events::Event;
use crate::models::ChannelState;
use crate::objects::{Channel, Wait};

/// `Dial` statuses that end a dial attempt without an answer.
const NOT_ANSWERED: &[&str] = &[
    "BUSY",
    "NOANSWER",
    "CANCEL",
    "CONGESTION",
    "CHANUNAVAIL",
    "DONTCALL",
    "TORTURE",
    "INVALIDARGS",
];

impl Channel {
    /// Waits until the channel is answered (its state becomes `Up`) and gives it as it is
    /// then. For a channel that is up already it answers after one `GET` of the channel.
    ///
    /// It listens first and then asks Asterisk for the channel's state, so an answer that
    /// comes meanwhile is not missed: use it right after an originate.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Failed`] when a `Dial` event reports that the call was not answered
    /// (`BUSY`, `NOANSWER`, `CONGESTION`, …), [`ErrorKind::Ended`] when the channel goes
    /// away first (the message has the hangup cause), and the errors of [`Wait`] and of
    /// `GET /channels/{id}`.
    ///
    /// ```no_run
    /// # async fn dial(client: ari_client::Client) -> ari_client::Result<()> {
    /// use std::time::Duration;
    /// let callee = client
    ///     .channels()
    ///     .originate("PJSIP/alice")
    ///     .app("dialer")
    ///     .await?;
    /// let callee = callee.wait_for_answer().timeout(Duration::from_secs(30)).await?;
    /// println!("{} answered", callee.id);
    /// # Ok(())
    /// # }
    /// ```
    pub fn wait_for_answer(&self) -> Wait<Channel> {
        let mut events = super::all_events(self.client(), crate::ObjectKind::Channel, &self.id);
        let channel = self.clone();
        Wait::new(format!("the answer of channel {}", self.id), async move {
            let now = channel.get().await?;
            if now.state == ChannelState::Up {
                return Ok(now);
            }
            let mut last_end = None;
            while let Some(event) = events.next().await {
                match &*event {
                    Event::ChannelStateChange(e) if e.channel.state == ChannelState::Up => {
                        return Ok(channel.client().channel_object(e.channel.clone()));
                    }
                    Event::StasisStart(e) if e.channel.state == ChannelState::Up => {
                        return Ok(channel.client().channel_object(e.channel.clone()));
                    }
                    Event::Dial(e) if NOT_ANSWERED.contains(&e.dialstatus.as_str()) => {
                        return Err(Error::new(ErrorKind::Failed).with_message(format!(
                            "channel {} was not answered: {}",
                            channel.id, e.dialstatus
                        )));
                    }
                    Event::ChannelDestroyed(e) => {
                        last_end = Some(format!("{} (cause {})", e.cause_txt, e.cause));
                    }
                    _ => {}
                }
            }
            Err(Error::new(ErrorKind::Ended).with_message(format!(
                "channel {} ended before it was answered{}",
                channel.id,
                last_end.map_or_else(String::new, |c| format!(": {c}"))
            )))
        })
    }
}
