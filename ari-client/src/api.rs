//! One repository per ARI resource, generated at build time.
//!
//! `client.channels()`, `client.bridges()`, … give the repositories. Each method takes the
//! operation's required parameters and returns a `#[must_use]` builder with a setter per
//! optional parameter; `.await` the builder (or call its `send()`) to send the request.
//! Builders are named after their resource and operation (`ChannelPlay`, `BridgePlay`).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use serde::ser::{Serialize, SerializeMap, Serializer};

/// A body `{"<key>": value}`.
pub(crate) struct Wrapped<'a, T: ?Sized>(pub(crate) &'static str, pub(crate) &'a T);

impl<T: Serialize + ?Sized> Serialize for Wrapped<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(1))?;
        map.serialize_entry(self.0, self.1)?;
        map.end()
    }
}

include!(concat!(env!("OUT_DIR"), "/api/mod.rs"));

impl OperationId {
    /// `resource.nickname`, as the specs name it: `channels.originate`.
    pub fn name(self) -> &'static str {
        self.operation().name
    }

    /// The HTTP method: `GET`, `POST`, `PUT` or `DELETE`.
    pub fn method(self) -> &'static str {
        self.operation().method.as_str()
    }

    /// The path template under `/ari`: `/channels/{channelId}/play`.
    pub fn path(self) -> &'static str {
        self.operation().path
    }

    /// The wire names of its parameters, in the specs' order: those of the path, the query
    /// and the body.
    pub fn parameters(self) -> &'static [&'static str] {
        self.operation().params
    }

    /// The Asterisk releases the specs say it first appeared in, one per branch
    /// (`["20.13.0", "21.8.0", "22.3.0"]`), sorted; empty when the specs do not say (they
    /// do from Asterisk 20.13, 21.8 and 22.3 on, and are sometimes wrong: see
    /// `docs/ari-spec-notes.md`).
    pub fn since(self) -> &'static [&'static str] {
        self.operation().since
    }
}

/// The future of a request: what `.await` on a builder gives. It resolves to the
/// operation's result; dropping it cancels the request.
#[must_use = "futures do nothing unless polled"]
pub struct ResponseFuture<T> {
    inner: Pin<Box<dyn Future<Output = crate::Result<T>> + Send>>,
}

impl<T> ResponseFuture<T> {
    pub(crate) fn new(future: impl Future<Output = crate::Result<T>> + Send + 'static) -> Self {
        Self {
            inner: Box::pin(future),
        }
    }
}

impl<T> Future for ResponseFuture<T> {
    type Output = crate::Result<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

impl<T> fmt::Debug for ResponseFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

/// One or several string values of a multi-value parameter (`media`, `channel`, …): a
/// single `&str`/`String`, or an array, slice or `Vec` of them. Asterisk receives them as
/// one comma-separated value.
pub trait IntoStrings {
    /// The values.
    fn into_strings(self) -> Vec<String>;
}

impl IntoStrings for &str {
    fn into_strings(self) -> Vec<String> {
        vec![self.to_owned()]
    }
}

impl IntoStrings for String {
    fn into_strings(self) -> Vec<String> {
        vec![self]
    }
}

impl IntoStrings for &String {
    fn into_strings(self) -> Vec<String> {
        vec![self.clone()]
    }
}

impl<T: Into<String>> IntoStrings for Vec<T> {
    fn into_strings(self) -> Vec<String> {
        self.into_iter().map(Into::into).collect()
    }
}

impl<T: Into<String>, const N: usize> IntoStrings for [T; N] {
    fn into_strings(self) -> Vec<String> {
        self.into_iter().map(Into::into).collect()
    }
}

impl<T: Into<String> + Clone> IntoStrings for &[T] {
    fn into_strings(self) -> Vec<String> {
        self.iter().cloned().map(Into::into).collect()
    }
}
