//! What the fake Asterisk holds — channels, bridges, playbacks, recordings, applications
//! and their connections — and the events it sends, in the JSON shapes Asterisk 22 gives
//! (field order included; `docs/testing.md` lists the facts and where they were measured).

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use serde_json::{json, Map, Value};
use tokio::sync::mpsc;

use super::clock::Schedule;
use super::{Ending, Outcome, RestCall};
use crate::timestamp::Timestamp;

/// The virtual clock's start: 2026-01-01T00:00:00.000 UTC, in Unix milliseconds.
const EPOCH_MILLIS: i64 = 1_767_225_600_000;

/// The fake's `asterisk_id` (an Ethernet address, as Asterisk's is).
pub(crate) const ASTERISK_ID: &str = "02:fa:4e:00:00:01";

/// One events websocket (or outbound websocket) and the applications it carries.
#[derive(Debug)]
pub(crate) struct Connection {
    pub(crate) apps: Vec<String>,
    /// Frames to write, in order; dropping it closes the websocket.
    pub(crate) frames: mpsc::UnboundedSender<Frame>,
}

/// What a connection's writer is told.
#[derive(Debug)]
pub(crate) enum Frame {
    Text(String),
    /// Close the websocket (a close frame): a per-call websocket after its call.
    Close,
    /// Drop the connection without a close frame (a crash, a network loss).
    Drop,
}

/// How a channel came to be, which decides what its application sees (measured on
/// Asterisk 22.10.1, `docs/testing.md`): a channel that entered `Stasis()` from the dialplan
/// is the application's only between `StasisStart` and `StasisEnd`; one originated with
/// `app` is subscribed from its creation until `ChannelDestroyed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    Inbound,
    Originated,
}

#[derive(Debug)]
pub(crate) struct Channel {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) state: &'static str,
    pub(crate) caller: (String, String),
    pub(crate) connected: (String, String),
    pub(crate) dialplan: (String, String, i64, String, String),
    pub(crate) creationtime: Timestamp,
    pub(crate) language: String,
    pub(crate) origin: Origin,
    /// The application it is in (between `StasisStart` and `StasisEnd`).
    pub(crate) stasis: Option<String>,
    /// The applications that get its events.
    pub(crate) subscribers: BTreeSet<String>,
    pub(crate) variables: BTreeMap<String, String>,
    /// The bridge it is in.
    pub(crate) bridge: Option<String>,
    /// Its playbacks, the one playing first.
    pub(crate) playbacks: Vec<String>,
    pub(crate) recording: Option<String>,
    /// The per-call outbound websocket that carries its application.
    pub(crate) per_call: Option<u64>,
    /// For an originated channel: the application and arguments of its `StasisStart`.
    pub(crate) pending_stasis: Option<(String, Vec<String>)>,
    pub(crate) record: ChannelRecord,
}

/// What happened to a channel, for the test's assertions.
#[derive(Debug, Clone, Default)]
pub(crate) struct ChannelRecord {
    pub(crate) played: Vec<String>,
    pub(crate) bridges: Vec<String>,
    pub(crate) dtmf_sent: String,
    pub(crate) recordings: Vec<String>,
    pub(crate) answered: bool,
    pub(crate) ending: Option<Ending>,
}

#[derive(Debug)]
pub(crate) struct Bridge {
    pub(crate) id: String,
    pub(crate) bridge_type: String,
    pub(crate) name: String,
    pub(crate) channels: Vec<String>,
    pub(crate) creationtime: Timestamp,
    pub(crate) subscribers: BTreeSet<String>,
    pub(crate) playbacks: Vec<String>,
    pub(crate) recording: Option<String>,
}

#[derive(Debug)]
pub(crate) struct Playback {
    pub(crate) id: String,
    /// The media still to play, the current one first.
    pub(crate) media: Vec<String>,
    /// Everything asked for, for `media_uri`.
    pub(crate) media_uri: String,
    pub(crate) target: Target,
    pub(crate) language: String,
    pub(crate) state: &'static str,
}

/// What a playback or recording is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    Channel(String),
    Bridge(String),
}

impl Target {
    pub(crate) fn uri(&self) -> String {
        match self {
            Target::Channel(id) => format!("channel:{id}"),
            Target::Bridge(id) => format!("bridge:{id}"),
        }
    }
}

#[derive(Debug)]
pub(crate) struct LiveRecording {
    pub(crate) name: String,
    pub(crate) format: String,
    pub(crate) target: Target,
    pub(crate) state: &'static str,
    pub(crate) started: Duration,
}

#[derive(Debug, Clone)]
pub(crate) struct StoredRecording {
    pub(crate) format: String,
    pub(crate) duration: Duration,
}

/// What a dialled endpoint does with an originated call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Callee {
    AnswerAfter(Duration),
    Busy,
    NoAnswer,
}

/// One injected fault for an operation.
#[derive(Debug, Clone)]
pub(crate) struct Fault {
    pub(crate) status: u16,
    pub(crate) times: usize,
}

/// The fake's whole state, behind one lock: every change and the events it causes happen
/// under it, so events leave in the order Asterisk would send them.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// Virtual time since [`EPOCH_MILLIS`].
    pub(crate) now: Duration,
    pub(crate) started: Duration,
    next_id: u64,
    next_name: u64,
    pub(crate) connections: HashMap<u64, Connection>,
    next_connection: u64,
    /// Registered applications → the connection that carries them.
    pub(crate) apps: BTreeMap<String, u64>,
    /// Applications on outbound websockets that Asterisk dials (`persistent`): their events
    /// of the time no websocket is connected wait here, as Asterisk queues them.
    /// (A `RefCell`: events are sent with the state borrowed for their recipients.)
    pub(crate) outbound_apps: RefCell<BTreeMap<String, Vec<String>>>,
    /// Applications whose calls each get an outbound websocket (`per_call_config`).
    pub(crate) per_call_apps: BTreeMap<String, super::outbound::Target>,
    /// Applications' subscriptions to endpoints and device states (channel and bridge
    /// subscriptions are kept on the objects).
    pub(crate) app_sources: BTreeMap<String, BTreeSet<String>>,
    pub(crate) channels: HashMap<String, Channel>,
    /// The channels the applications originated, in order.
    pub(crate) originated: Vec<String>,
    /// Channels that are gone, kept for the test's assertions.
    pub(crate) gone: HashMap<String, ChannelRecord>,
    pub(crate) bridges: BTreeMap<String, Bridge>,
    pub(crate) playbacks: HashMap<String, Playback>,
    pub(crate) live_recordings: BTreeMap<String, LiveRecording>,
    pub(crate) stored_recordings: BTreeMap<String, StoredRecording>,
    pub(crate) global_variables: BTreeMap<String, String>,
    pub(crate) callees: HashMap<String, Callee>,
    pub(crate) media_durations: HashMap<String, Option<Duration>>,
    pub(crate) faults: HashMap<&'static str, Fault>,
    pub(crate) delays: HashMap<&'static str, Duration>,
    pub(crate) requests: Vec<RestCall>,
    pub(crate) schedule: Schedule,
    /// While `true`, connections are refused (the fake was killed).
    pub(crate) down: bool,
}

impl State {
    pub(crate) fn timestamp(&self) -> Timestamp {
        let millis = EPOCH_MILLIS + i64::try_from(self.now.as_millis()).unwrap_or(i64::MAX / 2);
        Timestamp::from_unix_millis(millis, 0).expect("the virtual clock stays in range")
    }

    /// A new unique id in Asterisk's shape (`<unix seconds>.<n>`).
    pub(crate) fn new_id(&mut self) -> String {
        self.next_id += 1;
        let secs = EPOCH_MILLIS / 1000 + i64::try_from(self.now.as_secs()).unwrap_or(0);
        format!("{secs}.{}", self.next_id)
    }

    /// The next channel name suffix (`-00000001`).
    pub(crate) fn new_name(&mut self, base: &str) -> String {
        self.next_name += 1;
        format!("{base}-{:08x}", self.next_name)
    }

    /// A websocket carrying `apps`: `outbound` when the fake dialled it (Asterisk's outbound
    /// websockets begin with `ApplicationRegistered`), its id.
    pub(crate) fn add_connection(
        &mut self,
        apps: Vec<String>,
        frames: mpsc::UnboundedSender<Frame>,
        outbound: bool,
    ) -> u64 {
        self.next_connection += 1;
        let id = self.next_connection;
        for app in &apps {
            // another connection had it: Asterisk tells that one it was replaced
            if let Some(old) = self.apps.insert(app.clone(), id) {
                if old != id {
                    let event = self.envelope("ApplicationReplaced", Map::new(), app);
                    if let Some(c) = self.connections.get(&old) {
                        let _ = c.frames.send(Frame::Text(event));
                    }
                }
            }
        }
        // an outbound websocket begins with `ApplicationRegistered` for each application,
        // then what was queued while none was connected
        if outbound {
            for app in &apps {
                let registered = self.envelope("ApplicationRegistered", Map::new(), app);
                let _ = frames.send(Frame::Text(registered));
                let queued = self
                    .outbound_apps
                    .get_mut()
                    .get_mut(app)
                    .map(std::mem::take);
                for queued in queued.unwrap_or_default() {
                    let _ = frames.send(Frame::Text(queued));
                }
            }
        }
        self.connections.insert(id, Connection { apps, frames });
        id
    }

    pub(crate) fn remove_connection(&mut self, id: u64) {
        if let Some(c) = self.connections.remove(&id) {
            for app in c.apps {
                if self.apps.get(&app) == Some(&id) {
                    self.apps.remove(&app);
                }
            }
        }
    }

    /// Drops every connection without a close frame.
    pub(crate) fn drop_connections(&mut self) {
        for (_, c) in self.connections.drain() {
            let _ = c.frames.send(Frame::Drop);
        }
        self.apps.clear();
    }

    /// An event's JSON for one application: `type`, `timestamp`, the members, then
    /// `asterisk_id` and `application`, as Asterisk orders them.
    fn envelope(&self, kind: &str, members: Map<String, Value>, app: &str) -> String {
        let mut event = Map::new();
        event.insert("type".into(), kind.into());
        event.insert("timestamp".into(), self.timestamp().to_string().into());
        event.extend(members);
        event.insert("asterisk_id".into(), ASTERISK_ID.into());
        event.insert("application".into(), app.into());
        Value::Object(event).to_string()
    }

    /// Sends an event to each of `apps` that is connected (an application that is not
    /// connected misses it, as with Asterisk).
    pub(crate) fn emit<'a>(
        &self,
        kind: &str,
        members: Map<String, Value>,
        apps: impl IntoIterator<Item = &'a String>,
    ) {
        for app in apps {
            let Some(conn) = self.apps.get(app).and_then(|c| self.connections.get(c)) else {
                continue;
            };
            let _ = conn
                .frames
                .send(Frame::Text(self.envelope(kind, members.clone(), app)));
        }
    }

    /// Sends a channel event (`channel` last, as Asterisk orders it) to the channel's
    /// subscribers.
    pub(crate) fn emit_channel(&self, kind: &str, id: &str, mut members: Map<String, Value>) {
        let Some(ch) = self.channels.get(id) else {
            return;
        };
        members.insert("channel".into(), self.channel_json(ch));
        self.emit(kind, members, &ch.subscribers);
    }

    pub(crate) fn channel_json(&self, ch: &Channel) -> Value {
        let (context, exten, priority, app_name, app_data) = &ch.dialplan;
        // no `channelvars`: Asterisk gives it only for the variables ari.conf names
        json!({
            "id": ch.id,
            "name": ch.name,
            "state": ch.state,
            "protocol_id": "",
            "caller": {"name": ch.caller.0, "number": ch.caller.1},
            "connected": {"name": ch.connected.0, "number": ch.connected.1},
            "accountcode": "",
            "dialplan": {"context": context, "exten": exten, "priority": priority, "app_name": app_name, "app_data": app_data},
            "creationtime": ch.creationtime.to_string(),
            "language": ch.language,
        })
    }

    pub(crate) fn bridge_json(&self, b: &Bridge) -> Value {
        json!({
            "id": b.id,
            "technology": "simple_bridge",
            "bridge_type": b.bridge_type,
            "bridge_class": "stasis",
            "creator": "Stasis",
            "name": b.name,
            "channels": b.channels,
            "creationtime": b.creationtime.to_string(),
            "video_mode": "talker",
        })
    }

    pub(crate) fn playback_json(p: &Playback) -> Value {
        let mut v = json!({
            "id": p.id,
            "media_uri": p.media_uri,
            "target_uri": p.target.uri(),
            "language": p.language,
            "state": p.state,
        });
        if p.state == "playing" && p.media.len() > 1 {
            v["next_media_uri"] = p.media[1].clone().into();
        }
        v
    }

    pub(crate) fn live_recording_json(&self, r: &LiveRecording) -> Value {
        let mut v = json!({
            "name": r.name,
            "format": r.format,
            "state": r.state,
            "target_uri": r.target.uri(),
        });
        if r.state == "done" {
            v["duration"] = (self.now.saturating_sub(r.started).as_secs()).into();
        }
        v
    }

    /// The applications that get the events of a playback or recording on `target`.
    pub(crate) fn target_subscribers(&self, target: &Target) -> BTreeSet<String> {
        match target {
            Target::Channel(id) => self
                .channels
                .get(id)
                .map(|c| c.subscribers.clone())
                .unwrap_or_default(),
            Target::Bridge(id) => self.bridge_subscribers(id),
        }
    }

    /// A bridge's subscribers and those of the channels in it.
    pub(crate) fn bridge_subscribers(&self, id: &str) -> BTreeSet<String> {
        let Some(b) = self.bridges.get(id) else {
            return BTreeSet::new();
        };
        let mut apps = b.subscribers.clone();
        for c in &b.channels {
            if let Some(ch) = self.channels.get(c) {
                apps.extend(ch.subscribers.iter().cloned());
            }
        }
        apps
    }

    /// The record of a channel, live or gone.
    pub(crate) fn channel_record(&self, id: &str) -> Option<&ChannelRecord> {
        self.channels
            .get(id)
            .map(|c| &c.record)
            .or_else(|| self.gone.get(id))
    }

    /// Counts a REST request for the test.
    pub(crate) fn note_request(&mut self, call: RestCall) {
        self.requests.push(call);
    }

    /// Records how a channel left the application, once.
    pub(crate) fn set_ending(&mut self, id: &str, ending: Ending) {
        if let Some(ch) = self.channels.get_mut(id) {
            ch.record.ending.get_or_insert(ending);
        }
    }

    /// `Outcome` of a channel for the public API.
    pub(crate) fn outcome(&self, id: &str) -> Option<Outcome> {
        let record = self.channel_record(id)?.clone();
        let ch = self.channels.get(id);
        Some(Outcome {
            state: ch.map(|c| c.state.to_owned()),
            variables: ch.map(|c| c.variables.clone()).unwrap_or_default(),
            bridge: ch.and_then(|c| c.bridge.clone()),
            in_stasis: ch.is_some_and(|c| c.stasis.is_some()),
            record,
        })
    }
}
