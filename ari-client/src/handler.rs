//! What handlers are to the dispatcher: type-erased functions from an event to the future
//! that handles it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::error::Result;
use crate::events::{Event, EventType, ObjectKind};

/// The future of one handler call.
pub(crate) type HandlerFuture = Pin<Box<dyn Future<Output = Result<()>> + Send>>;

/// What a handler is called for besides the event: the object whose lane runs it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx<'a> {
    pub(crate) object: Option<(ObjectKind, &'a str)>,
}

/// A type-erased handler: the future that handles the event, or `None` when the event is
/// not for it (another type, or an object it cannot build).
pub(crate) type ErasedHandler = Arc<dyn Fn(Event, Ctx<'_>) -> Option<HandlerFuture> + Send + Sync>;

/// A handler of every event of type `E`.
pub(crate) fn of_type<E, F, Fut>(handler: F) -> ErasedHandler
where
    E: EventType + Send + 'static,
    F: Fn(E) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    Arc::new(move |event: Event, _ctx: Ctx<'_>| {
        let call = handler(E::from_event(event)?);
        Some(Box::pin(call) as HandlerFuture)
    })
}
