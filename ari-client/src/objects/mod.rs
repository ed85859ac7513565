//! Domain objects: one type per resource (`Channel`, `Bridge`, `Playback`, …), which every
//! operation returns and every handler receives.
//!
//! An object holds a snapshot of its data (stale by design: refresh it with its `get`
//! method), shared without copying with the event it came from, and offers every
//! operation on its id as a method, generated from the specs (`channel.answer()`,
//! `channel.play(media)`, `bridge.add_channel(channels)`, …). Calling a method on an object
//! that no longer exists on the server gives an error of kind
//! [`NotFound`](crate::ErrorKind::NotFound) with the operation's documented reason.
//!
//! The kinds that events name ([`ObjectKind`]) also take event handlers (`on_event`) and
//! can be awaited: `next::<E>()`, a stream of their events (`events::<E>()`),
//! [`Playback::finished`], [`LiveRecording::finished`], [`Channel::wait_for_answer`]. Their
//! handlers and waiters are released when the object ends, after its end event reached
//! them. How the events of objects are ordered and run is described at
//! [`Client::on_event`](crate::Client::on_event).
//!
//! The object types, their methods and which events name and end them are generated from
//! one table (ari-codegen's domain objects); this module is the runtime behind them.

mod channel;
mod media;
mod wait;

use std::borrow::Cow;
use std::future::Future;
use std::sync::Arc;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::events::{Event, EventType, ObjectKind};
use crate::handler::{Ctx, ErasedHandler, HandlerFuture};

pub use wait::{Events, Wait};

include!(concat!(env!("OUT_DIR"), "/objects.rs"));

/// A model that is a domain object's data: [`Client::object`] makes the object of it.
/// Implemented by the models of every object type of this module; sealed.
pub trait DomainModel: Sized + private::Sealed {
    /// The object type.
    type Object;

    #[doc(hidden)]
    fn into_object(data: Arc<Self>, client: Client) -> Self::Object;
}

mod private {
    /// Keeps [`DomainModel`](super::DomainModel) implemented by this crate's models only.
    pub trait Sealed {}
}

/// A domain object's data, owned or shared: what [`Client::object`] takes.
pub trait ObjectData {
    /// The model.
    type Model: DomainModel;

    #[doc(hidden)]
    fn into_shared(self) -> Arc<Self::Model>;
}

impl<M: DomainModel> ObjectData for M {
    type Model = M;

    fn into_shared(self) -> Arc<M> {
        Arc::new(self)
    }
}

impl<M: DomainModel> ObjectData for Arc<M> {
    type Model = M;

    fn into_shared(self) -> Arc<M> {
        self
    }
}

impl Client {
    /// The domain object of data you have already — an event's field, a model you made:
    /// `client.object(dial.peer)` is a [`Channel`] of this client.
    pub fn object<D: ObjectData>(&self, data: D) -> <D::Model as DomainModel>::Object {
        D::Model::into_object(data.into_shared(), self.clone())
    }
}

/// A domain object that events name: what the dispatcher needs to bind handlers to it.
pub(crate) trait EventObject: Sized + Send + 'static {
    /// Its kind.
    const KIND: ObjectKind;

    /// The object as `event` describes it, if the event names the object with id `id`.
    fn from_event(event: &Event, id: &str, client: Client) -> Option<Self>;

    /// Its id as the dispatcher keys it.
    fn object_id(&self) -> Cow<'_, str>;
}

/// Whether the object a handler or waiter is for exists on the server: a domain object was
/// made of the server's data (an event's, a request's answer), a pending one only has the
/// id the application chose. The resync after a reconnect checks the objects that exist
/// and ends those that are gone; a pending one is not checked before the server names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Known {
    /// A domain object (`Channel`, `Bridge`, …).
    Seen,
    /// A pending object (`PendingChannel`, …).
    Pending,
}

/// After a handler or waiter was registered on an object: see [`interest`] and [`Known`].
fn registered(client: &Client, kind: ObjectKind, id: &str, first: bool, known: Known) {
    if first {
        interest(client, kind, id);
    }
    if known == Known::Seen {
        client.hub().seen(kind, id);
    }
}

/// Registers `handler` for events of type `E` about the object of kind `O::KIND` with id
/// `id`: the objects' and pending objects' `on_event`.
pub(crate) fn on_object_event<O, E, F, Fut>(
    client: &Client,
    id: &str,
    known: Known,
    handler: F,
) -> Result<crate::Subscription>
where
    O: EventObject,
    E: EventType + Send + 'static,
    F: Fn(O, E) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    let weak = client.downgrade();
    // it runs in the lane of its object: the lane's id is the object's
    let erased: ErasedHandler = Arc::new(move |event: Event, ctx: Ctx<'_>| {
        let (_, id) = ctx.object?;
        let object = O::from_event(&event, id, weak.upgrade()?)?;
        let call = handler(object, E::from_event(event)?);
        Some(Box::pin(call) as HandlerFuture)
    });
    let handler = client
        .hub()
        .add_object(O::KIND, id, E::KIND, erased)
        .map_err(|reason| wait::ended(O::KIND, id, None, &reason))?;
    registered(client, O::KIND, id, handler.first, known);
    Ok(handler.value)
}

/// Registers `handler` for every event of type `E` that names an object of kind `O::KIND`:
/// the client's `on_channel_event`, `on_bridge_event`, …. It runs in the lane of the
/// event's first object of that kind.
pub(crate) fn on_kind_event<O, E, F, Fut>(client: &Client, handler: F) -> crate::Subscription
where
    O: EventObject,
    E: EventType + Send + 'static,
    F: Fn(O, E) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    let weak = client.downgrade();
    let erased: ErasedHandler = Arc::new(move |event: Event, ctx: Ctx<'_>| {
        let (_, id) = ctx.object?;
        let object = O::from_event(&event, id, weak.upgrade()?)?;
        let call = handler(object, E::from_event(event)?);
        Some(Box::pin(call) as HandlerFuture)
    });
    client.hub().add_type(E::KIND, Some(O::KIND), erased)
}

/// The next event of type `E` about one object.
pub(crate) fn next<O: EventObject, E: EventType + Send + 'static>(
    client: &Client,
    id: &str,
    known: Known,
) -> Wait<E> {
    let waiter = client.hub().wait_once(O::KIND, id, Some(E::KIND));
    registered(client, O::KIND, id, waiter.first, known);
    let next = waiter.value;
    let id: Arc<str> = id.into();
    let what = format!("{} of {} {id}", E::NAME, O::KIND);
    Wait::new(what, async move {
        match next.await {
            Ok(event) => E::from_event(Arc::unwrap_or_clone(event)).ok_or_else(|| {
                Error::new(crate::ErrorKind::Decode)
                    .with_message(format!("an event of another type than {}", E::NAME))
            }),
            Err(e) => Err(wait::wait_error(O::KIND, &id, E::NAME, e)),
        }
    })
}

/// The events of type `E` about one object until it ends.
pub(crate) fn events<O: EventObject, E: EventType>(
    client: &Client,
    id: &str,
    known: Known,
) -> Events<E> {
    let stream = client.hub().wait_stream(O::KIND, id, Some(E::KIND));
    registered(client, O::KIND, id, stream.first, known);
    Events::new(stream.value)
}

/// Every event about one (domain) object until it ends, for the waits of this module.
fn all_events(client: &Client, kind: ObjectKind, id: &str) -> wait::AllEvents {
    let stream = client.hub().wait_stream(kind, id, None);
    registered(client, kind, id, stream.first, Known::Seen);
    wait::AllEvents(stream.value)
}

/// The first handler or waiter of an object: the client may subscribe its application to
/// the object so that the object's end event comes (see `Client::interest`).
fn interest(client: &Client, kind: ObjectKind, id: &str) {
    if kind.end_needs_subscription() {
        client.interest(kind, id);
    }
}

/// After a request that subscribed application `app` to event sources (`on`), or
/// unsubscribed it: the objects they name (`channel:<id>`, `bridge:<id>`, …) are tracked
/// as subscribed. Sources of a whole kind (`channel:`) and of unknown kinds name none.
pub(crate) fn subscribed(client: &Client, app: &str, sources: &[String], on: bool) {
    for source in sources {
        if let Some((kind, id)) = ObjectKind::named_by_source(source) {
            client.hub().app_subscription(kind, id, app, on);
        }
    }
}

/// Before a request that creates an object: where the event stream is (for [`created`]).
pub(crate) fn before_create(client: &Client) -> u64 {
    client.hub().routed()
}

/// After a request that creates an object of kind `kind`, sent at `since` (from
/// [`before_create`]): a success makes it live (with `subscribed` telling whether the
/// application stays subscribed to it), a failure releases what was registered for the
/// requested id.
pub(crate) fn created(
    client: &Client,
    kind: ObjectKind,
    since: u64,
    requested: Option<&str>,
    outcome: std::result::Result<&str, &Error>,
    subscribed: bool,
) {
    match (outcome, requested) {
        (Ok(id), _) => client.hub().created(kind, id, subscribed, since),
        (Err(_), Some(id)) => client.hub().creation_failed(kind, id),
        (Err(_), None) => {}
    }
}

/// After a request that destroys an object: it ends now unless its end event will come.
pub(crate) fn destroyed(client: &Client, kind: ObjectKind, id: &str) {
    client.hub().destroyed(kind, id);
}
