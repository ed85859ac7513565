//! An app instance: clients of Asterisk nodes reached through their relays. Each client is
//! a [`Client`] like a direct one (handlers, objects, waiters, lanes, resync); its events
//! come from NATS (the calls this instance owns) and its REST requests go to the relay.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_nats::HeaderMap;
use bytes::Bytes;
use futures_util::StreamExt as _;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::{header, nats_error, Claim, NodeStatus, Subjects};
use crate::client::{Client, WeakClient};
use crate::config::ClientBuilder;
use crate::connection::{Feed, FeedItem, FeedSession, Source};
use crate::error::{Error, ErrorKind, Result};
use crate::rest::{Remote, RemoteAnswer, Request};
use crate::ws::Frame;

/// How many events wait between NATS and a client's dispatcher; beyond that the
/// subscription's own buffer fills (and NATS drops, which the sequence numbers show).
const FEED_QUEUE: usize = 4096;

/// How long a relay has to answer a status request.
const STATUS_TIMEOUT: Duration = Duration::from_secs(2);

/// Counters of an instance, since it was built, over all its nodes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct InstanceStats {
    /// New calls this instance answered an offer of (a call whose offer it answered after
    /// the relay stopped waiting went to another instance, and counts here too).
    pub calls_taken: u64,
    /// Events received for the objects it owns.
    pub events: u64,
    /// Gaps in the sequence numbers of those events (each logged at `warn`, and followed
    /// by a resync of the node).
    pub gaps: u64,
    /// Events the gaps say were lost.
    pub missed: u64,
    /// Times a node's events stopped: its relay lost Asterisk, restarted, or held this
    /// instance dead (each followed by a resync of the node).
    pub interruptions: u64,
    /// Messages that were not events (not UTF-8, no sequence number): logged, skipped.
    pub garbage: u64,
}

#[derive(Default)]
struct Counters {
    calls_taken: AtomicU64,
    events: AtomicU64,
    gaps: AtomicU64,
    missed: AtomicU64,
    interruptions: AtomicU64,
    garbage: AtomicU64,
}

/// Builds an [`Instance`]. Start with [`Instance::builder`].
#[must_use]
pub struct InstanceBuilder {
    nats: async_nats::Client,
    id: Option<String>,
    prefix: String,
}

impl std::fmt::Debug for InstanceBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstanceBuilder")
            .field("id", &self.id)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl InstanceBuilder {
    /// The instance's id (1 to 64 ASCII letters, digits, `-` and `_`), unique among the
    /// instances on the NATS server; by default `i-` and 12 random hex digits. The relays
    /// record it as the owner of the calls the instance takes.
    pub fn id(mut self, id: &str) -> Self {
        self.id = Some(id.to_owned());
        self
    }

    /// The subject prefix (default [`DEFAULT_PREFIX`](super::DEFAULT_PREFIX)): the relays'.
    pub fn prefix(mut self, prefix: &str) -> Self {
        prefix.clone_into(&mut self.prefix);
        self
    }

    /// Checks the settings.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] for a bad id or prefix.
    pub fn build(self) -> Result<Instance> {
        super::check_prefix(&self.prefix)?;
        let id = self
            .id
            .unwrap_or_else(|| format!("i-{:012x}", crate::random::u64() & 0xffff_ffff_ffff));
        super::check_instance_id(&id)?;
        Ok(Instance {
            shared: Arc::new(Shared {
                nats: self.nats,
                id,
                prefix: self.prefix,
                counters: Counters::default(),
                stop: watch::channel(Stop::Running).0,
                heartbeat: OnceLock::new(),
            }),
        })
    }
}

/// An app instance: one process of the application among several, on a NATS server with a
/// [`Relay`](super::Relay) per Asterisk node. See [the module](super) and `docs/nats.md`.
///
/// Each client it makes is a [`Client`] of one node: handlers, objects, waiters and
/// `resync` work as with a direct client. New calls are shared among the instances (a
/// NATS queue group per application); a call's events, and those of the objects the
/// instance creates for it, come to the instance that took it.
///
/// Cheap to clone; every clone is the same instance.
#[derive(Clone)]
pub struct Instance {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance")
            .field("id", &self.shared.id)
            .field("prefix", &self.shared.prefix)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Running,
    /// No new calls; heartbeats go on.
    NoNewCalls,
    /// No new calls, no heartbeats.
    Stopped,
}

struct Shared {
    nats: async_nats::Client,
    id: String,
    prefix: String,
    counters: Counters,
    stop: watch::Sender<Stop>,
    heartbeat: OnceLock<JoinHandle<()>>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        if let Some(task) = self.heartbeat.get() {
            task.abort();
        }
    }
}

impl Shared {
    fn bump(&self, counter: impl Fn(&Counters) -> &AtomicU64, n: u64) {
        counter(&self.counters).fetch_add(n, Ordering::Relaxed);
    }

    /// Starts the heartbeats (once, in a runtime).
    fn start_heartbeat(self: &Arc<Self>) {
        self.heartbeat.get_or_init(|| {
            let weak = Arc::downgrade(self);
            let subject = Subjects::heartbeat(&self.prefix, &self.id);
            let nats = self.nats.clone();
            let mut stop = self.stop.subscribe();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(super::HEARTBEAT);
                loop {
                    tokio::select! {
                        _ = tick.tick() => {}
                        _ = stop.wait_for(|s| *s == Stop::Stopped) => break,
                    }
                    if weak.strong_count() == 0 {
                        break;
                    }
                    if let Err(e) = nats.publish(subject.clone(), Bytes::new()).await {
                        tracing::warn!(error = %e, "instance: could not send a heartbeat");
                    }
                }
            })
        });
    }
}

impl Instance {
    /// An instance on the NATS connection `nats`.
    pub fn builder(nats: async_nats::Client) -> InstanceBuilder {
        InstanceBuilder {
            nats,
            id: None,
            prefix: super::DEFAULT_PREFIX.to_owned(),
        }
    }

    /// The instance's id.
    pub fn id(&self) -> &str {
        &self.shared.id
    }

    /// A client of node `node` (the relay's node name) with the default settings of
    /// [`ClientBuilder::relayed`]. Nothing is contacted yet: [`Client::start`] asks the
    /// relay whether it has the node, and fails with [`ErrorKind::Connect`] when no relay
    /// answers for it.
    ///
    /// # Errors
    ///
    /// As [`client_with`](Self::client_with).
    pub fn client(&self, node: &str) -> Result<Client> {
        self.client_with(node, ClientBuilder::relayed())
    }

    /// A client of node `node` with the settings of `builder` (made with
    /// [`ClientBuilder::relayed`]).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] for settings not made by
    /// [`ClientBuilder::relayed`] or an empty node name.
    pub fn client_with(&self, node: &str, builder: ClientBuilder) -> Result<Client> {
        if !builder.is_relayed() {
            return Err(Error::new(ErrorKind::InvalidArgument)
                .with_message("an instance's clients take ClientBuilder::relayed() settings"));
        }
        if node.is_empty() {
            return Err(Error::new(ErrorKind::InvalidArgument).with_message("a node needs a name"));
        }
        let config = builder.node(node).into_config()?;
        let subjects = Subjects::new(&self.shared.prefix, node);
        let (tx, rx) = mpsc::channel(FEED_QUEUE);
        let feed = Arc::new(NodeFeed {
            instance: self.shared.clone(),
            node: node.to_owned(),
            rest: Arc::new(NatsRest {
                nats: self.shared.nats.clone(),
                subject: subjects.rest(),
                node: node.to_owned(),
                instance: self.shared.id.clone(),
            }),
            subjects,
            tx,
            rx: Arc::new(tokio::sync::Mutex::new(rx)),
            link: Arc::new(Mutex::new(Link::default())),
            pump: Mutex::new(None),
            client: OnceLock::new(),
        });
        let client = ClientBuilder::build_from(config, Source::Feed(feed.clone()))?;
        let _ = feed.client.set(client.downgrade());
        Ok(client)
    }

    /// [`client`](Self::client), then what [`ClientBuilder::connect`] does, through the
    /// relay: `GET /asterisk/ping`, and the server's declarations of its API.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Connect`] when no relay answers for the node, or the relay cannot
    /// reach Asterisk; the errors of `connect`.
    pub async fn connect(&self, node: &str) -> Result<Client> {
        let client = self.client(node)?;
        crate::connect::handshake(&client, true).await?;
        Ok(client)
    }

    /// Takes no new calls from now on (on every node); the calls it has go on, and so do
    /// its heartbeats. For a graceful stop: wait until its calls have ended, then
    /// [`shutdown`](Self::shutdown).
    pub fn stop_taking_calls(&self) {
        self.shared.stop.send_if_modified(|s| {
            let changed = *s == Stop::Running;
            if changed {
                *s = Stop::NoNewCalls;
            }
            changed
        });
    }

    /// Takes no new calls and stops the heartbeats: the relays hold the instance dead after
    /// their timeout (2 s by default) and hang up the channels it still owns. Its clients
    /// are shut down with [`Client::shutdown`] as usual.
    pub fn shutdown(&self) {
        self.shared.stop.send_replace(Stop::Stopped);
    }

    /// The counters now.
    pub fn stats(&self) -> InstanceStats {
        let c = &self.shared.counters;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        InstanceStats {
            calls_taken: load(&c.calls_taken),
            events: load(&c.events),
            gaps: load(&c.gaps),
            missed: load(&c.missed),
            interruptions: load(&c.interruptions),
            garbage: load(&c.garbage),
        }
    }
}

/// What an instance knows of a node's relay.
#[derive(Default)]
struct Link {
    /// The relay's epoch, once known.
    epoch: Option<String>,
    /// The sequence number the next event must have.
    next_seq: u64,
    /// Whether the node was reachable at the last news.
    connected: bool,
    /// A new epoch was seen since the last session opened: the new relay must be told
    /// what this instance owns.
    claim: bool,
}

impl Link {
    /// A new epoch was seen (`true`): the relay restarted.
    fn adopt(&mut self, epoch: &str) -> bool {
        if self.epoch.as_deref() == Some(epoch) {
            return false;
        }
        let restarted = self.epoch.is_some();
        self.epoch = Some(epoch.to_owned());
        self.next_seq = 1;
        self.claim |= restarted;
        restarted
    }
}

/// A client's feed of one node: the subscriptions of its events, its new calls and its
/// relay's news, pumped into one queue in order.
struct NodeFeed {
    instance: Arc<Shared>,
    node: String,
    subjects: Subjects,
    rest: Arc<NatsRest>,
    tx: mpsc::Sender<FeedItem>,
    rx: Arc<tokio::sync::Mutex<mpsc::Receiver<FeedItem>>>,
    link: Arc<Mutex<Link>>,
    pump: Mutex<Option<JoinHandle<()>>>,
    client: OnceLock<WeakClient>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl NodeFeed {
    /// Asks the relay for the node's state.
    async fn status(&self) -> Result<NodeStatus> {
        let request = async_nats::Request::new().timeout(Some(STATUS_TIMEOUT));
        let answer = self
            .instance
            .nats
            .send_request(self.subjects.status(), request)
            .await
            .map_err(|e| match e.kind() {
                async_nats::RequestErrorKind::NoResponders => Error::new(ErrorKind::Connect)
                    .with_message(format!("no relay serves node `{}` on NATS", self.node)),
                async_nats::RequestErrorKind::TimedOut => Error::new(ErrorKind::Timeout)
                    .with_message(format!(
                        "the relay of node `{}` did not answer within {STATUS_TIMEOUT:?}",
                        self.node
                    )),
                _ => nats_error("status request", e),
            })?;
        serde_json::from_slice(&answer.payload).map_err(|e| {
            Error::new(ErrorKind::Protocol)
                .with_message(format!(
                    "the relay of node `{}` answered garbage",
                    self.node
                ))
                .with_source(e)
        })
    }

    /// After a relay restart: tells the new relay which objects this instance tracks on the
    /// node (those with handlers, waiters or subscriptions).
    async fn claim(&self) {
        let Some(client) = self.client.get().and_then(WeakClient::upgrade) else {
            return;
        };
        let objects: Vec<(String, String)> = client
            .hub()
            .tracked()
            .into_iter()
            .map(|(kind, id)| (kind.as_str().to_owned(), id))
            .collect();
        let claim = Claim {
            instance: self.instance.id.clone(),
            objects,
        };
        let Ok(payload) = serde_json::to_vec(&claim) else {
            return;
        };
        let request = async_nats::Request::new()
            .payload(payload.into())
            .timeout(Some(STATUS_TIMEOUT));
        match self
            .instance
            .nats
            .send_request(self.subjects.claim(), request)
            .await
        {
            Ok(answer) => tracing::info!(
                node = %self.node,
                claimed = claim.objects.len(),
                taken = %String::from_utf8_lossy(&answer.payload),
                "instance: objects claimed from a restarted relay"
            ),
            Err(e) => {
                tracing::warn!(node = %self.node, error = %e, "instance: the claim to a restarted relay failed")
            }
        }
    }

    /// Starts the pump for `apps`, once.
    async fn start_pump(&self, apps: &[String]) -> Result<()> {
        if lock(&self.pump).as_ref().is_some_and(|p| !p.is_finished()) {
            return Ok(());
        }
        let nats = &self.instance.nats;
        let events = nats
            .subscribe(self.subjects.owner(&self.instance.id))
            .await
            .map_err(|e| nats_error("subscribe to the owner's subject", e))?;
        let news = nats
            .subscribe(self.subjects.control())
            .await
            .map_err(|e| nats_error("subscribe to the relay's news", e))?;
        let mut calls = Vec::new();
        for app in apps {
            calls.push(
                nats.queue_subscribe(self.subjects.new_calls(app), self.subjects.queue_group(app))
                    .await
                    .map_err(|e| nats_error("subscribe to the new calls", e))?,
            );
        }
        let pump = Pump {
            instance: self.instance.clone(),
            node: self.node.clone(),
            tx: self.tx.clone(),
            link: self.link.clone(),
        };
        *lock(&self.pump) = Some(tokio::spawn(pump.run(events, news, calls)));
        Ok(())
    }
}

impl Feed for NodeFeed {
    fn open<'a>(
        &'a self,
        apps: &'a [String],
        first: bool,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<FeedSession>> + Send + 'a>> {
        Box::pin(async move {
            self.instance.start_heartbeat();
            let status = loop {
                match self.status().await {
                    Ok(status) if status.connected => break status,
                    Ok(_) if first => {
                        return Err(Error::new(ErrorKind::Connect).with_message(format!(
                            "the relay of node `{}` has no connection to Asterisk now",
                            self.node
                        )))
                    }
                    Err(e) if first => return Err(e),
                    _ => tokio::time::sleep(Duration::from_millis(250)).await,
                }
            };
            // a restarted relay (seen here, or by the pump since the last session) must be
            // told what this instance owns
            let claim = {
                let mut link = lock(&self.link);
                link.connected = true;
                link.adopt(&status.epoch);
                std::mem::take(&mut link.claim)
            };
            self.start_pump(apps).await?;
            if claim {
                self.claim().await;
            }
            let guard = self.rx.clone().lock_owned().await;
            let session: FeedSession =
                Box::pin(futures_util::stream::unfold(guard, |mut rx| async move {
                    rx.recv().await.map(|item| (item, rx))
                }));
            Ok(session)
        })
    }

    fn rest(&self) -> Arc<dyn Remote> {
        self.rest.clone()
    }

    fn close(&self) {
        if let Some(pump) = lock(&self.pump).take() {
            pump.abort();
        }
    }
}

/// Moves a node's messages into its client's queue, checking the sequence numbers.
struct Pump {
    instance: Arc<Shared>,
    node: String,
    tx: mpsc::Sender<FeedItem>,
    link: Arc<Mutex<Link>>,
}

impl Pump {
    async fn run(
        self,
        mut events: async_nats::Subscriber,
        mut news: async_nats::Subscriber,
        calls: Vec<async_nats::Subscriber>,
    ) {
        let mut calls = Some(futures_util::stream::select_all(calls));
        let mut stop = self.instance.stop.subscribe();
        loop {
            let taking = calls.is_some();
            tokio::select! {
                msg = events.next() => match msg {
                    Some(msg) => if !self.event(msg).await { break },
                    None => break,
                },
                msg = news.next() => match msg {
                    Some(msg) => if !self.news(&msg).await { break },
                    None => break,
                },
                msg = async { calls.as_mut().expect("guarded").next().await }, if taking => match msg {
                    Some(msg) => if !self.new_call(msg).await { break },
                    None => calls = None,
                },
                changed = stop.changed() => {
                    if changed.is_err() || *stop.borrow() != Stop::Running {
                        // unsubscribed when dropped: the queue group hands new calls to
                        // the others
                        calls = None;
                    }
                }
            }
        }
    }

    /// Queues an item; `false` once the client is gone.
    async fn send(&self, item: FeedItem) -> bool {
        self.tx.send(item).await.is_ok()
    }

    async fn lost(&self, reason: String) -> bool {
        self.instance.bump(|c| &c.interruptions, 1);
        tracing::warn!(node = %self.node, %reason, "instance: the node's events were interrupted; its objects are checked");
        self.send(FeedItem::Lost(reason)).await
    }

    /// An event for an object this instance owns (or a notice from the relay).
    async fn event(&self, msg: async_nats::Message) -> bool {
        let text = |name| {
            msg.headers
                .as_ref()
                .and_then(|h| h.get(name))
                .map(async_nats::HeaderValue::as_str)
        };
        let epoch = text(header::EPOCH).map(str::to_owned);
        if text(header::CONTROL) == Some("evicted") {
            // what the relay ended: `(kind name, id)`; anything else in it is skipped
            let ended: Vec<(String, String)> =
                serde_json::from_slice(&msg.payload).unwrap_or_default();
            let gone: Vec<_> = ended
                .into_iter()
                .filter_map(|(kind, id)| Some((super::object_kind(&kind)?, id)))
                .collect();
            if !gone.is_empty() && !self.send(FeedItem::Gone(gone)).await {
                return false;
            }
            return self
                .lost("the relay held this instance dead and hung up its calls".into())
                .await;
        }
        let (Some(epoch), Some(seq)) =
            (epoch, text(header::SEQ).and_then(|s| s.parse::<u64>().ok()))
        else {
            self.instance.bump(|c| &c.garbage, 1);
            tracing::warn!(node = %self.node, subject = %msg.subject, "instance: a message without epoch or sequence number skipped");
            return true;
        };
        let Ok(text) = std::str::from_utf8(&msg.payload) else {
            self.instance.bump(|c| &c.garbage, 1);
            tracing::warn!(node = %self.node, "instance: an event that is not UTF-8 skipped");
            return true;
        };
        let frame = Frame::from(text);
        let (restarted, gap) = {
            let mut link = lock(&self.link);
            let restarted = link.adopt(&epoch);
            let expected = link.next_seq;
            link.next_seq = seq.saturating_add(1);
            (restarted, (seq != expected).then_some((expected, seq)))
        };
        if restarted && !self.lost("the relay restarted".into()).await {
            return false;
        }
        if let Some((expected, got)) = gap {
            let missed = got.saturating_sub(expected);
            self.instance.bump(|c| &c.gaps, 1);
            self.instance.bump(|c| &c.missed, missed);
            tracing::warn!(node = %self.node, expected, got, missed, "instance: events lost between the relay and this instance");
            if !self
                .lost(format!(
                    "{missed} event(s) lost between the relay and this instance (sequence {expected} expected, {got} came)"
                ))
                .await
            {
                return false;
            }
        }
        self.instance.bump(|c| &c.events, 1);
        self.send(FeedItem::Frame(frame)).await
    }

    /// The relay's news of the node.
    async fn news(&self, msg: &async_nats::Message) -> bool {
        let Ok(status) = serde_json::from_slice::<NodeStatus>(&msg.payload) else {
            self.instance.bump(|c| &c.garbage, 1);
            return true;
        };
        let (restarted, down) = {
            let mut link = lock(&self.link);
            let restarted = link.adopt(&status.epoch);
            let down = link.connected && !status.connected;
            link.connected = status.connected;
            (restarted, down)
        };
        if restarted {
            return self.lost("the relay restarted".into()).await;
        }
        if down {
            return self
                .lost(format!(
                    "the relay lost node `{}`'s ARI connection",
                    self.node
                ))
                .await;
        }
        true
    }

    /// A new call offered to this instance: it answers with its id. The relay that reads
    /// the answer records it as the owner and sends it the call's events, `StasisStart`
    /// first.
    async fn new_call(&self, msg: async_nats::Message) -> bool {
        let Some(reply) = msg.reply.clone() else {
            return true;
        };
        if std::str::from_utf8(&msg.payload).is_err() {
            self.instance.bump(|c| &c.garbage, 1);
            return true;
        }
        if let Some(epoch) = msg
            .headers
            .as_ref()
            .and_then(|h| h.get(header::EPOCH))
            .map(async_nats::HeaderValue::as_str)
        {
            let restarted = lock(&self.link).adopt(epoch);
            if restarted && !self.lost("the relay restarted".into()).await {
                return false;
            }
        }
        // the call is this instance's only if the relay reads this answer: it then sends
        // the call's StasisStart as the first event of the channel (an answer that comes
        // after the relay stopped waiting goes nowhere, and the call to another instance)
        self.instance.bump(|c| &c.calls_taken, 1);
        if let Err(e) = self
            .instance
            .nats
            .publish(reply, self.instance.id.clone().into())
            .await
        {
            tracing::warn!(node = %self.node, error = %e, "instance: could not answer a new call");
        }
        true
    }
}

/// REST through the relay: one NATS request per ARI request (`P.N.rest`).
struct NatsRest {
    nats: async_nats::Client,
    subject: String,
    node: String,
    instance: String,
}

impl Remote for NatsRest {
    fn exchange<'a>(
        &'a self,
        req: &'a Request,
        timeout: Duration,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<RemoteAnswer>> + Send + 'a>>
    {
        Box::pin(async move {
            let mut headers = HeaderMap::new();
            headers.insert(header::INSTANCE, self.instance.as_str());
            headers.insert(header::OP_INDEX, req.op.index.to_string());
            headers.insert(header::OP, req.op.name);
            headers.insert(header::PATH, format!("{}{}", req.path, req.query));
            headers.insert(header::PARAMS, req.params.to_string());
            let payload = match &req.body {
                Some(body) => {
                    headers.insert(header::BODY, "1");
                    Bytes::copy_from_slice(body)
                }
                None => Bytes::new(),
            };
            let request = async_nats::Request::new()
                .headers(headers)
                .payload(payload)
                .timeout(Some(timeout));
            let answer = self
                .nats
                .send_request(self.subject.clone(), request)
                .await
                .map_err(|e| match e.kind() {
                    async_nats::RequestErrorKind::NoResponders => Error::new(ErrorKind::Connect)
                        .with_message(format!(
                            "no relay serves node `{}` on NATS; nothing was sent",
                            self.node
                        )),
                    async_nats::RequestErrorKind::TimedOut => Error::new(ErrorKind::Timeout)
                        .with_message(format!(
                            "no answer from the relay of node `{}` within {timeout:?}; the request may or may not have been carried out",
                            self.node
                        )),
                    _ => nats_error("request to the relay", e),
                })?;
            let text = |name| {
                answer
                    .headers
                    .as_ref()
                    .and_then(|h| h.get(name))
                    .map(async_nats::HeaderValue::as_str)
            };
            if let Some(kind) = text(header::ERROR) {
                return Err(
                    Error::new(ErrorKind::from_name(kind).unwrap_or(ErrorKind::Other))
                        .with_message(format!(
                            "relay of node `{}`: {}",
                            self.node,
                            String::from_utf8_lossy(&answer.payload)
                        )),
                );
            }
            let status = text(header::STATUS)
                .and_then(|s| s.parse::<u16>().ok())
                .ok_or_else(|| {
                    Error::new(ErrorKind::Protocol).with_message(format!(
                        "the relay of node `{}` answered without a status",
                        self.node
                    ))
                })?;
            let reason = text(header::REASON).unwrap_or_default().to_owned();
            Ok(RemoteAnswer {
                status,
                reason,
                body: answer.payload,
            })
        })
    }
}
