//! One repository per ARI resource, generated at build time.
//!
//! Each method takes the operation's required parameters and returns a `#[must_use]`
//! builder with a setter per optional parameter; `.await` the builder (or call its
//! `send()`) to send the request.

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

include!(concat!(env!("OUT_DIR"), "/api.rs"));

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

/// The methods of the domain objects (`crate::objects::Channel::answer`, …).
mod object_methods {
    include!(concat!(env!("OUT_DIR"), "/objects.rs"));
}
