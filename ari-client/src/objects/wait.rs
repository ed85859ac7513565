//! Awaiting an object's events: [`Wait`] (one outcome, with a timeout) and [`Events`] (a
//! stream of an object's events of one type until it ends).

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::dispatch::{EndReason, ObjectStream, WaitError};
use crate::error::{Error, ErrorKind, Result};
use crate::events::{Event, EventKind, EventType, ObjectKind};

/// Something awaited of an object: its next event of a type, the end of a playback, the
/// answer of a channel. `.await` it; [`timeout`](Self::timeout) bounds the wait.
///
/// What is awaited is registered when the `Wait` is made, not when it is first polled: an
/// event that arrives in between is not missed. Dropping it unregisters it.
///
/// # Errors
///
/// [`ErrorKind::Ended`] when the object ends first (the message says how: `StasisEnd`,
/// `ChannelDestroyed`, …), [`ErrorKind::Failed`] for a failed playback or recording,
/// [`ErrorKind::Timeout`] after the timeout, [`ErrorKind::Closed`] when the client is gone.
///
/// ```no_run
/// use std::time::Duration;
/// use ari_client::events::ChannelDtmfReceived;
/// # async fn ivr(channel: ari_client::objects::Channel) -> ari_client::Result<()> {
/// let prompt = channel.play("sound:press-1-or-2").await?;
/// prompt.finished().await?;
/// match channel
///     .next::<ChannelDtmfReceived>()
///     .timeout(Duration::from_secs(5))
///     .await
/// {
///     Ok(dtmf) => println!("pressed {}", dtmf.digit),
///     Err(e) if e.kind() == ari_client::ErrorKind::Timeout => println!("no digit"),
///     Err(e) => return Err(e),
/// }
/// # Ok(())
/// # }
/// ```
#[must_use = "a Wait does nothing unless awaited"]
pub struct Wait<T> {
    inner: Pin<Box<dyn Future<Output = Result<T>> + Send>>,
    deadline: Option<(Duration, Pin<Box<tokio::time::Sleep>>)>,
    what: Arc<str>,
}

impl<T> Wait<T> {
    pub(crate) fn new(
        what: impl Into<Arc<str>>,
        inner: impl Future<Output = Result<T>> + Send + 'static,
    ) -> Self {
        Self {
            inner: Box::pin(inner),
            deadline: None,
            what: what.into(),
        }
    }

    /// Gives up with [`ErrorKind::Timeout`] when the outcome is not there within `limit`.
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.deadline = Some((limit, Box::pin(tokio::time::sleep(limit))));
        self
    }
}

impl<T> Future for Wait<T> {
    type Output = Result<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        if let Poll::Ready(out) = self.inner.as_mut().poll(cx) {
            return Poll::Ready(out);
        }
        let what = self.what.clone();
        let Some((limit, sleep)) = &mut self.deadline else {
            return Poll::Pending;
        };
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => {
                Poll::Ready(Err(Error::new(ErrorKind::Timeout)
                    .with_message(format!("{what} not within {limit:?}"))))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T> fmt::Debug for Wait<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wait")
            .field("what", &self.what)
            .field("timeout", &self.deadline.as_ref().map(|(d, _)| d))
            .finish()
    }
}

/// The error of a wait that ended without its event.
pub(crate) fn wait_error(kind: ObjectKind, id: &str, awaited: &str, e: WaitError) -> Error {
    match e {
        WaitError::Closed => Error::new(ErrorKind::Closed).with_message(format!(
            "the client is gone while awaiting {awaited} of {kind} {id}"
        )),
        WaitError::Ended(reason) => ended(kind, id, Some(awaited), &reason),
    }
}

/// The error for an object that ended (before `awaited`, if given).
pub(crate) fn ended(
    kind: ObjectKind,
    id: &str,
    awaited: Option<&str>,
    reason: &EndReason,
) -> Error {
    let error_kind = match reason {
        EndReason::Event(EventKind::RecordingFailed) => ErrorKind::Failed,
        _ => ErrorKind::Ended,
    };
    let before = awaited.map_or_else(String::new, |a| format!(" before {a}"));
    Error::new(error_kind).with_message(format!("{kind} {id} ended ({reason}){before}"))
}

/// The events of type `E` about one object, from when the stream was made until the
/// object ends (its end event included, if it is of type `E`). Made by the objects'
/// `events` methods. It is bounded: while it is full, the websocket reader waits for it
/// (nothing is dropped), so keep reading it or drop it.
pub struct Events<E> {
    inner: ObjectStream,
    _event: PhantomData<fn() -> E>,
}

impl<E: EventType> Events<E> {
    pub(crate) fn new(inner: ObjectStream) -> Self {
        Self {
            inner,
            _event: PhantomData,
        }
    }

    /// The next event, or `None` once the object ended.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if the future is dropped before it completes, no event is lost.
    pub async fn next(&mut self) -> Option<E> {
        std::future::poll_fn(|cx| self.poll_event(cx)).await
    }

    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<E>> {
        loop {
            match self.inner.poll_next(cx) {
                Poll::Ready(Some(event)) => {
                    if let Some(e) = E::from_event(Arc::unwrap_or_clone(event)) {
                        return Poll::Ready(Some(e));
                    }
                }
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl<E: EventType> futures_util::Stream for Events<E> {
    type Item = E;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<E>> {
        self.get_mut().poll_event(cx)
    }
}

impl<E> fmt::Debug for Events<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Events").finish_non_exhaustive()
    }
}

/// Every event about one object (untyped), for the waits of this module.
pub(crate) struct AllEvents(pub(crate) ObjectStream);

impl AllEvents {
    pub(crate) async fn next(&mut self) -> Option<Arc<Event>> {
        std::future::poll_fn(|cx| self.0.poll_next(cx)).await
    }
}
