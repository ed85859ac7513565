//! Domain objects: the data of a channel, bridge, … as fetched, plus its client.
//!
//! An object holds a snapshot (stale by design: refresh it with its `get` method), shared
//! without copying with the event it came from, and offers every operation on its id as a
//! method, generated from the specs (`channel.answer()`, `channel.play(media)`,
//! `bridge.add_channel(channels)`, …). Calling a method on an object that no longer exists
//! on the server gives an error of kind [`NotFound`](crate::ErrorKind::NotFound) with the
//! operation's documented reason. The kinds that events name ([`ObjectKind`]) also take
//! event handlers that are released when the object ends.
//!
//! The object types, their methods and which events name and end them are generated from
//! one table (ari-codegen's domain objects); this module is the runtime behind them.

use std::borrow::Cow;
use std::future::Future;
use std::sync::Arc;

use crate::client::{Client, WeakClient};
use crate::events::{Event, EventType, ObjectKind};
use crate::handler::{self, ErasedHandler, HandlerOutput};

include!(concat!(env!("OUT_DIR"), "/objects.rs"));

/// A domain object that events name: what the dispatcher needs to bind handlers to it.
pub(crate) trait EventObject: Sized + Send + 'static {
    /// Its kind.
    const KIND: ObjectKind;

    /// The object as `event` describes it, if the event names the object with id `id`.
    fn from_event(event: &Event, id: &str, client: Client) -> Option<Self>;

    /// Its id as the dispatcher keys it.
    fn object_id(&self) -> Cow<'_, str>;
}

/// Registers `handler` for events of type `E` about the object of kind `O::KIND` with id
/// `id`: the objects' and pending objects' `on_event`.
pub(crate) fn on_object_event<O, E, F, Fut>(
    client: &Client,
    id: &str,
    handler: F,
) -> crate::Subscription
where
    O: EventObject,
    E: EventType + Send + 'static,
    F: Fn(O, E) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: HandlerOutput,
{
    let weak = client.downgrade();
    let key: Arc<str> = id.into();
    let erased: ErasedHandler = Arc::new(move |event: Event| {
        let call = with_object::<O, E>(&weak, event, &key).map(|(object, e)| handler(object, e));
        handler::run(call, E::NAME)
    });
    client
        .hub()
        .registry
        .add_object(O::KIND, id, E::KIND, erased)
}

/// Registers `handler` for every event of type `E` that names an object of kind `O::KIND`:
/// the client's `on_channel_event`, `on_bridge_event`, ….
pub(crate) fn on_kind_event<O, E, F, Fut>(client: &Client, handler: F) -> crate::Subscription
where
    O: EventObject,
    E: EventType + Send + 'static,
    F: Fn(O, E) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: HandlerOutput,
{
    let weak = client.downgrade();
    let erased: ErasedHandler = Arc::new(move |event: Event| {
        let mut first = None;
        event.for_each_object(|kind, id| {
            if kind == O::KIND && first.is_none() {
                first = Some(id.to_owned());
            }
        });
        let call = first
            .and_then(|id| with_object::<O, E>(&weak, event, &id))
            .map(|(object, e)| handler(object, e));
        handler::run(call, E::NAME)
    });
    client.hub().registry.add_type(E::KIND, erased)
}

/// Builds the object a handler receives and converts the event to `E`.
fn with_object<O: EventObject, E: EventType>(
    weak: &WeakClient,
    event: Event,
    id: &str,
) -> Option<(O, E)> {
    let client = weak.upgrade()?;
    let Some(object) = O::from_event(&event, id, client) else {
        tracing::debug!(
            event = E::NAME,
            kind = %O::KIND,
            id,
            "event does not name this object; handler skipped"
        );
        return None;
    };
    Some((object, E::from_event(event)?))
}
