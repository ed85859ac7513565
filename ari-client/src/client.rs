//! [`Client`]: one Asterisk's ARI — REST calls and the event websocket — and the handlers.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use tokio::sync::{broadcast, oneshot};
use tokio::task::JoinHandle;

use crate::config::{ClientBuilder, Config};
use crate::connection::{
    self, ConnectionState, Control, FarewellHook, FrameSink, Parts, ResyncHook, Source,
};
use crate::dispatch::{DispatchStats, EventStream, Hub, Subscription};
use crate::error::{Error, ErrorKind, Result};
use crate::events::{EventType, ObjectKind};
use crate::handler;
use crate::rest::RestClient;

/// How long an idle REST connection stays in the pool.
const POOL_IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A connection to one Asterisk's ARI: REST calls, and the event websocket.
///
/// Cheap to clone; every clone is the same client.
///
/// ```no_run
/// use ari_client::{Client, events::StasisStart};
///
/// # async fn demo() -> ari_client::Result<()> {
/// let client = Client::connect("http://127.0.0.1:8088", "asterisk", "asterisk").await?;
/// client.on_channel_event(|channel, _start: StasisStart| async move {
///     channel.answer().await?;
///     channel.play("sound:hello-world").await?;
///     Ok(())
/// });
/// client.run(["hello"]).await
/// # }
/// ```
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
}

struct Shared {
    config: Arc<Config>,
    rest: RestClient,
    hub: Arc<Hub>,
    control: Arc<Control>,
    running: Mutex<Option<JoinHandle<Result<()>>>>,
    /// The applications the event connection registers (set by `start`).
    apps: Mutex<Vec<String>>,
    /// What to do about the first handler or waiter of an object whose end event needs
    /// a subscription; installed by the layer that builds the client.
    on_interest: OnceLock<InterestHook>,
    /// What a reconnect does to resync; installed by the layer that builds the client.
    on_reconnect: OnceLock<ResyncHook>,
    /// What a graceful shutdown does before the websocket closes; installed by the layer
    /// that builds the client.
    on_shutdown: OnceLock<FarewellHook>,
    id_prefix: String,
    id_counter: AtomicU64,
    /// Where the event connection's websockets come from.
    source: Source,
    /// Takes the event connection's frames instead of the dispatcher (a relay).
    sink: OnceLock<FrameSink>,
}

/// See `Shared::on_interest`.
pub(crate) type InterestHook = Box<dyn Fn(&Client, ObjectKind, &str) + Send + Sync>;

/// A handle on a client that does not keep it alive, for the handlers the client stores.
#[derive(Clone)]
pub(crate) struct WeakClient(Weak<Shared>);

impl WeakClient {
    /// The client, if it still exists.
    pub(crate) fn upgrade(&self) -> Option<Client> {
        self.0.upgrade().map(|shared| Client { shared })
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("node", &self.shared.config.node)
            .field("base_url", &self.shared.config.base_url)
            .field("user", &self.shared.config.user)
            .field("state", &self.shared.control.state())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client with the settings of `config` whose websockets come from `source`.
    pub(crate) fn with_source(config: Config, source: Source) -> Result<Client> {
        let config = Arc::new(config);
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured((*config.tls).clone())
            .timeout(config.limits.request_timeout)
            .connect_timeout(config.connect_timeout)
            .tcp_nodelay(true)
            // below Asterisk's `session_keep_alive` (http.conf, default 15 s): a pooled
            // connection is not reused just as Asterisk closes it
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .build()
            .map_err(|e| Error::new(ErrorKind::Tls).with_source(e))?;
        let mut rest = RestClient::new(
            http,
            config.base_url.clone(),
            &config.user,
            &config.password,
            config.limits,
        );
        if let Source::Feed(feed) = &source {
            // a relay's clients reach the node through the relay
            rest = rest.with_remote(feed.rest());
        }
        let hub = Arc::new(Hub::new(config.event_budget, config.queue_capacity));
        Ok(Client {
            shared: Arc::new(Shared {
                config,
                rest,
                hub,
                control: Arc::default(),
                running: Mutex::new(None),
                apps: Mutex::new(Vec::new()),
                on_interest: OnceLock::new(),
                on_reconnect: OnceLock::new(),
                on_shutdown: OnceLock::new(),
                id_prefix: format!("{:012x}", crate::random::u64() & 0xffff_ffff_ffff),
                id_counter: AtomicU64::new(0),
                source,
                sink: OnceLock::new(),
            }),
        })
    }

    /// Installs what happens on the first handler or waiter of an object (once).
    pub(crate) fn set_interest_hook(&self, hook: InterestHook) {
        let _ = self.shared.on_interest.set(hook);
    }

    /// Installs what a reconnect does to resync (once).
    pub(crate) fn set_resync_hook(&self, hook: ResyncHook) {
        let _ = self.shared.on_reconnect.set(hook);
    }

    /// Hands the event connection's frames to `sink` instead of the dispatcher (once,
    /// before [`start`](Self::start)): a relay forwards them as they are.
    #[cfg_attr(not(feature = "nats"), allow(dead_code))]
    pub(crate) fn set_frame_sink(&self, sink: FrameSink) {
        let _ = self.shared.sink.set(sink);
    }

    /// Installs what a graceful shutdown does before the websocket closes (once).
    pub(crate) fn set_farewell_hook(&self, hook: FarewellHook) {
        let _ = self.shared.on_shutdown.set(hook);
    }

    /// The first handler or waiter of object `id` of kind `kind` was registered.
    pub(crate) fn interest(&self, kind: ObjectKind, id: &str) {
        if let Some(hook) = self.shared.on_interest.get() {
            hook(self, kind, id);
        }
    }

    /// Makes `app` the client's application if it has none (Asterisk names the
    /// applications of an outbound websocket).
    pub(crate) fn adopt_app(&self, app: &str) {
        let mut apps = self.shared.apps.lock().unwrap_or_else(|p| p.into_inner());
        if apps.is_empty() {
            apps.push(app.to_owned());
        }
    }

    /// The first application the event connection registers, once started.
    pub(crate) fn current_app(&self) -> Option<String> {
        self.shared
            .apps
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .first()
            .cloned()
    }
}

impl Client {
    /// A builder for timeouts, TLS roots, apps and the reconnect policy.
    pub fn builder(url: &str, user: &str, password: &str) -> ClientBuilder {
        ClientBuilder::new(url, user, password)
    }

    /// The REST transport of the repositories and objects.
    pub(crate) fn rest(&self) -> &RestClient {
        &self.shared.rest
    }

    /// The client's settings (the media module's connections use its TLS and timeouts).
    pub(crate) fn config(&self) -> &Config {
        &self.shared.config
    }

    /// Whether `other` is this same client (a clone of it).
    pub(crate) fn same_as(&self, other: &Client) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// A handle that does not keep the client alive.
    pub(crate) fn downgrade(&self) -> WeakClient {
        WeakClient(Arc::downgrade(&self.shared))
    }

    /// The name of the Asterisk node this client talks to
    /// ([`ClientBuilder::node`]; by default the `host:port` of its URL). Every object of
    /// the client (`channel.client().node()`) is on this node, and every REST call made
    /// through it goes there.
    pub fn node(&self) -> &str {
        &self.shared.config.node
    }

    /// The ARI base URL this client talks to (`http(s)://host:port/ari`).
    pub fn base_url(&self) -> &str {
        &self.shared.config.base_url
    }

    /// A new id that no other object of this client has, for subscribe-before-create:
    /// register handlers for the id, then create the object with it.
    pub fn new_id(&self) -> String {
        let n = self.shared.id_counter.fetch_add(1, Ordering::Relaxed);
        format!("ari-rs-{}-{n}", self.shared.id_prefix)
    }

    /// The state of the event connection now.
    pub fn state(&self) -> ConnectionState {
        self.shared.control.state()
    }

    /// A watcher of the event connection's state.
    pub fn state_changes(&self) -> StateChanges {
        StateChanges {
            rx: self.shared.control.changes(),
        }
    }

    /// Counters of the event path, and how many object handlers are registered.
    pub fn stats(&self) -> DispatchStats {
        self.shared.hub.stats()
    }

    /// The dispatch hub: handlers, streams, counters.
    pub(crate) fn hub(&self) -> &Arc<Hub> {
        &self.shared.hub
    }

    /// Calls `handler` for every event of type `E`.
    ///
    /// # Ordering and blocking
    ///
    /// Every object an event names (its channel, bridge, playback, …) has its own lane:
    /// the handlers of one object's events run one after the other, in the order Asterisk
    /// sent the events, each awaited to its end before the next event of that object.
    /// Other objects go on meanwhile: a handler that waits — a REST call, a timer, another
    /// object's event — delays only its own object. This handler runs in the lane of the
    /// event's first object (its channel, else its bridge, …; events that name none have
    /// a lane of their own); `on_channel_event`, `on_bridge_event`, … run in the lane of
    /// the event's channel, bridge, ….
    ///
    /// A handler may await the next event of its own object (`channel.next::<E>()`,
    /// `playback.finished()`): waiters are served when an event arrives, before any
    /// handler sees it.
    ///
    /// # Errors
    ///
    /// What the handler returns: an error is counted and logged at `warn` with the event
    /// type and the object ([`Error::other`] wraps the application's own errors); a panic
    /// is counted and logged at `error`. Neither stops the lane.
    pub fn on_event<E, F, Fut>(&self, handler: F) -> Subscription
    where
        E: EventType + Send + 'static,
        F: Fn(E) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<()>> + Send + 'static,
    {
        self.shared
            .hub
            .add_type(E::KIND, None, handler::of_type(handler))
    }

    /// A stream of every event from now on, in arrival order. Start the event connection
    /// with [`start`](Self::start) or [`run`](Self::run).
    pub fn events(&self) -> EventStream {
        self.shared.hub.subscribe_stream()
    }

    /// Waits until every event received so far has been handled: for tests, benchmarks
    /// and a graceful shutdown. Events that arrive meanwhile are not waited for.
    pub async fn drain(&self) {
        self.shared.hub.drain().await;
    }

    /// Opens the event websocket for `apps` in the background and returns once it is open
    /// (the apps are then registered). Does nothing if it is already running.
    ///
    /// # Errors
    ///
    /// The first connection's error: [`ErrorKind::Unauthorized`], [`ErrorKind::Connect`],
    /// [`ErrorKind::Timeout`], [`ErrorKind::NotAri`], … Later losses are retried with the
    /// [reconnect policy](crate::ReconnectPolicy) and reported through
    /// [`state_changes`](Self::state_changes).
    pub async fn start<I, S>(&self, apps: I) -> Result<()>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut apps: Vec<String> = apps.into_iter().map(Into::into).collect();
        if apps.is_empty() {
            apps.clone_from(&self.shared.config.apps);
        }
        if apps.is_empty() && matches!(self.shared.source, Source::Dial | Source::Feed(_)) {
            return Err(Error::new(ErrorKind::InvalidArgument)
                .with_message("no Stasis application to register"));
        }
        let ready = {
            let mut running = self
                .shared
                .running
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if running.as_ref().is_some_and(|task| !task.is_finished()) {
                return Ok(());
            }
            self.shared.control.set_shutdown(false);
            apps.clone_into(&mut self.shared.apps.lock().unwrap_or_else(|p| p.into_inner()));
            let (tx, rx) = oneshot::channel();
            let parts = Parts {
                config: self.shared.config.clone(),
                rest: self.shared.rest.clone(),
                hub: self.shared.hub.clone(),
                control: self.shared.control.clone(),
                resync: self.shared.on_reconnect.get().cloned(),
                farewell: self.shared.on_shutdown.get().cloned(),
                source: self.shared.source.clone(),
                sink: self.shared.sink.get().cloned(),
            };
            *running = Some(tokio::spawn(connection::run(parts, apps, tx)));
            rx
        };
        match ready.await {
            Ok(result) => result,
            Err(_) => Err(Error::new(ErrorKind::Closed)),
        }
    }

    /// Registers `apps` and handles their events until [`shutdown`](Self::shutdown) is
    /// called (or the reconnect policy gives up).
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start), or [`ErrorKind::WebSocket`] when the reconnect policy
    /// gave up, [`ErrorKind::Replaced`] when another connection registered one of the
    /// applications.
    pub async fn run<I, S>(&self, apps: I) -> Result<()>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.start(apps).await?;
        self.wait().await
    }

    /// Waits until the event connection has ended and every received event was handled.
    pub async fn wait(&self) -> Result<()> {
        let task = self
            .shared
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        match task {
            Some(task) => task
                .await
                .unwrap_or_else(|e| Err(Error::new(ErrorKind::Closed).with_source(e))),
            None => Ok(()),
        }
    }

    /// Closes the event connection gracefully: the handlers finish the events already
    /// received, then [`run`](Self::run) returns. REST calls keep working.
    ///
    /// A client built with [`subscribe_all`](ClientBuilder::subscribe_all) first
    /// unsubscribes its applications from all device states (one REST request each, at most
    /// 5 s; events go on being handled meanwhile), which keeps Asterisk clear of a deadlock
    /// of its own (see there).
    pub fn shutdown(&self) {
        self.shared.control.set_shutdown(true);
    }
}

/// Watches the state of the event connection. Made by [`Client::state_changes`].
#[derive(Debug)]
pub struct StateChanges {
    rx: broadcast::Receiver<ConnectionState>,
}

impl StateChanges {
    /// The next state the connection moves to, in order; `None` once the client is gone.
    /// A watcher that falls more than 64 changes behind skips the oldest ones.
    pub async fn next(&mut self) -> Option<ConnectionState> {
        loop {
            match self.rx.recv().await {
                Ok(state) => return Some(state),
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(skipped = n, "connection state watcher fell behind");
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}
