//! What handlers return, and the type-erased form the dispatcher stores.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::events::Event;

/// The future of one handler call.
pub(crate) type HandlerFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A type-erased handler: takes the event, returns the future that handles it.
pub(crate) type ErasedHandler = Arc<dyn Fn(Event) -> HandlerFuture + Send + Sync>;

/// What a handler may return: nothing, or a `Result` whose error is logged.
pub trait HandlerOutput: Send + 'static {
    /// Reports the outcome of a handler call for an event of type `event`.
    fn report(self, event: &'static str);
}

impl HandlerOutput for () {
    fn report(self, _event: &'static str) {}
}

impl<E: fmt::Display + Send + 'static> HandlerOutput for std::result::Result<(), E> {
    fn report(self, event: &'static str) {
        if let Err(e) = self {
            tracing::warn!(event, error = %e, "ARI event handler failed");
        }
    }
}

/// The future of one handler call: awaits the user's future, if the event was for it, and
/// reports its outcome.
pub(crate) fn run<Fut>(call: Option<Fut>, event: &'static str) -> HandlerFuture
where
    Fut: Future + Send + 'static,
    Fut::Output: HandlerOutput,
{
    Box::pin(async move {
        if let Some(call) = call {
            call.await.report(event);
        }
    })
}
