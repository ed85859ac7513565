//! Every model of the ARI specs as a Rust type, generated at build time.
//!
//! Required properties are plain fields, optional ones are `Option`s. Every list of
//! allowable values is a `#[non_exhaustive]` enum whose `Unrecognized` variant keeps values
//! the spec does not list (see [`UnknownValue`]). Unknown JSON fields are ignored.

use std::fmt;

/// A value that a generated enum does not list, kept as the server sent it.
///
/// It cannot be constructed or matched by string outside this crate: use
/// [`as_str`](Self::as_str). A value that a later version of this crate knows decodes
/// into its own variant instead.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct UnknownValue(Box<str>);

impl UnknownValue {
    pub(crate) fn new(s: &str) -> Self {
        Self(s.into())
    }

    /// The raw value.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Deserialization helpers of the generated code.
pub(crate) mod de {
    use serde::{Deserialize, Deserializer};
    use std::fmt;

    /// `null` (or a missing field, with `#[serde(default)]`) as the type's default.
    pub(crate) fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de> + Default,
    {
        Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
    }

    /// A string enum, without allocating for known values.
    pub(crate) fn string_enum<'de, D, T>(d: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: for<'a> From<&'a str>,
    {
        struct V<T>(std::marker::PhantomData<T>);
        impl<T: for<'a> From<&'a str>> serde::de::Visitor<'_> for V<T> {
            type Value = T;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<T, E> {
                Ok(T::from(v))
            }
        }
        d.deserialize_str(V(std::marker::PhantomData))
    }
}

include!(concat!(env!("OUT_DIR"), "/models.rs"));
