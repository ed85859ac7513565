//! [`Client`]: one Asterisk's ARI — REST calls and the event websocket — and the handlers.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::{broadcast, oneshot};
use tokio::task::JoinHandle;

use crate::config::{ClientBuilder, Config};
use crate::connection::{self, ConnectionState, Control, Parts};
use crate::dispatch::{DispatchStats, EventStream, Hub, Subscription};
use crate::error::{Error, ErrorKind, Result};
use crate::events::{Event, EventType};
use crate::handler::{self, ErasedHandler, HandlerOutput};
use crate::rest::RestClient;

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
///     Ok::<_, ari_client::Error>(())
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
    id_prefix: String,
    id_counter: AtomicU64,
}

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
            .field("base_url", &self.shared.config.base_url)
            .field("user", &self.shared.config.user)
            .field("state", &self.shared.control.state())
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Builds the client without contacting the server.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidUrl`] for an unusable URL, [`ErrorKind::Tls`] for unusable
    /// root certificates.
    pub fn build(self) -> Result<Client> {
        let config = Arc::new(self.into_config()?);
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured((*config.tls).clone())
            .timeout(config.request_timeout)
            .connect_timeout(config.connect_timeout)
            .tcp_nodelay(true)
            .build()
            .map_err(|e| Error::new(ErrorKind::Tls).with_source(e))?;
        let rest = RestClient::new(
            http,
            config.base_url.clone(),
            &config.user,
            &config.password,
        );
        Ok(Client {
            shared: Arc::new(Shared {
                config,
                rest,
                hub: Arc::default(),
                control: Arc::default(),
                running: Mutex::new(None),
                id_prefix: format!("{:012x}", crate::random::u64() & 0xffff_ffff_ffff),
                id_counter: AtomicU64::new(0),
            }),
        })
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

    /// A handle that does not keep the client alive.
    pub(crate) fn downgrade(&self) -> WeakClient {
        WeakClient(Arc::downgrade(&self.shared))
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

    /// Calls `handler` for every event of type `E`, in the order of each channel's events.
    ///
    /// # Ordering and blocking
    ///
    /// The handlers of one channel's (or bridge's) events run one after the other, each
    /// awaited to its end before the next event of that channel is handled; other channels
    /// go on meanwhile. So a handler must not wait for a later event of its own channel
    /// (it would wait forever): register a handler for that event instead, or
    /// `tokio::spawn` the long work. REST calls inside handlers are fine.
    pub fn on_event<E, F, Fut>(&self, handler: F) -> Subscription
    where
        E: EventType + Send + 'static,
        F: Fn(E) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: HandlerOutput,
    {
        let erased: ErasedHandler = Arc::new(move |event: Event| {
            let call = E::from_event(event).map(&handler);
            handler::run(call, E::NAME)
        });
        self.shared.hub.registry.add_type(E::KIND, erased)
    }

    /// A stream of every event from now on, in arrival order. Start the event connection
    /// with [`start`](Self::start) or [`run`](Self::run).
    pub fn events(&self) -> EventStream {
        self.shared
            .hub
            .subscribe_stream(self.shared.config.queue_capacity)
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
        if apps.is_empty() {
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
            let (tx, rx) = oneshot::channel();
            let parts = Parts {
                config: self.shared.config.clone(),
                rest: self.shared.rest.clone(),
                hub: self.shared.hub.clone(),
                control: self.shared.control.clone(),
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
    /// gave up.
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
