//! Many app processes over NATS (feature `nats`): a [`Relay`] per Asterisk node holds the
//! node's ARI connection and publishes its events on a NATS server; app [`Instance`]s get
//! the events of the calls they own, with the same typed event model, objects, handlers and
//! waiters as a direct [`Client`](crate::Client), and send their REST requests to the relay.
//!
//! ```no_run
//! use ari_client::cluster::Cluster;
//! use ari_client::events::StasisStart;
//! use ari_client::nats::Instance;
//!
//! # async fn run() -> ari_client::Result<()> {
//! let nats = async_nats::connect("127.0.0.1:4222").await.map_err(ari_client::Error::other)?;
//! let instance = Instance::builder(nats).build()?;
//! // a relay (`ari-relay --node pbx-a …`) serves each node
//! let cluster = Cluster::builder()
//!     .client(instance.client("pbx-a")?)
//!     .client(instance.client("pbx-b")?)
//!     .connect()
//!     .await?;
//! cluster.on_channel_event(|channel, _: StasisStart| async move {
//!     // this instance owns the call: every later event of it comes here
//!     channel.answer().await?;
//!     channel.play("sound:hello-world").await?.finished().await?;
//!     channel.hangup().await
//! });
//! cluster.run(["ivr"]).await
//! # }
//! ```
//!
//! # Subjects
//!
//! With the prefix `P` (default `ari`), node `N`, application `A`, instance `I` (each one
//! subject token, escaped: see [`escape_token`]):
//!
//! | subject | from → to | what |
//! | --- | --- | --- |
//! | `P.N.A.new` | relay → one instance (queue group `P.A`) | a `StasisStart` of a channel nobody owns, as a request; the instance that answers owns the call |
//! | `P.N.to.I` | relay → instance `I` | the events of the objects `I` owns, with a sequence number |
//! | `P.N.A.ev.<kind>.<id>.<Type>` | relay → observers | the events of objects nobody owns (`kind` `none` and id `-` for events that name none) |
//! | `P.N.rest` | instance → relay | a REST request, answered with Asterisk's status and body |
//! | `P.N.status`, `P.N.ctl` | relay ↔ instances | whether the relay has the node now; its connection lost and back |
//! | `P.N.claim` | instance → relay | after a relay restart: the objects the instance owned |
//! | `P.hb.I` | instance → relays | heartbeats |
//!
//! Events travel as Asterisk wrote them (never decoded and encoded again). NATS core
//! delivers at most once: see `docs/nats.md` for what that means and what the sequence
//! numbers catch.

mod instance;
mod relay;

use std::time::Duration;

pub use instance::{Instance, InstanceBuilder, InstanceStats};
pub use relay::{Relay, RelayBuilder, RelayStats};

use crate::error::{Error, ErrorKind};

/// The default subject prefix.
pub const DEFAULT_PREFIX: &str = "ari";

/// How often an instance publishes its heartbeat.
pub(crate) const HEARTBEAT: Duration = Duration::from_millis(200);

/// How long a relay waits for an instance's heartbeat before it holds the instance dead
/// (the default of [`RelayBuilder::instance_timeout`]).
pub const DEFAULT_INSTANCE_TIMEOUT: Duration = Duration::from_secs(2);

/// Header names of the messages.
pub(crate) mod header {
    /// The relay's epoch: a random id it draws when it starts.
    pub(crate) const EPOCH: &str = "Ari-Epoch";
    /// The sequence number of an event sent to an owner (per node and instance).
    pub(crate) const SEQ: &str = "Ari-Seq";
    /// A notice to an instance instead of an event: `evicted` (held dead; the payload is
    /// a JSON array of the `[kind name, id]` the relay ended for it).
    pub(crate) const CONTROL: &str = "Ari-Control";
    /// REST: the calling instance.
    pub(crate) const INSTANCE: &str = "Ari-Instance";
    /// REST: the operation's index in the generated table.
    pub(crate) const OP_INDEX: &str = "Ari-Op-Index";
    /// REST: the operation's name (`channels.originate`).
    pub(crate) const OP: &str = "Ari-Op";
    /// REST: the path (segments percent-encoded) and query.
    pub(crate) const PATH: &str = "Ari-Path";
    /// REST: the parameters set, as bits of the operation's parameters.
    pub(crate) const PARAMS: &str = "Ari-Params";
    /// REST: the request has a body (the payload).
    pub(crate) const BODY: &str = "Ari-Body";
    /// REST answer: Asterisk's status.
    pub(crate) const STATUS: &str = "Ari-Status";
    /// REST answer: Asterisk's reason phrase.
    pub(crate) const REASON: &str = "Ari-Reason";
    /// REST answer: the relay could not carry the request; the kind of its error (the
    /// payload is the message).
    pub(crate) const ERROR: &str = "Ari-Error";
}

/// Escapes `text` into one NATS subject token: ASCII letters, digits, `-` and `_` stay,
/// every other byte (of the UTF-8 text) becomes `~` and two hex digits, and the empty text
/// is `~`. Asterisk's channel ids contain dots (`1712345678.42`), which would split a
/// token; `*`, `>` and spaces would make a subject a wildcard or invalid.
///
/// ```
/// use ari_client::nats::{escape_token, unescape_token};
///
/// assert_eq!(escape_token("1712345678.42"), "1712345678~2E42");
/// assert_eq!(escape_token("pbx-a"), "pbx-a");
/// assert_eq!(unescape_token("1712345678~2E42").as_deref(), Some("1712345678.42"));
/// ```
pub fn escape_token(text: &str) -> String {
    if text.is_empty() {
        return "~".to_owned();
    }
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
            out.push(char::from(b));
        } else {
            out.push('~');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
    out
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// The text [`escape_token`] made `token` of; `None` when `token` is not one it makes.
pub fn unescape_token(token: &str) -> Option<String> {
    if token.is_empty() {
        return None;
    }
    if token == "~" {
        return Some(String::new());
    }
    let b = token.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'~' => {
                let hex = b.get(i + 1..i + 3)?;
                let digit = |c: u8| (c as char).to_digit(16).filter(|_| !c.is_ascii_lowercase());
                out.push(u8::try_from(digit(hex[0])? * 16 + digit(hex[1])?).ok()?);
                i += 3;
            }
            c if c.is_ascii_alphanumeric() || c == b'-' || c == b'_' => {
                out.push(c);
                i += 1;
            }
            _ => return None,
        }
    }
    String::from_utf8(out).ok()
}

/// Checks a subject prefix: one or more tokens of ASCII letters, digits, `-` and `_`,
/// separated by dots.
pub(crate) fn check_prefix(prefix: &str) -> crate::Result<()> {
    if !prefix.is_empty() && prefix.split('.').all(is_plain_token) {
        return Ok(());
    }
    Err(Error::new(ErrorKind::InvalidArgument).with_message(format!(
        "the subject prefix {:?} must be dot-separated tokens of ASCII letters, digits, `-` and `_`",
        shown(prefix)
    )))
}

/// Checks an instance id: 1 to 64 ASCII letters, digits, `-` and `_`.
pub(crate) fn check_instance_id(id: &str) -> crate::Result<()> {
    if id.len() <= 64 && is_plain_token(id) {
        return Ok(());
    }
    Err(Error::new(ErrorKind::InvalidArgument).with_message(format!(
        "an instance id must be 1 to 64 ASCII letters, digits, `-` and `_`, not {:?}",
        shown(id)
    )))
}

/// A token that needs no escaping.
pub(crate) fn is_plain_token(token: &str) -> bool {
    !token.is_empty()
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// At most 64 characters of a text from the wire, for a message.
pub(crate) fn shown(text: &str) -> &str {
    match text.char_indices().nth(64) {
        Some((cut, _)) => &text[..cut],
        None => text,
    }
}

/// The subjects of one prefix and node.
#[derive(Debug, Clone)]
pub(crate) struct Subjects {
    prefix: String,
    /// `prefix.node-token`
    node: String,
}

impl Subjects {
    pub(crate) fn new(prefix: &str, node: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
            node: format!("{prefix}.{}", escape_token(node)),
        }
    }

    /// `P.N.A.new`
    pub(crate) fn new_calls(&self, app: &str) -> String {
        format!("{}.{}.new", self.node, escape_token(app))
    }

    /// The queue group of the new calls of `app`.
    pub(crate) fn queue_group(&self, app: &str) -> String {
        format!("{}.{}", self.prefix, escape_token(app))
    }

    /// `P.N.to.I`
    pub(crate) fn owner(&self, instance: &str) -> String {
        format!("{}.to.{instance}", self.node)
    }

    /// `P.N.A.ev.<kind>.<id>.<Type>`
    pub(crate) fn observed(
        &self,
        app: &str,
        object: Option<(crate::events::ObjectKind, &str)>,
        event_type: &str,
    ) -> String {
        let (kind, id) = match object {
            Some((kind, id)) => (kind.as_str(), escape_token(id)),
            None => ("none", "-".to_owned()),
        };
        format!(
            "{}.{}.ev.{kind}.{id}.{}",
            self.node,
            escape_token(app),
            escape_token(event_type)
        )
    }

    /// `P.N.rest`
    pub(crate) fn rest(&self) -> String {
        format!("{}.rest", self.node)
    }

    /// `P.N.status`
    pub(crate) fn status(&self) -> String {
        format!("{}.status", self.node)
    }

    /// `P.N.ctl`
    pub(crate) fn control(&self) -> String {
        format!("{}.ctl", self.node)
    }

    /// `P.N.claim`
    pub(crate) fn claim(&self) -> String {
        format!("{}.claim", self.node)
    }

    /// `P.hb.I`
    pub(crate) fn heartbeat(prefix: &str, instance: &str) -> String {
        format!("{prefix}.hb.{instance}")
    }
}

/// What `P.N.status` answers and `P.N.ctl` announces.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct NodeStatus {
    /// The relay's epoch.
    pub(crate) epoch: String,
    /// Whether the relay's event connection to the node is up.
    pub(crate) connected: bool,
}

/// The objects an instance claims after a relay restart (`P.N.claim`).
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct Claim {
    pub(crate) instance: String,
    /// `(kind name, id)`
    pub(crate) objects: Vec<(String, String)>,
}

/// The kind an object list of the protocol names ([`Claim::objects`], an eviction
/// notice): [`ObjectKind::as_str`]'s name; `None` for a name it does not know.
pub(crate) fn object_kind(name: &str) -> Option<crate::events::ObjectKind> {
    crate::events::ObjectKind::ALL
        .into_iter()
        .find(|k| k.as_str() == name)
}

/// An error of NATS (publishing, subscribing), of kind [`ErrorKind::Connect`].
pub(crate) fn nats_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Connect).with_message(format!("NATS: {what}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_escape_and_come_back() {
        for text in [
            "",
            "1712345678.42",
            "a b",
            "*",
            ">",
            "~",
            "é",
            "PJSIP/alice",
            "x\0y",
            "plain-id_1",
        ] {
            let token = escape_token(text);
            assert!(
                token
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_~".contains(&b)),
                "{token}"
            );
            assert_eq!(unescape_token(&token).as_deref(), Some(text), "{token}");
        }
        for bad in ["a.b", "~", "~4", "~zz", "~2e", "a*", "", "~FF"] {
            if bad == "~" {
                continue;
            }
            assert_eq!(unescape_token(bad), None, "{bad}");
        }
    }

    #[test]
    fn prefixes_and_instance_ids_are_checked() {
        assert!(check_prefix("ari").is_ok());
        assert!(check_prefix("ari.prod-1").is_ok());
        for bad in ["", "a..b", "a.*", "a b", ".a", "a.>"] {
            assert_eq!(
                check_prefix(bad).unwrap_err().kind(),
                ErrorKind::InvalidArgument,
                "{bad}"
            );
        }
        assert!(check_instance_id("app-1_x").is_ok());
        for bad in ["", "a.b", "a b", &"x".repeat(65)] {
            assert!(check_instance_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn subjects_encode_node_app_kind_and_id() {
        let s = Subjects::new("ari", "pbx.a");
        assert_eq!(s.new_calls("ivr"), "ari.pbx~2Ea.ivr.new");
        assert_eq!(s.owner("inst-1"), "ari.pbx~2Ea.to.inst-1");
        assert_eq!(
            s.observed(
                "ivr",
                Some((crate::ObjectKind::Channel, "1712.5")),
                "ChannelVarset"
            ),
            "ari.pbx~2Ea.ivr.ev.Channel.1712~2E5.ChannelVarset"
        );
        assert_eq!(
            s.observed("ivr", None, "DeviceStateChanged"),
            "ari.pbx~2Ea.ivr.ev.none.-.DeviceStateChanged"
        );
        assert_eq!(s.queue_group("ivr"), "ari.ivr");
    }
}
