//! Asterisk connects to the application: outbound websockets (Asterisk 20.15, 21.10, 22.5
//! and later), for applications behind NAT or in a pool of servers that Asterisk dials.
//!
//! Asterisk's side is two sections of configuration: in `websocket_client.conf` the
//! connection (`type = websocket_client`, `uri = ws://127.0.0.1:8765`, `protocols = ari`,
//! `username`, `password`, `connection_type = persistent` or `per_call_config`), and in
//! `ari.conf` the applications that use it (`type = outbound_websocket`,
//! `websocket_client_id`, `apps`, `local_ari_user`, `subscribe_all`). A [`Listener`]
//! accepts Asterisk's websockets (over TLS with [`Listener::bind_tls`]), refuses (401) any
//! that does not present the credentials it was given, and hands them to the same event model as a client that dials Asterisk:
//! the same handlers, objects and awaitables. REST requests go over the websocket
//! ([`RestTransport::WebSocket`](crate::RestTransport::WebSocket)): no route back to
//! Asterisk's HTTP port is needed; Asterisk makes them as its `local_ari_user`. As with
//! [`connect`](crate::ClientBuilder::connect), the server's declarations are read
//! ([`ClientBuilder::check_server_api`]), over the first websocket, once per listener, and
//! every request is checked against them from then on.
//!
//! # One connection for the applications (`connection_type = persistent`)
//!
//! Asterisk registers the applications when it loads the configuration, connects, and
//! reconnects whenever the websocket is lost (every `reconnect_interval`); events of the
//! meantime are queued and sent on the next connection, which starts with
//! `ApplicationRegistered` for each application.
//!
//! ```no_run
//! use ari_client::events::StasisStart;
//! use ari_client::outbound::Listener;
//!
//! # async fn run() -> ari_client::Result<()> {
//! let listener = Listener::bind("127.0.0.1:8765", "asterisk", "secret").await?;
//! let client = listener.client()?;
//! client.on_channel_event(|channel, _start: StasisStart| async move {
//!     channel.answer().await?;
//!     channel.play("sound:hello-world").await?.finished().await?;
//!     channel.hangup().await
//! });
//! // the applications are those of ari.conf's `apps`; naming them here is optional
//! client.run(["hello"]).await
//! # }
//! ```
//!
//! # One connection per call (`connection_type = per_call_config`)
//!
//! When a channel enters `Stasis(<app>)`, Asterisk opens a websocket for that call alone,
//! registers the application `<app>:<channel name>` on it, and closes it a few seconds
//! after the call's `StasisEnd`. [`Calls`] yields each such call with its channel, once
//! its `StasisStart` arrived: one task per call.
//!
//! ```no_run
//! use ari_client::outbound::Listener;
//!
//! # async fn run() -> ari_client::Result<()> {
//! let mut calls = Listener::bind("127.0.0.1:8766", "asterisk", "secret").await?.calls()?;
//! while let Some(call) = calls.next().await {
//!     let call = call?;
//!     tokio::spawn(async move {
//!         let channel = call.channel();
//!         channel.answer().await?;
//!         channel.play("sound:hello-world").await?.finished().await?;
//!         channel.hangup().await?;
//!         call.finished().await
//!     });
//! }
//! # Ok(())
//! # }
//! ```

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::client::Client;
use crate::config::{ClientBuilder, Config};
use crate::connection::Source;
use crate::error::{Error, ErrorKind, Result};
use crate::events::{ApplicationRegistered, StasisStart};
use crate::objects::Channel;
use crate::rest::ServerApi;
use crate::ws::Acceptor;

/// How long a per-call websocket may take from its upgrade to its `StasisStart`.
const FIRST_EVENT: Duration = Duration::from_secs(10);

/// How many rounds of reading the declarations (each over every open websocket of the
/// listener's clients) fail before its clients go unchecked.
const READ_ROUNDS: usize = 5;

/// How long one read of the declarations over a websocket may take.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// The pause between two rounds of reading the declarations.
const READ_PAUSE: Duration = Duration::from_millis(200);

/// How long after a per-call websocket's `ApplicationRegistered` without a `StasisStart` it
/// counts as reopened for a call in progress.
const RESUME_AFTER: Duration = Duration::from_secs(2);

/// A listening socket that Asterisk's outbound websockets connect to. See the
/// [module](self) for the configuration and examples.
pub struct Listener {
    acceptor: Arc<Acceptor>,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("local_addr", &self.acceptor.local_addr())
            .finish_non_exhaustive()
    }
}

impl Listener {
    /// Listens on `addr` (`127.0.0.1:8765`; port 0 picks a free one, see
    /// [`local_addr`](Self::local_addr)). Asterisk must present `user` and `password`
    /// (`websocket_client.conf`'s `username` and `password`), compared in constant time;
    /// any other connection is answered 401 and logged at `warn`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Connect`] when the address cannot be listened on.
    pub async fn bind(addr: &str, user: &str, password: &str) -> Result<Listener> {
        Ok(Listener {
            acceptor: Arc::new(Acceptor::bind(addr, user, password, None).await?),
        })
    }

    /// [`bind`](Self::bind) with TLS (`wss://`, `websocket_client.conf`'s
    /// `tls_enabled = yes`): the listener presents the certificate chain and uses the
    /// private key of these PEM files' contents (PKCS#8, PKCS#1 or SEC1 keys).
    ///
    /// ```no_run
    /// use ari_client::outbound::Listener;
    ///
    /// # async fn run() -> ari_client::Result<()> {
    /// let cert = std::fs::read("/etc/ari-app/cert.pem").expect("certificate");
    /// let key = std::fs::read("/etc/ari-app/key.pem").expect("key");
    /// let listener = Listener::bind_tls("127.0.0.1:8765", "asterisk", "secret", &cert, &key).await?;
    /// # drop(listener);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Tls`] for a certificate or key that cannot be read or used,
    /// [`ErrorKind::Connect`] when the address cannot be listened on.
    pub async fn bind_tls(
        addr: &str,
        user: &str,
        password: &str,
        certificate_chain_pem: &[u8],
        private_key_pem: &[u8],
    ) -> Result<Listener> {
        let tls = server_tls(certificate_chain_pem, private_key_pem)?;
        Ok(Listener {
            acceptor: Arc::new(Acceptor::bind(addr, user, password, Some(tls)).await?),
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.acceptor.local_addr()
    }

    /// A client whose event connection is the websocket Asterisk keeps open to this
    /// listener (`connection_type = persistent`), with default settings. Start it with
    /// [`Client::run`] or [`Client::start`], which wait for Asterisk to connect; when the
    /// websocket is lost, the client waits for Asterisk to connect again, and resyncs.
    /// One such connection at a time: the listener accepts the next one once it is lost.
    ///
    /// # Errors
    ///
    /// As [`client_with`](Self::client_with).
    pub fn client(self) -> Result<Client> {
        self.client_with(ClientBuilder::outbound())
    }

    /// [`client`](Self::client) with the settings of `settings`, made by
    /// [`ClientBuilder::outbound`].
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] for settings not made by [`ClientBuilder::outbound`].
    pub fn client_with(self, settings: ClientBuilder) -> Result<Client> {
        let settings = outbound_settings(settings)?;
        let check = settings.check_server_api_enabled();
        let client =
            ClientBuilder::build_from(settings.into_config()?, Source::Listen(self.acceptor))?;
        learn_apps(&client, check.then(ServerApiCell::default));
        Ok(client)
    }

    /// The calls that Asterisk opens a websocket for, one each (`connection_type =
    /// per_call_config`), with default settings.
    ///
    /// # Errors
    ///
    /// As [`calls_with`](Self::calls_with).
    pub fn calls(self) -> Result<Calls> {
        self.calls_with(ClientBuilder::outbound())
    }

    /// [`calls`](Self::calls) with the settings of `settings`, made by
    /// [`ClientBuilder::outbound`]; each call gets a client of its own with them.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] for settings not made by [`ClientBuilder::outbound`].
    pub fn calls_with(self, settings: ClientBuilder) -> Result<Calls> {
        let settings = outbound_settings(settings)?;
        let server_api = settings
            .check_server_api_enabled()
            .then(ServerApiCell::default);
        // checked and fixed once (the TLS roots among them), cloned for each call
        let config = settings.into_config()?;
        // at most this many calls wait to be taken; the listener waits for room
        let (tx, rx) = mpsc::channel(64);
        let task = tokio::spawn(accept_calls(self.acceptor, config, server_api, tx));
        Ok(Calls { rx, task })
    }
}

/// The TLS side of a listener, from PEM files' contents.
fn server_tls(chain: &[u8], key: &[u8]) -> Result<Arc<rustls::ServerConfig>> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let tls = |what: &str| Error::new(ErrorKind::Tls).with_message(what.to_owned());
    let chain = CertificateDer::pem_slice_iter(chain)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| tls("invalid PEM certificate").with_source(e))?;
    if chain.is_empty() {
        return Err(tls("no certificate in the PEM data"));
    }
    let key = PrivateKeyDer::from_pem_slice(key)
        .map_err(|e| tls("no usable private key in the PEM data").with_source(e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::new(ErrorKind::Tls).with_source(e))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| tls("the certificate and key cannot be used").with_source(e))?;
    Ok(Arc::new(config))
}

fn outbound_settings(settings: ClientBuilder) -> Result<ClientBuilder> {
    if settings.is_outbound() {
        Ok(settings)
    } else {
        Err(Error::new(ErrorKind::InvalidArgument)
            .with_message("a listener's clients need settings made by ClientBuilder::outbound"))
    }
}

/// Asterisk names the applications of an outbound websocket (`ApplicationRegistered`, the
/// first frames of each connection): the first one becomes the client's application when
/// `start` was given none. The first one also starts reading the server's declarations
/// over the websocket, when `server_api` is given.
fn learn_apps(client: &Client, server_api: Option<ServerApiCell>) {
    let weak = client.downgrade();
    client.on_event(move |registered: ApplicationRegistered| {
        if let Some(client) = weak.upgrade() {
            client.adopt_app(&registered.application);
            if let Some(cell) = &server_api {
                cell.read_for(&client);
            }
        }
        async { Ok(()) }
    });
}

/// The server's declarations, read once over a websocket and shared by the clients of one
/// listener (each call's client of [`Calls`]): the check of
/// [`ClientBuilder::check_server_api`] for clients Asterisk connects to. Requests made
/// while they are read are not checked.
#[derive(Clone, Default)]
struct ServerApiCell(Arc<Mutex<Declarations>>);

#[derive(Default)]
struct Declarations {
    /// Once read.
    api: Option<Arc<ServerApi>>,
    /// The clients that get them once read.
    waiting: Vec<crate::client::WeakClient>,
    /// Whether a read is under way.
    reading: bool,
    /// Rounds of reads that failed; after [`READ_ROUNDS`] the clients go unchecked.
    failed_rounds: usize,
}

impl Declarations {
    /// A waiting client whose websocket is open, other than those in `tried`.
    fn open_waiting(&self, tried: &[Client]) -> Option<Client> {
        self.waiting
            .iter()
            .filter_map(crate::client::WeakClient::upgrade)
            .filter(|c| !tried.iter().any(|t| t.same_as(c)))
            .find(|c| !c.rest().tunnel().is_some_and(|t| t.closed()))
    }
}

impl ServerApiCell {
    /// Gives `client` the declarations once read. The first caller reads them, in the
    /// background, over `client`'s websocket; a read that fails (a per-call websocket
    /// that Asterisk closes and reopens while it runs, a websocket that does not answer)
    /// goes on over the other clients' websockets, in rounds, until one succeeds.
    fn read_for(&self, client: &Client) {
        let mut state = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(api) = &state.api {
            client.rest().set_server_api(api.clone());
            return;
        }
        if state.failed_rounds >= READ_ROUNDS {
            return;
        }
        state.waiting.push(client.downgrade());
        if std::mem::replace(&mut state.reading, true) {
            return;
        }
        drop(state);
        let (cell, first) = (self.0.clone(), client.clone());
        tokio::spawn(async move {
            let mut reader = Some(first);
            loop {
                // one round: over each open websocket of the waiting clients in turn
                let mut tried = Vec::new();
                while let Some(client) = reader.take() {
                    let read = tokio::time::timeout(READ_TIMEOUT, crate::server_api::load(&client));
                    match read.await {
                        Ok(Ok(api)) => return Self::read(&cell, Arc::new(api)),
                        Ok(Err(e)) => {
                            tracing::debug!(error = %e.chain(), "reading the server's declarations over an outbound websocket failed; trying the next one")
                        }
                        Err(_) => {
                            tracing::debug!(timeout = ?READ_TIMEOUT, "reading the server's declarations over an outbound websocket took too long; trying the next one")
                        }
                    }
                    tried.push(client);
                    reader = lock(&cell).open_waiting(&tried);
                }
                if Self::failed_round(&cell) {
                    return;
                }
                // the next round, over the websockets open then (new calls' among them)
                tokio::time::sleep(READ_PAUSE).await;
                reader = {
                    let mut state = lock(&cell);
                    let next = state.open_waiting(&[]);
                    // none open: the next call's client starts the next round
                    state.reading = next.is_some();
                    next
                };
                if reader.is_none() {
                    return;
                }
            }
        });
    }

    /// A round of reads failed; true when that was the last one (the clients go unchecked).
    fn failed_round(cell: &Mutex<Declarations>) -> bool {
        let mut state = lock(cell);
        state.failed_rounds += 1;
        if state.failed_rounds < READ_ROUNDS {
            return false;
        }
        tracing::warn!(rounds = READ_ROUNDS, "could not read the server's declarations of the API over the outbound websockets: calls are not checked against them");
        state.waiting.clear();
        state.reading = false;
        true
    }

    /// The declarations were read: every waiting client gets them, and so do later ones.
    fn read(cell: &Mutex<Declarations>, api: Arc<ServerApi>) {
        let waiting = {
            let mut state = lock(cell);
            state.api = Some(api.clone());
            state.reading = false;
            std::mem::take(&mut state.waiting)
        };
        for client in waiting
            .iter()
            .filter_map(crate::client::WeakClient::upgrade)
        {
            client.rest().set_server_api(api.clone());
        }
    }
}

fn lock(cell: &Mutex<Declarations>) -> std::sync::MutexGuard<'_, Declarations> {
    cell.lock().unwrap_or_else(|p| p.into_inner())
}

/// The calls Asterisk opens a websocket for, in the order their `StasisStart` arrived.
/// Made by [`Listener::calls`]; dropping it stops listening (calls already yielded go on).
#[derive(Debug)]
pub struct Calls {
    rx: mpsc::Receiver<Result<Call>>,
    task: JoinHandle<()>,
}

impl Drop for Calls {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Calls {
    /// The next call, once its `StasisStart` arrived (or, for a call whose websocket
    /// Asterisk opened again, 2 s after its `ApplicationRegistered`: [`Call::resumed`]).
    /// Websockets refused (wrong credentials, not a websocket) or with neither within
    /// 10 s are logged at `warn` and skipped. `Some(Err)` once when the listening socket fails, then `None`.
    pub async fn next(&mut self) -> Option<Result<Call>> {
        self.rx.recv().await
    }
}

/// One call's websocket (`per_call_config`): its own client, its channel, its
/// `StasisStart`. Cheap to move into a task of its own.
///
/// When a call's websocket is lost while the listener still runs, Asterisk opens another
/// one for the same call, without a new `StasisStart`: [`Calls`] yields that as a call of
/// its own, [`resumed`](Self::resumed), with the channel as it is now.
#[derive(Debug)]
pub struct Call {
    client: Client,
    channel: Channel,
    start: Option<StasisStart>,
}

impl Call {
    /// The call's own client: REST requests and events of this call, over its websocket.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The channel that entered the application.
    pub fn channel(&self) -> &Channel {
        &self.channel
    }

    /// The `StasisStart` that began the call (its `args`, its `application`,
    /// `<app>:<channel name>`); `None` for a [`resumed`](Self::resumed) call.
    pub fn start(&self) -> Option<&StasisStart> {
        self.start.as_ref()
    }

    /// Whether this is a call in progress whose websocket Asterisk opened again (its
    /// first websocket was lost): the application takes it over where it was.
    pub fn resumed(&self) -> bool {
        self.start.is_none()
    }

    /// Waits until Asterisk closed the call's websocket (a few seconds after `StasisEnd`)
    /// and every event of it was handled.
    ///
    /// # Errors
    ///
    /// As [`Client::wait`].
    pub async fn finished(self) -> Result<()> {
        self.client.wait().await
    }
}

async fn accept_calls(
    acceptor: Arc<Acceptor>,
    config: Config,
    server_api: Option<ServerApiCell>,
    calls: mpsc::Sender<Result<Call>>,
) {
    loop {
        let tcp = match acceptor.accept_tcp().await {
            Ok(tcp) => tcp,
            Err(e) => {
                tracing::error!(error = %e.chain(), "the outbound websocket listener failed");
                let _ = calls.send(Err(e)).await;
                return;
            }
        };
        let (acceptor, config, calls) = (acceptor.clone(), config.clone(), calls.clone());
        let server_api = server_api.clone();
        // each call's upgrade and first event on its own: a slow one delays no other
        tokio::spawn(async move {
            match one_call(&acceptor, tcp, config, server_api).await {
                Ok(call) => {
                    let _ = calls.send(Ok(call)).await;
                }
                Err(e) => tracing::warn!(error = %e.chain(), "a per-call websocket was not taken"),
            }
        });
    }
}

/// What a per-call websocket begins with.
enum First {
    /// A new call.
    Started(Channel, StasisStart),
    /// `ApplicationRegistered` for `<app>:<channel name>`.
    Registered(String),
}

/// Upgrades one connection and waits for its `StasisStart`; without one, a websocket that
/// Asterisk opened again for a call in progress (its `ApplicationRegistered` names the
/// channel) is the call resumed.
async fn one_call(
    acceptor: &Acceptor,
    tcp: tokio::net::TcpStream,
    config: Config,
    server_api: Option<ServerApiCell>,
) -> Result<Call> {
    let socket = acceptor.upgrade(tcp, &config).await?;
    let client =
        ClientBuilder::build_from(config, Source::Once(Arc::new(Mutex::new(Some(socket)))))?;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let started = {
        let tx = tx.clone();
        client.on_channel_event(move |channel: Channel, start: StasisStart| {
            let _ = tx.send(First::Started(channel, start));
            async { Ok(()) }
        })
    };
    let registered = client.on_event(move |e: ApplicationRegistered| {
        let _ = tx.send(First::Registered(e.application));
        async { Ok(()) }
    });
    client.start(Vec::<String>::new()).await?;
    if let Some(cell) = &server_api {
        cell.read_for(&client);
    }
    let mut app = None;
    let deadline = tokio::time::Instant::now() + FIRST_EVENT;
    let first = loop {
        // a new call's StasisStart follows its ApplicationRegistered within about 0.5 s
        // (Asterisk polls the connection every 500 ms before it starts the application)
        let until = match app {
            Some(_) => deadline.min(tokio::time::Instant::now() + RESUME_AFTER),
            None => deadline,
        };
        match tokio::time::timeout_at(until, rx.recv()).await {
            Ok(Some(First::Started(channel, start))) => break Some((channel, Some(start))),
            Ok(Some(First::Registered(name))) => app = Some(name),
            Ok(None) => break None,
            Err(_) => break None,
        }
    };
    started.unsubscribe();
    registered.unsubscribe();
    let call = match (first, app) {
        (Some((channel, start)), _) => Some((channel, start)),
        (None, Some(app)) => resumed(&client, &app).await.map(|channel| (channel, None)),
        (None, None) => None,
    };
    match call {
        Some((channel, start)) => {
            if let Some(start) = &start {
                client.adopt_app(&start.application);
            }
            Ok(Call {
                client,
                channel,
                start,
            })
        }
        None => {
            client.shutdown();
            Err(Error::new(ErrorKind::Timeout).with_message(format!(
                "neither a StasisStart nor a call in progress within {FIRST_EVENT:?} of the websocket's upgrade"
            )))
        }
    }
}

/// The channel of a call in progress whose websocket Asterisk opened again: the one named
/// by its application, `<app>:<channel name>`.
async fn resumed(client: &Client, app: &str) -> Option<Channel> {
    client.adopt_app(app);
    let (_, name) = app.split_once(':')?;
    match client.channels().list().await {
        Ok(channels) => channels.into_iter().find(|c| c.name == name),
        Err(e) => {
            tracing::warn!(app, error = %e.chain(), "a reopened per-call websocket: its channel could not be listed");
            None
        }
    }
}
