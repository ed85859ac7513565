//! A fake Asterisk for your application's tests: `cargo test` in milliseconds, no
//! Asterisk installed (the `testing` feature).
//!
//! [`FakeAsterisk::start`] serves ARI on 127.0.0.1 (a free port): REST under `/ari` with
//! Basic auth, the events websocket, and REST over that websocket. A [`Client`] connects
//! to it as to Asterisk, and the fake behaves as Asterisk 22 does for the life of a call:
//! calls entering the application, answer, playbacks that end after their media's
//! duration, DTMF from the caller, hangups from either side, originate (answered, busy or
//! unanswered as the test says), bridges, recordings, channel variables, subscriptions.
//! Every other operation answers a body valid for the specs this crate was generated from,
//! or the 404 Asterisk gives for an object that does not exist. The events, their order and
//! their JSON are Asterisk 22.10.1's as measured; the differential suite of this crate
//! (`tests/live_fake_differential.rs`) runs the same call flows against the fake and a real
//! Asterisk and compares them.
//!
//! Time is virtual ([`Time`]): a 3-second prompt ends as soon as your application has done
//! what it does when the prompt starts, or when the test says ([`FakeAsterisk::advance`]).
//!
//! ```
//! use ari_client::events::StasisStart;
//! use ari_client::objects::Channel;
//! use ari_client::testing::{Ending, FakeAsterisk};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> ari_client::Result<()> {
//! let fake = FakeAsterisk::start().await?;
//! let client = fake.client().await?;
//! // the application under test
//! client.on_channel_event(|channel: Channel, _: StasisStart| async move {
//!     channel.answer().await?;
//!     channel.play("sound:hello-world").await?.finished().await?;
//!     channel.hangup().await
//! });
//! client.start(["hello"]).await?;
//!
//! let call = fake.call_in("7000").caller("1001").app("hello").await?;
//! assert_eq!(call.ended().await, Ending::HungUpByApp { cause: 16 });
//! assert_eq!(call.played(), ["sound:hello-world"]);
//! assert!(call.answered());
//! # Ok(())
//! # }
//! ```
#![doc = include_str!("guide.md")]

mod clock;
mod model;
mod ops;
mod outbound;
mod server;
mod spec;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};

use crate::api::OperationId;
use crate::error::{Error, ErrorKind, Result};
use crate::timestamp::Timestamp;
use crate::Client;
use clock::{Action, Activity};
use model::{Callee, ChannelRecord, Fault, State};

/// The Asterisk version the fake answers with (`asterisk/info`, the `Server` header): the
/// one its behaviour was measured on.
pub const ASTERISK_VERSION: &str = "22.10.1";

/// How the fake's clock moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Time {
    /// As soon as the fake is quiet (no request being answered, no traffic for a few
    /// milliseconds), the clock jumps to the next thing due: a prompt ends, a callee
    /// answers, the caller's next digit comes. Flows run as fast as the application reacts.
    #[default]
    Auto,
    /// Only [`FakeAsterisk::advance`] moves the clock: for tests that place an event at an
    /// exact point (a digit pressed during the prompt, a hangup before the callee answers).
    /// What is due at the current time still happens by itself.
    Manual,
}

/// How a channel left the application, as the fake saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Ending {
    /// The application hung it up (`DELETE /channels/{id}`), with this cause (16: normal).
    HungUpByApp {
        /// The Q.850 cause of its `reason_code` or `reason`.
        cause: u16,
    },
    /// The caller (or, for an originated channel, the callee) hung up.
    HungUpByCaller,
    /// The application sent it back to the dialplan.
    Continued {
        /// `context`, empty when not given.
        context: String,
        /// `extension`, empty when not given.
        extension: String,
        /// `priority` (1 when not given).
        priority: i64,
    },
    /// An originated channel: the callee was busy.
    Busy,
    /// An originated channel: the callee did not answer within the timeout.
    NoAnswer,
    /// The fake was killed ([`FakeAsterisk::kill`]) with the channel up.
    Lost,
}

/// A REST request the fake answered, in the order they came.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RestCall {
    /// The operation, `None` for a path that is none (the fake answered 404).
    pub operation: Option<OperationId>,
    /// `GET`, `POST`, `PUT`, `DELETE`.
    pub method: String,
    /// Under `/ari`, as sent (`/channels/1767225600.1/play`).
    pub path: String,
    /// The query parameters, decoded, in order.
    pub query: Vec<(String, String)>,
    /// The status it answered.
    pub status: u16,
}

impl RestCall {
    /// The value of query parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A channel's state for the public API (see [`FakeChannel`]).
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub(crate) state: Option<String>,
    pub(crate) variables: BTreeMap<String, String>,
    pub(crate) bridge: Option<String>,
    pub(crate) in_stasis: bool,
    pub(crate) record: ChannelRecord,
}

/// What the fake's tasks share.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
    activity: Activity,
    /// Bumped after every change: what [`FakeChannel::ended`] and the others wait on.
    generation: watch::Sender<u64>,
    /// Wakes the clock.
    kick: Notify,
    answers: spec::Answers,
    user: String,
    password: String,
    time: Time,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // a panic under the lock leaves a state that is still consistent enough to answer
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Something changed: waiters look again, the clock may have something new to do.
    fn changed(&self) {
        self.generation.send_modify(|g| *g += 1);
        self.kick.notify_one();
    }

    /// Waits until `ready` gives a value, looking again after each change.
    async fn until<T>(&self, mut ready: impl FnMut(&State) -> Option<T>) -> T {
        let mut changes = self.generation.subscribe();
        loop {
            if let Some(v) = ready(&self.lock()) {
                return v;
            }
            // the sender lives as long as `self`
            let _ = changes.changed().await;
        }
    }

    /// Runs what is due at or before `limit` (or at any time, `None`), one thing at a time,
    /// each once the fake is quiet; returns when nothing more is due by then.
    async fn run_due(&self, limit: Option<Duration>) {
        loop {
            self.activity.quiet().await;
            let ran = {
                let mut st = self.lock();
                let now = st.now;
                match st.schedule.first() {
                    Some(at) if at <= now || limit.is_none_or(|l| at <= l) => {
                        let (at, action) = st.schedule.pop().expect("first() gave one");
                        st.now = st.now.max(at);
                        ops::run(&mut st, action);
                        true
                    }
                    _ => {
                        if let Some(limit) = limit {
                            st.now = st.now.max(limit);
                        }
                        false
                    }
                }
            };
            if !ran {
                return;
            }
            self.activity.touch();
            self.changed();
        }
    }
}

/// The clock's task: runs what is due (and, with [`Time::Auto`], jumps to it) whenever
/// the fake is quiet.
/// It ends when the fake drops (which aborts it).
async fn clock(shared: Arc<Shared>) {
    loop {
        let kicked = shared.kick.notified();
        let limit = match shared.time {
            Time::Auto => None,
            Time::Manual => Some(shared.lock().now),
        };
        shared.run_due(limit).await;
        kicked.await;
    }
}

/// Settings of a [`FakeAsterisk`], from [`FakeAsterisk::builder`].
#[derive(Debug, Clone)]
pub struct FakeBuilder {
    user: String,
    password: String,
    time: Time,
}

impl FakeBuilder {
    /// The ARI user and password it accepts (default `asterisk`, `asterisk`).
    pub fn credentials(mut self, user: &str, password: &str) -> Self {
        user.clone_into(&mut self.user);
        password.clone_into(&mut self.password);
        self
    }

    /// How its clock moves (default [`Time::Auto`]).
    pub fn time(mut self, time: Time) -> Self {
        self.time = time;
        self
    }

    /// Starts it on 127.0.0.1, on a port the system picks.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Connect`] when no port can be bound.
    pub async fn start(self) -> Result<FakeAsterisk> {
        let listener = TcpListener::bind("127.0.0.1:0").await.map_err(|e| {
            Error::new(ErrorKind::Connect)
                .with_message(format!("the fake Asterisk cannot bind 127.0.0.1: {e}"))
        })?;
        let port = listener
            .local_addr()
            .map_err(|e| Error::new(ErrorKind::Connect).with_message(e.to_string()))?
            .port();
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            activity: Activity::default(),
            generation: watch::channel(0).0,
            kick: Notify::new(),
            answers: spec::Answers::load(),
            user: self.user,
            password: self.password,
            time: self.time,
        });
        let server = tokio::spawn(server::serve(listener, Arc::downgrade(&shared)));
        let clock = tokio::spawn(clock(shared.clone()));
        Ok(FakeAsterisk {
            shared,
            url: format!("http://127.0.0.1:{port}"),
            tasks: Mutex::new(vec![server, clock]),
        })
    }
}

/// A fake Asterisk on 127.0.0.1 (see the [module](self)). Dropping it stops it.
#[derive(Debug)]
pub struct FakeAsterisk {
    shared: Arc<Shared>,
    url: String,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Drop for FakeAsterisk {
    fn drop(&mut self) {
        for t in self.tasks.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            t.abort();
        }
        self.shared.lock().drop_connections();
    }
}

impl FakeAsterisk {
    /// Starts a fake with the default settings: user `asterisk`, password `asterisk`,
    /// [`Time::Auto`].
    ///
    /// # Errors
    ///
    /// See [`FakeBuilder::start`].
    pub async fn start() -> Result<FakeAsterisk> {
        Self::builder().start().await
    }

    /// Settings for a fake.
    pub fn builder() -> FakeBuilder {
        FakeBuilder {
            user: "asterisk".into(),
            password: "asterisk".into(),
            time: Time::Auto,
        }
    }

    /// Its URL, `http://127.0.0.1:PORT`, for [`Client::connect`] or [`Client::builder`].
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The user and password it accepts.
    pub fn credentials(&self) -> (&str, &str) {
        (&self.shared.user, &self.shared.password)
    }

    /// A client connected to it ([`Client::connect`] with its URL and credentials).
    ///
    /// # Errors
    ///
    /// As [`Client::connect`].
    pub async fn client(&self) -> Result<Client> {
        Client::connect(&self.url, &self.shared.user, &self.shared.password).await
    }

    /// Asterisk dials the application (`connection_type = persistent`): a websocket to
    /// `url` (`ws://127.0.0.1:PORT/`, e.g. an [`outbound::Listener`](crate::outbound::Listener)'s)
    /// with these credentials carries `apps`. It begins with `ApplicationRegistered` for each,
    /// and is dialled again 500 ms after each loss; the applications' events of the meantime
    /// wait for it, as Asterisk queues them.
    pub fn dial_outbound(&self, url: &str, user: &str, password: &str, apps: &[&str]) {
        let apps: Vec<String> = apps.iter().map(|a| (*a).to_owned()).collect();
        {
            let mut st = self.shared.lock();
            for app in &apps {
                st.outbound_apps.get_mut().entry(app.clone()).or_default();
            }
        }
        let target = outbound::Target::new(url, user, password);
        let task = tokio::spawn(outbound::persistent(
            Arc::downgrade(&self.shared),
            target,
            apps,
        ));
        self.tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(task);
    }

    /// Asterisk opens a websocket per call of `app` (`connection_type = per_call_config`):
    /// each [`call_in`](Self::call_in) for `app` dials `url` with these credentials, and the
    /// call enters the application `<app>:<channel name>` registered on it; the websocket
    /// is closed 3 s (virtual time) after the call's `StasisEnd`.
    pub fn dial_per_call(&self, url: &str, user: &str, password: &str, app: &str) {
        self.shared
            .lock()
            .per_call_apps
            .insert(app.to_owned(), outbound::Target::new(url, user, password));
    }

    /// A call entering the application from the dialplan (`Stasis(app,args)` at
    /// extension `exten`): set the caller, the application and its arguments, then
    /// `.await` it. It resolves once the application's `StasisStart` was sent.
    pub fn call_in(&self, exten: &str) -> CallIn {
        CallIn {
            shared: self.shared.clone(),
            exten: exten.to_owned(),
            caller: (String::new(), String::new()),
            app: None,
            args: Vec::new(),
        }
    }

    /// Says what the callee at `endpoint` (`PJSIP/alice`, exactly as originated) does
    /// when the application originates a call to it (default: answers at once).
    pub fn endpoint(&self, endpoint: &str) -> EndpointScript {
        EndpointScript {
            shared: self.shared.clone(),
            endpoint: endpoint.to_owned(),
        }
    }

    /// Sets how long `media` (`sound:hello-world`, `digits:123`, …) plays; `None`: until
    /// stopped. Defaults: 1 s for sounds, 0.5 s per character of `digits:`/`characters:`,
    /// a stored recording's duration, until stopped for `tone:`.
    pub fn set_media_duration(&self, media: &str, duration: Option<Duration>) {
        self.shared
            .lock()
            .media_durations
            .insert(media.to_owned(), duration);
    }

    /// Stores a recording, as if recorded earlier (for `recording:` playbacks and
    /// `recordings.getStored`).
    pub fn store_recording(&self, name: &str, format: &str, duration: Duration) {
        self.shared.lock().stored_recordings.insert(
            name.to_owned(),
            model::StoredRecording {
                format: format.to_owned(),
                duration,
            },
        );
    }

    /// The names of the stored recordings.
    pub fn stored_recordings(&self) -> Vec<String> {
        self.shared
            .lock()
            .stored_recordings
            .keys()
            .cloned()
            .collect()
    }

    /// The virtual time (it starts at 2026-01-01T00:00:00Z): the events' timestamps.
    pub fn now(&self) -> Timestamp {
        self.shared.lock().timestamp()
    }

    /// Moves the virtual clock `by`, running what falls due one thing at a time, each once
    /// the application has reacted to the one before (the fake is quiet).
    pub async fn advance(&self, by: Duration) {
        let limit = self.shared.lock().now + by;
        self.shared.run_due(Some(limit)).await;
        self.shared.changed();
    }

    /// Waits until the fake is quiet and nothing is due now: the application has reacted
    /// to everything so far.
    pub async fn settle(&self) {
        let now = self.shared.lock().now;
        self.shared.run_due(Some(now)).await;
    }

    /// Every REST request it answered, in order.
    pub fn requests(&self) -> Vec<RestCall> {
        self.shared.lock().requests.clone()
    }

    /// The requests for one operation, in order.
    pub fn requests_for(&self, operation: OperationId) -> Vec<RestCall> {
        self.requests()
            .into_iter()
            .filter(|r| r.operation == Some(operation))
            .collect()
    }

    /// A channel by id (live or gone), e.g. one the application originated.
    pub fn channel(&self, id: &str) -> Option<FakeChannel> {
        let known = self.shared.lock().channel_record(id).is_some();
        known.then(|| FakeChannel {
            shared: self.shared.clone(),
            id: id.to_owned(),
        })
    }

    /// Waits for the next channel the application originates (after `seen` of them) and
    /// gives it.
    pub async fn originated(&self, seen: usize) -> FakeChannel {
        let id = self
            .shared
            .until(|st| st.originated.get(seen).cloned())
            .await;
        FakeChannel {
            shared: self.shared.clone(),
            id,
        }
    }

    /// The ids of the bridges that exist, with the channels in each.
    pub fn bridges(&self) -> BTreeMap<String, Vec<String>> {
        self.shared
            .lock()
            .bridges
            .values()
            .map(|b| (b.id.clone(), b.channels.clone()))
            .collect()
    }

    /// The applications connected.
    pub fn apps(&self) -> Vec<String> {
        self.shared.lock().apps.keys().cloned().collect()
    }

    /// Waits until application `app` is connected.
    pub async fn app_connected(&self, app: &str) {
        self.shared
            .until(|st| st.apps.contains_key(app).then_some(()))
            .await;
    }

    /// Fault: drops every events websocket without a close frame, as a network loss does;
    /// the calls go on, and clients reconnect.
    pub fn drop_websockets(&self) {
        self.shared.lock().drop_connections();
        self.shared.changed();
    }

    /// Fault: Asterisk dies (SIGKILL): every connection drops, new ones are refused until
    /// [`revive`](Self::revive), and every call, bridge, playback and live recording is
    /// gone without an event (stored recordings stay, as files do).
    pub fn kill(&self) {
        let mut st = self.shared.lock();
        st.down = true;
        st.drop_connections();
        let ids: Vec<String> = st.channels.keys().cloned().collect();
        for id in ids {
            if let Some(mut ch) = st.channels.remove(&id) {
                ch.record.ending.get_or_insert(Ending::Lost);
                st.gone.insert(id, ch.record);
            }
        }
        st.bridges.clear();
        st.playbacks.clear();
        st.live_recordings.clear();
        st.schedule.clear();
        // what waited for an outbound websocket died with the process; the configuration
        // (which applications dial out) is kept, as in `ari.conf`
        for queued in st.outbound_apps.get_mut().values_mut() {
            queued.clear();
        }
        drop(st);
        self.shared.changed();
    }

    /// Asterisk is back after [`kill`](Self::kill): connections are accepted again.
    pub fn revive(&self) {
        let mut st = self.shared.lock();
        st.down = false;
        st.started = st.now;
        drop(st);
        self.shared.changed();
    }

    /// Fault: the next `times` requests for `operation` answer `status` (with a JSON
    /// `message`), without doing anything.
    pub fn fail(&self, operation: OperationId, status: u16, times: usize) {
        self.shared
            .lock()
            .faults
            .insert(operation.name(), Fault { status, times });
    }

    /// Fault: every request for `operation` is answered after `delay` (wall-clock time;
    /// `Duration::ZERO` removes it).
    pub fn delay(&self, operation: OperationId, delay: Duration) {
        let mut st = self.shared.lock();
        if delay.is_zero() {
            st.delays.remove(operation.name());
        } else {
            st.delays.insert(operation.name(), delay);
        }
    }

    /// Fault: every request for the API's declarations (`/ari/api-docs/…`, which a client
    /// reads at connect) is answered after `delay` (`Duration::ZERO` removes it).
    pub fn delay_api_docs(&self, delay: Duration) {
        let mut st = self.shared.lock();
        if delay.is_zero() {
            st.delays.remove(server::API_DOCS);
        } else {
            st.delays.insert(server::API_DOCS, delay);
        }
    }
}

/// A call entering the application: from [`FakeAsterisk::call_in`]; `.await` it.
#[derive(Debug)]
#[must_use = "a call enters the application when awaited"]
pub struct CallIn {
    shared: Arc<Shared>,
    exten: String,
    caller: (String, String),
    app: Option<String>,
    args: Vec<String>,
}

impl CallIn {
    /// The caller's number (default empty).
    pub fn caller(mut self, number: &str) -> Self {
        number.clone_into(&mut self.caller.1);
        self
    }

    /// The caller's name (default empty).
    pub fn caller_name(mut self, name: &str) -> Self {
        name.clone_into(&mut self.caller.0);
        self
    }

    /// The application it enters (default: the one connected; there must be exactly one).
    pub fn app(mut self, app: &str) -> Self {
        self.app = Some(app.to_owned());
        self
    }

    /// The arguments of `Stasis(app,args…)`, the `StasisStart`'s `args`.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args = args.into_iter().map(Into::into).collect();
        self
    }

    async fn enter(self) -> Result<FakeChannel> {
        let per_call = self
            .app
            .as_ref()
            .and_then(|app| self.shared.lock().per_call_apps.get(app).cloned());
        if let (Some(target), Some(app)) = (per_call, self.app.clone()) {
            // Asterisk opens the call's websocket first; the call enters once it is open
            let ws = outbound::dial(&target).await.map_err(|e| {
                Error::new(ErrorKind::Connect)
                    .with_message(format!("the fake's per-call websocket: {e}"))
            })?;
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            let (id, conn) = ops::call_in(
                &mut self.shared.lock(),
                &app,
                &self.exten,
                self.caller.clone(),
                self.args.clone(),
                Some(tx.clone()),
            );
            let (shared, conn) = (self.shared.clone(), conn.expect("registered"));
            tokio::spawn(async move {
                server::carry_registered(&shared, ws, conn, tx, rx).await;
            });
            return Ok(self.entered(id));
        }
        let wait = self.shared.until(|st| match &self.app {
            Some(app) => st.apps.contains_key(app).then(|| app.clone()),
            None if st.apps.len() == 1 => st.apps.keys().next().cloned(),
            None => None,
        });
        // the wall clock: the application connects in real time
        let app = tokio::time::timeout(Duration::from_secs(10), wait)
            .await
            .map_err(|_| {
                Error::new(ErrorKind::Timeout).with_message(format!(
                    "no application {} connected to the fake Asterisk within 10 s",
                    self.app
                        .as_deref()
                        .map_or("(exactly one)".to_owned(), |a| format!("{a:?}"))
                ))
            })?;
        let (id, _) = ops::call_in(
            &mut self.shared.lock(),
            &app,
            &self.exten,
            self.caller.clone(),
            self.args.clone(),
            None,
        );
        Ok(self.entered(id))
    }

    fn entered(self, id: String) -> FakeChannel {
        self.shared.activity.touch();
        self.shared.changed();
        FakeChannel {
            shared: self.shared,
            id,
        }
    }
}

impl IntoFuture for CallIn {
    type Output = Result<FakeChannel>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<FakeChannel>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.enter())
    }
}

/// What a callee does with an originated call: from [`FakeAsterisk::endpoint`].
#[derive(Debug)]
pub struct EndpointScript {
    shared: Arc<Shared>,
    endpoint: String,
}

impl EndpointScript {
    fn set(self, callee: Callee) {
        self.shared.lock().callees.insert(self.endpoint, callee);
    }

    /// It answers at once (the default).
    pub fn answers(self) {
        self.set(Callee::AnswerAfter(Duration::ZERO));
    }

    /// It answers after ringing `after` (virtual time).
    pub fn answers_after(self, after: Duration) {
        self.set(Callee::AnswerAfter(after));
    }

    /// It is busy: cause 17, the channel is destroyed without entering the application.
    pub fn busy(self) {
        self.set(Callee::Busy);
    }

    /// It rings until the originate's `timeout` (default 30 s): cause 19.
    pub fn no_answer(self) {
        self.set(Callee::NoAnswer);
    }
}

/// A channel of the fake, as the test sees it: what the caller does, and what happened.
#[derive(Debug, Clone)]
pub struct FakeChannel {
    shared: Arc<Shared>,
    id: String,
}

impl FakeChannel {
    /// Its id.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn outcome(&self) -> Outcome {
        self.shared.lock().outcome(&self.id).unwrap_or(Outcome {
            state: None,
            variables: BTreeMap::new(),
            bridge: None,
            in_stasis: false,
            record: ChannelRecord::default(),
        })
    }

    /// The caller presses `digits` (`0-9`, `*`, `#`, `A-D`): one `ChannelDtmfReceived` per
    /// digit, each at the end of its 100 ms tone, 100 ms apart (virtual time).
    pub fn press(&self, digits: &str) {
        let mut st = self.shared.lock();
        let mut at = st.now;
        for digit in digits.chars() {
            at += Duration::from_millis(100);
            st.schedule
                .at(at, Action::Dtmf(self.id.clone(), digit, 100));
            at += Duration::from_millis(100);
        }
        drop(st);
        self.shared.changed();
    }

    /// The caller hangs up now: `ChannelHangupRequest`, `StasisEnd` (and, for an originated
    /// channel, `ChannelDestroyed`).
    pub fn hangup(&self) {
        self.hangup_after(Duration::ZERO);
    }

    /// The caller hangs up `after` this much virtual time.
    pub fn hangup_after(&self, after: Duration) {
        let mut st = self.shared.lock();
        let at = st.now + after;
        st.schedule.at(at, Action::Hangup(self.id.clone()));
        drop(st);
        self.shared.changed();
    }

    /// Its state (`Ring`, `Up`, `Down`); `None` once it is gone.
    pub fn state(&self) -> Option<String> {
        self.outcome().state
    }

    /// Whether it was answered.
    pub fn answered(&self) -> bool {
        self.outcome().record.answered
    }

    /// Whether it is in an application now.
    pub fn in_stasis(&self) -> bool {
        self.outcome().in_stasis
    }

    /// The media played to it, in order (each of a playback's list; a bridge's playbacks
    /// count for the channels in it): `["sound:hello-world", "digits:1"]`.
    pub fn played(&self) -> Vec<String> {
        self.outcome().record.played
    }

    /// The bridges it joined, in order.
    pub fn bridges(&self) -> Vec<String> {
        self.outcome().record.bridges
    }

    /// The bridge it is in now.
    pub fn bridge(&self) -> Option<String> {
        self.outcome().bridge
    }

    /// The DTMF digits the application sent to it.
    pub fn dtmf_sent(&self) -> String {
        self.outcome().record.dtmf_sent
    }

    /// The names of the recordings made of it.
    pub fn recordings(&self) -> Vec<String> {
        self.outcome().record.recordings
    }

    /// Its channel variables (set by the originate or `setChannelVar`).
    pub fn variables(&self) -> BTreeMap<String, String> {
        self.outcome().variables
    }

    /// How it left the application, if it did.
    pub fn ending(&self) -> Option<Ending> {
        self.outcome().record.ending
    }

    /// Waits until it leaves the application (or, not having entered it, ends) and says
    /// how. It waits as long as that takes: wrap it in `tokio::time::timeout` to bound it.
    pub async fn ended(&self) -> Ending {
        self.shared
            .until(|st| st.channel_record(&self.id).and_then(|r| r.ending.clone()))
            .await
    }

    /// Waits until something has been played to it `count` times in all (a started
    /// playback's media), e.g. to press a digit during the second prompt.
    pub async fn wait_played(&self, count: usize) {
        self.shared
            .until(|st| {
                st.channel_record(&self.id)
                    .is_some_and(|r| r.played.len() >= count)
                    .then_some(())
            })
            .await;
    }
}
