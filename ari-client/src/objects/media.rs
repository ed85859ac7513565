//! Awaiting the end of media: [`Playback::finished`] and [`LiveRecording::finished`].

use crate::error::{Error, ErrorKind};
use crate::events::{PlaybackFinished, RecordingFinished};
use crate::models::PlaybackState;
use crate::objects::{LiveRecording, Playback, Wait};

impl Playback {
    /// Waits until the playback has finished: played to its end, or stopped
    /// (`DELETE /playbacks/{id}`). A playback that finished already answers at once.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Failed`] when Asterisk reports the playback `failed`: its media could
    /// not be found, or the channel or bridge it played on went away (a hangup during
    /// the prompt); plus the errors of [`Wait`].
    pub fn finished(&self) -> Wait<PlaybackFinished> {
        let next = self.next::<PlaybackFinished>();
        let id = self.id.clone();
        let target = self.target_uri.clone();
        Wait::new(format!("the end of playback {id}"), async move {
            let finished = next.await?;
            if finished.playback.state == PlaybackState::Failed {
                return Err(Error::new(ErrorKind::Failed).with_message(format!(
                    "playback {id} on {target} failed (media not found, or its channel or bridge went away)"
                )));
            }
            Ok(finished)
        })
    }
}

impl LiveRecording {
    /// Waits until the recording has finished (its maximum duration or silence, a
    /// terminating digit, `stop`, or a hangup). A recording that finished already
    /// answers at once.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Failed`] when Asterisk reports `RecordingFailed`; plus the errors of
    /// [`Wait`].
    pub fn finished(&self) -> Wait<RecordingFinished> {
        self.next::<RecordingFinished>()
    }
}
