//! [`ClientBuilder`] collects the URL, credentials, timeouts, TLS roots, apps and
//! reconnect policy; it checks them into a [`Config`], which nothing changes afterwards.
//! The rest of the runtime reads the `Config` and never sees the builder.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::CertificateDer;

use crate::error::{Error, ErrorKind, Result};

/// How the event connection comes back after it was lost.
///
/// The delay before attempt *n* is `initial_delay * 2^(n-1)`, capped at `max_delay`,
/// with ±`jitter` of it taken at random, so that many clients do not reconnect in step.
#[derive(Debug, Clone, PartialEq)]
pub struct ReconnectPolicy {
    /// The delay before the first reconnect attempt.
    pub initial_delay: Duration,
    /// The longest delay between two attempts.
    pub max_delay: Duration,
    /// The fraction (0.0–1.0) of each delay that is randomised.
    pub jitter: f64,
    /// Give up after this many failed attempts in a row; `None` retries forever.
    pub max_attempts: Option<u32>,
}

/// The default: 50 ms, then doubling up to 300 ms, ±20 %. So the client is back at most
/// ~0.36 s (plus one connect) after Asterisk answers again, however long it was away, and
/// a host that stays down gets about three connection attempts a second (each a TCP
/// connect it refuses), never more.
impl Default for ReconnectPolicy {
    fn default() -> Self {
        Self {
            initial_delay: Duration::from_millis(50),
            max_delay: Duration::from_millis(300),
            jitter: 0.2,
            max_attempts: None,
        }
    }
}

impl ReconnectPolicy {
    /// A policy that never reconnects: the first loss of the connection ends
    /// [`Client::run`](crate::Client::run).
    pub fn never() -> Self {
        Self {
            max_attempts: Some(0),
            ..Self::default()
        }
    }

    /// The delay before attempt `attempt` (1-based), before jitter.
    pub(crate) fn base_delay(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(31));
        self.initial_delay
            .saturating_mul(factor)
            .min(self.max_delay)
    }

    /// The delay before attempt `attempt`, with jitter drawn from `random` (0.0–1.0).
    pub(crate) fn delay(&self, attempt: u32, random: f64) -> Duration {
        let base = self.base_delay(attempt).as_secs_f64();
        let jitter = self.jitter.clamp(0.0, 1.0);
        let factor = 1.0 + jitter * (2.0 * random.clamp(0.0, 1.0) - 1.0);
        Duration::from_secs_f64((base * factor).max(0.0))
    }
}

/// The default of [`ClientBuilder::event_budget`].
pub(crate) const DEFAULT_EVENT_BUDGET: usize = 4 << 20;

/// The default of [`ClientBuilder::max_response_bytes`]: 64 MiB.
pub(crate) const DEFAULT_MAX_RESPONSE_BYTES: usize = 64 << 20;

/// The default of [`ClientBuilder::max_concurrent_requests`].
pub(crate) const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 32;

/// The settings of a client, checked and fixed when it is built.
#[derive(Clone)]
pub(crate) struct Config {
    /// The ARI base URL, `http(s)://host:port/ari`, without a trailing slash.
    pub(crate) base_url: String,
    /// The name of the Asterisk node this client talks to (`ClientBuilder::node`).
    pub(crate) node: Arc<str>,
    pub(crate) user: String,
    pub(crate) password: String,
    pub(crate) connect_timeout: Duration,
    pub(crate) tls: Arc<rustls::ClientConfig>,
    /// The apps `start`/`run` register when given none.
    pub(crate) apps: Vec<String>,
    pub(crate) subscribe_all: bool,
    pub(crate) reconnect: ReconnectPolicy,
    pub(crate) keepalive: Duration,
    pub(crate) event_budget: usize,
    pub(crate) queue_capacity: usize,
    /// The REST transport and its bounds (`ClientBuilder::rest_transport`,
    /// `ClientBuilder::request_timeout`, `ClientBuilder::max_response_bytes`,
    /// `ClientBuilder::max_concurrent_requests`, `ClientBuilder::send_undeclared_parameters`).
    pub(crate) limits: crate::rest::Limits,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("base_url", &self.base_url)
            .field("node", &self.node)
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .field("apps", &self.apps)
            .field("reconnect", &self.reconnect)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Client`](crate::Client). Start with [`Client::builder`](crate::Client::builder).
#[derive(Clone)]
pub struct ClientBuilder {
    url: String,
    node: Option<String>,
    user: String,
    password: String,
    request_timeout: Duration,
    connect_timeout: Duration,
    extra_roots: Vec<CertificateDer<'static>>,
    builtin_roots: bool,
    apps: Vec<String>,
    subscribe_all: bool,
    reconnect: ReconnectPolicy,
    keepalive: Duration,
    event_budget: usize,
    queue_capacity: usize,
    max_response_bytes: usize,
    max_concurrent_requests: usize,
    check_server_api: bool,
    send_undeclared_parameters: bool,
    rest_transport: crate::rest::RestTransport,
    /// Settings of a client Asterisk connects to ([`outbound`](Self::outbound)).
    outbound: bool,
    /// Settings of a client that reaches its node through a relay ([`relayed`](Self::relayed)).
    relayed: bool,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("url", &redact_url(&self.url))
            .field("node", &self.node)
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .field("request_timeout", &self.request_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("extra_roots", &self.extra_roots.len())
            .field("apps", &self.apps)
            .field("reconnect", &self.reconnect)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("max_concurrent_requests", &self.max_concurrent_requests)
            .field("check_server_api", &self.check_server_api)
            .field("rest_transport", &self.rest_transport)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    pub(crate) fn new(url: &str, user: &str, password: &str) -> Self {
        Self {
            url: url.to_owned(),
            node: None,
            user: user.to_owned(),
            password: password.to_owned(),
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            extra_roots: Vec::new(),
            builtin_roots: true,
            apps: Vec::new(),
            subscribe_all: false,
            reconnect: ReconnectPolicy::default(),
            keepalive: Duration::from_secs(30),
            event_budget: DEFAULT_EVENT_BUDGET,
            queue_capacity: 1024,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            max_concurrent_requests: DEFAULT_MAX_CONCURRENT_REQUESTS,
            check_server_api: true,
            send_undeclared_parameters: false,
            rest_transport: crate::rest::RestTransport::Http,
            outbound: false,
            relayed: false,
        }
    }

    /// Settings for clients of an app instance that reach their Asterisk node through a
    /// relay over NATS ([`nats::Instance`](crate::nats::Instance), feature `nats`): every
    /// setting but the URL, the credentials and the REST transport applies (the relay
    /// holds those). Events come from the relay, REST requests go to it.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use ari_client::{nats::Instance, ClientBuilder};
    ///
    /// # async fn run(nats: async_nats::Client) -> ari_client::Result<()> {
    /// let instance = Instance::builder(nats).build()?;
    /// let client = instance.client_with(
    ///     "pbx-a",
    ///     ClientBuilder::relayed().request_timeout(Duration::from_secs(5)),
    /// )?;
    /// # drop(client);
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "nats")]
    pub fn relayed() -> ClientBuilder {
        let mut builder = Self::new("", "", "");
        builder.relayed = true;
        builder
    }

    /// Whether these are [`relayed`](Self::relayed) settings.
    pub(crate) fn is_relayed(&self) -> bool {
        self.relayed
    }

    /// Settings for clients that Asterisk connects to, through an outbound websocket
    /// ([`outbound::Listener`](crate::outbound::Listener)): every setting but the URL and
    /// the credentials applies. There is no URL: REST requests go over the websocket
    /// ([`RestTransport::WebSocket`](crate::RestTransport::WebSocket)), made by Asterisk as
    /// the `local_ari_user` of its `ari.conf`.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use ari_client::{outbound::Listener, ClientBuilder};
    ///
    /// # async fn run() -> ari_client::Result<()> {
    /// let listener = Listener::bind("127.0.0.1:8765", "asterisk", "secret").await?;
    /// let client = listener.client_with(
    ///     ClientBuilder::outbound().request_timeout(Duration::from_secs(5)),
    /// )?;
    /// # drop(client);
    /// # Ok(())
    /// # }
    /// ```
    pub fn outbound() -> ClientBuilder {
        let mut builder = Self::new("", "", "");
        builder.outbound = true;
        builder.rest_transport = crate::rest::RestTransport::WebSocket;
        builder
    }

    /// Whether these are [`outbound`](Self::outbound) settings.
    pub(crate) fn is_outbound(&self) -> bool {
        self.outbound
    }

    /// The timeout of each REST request (default 30 s).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// The timeout of establishing a TCP/TLS connection or a websocket (default 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Trusts the certificate authorities in a PEM file's contents, in addition to
    /// the built-in Mozilla roots.
    pub fn add_root_certificates_pem(mut self, pem: &[u8]) -> Result<Self> {
        let mut found = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| {
                Error::new(ErrorKind::Tls)
                    .with_message("invalid PEM certificate")
                    .with_source(e)
            })?;
            self.extra_roots.push(cert);
            found += 1;
        }
        if found == 0 {
            return Err(Error::new(ErrorKind::Tls).with_message("no certificate in the PEM data"));
        }
        Ok(self)
    }

    /// Trusts only the roots added with [`add_root_certificates_pem`](Self::add_root_certificates_pem),
    /// not the built-in Mozilla roots.
    pub fn without_builtin_roots(mut self) -> Self {
        self.builtin_roots = false;
        self
    }

    /// The Stasis applications that [`Client::start`](crate::Client::start) and
    /// [`Client::run`](crate::Client::run) register when they are not given any.
    pub fn apps<I, S>(mut self, apps: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.apps = apps.into_iter().map(Into::into).collect();
        self
    }

    /// Names the Asterisk node this client talks to: [`Client::node`](crate::Client::node),
    /// and the name of the node in a [`Cluster`](crate::cluster::Cluster) and in the
    /// client's log lines. Give a name that stays the same across restarts (`pbx-a`), not
    /// Asterisk's `asterisk_id`, which is derived from a MAC address and can change. By
    /// default, the `host:port` of the URL (`outbound` for a client Asterisk connects to).
    pub fn node(mut self, name: impl Into<String>) -> Self {
        self.node = Some(name.into());
        self
    }

    /// Subscribes the apps to all events of the system (`subscribeAll=true`), not only
    /// those of the objects they own.
    ///
    /// [`Client::shutdown`](crate::Client::shutdown) then unsubscribes them from all device
    /// states (`DELETE /applications/{app}/subscription?eventSource=deviceState:`) before
    /// it closes the websocket: Asterisk up to 22.10.1 can deadlock its ARI when such a
    /// websocket closes while a device state change is on its way to it (after which
    /// `applications` requests hang until Asterisk restarts). A connection that is lost
    /// rather than closed cannot do that; an application that subscribes itself to
    /// `deviceState:` should unsubscribe before it shuts down.
    pub fn subscribe_all(mut self, yes: bool) -> Self {
        self.subscribe_all = yes;
        self
    }

    /// How the event connection is re-established after it was lost.
    pub fn reconnect(mut self, policy: ReconnectPolicy) -> Self {
        self.reconnect = policy;
        self
    }

    /// How long the event connection may be silent before the client pings the server
    /// (default 30 s; the ping goes out within a quarter more). A ping unanswered for as
    /// long again counts as a lost connection, and so does a server that reads nothing
    /// (the ping cannot be written within `interval`).
    pub fn keepalive(mut self, interval: Duration) -> Self {
        self.keepalive = interval.max(Duration::from_millis(10));
        self
    }

    /// How many bytes of events may wait to be handled (default 4 MiB, some 7,000
    /// events of a typical size). Events are queued per object, and each object's
    /// handlers run in order; when the queued events of all objects together reach the
    /// budget, the websocket reader waits (and so does Asterisk's TCP stream) until
    /// handlers catch up. Nothing is dropped. A single event larger than the budget is
    /// let in when nothing else is queued.
    pub fn event_budget(mut self, bytes: usize) -> Self {
        self.event_budget = bytes.max(1);
        self
    }

    /// How many events each stream ([`Client::events`](crate::Client::events), an
    /// object's event stream) holds before the websocket reader waits for its reader
    /// (default 1024). Nothing is dropped: keep reading a stream or drop it.
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = capacity.max(1);
        self
    }

    /// The largest REST response body the client reads, in bytes (default 64 MiB).
    ///
    /// Every response body is held in memory whole before it is decoded or returned, so
    /// this bounds what one response can cost. The default holds `GET /channels` with
    /// more than 50,000 channels (a channel is some 400 bytes of JSON, measured on the
    /// sandbox; twice that with `pretty = yes` in `ari.conf` or a few channel variables),
    /// or a stored recording of 70 minutes as 8 kHz 16-bit WAV
    /// (`recordings.getStoredFile`, 16,000 bytes a second). A larger body fails
    /// with [`ErrorKind::ResponseTooLarge`]: at once when its `Content-Length` says so,
    /// else as soon as more than `bytes` arrived, and nothing more of it is read. Error
    /// responses are read up to 64 KiB for Asterisk's message. The websocket's events
    /// have their own bounds (see [`event_budget`](Self::event_budget)).
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// How many REST requests the client has in flight at once (default 32, at least 1);
    /// more wait for their turn, in order, within their timeout.
    ///
    /// Each request in flight holds an HTTP connection, and Asterisk serves at most
    /// `sessionlimit` of them (`http.conf`, default 100) for all its clients together,
    /// websockets included. Past it, Asterisk closes new connections unanswered: requests
    /// fail with [`ErrorKind::Connect`] and, when a websocket cannot get in, events stop
    /// for a while. The default leaves room for two clients and a websocket or two; more
    /// concurrency rarely makes more requests per second, since Asterisk serves each
    /// connection with a thread of its own.
    ///
    /// ```
    /// # fn main() -> ari_client::Result<()> {
    /// let client = ari_client::Client::builder("http://127.0.0.1:8088", "asterisk", "asterisk")
    ///     .max_concurrent_requests(8)
    ///     .build()?;
    /// # let _ = client;
    /// # Ok(())
    /// # }
    /// ```
    pub fn max_concurrent_requests(mut self, requests: usize) -> Self {
        self.max_concurrent_requests = requests.max(1);
        self
    }

    /// Whether [`connect`](Self::connect) reads what the server serves (default `true`):
    /// its own declarations of the API (`GET /ari/api-docs/resources.json` and the 11
    /// files it lists), its version (`GET /asterisk/info`) and its loaded modules
    /// (`GET /asterisk/modules`), 14 requests sent at once, some 10 ms on loopback
    /// (`cargo xtask bench` measures it). Then a call to an operation the server does not
    /// serve, or with a parameter it does not declare, fails with
    /// [`ErrorKind::Unsupported`] before anything is sent, and
    /// [`Client::server_api`](crate::Client::server_api) answers what the server has.
    /// `false` makes `connect` send only its `GET /asterisk/ping`, and checks nothing. The
    /// declarations are read once per client: an Asterisk upgraded or downgraded under a
    /// running client keeps being checked against what it served at connect.
    ///
    /// ```no_run
    /// # async fn run() -> ari_client::Result<()> {
    /// let client = ari_client::Client::builder("http://127.0.0.1:8088", "asterisk", "asterisk")
    ///     .check_server_api(false)
    ///     .connect()
    ///     .await?;
    /// assert!(client.server_api().is_none());
    /// # Ok(())
    /// # }
    /// ```
    pub fn check_server_api(mut self, yes: bool) -> Self {
        self.check_server_api = yes;
        self
    }

    /// Whether `connect` reads the server's declarations (not part of [`Config`]: only
    /// `connect` needs it).
    pub(crate) fn check_server_api_enabled(&self) -> bool {
        self.check_server_api
    }

    /// Whether a parameter the server does not declare is sent anyway (default `false`).
    ///
    /// Asterisk ignores a query parameter it does not know, without an error: a
    /// `setChannelVar` with `report_events` sent to Asterisk 21 sets the variable and
    /// reports nothing. So by default, once [`connect`](Self::connect) has read the server's
    /// declarations ([`check_server_api`](Self::check_server_api)), such a call fails with
    /// [`ErrorKind::Unsupported`] and nothing is sent; `true` sends it, for servers whose
    /// declarations are known to lag behind what they do. Operations the server does not
    /// serve fail either way.
    pub fn send_undeclared_parameters(mut self, yes: bool) -> Self {
        self.send_undeclared_parameters = yes;
        self
    }

    /// How REST requests are sent: over HTTP (the default) or on the event websocket
    /// ([`RestTransport::WebSocket`](crate::RestTransport::WebSocket), Asterisk 20.14,
    /// 21.9, 22.4 and later). The call sites do not change: every operation, its typed
    /// answer and its typed errors are the same either way.
    ///
    /// ```no_run
    /// use ari_client::{Client, RestTransport};
    ///
    /// # async fn run() -> ari_client::Result<()> {
    /// let client = Client::builder("http://127.0.0.1:8088", "asterisk", "asterisk")
    ///     .rest_transport(RestTransport::WebSocket)
    ///     .connect()
    ///     .await?;
    /// client.start(["hello"]).await?;
    /// // a RESTRequest frame on the event websocket, answered by a RESTResponse
    /// let info = client.asterisk().get_info().await?;
    /// # drop(info);
    /// # Ok(())
    /// # }
    /// ```
    pub fn rest_transport(mut self, transport: crate::rest::RestTransport) -> Self {
        self.rest_transport = transport;
        self
    }

    /// Checks the settings and fixes them into a [`Config`].
    pub(crate) fn into_config(self) -> Result<Config> {
        let base_url = if self.outbound || self.relayed {
            String::new()
        } else {
            normalize_base(&self.url)?
        };
        let tls = self.tls_config()?;
        let node = match self.node {
            Some(node) => node,
            None if self.outbound => "outbound".to_owned(),
            None if self.relayed => "relayed".to_owned(),
            None => node_of(&base_url),
        };
        Ok(Config {
            base_url,
            node: node.into(),
            user: self.user,
            password: self.password,
            connect_timeout: self.connect_timeout,
            tls,
            apps: self.apps,
            subscribe_all: self.subscribe_all,
            reconnect: self.reconnect,
            keepalive: self.keepalive,
            event_budget: self.event_budget,
            queue_capacity: self.queue_capacity,
            limits: crate::rest::Limits {
                max_response_bytes: self.max_response_bytes,
                max_concurrent_requests: self.max_concurrent_requests,
                send_undeclared_parameters: self.send_undeclared_parameters,
                request_timeout: self.request_timeout,
                transport: if self.outbound {
                    crate::rest::RestTransport::WebSocket
                } else {
                    self.rest_transport
                },
            },
        })
    }

    fn tls_config(&self) -> Result<Arc<rustls::ClientConfig>> {
        let mut roots = rustls::RootCertStore::empty();
        if self.builtin_roots {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        for cert in &self.extra_roots {
            roots.add(cert.clone()).map_err(|e| {
                Error::new(ErrorKind::Tls)
                    .with_message("unusable root certificate")
                    .with_source(e)
            })?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::new(ErrorKind::Tls).with_source(e))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Arc::new(config))
    }
}

/// The ARI base URL (`http(s)://host:port/ari`, no trailing slash) of what the user gave:
/// with or without `/ari`, with or without a trailing slash.
///
/// Errors show the URL as [`redact_url`] writes it: never its credentials or query.
pub(crate) fn normalize_base(url: &str) -> Result<String> {
    let invalid = |why: &str| {
        Error::new(ErrorKind::InvalidUrl).with_message(format!("{:?}: {why}", redact_url(url)))
    };
    let parsed = reqwest::Url::parse(url.trim()).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https"));
    }
    if parsed.host_str().is_none() {
        return Err(invalid("no host"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(invalid("no query or fragment allowed"));
    }
    if !parsed.username().is_empty()
        || parsed.password().is_some()
        || parsed.path().to_ascii_lowercase().contains("api_key")
    {
        // an `api_key` in the path is a query mistyped (`&` for `?`); it would be shown
        // wherever the base URL is
        return Err(invalid("give credentials separately, not in the URL"));
    }
    let mut base = parsed.to_string();
    while base.ends_with('/') {
        base.pop();
    }
    if !base.ends_with("/ari") {
        base.push_str("/ari");
    }
    Ok(base)
}

/// The default node name of a client: the `host:port` of its (normalized) base URL.
fn node_of(base_url: &str) -> String {
    reqwest::Url::parse(base_url).map_or_else(
        |_| base_url.to_owned(),
        |url| match (url.host_str(), url.port_or_known_default()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => base_url.to_owned(),
        },
    )
}

/// What replaces a secret in a URL that is shown.
const REDACTED: &str = "<redacted>";

/// A URL as the user gave it, fit to be shown in an error or `Debug` output: the user
/// information (`user:password@`), the query and the fragment (`?api_key=user:password`,
/// or any other), and any `api_key=` value elsewhere are replaced with `<redacted>`.
///
/// It works on the text, not on a parsed URL, so that a URL that does not parse (which
/// is what errors show) is redacted too; when unsure it takes out too much, never too
/// little: everything up to the last `@` after the scheme is user information.
pub(crate) fn redact_url(url: &str) -> String {
    let url = url.trim();
    // a scheme is letters, digits, `+`, `-`, `.`: a `://` in a password is no scheme
    let (scheme, rest) = match url.find("://") {
        Some(i)
            if i > 0
                && url[..i]
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b)) =>
        {
            url.split_at(i + 3)
        }
        _ => ("", url),
    };
    let mut out = String::from(scheme);
    let rest = match rest.rfind('@') {
        Some(at) => {
            out.push_str(REDACTED);
            &rest[at..]
        }
        None => rest,
    };
    let (before, query) = match rest.find(['?', '#']) {
        Some(i) => (&rest[..i], Some(&rest[i..i + 1])),
        None => (rest, None),
    };
    // `api_key=…` outside a query (a mistyped `&` for `?`): its value goes up to `&` or `;`
    let mut tail = before;
    while let Some(i) = tail.to_ascii_lowercase().find("api_key=") {
        let start = i + "api_key=".len();
        out.push_str(&tail[..start]);
        out.push_str(REDACTED);
        tail = &tail[start..];
        tail = &tail[tail.find(['&', ';']).unwrap_or(tail.len())..];
    }
    out.push_str(tail);
    if let Some(mark) = query {
        out.push_str(mark);
        out.push_str(REDACTED);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_with_or_without_ari() {
        for (input, want) in [
            ("http://127.0.0.1:8088", "http://127.0.0.1:8088/ari"),
            ("http://127.0.0.1:8088/", "http://127.0.0.1:8088/ari"),
            ("http://127.0.0.1:8088/ari", "http://127.0.0.1:8088/ari"),
            ("http://127.0.0.1:8088/ari/", "http://127.0.0.1:8088/ari"),
            (
                "https://pbx.example/asterisk/ari",
                "https://pbx.example/asterisk/ari",
            ),
            (
                "https://pbx.example/asterisk",
                "https://pbx.example/asterisk/ari",
            ),
        ] {
            assert_eq!(normalize_base(input).unwrap(), want, "{input}");
        }
        for bad in [
            "",
            "127.0.0.1:8088",
            "ftp://x/ari",
            "http://u:p@host/ari",
            "http://host/ari?x=1",
        ] {
            let e = normalize_base(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidUrl, "{bad}");
        }
    }

    #[test]
    fn a_node_is_named_by_its_host_and_port_unless_named() {
        let node = |b: ClientBuilder| b.into_config().unwrap().node.to_string();
        let at = |url| ClientBuilder::new(url, "u", "p");
        assert_eq!(node(at("http://127.0.0.1:8088")), "127.0.0.1:8088");
        assert_eq!(node(at("https://pbx.example/asterisk")), "pbx.example:443");
        assert_eq!(node(at("http://[::1]:9088/ari")), "[::1]:9088");
        assert_eq!(node(at("http://127.0.0.1:8088").node("pbx-a")), "pbx-a");
        assert_eq!(node(ClientBuilder::outbound()), "outbound");
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let p = ReconnectPolicy {
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            jitter: 0.5,
            max_attempts: None,
        };
        assert_eq!(p.base_delay(1), Duration::from_millis(100));
        assert_eq!(p.base_delay(2), Duration::from_millis(200));
        assert_eq!(p.base_delay(4), Duration::from_millis(800));
        assert_eq!(p.base_delay(5), Duration::from_secs(1));
        assert_eq!(p.base_delay(1000), Duration::from_secs(1));
        assert_eq!(p.delay(2, 0.0), Duration::from_millis(100));
        assert_eq!(p.delay(2, 1.0), Duration::from_millis(300));
        assert_eq!(p.delay(2, 0.5), Duration::from_millis(200));
    }

    #[test]
    fn debug_hides_the_password() {
        let b = ClientBuilder::new("http://h", "user", "s3cret");
        assert!(!format!("{b:?}").contains("s3cret"));
    }

    /// URLs with a password (`pw` is always `s3cret`) in every place one can be put.
    const SECRET_URLS: &[&str] = &[
        "http://user:s3cret@127.0.0.1:8088/ari",
        "http://user:s3cret@127.0.0.1:8088",
        "https://s3cret@pbx.example/ari",
        "http://user:s3cret@",
        "http://user:s3cret@host:badport/ari",
        "ftp://user:s3cret@host/ari",
        "user:s3cret@127.0.0.1:8088",
        "user:p://s3cret@127.0.0.1:8088",
        "user:p://x:s3cret@127.0.0.1:8088",
        "http://user:p/s3cret@host/ari",
        "http://user:p?s3cret@host/ari",
        "http://user:p#s3cret@host/ari",
        "http://u%3As3cret@host/ari",
        "http://127.0.0.1:8088/ari?api_key=user:s3cret",
        "http://127.0.0.1:8088/ari/?x=1&api_key=user:s3cret",
        "http://127.0.0.1:8088/ari#api_key=user:s3cret",
        "http://127.0.0.1:8088/ari&api_key=user:s3cret",
        "http://127.0.0.1:8088/ari;API_KEY=user:s3cret;x",
        "http://127.0.0.1:8088/ari?token=s3cret",
        " http://user:s3cret@127.0.0.1:8088/ari ",
    ];

    #[test]
    fn invalid_urls_never_show_credentials_or_queries() {
        for url in SECRET_URLS {
            let e = normalize_base(url).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidUrl, "{url}");
            for shown in [e.to_string(), format!("{e:?}"), e.chain()] {
                assert!(!shown.contains("s3cret"), "{url}: {shown}");
            }
        }
        let e = normalize_base("http://user:s3cret@127.0.0.1:8088/ari").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid URL: \"http://<redacted>@127.0.0.1:8088/ari\": give credentials separately, not in the URL"
        );
        let e = normalize_base("http://127.0.0.1:8088/ari?api_key=user:s3cret").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid URL: \"http://127.0.0.1:8088/ari?<redacted>\": no query or fragment allowed"
        );
    }

    #[test]
    fn builder_debug_never_shows_credentials_in_the_url() {
        for url in SECRET_URLS {
            let b = ClientBuilder::new(url, "user", "other-s3cret");
            let shown = format!("{b:?}");
            assert!(!shown.contains("s3cret"), "{shown}");
            assert!(shown.contains("<redacted>"), "{shown}");
            // nor when it fails to build
            let e = b.into_config().unwrap_err();
            assert!(!format!("{e} {e:?}").contains("s3cret"), "{e:?}");
        }
    }

    #[test]
    fn redaction_keeps_what_is_not_secret() {
        for (url, want) in [
            ("http://127.0.0.1:8088/ari", "http://127.0.0.1:8088/ari"),
            (
                "http://u:p@h:1/ari?a=1#f",
                "http://<redacted>@h:1/ari?<redacted>",
            ),
            ("h/x#frag", "h/x#<redacted>"),
            (
                "http://h/ari&api_key=u:p&x=1",
                "http://h/ari&api_key=<redacted>&x=1",
            ),
            ("", ""),
        ] {
            assert_eq!(redact_url(url), want, "{url}");
        }
    }

    #[test]
    fn the_rest_limits_reach_the_config() {
        let c = ClientBuilder::new("http://h", "u", "p")
            .into_config()
            .unwrap();
        assert_eq!(c.limits.max_response_bytes, 64 << 20);
        assert_eq!(c.limits.max_concurrent_requests, 32);
        let c = ClientBuilder::new("http://h", "u", "p")
            .max_response_bytes(1000)
            .max_concurrent_requests(0)
            .into_config()
            .unwrap();
        assert_eq!(c.limits.max_response_bytes, 1000);
        assert_eq!(c.limits.max_concurrent_requests, 1);
    }
}
