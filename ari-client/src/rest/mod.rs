//! The REST transport that the generated repositories call.
//!
//! Generated code describes each call with a static `Operation` and builds a `Request`:
//! the path with every segment percent-encoded, query parameters (multi-value ones
//! comma-joined), and at most one JSON body. Every segment and query value is checked
//! first: control characters are refused (see `check_value`) before anything is sent.
//! The `RestClient` sends the request and maps the answer: a JSON model, `()` for no
//! content, raw bytes for binary responses (each body read up to a limit), or an
//! [`Error`] that carries the operation's documented reason for the status.

mod declared;
mod transport;
mod websocket;

use std::fmt::{self, Display, Write as _};

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::error::{Error, ErrorKind, Result};

pub(crate) use declared::Served;
pub use declared::ServerApi;
#[cfg(feature = "nats")]
pub(crate) use transport::RemoteAnswer;
pub use transport::RestTransport;
pub(crate) use transport::{basic_authorization, Limits, Remote, RestClient};
pub(crate) use websocket::Tunnel;

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

impl Method {
    /// `GET`, `POST`, …
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Delete => "DELETE",
        }
    }
}

/// The [`Operation::index`] of a request that is not an operation of the generated table
/// (the api-docs, the events websocket): never checked against the server's declarations.
pub(crate) const UNCHECKED: u16 = u16::MAX;

/// What generated code knows about one operation, for requests, error reports and the
/// check against the server's declarations: an entry of the generated
/// `crate::api::OPERATIONS`.
#[derive(Debug)]
pub(crate) struct Operation {
    /// Its index in `OPERATIONS` (the `OperationId` discriminant).
    pub(crate) index: u16,
    /// `resource.nickname`, e.g. `channels.hangup`.
    pub(crate) name: &'static str,
    pub(crate) method: Method,
    /// The path template, `/channels/{channelId}`.
    pub(crate) path: &'static str,
    /// The wire names of its parameters, in spec order (path ones included): a request
    /// keeps the ones it sets as bits of [`Request::params`], bit `i` for `params[i]`.
    pub(crate) params: &'static [&'static str],
    /// The Asterisk versions the spec says have it (sorted; empty when the spec is silent).
    pub(crate) since: &'static [&'static str],
    /// The error statuses the spec documents, with their reasons.
    pub(crate) errors: &'static [(u16, &'static str)],
}

impl Operation {
    /// The bit of [`Request::params`] for the parameter `name` (0 for a name the operation
    /// does not have, which generated code never passes).
    pub(crate) fn param_bit(&self, name: &str) -> u64 {
        self.params
            .iter()
            .position(|p| *p == name)
            .map_or(0, |i| 1 << i)
    }

    /// The documented reason for an error status, if the spec lists one.
    pub(crate) fn reason(&self, status: u16) -> Option<&'static str> {
        self.errors
            .iter()
            .find(|(code, _)| *code == status)
            .map(|(_, reason)| *reason)
    }
}

/// The most characters of a refused value that an error message shows (escaped).
const SHOWN_CHARS: usize = 64;

/// What a refused value looks like in an error message: its first [`SHOWN_CHARS`]
/// characters, escaped with `{:?}` (so that control characters and bidirectional
/// overrides are visible and cannot forge log lines), and its length when it is longer.
/// A value may be a secret's neighbour (an app argument, a variable): the message never
/// holds more than this.
fn shown(value: &str) -> String {
    match value.char_indices().nth(SHOWN_CHARS) {
        None => format!("{value:?}"),
        Some((cut, _)) => format!("{:?}… ({} bytes)", &value[..cut], value.len()),
    }
}

/// Refuses a value that Asterisk would not see as it was given.
///
/// Asterisk reads ids, names and values as C strings: a NUL cuts them short
/// (`bridges.destroy("victim\0")` destroyed the bridge `victim`, measured), and the other
/// control characters (U+0000–U+001F, U+007F: CR, LF, tab, escape, …) end up in its logs,
/// its dialplan variables and its events. They are refused before anything is sent, with
/// [`ErrorKind::InvalidArgument`] and a message naming the parameter. Everything else —
/// `%`, `/`, spaces, non-ASCII, bidirectional controls — is sent percent-encoded, and
/// reaches Asterisk as given.
///
/// `what` names the parameter ("path parameter `channelId`", "query parameter `app`[1]"),
/// made only for an error.
fn check_value(op: &'static str, what: impl FnOnce() -> String, value: &str) -> Result<()> {
    // bytes of a multi-byte UTF-8 character are all >= 0x80: none is taken for a control
    let Some(at) = value.bytes().position(|b| b.is_ascii_control()) else {
        return Ok(());
    };
    let c = value.as_bytes()[at];
    Err(Error::new(ErrorKind::InvalidArgument)
        .with_operation(op)
        .with_message(format!(
            "{} cannot contain control characters (U+{:04X} at byte {at}): {}",
            what(),
            u32::from(c),
            shown(value)
        )))
}

/// One path segment of a request for `op`, percent-encoded so that it cannot add, remove
/// or change segments.
///
/// Empty, `.` and `..` segments would address another resource after URL normalisation,
/// and control characters would reach Asterisk cut short (see [`check_value`]): all are
/// refused with [`ErrorKind::InvalidArgument`].
pub(crate) fn segment(op: &'static Operation, name: &'static str, value: &str) -> Result<String> {
    if value.is_empty() || value == "." || value == ".." {
        return Err(Error::new(ErrorKind::InvalidArgument)
            .with_operation(op.name)
            .with_message(format!("path parameter `{name}` cannot be {value:?}")));
    }
    check_value(op.name, || format!("path parameter `{name}`"), value)?;
    Ok(utf8_percent_encode(value, ENCODE).to_string())
}

/// A request under construction.
#[derive(Debug)]
pub(crate) struct Request {
    pub(crate) op: &'static Operation,
    pub(crate) path: String,
    pub(crate) query: String,
    pub(crate) body: Option<Vec<u8>>,
    /// The query and body parameters set, as bits of `op.params` (see
    /// [`Operation::params`]): what the check against the server's declarations reads.
    pub(crate) params: u64,
}

impl Request {
    /// A request for `op` to `path` (relative to the `/ari` base, segments already encoded).
    pub(crate) fn new(op: &'static Operation, path: String) -> Self {
        Self {
            op,
            path,
            query: String::new(),
            body: None,
            params: 0,
        }
    }

    fn start_param(&mut self, name: &str) {
        self.query
            .push(if self.query.is_empty() { '?' } else { '&' });
        self.query
            .extend(utf8_percent_encode(name, ENCODE).map(|s| s.to_string()));
        self.query.push('=');
    }

    /// Writes `value` percent-encoded, as its `Display` output is produced (no intermediate
    /// `String`); `false`, with part of it written, when that output has a control
    /// character, or a comma in one `item` of a list.
    fn push_encoded(&mut self, value: &impl Display, item: bool) -> bool {
        struct Encoder<'a> {
            out: &'a mut String,
            item: bool,
        }
        impl fmt::Write for Encoder<'_> {
            fn write_str(&mut self, s: &str) -> fmt::Result {
                if s.bytes()
                    .any(|b| b.is_ascii_control() || (self.item && b == b','))
                {
                    return Err(fmt::Error);
                }
                for part in utf8_percent_encode(s, ENCODE) {
                    self.out.push_str(part);
                }
                Ok(())
            }
        }
        let mut encoder = Encoder {
            out: &mut self.query,
            item,
        };
        write!(encoder, "{value}").is_ok()
    }

    /// The error for a refused query value, the query as it was before the parameter.
    fn refuse(
        &mut self,
        len: usize,
        name: &str,
        value: &impl Display,
        index: Option<usize>,
    ) -> Error {
        self.query.truncate(len);
        // once more, into a String, only to say what was refused: no panic when a
        // `Display` fails of its own accord, as `to_string` would
        let mut text = String::new();
        let _ = write!(text, "{value}");
        let what = match index {
            Some(i) => format!("query parameter `{name}`[{i}]"),
            None => format!("query parameter `{name}`"),
        };
        let error = || Error::new(ErrorKind::InvalidArgument).with_operation(self.op.name);
        match check_value(self.op.name, || what.clone(), &text) {
            Err(e) => e,
            Ok(()) if index.is_some() && text.contains(',') => error().with_message(format!(
                "{what} cannot contain a comma: Asterisk splits a list's values at commas, \
                 even percent-encoded ones, so it would read two values: {}",
                shown(&text)
            )),
            Ok(()) => error().with_message(format!("{what} could not be written")),
        }
    }

    /// Adds `name=value` to the query string, percent-encoded.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] when the value has a control character (see
    /// [`check_value`]); the request is left as it was.
    pub(crate) fn query(&mut self, name: &str, value: impl Display) -> Result<()> {
        let len = self.query.len();
        self.start_param(name);
        if !self.push_encoded(&value, false) {
            return Err(self.refuse(len, name, &value, None));
        }
        self.params |= self.op.param_bit(name);
        Ok(())
    }

    /// Adds a multi-value parameter as Asterisk reads it: one comma-joined value, each
    /// part percent-encoded.
    ///
    /// # Errors
    ///
    /// As [`query`](Self::query), for any of the values, and for a value with a comma:
    /// Asterisk decodes the query before it splits a list, so `app=a%2Cb` registers the
    /// applications `a` and `b` (measured on 22.10.1).
    pub(crate) fn query_list<T: Display>(&mut self, name: &str, values: &[T]) -> Result<()> {
        let len = self.query.len();
        self.start_param(name);
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                self.query.push(',');
            }
            if !self.push_encoded(value, true) {
                return Err(self.refuse(len, name, value, Some(i)));
            }
        }
        self.params |= self.op.param_bit(name);
        Ok(())
    }

    /// Sets the JSON body: the value of the body parameter `name`.
    pub(crate) fn json_body<B: serde::Serialize + ?Sized>(
        &mut self,
        name: &str,
        body: &B,
    ) -> Result<()> {
        let bytes = serde_json::to_vec(body).map_err(|e| {
            Error::new(ErrorKind::InvalidArgument)
                .with_operation(self.op.name)
                .with_source(e)
        })?;
        self.body = Some(bytes);
        self.params |= self.op.param_bit(name);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static OP: Operation = Operation {
        index: 0,
        name: "test.op",
        method: Method::Get,
        path: "/x",
        params: &["media", "timeout", "early", "empty", "pct", "a", "app"],
        since: &[],
        errors: &[(404, "Thing not found"), (409, "Thing busy")],
    };

    #[test]
    fn hostile_segments_are_encoded() {
        let seg = |v: &str| segment(&OP, "id", v);
        assert_eq!(seg("a/b").unwrap(), "a%2Fb");
        assert_eq!(seg("a+b c").unwrap(), "a%2Bb%20c");
        assert_eq!(seg("x?y#z%").unwrap(), "x%3Fy%23z%25");
        assert_eq!(seg("é").unwrap(), "%C3%A9");
        assert_eq!(seg("call-1;2").unwrap(), "call-1%3B2");
        assert_eq!(seg("a.b_c~d").unwrap(), "a.b_c~d");
        // percent-encoding in an id is the id's own text: it is encoded again
        assert_eq!(seg("%00").unwrap(), "%2500");
        assert_eq!(seg("victim%2Fx").unwrap(), "victim%252Fx");
        assert_eq!(seg("../victim").unwrap(), "..%2Fvictim");
        // bidirectional overrides and other non-ASCII are not control characters here
        assert_eq!(seg("v\u{202e}").unwrap(), "v%E2%80%AE");
        assert_eq!(seg("\u{85}").unwrap(), "%C2%85");
        for bad in ["", ".", ".."] {
            let e = seg(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument);
            assert_eq!(e.operation(), Some("test.op"));
        }
    }

    #[test]
    fn control_characters_in_segments_are_refused() {
        for c in (0u8..0x20).chain([0x7f]) {
            let value = format!("victim{}anything", char::from(c));
            let e = segment(&OP, "bridgeId", &value).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{c:#x}");
            assert_eq!(e.operation(), Some("test.op"));
            let msg = e.message().unwrap();
            assert!(msg.contains("`bridgeId`"), "{msg}");
            assert!(msg.contains(&format!("U+{c:04X} at byte 6")), "{msg}");
            // escaped, never raw
            assert!(!msg.contains(char::from(c)), "{msg:?}");
        }
        let e = segment(&OP, "id", "victim\0").unwrap_err();
        assert_eq!(
            e.to_string(),
            "test.op: invalid argument: path parameter `id` cannot contain control characters (U+0000 at byte 6): \"victim\\0\""
        );
    }

    #[test]
    fn refused_values_are_shown_truncated() {
        let secret = format!("{}\n{}", "a".repeat(70), "s3cret".repeat(1000));
        let e = segment(&OP, "id", &secret).unwrap_err();
        let msg = e.message().unwrap();
        assert!(!msg.contains("s3cret"), "{msg}");
        assert!(
            msg.contains(&format!("\"{}\"… (6071 bytes)", "a".repeat(64))),
            "{msg}"
        );
        // a cut never falls inside a character
        let wide = format!("{}\0", "é".repeat(100));
        let msg = segment(&OP, "id", &wide).unwrap_err().to_string();
        assert!(
            msg.contains(&format!("\"{}\"… (201 bytes)", "é".repeat(64))),
            "{msg}"
        );
    }

    #[test]
    fn query_is_encoded_and_lists_are_comma_joined() {
        let mut r = Request::new(&OP, "/x".into());
        r.query("media", "sound:hello world&x=1").unwrap();
        r.query("timeout", 30).unwrap();
        r.query("early", true).unwrap();
        r.query_list("media", &["a b", "c"]).unwrap();
        r.query_list::<&str>("empty", &[]).unwrap();
        r.query("pct", "%00%2F").unwrap();
        assert_eq!(
            r.query,
            "?media=sound%3Ahello%20world%26x%3D1&timeout=30&early=true&media=a%20b,c&empty=&pct=%2500%252F"
        );
        // what the check against the server's declarations reads: media..pct are set
        assert_eq!(r.params, 0b1_1111);
        r.json_body("app", &[1]).unwrap();
        assert_eq!(r.params, 0b100_0000 | 0b1_1111);
    }

    #[test]
    fn control_characters_in_query_values_are_refused_and_leave_the_query_as_it_was() {
        let mut r = Request::new(&OP, "/x".into());
        r.query("a", 1).unwrap();
        for bad in ["x\0", "\r\n", "tab\there", "del\u{7f}", "\u{1b}[31m"] {
            let e = r.query("app", bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{bad:?}");
            assert_eq!(e.operation(), Some("test.op"));
            assert!(
                e.message().unwrap().contains("query parameter `app`"),
                "{e}"
            );
            let e = r.query_list("app", &["fine", bad]).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{bad:?}");
            assert!(
                e.message()
                    .unwrap()
                    .contains("query parameter `app`[1] cannot"),
                "{e}"
            );
        }
        assert_eq!(r.query, "?a=1");
        // a refused parameter is not counted as set
        assert_eq!(r.params, 0b10_0000);
        // a Display written in pieces: the position is the value's own
        struct Pieces;
        impl Display for Pieces {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("abc")?;
                f.write_str("d\0e")
            }
        }
        let e = r.query("p", Pieces).unwrap_err();
        assert!(e.message().unwrap().contains("U+0000 at byte 4"), "{e}");
        assert_eq!(r.query, "?a=1");
    }

    #[test]
    fn commas_are_refused_in_list_values_only() {
        let mut r = Request::new(&OP, "/x".into());
        r.query("appArgs", "a,b").unwrap();
        let e = r.query_list("app", &["fine", "victim,other"]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(
            e.message()
                .unwrap()
                .contains("query parameter `app`[1] cannot contain a comma"),
            "{e}"
        );
        assert_eq!(r.query, "?appArgs=a%2Cb");
        r.query_list("app", &["a", "b"]).unwrap();
        assert_eq!(r.query, "?appArgs=a%2Cb&app=a,b");
    }

    #[test]
    fn reasons_come_from_the_operation() {
        assert_eq!(OP.reason(404), Some("Thing not found"));
        assert_eq!(OP.reason(500), None);
    }
}
