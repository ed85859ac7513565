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

/// Where an answered channel is, by the dialplan application its snapshot names.
#[derive(Debug, PartialEq, Eq)]
enum Answered {
    /// Not answered (yet).
    No,
    /// Answered, but its originate is still finishing (`AppDial2`, "(Outgoing Line)"):
    /// it enters the application or the dialplan next.
    Dialling,
    /// Answered, and in `Stasis()`: in the application, or about to get its `StasisStart`.
    InStasis,
    /// Answered, elsewhere in the dialplan.
    Elsewhere,
}

fn answered(channel: &crate::models::Channel) -> Answered {
    if channel.state != ChannelState::Up {
        return Answered::No;
    }
    match channel.dialplan.app_name.as_str() {
        "AppDial2" => Answered::Dialling,
        "Stasis" => Answered::InStasis,
        _ => Answered::Elsewhere,
    }
}

impl Channel {
    /// Waits until the channel is answered (its state becomes `Up`) and is where the
    /// application can use it, and gives it as it is then: for a channel originated into
    /// the application, once its `StasisStart` has arrived. Asterisk sends the
    /// `ChannelStateChange` to `Up` of such a channel before it enters the application, and
    /// a request made in between (adding it to a bridge) fails with 422 "Channel not in
    /// Stasis application". For a channel that is up already it answers after one `GET` of
    /// the channel (and, for one up in `Stasis()`, an `answer`, which Asterisk accepts
    /// without doing anything from a channel in the application and refuses with 422 from
    /// one that is not in it yet).
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
            // whether the channel is in the application (its StasisStart came, or it was in
            // Stasis() before it was answered, as a channel the application created is)
            let mut in_app = false;
            match channel.get().await {
                Ok(now) => match answered(&now) {
                    Answered::Elsewhere => return Ok(now),
                    // up in Stasis(): in the application already, or entering it (its
                    // StasisStart is on its way); an answer tells which
                    Answered::InStasis => match now.answer().await {
                        Ok(()) => return Ok(now),
                        Err(e) if e.kind() == ErrorKind::Unprocessable || e.is_not_found() => {}
                        Err(e) => return Err(e),
                    },
                    Answered::No => in_app = now.dialplan.app_name == "Stasis",
                    Answered::Dialling => {}
                },
                // gone already: the events received meanwhile say how
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
            let mut cause = None;
            while let Some(event) = events.next().await {
                match &*event {
                    Event::StasisStart(e) => {
                        if e.channel.state == ChannelState::Up {
                            return Ok(channel.client().object(e.channel.clone()));
                        }
                        in_app = true;
                    }
                    Event::Dial(e) if NOT_ANSWERED.contains(&e.dialstatus.as_str()) => {
                        return Err(not_answered(&channel.id, &e.dialstatus));
                    }
                    Event::ChannelDestroyed(e) => {
                        cause = Some(format!("{} (cause {})", e.cause_txt, e.cause));
                    }
                    // answered in the application, or gone on into the dialplan
                    event => {
                        let ready =
                            |now: &&std::sync::Arc<crate::models::Channel>| match answered(now) {
                                Answered::Elsewhere => true,
                                Answered::InStasis => in_app,
                                Answered::No | Answered::Dialling => false,
                            };
                        if let Some(now) = event.find_channel(&channel.id).filter(ready) {
                            return Ok(channel.client().object(now.clone()));
                        }
                    }
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
