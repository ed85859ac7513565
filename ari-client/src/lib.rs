#![doc = include_str!("../README.md")]
//!
//! # Where things are
//!
//! - [`Client`] connects, runs the event websocket (with reconnects), and dispatches events
//!   to typed handlers ([`Client::on_event`], [`Client::on_channel_event`]) or to a
//!   [`Client::events`] stream.
//! - [`api`] has one repository per ARI resource (`client.channels()`, `client.bridges()`, …)
//!   with one method per operation; optional parameters are setters on a builder that
//!   `.await` sends.
//! - [`objects`] are the domain objects (`Channel`, `Bridge`, `Playback`, …): data as
//!   fetched, plus every operation on their id as a method (`channel.answer()`).
//! - [`models`] and [`events`] are the data types of the API.

#![deny(missing_docs)]

pub mod api;
mod client;
mod config;
mod connection;
mod dispatch;
mod error;
mod event_type;
pub mod events;
pub mod models;
pub mod objects;
pub mod rest;
mod scan;
mod timestamp;

pub use client::{Client, HandlerOutput, StateChanges};
pub use config::{ClientBuilder, ReconnectPolicy};
pub use connection::ConnectionState;
pub use dispatch::{DispatchStats, EventStream, Subscription};
pub use error::{Error, ErrorKind, Result};
pub use event_type::EventType;
pub use events::Event;
pub use timestamp::{ParseTimestampError, Timestamp};
