//! [`Client`]: connect, subscribe handlers, run.

use std::fmt;
use std::future::Future;
use std::hash::{BuildHasher as _, Hasher as _};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::{broadcast, oneshot, watch};
use tokio::task::JoinHandle;

use crate::config::{normalize_base, ClientBuilder};
use crate::connection::{self, ConnectionState};
use crate::dispatch::{DispatchStats, ErasedHandler, EventStream, Hub, ObjectKind, Subscription};
use crate::error::{Error, ErrorKind, Result};
use crate::events::Event;
use crate::rest::RestClient;
use crate::EventType;

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
    pub(crate) shared: Arc<Shared>,
}

pub(crate) struct Shared {
    pub(crate) rest: RestClient,
    pub(crate) config: ClientBuilder,
    pub(crate) tls: Arc<rustls::ClientConfig>,
    pub(crate) hub: Arc<Hub>,
    state: watch::Sender<ConnectionState>,
    state_events: broadcast::Sender<ConnectionState>,
    pub(crate) shutdown: watch::Sender<bool>,
    running: Mutex<Option<JoinHandle<Result<()>>>>,
    id_prefix: String,
    id_counter: AtomicU64,
}

impl Shared {
    pub(crate) fn set_state(&self, state: ConnectionState) {
        self.state.send_replace(state.clone());
        // no receiver is fine: nobody watches the changes
        let _ = self.state_events.send(state);
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.shared.rest.base_url())
            .field("user", &self.shared.rest.user())
            .field("state", &*self.shared.state.borrow())
            .finish_non_exhaustive()
    }
}

/// A random number in `0.0..1.0`, good enough for jitter and id prefixes.
pub(crate) fn random_unit() -> f64 {
    (random_u64() >> 11) as f64 / (1u64 << 53) as f64
}

fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.finish()
}

/// What a handler may return: nothing, or a `Result` whose error is logged.
pub trait HandlerOutput: Send + 'static {
    /// Reports the outcome of a handler call for an event of type `event`.
    fn report(self, event: &'static str);
}

impl HandlerOutput for () {
    fn report(self, _event: &'static str) {}
}

impl<E: fmt::Display + Send + 'static> HandlerOutput for std::result::Result<(), E> {
    fn report(self, event: &'static str) {
        if let Err(e) = self {
            tracing::warn!(event, error = %e, "ARI event handler failed");
        }
    }
}

impl Client {
    /// Connects to the ARI at `url` (`http(s)://host:port`, with or without `/ari`) and
    /// checks the server and the credentials with one REST call.
    ///
    /// # Errors
    ///
    /// See [`ClientBuilder::connect`].
    pub async fn connect(url: &str, user: &str, password: &str) -> Result<Client> {
        Self::builder(url, user, password).connect().await
    }

    /// A builder for timeouts, TLS roots, apps and the reconnect policy.
    pub fn builder(url: &str, user: &str, password: &str) -> ClientBuilder {
        ClientBuilder::new(url, user, password)
    }

    pub(crate) fn from_builder(config: ClientBuilder) -> Result<Client> {
        let base = normalize_base(&config.url)?;
        let tls = config.tls_config()?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured((*tls).clone())
            .timeout(config.request_timeout)
            .connect_timeout(config.connect_timeout)
            .tcp_nodelay(true)
            .build()
            .map_err(|e| Error::new(ErrorKind::Tls).with_source(e))?;
        let rest = RestClient::new(http, base, &config.user, &config.password);
        let (shutdown, _) = watch::channel(false);
        let (state, _) = watch::channel(ConnectionState::Idle);
        let (state_events, _) = broadcast::channel(64);
        Ok(Client {
            shared: Arc::new(Shared {
                rest,
                config,
                tls,
                hub: Arc::default(),
                state,
                state_events,
                shutdown,
                running: Mutex::new(None),
                id_prefix: format!("{:012x}", random_u64() & 0xffff_ffff_ffff),
                id_counter: AtomicU64::new(0),
            }),
        })
    }

    /// Checks the server: `GET /asterisk/ping` must answer like ARI does.
    pub(crate) async fn check(&self) -> Result<()> {
        match self.asterisk().ping().await {
            Ok(_) => Ok(()),
            Err(e) => Err(match e.kind() {
                ErrorKind::NotFound | ErrorKind::Decode | ErrorKind::UnexpectedStatus => {
                    let detail = e.to_string();
                    Error::new(ErrorKind::NotAri)
                        .with_message(format!(
                            "{} does not answer like ARI ({detail})",
                            self.shared.rest.base_url()
                        ))
                        .with_source(e)
                }
                _ => e,
            }),
        }
    }

    /// The REST handle that repositories and objects use.
    pub fn rest(&self) -> &RestClient {
        &self.shared.rest
    }

    /// A new id that no other object of this client has, for subscribe-before-create:
    /// register handlers for the id, then create the object with it.
    pub fn new_id(&self) -> String {
        let n = self.shared.id_counter.fetch_add(1, Ordering::Relaxed);
        format!("ari-rs-{}-{n}", self.shared.id_prefix)
    }

    /// The state of the event connection now.
    pub fn state(&self) -> ConnectionState {
        self.shared.state.borrow().clone()
    }

    /// A watcher of the event connection's state.
    pub fn state_changes(&self) -> StateChanges {
        StateChanges {
            rx: self.shared.state_events.subscribe(),
        }
    }

    /// Counters of the event path.
    pub fn stats(&self) -> DispatchStats {
        self.shared.hub.counters.snapshot()
    }

    /// How many handlers bound to one object (channel, bridge, playback, recording)
    /// are registered now.
    pub fn object_handler_count(&self) -> usize {
        self.shared.hub.registry.object_handler_count()
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
            run_handler(call, E::NAME)
        });
        self.shared.hub.registry.add_type(E::NAME, erased)
    }

    /// Calls `handler` with the channel and the event, for every event of type `E` that
    /// concerns a channel, as `ari-py`'s `on_channel_event` does.
    pub fn on_channel_event<E, F, Fut>(&self, handler: F) -> Subscription
    where
        E: EventType + Send + 'static,
        F: Fn(crate::objects::Channel, E) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: HandlerOutput,
    {
        let weak = Arc::downgrade(&self.shared);
        let erased: ErasedHandler = Arc::new(move |event: Event| {
            let call = with_object(&weak, event, ObjectKind::Channel, |client, ev| {
                let data = ev.channel()?.clone();
                Some(crate::objects::Channel::from_shared(data, client))
            })
            .map(|(channel, e)| handler(channel, e));
            run_handler(call, E::NAME)
        });
        self.shared.hub.registry.add_type(E::NAME, erased)
    }

    /// Registers a handler for events of type `E` about one object; used by the objects'
    /// `on_event` methods and by pending objects. The handler gets the object as the
    /// event describes it (an event only matches when it carries the object).
    pub(crate) fn on_object_event<E, O, F, Fut>(
        &self,
        kind: ObjectKind,
        object_id: &str,
        make: fn(&Event, Client) -> Option<O>,
        handler: F,
    ) -> Subscription
    where
        E: EventType + Send + 'static,
        O: Send + 'static,
        F: Fn(O, E) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: HandlerOutput,
    {
        let weak = Arc::downgrade(&self.shared);
        let erased: ErasedHandler = Arc::new(move |event: Event| {
            let call = with_object(&weak, event, kind, |client, ev| make(ev, client))
                .map(|(object, e)| handler(object, e));
            run_handler(call, E::NAME)
        });
        self.shared
            .hub
            .registry
            .add_object(kind, object_id, E::NAME, erased)
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
            self.shared.shutdown.send_replace(false);
            let (tx, rx) = oneshot::channel();
            *running = Some(tokio::spawn(connection::run(self.shared.clone(), apps, tx)));
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
        self.shared.shutdown.send_replace(true);
    }
}

/// The future of one handler call: awaits the user's future, if the event was for it, and
/// reports its outcome.
fn run_handler<Fut>(
    call: Option<Fut>,
    event: &'static str,
) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>>
where
    Fut: Future + Send + 'static,
    Fut::Output: HandlerOutput,
{
    Box::pin(async move {
        if let Some(call) = call {
            call.await.report(event);
        }
    })
}

/// Builds the object a handler receives and converts the event to `E`.
fn with_object<E: EventType, O>(
    weak: &Weak<Shared>,
    event: Event,
    kind: ObjectKind,
    make: impl FnOnce(Client, &Event) -> Option<O>,
) -> Option<(O, E)> {
    let shared = weak.upgrade()?;
    let Some(object) = make(Client { shared }, &event) else {
        tracing::debug!(
            event = E::NAME,
            ?kind,
            "event has no such object; handler skipped"
        );
        return None;
    };
    Some((object, E::from_event(event)?))
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
