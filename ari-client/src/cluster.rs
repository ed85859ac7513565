//! Several Asterisk nodes served by one process: a [`Cluster`] holds one [`Client`] per
//! node and registers each handler on all of them.
//!
//! Each node's client has its own connection, reconnects, resync and table of objects, so
//! equal ids on two nodes never mix (Asterisk's channel ids are only unique per node, and
//! `channelId` is the application's to choose), and a node that goes down affects only
//! its own calls. Every object a handler gets is its node's: its methods, its waiters and
//! its handlers go to the node it is on (`channel.client().node()` names it).
//!
//! ```no_run
//! use ari_client::cluster::Cluster;
//! use ari_client::events::StasisStart;
//! use ari_client::Client;
//!
//! # async fn run() -> ari_client::Result<()> {
//! let cluster = Cluster::builder()
//!     .node("pbx-a", Client::builder("http://10.0.0.1:8088", "app", "secret"))
//!     .node("pbx-b", Client::builder("http://10.0.0.2:8088", "app", "secret"))
//!     .connect()
//!     .await?;
//! cluster.on_channel_event(|channel, _: StasisStart| async move {
//!     // answered, played and hung up on the node the call is on
//!     channel.answer().await?;
//!     channel.play("sound:hello-world").await?.finished().await?;
//!     channel.hangup().await
//! });
//! cluster.start(["ivr"]).await?;
//! // a new call on the node the placement picks (round robin over connected nodes), or on
//! // a node by name
//! let leg = cluster.place()?.channels().originate("PJSIP/100").app("ivr").await?;
//! let other = cluster.node("pbx-b").expect("a node of the cluster");
//! # drop((leg, other));
//! cluster.wait().await
//! # }
//! ```

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::client::Client;
use crate::config::ClientBuilder;
use crate::connection::ConnectionState;
use crate::dispatch::Subscription;
use crate::error::{Error, ErrorKind, Result};
use crate::events::EventType;

include!(concat!(env!("OUT_DIR"), "/cluster.rs"));

/// Picks the node of a new object from the cluster's nodes: the index of one, or `None`
/// when none will do.
type Placement = Box<dyn Fn(&[Node]) -> Option<usize> + Send + Sync>;

/// One Asterisk node of a [`Cluster`]: its name and its client.
#[derive(Clone, Debug)]
pub struct Node {
    client: Client,
    /// Whether the server's API is read when the node is first reached.
    check_server_api: bool,
    /// Whether the node answered its handshake once.
    reached: Arc<AtomicBool>,
}

impl Node {
    /// The node's name, as given to [`ClusterBuilder::node`].
    pub fn name(&self) -> &str {
        self.client.node()
    }

    /// The node's client: REST calls to this node, its handlers, its state.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The state of the node's event connection now.
    pub fn state(&self) -> ConnectionState {
        self.client.state()
    }
}

/// Builds a [`Cluster`]. Start with [`Cluster::builder`].
#[must_use]
pub struct ClusterBuilder {
    nodes: Vec<(String, Member)>,
    placement: Option<Placement>,
}

/// How a node of a [`ClusterBuilder`] gets its client.
#[derive(Debug)]
enum Member {
    /// Built from these settings.
    Settings(Box<ClientBuilder>),
    /// Built already (a relayed client of a NATS app instance).
    Built(Client),
}

impl std::fmt::Debug for ClusterBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterBuilder")
            .field("nodes", &self.nodes)
            .field("placement", &self.placement.as_ref().map(|_| "custom"))
            .finish()
    }
}

impl ClusterBuilder {
    /// Adds the node `name`, reached with the settings of `client` (its
    /// [`node`](ClientBuilder::node) becomes `name`). Name nodes with names that stay the
    /// same across restarts: objects are told apart by (node, id).
    pub fn node(mut self, name: &str, client: ClientBuilder) -> Self {
        self.nodes.push((
            name.to_owned(),
            Member::Settings(Box::new(client.node(name))),
        ));
        self
    }

    /// Adds a node whose client is built already, named by its
    /// [`Client::node`]: e.g. the client of a node reached through a relay over NATS
    /// (`nats::Instance::client`, feature `nats`). It is
    /// reached (its credentials and API checked) like the others.
    pub fn client(mut self, client: Client) -> Self {
        self.nodes
            .push((client.node().to_owned(), Member::Built(client)));
        self
    }

    /// How [`Cluster::place`] picks the node of a new object: `placement` gets every node
    /// (with its state and its client's [`stats`](Client::stats)) and returns the index of
    /// one, or `None` when none will do. The default takes the connected nodes in turn.
    ///
    /// ```no_run
    /// use ari_client::cluster::Cluster;
    /// use ari_client::{Client, ConnectionState};
    ///
    /// # fn build() -> ari_client::Result<Cluster> {
    /// // the connected node with the fewest live objects
    /// Cluster::builder()
    ///     .node("pbx-a", Client::builder("http://10.0.0.1:8088", "app", "secret"))
    ///     .node("pbx-b", Client::builder("http://10.0.0.2:8088", "app", "secret"))
    ///     .placement(|nodes| {
    ///         (0..nodes.len())
    ///             .filter(|&i| nodes[i].state() == ConnectionState::Connected)
    ///             .min_by_key(|&i| nodes[i].client().stats().objects)
    ///     })
    ///     .build()
    /// # }
    /// ```
    pub fn placement<F>(mut self, placement: F) -> Self
    where
        F: Fn(&[Node]) -> Option<usize> + Send + Sync + 'static,
    {
        self.placement = Some(Box::new(placement));
        self
    }

    /// Builds the cluster without contacting any node.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] without nodes or with two nodes of the same name;
    /// a node's [`ClientBuilder::build`] error.
    pub fn build(self) -> Result<Cluster> {
        if self.nodes.is_empty() {
            return Err(Error::new(ErrorKind::InvalidArgument)
                .with_message("a cluster needs at least one node"));
        }
        let mut nodes: Vec<Node> = Vec::with_capacity(self.nodes.len());
        for (name, member) in self.nodes {
            if nodes.iter().any(|n| n.name() == name) {
                return Err(Error::new(ErrorKind::InvalidArgument)
                    .with_message(format!("two nodes are named `{name}`")));
            }
            let (client, check_server_api) = match member {
                Member::Settings(builder) => {
                    let check = builder.check_server_api_enabled();
                    (builder.build().map_err(|e| in_node(&name, e))?, check)
                }
                Member::Built(client) => (client, true),
            };
            nodes.push(Node {
                client,
                check_server_api,
                reached: Arc::default(),
            });
        }
        Ok(Cluster {
            shared: Arc::new(Shared {
                nodes,
                placement: self.placement,
                turn: AtomicUsize::new(0),
                tasks: Mutex::new(Vec::new()),
                stop: watch::channel(false).0,
            }),
        })
    }

    /// Builds the cluster and reaches every node as [`ClientBuilder::connect`] does (the
    /// credentials, the server's API), all at once. A node that cannot be reached now is
    /// logged and reached later, by [`Cluster::start`]: the others do not wait for it.
    ///
    /// # Errors
    ///
    /// As [`build`](Self::build); and when no node can be reached, the first node's
    /// error.
    pub async fn connect(self) -> Result<Cluster> {
        let cluster = self.build()?;
        let tried =
            futures_util::future::join_all(cluster.shared.nodes.iter().map(Node::handshake)).await;
        let mut first = None;
        for (node, result) in cluster.shared.nodes.iter().zip(tried) {
            if let Err(e) = result {
                tracing::warn!(node = node.name(), error = %e.chain(), "node not reached; tried again at start");
                first.get_or_insert_with(|| in_node(node.name(), e));
            }
        }
        match first {
            Some(e) if cluster.shared.nodes.iter().all(|n| !n.reached()) => Err(e),
            _ => Ok(cluster),
        }
    }
}

/// Several Asterisk nodes served by one process: one [`Client`] per node, one set of
/// handlers. See [the module](self).
///
/// Cheap to clone; every clone is the same cluster.
#[derive(Clone)]
pub struct Cluster {
    shared: Arc<Shared>,
}

struct Shared {
    nodes: Vec<Node>,
    placement: Option<Placement>,
    /// The default placement's next turn.
    turn: AtomicUsize,
    /// One task per node while started: it reaches the node, runs its client, and reaches
    /// it again after a failed first attempt.
    tasks: Mutex<Vec<JoinHandle<Result<()>>>>,
    stop: watch::Sender<bool>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("nodes", &self.shared.nodes)
            .finish_non_exhaustive()
    }
}

/// The handles of a handler registered on every node of a [`Cluster`].
#[derive(Debug, Clone)]
pub struct Subscriptions(Vec<Subscription>);

impl Subscriptions {
    /// Removes the handler from every node. Returns `false` if it was gone from all of
    /// them already.
    pub fn unsubscribe(&self) -> bool {
        // from every node, not only until the first
        let removed = self.0.iter().filter(|s| s.unsubscribe()).count();
        removed > 0
    }
}

impl Cluster {
    /// A builder: add the nodes, then [`connect`](ClusterBuilder::connect).
    pub fn builder() -> ClusterBuilder {
        ClusterBuilder {
            nodes: Vec::new(),
            placement: None,
        }
    }

    /// The nodes, in the order they were added.
    pub fn nodes(&self) -> &[Node] {
        &self.shared.nodes
    }

    /// The client of the node named `name`.
    pub fn node(&self, name: &str) -> Option<&Client> {
        self.shared
            .nodes
            .iter()
            .find(|n| n.name() == name)
            .map(Node::client)
    }

    /// The client of the node the placement picks for a new object (see
    /// [`ClusterBuilder::placement`]; by default the connected nodes in turn).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Connect`] when the placement picks none (by default: no node is
    /// connected).
    pub fn place(&self) -> Result<Client> {
        let nodes = &self.shared.nodes;
        let picked = match &self.shared.placement {
            Some(placement) => placement(nodes).filter(|&i| i < nodes.len()),
            None => {
                let turn = self.shared.turn.fetch_add(1, Ordering::Relaxed);
                (0..nodes.len())
                    .map(|k| (turn + k) % nodes.len())
                    .find(|&i| nodes[i].state() == ConnectionState::Connected)
            }
        };
        picked.map(|i| nodes[i].client.clone()).ok_or_else(|| {
            Error::new(ErrorKind::Connect)
                .with_message("the placement picked no node of the cluster (none is connected?)")
        })
    }

    /// Registers a handler on every node's client (`register` is called once per node)
    /// and returns its handles: what the cluster's `on_<kind>_event` methods are made of.
    pub fn on_each_node<R>(&self, register: R) -> Subscriptions
    where
        R: Fn(&Client) -> Subscription,
    {
        Subscriptions(
            self.shared
                .nodes
                .iter()
                .map(|node| register(&node.client))
                .collect(),
        )
    }

    /// Calls `handler` with the node's client and the event, for every event of type `E`
    /// on every node ([`Client::on_event`] on each node's client, with the same ordering).
    pub fn on_event<E, F, Fut>(&self, handler: F) -> Subscriptions
    where
        E: EventType + Send + 'static,
        F: Fn(Client, E) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<()>> + Send + 'static,
    {
        let handler = Arc::new(handler);
        self.on_each_node(move |client| {
            let (handler, node) = (handler.clone(), client.downgrade());
            client.on_event(move |event: E| {
                let call = node.upgrade().map(|client| handler(client, event));
                async move {
                    match call {
                        Some(call) => call.await,
                        None => Ok(()),
                    }
                }
            })
        })
    }

    /// Opens every node's event connection for `apps`, all at once, and returns once each
    /// node has had its first attempt. A node that could not be reached is tried again in
    /// the background with its client's [reconnect policy](crate::ReconnectPolicy), and
    /// joins when it answers; the others do not wait for it. Does nothing if the cluster is
    /// started already.
    ///
    /// # Errors
    ///
    /// When no node could be reached: the first node's error (the nodes are still tried
    /// again until [`shutdown`](Self::shutdown)).
    pub async fn start<I, S>(&self, apps: I) -> Result<()>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let apps: Vec<String> = apps.into_iter().map(Into::into).collect();
        let firsts = {
            let mut tasks = self.shared.tasks.lock().unwrap_or_else(|p| p.into_inner());
            if tasks.iter().any(|task| !task.is_finished()) {
                return Ok(());
            }
            self.shared.stop.send_replace(false);
            tasks.clear();
            let mut firsts = Vec::new();
            for node in &self.shared.nodes {
                let (tx, rx) = oneshot::channel();
                tasks.push(tokio::spawn(run_node(
                    node.clone(),
                    apps.clone(),
                    tx,
                    self.shared.stop.subscribe(),
                )));
                firsts.push(rx);
            }
            firsts
        };
        let mut first_error = None;
        let mut reached = false;
        for (node, first) in self.shared.nodes.iter().zip(firsts) {
            match first.await {
                Ok(Ok(())) => reached = true,
                Ok(Err(e)) => {
                    first_error.get_or_insert_with(|| in_node(node.name(), e));
                }
                Err(_) => {
                    first_error
                        .get_or_insert_with(|| in_node(node.name(), Error::new(ErrorKind::Closed)));
                }
            }
        }
        match first_error {
            Some(e) if !reached => Err(e),
            _ => Ok(()),
        }
    }

    /// Waits until every node's event connection has ended (after
    /// [`shutdown`](Self::shutdown), or a node's reconnect policy gave up) and every
    /// received event was handled.
    ///
    /// # Errors
    ///
    /// The first node's error, as [`Client::wait`] gives it ([`ErrorKind::Replaced`],
    /// [`ErrorKind::WebSocket`] when the reconnect policy gave up), naming the node.
    pub async fn wait(&self) -> Result<()> {
        let tasks =
            std::mem::take(&mut *self.shared.tasks.lock().unwrap_or_else(|p| p.into_inner()));
        let mut result = Ok(());
        for (node, task) in self.shared.nodes.iter().zip(tasks) {
            let ended = task
                .await
                .unwrap_or_else(|e| Err(Error::new(ErrorKind::Closed).with_source(e)));
            if let Err(e) = ended {
                if result.is_ok() {
                    result = Err(in_node(node.name(), e));
                }
            }
        }
        result
    }

    /// [`start`](Self::start), then [`wait`](Self::wait).
    ///
    /// # Errors
    ///
    /// As those.
    pub async fn run<I, S>(&self, apps: I) -> Result<()>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.start(apps).await?;
        self.wait().await
    }

    /// Closes every node's event connection gracefully ([`Client::shutdown`]) and stops
    /// trying the nodes that were not reached.
    pub fn shutdown(&self) {
        self.shared.stop.send_replace(true);
        for node in &self.shared.nodes {
            node.client.shutdown();
        }
    }

    /// Waits until every event received so far on every node has been handled.
    pub async fn drain(&self) {
        futures_util::future::join_all(self.shared.nodes.iter().map(|n| n.client.drain())).await;
    }
}

impl Node {
    /// Whether the node answered its handshake once.
    fn reached(&self) -> bool {
        self.reached.load(Ordering::Acquire)
    }

    /// What [`ClientBuilder::connect`] does: the credentials, then the server's API.
    async fn handshake(&self) -> Result<()> {
        crate::connect::handshake(&self.client, self.check_server_api).await?;
        self.reached.store(true, Ordering::Release);
        Ok(())
    }
}

/// `error`, saying which node it is about.
fn in_node(node: &str, error: Error) -> Error {
    let kind = error.kind();
    Error::new(kind)
        .with_message(format!("node `{node}`"))
        .with_source(error)
}

/// Resolves once the cluster is told to stop.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await.map(|_| ());
}

/// One node while the cluster runs: reach it (its handshake, then its event connection),
/// again after a failed attempt with the client's reconnect policy, then run its client
/// until it ends. `first` learns the outcome of the first attempt.
async fn run_node(
    node: Node,
    apps: Vec<String>,
    first: oneshot::Sender<Result<()>>,
    mut stop: watch::Receiver<bool>,
) -> Result<()> {
    let client = &node.client;
    let mut first = Some(first);
    let mut attempt = 1u32;
    loop {
        let reach = async {
            if !node.reached() {
                node.handshake().await?;
            }
            client.start(apps.iter().cloned()).await
        };
        let reached = tokio::select! {
            _ = stopped(&mut stop) => return Ok(()),
            reached = reach => reached,
        };
        match reached {
            Ok(()) => {
                if let Some(first) = first.take() {
                    let _ = first.send(Ok(()));
                }
                // a shutdown that came while the client started was cleared by its start
                if *stop.borrow() {
                    client.shutdown();
                }
                return client.wait().await;
            }
            Err(e) => {
                let policy = &client.config().reconnect;
                if policy.max_attempts.is_some_and(|max| attempt > max) {
                    tracing::warn!(node = node.name(), error = %e.chain(), "node not reached; gave up");
                    if let Some(first) = first.take() {
                        let _ = first.send(Err(e));
                        return Ok(());
                    }
                    return Err(e);
                }
                let delay = policy.delay(attempt, crate::random::unit());
                tracing::warn!(node = node.name(), error = %e.chain(), ?delay, "node not reached; trying again");
                if let Some(first) = first.take() {
                    let _ = first.send(Err(e));
                }
                tokio::select! {
                    _ = stopped(&mut stop) => return Ok(()),
                    () = tokio::time::sleep(delay) => {}
                }
                attempt = attempt.saturating_add(1);
            }
        }
    }
}
