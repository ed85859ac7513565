//! The relay: one per Asterisk node. It holds the node's ARI connection (the client's own
//! machinery: reconnects, keepalive), takes each event's text as Asterisk wrote it, and
//! sends it on NATS to the instance that owns the objects it names; it hands the calls
//! nobody owns to one instance of a queue group, and performs the instances' REST requests.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::HeaderMap;
use bytes::Bytes;
use futures_util::StreamExt as _;
use tokio::sync::{watch, Mutex};
use tokio::task::JoinHandle;

use super::{header, nats_error, shown, Claim, NodeStatus, Subjects};
use crate::client::Client;
use crate::config::ClientBuilder;
use crate::connection::ConnectionState;
use crate::dispatch::Routed;
use crate::error::{Error, ErrorKind, Result};
use crate::events::{Event, EventKind, ObjectKind};
use crate::rest::{Operation, Request, UNCHECKED};
use crate::ws::Frame;

/// How long the relay waits for an instance to answer a new call before it asks again.
const ASK_TIMEOUT: Duration = Duration::from_millis(1000);

/// How long a new call may go without an owner before the relay hangs it up.
const ASSIGN_GIVE_UP: Duration = Duration::from_secs(10);

/// The longest a publish may wait for room in the NATS client's buffer (NATS down for long):
/// past it the message is dropped, counted and logged (an owner sees the gap in its
/// sequence numbers).
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(1);

/// How often the relay checks its table against the node's channels and bridges.
const SWEEP_EVERY: Duration = Duration::from_secs(30);

/// The operation of `GET /api-docs/{file}` (read by a relayed client's connect).
static API_DOCS: Operation = Operation {
    index: UNCHECKED,
    name: "api-docs",
    method: crate::rest::Method::Get,
    path: "/api-docs/{file}",
    params: &["file"],
    since: &[],
    errors: &[(404, "Resource not found")],
};

/// Counters of a relay, since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RelayStats {
    /// Events read from Asterisk.
    pub events: u64,
    /// Events sent to the instance that owns their objects (one per owner).
    pub to_owners: u64,
    /// Events sent to the observers' subjects (nobody owned their objects).
    pub observed: u64,
    /// Events held while their channel's new call was being handed out.
    pub held: u64,
    /// New calls handed to an instance.
    pub calls_assigned: u64,
    /// Asks for an owner that got no answer in time (then asked again).
    pub asks_repeated: u64,
    /// New calls no instance took within 10 s: hung up.
    pub calls_unassigned: u64,
    /// REST requests carried for instances.
    pub rest_requests: u64,
    /// REST requests refused before Asterisk saw them (unknown operation, bad path, …).
    pub rest_refused: u64,
    /// Instances held dead (no heartbeat within the timeout) that owned something.
    pub instances_dead: u64,
    /// Channels hung up and bridges destroyed because their owner died.
    pub orphans_ended: u64,
    /// Objects the table dropped because the node no longer had them (after a reconnect or
    /// a periodic check).
    pub pruned: u64,
    /// Objects owned now (the size of the ownership table).
    pub owned: usize,
    /// Events that neither scanned nor decoded (sent to the observers as `Undecodable`).
    pub undecodable: u64,
    /// Messages NATS did not take within 1 s (its connection down for long): dropped and
    /// logged; their owners see a gap in the sequence numbers.
    pub dropped: u64,
}

#[derive(Default)]
struct Counters {
    events: AtomicU64,
    to_owners: AtomicU64,
    observed: AtomicU64,
    held: AtomicU64,
    calls_assigned: AtomicU64,
    asks_repeated: AtomicU64,
    calls_unassigned: AtomicU64,
    rest_requests: AtomicU64,
    rest_refused: AtomicU64,
    instances_dead: AtomicU64,
    orphans_ended: AtomicU64,
    pruned: AtomicU64,
    undecodable: AtomicU64,
    dropped: AtomicU64,
    /// The size of the table, as of its last change.
    owned: std::sync::atomic::AtomicUsize,
}

fn bump(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// Builds a [`Relay`]. Start with [`Relay::builder`].
#[must_use]
pub struct RelayBuilder {
    nats: async_nats::Client,
    ari: ClientBuilder,
    node: String,
    apps: Vec<String>,
    prefix: String,
    instance_timeout: Duration,
}

impl std::fmt::Debug for RelayBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayBuilder")
            .field("ari", &self.ari)
            .field("node", &self.node)
            .field("apps", &self.apps)
            .field("prefix", &self.prefix)
            .field("instance_timeout", &self.instance_timeout)
            .finish_non_exhaustive()
    }
}

impl RelayBuilder {
    /// The subject prefix (default [`DEFAULT_PREFIX`](super::DEFAULT_PREFIX)): dot-separated
    /// tokens of ASCII letters, digits, `-` and `_`.
    pub fn prefix(mut self, prefix: &str) -> Self {
        prefix.clone_into(&mut self.prefix);
        self
    }

    /// How long an instance may be silent (no heartbeat; instances send one every 200 ms)
    /// before the relay holds it dead and hangs up the channels it owned on this node
    /// (default 2 s). Only silence while the relay itself hears the NATS server counts:
    /// over a NATS outage, or while its own connection is frozen, no instance is held
    /// dead, and after it each one has 5 s more to be heard from again.
    pub fn instance_timeout(mut self, timeout: Duration) -> Self {
        self.instance_timeout = timeout.max(Duration::from_millis(400));
        self
    }

    /// Connects to Asterisk (as [`ClientBuilder::connect`] does), subscribes to its
    /// subjects on NATS and registers the applications; returns once events flow.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] for a bad prefix, no application or no node name;
    /// the ARI client's errors ([`ErrorKind::Connect`], [`ErrorKind::Unauthorized`], …);
    /// [`ErrorKind::Connect`] when NATS refuses a subscription.
    pub async fn start(self) -> Result<Relay> {
        super::check_prefix(&self.prefix)?;
        if self.apps.is_empty() {
            return Err(Error::new(ErrorKind::InvalidArgument)
                .with_message("a relay needs at least one Stasis application"));
        }
        if self.node.is_empty() {
            return Err(
                Error::new(ErrorKind::InvalidArgument).with_message("a relay needs a node name")
            );
        }
        let client = self.ari.node(&self.node).connect().await?;
        let epoch = format!("{:016x}", crate::random::u64());
        let shared = Arc::new(Shared {
            subjects: Subjects::new(&self.prefix, &self.node),
            prefix: self.prefix,
            node: self.node,
            epoch,
            nats: self.nats,
            client: client.clone(),
            table: Mutex::new(Table::default()),
            counters: Counters::default(),
            next_id: AtomicU64::new(0),
            instance_timeout: self.instance_timeout,
            stop: watch::channel(false).0,
        });
        let mut tasks = Vec::new();
        tasks.push(tokio::spawn(serve_rest(
            shared.clone(),
            shared.subscribe(shared.subjects.rest()).await?,
        )));
        tasks.push(tokio::spawn(serve_status(
            shared.clone(),
            shared.subscribe(shared.subjects.status()).await?,
        )));
        tasks.push(tokio::spawn(serve_claims(
            shared.clone(),
            shared.subscribe(shared.subjects.claim()).await?,
        )));
        tasks.push(tokio::spawn(heartbeats(
            shared.clone(),
            shared
                .subscribe(super::Subjects::heartbeat(&shared.prefix, "*"))
                .await?,
        )));
        tasks.push(tokio::spawn(liveness(shared.clone())));
        let weak = Arc::downgrade(&shared);
        client.set_frame_sink(Arc::new(move |frame: Frame| {
            let weak = weak.clone();
            Box::pin(async move {
                match weak.upgrade() {
                    Some(shared) => shared.route(frame).await,
                    None => Routed::Done,
                }
            })
        }));
        let changes = client.state_changes();
        client.start(self.apps.iter().cloned()).await?;
        tasks.push(tokio::spawn(watch_node(shared.clone(), changes)));
        shared.announce(true).await;
        tracing::info!(node = %shared.node, epoch = %shared.epoch, apps = ?self.apps, "relay started");
        Ok(Relay {
            shared,
            tasks: Arc::new(std::sync::Mutex::new(tasks)),
        })
    }
}

/// A relay between one Asterisk node and the app instances on a NATS server. See [the
/// module](super) and `docs/nats.md`.
///
/// ```no_run
/// use ari_client::nats::Relay;
/// use ari_client::Client;
///
/// # async fn run() -> ari_client::Result<()> {
/// let nats = async_nats::connect("127.0.0.1:4222").await.map_err(ari_client::Error::other)?;
/// let relay = Relay::builder(
///     nats,
///     "pbx-a",
///     Client::builder("http://127.0.0.1:8088", "asterisk", "asterisk"),
///     ["ivr"],
/// )
/// .start()
/// .await?;
/// relay.wait().await
/// # }
/// ```
#[derive(Clone)]
pub struct Relay {
    shared: Arc<Shared>,
    tasks: Arc<std::sync::Mutex<Vec<JoinHandle<()>>>>,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("node", &self.shared.node)
            .field("epoch", &self.shared.epoch)
            .field("client", &self.shared.client)
            .finish_non_exhaustive()
    }
}

impl Relay {
    /// A relay for node `node` (a name that stays the same across restarts), reaching
    /// Asterisk with the settings of `ari` and registering `apps`, on the NATS connection
    /// `nats`.
    pub fn builder<I, S>(
        nats: async_nats::Client,
        node: &str,
        ari: ClientBuilder,
        apps: I,
    ) -> RelayBuilder
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        RelayBuilder {
            nats,
            ari,
            node: node.to_owned(),
            apps: apps.into_iter().map(Into::into).collect(),
            prefix: super::DEFAULT_PREFIX.to_owned(),
            instance_timeout: super::DEFAULT_INSTANCE_TIMEOUT,
        }
    }

    /// The node's name.
    pub fn node(&self) -> &str {
        &self.shared.node
    }

    /// The random id this relay drew when it started; instances see a new one after a
    /// relay restart.
    pub fn epoch(&self) -> &str {
        &self.shared.epoch
    }

    /// The relay's own ARI client (its state, its stats, REST calls of its own).
    pub fn client(&self) -> &Client {
        &self.shared.client
    }

    /// The counters now.
    pub fn stats(&self) -> RelayStats {
        let c = &self.shared.counters;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        RelayStats {
            events: load(&c.events),
            to_owners: load(&c.to_owners),
            observed: load(&c.observed),
            held: load(&c.held),
            calls_assigned: load(&c.calls_assigned),
            asks_repeated: load(&c.asks_repeated),
            calls_unassigned: load(&c.calls_unassigned),
            rest_requests: load(&c.rest_requests),
            rest_refused: load(&c.rest_refused),
            instances_dead: load(&c.instances_dead),
            orphans_ended: load(&c.orphans_ended),
            pruned: load(&c.pruned),
            owned: self.shared.table.try_lock().map_or(0, |t| t.owners.len()),
            undecodable: load(&c.undecodable),
            dropped: load(&c.dropped),
        }
    }

    /// The instance that owns object `id` of kind `kind` on this node now, if any.
    pub async fn owner(&self, kind: ObjectKind, id: &str) -> Option<String> {
        let table = self.shared.table.lock().await;
        table
            .owners
            .get(&(kind, Box::from(id)))
            .map(|o| o.instance.to_string())
    }

    /// Closes the ARI connection and stops serving NATS.
    pub fn shutdown(&self) {
        self.shared.stop.send_replace(true);
        self.shared.client.shutdown();
    }

    /// Waits until the ARI connection has ended ([`shutdown`](Self::shutdown), the
    /// reconnect policy gave up, or another connection took the application), then stops
    /// serving NATS.
    ///
    /// # Errors
    ///
    /// As [`Client::wait`].
    pub async fn wait(&self) -> Result<()> {
        let ended = self.shared.client.wait().await;
        self.shared.stop.send_replace(true);
        self.shared.announce(false).await;
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|p| p.into_inner()));
        for task in tasks {
            task.abort();
        }
        ended
    }
}

/// Who owns an object.
struct Owned {
    instance: Arc<str>,
    /// The application stays subscribed to it (created into the application, or
    /// `applications.subscribe`): `StasisEnd` does not end it.
    subscribed: bool,
    /// When it was recorded (a check against the node's listing made before that cannot
    /// drop it).
    since: Instant,
}

/// An instance the relay has heard of.
struct Peer {
    last_seen: Instant,
    /// The last sequence number sent to it.
    seq: u64,
}

#[derive(Default)]
struct Table {
    owners: HashMap<(ObjectKind, Box<str>), Owned>,
    /// New calls being handed out: their channel's events meanwhile, in order.
    pending: HashMap<Box<str>, VecDeque<Bytes>>,
    peers: HashMap<Arc<str>, Peer>,
    /// Instances held dead recently: told so if they are heard of again.
    evicted: HashMap<Arc<str>, Evicted>,
}

/// An instance held dead: when, and the objects of it that the relay ended.
struct Evicted {
    at: Instant,
    /// `(kind name, id)`, as in a [`Claim`].
    ended: Vec<(String, String)>,
}

impl Table {
    fn touch(&mut self, instance: &str) -> Arc<str> {
        if let Some(name) = self.peers.get_key_value(instance).map(|(k, _)| k.clone()) {
            if let Some(peer) = self.peers.get_mut(instance) {
                peer.last_seen = Instant::now();
            }
            return name;
        }
        let name: Arc<str> = instance.into();
        self.peers.insert(
            name.clone(),
            Peer {
                last_seen: Instant::now(),
                seq: 0,
            },
        );
        name
    }
}

struct Shared {
    nats: async_nats::Client,
    client: Client,
    subjects: Subjects,
    prefix: String,
    node: String,
    epoch: String,
    table: Mutex<Table>,
    counters: Counters,
    next_id: AtomicU64,
    instance_timeout: Duration,
    stop: watch::Sender<bool>,
}

/// What one event is: its type, application and objects.
struct Parsed {
    kind: EventKind,
    type_name: String,
    app: String,
    objects: Vec<(ObjectKind, String)>,
}

fn parse(text: &str) -> Option<Parsed> {
    let app = crate::scan::string_field(text, "application");
    if let Some(head) = crate::events::head(text) {
        let kind = EventKind::from_type_name(head.kind);
        let type_name = head.kind.to_owned();
        let objects = head
            .into_objects()
            .into_iter()
            .map_while(|o| o.map(|named| (named.kind, named.id.into_owned())))
            .collect();
        if let Some(app) = app {
            return Some(Parsed {
                kind,
                type_name,
                app: app.to_owned(),
                objects,
            });
        }
    }
    // the scanner is unsure (escapes, an odd layout): serde decides
    let event = Event::from_json(text).ok()?;
    let mut objects = Vec::new();
    event.for_each_object(|k, id| objects.push((k, id.to_owned())));
    Some(Parsed {
        kind: event.kind(),
        type_name: event.type_name().to_owned(),
        app: event.application().unwrap_or_default().to_owned(),
        objects,
    })
}

/// Where an event goes.
enum Destination {
    /// To these instances.
    Owners(Vec<Arc<str>>),
    /// Held behind the new call of this channel.
    Hold(String),
    /// A new call: ask an instance to take it.
    Assign(String),
    /// Nobody owns its objects: to the observers.
    Observe,
}

impl Shared {
    async fn subscribe(&self, subject: String) -> Result<async_nats::Subscriber> {
        self.nats
            .subscribe(subject.clone())
            .await
            .map_err(|e| nats_error(&format!("subscribe to {subject}"), e))
    }

    fn stopped(&self) -> bool {
        *self.stop.borrow()
    }

    /// Notes the table's size for [`Relay::stats`] (after a change).
    fn note(&self, table: &Table) {
        self.counters
            .owned
            .store(table.owners.len(), Ordering::Relaxed);
    }

    /// Tells the instances whether the node is reachable now (`P.N.ctl`).
    async fn announce(&self, connected: bool) {
        let status = NodeStatus {
            epoch: self.epoch.clone(),
            connected,
        };
        let payload = serde_json::to_vec(&status).unwrap_or_default();
        self.publish(self.subjects.control(), None, payload.into())
            .await;
    }

    /// The sink of the ARI connection: one frame.
    async fn route(self: &Arc<Self>, frame: Frame) -> Routed {
        bump(&self.counters.events, 1);
        let text = frame.as_str();
        let bytes = Bytes::copy_from_slice(text.as_bytes());
        let Some(parsed) = parse(text) else {
            bump(&self.counters.undecodable, 1);
            tracing::warn!(node = %self.node, frame = %shown(text), "relay: an event that does not decode; sent to the observers");
            let subject = self.subjects.observed("_", None, "Undecodable");
            self.publish(subject, None, bytes).await;
            return Routed::Done;
        };
        if parsed.kind == EventKind::ApplicationReplaced {
            return Routed::Replaced(parsed.app);
        }
        let mut table = self.table.lock().await;
        self.dispatch(&mut table, &parsed, bytes).await;
        Routed::Done
    }

    /// Sends one event where it goes and applies what it ends. Called with the table locked,
    /// so events leave in the order they came, with their sequence numbers in order.
    async fn dispatch(self: &Arc<Self>, table: &mut Table, parsed: &Parsed, bytes: Bytes) {
        match destination(table, parsed) {
            Destination::Hold(id) => {
                bump(&self.counters.held, 1);
                if let Some(held) = table.pending.get_mut(&*id) {
                    held.push_back(bytes);
                }
                // held: what it ends is applied when it is sent
                return;
            }
            Destination::Assign(id) => {
                table.pending.insert(id.as_str().into(), VecDeque::new());
                tokio::spawn(assign_task(self.clone(), id, parsed.app.clone(), bytes));
                return;
            }
            Destination::Owners(owners) => {
                for owner in owners {
                    let seq = match table.peers.get_mut(&owner) {
                        Some(peer) => {
                            peer.seq += 1;
                            peer.seq
                        }
                        None => {
                            table.peers.insert(
                                owner.clone(),
                                Peer {
                                    last_seen: Instant::now(),
                                    seq: 1,
                                },
                            );
                            1
                        }
                    };
                    let mut headers = HeaderMap::new();
                    headers.insert(header::EPOCH, self.epoch.as_str());
                    headers.insert(header::SEQ, seq.to_string());
                    bump(&self.counters.to_owners, 1);
                    self.publish(self.subjects.owner(&owner), Some(headers), bytes.clone())
                        .await;
                }
            }
            Destination::Observe => {
                bump(&self.counters.observed, 1);
                let first = parsed.objects.first().map(|(k, id)| (*k, id.as_str()));
                let subject = self
                    .subjects
                    .observed(&parsed.app, first, &parsed.type_name);
                self.publish(subject, None, bytes).await;
            }
        }
        for (kind, id) in &parsed.objects {
            let key = (*kind, Box::<str>::from(id.as_str()));
            let subscribed = table.owners.get(&key).map(|o| o.subscribed);
            let ends =
                parsed.kind.ends(*kind) || (parsed.kind.leaves(*kind) && subscribed != Some(true));
            if ends {
                table.owners.remove(&key);
            }
        }
        self.note(table);
    }

    async fn publish(&self, subject: String, headers: Option<HeaderMap>, payload: Bytes) {
        let send = async {
            match headers {
                Some(headers) => {
                    self.nats
                        .publish_with_headers(subject, headers, payload)
                        .await
                }
                None => self.nats.publish(subject, payload).await,
            }
        };
        let error = match tokio::time::timeout(PUBLISH_TIMEOUT, send).await {
            Ok(Ok(())) => return,
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("NATS took nothing within {PUBLISH_TIMEOUT:?}"),
        };
        bump(&self.counters.dropped, 1);
        tracing::warn!(node = %self.node, %error, "relay: a message was dropped");
    }

    /// A new id for an object an instance creates without naming one.
    fn new_id(&self) -> String {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        format!("relay-{}-{n}", self.epoch)
    }

    /// Sends `frames` (held, or after an owner was found) through the usual routing.
    async fn flush(self: &Arc<Self>, table: &mut Table, frames: VecDeque<Bytes>) {
        for bytes in frames {
            let Some(parsed) = std::str::from_utf8(&bytes).ok().and_then(parse) else {
                continue;
            };
            self.dispatch(table, &parsed, bytes).await;
        }
    }

    /// Drops from the table the channels and bridges the node no longer has (recorded
    /// before the listing was asked for), and after a reconnect (`all`) also the
    /// playbacks and recordings it no longer has.
    async fn prune(&self, all: bool) {
        let asked = Instant::now();
        let channels = self.client.channels().list().await;
        let bridges = self.client.bridges().list().await;
        let (Ok(channels), Ok(bridges)) = (channels, bridges) else {
            tracing::debug!(node = %self.node, "relay: could not list the node's objects; the table is checked later");
            return;
        };
        let channels: HashSet<String> = channels.into_iter().map(|c| c.id.clone()).collect();
        let bridges: HashSet<String> = bridges.into_iter().map(|b| b.id.clone()).collect();
        let mut others = Vec::new();
        let mut dropped = 0;
        {
            let mut table = self.table.lock().await;
            table.owners.retain(|(kind, id), owned| {
                if owned.since > asked {
                    return true;
                }
                let keep = match kind {
                    ObjectKind::Channel => channels.contains(&**id),
                    ObjectKind::Bridge => bridges.contains(&**id),
                    ObjectKind::Playback | ObjectKind::LiveRecording => {
                        if all {
                            others.push((*kind, id.to_string()));
                        }
                        true
                    }
                    _ => true,
                };
                dropped += u64::from(!keep);
                keep
            });
            self.note(&table);
        }
        for (kind, id) in others {
            let gone = match kind {
                ObjectKind::Playback => self
                    .client
                    .playbacks()
                    .get(&id)
                    .await
                    .is_err_and(|e| e.is_not_found()),
                _ => self
                    .client
                    .recordings()
                    .get_live(&id)
                    .await
                    .is_err_and(|e| e.is_not_found()),
            };
            if gone {
                let mut table = self.table.lock().await;
                table.owners.remove(&(kind, Box::from(id.as_str())));
                self.note(&table);
                dropped += 1;
            }
        }
        if dropped > 0 {
            bump(&self.counters.pruned, dropped);
            tracing::info!(node = %self.node, dropped, "relay: objects the node no longer has left the table");
        }
    }
}

fn destination(table: &Table, parsed: &Parsed) -> Destination {
    if parsed.kind == EventKind::StasisStart {
        if let Some((ObjectKind::Channel, id)) = parsed.objects.first() {
            if table.pending.contains_key(id.as_str()) {
                return Destination::Hold(id.clone());
            }
            if !table
                .owners
                .contains_key(&(ObjectKind::Channel, Box::from(id.as_str())))
            {
                return Destination::Assign(id.clone());
            }
        }
    }
    if let Some((_, id)) = parsed
        .objects
        .iter()
        .find(|(k, id)| *k == ObjectKind::Channel && table.pending.contains_key(id.as_str()))
    {
        return Destination::Hold(id.clone());
    }
    let mut owners: Vec<Arc<str>> = Vec::new();
    for (kind, id) in &parsed.objects {
        if let Some(owned) = table.owners.get(&(*kind, Box::from(id.as_str()))) {
            if !owners.contains(&owned.instance) {
                owners.push(owned.instance.clone());
            }
        }
    }
    if owners.is_empty() {
        Destination::Observe
    } else {
        Destination::Owners(owners)
    }
}

/// [`assign`] as a task of its own (boxed: its future routes held events, which may start
/// another assignment).
fn assign_task(
    shared: Arc<Shared>,
    id: String,
    app: String,
    frame: Bytes,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
    Box::pin(assign(shared, id, app, frame))
}

/// Hands the new call of channel `id` to an instance: offers it to the queue group until
/// one answers, records it as the owner and sends it the call's `StasisStart` and the
/// events held meanwhile. A call that no instance takes within [`ASSIGN_GIVE_UP`] is hung
/// up.
async fn assign(shared: Arc<Shared>, id: String, app: String, frame: Bytes) {
    let subject = shared.subjects.new_calls(&app);
    let deadline = Instant::now() + ASSIGN_GIVE_UP;
    let owner = loop {
        let mut headers = HeaderMap::new();
        headers.insert(header::EPOCH, shared.epoch.as_str());
        let request = async_nats::Request::new()
            .headers(headers)
            .payload(frame.clone())
            .timeout(Some(ASK_TIMEOUT));
        let pause = match shared.nats.send_request(subject.clone(), request).await {
            Ok(answer) => match std::str::from_utf8(&answer.payload) {
                Ok(instance) if super::check_instance_id(instance).is_ok() => {
                    break Some(instance.to_owned());
                }
                _ => {
                    tracing::warn!(node = %shared.node, "relay: an answer to a new call that is no instance id; asking again");
                    Duration::from_millis(50)
                }
            },
            Err(e) if e.kind() == async_nats::RequestErrorKind::TimedOut => Duration::ZERO,
            Err(e) => {
                tracing::debug!(node = %shared.node, %app, error = %e, "relay: no instance takes new calls now");
                Duration::from_millis(100)
            }
        };
        bump(&shared.counters.asks_repeated, 1);
        if Instant::now() + pause >= deadline || shared.stopped() {
            break None;
        }
        tokio::time::sleep(pause).await;
    };
    let mut table = shared.table.lock().await;
    let mut held = table.pending.remove(id.as_str()).unwrap_or_default();
    match owner {
        Some(instance) => {
            // the owner gets the call's StasisStart from here, first and numbered like
            // every event it owns: an instance that answered the offer too late (to an
            // inbox nobody reads any more) never gets it, and a call has one owner
            held.push_front(frame);
            let instance = table.touch(&instance);
            table.owners.insert(
                (ObjectKind::Channel, id.as_str().into()),
                Owned {
                    instance,
                    subscribed: false,
                    since: Instant::now(),
                },
            );
            bump(&shared.counters.calls_assigned, 1);
            shared.flush(&mut table, held).await;
            shared.note(&table);
        }
        None => {
            bump(&shared.counters.calls_unassigned, 1);
            tracing::warn!(node = %shared.node, channel = %id, %app, "relay: no instance took the call; hanging it up");
            shared.flush(&mut table, held).await;
            drop(table);
            if let Err(e) = shared.client.channels().hangup(&id).await {
                tracing::debug!(node = %shared.node, channel = %id, error = %e, "relay: hangup of an unowned call failed");
            }
        }
    }
}

/// The heartbeats of the instances (`P.hb.*`).
async fn heartbeats(shared: Arc<Shared>, mut sub: async_nats::Subscriber) {
    while let Some(msg) = sub.next().await {
        let Some(instance) = msg.subject.as_str().rsplit('.').next() else {
            continue;
        };
        if super::check_instance_id(instance).is_err() {
            continue;
        }
        let mut table = shared.table.lock().await;
        table.touch(instance);
        if let Some(evicted) = table.evicted.remove(instance) {
            drop(table);
            // it was held dead and its calls were hung up: its clients end those (their
            // end events went to no owner, and a resync may still list a channel being
            // hung up) and resync
            let mut headers = HeaderMap::new();
            headers.insert(header::EPOCH, shared.epoch.as_str());
            headers.insert(header::CONTROL, "evicted");
            let body = serde_json::to_vec(&evicted.ended).unwrap_or_default();
            shared
                .publish(shared.subjects.owner(instance), Some(headers), body.into())
                .await;
        }
    }
}

/// How long the relay waits for its own status request to come back through the NATS
/// server before it holds an instance dead.
const HEARING_CHECK: Duration = Duration::from_secs(1);

/// Whether the relay hears the NATS server now: its own status request (`P.N.status`,
/// which it serves) makes the round trip through the server within [`HEARING_CHECK`].
/// The server delivers it after every message it had for the relay before, so the
/// heartbeats that waited (a frozen connection, a paused process) are then in their
/// subscription: one heartbeat period more lets the heartbeats task take them in.
async fn hears(shared: &Shared) -> bool {
    let round_trip = shared.nats.request(shared.subjects.status(), Bytes::new());
    if !matches!(
        tokio::time::timeout(HEARING_CHECK, round_trip).await,
        Ok(Ok(_))
    ) {
        return false;
    }
    tokio::time::sleep(super::HEARTBEAT).await;
    true
}

/// After the relay's NATS connection came back, how much longer than the instance timeout
/// each instance has to be heard from again: its own connection comes back on its own
/// schedule (async-nats waits up to 4 s between attempts by default).
const NATS_RETURN_GRACE: Duration = Duration::from_secs(5);

/// Holds dead the instances silent for longer than the timeout: forgets what they owned,
/// hangs up their channels and destroys their bridges; checks the table against the node
/// now and then.
///
/// Silence is judged only while the relay itself hears the NATS server (connected, and
/// its own status request back through the server: [`hears`]): when its own connection is down or frozen, or the
/// process was paused, no heartbeat could reach it, and holding every instance dead would
/// hang up every call of the node. When it hears again, every instance gets
/// [`NATS_RETURN_GRACE`] more to be heard from.
async fn liveness(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_sweep = Instant::now();
    let mut nats_down = false;
    loop {
        tick.tick().await;
        let silent_now = {
            let table = shared.table.lock().await;
            let now = Instant::now();
            table
                .peers
                .values()
                .any(|p| now.duration_since(p.last_seen) > shared.instance_timeout)
        };
        if shared.nats.connection_state() != async_nats::connection::State::Connected
            || (silent_now && !hears(&shared).await)
        {
            if !nats_down {
                nats_down = true;
                tracing::warn!(node = %shared.node, "relay: the NATS server does not answer; instances are not held dead meanwhile");
            }
            continue;
        }
        let mut orphans = Vec::new();
        let mut dead = Vec::new();
        {
            let mut table = shared.table.lock().await;
            let now = Instant::now();
            if std::mem::take(&mut nats_down) {
                tracing::info!(node = %shared.node, grace = ?NATS_RETURN_GRACE, "relay: the NATS connection is back");
                for peer in table.peers.values_mut() {
                    peer.last_seen = now + NATS_RETURN_GRACE;
                }
            }
            let silent: Vec<Arc<str>> = table
                .peers
                .iter()
                .filter(|(_, p)| now.duration_since(p.last_seen) > shared.instance_timeout)
                .map(|(name, _)| name.clone())
                .collect();
            for name in silent {
                table.peers.remove(&name);
                let before = table.owners.len();
                let mut ended = Vec::new();
                table.owners.retain(|(kind, id), owned| {
                    if owned.instance != name {
                        return true;
                    }
                    if matches!(kind, ObjectKind::Channel | ObjectKind::Bridge) {
                        ended.push((kind.as_str().to_owned(), id.to_string()));
                        orphans.push((*kind, id.to_string()));
                    }
                    false
                });
                if table.owners.len() < before {
                    table
                        .evicted
                        .insert(name.clone(), Evicted { at: now, ended });
                    dead.push(name);
                }
            }
            table
                .evicted
                .retain(|_, e| now.duration_since(e.at) < Duration::from_secs(300));
            shared.note(&table);
        }
        for name in &dead {
            bump(&shared.counters.instances_dead, 1);
            tracing::warn!(
                node = %shared.node,
                instance = %name,
                timeout = ?shared.instance_timeout,
                "relay: an instance that owned calls stopped sending heartbeats; hanging up its channels"
            );
        }
        if !orphans.is_empty() {
            let shared = shared.clone();
            tokio::spawn(async move {
                for (kind, id) in orphans {
                    let ended = match kind {
                        ObjectKind::Channel => shared.client.channels().hangup(&id).await,
                        _ => shared.client.bridges().destroy(&id).await,
                    };
                    match ended {
                        Ok(()) => bump(&shared.counters.orphans_ended, 1),
                        Err(e) if e.is_not_found() => {}
                        Err(e) => {
                            tracing::warn!(node = %shared.node, %kind, %id, error = %e, "relay: could not end an object of a dead instance")
                        }
                    }
                }
            });
        }
        if last_sweep.elapsed() >= SWEEP_EVERY {
            last_sweep = Instant::now();
            shared.prune(false).await;
        }
    }
}

/// Follows the ARI connection: a loss and a return are announced to the instances (`P.N.ctl`)
/// — after the return, once the table was checked against the node.
async fn watch_node(shared: Arc<Shared>, mut changes: crate::StateChanges) {
    let mut lost = false;
    while let Some(state) = changes.next().await {
        match state {
            ConnectionState::Disconnected { reason } if !lost => {
                lost = true;
                tracing::warn!(node = %shared.node, %reason, "relay: the ARI connection was lost");
                shared.announce(false).await;
            }
            ConnectionState::Connected if lost => {
                lost = false;
                shared.prune(true).await;
                shared.announce(true).await;
            }
            ConnectionState::Closed => break,
            _ => {}
        }
    }
}

/// `P.N.status`: the epoch and whether the node is reachable.
async fn serve_status(shared: Arc<Shared>, mut sub: async_nats::Subscriber) {
    while let Some(msg) = sub.next().await {
        let Some(reply) = msg.reply else { continue };
        let status = NodeStatus {
            epoch: shared.epoch.clone(),
            connected: shared.client.state() == ConnectionState::Connected,
        };
        let payload = serde_json::to_vec(&status).unwrap_or_default();
        let _ = shared.nats.publish(reply, payload.into()).await;
    }
}

/// `P.N.claim`: after a relay restart, an instance names the objects it owned; those
/// nobody else owns are its again.
async fn serve_claims(shared: Arc<Shared>, mut sub: async_nats::Subscriber) {
    while let Some(msg) = sub.next().await {
        let Some(reply) = msg.reply.clone() else {
            continue;
        };
        let claim = match serde_json::from_slice::<Claim>(&msg.payload) {
            Ok(claim) if super::check_instance_id(&claim.instance).is_ok() => claim,
            _ => {
                tracing::warn!(node = %shared.node, "relay: a claim that does not read");
                continue;
            }
        };
        let mut taken = 0usize;
        {
            let mut table = shared.table.lock().await;
            let instance = table.touch(&claim.instance);
            for (kind, id) in claim.objects.iter().take(100_000) {
                let Some(kind) = super::object_kind(kind) else {
                    continue;
                };
                table
                    .owners
                    .entry((kind, id.as_str().into()))
                    .or_insert_with(|| {
                        taken += 1;
                        Owned {
                            instance: instance.clone(),
                            subscribed: false,
                            since: Instant::now(),
                        }
                    });
            }
            shared.note(&table);
        }
        tracing::info!(node = %shared.node, instance = %claim.instance, taken, "relay: objects claimed");
        let _ = shared.nats.publish(reply, taken.to_string().into()).await;
    }
}

/// `P.N.rest`: the instances' REST requests, each in a task of its own.
async fn serve_rest(shared: Arc<Shared>, mut sub: async_nats::Subscriber) {
    while let Some(msg) = sub.next().await {
        let shared = shared.clone();
        tokio::spawn(async move {
            let Some(reply) = msg.reply.clone() else {
                return;
            };
            let error = match perform(&shared, &msg).await {
                Ok((headers, body)) => {
                    let max = shared.nats.server_info().max_payload;
                    if max > 0 && body.len() + 1024 > max {
                        refused(
                            &shared,
                            reply,
                            Error::new(ErrorKind::ResponseTooLarge).with_message(format!(
                                "Asterisk's answer has {} bytes, more than a NATS message carries ({max}, the server's max_payload)",
                                body.len()
                            )),
                        )
                        .await;
                        return;
                    }
                    let _ = shared.nats.publish_with_headers(reply, headers, body).await;
                    return;
                }
                Err(e) => e,
            };
            refused(&shared, reply, error).await;
        });
    }
}

async fn refused(shared: &Shared, reply: async_nats::Subject, error: Error) {
    let mut headers = HeaderMap::new();
    headers.insert(header::ERROR, error.kind().name());
    let _ = shared
        .nats
        .publish_with_headers(reply, headers, error.chain().into())
        .await;
}

/// A header of a request, as text.
fn text<'a>(msg: &'a async_nats::Message, name: &str) -> Option<&'a str> {
    msg.headers
        .as_ref()?
        .get(name)
        .map(async_nats::HeaderValue::as_str)
}

fn bad_request(why: String) -> Error {
    Error::new(ErrorKind::InvalidArgument).with_message(format!("relay: {why}"))
}

/// The values of the path parameters of `path` by the template `template`, if `path` is
/// one of its paths (the same literal segments).
fn path_params<'a>(template: &'a str, path: &'a str) -> Option<Vec<(&'a str, &'a str)>> {
    let t: Vec<&str> = template.split('/').collect();
    let p: Vec<&str> = path.split('/').collect();
    if t.len() != p.len() {
        return None;
    }
    let mut out = Vec::new();
    for (t, p) in t.iter().zip(&p) {
        match t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
            // `.` and `..` (or their percent-encoded forms, which URLs read alike) would
            // name another resource
            Some(name) if !p.is_empty() && !matches!(&*decode(p), "." | "..") => {
                out.push((name, *p));
            }
            Some(_) => return None,
            None if t == p => {}
            None => return None,
        }
    }
    Some(out)
}

/// The decoded value of query parameter `name` in `query` (`?a=1&b=2`).
fn query_value(query: &str, name: &str) -> Option<String> {
    query
        .trim_start_matches('?')
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| decode(v))
}

fn decode(value: &str) -> String {
    percent_encoding::percent_decode_str(value)
        .decode_utf8_lossy()
        .into_owned()
}

/// Carries one REST request of an instance: checks it, records the owner of what it
/// creates (before it is sent, so that the events that come before the answer reach the
/// owner), performs it, and answers Asterisk's status and body.
async fn perform(shared: &Arc<Shared>, msg: &async_nats::Message) -> Result<(HeaderMap, Bytes)> {
    let refuse = |e: Error| {
        bump(&shared.counters.rest_refused, 1);
        e
    };
    let instance = text(msg, header::INSTANCE)
        .filter(|i| super::check_instance_id(i).is_ok())
        .ok_or_else(|| refuse(bad_request("a request without a valid instance id".into())))?;
    let index: u16 = text(msg, header::OP_INDEX)
        .and_then(|i| i.parse().ok())
        .ok_or_else(|| refuse(bad_request("a request without an operation".into())))?;
    let name = text(msg, header::OP).unwrap_or_default();
    let op: &'static Operation = if index == UNCHECKED && name == API_DOCS.name {
        &API_DOCS
    } else {
        crate::api::OPERATIONS
            .get(usize::from(index))
            .filter(|op| op.name == name)
            .ok_or_else(|| {
                refuse(bad_request(format!(
                    "no operation {:?} at {index} in this relay's table (built from other specs?)",
                    shown(name)
                )))
            })?
    };
    let target = text(msg, header::PATH).unwrap_or_default();
    if !target.bytes().all(|b| b.is_ascii_graphic()) || target.contains('#') {
        return Err(refuse(
            bad_request(format!(
                "a path that is not percent-encoded: {:?}",
                shown(target)
            ))
            .with_operation(op.name),
        ));
    }
    let (path, query) = match target.find('?') {
        Some(i) => target.split_at(i),
        None => (target, ""),
    };
    let Some(params) = path_params(op.path, path) else {
        return Err(refuse(
            bad_request(format!(
                "the path {:?} is not one of `{}`",
                shown(path),
                op.path
            ))
            .with_operation(op.name),
        ));
    };
    let mut query = query.to_owned();
    let mut param_bits: u64 = text(msg, header::PARAMS)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let body = text(msg, header::BODY).map(|_| msg.payload.to_vec());

    // what the request creates, and who owns it from now on
    let mut created: Vec<(ObjectKind, String)> = Vec::new();
    for (_, kind, param) in crate::api::CREATORS.iter().filter(|(i, ..)| *i == index) {
        let id = match params.iter().find(|(p, _)| p == param) {
            Some((_, value)) => decode(value),
            None => match query_value(&query, param) {
                Some(id) => id,
                None => {
                    let id = shared.new_id();
                    query.push(if query.is_empty() { '?' } else { '&' });
                    query.push_str(param);
                    query.push('=');
                    query.push_str(&id);
                    param_bits |= op.param_bit(param);
                    id
                }
            },
        };
        created.push((*kind, id));
        if *kind == ObjectKind::Channel {
            // a Local channel's other half, when the request names it
            if let Some(other) = query_value(&query, "otherChannelId") {
                created.push((ObjectKind::Channel, other));
            }
        }
    }
    let subscribed = query_value(&query, "app").is_some();
    {
        let mut table = shared.table.lock().await;
        let owner = table.touch(instance);
        for (kind, id) in &created {
            table.owners.insert(
                (*kind, id.as_str().into()),
                Owned {
                    instance: owner.clone(),
                    subscribed,
                    since: Instant::now(),
                },
            );
        }
        shared.note(&table);
    }
    let request = Request {
        op,
        path: path.to_owned(),
        query: query.clone(),
        body,
        params: param_bits,
    };
    bump(&shared.counters.rest_requests, 1);
    let answer = shared.client.rest().forward(request).await;
    let ok = answer
        .as_ref()
        .is_ok_and(|a| (200..300).contains(&a.status));
    {
        let mut table = shared.table.lock().await;
        if !ok {
            // nothing was created: nobody owns it
            for (kind, id) in &created {
                let key = (*kind, Box::<str>::from(id.as_str()));
                if table
                    .owners
                    .get(&key)
                    .is_some_and(|o| &*o.instance == instance)
                {
                    table.owners.remove(&key);
                }
            }
        } else {
            after_success(&mut table, op, &params, &query, instance);
        }
        shared.note(&table);
    }
    let answer = answer?;
    let mut headers = HeaderMap::new();
    headers.insert(header::STATUS, answer.status.to_string());
    if !answer.reason.is_empty()
        && answer
            .reason
            .bytes()
            .all(|b| b.is_ascii_graphic() || b == b' ')
    {
        headers.insert(header::REASON, answer.reason.as_str());
    }
    Ok((headers, answer.body))
}

/// What a successful request changes in the table besides what it created: the
/// application's subscriptions, a bridge destroyed.
fn after_success(
    table: &mut Table,
    op: &Operation,
    params: &[(&str, &str)],
    query: &str,
    instance: &str,
) {
    match op.name {
        "applications.subscribe" | "applications.unsubscribe" => {
            let subscribe = op.name == "applications.subscribe";
            let Some(sources) = query
                .trim_start_matches('?')
                .split('&')
                .filter_map(|pair| pair.split_once('='))
                .find(|(k, _)| *k == "eventSource")
                .map(|(_, v)| v.to_owned())
            else {
                return;
            };
            let owner = table.touch(instance);
            for source in sources.split(',').map(decode) {
                let Some((kind, id)) = ObjectKind::named_by_source(&source) else {
                    continue;
                };
                let key = (kind, Box::<str>::from(id));
                if subscribe {
                    let owned = table.owners.entry(key).or_insert_with(|| Owned {
                        instance: owner.clone(),
                        subscribed: true,
                        since: Instant::now(),
                    });
                    owned.subscribed = true;
                } else if let Some(owned) = table.owners.get_mut(&key) {
                    if owned.instance == owner {
                        owned.subscribed = false;
                        if !kind.can_end() {
                            table.owners.remove(&key);
                        }
                    }
                }
            }
        }
        // a bridge the application is not subscribed to gets no BridgeDestroyed
        "bridges.destroy" => {
            if let Some((_, id)) = params.iter().find(|(p, _)| *p == "bridgeId") {
                table
                    .owners
                    .remove(&(ObjectKind::Bridge, decode(id).into_boxed_str()));
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_their_templates_only() {
        assert_eq!(
            path_params("/channels/{channelId}/play", "/channels/a%2Eb/play"),
            Some(vec![("channelId", "a%2Eb")])
        );
        assert_eq!(path_params("/channels", "/channels"), Some(vec![]));
        for bad in [
            "/channels//play",
            "/bridges/x/play",
            "/channels/x",
            "channels/x/play",
            "/channels/../play",
            "/channels/%2e%2E/play",
            "/channels/./play",
        ] {
            assert_eq!(
                path_params("/channels/{channelId}/play", bad),
                None,
                "{bad}"
            );
        }
    }

    #[test]
    fn query_values_are_decoded() {
        assert_eq!(
            query_value("?endpoint=Local%2F1%40x&channelId=a%2Eb", "channelId").as_deref(),
            Some("a.b")
        );
        assert_eq!(query_value("?app=x", "channelId"), None);
        assert_eq!(query_value("", "app"), None);
    }

    #[test]
    fn events_are_parsed_for_routing() {
        let p =
            parse(r#"{"type":"StasisStart","application":"ivr","channel":{"id":"c.1"},"args":[]}"#)
                .unwrap();
        assert_eq!(p.kind, EventKind::StasisStart);
        assert_eq!(p.app, "ivr");
        assert_eq!(p.objects, vec![(ObjectKind::Channel, "c.1".to_owned())]);
        // escapes make the scanner unsure: serde decides
        let p = parse(
            r#"{"type":"StasisStart","application":"i\u0076r","channel":{"id":"c\"2","name":"x","state":"Up","caller":{"name":"","number":""},"connected":{"name":"","number":""},"accountcode":"","dialplan":{"context":"c","exten":"e","priority":1,"app_name":"","app_data":""},"creationtime":"2024-01-01T00:00:00.000+0000","language":"en"},"args":[],"timestamp":"2024-01-01T00:00:00.000+0000"}"#,
        );
        let p = p.expect("decodes");
        assert_eq!(p.app, "ivr");
        assert_eq!(p.objects, vec![(ObjectKind::Channel, "c\"2".to_owned())]);
        assert!(parse("not json").is_none());
        assert!(parse(r#"{"no":"type"}"#).is_none());
    }

    fn table_with(owners: &[(ObjectKind, &str, &str)]) -> Table {
        let mut table = Table::default();
        for (kind, id, instance) in owners {
            table.owners.insert(
                (*kind, (*id).into()),
                Owned {
                    instance: (*instance).into(),
                    subscribed: false,
                    since: Instant::now(),
                },
            );
        }
        table
    }

    fn parsed(kind: EventKind, objects: &[(ObjectKind, &str)]) -> Parsed {
        Parsed {
            kind,
            type_name: kind.as_str().to_owned(),
            app: "a".into(),
            objects: objects
                .iter()
                .map(|(k, id)| (*k, (*id).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn events_go_to_every_owner_of_their_objects_once() {
        let table = table_with(&[
            (ObjectKind::Channel, "c1", "i1"),
            (ObjectKind::Bridge, "b1", "i2"),
            (ObjectKind::Channel, "c2", "i1"),
        ]);
        let owners = |p: Parsed| match destination(&table, &p) {
            Destination::Owners(o) => o.iter().map(|o| o.to_string()).collect::<Vec<_>>(),
            Destination::Observe => vec!["observe".to_owned()],
            Destination::Hold(id) => vec![format!("hold {id}")],
            Destination::Assign(id) => vec![format!("assign {id}")],
        };
        assert_eq!(
            owners(parsed(
                EventKind::ChannelEnteredBridge,
                &[(ObjectKind::Channel, "c1"), (ObjectKind::Bridge, "b1")]
            )),
            ["i1", "i2"]
        );
        assert_eq!(
            owners(parsed(
                EventKind::Dial,
                &[(ObjectKind::Channel, "c1"), (ObjectKind::Channel, "c2")]
            )),
            ["i1"]
        );
        assert_eq!(
            owners(parsed(
                EventKind::StasisStart,
                &[(ObjectKind::Channel, "new")]
            )),
            ["assign new"]
        );
        assert_eq!(
            owners(parsed(
                EventKind::StasisStart,
                &[(ObjectKind::Channel, "c2")]
            )),
            ["i1"]
        );
        assert_eq!(
            owners(parsed(
                EventKind::ChannelVarset,
                &[(ObjectKind::Channel, "x")]
            )),
            ["observe"]
        );
        let mut table = table;
        table.pending.insert("p".into(), VecDeque::new());
        let p = parsed(EventKind::ChannelVarset, &[(ObjectKind::Channel, "p")]);
        assert!(matches!(destination(&table, &p), Destination::Hold(id) if id == "p"));
    }
}
