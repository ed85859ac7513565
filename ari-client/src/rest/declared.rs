//! What the server serves — the operations, parameters, models' fields and event types of
//! its own declarations, with its version — and the check of every request against it.
//!
//! `connect` reads the declarations and fills a [`ServerApi`] (see `crate::server_api`);
//! the `RestClient` checks each request with [`ServerApi::check`] before it sends it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::{Operation, Request};
use crate::error::{Error, ErrorKind, Result};
use crate::events::EventKind;

/// What the server serves, read from its own declarations of the API when the client
/// connected ([`ClientBuilder::check_server_api`](crate::ClientBuilder::check_server_api)):
/// which of this crate's operations and parameters it has, its event types, its models'
/// fields, and its version. Given by [`Client::server_api`](crate::Client::server_api).
///
/// Asterisk's `apiVersion` does not tell this: it stays the same within a major version
/// while operations and parameters are added (22.0.0 and 22.10.1 are both ARI 10.0.0,
/// and certified-22.8 lacks 7 operations of 22.10.1). The declarations do, with one
/// exception the client covers too: a resource whose module is not loaded (Debian's
/// Asterisk 22.10.1 declares `/mailboxes` but has no `res_ari_mailboxes`) counts as not
/// served.
///
/// ```no_run
/// use ari_client::api::OperationId;
/// use ari_client::EventKind;
///
/// # async fn run() -> ari_client::Result<()> {
/// let client = ari_client::Client::connect("http://127.0.0.1:8088", "asterisk", "asterisk").await?;
/// if let Some(server) = client.server_api() {
///     println!("Asterisk {:?}, ARI {:?}", server.asterisk_version(), server.api_version());
///     if !server.supports(OperationId::ChannelGetChannelVars) {
///         // read the variables one by one with channels.getChannelVar instead
///     }
///     let reports = server.supports_parameter(OperationId::ChannelSetChannelVar, "report_events");
///     let talk = server.supports_event(EventKind::ChannelTalkingStarted);
///     # let _ = (reports, talk);
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ServerApi {
    /// `asterisk/info`'s `system.version` (`22.10.1`).
    pub(crate) asterisk_version: Option<String>,
    /// `resources.json`'s `apiVersion` (`10.0.0`).
    pub(crate) api_version: Option<String>,
    /// Per operation of this crate (by [`Operation::index`]): whether the server serves it.
    pub(crate) operations: Vec<Served>,
    /// Operations the server declares that this crate does not know: `GET /things/{}`.
    pub(crate) unknown_operations: Vec<String>,
    /// The event types it declares (`Message`'s concrete subtypes).
    pub(crate) events: BTreeSet<String>,
    /// Each model it declares, with its fields' names.
    pub(crate) models: BTreeMap<String, BTreeSet<String>>,
}

/// Whether the server serves one of this crate's operations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Served {
    /// Declared and served; the bits of [`Operation::params`] it declares.
    Yes(u64),
    /// Not in its declarations.
    Undeclared,
    /// Declared, but the resource's module (named here) is not loaded: Asterisk answers
    /// 404 for its paths.
    ModuleNotLoaded(String),
}

impl ServerApi {
    /// The Asterisk version the server reported (`GET /asterisk/info`, `system.version`),
    /// e.g. `22.10.1`; `None` when it could not be read.
    pub fn asterisk_version(&self) -> Option<&str> {
        self.asterisk_version.as_deref()
    }

    /// The `apiVersion` of its resource listing, e.g. `10.0.0` (ARI's version, the same for
    /// every release of a major version).
    pub fn api_version(&self) -> Option<&str> {
        self.api_version.as_deref()
    }

    /// Whether the server declares the event type `kind` (always `false` for
    /// [`EventKind::Unknown`]). Events of types this crate does not know still arrive as
    /// [`Event::Unknown`](crate::Event::Unknown); [`event_types`](Self::event_types) lists
    /// them all.
    pub fn supports_event(&self, kind: EventKind) -> bool {
        kind != EventKind::Unknown && self.events.contains(kind.as_str())
    }

    /// The names of every event type the server declares, sorted.
    pub fn event_types(&self) -> impl Iterator<Item = &str> {
        self.events.iter().map(String::as_str)
    }

    /// Whether the server declares the model `model` (`Channel`) with a field `field`
    /// (`protocol_id`), by their wire names.
    pub fn supports_field(&self, model: &str, field: &str) -> bool {
        self.models
            .get(model)
            .is_some_and(|fields| fields.contains(field))
    }

    /// The operations the server declares that this crate does not know, as
    /// `METHOD /path/{}` (path parameters shown as `{}`), sorted: a newer Asterisk than the
    /// specs this crate was generated from (`cargo xtask regen` brings them in).
    pub fn unknown_operations(&self) -> &[String] {
        &self.unknown_operations
    }

    /// Whether the server serves the operation at `index`, and every parameter `req` sets.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Unsupported`] when it does not, naming what is missing; an undeclared
    /// parameter passes when `send_undeclared` is set.
    pub(crate) fn check(&self, req: &Request, send_undeclared: bool) -> Result<()> {
        let op = req.op;
        let Some(served) = self.operations.get(usize::from(op.index)) else {
            return Ok(());
        };
        let message = match served {
            Served::Yes(declared) => {
                let missing = req.params & !declared;
                if missing == 0 || send_undeclared {
                    return Ok(());
                }
                let names: Vec<String> = op
                    .params
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| missing & (1 << i) != 0)
                    .map(|(_, p)| format!("`{p}`"))
                    .collect();
                let (noun, them) = if names.len() == 1 {
                    ("parameter", "it")
                } else {
                    ("parameters", "them")
                };
                format!(
                    "{} does not declare the {noun} {} of `{} {}`, and would ignore {them} \
                     without an error; nothing was sent (ClientBuilder::send_undeclared_parameters \
                     sends {them} anyway){}",
                    self.server(),
                    names.join(", "),
                    op.method.as_str(),
                    op.path,
                    since(op),
                )
            }
            Served::Undeclared => format!(
                "{} does not serve `{} {}`; nothing was sent{}",
                self.server(),
                op.method.as_str(),
                op.path,
                since(op),
            ),
            Served::ModuleNotLoaded(module) => format!(
                "{} declares `{} {}` but does not serve it: its module {module} is not \
                 loaded; nothing was sent",
                self.server(),
                op.method.as_str(),
                op.path,
            ),
        };
        Err(Error::new(ErrorKind::Unsupported)
            .with_operation(op.name)
            .with_message(message))
    }

    /// `Asterisk 21.12.3 (ARI 9.0.0)`, as far as known.
    fn server(&self) -> String {
        let mut out = String::from("the server");
        if let Some(v) = &self.asterisk_version {
            out = format!("Asterisk {v}");
        }
        if let Some(v) = &self.api_version {
            let _ = write!(out, " (ARI {v})");
        }
        out
    }
}

/// `; it is in Asterisk …` from the operation's `since`, or nothing.
fn since(op: &Operation) -> String {
    if op.since.is_empty() {
        String::new()
    } else {
        format!(
            "; the specs this client was generated from say it is in Asterisk {} and later \
             releases of those branches",
            op.since.join(", ")
        )
    }
}
