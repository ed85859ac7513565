//! Awaiting a channel's answer: [`Channel::wait_for_answer`].

use std::time::Duration;

use crate::error::{Error, ErrorKind};
use crate::events::{ChannelDestroyed, Event};
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

fn not_answered(id: &str, why: &str) -> Error {
    Error::new(ErrorKind::Failed).with_message(format!("channel {id} was not answered: {why}"))
}

impl Channel {
    /// Waits until the channel is answered (its state becomes `Up`) and gives it as it is
    /// then. For a channel that is up already it answers after one `GET` of the channel.
    ///
    /// It listens first and then asks Asterisk for the channel's state, so an answer (or a
    /// hangup) that comes meanwhile is not missed: use it right after an originate.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Failed`] when the call is not answered: a `Dial` event reports it
    /// (`BUSY`, `NOANSWER`, `CONGESTION`, …) or the channel goes away first (the message
    /// has the hangup cause, e.g. `User busy (cause 17)`); and the errors of [`Wait`] and
    /// of `GET /channels/{id}`.
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
            match channel.get().await {
                Ok(now) if now.state == ChannelState::Up => return Ok(now),
                Ok(_) => {}
                // gone already: the events received meanwhile say how
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
            let mut cause = None;
            while let Some(event) = events.next().await {
                match &*event {
                    Event::ChannelStateChange(e) if e.channel.state == ChannelState::Up => {
                        return Ok(channel.client().object(e.channel.clone()));
                    }
                    Event::StasisStart(e) if e.channel.state == ChannelState::Up => {
                        return Ok(channel.client().object(e.channel.clone()));
                    }
                    Event::Dial(e) if NOT_ANSWERED.contains(&e.dialstatus.as_str()) => {
                        return Err(not_answered(&channel.id, &e.dialstatus));
                    }
                    Event::ChannelDestroyed(e) => {
                        cause = Some(format!("{} (cause {})", e.cause_txt, e.cause));
                    }
                    _ => {}
                }
            }
            // gone before the stream began: its end event says why
            if cause.is_none() {
                let end = super::next::<Channel, ChannelDestroyed>(
                    channel.client(),
                    &channel.id,
                    super::Known::Seen,
                );
                if let Ok(e) = end.timeout(Duration::ZERO).await {
                    cause = Some(format!("{} (cause {})", e.cause_txt, e.cause));
                }
            }
            Err(not_answered(
                &channel.id,
                cause.as_deref().unwrap_or("the channel ended"),
            ))
        })
    }
}
