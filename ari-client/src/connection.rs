//! The event connection's life: connect, read, hand frames to the dispatcher, and come
//! back after a loss with the reconnect policy. It takes what it needs — the [`Config`],
//! the REST client (for the credentials), the dispatch [`Hub`] and the [`Control`] that
//! the client shares with it — and knows nothing of the client itself.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::FutureExt as _;
use tokio::sync::{broadcast, oneshot, watch};

use crate::config::Config;
use crate::dispatch::{Hub, Routed};
use crate::error::{Error, ErrorKind, Result};
use crate::events::ObjectKind;
use crate::rest::{Remote, RestClient, Tunnel};
use crate::ws::{Acceptor, EventSocket, Frame, Incoming, LostCause};

/// Frames that come from elsewhere than a websocket of Asterisk's: a relay that holds the
/// node's ARI connection and forwards its events (`crate::nats`). Clients of a feed send
/// their REST requests through it too ([`Feed::rest`]).
pub(crate) trait Feed: Send + Sync {
    /// The next session of frames for `apps`. The first one (`first`) fails when the relay
    /// cannot be reached, like a first dial; later ones wait until the node is reachable
    /// again.
    fn open<'a>(
        &'a self,
        apps: &'a [String],
        first: bool,
    ) -> Pin<Box<dyn Future<Output = Result<FeedSession>> + Send + 'a>>;

    /// How the clients of this feed send REST requests.
    fn rest(&self) -> Arc<dyn Remote>;

    /// The event connection has ended (shut down or given up): no session will be opened
    /// again until the next start.
    fn close(&self);
}

/// What a feed's session yields.
#[cfg_attr(not(feature = "nats"), allow(dead_code))]
pub(crate) enum FeedItem {
    /// An event's text, as Asterisk wrote it.
    Frame(Frame),
    /// Events may have been lost (`reason`): the session ends, the connection resyncs
    /// with the next one, as after a reconnect.
    Lost(String),
    /// These objects ended without their end events reaching this client (a relay held
    /// its instance dead and ended them): they end now, as after a resync.
    Gone(Vec<(ObjectKind, String)>),
}

/// One session of a [`Feed`]: its items until it ends (an end is a loss).
pub(crate) type FeedSession = Pin<Box<dyn futures_util::Stream<Item = FeedItem> + Send>>;

/// Takes every frame the connection reads instead of the dispatcher (a relay forwards
/// them); its answer is read as the dispatcher's.
pub(crate) type FrameSink =
    Arc<dyn Fn(Frame) -> Pin<Box<dyn Future<Output = Routed> + Send>> + Send + Sync>;

/// Where the event connection's websockets come from.
#[derive(Clone)]
pub(crate) enum Source {
    /// The client dials Asterisk's `/ari/events`, and dials again after a loss with the
    /// reconnect policy.
    Dial,
    /// Asterisk dials the application (a persistent outbound websocket): each websocket is
    /// the next one it opens; Asterisk decides when it reconnects.
    Listen(Arc<Acceptor>),
    /// The one websocket Asterisk opened for one call (`per_call_config`): when it ends,
    /// the connection ends.
    Once(Arc<std::sync::Mutex<Option<EventSocket>>>),
    /// A relay's feed of the node's events (`crate::nats`); the feed decides when the next
    /// session comes.
    #[cfg_attr(not(feature = "nats"), allow(dead_code))]
    Feed(Arc<dyn Feed>),
}

/// What a source opened (one at a time, for the life of a connection: its size is no
/// matter).
#[allow(clippy::large_enum_variant)]
enum Opened {
    Socket(EventSocket),
    Feed(FeedSession),
}

impl Source {
    async fn open(
        &self,
        config: &Config,
        rest: &RestClient,
        apps: &[String],
        first: bool,
    ) -> Result<Opened> {
        match self {
            Self::Dial => EventSocket::connect(config, rest, apps)
                .await
                .map(Opened::Socket),
            Self::Listen(acceptor) => acceptor.accept(config).await.map(Opened::Socket),
            Self::Once(socket) => socket
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take()
                .map(Opened::Socket)
                .ok_or_else(|| {
                    Error::new(ErrorKind::WebSocket).with_message("the call's websocket ended")
                }),
            Self::Feed(feed) => feed.open(apps, first).await.map(Opened::Feed),
        }
    }
}

/// The state of the client's event connection, as [`Client::state_changes`](crate::Client::state_changes)
/// reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionState {
    /// No event connection was started yet.
    Idle,
    /// Opening the websocket (attempt 1 is the first connection).
    Connecting {
        /// 1 for the first attempt, then counting the attempts since the last success.
        attempt: u32,
    },
    /// The websocket is open and the applications are registered.
    Connected,
    /// The connection was lost; a reconnect follows unless the policy says otherwise.
    Disconnected {
        /// Why, in words.
        reason: String,
    },
    /// Waiting before the next attempt.
    Reconnecting {
        /// The attempt that follows the wait.
        attempt: u32,
        /// How long the wait is.
        delay: Duration,
    },
    /// Another connection registered the same application name, and Asterisk sends this
    /// one nothing more for it (`ApplicationReplaced`). The client does not reconnect (it
    /// would take the application back and forth): [`Client::run`](crate::Client::run)
    /// and [`Client::wait`](crate::Client::wait) return an error of kind
    /// [`Replaced`](crate::ErrorKind::Replaced).
    Replaced {
        /// The application that was taken over.
        app: String,
    },
    /// A reconnect's resync has finished: what the client learned about the objects it
    /// tracked. Reported by [`Client::state_changes`](crate::Client::state_changes) only,
    /// after the `Connected` of the reconnect; [`Client::state`](crate::Client::state)
    /// stays `Connected`.
    Resynced {
        /// From the loss of the connection to the new one.
        downtime: Duration,
        /// The objects with handlers or waiters that had ended meanwhile (their end events
        /// were lost with the connection): their handlers are released and their waiters
        /// got an [`Ended`](crate::ErrorKind::Ended) error.
        ended: Vec<(ObjectKind, String)>,
        /// Event sources the application was subscribed to again.
        resubscribed: usize,
    },
    /// The event connection ended: shut down, replaced, or the reconnect policy gave up.
    Closed,
}

/// What a resync finds: the objects that ended while disconnected, and how many event
/// sources were subscribed to again.
#[derive(Debug, Default)]
pub(crate) struct Resync {
    pub(crate) ended: Vec<(ObjectKind, String)>,
    pub(crate) resubscribed: usize,
}

/// Runs a resync after a reconnect (installed by the layer that builds the client, which
/// can use the REST API).
pub(crate) type ResyncHook =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Resync> + Send>> + Send + Sync>;

/// Runs on a graceful shutdown before the websocket closes, with the applications it
/// registered, while its frames are still read and dispatched (installed by the layer that
/// builds the client, which can use the REST API).
pub(crate) type FarewellHook =
    Arc<dyn Fn(Vec<String>) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// What the client and its connection task share: the state, its watchers, and the
/// shutdown signal.
pub(crate) struct Control {
    state: watch::Sender<ConnectionState>,
    changes: broadcast::Sender<ConnectionState>,
    shutdown: watch::Sender<bool>,
}

impl Default for Control {
    fn default() -> Self {
        Self {
            state: watch::channel(ConnectionState::Idle).0,
            changes: broadcast::channel(64).0,
            shutdown: watch::channel(false).0,
        }
    }
}

impl Control {
    fn set_state(&self, state: ConnectionState) {
        self.state.send_replace(state.clone());
        // no receiver is fine: nobody watches the changes
        let _ = self.changes.send(state);
    }

    /// The state now.
    pub(crate) fn state(&self) -> ConnectionState {
        self.state.borrow().clone()
    }

    /// Tells the watchers of state changes about `state` without making it the state.
    fn report(&self, state: ConnectionState) {
        let _ = self.changes.send(state);
    }

    /// A receiver of every state change from now on.
    pub(crate) fn changes(&self) -> broadcast::Receiver<ConnectionState> {
        self.changes.subscribe()
    }

    /// Asks the connection to close (`true`) or clears that before a new start (`false`).
    pub(crate) fn set_shutdown(&self, stop: bool) {
        self.shutdown.send_replace(stop);
    }
}

/// What one run of the event connection needs.
pub(crate) struct Parts {
    pub(crate) config: Arc<Config>,
    pub(crate) rest: RestClient,
    pub(crate) hub: Arc<Hub>,
    pub(crate) control: Arc<Control>,
    pub(crate) resync: Option<ResyncHook>,
    pub(crate) farewell: Option<FarewellHook>,
    pub(crate) source: Source,
    /// Takes the frames instead of the hub, when set (a relay).
    pub(crate) sink: Option<FrameSink>,
}

/// Why one connection ended.
enum Ended {
    Shutdown,
    Lost(String),
    /// `ApplicationReplaced` for one of the apps.
    Replaced(String),
}

/// Runs the event connection until shutdown or until the reconnect policy gives up.
/// `ready` learns the outcome of the first attempt; a failed first attempt ends the run.
pub(crate) async fn run(
    parts: Parts,
    apps: Vec<String>,
    ready: oneshot::Sender<Result<()>>,
) -> Result<()> {
    let Parts {
        config,
        rest,
        hub,
        control,
        resync,
        farewell,
        source,
        sink,
    } = parts;
    let mut shutdown = control.shutdown.subscribe();
    // when the last connection was lost, if one was
    let mut lost_at: Option<Instant> = None;
    let mut ready = Some(ready);
    let mut attempt = 1u32;
    let result = loop {
        control.set_state(ConnectionState::Connecting { attempt });
        let outcome = tokio::select! {
            _ = stopped(&mut shutdown) => break Ok(()),
            outcome = source.open(&config, &rest, &apps, ready.is_some()) => outcome,
        };
        let reason = match outcome {
            Ok(mut opened) => {
                attempt = 1;
                let tunnel = rest.tunnel().cloned();
                if let (Some(tunnel), Opened::Socket(socket)) = (&tunnel, &mut opened) {
                    socket.carry(tunnel.attach());
                }
                control.set_state(ConnectionState::Connected);
                tracing::info!(apps = ?apps, "ARI event connection open");
                if let (Some(since), Some(resync)) = (lost_at.take(), &resync) {
                    let (resync, control) = (resync.clone(), control.clone());
                    let downtime = since.elapsed();
                    tokio::spawn(async move {
                        let found = resync().await;
                        control.report(ConnectionState::Resynced {
                            downtime,
                            ended: found.ended,
                            resubscribed: found.resubscribed,
                        });
                    });
                }
                if let Some(ready) = ready.take() {
                    let _ = ready.send(Ok(()));
                }
                let farewell = farewell.as_ref().map(|hook| {
                    let (hook, apps) = (hook.clone(), apps.clone());
                    move || hook(apps)
                });
                let ended = match opened {
                    Opened::Socket(socket) => {
                        read(
                            socket,
                            &hub,
                            sink.as_ref(),
                            tunnel.as_deref(),
                            config.event_budget,
                            &mut shutdown,
                            farewell,
                        )
                        .await
                    }
                    Opened::Feed(session) => {
                        read_feed(session, &hub, &mut shutdown, farewell).await
                    }
                };
                if let Some(tunnel) = &tunnel {
                    tunnel.detach(match &ended {
                        Ended::Shutdown => "the client shut down",
                        Ended::Lost(reason) => reason,
                        Ended::Replaced(_) => {
                            "the application was registered by another connection"
                        }
                    });
                }
                match ended {
                    Ended::Shutdown => break Ok(()),
                    Ended::Lost(reason) => reason,
                    Ended::Replaced(app) => {
                        tracing::warn!(
                            %app,
                            "ARI application registered by another connection: this client receives nothing more for it"
                        );
                        control.set_state(ConnectionState::Replaced { app: app.clone() });
                        break Err(Error::new(ErrorKind::Replaced).with_message(format!(
                            "another connection registered the application `{app}`"
                        )));
                    }
                }
            }
            Err(error) => {
                if let Some(ready) = ready.take() {
                    let _ = ready.send(Err(error));
                    break Ok(());
                }
                error.to_string()
            }
        };
        if matches!(source, Source::Once(_)) {
            // a call's own websocket: Asterisk closes it a few seconds after StasisEnd
            tracing::debug!(%reason, "ARI per-call connection ended");
            break Ok(());
        }
        tracing::warn!(%reason, "ARI event connection lost");
        lost_at.get_or_insert_with(Instant::now);
        control.set_state(ConnectionState::Disconnected {
            reason: reason.clone(),
        });
        if config
            .reconnect
            .max_attempts
            .is_some_and(|max| attempt > max)
        {
            break Err(Error::new(ErrorKind::WebSocket)
                .with_message(format!("gave up reconnecting: {reason}")));
        }
        let delay = match source {
            Source::Dial => config.reconnect.delay(attempt, crate::random::unit()),
            // Asterisk reconnects when it will, a feed's next session comes when the
            // relay has the node again: wait for them at once
            _ => Duration::ZERO,
        };
        control.set_state(ConnectionState::Reconnecting { attempt, delay });
        tokio::select! {
            _ = stopped(&mut shutdown) => break Ok(()),
            () = tokio::time::sleep(delay) => {}
        }
        attempt = attempt.saturating_add(1);
    };
    if let Some(tunnel) = rest.tunnel() {
        tunnel.close("the event connection has ended");
    }
    if let Source::Feed(feed) = &source {
        feed.close();
    }
    // let the handlers finish what was already received, then end the streams
    hub.drain().await;
    hub.close_streams();
    control.set_state(ConnectionState::Closed);
    result
}

/// Resolves once shutdown is asked for (or the client is gone).
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    // the guard wait_for returns is not Send: drop it here
    let _ = shutdown.wait_for(|stop| *stop).await.map(|_| ());
}

/// Resolves when a connection may end on shutdown: once shutdown is asked, and after
/// `farewell` (when given) has run, in `leaving`. Cancel safe: dropped and called again,
/// it goes on where it was (the farewell started is in `leaving`).
async fn farewell_done<F, Fut>(
    shutdown: &mut watch::Receiver<bool>,
    farewell: &mut Option<F>,
    mut leaving: Pin<&mut Option<Fut>>,
) where
    F: FnOnce() -> Fut,
    Fut: Future<Output = ()>,
{
    if leaving.is_none() {
        stopped(shutdown).await;
        match farewell.take() {
            Some(farewell) => leaving.set(Some(farewell())),
            None => return,
        }
    }
    if let Some(leaving) = leaving.as_pin_mut() {
        leaving.await;
    }
}

/// Hands every frame to the dispatcher until the connection ends.
///
/// With REST over the websocket, the answers to requests are taken out first, and also
/// while the dispatcher waits for room in the event budget: a handler that waits for an
/// answer holds its events' share of the budget, and the answer would otherwise queue on
/// the socket behind events that cannot be routed until the handler ends. The other
/// frames read meanwhile wait in order, up to `read_ahead` bytes.
///
/// On shutdown, `farewell` (when given) runs before the websocket closes, and the frames
/// that arrive meanwhile are read and dispatched as before: a server that writes an event
/// while the farewell's request waits for it does not stall on a socket nobody reads.
#[allow(clippy::too_many_arguments)]
async fn read<F, Fut>(
    mut socket: EventSocket,
    hub: &Arc<Hub>,
    sink: Option<&FrameSink>,
    tunnel: Option<&Tunnel>,
    read_ahead: usize,
    shutdown: &mut watch::Receiver<bool>,
    farewell: Option<F>,
) -> Ended
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut ahead = std::collections::VecDeque::new();
    let mut ahead_bytes = 0;
    let mut farewell = farewell;
    let mut leaving = std::pin::pin!(None::<Fut>);
    loop {
        let frame = match ahead.pop_front() {
            Some(frame) => {
                ahead_bytes -= incoming_len(&frame);
                frame
            }
            // a frame that is there already, while no shutdown was asked, is read
            // without the select below (its shutdown watch cost more than the read)
            None => match (leaving.is_none() && matches!(shutdown.has_changed(), Ok(false)))
                .then(|| socket.next().now_or_never())
                .flatten()
            {
                Some(frame) => frame,
                None => tokio::select! {
                    () = farewell_done(shutdown, &mut farewell, leaving.as_mut()) => {
                        socket.close().await;
                        return Ended::Shutdown;
                    }
                    frame = socket.next() => frame,
                },
            },
        };
        match frame {
            Ok(Incoming::Text(frame)) => {
                // the answer to a REST request over the websocket is its caller's
                if tunnel.is_some_and(|t| t.answer(frame.as_str())) {
                    continue;
                }
                let route = match sink {
                    None => futures_util::future::Either::Left(hub.route(frame)),
                    Some(sink) => futures_util::future::Either::Right(sink(frame)),
                };
                let routed = match tunnel {
                    None => route.await,
                    Some(tunnel) => {
                        tokio::pin!(route);
                        loop {
                            tokio::select! {
                                biased;
                                routed = &mut route => break routed,
                                next = socket.next(), if ahead_bytes < read_ahead => {
                                    match next {
                                        Ok(Incoming::Text(f)) if tunnel.answer(f.as_str()) => {}
                                        other => {
                                            ahead_bytes += incoming_len(&other);
                                            ahead.push_back(other);
                                        }
                                    }
                                }
                            }
                        }
                    }
                };
                if let Routed::Replaced(app) = routed {
                    socket.close().await;
                    return Ended::Replaced(app);
                }
            }
            Ok(Incoming::Binary(bytes)) => {
                hub.count_binary();
                tracing::warn!(bytes, "unexpected binary websocket frame skipped");
            }
            Err(lost) => {
                match lost.cause {
                    LostCause::Oversize => hub.count_bad_frame(true),
                    LostCause::InvalidUtf8 => hub.count_bad_frame(false),
                    LostCause::Other => {}
                }
                return Ended::Lost(lost.reason);
            }
        }
    }
}

/// Hands every frame of a feed's session to the dispatcher until the session ends, as
/// [`read`] does for a websocket (the farewell included).
async fn read_feed<F, Fut>(
    mut session: FeedSession,
    hub: &Arc<Hub>,
    shutdown: &mut watch::Receiver<bool>,
    farewell: Option<F>,
) -> Ended
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = ()>,
{
    use futures_util::StreamExt as _;
    let mut farewell = farewell;
    let mut leaving = std::pin::pin!(None::<Fut>);
    loop {
        let item = tokio::select! {
            () = farewell_done(shutdown, &mut farewell, leaving.as_mut()) => return Ended::Shutdown,
            item = session.next() => item,
        };
        match item {
            Some(FeedItem::Frame(frame)) => {
                if let Routed::Replaced(app) = hub.route(frame).await {
                    return Ended::Replaced(app);
                }
            }
            Some(FeedItem::Lost(reason)) => return Ended::Lost(reason),
            Some(FeedItem::Gone(objects)) => {
                hub.count_lost(objects.len());
                for (kind, id) in &objects {
                    hub.lost(*kind, id);
                }
            }
            None => return Ended::Lost("the relay's feed ended".to_owned()),
        }
    }
}

/// What a frame read ahead counts against `read_ahead`.
fn incoming_len(frame: &std::result::Result<Incoming, crate::ws::Lost>) -> usize {
    match frame {
        Ok(Incoming::Text(frame)) => frame.as_str().len(),
        _ => 0,
    }
}
