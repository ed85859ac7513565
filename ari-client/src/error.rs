//! The one error type of the crate.
//!
//! Every fallible call returns [`Error`]: a [`#[non_exhaustive]`](ErrorKind) kind that tells
//! *what* went wrong, the operation it happened in, the HTTP status and Asterisk's own
//! `{"message": …}` text when there was a response, and the underlying cause as
//! [`std::error::Error::source`]. No type of the HTTP or websocket crates appears in the
//! public API, and nothing here ever shows the password.

use std::fmt;

/// A boxed cause, kept opaque so that the transport crates stay private.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The server could not be reached (refused, unreachable, DNS failure), or it closed
    /// the connection before it answered (Asterisk does so when its `sessionlimit`, 100
    /// HTTP sessions by default, is reached).
    Connect,
    /// The request or the connection attempt took longer than the configured timeout.
    Timeout,
    /// The TLS handshake failed (unknown certificate authority, wrong host name, …).
    Tls,
    /// The server answered, but not like an ARI endpoint does (wrong path, not JSON, …).
    NotAri,
    /// `401`: the user name or password was refused.
    Unauthorized,
    /// `400`: a parameter was missing or invalid.
    BadRequest,
    /// `403`: the operation is forbidden (for example a recording file outside the spool).
    Forbidden,
    /// `404`: the object the operation names does not exist (any more).
    NotFound,
    /// `409`: the object is not where the operation needs it. Asterisk answers 409 mostly
    /// for a channel or bridge that is not (or no longer) in a Stasis application — it
    /// left through `continue`, `move` or a hangup in progress — and for an id that is
    /// already taken (a channel, bridge or recording of the same name).
    Conflict,
    /// `412`: a precondition failed. Asterisk answers 412 for a channel in a state the
    /// operation cannot use ("Channel in invalid state": answering a channel that is up,
    /// ringing one that was answered, DTMF or playback on one not yet answered, …).
    PreconditionFailed,
    /// `422`: the request was well formed but refers to something that cannot be used.
    Unprocessable,
    /// `5xx`: Asterisk failed internally or does not implement the operation.
    Server,
    /// Any other unexpected HTTP status.
    UnexpectedStatus,
    /// A response or event body did not decode into its type.
    Decode,
    /// A response body ended before all of it arrived: the connection closed or broke
    /// after fewer bytes than its `Content-Length` (or before a chunked body's last
    /// chunk). What arrived is dropped; the request may or may not have taken effect.
    Truncated,
    /// The server broke the protocol: an answer that is not HTTP the client can read (a
    /// garbage status line, a malformed header or chunk, a head larger than the HTTP stack
    /// accepts), or a websocket upgrade answered wrongly.
    Protocol,
    /// A response body is larger than
    /// [`ClientBuilder::max_response_bytes`](crate::ClientBuilder::max_response_bytes)
    /// (default 64 MiB). It is refused as soon as its `Content-Length` says so, or as soon
    /// as that many bytes arrived; nothing more is read or kept.
    ResponseTooLarge,
    /// The URL given to the client is not usable.
    InvalidUrl,
    /// An argument cannot be sent as given, and nothing was sent: an id that is empty,
    /// `.` or `..`, or an id, name or value (in the path or the query) with a control
    /// character, U+0000–U+001F or U+007F. Asterisk reads them as C strings: a NUL cuts
    /// them short, so `"victim\0anything"` would name `victim`. A value of a list
    /// parameter (the apps of `start`, `bridges.addChannel`'s channels, …) cannot contain
    /// a comma: Asterisk splits lists at commas, even percent-encoded ones. The message
    /// names the parameter and shows the value escaped, cut at 64 characters. Every other
    /// character (`/`, `%`, `?`, spaces, non-ASCII) is sent percent-encoded, as given.
    InvalidArgument,
    /// The server does not serve the operation, or does not declare a parameter that was
    /// set, and nothing was sent: an older or differently built Asterisk than the specs
    /// this crate was generated from. Known from the server's own declarations, read at
    /// [`connect`](crate::ClientBuilder::connect)
    /// ([`check_server_api`](crate::ClientBuilder::check_server_api)). The message names
    /// the operation or parameter, the server's version and the versions that have it;
    /// [`Client::server_api`](crate::Client::server_api) tells in advance.
    Unsupported,
    /// The websocket connection failed or broke.
    WebSocket,
    /// The client was shut down.
    Closed,
    /// The object ended before what was awaited arrived (a channel that hung up while its
    /// playback, an answer or a digit was awaited), or an object that already ended was
    /// given a handler or waiter. The message names the object and how it ended.
    Ended,
    /// A playback or recording finished unsuccessfully (`state` `failed`, or
    /// `RecordingFailed`).
    Failed,
    /// Another connection registered the same application name: Asterisk sends this
    /// client nothing more for it (`ApplicationReplaced`).
    Replaced,
    /// An error of the application's own, made with [`Error::other`].
    Other,
}

impl ErrorKind {
    /// The kind that an HTTP error status maps to.
    pub fn from_status(status: u16) -> Self {
        match status {
            400 => Self::BadRequest,
            401 => Self::Unauthorized,
            403 => Self::Forbidden,
            404 => Self::NotFound,
            409 => Self::Conflict,
            412 => Self::PreconditionFailed,
            422 => Self::Unprocessable,
            500..=599 => Self::Server,
            _ => Self::UnexpectedStatus,
        }
    }

    /// The variant's name (`"NotFound"`): how a relay tells an app instance the kind of an
    /// error (`crate::nats`).
    #[cfg_attr(not(feature = "nats"), allow(dead_code))]
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Connect => "Connect",
            Self::Timeout => "Timeout",
            Self::Tls => "Tls",
            Self::NotAri => "NotAri",
            Self::Unauthorized => "Unauthorized",
            Self::BadRequest => "BadRequest",
            Self::Forbidden => "Forbidden",
            Self::NotFound => "NotFound",
            Self::Conflict => "Conflict",
            Self::PreconditionFailed => "PreconditionFailed",
            Self::Unprocessable => "Unprocessable",
            Self::Server => "Server",
            Self::UnexpectedStatus => "UnexpectedStatus",
            Self::Decode => "Decode",
            Self::Truncated => "Truncated",
            Self::ResponseTooLarge => "ResponseTooLarge",
            Self::InvalidUrl => "InvalidUrl",
            Self::InvalidArgument => "InvalidArgument",
            Self::Unsupported => "Unsupported",
            Self::WebSocket => "WebSocket",
            Self::Protocol => "Protocol",
            Self::Closed => "Closed",
            Self::Ended => "Ended",
            Self::Failed => "Failed",
            Self::Replaced => "Replaced",
            Self::Other => "Other",
        }
    }

    /// The kind named `name` by [`name`](Self::name), if this version has it.
    #[cfg_attr(not(feature = "nats"), allow(dead_code))]
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "Connect" => Self::Connect,
            "Timeout" => Self::Timeout,
            "Tls" => Self::Tls,
            "NotAri" => Self::NotAri,
            "Unauthorized" => Self::Unauthorized,
            "BadRequest" => Self::BadRequest,
            "Forbidden" => Self::Forbidden,
            "NotFound" => Self::NotFound,
            "Conflict" => Self::Conflict,
            "PreconditionFailed" => Self::PreconditionFailed,
            "Unprocessable" => Self::Unprocessable,
            "Server" => Self::Server,
            "UnexpectedStatus" => Self::UnexpectedStatus,
            "Decode" => Self::Decode,
            "Truncated" => Self::Truncated,
            "ResponseTooLarge" => Self::ResponseTooLarge,
            "InvalidUrl" => Self::InvalidUrl,
            "InvalidArgument" => Self::InvalidArgument,
            "Unsupported" => Self::Unsupported,
            "WebSocket" => Self::WebSocket,
            "Protocol" => Self::Protocol,
            "Closed" => Self::Closed,
            "Ended" => Self::Ended,
            "Failed" => Self::Failed,
            "Replaced" => Self::Replaced,
            "Other" => Self::Other,
            _ => return None,
        })
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Connect => "could not connect to the server",
            Self::Timeout => "timed out",
            Self::Tls => "TLS handshake failed",
            Self::NotAri => "the server is not an ARI endpoint",
            Self::Unauthorized => "authentication failed: wrong user name or password",
            Self::BadRequest => "bad request",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not found",
            Self::Conflict => "conflict",
            Self::PreconditionFailed => "precondition failed",
            Self::Unprocessable => "unprocessable request",
            Self::Server => "server error",
            Self::UnexpectedStatus => "unexpected HTTP status",
            Self::Decode => "could not decode the server's JSON",
            Self::Truncated => "the response ended before all of its body arrived",
            Self::ResponseTooLarge => "the response body is larger than the configured limit",
            Self::InvalidUrl => "invalid URL",
            Self::InvalidArgument => "invalid argument",
            Self::Unsupported => "not supported by this server",
            Self::WebSocket => "websocket error",
            Self::Protocol => "the server broke the protocol",
            Self::Closed => "the client is shut down",
            Self::Ended => "the object ended",
            Self::Failed => "failed",
            Self::Replaced => "the application was registered by another connection",
            Self::Other => "application error",
        }
    }
}

/// The error of every fallible operation in this crate.
pub struct Error {
    kind: ErrorKind,
    operation: Option<&'static str>,
    status: Option<u16>,
    reason: Option<&'static str>,
    message: Option<String>,
    source: Option<BoxError>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind) -> Self {
        Self {
            kind,
            operation: None,
            status: None,
            reason: None,
            message: None,
            source: None,
        }
    }

    /// An error of kind [`ErrorKind::Other`] around an error of the application's own, so
    /// that handlers can return it: `db.save(&call).await.map_err(Error::other)?`. The
    /// cause is its [`source`](std::error::Error::source); a failed handler is logged
    /// with the whole chain.
    pub fn other(cause: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Self {
        Self::new(ErrorKind::Other).with_source(cause)
    }

    /// This error and its causes, joined with `: `, for logs.
    pub(crate) fn chain(&self) -> String {
        let mut out = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(c) = cause {
            out.push_str(": ");
            out.push_str(&c.to_string());
            cause = c.source();
        }
        out
    }

    pub(crate) fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }

    pub(crate) fn with_operation(mut self, operation: &'static str) -> Self {
        self.operation = Some(operation);
        self
    }

    pub(crate) fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }

    /// An error for an HTTP error status. `reason` is the operation's documented reason
    /// for that status, `message` is Asterisk's `{"message": …}` text if the body had one.
    pub(crate) fn status(
        status: u16,
        operation: &'static str,
        reason: Option<&'static str>,
        message: Option<String>,
    ) -> Self {
        Self {
            kind: ErrorKind::from_status(status),
            operation: Some(operation),
            status: Some(status),
            reason,
            message,
            source: None,
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The operation that failed, as `resource.nickname` (for example `channels.hangup`).
    pub fn operation(&self) -> Option<&'static str> {
        self.operation
    }

    /// The HTTP status, when the server answered with an error status.
    pub fn http_status(&self) -> Option<u16> {
        self.status
    }

    /// The reason the API documentation gives for this status on this operation
    /// (for example `"Channel not found"`).
    pub fn reason(&self) -> Option<&'static str> {
        self.reason
    }

    /// The server's own message (`{"message": …}` in an error body), or a detail of ours.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// True for [`ErrorKind::NotFound`].
    pub fn is_not_found(&self) -> bool {
        self.kind == ErrorKind::NotFound
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(op) = self.operation {
            write!(f, "{op}: ")?;
        }
        f.write_str(self.kind.describe())?;
        if let Some(status) = self.status {
            write!(f, " (HTTP {status})")?;
        }
        match (self.reason, self.message.as_deref()) {
            (Some(reason), Some(msg)) if !reason.eq_ignore_ascii_case(msg) => {
                write!(f, ": {reason} ({msg})")
            }
            (Some(reason), _) => write!(f, ": {reason}"),
            (None, Some(msg)) => write!(f, ": {msg}"),
            (None, None) => Ok(()),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind);
        if let Some(op) = self.operation {
            d.field("operation", &op);
        }
        if let Some(status) = self.status {
            d.field("status", &status);
        }
        if let Some(reason) = self.reason {
            d.field("reason", &reason);
        }
        if let Some(message) = &self.message {
            d.field("message", message);
        }
        if let Some(source) = &self.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_found_by_its_name() {
        for kind in [
            ErrorKind::Connect,
            ErrorKind::Timeout,
            ErrorKind::Tls,
            ErrorKind::NotAri,
            ErrorKind::Unauthorized,
            ErrorKind::BadRequest,
            ErrorKind::Forbidden,
            ErrorKind::NotFound,
            ErrorKind::Conflict,
            ErrorKind::PreconditionFailed,
            ErrorKind::Unprocessable,
            ErrorKind::Server,
            ErrorKind::UnexpectedStatus,
            ErrorKind::Decode,
            ErrorKind::Truncated,
            ErrorKind::ResponseTooLarge,
            ErrorKind::InvalidUrl,
            ErrorKind::InvalidArgument,
            ErrorKind::Unsupported,
            ErrorKind::WebSocket,
            ErrorKind::Protocol,
            ErrorKind::Closed,
            ErrorKind::Ended,
            ErrorKind::Failed,
            ErrorKind::Replaced,
            ErrorKind::Other,
        ] {
            assert_eq!(ErrorKind::from_name(kind.name()), Some(kind));
            assert_eq!(kind.name(), format!("{kind:?}"));
        }
        assert_eq!(ErrorKind::from_name("NoSuchKind"), None);
    }

    #[test]
    fn status_maps_to_kind() {
        assert_eq!(ErrorKind::from_status(404), ErrorKind::NotFound);
        assert_eq!(ErrorKind::from_status(409), ErrorKind::Conflict);
        assert_eq!(ErrorKind::from_status(412), ErrorKind::PreconditionFailed);
        assert_eq!(ErrorKind::from_status(503), ErrorKind::Server);
        assert_eq!(ErrorKind::from_status(418), ErrorKind::UnexpectedStatus);
    }

    #[test]
    fn display_names_operation_status_and_reason() {
        let e = Error::status(
            404,
            "channels.hangup",
            Some("Channel not found"),
            Some("Channel not found".into()),
        );
        assert_eq!(
            e.to_string(),
            "channels.hangup: not found (HTTP 404): Channel not found"
        );
        let e = Error::status(409, "channels.answer", None, Some("Busy".into()));
        assert_eq!(e.to_string(), "channels.answer: conflict (HTTP 409): Busy");
    }
}
