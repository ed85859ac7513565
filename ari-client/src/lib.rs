#![doc = include_str!("../README.md")]
//!
//! # Where things are
//!
//! - [`Client`] connects, runs the event websocket (with reconnects), and dispatches events
//!   to typed handlers ([`Client::on_event`], [`Client::on_channel_event`], …) or to a
//!   [`Client::events`] stream.
//! - [`api`] has one repository per ARI resource (`client.channels()`, `client.bridges()`, …)
//!   with one method per operation; optional parameters are setters on a builder that
//!   `.await` sends.
//! - [`objects`] are the domain objects (`Channel`, `Bridge`, `Playback`, …) that every
//!   operation returns and every handler receives: data as fetched, every operation on
//!   their id as a method (`channel.answer()`), handlers, and awaitables
//!   (`channel.next::<E>()`, `playback.finished()`, `channel.wait_for_answer()`).
//! - [`models`] and [`events`] are the data types of the API.
//! - [`outbound`] is for the other direction: Asterisk connects to the application
//!   (outbound websockets, one for the applications or one per call).
//! - [`media`] is a call's audio over an external-media channel (websocket or RTP).
//! - [`cluster`] serves several Asterisk nodes from one process: one client per node, one
//!   set of handlers, objects that know their node.
//! - `nats` (the `nats` feature) spreads calls over several app processes: a relay per
//!   Asterisk node publishes its events on a NATS server, and each call is owned by one
//!   app instance.
//! - `testing` (the `testing` feature) is a fake Asterisk for your application's tests.
//! - [`ServerApi`] is what the server serves, read at connect: an operation or parameter it
//!   lacks fails with [`ErrorKind::Unsupported`] before anything is sent.

#![deny(missing_docs)]

// The modules form layers. Bottom up, each one names only those listed before it
// (tests/layers.rs checks it):
// layers: error random timestamp models scan events rest config ws handler dispatch
// layers: connection client objects api server_api connect outbound media cluster nats
// layers: properties testing
pub mod api;
mod client;
pub mod cluster;
mod config;
mod connect;
mod connection;
mod dispatch;
mod error;
pub mod events;
mod handler;
pub mod media;
pub mod models;
#[cfg(feature = "nats")]
pub mod nats;
pub mod objects;
pub mod outbound;
mod random;
mod rest;
mod scan;
mod server_api;
#[cfg(feature = "testing")]
pub mod testing;
mod timestamp;
mod ws;

/// The properties of the event path that the unit tests and the fuzz targets check (the
/// `fuzzing` feature): not an API.
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod properties;

pub use client::{Client, StateChanges};
pub use config::{ClientBuilder, ReconnectPolicy};
pub use connection::ConnectionState;
pub use dispatch::{DispatchStats, EventStream, Subscription};
pub use error::{Error, ErrorKind, Result};
pub use events::{Event, EventKind, EventType, ObjectKind};
pub use rest::{RestTransport, ServerApi};
pub use timestamp::{ParseTimestampError, Timestamp};

/// The repository's README: its example is compiled as a doctest too.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct RepositoryReadme;
