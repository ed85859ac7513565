//! The REST transport that the generated repositories call.
//!
//! Generated code describes each call with a static `Operation` and builds a `Request`:
//! the path with every segment percent-encoded, query parameters (multi-value ones
//! comma-joined), and at most one JSON body. The `RestClient` sends it and maps the
//! answer: a JSON model, `()` for no content, raw bytes for binary responses, or an
//! [`Error`] that carries the operation's documented reason for the status.

mod transport;

use std::fmt::{self, Display, Write as _};

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::error::{Error, ErrorKind, Result};

pub(crate) use transport::RestClient;

/// Characters that stay literal in a path segment or query value: RFC 3986's unreserved set.
/// Everything else, including `/`, `+`, `?`, `#`, `%`, `,` and spaces, is percent-encoded.
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// An HTTP method of the ARI specs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Post,
    Put,
    Delete,
}

/// What generated code knows about one operation, for requests and error reports.
#[derive(Debug)]
pub(crate) struct Operation {
    /// `resource.nickname`, e.g. `channels.hangup`.
    pub(crate) name: &'static str,
    pub(crate) method: Method,
    /// The error statuses the spec documents, with their reasons.
    pub(crate) errors: &'static [(u16, &'static str)],
}

impl Operation {
    /// The documented reason for an error status, if the spec lists one.
    pub(crate) fn reason(&self, status: u16) -> Option<&'static str> {
        self.errors
            .iter()
            .find(|(code, _)| *code == status)
            .map(|(_, reason)| *reason)
    }
}

/// One path segment, percent-encoded so that it cannot add, remove or change segments.
///
/// Empty, `.` and `..` segments would address another resource after URL normalisation,
/// so they are refused with [`ErrorKind::InvalidArgument`].
pub(crate) fn segment(name: &'static str, value: &str) -> Result<String> {
    if value.is_empty() || value == "." || value == ".." {
        return Err(Error::new(ErrorKind::InvalidArgument)
            .with_message(format!("path parameter `{name}` cannot be {value:?}")));
    }
    Ok(utf8_percent_encode(value, ENCODE).to_string())
}

/// A request under construction.
#[derive(Debug)]
pub(crate) struct Request {
    pub(crate) op: &'static Operation,
    pub(crate) path: String,
    pub(crate) query: String,
    pub(crate) body: Option<Vec<u8>>,
}

impl Request {
    /// A request for `op` to `path` (relative to the `/ari` base, segments already encoded).
    pub(crate) fn new(op: &'static Operation, path: String) -> Self {
        Self {
            op,
            path,
            query: String::new(),
            body: None,
        }
    }

    fn start_param(&mut self, name: &str) {
        self.query
            .push(if self.query.is_empty() { '?' } else { '&' });
        self.query
            .extend(utf8_percent_encode(name, ENCODE).map(|s| s.to_string()));
        self.query.push('=');
    }

    fn push_encoded(&mut self, value: impl Display) {
        // `Display` output is encoded as it is written, without an intermediate String
        struct Encoder<'a>(&'a mut String);
        impl fmt::Write for Encoder<'_> {
            fn write_str(&mut self, s: &str) -> fmt::Result {
                for part in utf8_percent_encode(s, ENCODE) {
                    self.0.push_str(part);
                }
                Ok(())
            }
        }
        // writing into a String cannot fail
        let _ = write!(Encoder(&mut self.query), "{value}");
    }

    /// Adds `name=value` to the query string.
    pub(crate) fn query(&mut self, name: &str, value: impl Display) {
        self.start_param(name);
        self.push_encoded(value);
    }

    /// Adds a multi-value parameter as Asterisk reads it: one comma-joined value.
    pub(crate) fn query_list<T: Display>(&mut self, name: &str, values: &[T]) {
        self.start_param(name);
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                self.query.push(',');
            }
            self.push_encoded(value);
        }
    }

    /// Sets the JSON body.
    pub(crate) fn json_body<B: serde::Serialize + ?Sized>(&mut self, body: &B) -> Result<()> {
        let bytes = serde_json::to_vec(body).map_err(|e| {
            Error::new(ErrorKind::InvalidArgument)
                .with_operation(self.op.name)
                .with_source(e)
        })?;
        self.body = Some(bytes);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static OP: Operation = Operation {
        name: "test.op",
        method: Method::Get,
        errors: &[(404, "Thing not found"), (409, "Thing busy")],
    };

    #[test]
    fn hostile_segments_are_encoded() {
        assert_eq!(segment("id", "a/b").unwrap(), "a%2Fb");
        assert_eq!(segment("id", "a+b c").unwrap(), "a%2Bb%20c");
        assert_eq!(segment("id", "x?y#z%").unwrap(), "x%3Fy%23z%25");
        assert_eq!(segment("id", "é").unwrap(), "%C3%A9");
        assert_eq!(segment("id", "call-1;2").unwrap(), "call-1%3B2");
        assert_eq!(segment("id", "a.b_c~d").unwrap(), "a.b_c~d");
        for bad in ["", ".", ".."] {
            let e = segment("id", bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        }
    }

    #[test]
    fn query_is_encoded_and_lists_are_comma_joined() {
        let mut r = Request::new(&OP, "/x".into());
        r.query("media", "sound:hello world&x=1");
        r.query("timeout", 30);
        r.query("early", true);
        r.query_list("media", &["a,b", "c"]);
        r.query_list::<&str>("empty", &[]);
        assert_eq!(
            r.query,
            "?media=sound%3Ahello%20world%26x%3D1&timeout=30&early=true&media=a%2Cb,c&empty="
        );
    }

    #[test]
    fn reasons_come_from_the_operation() {
        assert_eq!(OP.reason(404), Some("Thing not found"));
        assert_eq!(OP.reason(500), None);
    }
}
