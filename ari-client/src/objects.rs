//! Domain objects: the data of a channel, bridge, … as fetched, plus its client.
//!
//! An object holds a snapshot (stale by design: refresh it with its `get` method), shared
//! without copying with the event it came from, and
//! offers every operation on its id as a method, generated from the specs
//! (`channel.answer()`, `channel.play(media)`, `bridge.add_channel(channels)`, …).
//! Calling a method on an object that no longer exists on the server gives an error of
//! kind [`NotFound`](crate::ErrorKind::NotFound) with the operation's documented reason.
//! Channels, bridges, playbacks and live recordings also take event handlers that are
//! released when the object ends.

use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::sync::Arc;

use crate::client::{Client, HandlerOutput};
use crate::dispatch::{ObjectKind, Subscription};
use crate::events::Event;
use crate::rest::RestClient;
use crate::{models, EventType};

macro_rules! object {
    ($(#[$doc:meta])* $name:ident, $model:ident, $id:ident) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name {
            pub(crate) data: Arc<models::$model>,
            pub(crate) client: Client,
        }

        impl $name {
            pub(crate) fn from_parts(data: models::$model, client: Client) -> Self {
                Self::from_shared(Arc::new(data), client)
            }

            pub(crate) fn from_shared(data: Arc<models::$model>, client: Client) -> Self {
                Self { data, client }
            }

            /// The data as it was when this object was fetched or last seen in an event.
            pub fn data(&self) -> &models::$model {
                &self.data
            }

            /// The data, shared with the event it came from (no copy is made).
            pub fn shared_data(&self) -> &Arc<models::$model> {
                &self.data
            }

            /// Takes the data out (copying it only if it is still shared).
            pub fn into_data(self) -> models::$model {
                Arc::unwrap_or_clone(self.data)
            }

            /// The client this object belongs to.
            pub fn client(&self) -> &Client {
                &self.client
            }

            pub(crate) fn rest(&self) -> &RestClient {
                self.client.rest()
            }
        }

        impl Deref for $name {
            type Target = models::$model;

            fn deref(&self) -> &models::$model {
                &self.data
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.data, f)
            }
        }

        impl Client {
            #[doc = concat!("Wraps data already fetched as a [`", stringify!($name), "`] object of this client.")]
            pub fn $id(&self, data: models::$model) -> $name {
                $name::from_parts(data, self.clone())
            }
        }
    };
}

macro_rules! with_events {
    ($name:ident, $kind:expr, $accessor:ident, $id_field:ident) => {
        impl $name {
            /// Calls `handler` for every event of type `E` about this object, with the
            /// object as the event describes it. Released automatically when the object
            /// ends, or earlier through the returned [`Subscription`].
            ///
            /// An event is about this object when its own field of this kind (`channel`,
            /// `bridge`, `playback` or `recording`) names it; a `Dial` event, for example,
            /// names channels as `peer` and `caller` and so reaches no channel's handlers.
            /// Handlers run in order with the other events of the object, as described
            /// at [`Client::on_event`].
            pub fn on_event<E, F, Fut>(&self, handler: F) -> Subscription
            where
                E: EventType + Send + 'static,
                F: Fn($name, E) -> Fut + Send + Sync + 'static,
                Fut: Future + Send + 'static,
                Fut::Output: HandlerOutput,
            {
                fn make(event: &Event, client: Client) -> Option<$name> {
                    Some($name::from_shared(event.$accessor()?.clone(), client))
                }
                self.client
                    .on_object_event($kind, &self.data.$id_field, make, handler)
            }
        }
    };
}

object!(
    /// A channel: a call leg in Asterisk.
    Channel, Channel, channel_object
);
with_events!(Channel, ObjectKind::Channel, channel, id);
object!(
    /// A bridge: channels mixed or held together.
    Bridge, Bridge, bridge_object
);
with_events!(Bridge, ObjectKind::Bridge, bridge, id);
object!(
    /// A playback of media on a channel or bridge.
    Playback, Playback, playback_object
);
with_events!(Playback, ObjectKind::Playback, playback, id);
object!(
    /// A recording in progress.
    LiveRecording, LiveRecording, live_recording_object
);
with_events!(LiveRecording, ObjectKind::Recording, recording, name);
object!(
    /// A finished recording in the recordings spool.
    StoredRecording, StoredRecording, stored_recording_object
);
object!(
    /// An endpoint: a technology and resource that channels are made to.
    Endpoint, Endpoint, endpoint_object
);
object!(
    /// A device state controlled through ARI.
    DeviceState, DeviceState, device_state_object
);
object!(
    /// A mailbox's message counts.
    Mailbox, Mailbox, mailbox_object
);
object!(
    /// A sound file that can be played.
    Sound, Sound, sound_object
);
object!(
    /// A Stasis application.
    Application, Application, application_object
);

macro_rules! pending {
    ($(#[$doc:meta])* $pending:ident, $object:ident, $kind:expr, $accessor:ident, $ctor:ident) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $pending {
            id: String,
            client: Client,
        }

        impl $pending {
            /// The id to create the object with.
            pub fn id(&self) -> &str {
                &self.id
            }

            #[doc = concat!("Calls `handler` for every event of type `E` about the ", stringify!($object), " that will have this id.")]
            /// Released when the object ends, like the handlers of existing objects.
            pub fn on_event<E, F, Fut>(&self, handler: F) -> Subscription
            where
                E: EventType + Send + 'static,
                F: Fn($object, E) -> Fut + Send + Sync + 'static,
                Fut: Future + Send + 'static,
                Fut::Output: HandlerOutput,
            {
                fn make(event: &Event, client: Client) -> Option<$object> {
                    Some($object::from_shared(event.$accessor()?.clone(), client))
                }
                self.client.on_object_event($kind, &self.id, make, handler)
            }
        }

        impl fmt::Debug for $pending {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($pending)).field("id", &self.id).finish()
            }
        }

        impl Client {
            #[doc = concat!("A fresh ", stringify!($object), " id to subscribe to before the object is created, so that its first events cannot be missed.")]
            pub fn $ctor(&self) -> $pending {
                $pending {
                    id: self.new_id(),
                    client: self.clone(),
                }
            }
        }
    };
}

pending!(
    /// A channel id chosen by the client, with handlers registered before the channel
    /// exists: originate or create the channel with [`id`](Self::id) afterwards.
    PendingChannel, Channel, ObjectKind::Channel, channel, pending_channel
);
pending!(
    /// A bridge id chosen by the client, with handlers registered before the bridge exists.
    PendingBridge, Bridge, ObjectKind::Bridge, bridge, pending_bridge
);
pending!(
    /// A playback id chosen by the client, with handlers registered before the playback
    /// starts: play with this id (`play_with_id`) afterwards.
    PendingPlayback, Playback, ObjectKind::Playback, playback, pending_playback
);
