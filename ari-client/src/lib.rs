//! Typed async client for the Asterisk REST Interface (ARI).
//!
//! Every operation, model and event of Asterisk's ARI is generated at build time from the
//! Swagger files in `swagger-specs/`, so a misspelt event name or parameter is a compile
//! error instead of a production incident.
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
//!
//! ```no_run
//! use ari_client::events::{ChannelDtmfReceived, StasisStart};
//! use ari_client::objects::Channel;
//! use ari_client::Client;
//!
//! # async fn demo() -> ari_client::Result<()> {
//! let client = Client::connect("http://127.0.0.1:8088", "asterisk", "asterisk").await?;
//! client.on_channel_event(|channel: Channel, _e: StasisStart| async move {
//!     channel.on_event(|channel: Channel, e: ChannelDtmfReceived| async move {
//!         channel.play(format!("sound:digits/{}", e.digit)).await?;
//!         Ok::<_, ari_client::Error>(())
//!     });
//!     channel.answer().await?;
//!     channel.play("sound:hello-world").await?;
//!     Ok::<_, ari_client::Error>(())
//! });
//! client.run(["hello"]).await
//! # }
//! ```

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
mod timestamp;

pub use client::{Client, HandlerOutput, StateChanges};
pub use config::{ClientBuilder, ReconnectPolicy};
pub use connection::ConnectionState;
pub use dispatch::{DispatchStats, EventStream, Subscription};
pub use error::{Error, ErrorKind, Result};
pub use event_type::EventType;
pub use events::Event;
pub use timestamp::{ParseTimestampError, Timestamp};
