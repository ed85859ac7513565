//! [`EventType`]: typed access to one variant of [`Event`].

use crate::events::Event;

/// Implemented by every event struct (`StasisStart`, `ChannelDtmfReceived`, …): its `type`
/// string and the conversions out of [`Event`]. Typed handlers use it, e.g. a handler for
/// `StasisStart` receives only those events.
pub trait EventType: Sized {
    /// The event's `type` on the wire (`"StasisStart"`).
    const NAME: &'static str;

    /// The payload, if `event` is this type.
    fn from_event(event: Event) -> Option<Self>;

    /// The payload by reference, if `event` is this type.
    fn from_ref(event: &Event) -> Option<&Self>;
}
