//! Building and connecting a client: the layer above the generated API, so it can use it
//! — to check the server and the credentials (`GET /asterisk/ping`), and to subscribe the
//! application to the objects whose end events need a subscription.

use std::collections::HashSet;
use std::time::Duration;

use crate::client::Client;
use crate::config::{ClientBuilder, Config};
use crate::connection::{Resync, Source};
use crate::error::{Error, ErrorKind, Result};
use crate::events::ObjectKind;

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
}

impl ClientBuilder {
    /// Builds the client without contacting the server.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidUrl`] for an unusable URL, [`ErrorKind::Tls`] for unusable
    /// root certificates.
    pub fn build(self) -> Result<Client> {
        if self.is_outbound() {
            return Err(Error::new(ErrorKind::InvalidArgument).with_message(
                "outbound settings make clients through an outbound::Listener, which Asterisk connects to",
            ));
        }
        if self.is_relayed() {
            return Err(Error::new(ErrorKind::InvalidArgument).with_message(
                "relayed settings make clients through a nats::Instance, which reaches the node through its relay",
            ));
        }
        Self::build_from(self.into_config()?, Source::Dial)
    }

    /// Builds a client of the settings `config`, whose websockets come from `source`.
    pub(crate) fn build_from(config: Config, source: Source) -> Result<Client> {
        let subscribe_all = config.subscribe_all;
        let client = Client::with_source(config, source)?;
        client.set_interest_hook(Box::new(subscribe_on_interest));
        let weak = client.downgrade();
        client.set_resync_hook(std::sync::Arc::new(move || {
            let weak = weak.clone();
            Box::pin(async move {
                match weak.upgrade() {
                    Some(client) => resync(&client).await,
                    None => Resync::default(),
                }
            })
        }));
        if subscribe_all {
            let weak = client.downgrade();
            client.set_farewell_hook(std::sync::Arc::new(move |apps| {
                let weak = weak.clone();
                Box::pin(async move {
                    if let Some(client) = weak.upgrade() {
                        unsubscribe_device_states(&client, &apps).await;
                    }
                })
            }));
        }
        Ok(client)
    }

    /// Builds the client, checks the server with one REST call (`GET /asterisk/ping`),
    /// then reads what it serves ([`check_server_api`](Self::check_server_api), on by
    /// default): see [`Client::server_api`]. When the server's declarations cannot be
    /// read, the client works without them (logged as a warning) and checks nothing.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Connect`] when the server cannot be reached, [`ErrorKind::Timeout`],
    /// [`ErrorKind::Tls`], [`ErrorKind::Unauthorized`] for refused credentials,
    /// [`ErrorKind::NotAri`] when something other than ARI answers (or something that is
    /// not HTTP), and
    /// [`ErrorKind::InvalidUrl`].
    pub async fn connect(self) -> Result<Client> {
        let check_server_api = self.check_server_api_enabled();
        let client = self.build()?;
        handshake(&client, check_server_api).await?;
        Ok(client)
    }
}

/// What `connect` does with a built client: check the server and the credentials, then
/// (with `check_server_api`) read what the server serves.
pub(crate) async fn handshake(client: &Client, check_server_api: bool) -> Result<()> {
    check(client).await?;
    if check_server_api {
        match crate::server_api::load(client).await {
            Ok(api) => client.rest().set_server_api(std::sync::Arc::new(api)),
            Err(e) => tracing::warn!(
                node = client.node(),
                error = %e.chain(),
                "could not read the server's declarations of the API: calls are not checked against them"
            ),
        }
    }
    Ok(())
}

/// `GET /asterisk/ping` must answer like ARI does.
async fn check(client: &Client) -> Result<()> {
    match client.asterisk().ping().await {
        Ok(_) => Ok(()),
        Err(e) => Err(match e.kind() {
            ErrorKind::NotFound
            | ErrorKind::Decode
            | ErrorKind::UnexpectedStatus
            | ErrorKind::Protocol => {
                let detail = e.to_string();
                Error::new(ErrorKind::NotAri)
                    .with_message(format!(
                        "{} does not answer like ARI ({detail})",
                        client.base_url()
                    ))
                    .with_source(e)
            }
            _ => e,
        }),
    }
}

/// Asterisk sends some end events (a bridge's `BridgeDestroyed`) only to applications
/// subscribed to the object: when an object of such a kind gets its first handler or
/// waiter, subscribe the client's application to it, in the background. Without a running
/// application, or when that fails, the object ends when this client destroys it.
fn subscribe_on_interest(client: &Client, kind: ObjectKind, id: &str) {
    let Some(source) = kind
        .event_source()
        .filter(|_| kind.end_needs_subscription())
    else {
        return;
    };
    let Some(app) = client.current_app() else {
        return;
    };
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        tracing::debug!(%kind, id, "no tokio runtime: the application is not subscribed");
        return;
    };
    let client = client.clone();
    let event_source = format!("{source}:{id}");
    runtime.spawn(async move {
        // on success, the generated subscribe marks the object subscribed
        if let Err(e) = client.applications().subscribe(&app, &event_source).await {
            tracing::warn!(
                %app, %event_source, error = %e.chain(),
                "could not subscribe the application to an object with handlers; it ends when this client destroys it"
            );
        }
    });
}

/// How long a graceful shutdown waits for [`unsubscribe_device_states`] at most.
const FAREWELL_TIMEOUT: Duration = Duration::from_secs(5);

/// Before a `subscribeAll` client closes its websocket: unsubscribe its applications from
/// all device states, over REST, while the websocket is still read.
///
/// Asterisk 22.10.1 (and the releases before it; asterisk/asterisk#2170) can deadlock its
/// ARI when the websocket of an application subscribed to all device states closes while
/// a device state change is being sent to it: the websocket's teardown holds the session
/// lock and waits for the device-state subscription to finish, and the subscription's
/// thread waits for the session lock to write the event. From then on every
/// `GET /applications` and `applications.subscribe` hangs until Asterisk restarts
/// (measured: the second to fourth of such closes wedged the sandbox; see
/// `docs/ari-spec-notes.md` §11). Unsubscribing first over REST, whose thread holds no
/// session lock, leaves the teardown nothing to wait for. Failures are logged and the
/// websocket closes anyway.
async fn unsubscribe_device_states(client: &Client, apps: &[String]) {
    for app in apps {
        let unsubscribe = client.applications().unsubscribe(app, "deviceState:");
        match tokio::time::timeout(FAREWELL_TIMEOUT, unsubscribe).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::debug!(
                %app, error = %e.chain(),
                "could not unsubscribe from all device states before closing"
            ),
            Err(_) => tracing::warn!(
                %app, timeout = ?FAREWELL_TIMEOUT,
                "no answer to the unsubscribe from all device states before closing"
            ),
        }
    }
}

/// After a reconnect: which of the objects the client tracks still exist? Those that do
/// not ended while the connection was down (their end events are lost): end them. Then
/// subscribe the applications again to what the client had subscribed them to (an Asterisk
/// restart forgets it). A request that fails leaves its objects as they are (logged): the
/// next reconnect tries again.
async fn resync(client: &Client) -> Resync {
    let tracked = client.hub().tracked();
    let mut ended = Vec::new();
    let mut channels: Option<HashSet<String>> = None;
    let mut bridges: Option<HashSet<String>> = None;
    for (kind, id) in tracked {
        let exists = match kind {
            ObjectKind::Channel => {
                if channels.is_none() {
                    channels = listed(client.channels().list().await, "channels.list", |c| &c.id);
                }
                channels.as_ref().map(|c| c.contains(&id))
            }
            ObjectKind::Bridge => {
                if bridges.is_none() {
                    bridges = listed(client.bridges().list().await, "bridges.list", |b| &b.id);
                }
                bridges.as_ref().map(|b| b.contains(&id))
            }
            ObjectKind::Playback => exists(client.playbacks().get(&id).await),
            ObjectKind::LiveRecording => exists(client.recordings().get_live(&id).await),
            // kinds that never end need no check
            _ => Some(true),
        };
        if exists == Some(false) {
            client.hub().lost(kind, &id);
            ended.push((kind, id));
        }
    }
    client.hub().count_lost(ended.len());
    // report only once their handlers are released
    client.hub().drain().await;
    let mut resubscribed = 0;
    for (app, kind, id) in client.hub().app_subscriptions() {
        let Some(prefix) = kind.event_source() else {
            continue;
        };
        let source = format!("{prefix}:{id}");
        match client.applications().subscribe(&*app, &source).await {
            Ok(_) => resubscribed += 1,
            // its object is gone (a bridge after a restart): nothing to subscribe to
            Err(e) => tracing::debug!(%app, %source, error = %e, "not subscribed again"),
        }
    }
    if !ended.is_empty() {
        tracing::warn!(
            ended = ended.len(),
            "objects ended while the ARI event connection was down; their handlers are released"
        );
    }
    Resync {
        ended,
        resubscribed,
    }
}

/// The ids of a listing, or `None` (logged) when it failed.
fn listed<T>(answer: Result<Vec<T>>, op: &str, id: impl Fn(&T) -> &str) -> Option<HashSet<String>> {
    match answer {
        Ok(list) => Some(list.iter().map(|o| id(o).to_owned()).collect()),
        Err(e) => {
            tracing::warn!(op, error = %e, "resync: could not list the objects");
            None
        }
    }
}

/// Whether a `get` found its object (`None`: unknown, logged).
fn exists<T>(answer: Result<T>) -> Option<bool> {
    match answer {
        Ok(_) => Some(true),
        Err(e) if e.is_not_found() => Some(false),
        Err(e) => {
            tracing::warn!(error = %e, "resync: could not check an object");
            None
        }
    }
}
