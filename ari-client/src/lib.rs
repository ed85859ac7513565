//! Typed async client for the Asterisk REST Interface (ARI).
//!
//! Every operation, model and event of Asterisk's ARI is generated at build time from the
//! Swagger files in `swagger-specs/`, so a misspelt event name or parameter is a compile
//! error instead of a production incident.

#![deny(missing_docs)]

mod error;
pub mod rest;
mod timestamp;

pub use error::{Error, ErrorKind, Result};
pub use timestamp::{ParseTimestampError, Timestamp};
