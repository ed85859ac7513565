//! The REST operations the fake behaves for, and what is due when (the schedule's
//! actions): each changes the [`State`] and sends the events Asterisk 22 sends, in its order.
//! Every other operation answers a body valid for its spec (`spec::Answers`), or 404 when
//! the object its path names does not exist.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use serde_json::{json, Map, Value};

use super::clock::Action;
use tokio::sync::mpsc;

use super::model::{
    Bridge, Callee, Channel, ChannelRecord, Frame, LiveRecording, Origin, Playback, State,
    StoredRecording, Target, ASTERISK_ID,
};
use super::spec::{Answers, Route};
use super::Ending;
use crate::api::OperationId;

/// A REST answer.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    /// JSON, or nothing (204).
    pub(crate) body: Option<String>,
}

impl Reply {
    fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            body: Some(body.to_string()),
        }
    }

    fn ok(body: Value) -> Self {
        Self::json(200, body)
    }

    fn none() -> Self {
        Self {
            status: 204,
            body: None,
        }
    }

    pub(crate) fn error(status: u16, message: &str) -> Self {
        Self::json(status, json!({ "message": message }))
    }
}

/// A request's parameters: path, query and JSON body members, by wire name.
#[derive(Debug, Default)]
pub(crate) struct Params {
    pub(crate) values: HashMap<String, String>,
    pub(crate) variables: Map<String, Value>,
}

impl Params {
    pub(crate) fn new(route: &Route, query: &[(String, String)], body: Option<&str>) -> Self {
        let mut p = Params::default();
        for (k, v) in &route.path {
            p.values.insert((*k).to_owned(), v.clone());
        }
        for (k, v) in query {
            p.values.insert(k.clone(), v.clone());
        }
        if let Some(Value::Object(members)) = body.and_then(|b| serde_json::from_str(b).ok()) {
            for (k, v) in members {
                match (k.as_str(), v) {
                    ("variables", Value::Object(vars)) => p.variables = vars,
                    (_, Value::String(s)) => {
                        p.values.insert(k, s);
                    }
                    (_, other) => {
                        p.values.insert(k, other.to_string());
                    }
                }
            }
        }
        p
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn list(&self, name: &str) -> Vec<String> {
        self.get(name)
            .map(|v| {
                v.split(',')
                    .map(str::to_owned)
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Answers one request.
pub(crate) fn handle(st: &mut State, answers: &Answers, op: OperationId, p: &Params) -> Reply {
    use OperationId as O;
    let result = match op {
        O::AsteriskGetInfo => Ok(info(st)),
        O::AsteriskPing => Ok(Reply::ok(json!({
            "asterisk_id": ASTERISK_ID, "ping": "pong", "timestamp": st.timestamp().to_string()
        }))),
        O::AsteriskListModules => Ok(Reply::ok(Value::Array(
            MODULES.iter().map(|m| module_json(m)).collect(),
        ))),
        O::AsteriskGetModule => {
            let name = p.get("moduleName").unwrap_or_default();
            match MODULES.iter().find(|m| **m == name) {
                Some(m) => Ok(Reply::ok(module_json(m))),
                None => Err(Reply::error(
                    404,
                    "Module could not be found in running modules",
                )),
            }
        }
        O::AsteriskGetGlobalVar => global_var(st, p),
        O::AsteriskSetGlobalVar => set_global_var(st, p),
        O::ApplicationList => Ok(Reply::ok(Value::Array(
            st.apps.keys().map(|a| application_json(st, a)).collect(),
        ))),
        O::ApplicationGet => application(st, p).map(|a| Reply::ok(application_json(st, &a))),
        O::ApplicationSubscribe => subscribe(st, p, true),
        O::ApplicationUnsubscribe => subscribe(st, p, false),
        O::ChannelList => Ok(Reply::ok(Value::Array(
            st.channels.values().map(|c| st.channel_json(c)).collect(),
        ))),
        O::ChannelOriginate | O::ChannelOriginateWithId => originate(st, p),
        O::ChannelGet => channel(st, p).map(|id| Reply::ok(st.channel_json(&st.channels[&id]))),
        O::ChannelHangup => channel(st, p).map(|id| {
            let cause = hangup_cause(p);
            st.set_ending(&id, Ending::HungUpByApp { cause });
            hangup(st, &id, Side::App, cause);
            Reply::none()
        }),
        O::ChannelContinueInDialplan => in_stasis(st, p).map(|id| {
            let ending = Ending::Continued {
                context: p.get("context").unwrap_or_default().to_owned(),
                extension: p.get("extension").unwrap_or_default().to_owned(),
                priority: p.get("priority").and_then(|v| v.parse().ok()).unwrap_or(1),
            };
            st.set_ending(&id, ending);
            leave_stasis(st, &id);
            Reply::none()
        }),
        O::ChannelMoveToApp => in_stasis(st, p).and_then(|id| move_channel(st, &id, p)),
        O::ChannelAnswer => in_stasis(st, p).map(|id| {
            answer(st, &id);
            Reply::none()
        }),
        O::ChannelPlay | O::ChannelPlayWithId => {
            in_stasis(st, p).and_then(|id| play(st, Target::Channel(id), p))
        }
        O::BridgePlay | O::BridgePlayWithId => {
            bridge(st, p).and_then(|id| play(st, Target::Bridge(id), p))
        }
        O::ChannelRecord => in_stasis(st, p).and_then(|id| record(st, Target::Channel(id), p)),
        O::BridgeRecord => bridge(st, p).and_then(|id| record(st, Target::Bridge(id), p)),
        O::ChannelSendDtmf => in_stasis(st, p).map(|id| {
            let dtmf = p.get("dtmf").unwrap_or_default().to_owned();
            if let Some(ch) = st.channels.get_mut(&id) {
                ch.record.dtmf_sent.push_str(&dtmf);
            }
            Reply::none()
        }),
        O::ChannelSetChannelVar => in_stasis(st, p).and_then(|id| set_channel_var(st, &id, p)),
        O::ChannelGetChannelVar => in_stasis(st, p).and_then(|id| {
            let name = p
                .get("variable")
                .ok_or_else(|| Reply::error(400, "Variable name is required"))?;
            match st.channels[&id].variables.get(name) {
                Some(v) => Ok(Reply::ok(json!({ "value": v }))),
                None => Err(Reply::error(404, "Provided variable was not found")),
            }
        }),
        O::ChannelSnoopChannel | O::ChannelSnoopChannelWithId => channel(st, p)
            .and_then(|id| synthetic_channel(st, &format!("Snoop/{id}"), "snoopId", p)),
        O::ChannelExternalMedia => {
            synthetic_channel(st, "UnicastRTP/127.0.0.1:4000", "channelId", p)
        }
        O::BridgeList => Ok(Reply::ok(Value::Array(
            st.bridges.values().map(|b| st.bridge_json(b)).collect(),
        ))),
        O::BridgeCreate | O::BridgeCreateWithId => create_bridge(st, p),
        O::BridgeGet => bridge(st, p).map(|id| Reply::ok(st.bridge_json(&st.bridges[&id]))),
        O::BridgeDestroy => bridge(st, p).map(|id| {
            destroy_bridge(st, &id);
            Reply::none()
        }),
        O::BridgeAddChannel => bridge(st, p).and_then(|id| add_channels(st, &id, p)),
        O::BridgeRemoveChannel => bridge(st, p).and_then(|id| remove_channels(st, &id, p)),
        O::PlaybackGet => {
            playback(st, p).map(|id| Reply::ok(State::playback_json(&st.playbacks[&id])))
        }
        O::PlaybackStop => playback(st, p).map(|id| {
            finish_playback(st, &id, "done");
            Reply::none()
        }),
        O::RecordingGetLive => {
            live(st, p).map(|n| Reply::ok(st.live_recording_json(&st.live_recordings[&n])))
        }
        O::RecordingStop => live(st, p).map(|n| {
            finish_recording(st, &n, "done");
            Reply::none()
        }),
        O::RecordingCancel => live(st, p).map(|n| {
            finish_recording(st, &n, "canceled");
            Reply::none()
        }),
        O::RecordingListStored => Ok(Reply::ok(Value::Array(
            st.stored_recordings
                .iter()
                .map(|(name, r)| json!({"name": name, "format": r.format}))
                .collect(),
        ))),
        O::RecordingGetStored => stored(st, p)
            .map(|n| Reply::ok(json!({"name": n, "format": st.stored_recordings[&n].format}))),
        O::RecordingDeleteStored => stored(st, p).map(|n| {
            st.stored_recordings.remove(&n);
            Reply::none()
        }),
        O::RecordingCopyStored => stored(st, p).and_then(|n| {
            let to = p
                .get("destinationRecordingName")
                .ok_or_else(|| Reply::error(400, "Missing parameter destinationRecordingName"))?
                .to_owned();
            if st.stored_recordings.contains_key(&to) {
                return Err(Reply::error(
                    409,
                    "A recording with the same name already exists on the system",
                ));
            }
            let copy = st.stored_recordings[&n].clone();
            let format = copy.format.clone();
            st.stored_recordings.insert(to.clone(), copy);
            Ok(Reply::ok(json!({"name": to, "format": format})))
        }),
        O::EventUserEvent => user_event(st, p),
        _ => generic(st, answers, op, p),
    };
    result.unwrap_or_else(|e| e)
}

type Outcome<T> = Result<T, Reply>;

fn info(st: &State) -> Reply {
    let started = st.timestamp().to_string();
    Reply::ok(json!({
        "build": {"os": "Linux", "kernel": "fake", "machine": "fake", "options": "", "date": "2026-01-01 00:00:00 UTC", "user": "ari-client"},
        "system": {"version": super::ASTERISK_VERSION, "entity_id": ASTERISK_ID},
        "config": {"name": "", "default_language": "en", "setid": {"user": "", "group": ""}},
        "status": {"startup_time": started, "last_reload_time": started},
    }))
}

/// The modules the fake runs: ARI with every resource (a client checks that a resource's
/// module is loaded before it sends a request for it).
const MODULES: [&str; 14] = [
    "res_ari.so",
    "res_ari_applications.so",
    "res_ari_asterisk.so",
    "res_ari_bridges.so",
    "res_ari_channels.so",
    "res_ari_device_states.so",
    "res_ari_endpoints.so",
    "res_ari_events.so",
    "res_ari_mailboxes.so",
    "res_ari_playbacks.so",
    "res_ari_recordings.so",
    "res_ari_sounds.so",
    "res_stasis.so",
    "res_stasis_playback.so",
];

fn module_json(name: &str) -> Value {
    json!({"name": name, "description": "", "use_count": 0, "status": "Running", "support_level": "core"})
}

fn global_var(st: &State, p: &Params) -> Outcome<Reply> {
    let name = p
        .get("variable")
        .ok_or_else(|| Reply::error(400, "Variable name is required"))?;
    Ok(Reply::ok(
        json!({ "value": st.global_variables.get(name).cloned().unwrap_or_default() }),
    ))
}

fn set_global_var(st: &mut State, p: &Params) -> Outcome<Reply> {
    let name = p
        .get("variable")
        .ok_or_else(|| Reply::error(400, "Variable name is required"))?;
    let value = p.get("value").unwrap_or_default().to_owned();
    st.global_variables.insert(name.to_owned(), value);
    Ok(Reply::none())
}

fn application(st: &State, p: &Params) -> Outcome<String> {
    let name = p.get("applicationName").unwrap_or_default();
    if st.apps.contains_key(name) {
        Ok(name.to_owned())
    } else {
        Err(Reply::error(404, "Application not found"))
    }
}

fn application_json(st: &State, app: &str) -> Value {
    let mut channels: Vec<&str> = st
        .channels
        .values()
        .filter(|c| c.subscribers.contains(app))
        .map(|c| c.id.as_str())
        .collect();
    channels.sort_unstable();
    let bridges: Vec<&str> = st
        .bridges
        .values()
        .filter(|b| b.subscribers.contains(app))
        .map(|b| b.id.as_str())
        .collect();
    let sources = st.app_sources.get(app);
    let pick = |prefix: &str| -> Vec<String> {
        sources
            .into_iter()
            .flatten()
            .filter_map(|s| s.strip_prefix(prefix).map(str::to_owned))
            .collect()
    };
    json!({
        "name": app,
        "channel_ids": channels,
        "bridge_ids": bridges,
        "endpoint_ids": pick("endpoint:"),
        "device_names": pick("deviceState:"),
        "events_allowed": [],
        "events_disallowed": [],
    })
}

fn subscribe(st: &mut State, p: &Params, on: bool) -> Outcome<Reply> {
    let app = application(st, p)?;
    let sources = p.list("eventSource");
    if sources.is_empty() {
        return Err(Reply::error(400, "Missing parameter eventSource"));
    }
    for source in &sources {
        let (scheme, id) = source.split_once(':').unwrap_or((source, ""));
        let subscribed = match scheme {
            "channel" => st.channels.get_mut(id).map(|c| &mut c.subscribers),
            "bridge" => st.bridges.get_mut(id).map(|b| &mut b.subscribers),
            "endpoint" | "deviceState" => Some(st.app_sources.entry(app.clone()).or_default()),
            _ => return Err(Reply::error(400, "Invalid event source URI scheme")),
        };
        let Some(set) = subscribed else {
            return Err(Reply::error(422, "Event source does not exist"));
        };
        let key = if matches!(scheme, "endpoint" | "deviceState") {
            source.clone()
        } else {
            app.clone()
        };
        if on {
            set.insert(key);
        } else if !set.remove(&key) {
            return Err(Reply::error(
                409,
                "Application not subscribed to event source",
            ));
        }
    }
    Ok(Reply::ok(application_json(st, &app)))
}

/// The object `param` names, if `exists`; else Asterisk's 404 with `missing`.
fn existing(
    p: &Params,
    param: &str,
    exists: impl FnOnce(&str) -> bool,
    missing: &str,
) -> Outcome<String> {
    let id = p.get(param).unwrap_or_default();
    if exists(id) {
        Ok(id.to_owned())
    } else {
        Err(Reply::error(404, missing))
    }
}

fn channel(st: &State, p: &Params) -> Outcome<String> {
    existing(
        p,
        "channelId",
        |id| st.channels.contains_key(id),
        "Channel not found",
    )
}

/// A channel that exists and is in an application.
fn in_stasis(st: &State, p: &Params) -> Outcome<String> {
    let id = channel(st, p)?;
    if st.channels[&id].stasis.is_some() {
        Ok(id)
    } else {
        Err(Reply::error(409, "Channel not in Stasis application"))
    }
}

fn bridge(st: &State, p: &Params) -> Outcome<String> {
    existing(
        p,
        "bridgeId",
        |id| st.bridges.contains_key(id),
        "Bridge not found",
    )
}

fn playback(st: &State, p: &Params) -> Outcome<String> {
    existing(
        p,
        "playbackId",
        |id| st.playbacks.contains_key(id),
        "Playback not found",
    )
}

fn live(st: &State, p: &Params) -> Outcome<String> {
    existing(
        p,
        "recordingName",
        |id| st.live_recordings.contains_key(id),
        "Recording not found",
    )
}

fn stored(st: &State, p: &Params) -> Outcome<String> {
    existing(
        p,
        "recordingName",
        |id| st.stored_recordings.contains_key(id),
        "Recording not found",
    )
}

/// The cause of `DELETE /channels/{id}`: `reason_code`, or `reason` by name.
fn hangup_cause(p: &Params) -> u16 {
    if let Some(code) = p.get("reason_code").and_then(|c| c.parse().ok()) {
        return code;
    }
    match p.get("reason").unwrap_or("normal") {
        "busy" => 17,
        "congestion" => 34,
        "no_answer" => 19,
        "timeout" => 19,
        "rejected" => 21,
        "unallocated" => 1,
        "normal_unspecified" => 31,
        "number_incomplete" => 28,
        "codec_mismatch" => 58,
        "interworking" => 127,
        "failure" => 38,
        "answered_elsewhere" => 26,
        _ => 16,
    }
}

/// Asterisk's text for a hangup cause (`ast_cause2str`).
fn cause_text(cause: u16) -> &'static str {
    match cause {
        0 => "Unknown",
        1 => "Unallocated (unassigned) number",
        16 => "Normal Clearing",
        17 => "User busy",
        18 => "No user responding",
        19 => "User alerting, no answer",
        21 => "Call Rejected",
        26 => "Answered elsewhere",
        28 => "Invalid number format (incomplete number)",
        31 => "Normal, unspecified",
        34 => "Circuit/channel congestion",
        38 => "Network out of order",
        58 => "Bearer capability not available",
        127 => "Interworking, unspecified",
        _ => "Unknown",
    }
}

fn members(pairs: &[(&str, Value)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

/// A channel entering an application from the dialplan (`Stasis(app,args)`). With
/// `per_call` (the frames of a per-call outbound websocket just opened), the websocket is
/// registered for the application `<app>:<channel name>`, which the channel enters.
pub(crate) fn call_in(
    st: &mut State,
    app: &str,
    exten: &str,
    caller: (String, String),
    args: Vec<String>,
    per_call: Option<mpsc::UnboundedSender<Frame>>,
) -> (String, Option<u64>) {
    let id = st.new_id();
    let name = st.new_name(&format!(
        "PJSIP/{}",
        if caller.1.is_empty() {
            "caller"
        } else {
            &caller.1
        }
    ));
    let (app, connection) = match per_call {
        Some(frames) => {
            let registered = format!("{app}:{name}");
            let conn = st.add_connection(vec![registered.clone()], frames, true);
            (registered, Some(conn))
        }
        None => (app.to_owned(), None),
    };
    let mut app_data = app.clone();
    for a in &args {
        app_data.push(',');
        app_data.push_str(a);
    }
    let ch = Channel {
        id: id.clone(),
        name,
        state: "Ring",
        caller,
        connected: (String::new(), String::new()),
        dialplan: (
            "default".into(),
            exten.to_owned(),
            1,
            "Stasis".into(),
            app_data,
        ),
        creationtime: st.timestamp(),
        language: "en".into(),
        origin: Origin::Inbound,
        stasis: Some(app.clone()),
        subscribers: BTreeSet::from([app]),
        variables: Default::default(),
        bridge: None,
        playbacks: Vec::new(),
        recording: None,
        per_call: connection,
        pending_stasis: None,
        record: ChannelRecord::default(),
    };
    st.channels.insert(id.clone(), ch);
    st.emit_channel("StasisStart", &id, members(&[("args", json!(args))]));
    (id, connection)
}

fn originate(st: &mut State, p: &Params) -> Outcome<Reply> {
    let endpoint = p
        .get("endpoint")
        .ok_or_else(|| Reply::error(400, "Endpoint must be specified"))?;
    let Some((tech, resource)) = endpoint
        .split_once('/')
        .filter(|(t, r)| !t.is_empty() && !r.is_empty())
    else {
        return Err(Reply::error(400, "Invalid endpoint specified"));
    };
    let app = p.get("app").map(str::to_owned);
    if app.is_none() && p.get("extension").is_none() {
        return Err(Reply::error(
            400,
            "Application or extension must be specified",
        ));
    }
    let id = p
        .get("channelId")
        .map_or_else(|| st.new_id(), str::to_owned);
    if st.channels.contains_key(&id) {
        return Err(Reply::error(
            409,
            "Channel with given unique ID already exists",
        ));
    }
    let caller = p.get("callerId").map(parse_caller_id).unwrap_or_default();
    let name = st.new_name(&format!("{tech}/{resource}"));
    let mut ch = Channel {
        id: id.clone(),
        name,
        state: "Down",
        caller: caller.clone(),
        connected: caller,
        dialplan: (
            p.get("context").unwrap_or("default").to_owned(),
            p.get("extension").unwrap_or("s").to_owned(),
            1,
            "AppDial2".into(),
            "(Outgoing Line)".into(),
        ),
        creationtime: st.timestamp(),
        language: "en".into(),
        origin: Origin::Originated,
        stasis: None,
        subscribers: app.iter().cloned().collect(),
        variables: p
            .variables
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                )
            })
            .collect(),
        bridge: None,
        playbacks: Vec::new(),
        recording: None,
        per_call: None,
        pending_stasis: app.map(|a| (a, p.list("appArgs"))),
        record: ChannelRecord::default(),
    };
    if ch.pending_stasis.is_none() {
        // dialplan: nothing the applications see
        ch.subscribers.clear();
    }
    let reply = st.channel_json(&ch);
    st.channels.insert(id.clone(), ch);
    st.originated.push(id.clone());
    dial_event(st, &id, "");
    let callee = st
        .callees
        .get(endpoint)
        .copied()
        .unwrap_or(Callee::AnswerAfter(Duration::ZERO));
    let rings = match callee {
        Callee::NoAnswer => true,
        Callee::AnswerAfter(after) => !after.is_zero(),
        Callee::Busy => false,
    };
    if rings {
        set_state(st, &id, "Ringing");
        dial_event(st, &id, "RINGING");
    }
    let now = st.now;
    match callee {
        Callee::AnswerAfter(after) => st.schedule.at(now + after, Action::Answer(id)),
        Callee::Busy => st.schedule.at(now, Action::Busy(id)),
        Callee::NoAnswer => {
            let timeout = p
                .get("timeout")
                .and_then(|t| t.parse::<i64>().ok())
                .unwrap_or(30);
            // -1: no timeout (rings until hung up)
            if let Ok(secs) = u64::try_from(timeout) {
                st.schedule
                    .at(now + Duration::from_secs(secs), Action::NoAnswer(id));
            }
        }
    }
    Ok(Reply::ok(reply))
}

/// A `Dial` event of an originated channel (the `peer`), to its subscribers.
fn dial_event(st: &State, id: &str, status: &str) {
    let Some(ch) = st.channels.get(id) else {
        return;
    };
    // `PJSIP/alice-00000001` was dialled as `alice`
    let resource = ch.name.split_once('/').map_or("", |(_, r)| r);
    let dialstring = resource.rsplit_once('-').map_or(resource, |(r, _)| r);
    st.emit(
        "Dial",
        members(&[
            ("dialstatus", status.into()),
            ("forward", "".into()),
            ("dialstring", dialstring.into()),
            ("peer", st.channel_json(ch)),
        ]),
        &ch.subscribers,
    );
}

/// `"Bob" <1001>` → (`Bob`, `1001`); `1001` → (``, `1001`).
fn parse_caller_id(text: &str) -> (String, String) {
    match (text.find('<'), text.rfind('>')) {
        (Some(open), Some(close)) if open < close => (
            text[..open].trim().trim_matches('"').to_owned(),
            text[open + 1..close].to_owned(),
        ),
        _ => (String::new(), text.to_owned()),
    }
}

/// A snoop or external-media channel: created in the application, up; `id_param` names
/// the parameter that may give its id.
fn synthetic_channel(st: &mut State, base: &str, id_param: &str, p: &Params) -> Outcome<Reply> {
    let app = p
        .get("app")
        .ok_or_else(|| Reply::error(400, "Missing parameter app"))?
        .to_owned();
    let id = p.get(id_param).map_or_else(|| st.new_id(), str::to_owned);
    if st.channels.contains_key(&id) {
        return Err(Reply::error(
            409,
            "Channel with given unique ID already exists",
        ));
    }
    let name = st.new_name(base);
    let ch = Channel {
        id: id.clone(),
        name,
        state: "Up",
        caller: Default::default(),
        connected: Default::default(),
        dialplan: (
            "default".into(),
            "s".into(),
            1,
            "Stasis".into(),
            app.clone(),
        ),
        creationtime: st.timestamp(),
        language: "en".into(),
        origin: Origin::Originated,
        stasis: Some(app.clone()),
        subscribers: BTreeSet::from([app]),
        variables: Default::default(),
        bridge: None,
        playbacks: Vec::new(),
        recording: None,
        per_call: None,
        pending_stasis: None,
        record: ChannelRecord::default(),
    };
    let reply = st.channel_json(&ch);
    st.channels.insert(id.clone(), ch);
    st.emit_channel(
        "StasisStart",
        &id,
        members(&[("args", json!(p.list("appArgs")))]),
    );
    Ok(Reply::ok(reply))
}

fn set_state(st: &mut State, id: &str, state: &'static str) {
    if let Some(ch) = st.channels.get_mut(id) {
        if ch.state != state {
            ch.state = state;
            st.emit_channel("ChannelStateChange", id, Map::new());
        }
    }
}

fn answer(st: &mut State, id: &str) {
    if let Some(ch) = st.channels.get_mut(id) {
        ch.record.answered = true;
    }
    set_state(st, id, "Up");
}

fn set_channel_var(st: &mut State, id: &str, p: &Params) -> Outcome<Reply> {
    let name = p
        .get("variable")
        .ok_or_else(|| Reply::error(400, "Variable name is required"))?
        .to_owned();
    let value = p.values.get("value").cloned().unwrap_or_default();
    set_variable(st, id, &name, &value);
    Ok(Reply::none())
}

fn move_channel(st: &mut State, id: &str, p: &Params) -> Outcome<Reply> {
    let to = p
        .get("app")
        .ok_or_else(|| Reply::error(400, "Missing parameter app"))?
        .to_owned();
    let args = p.list("appArgs");
    if !st.apps.contains_key(&to) {
        st.emit_channel(
            "ApplicationMoveFailed",
            id,
            members(&[("destination", to.clone().into()), ("args", json!(args))]),
        );
        return Ok(Reply::none());
    }
    st.emit_channel("StasisEnd", id, Map::new());
    if let Some(ch) = st.channels.get_mut(id) {
        if let Some(old) = ch.stasis.replace(to.clone()) {
            ch.subscribers.remove(&old);
        }
        ch.subscribers.insert(to);
    }
    st.emit_channel("StasisStart", id, members(&[("args", json!(args))]));
    Ok(Reply::none())
}

/// Who hangs up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// `DELETE /channels/{id}`.
    App,
    /// The caller, or the callee of an originated channel.
    Far,
}

/// A channel hangs up (measured orders: `docs/testing.md`): `ChannelHangupRequest`, what
/// it was doing ends, `StasisEnd`; a channel originated into the application then gets
/// `ChannelVarset` `STASISSTATUS` and `ChannelDestroyed`.
pub(crate) fn hangup(st: &mut State, id: &str, side: Side, cause: u16) {
    let request = match side {
        Side::App => members(&[("cause", 32.into()), ("soft", true.into())]),
        Side::Far => members(&[("cause", 16.into())]),
    };
    st.emit_channel("ChannelHangupRequest", id, request);
    match side {
        // Asterisk answers the DELETE once the hangup is queued; the channel's thread
        // ends it after: a request the application makes at once is answered first
        Side::App => {
            let now = st.now;
            st.schedule
                .at(now, Action::HangupDone(id.to_owned(), cause));
        }
        Side::Far => hangup_done(st, id, cause),
    }
}

/// The rest of a hangup: what the channel was doing ends, `StasisEnd`, and (for a channel
/// originated into the application) `STASISSTATUS` and `ChannelDestroyed`.
fn hangup_done(st: &mut State, id: &str, cause: u16) {
    let Some(origin) = st.channels.get(id).map(|c| c.origin) else {
        return;
    };
    end_activity(st, id);
    if st.channels.get(id).is_some_and(|c| c.stasis.is_some()) {
        leave_stasis(st, id);
        if origin == Origin::Originated {
            set_variable(st, id, "STASISSTATUS", "SUCCESS");
        }
    }
    st.emit_channel(
        "ChannelDestroyed",
        id,
        members(&[
            ("cause", cause.into()),
            ("cause_txt", cause_text(cause).into()),
        ]),
    );
    destroy_channel(st, id);
}

/// Ends a channel's playbacks, recording and bridge membership.
fn end_activity(st: &mut State, id: &str) {
    let (playbacks, recording, bridge) = match st.channels.get_mut(id) {
        Some(ch) => (
            std::mem::take(&mut ch.playbacks),
            ch.recording.take(),
            ch.bridge.clone(),
        ),
        None => return,
    };
    for pb in playbacks {
        // the queued ones never start: they end with the channel
        finish_playback_quietly(st, &pb, "failed");
    }
    if let Some(name) = recording {
        finish_recording(st, &name, "done");
    }
    if let Some(b) = bridge {
        leave_bridge(st, &b, id);
    }
}

/// The channel leaves its application: `StasisEnd`; one that entered from the dialplan is
/// no longer the application's.
fn leave_stasis(st: &mut State, id: &str) {
    end_activity(st, id);
    st.emit_channel("StasisEnd", id, Map::new());
    if let Some(conn) = st.channels.get_mut(id).and_then(|c| c.per_call.take()) {
        let at = st.now + Duration::from_secs(3);
        st.schedule.at(at, Action::CloseConnection(conn));
    }
    if let Some(ch) = st.channels.get_mut(id) {
        let app = ch.stasis.take();
        if ch.origin == Origin::Inbound {
            if let Some(app) = app {
                ch.subscribers.remove(&app);
            }
        }
    }
}

fn destroy_channel(st: &mut State, id: &str) {
    if let Some(ch) = st.channels.remove(id) {
        st.gone.insert(id.to_owned(), ch.record);
    }
    let id = id.to_owned();
    st.schedule.retain(|a| match a {
        Action::Answer(c)
        | Action::NoAnswer(c)
        | Action::Busy(c)
        | Action::Dtmf(c, ..)
        | Action::Hangup(c)
        | Action::HangupDone(c, _) => *c != id,
        _ => true,
    });
}

/// The duration of one media URI; `None`: it plays until stopped.
fn media_duration(st: &State, uri: &str) -> Option<Duration> {
    if let Some(set) = st.media_durations.get(uri) {
        return *set;
    }
    let (scheme, rest) = uri.split_once(':').unwrap_or(("sound", uri));
    match scheme {
        "recording" => Some(
            st.stored_recordings
                .get(rest)
                .map_or(Duration::ZERO, |r| r.duration),
        ),
        "digits" | "characters" => {
            Some(Duration::from_millis(500) * u32::try_from(rest.chars().count()).unwrap_or(1))
        }
        "tone" => None,
        _ => Some(Duration::from_secs(1)),
    }
}

fn play(st: &mut State, target: Target, p: &Params) -> Outcome<Reply> {
    let media = p.list("media");
    if media.is_empty() {
        return Err(Reply::error(400, "Missing parameter media"));
    }
    let id = p
        .get("playbackId")
        .map_or_else(|| st.new_id(), str::to_owned);
    if st.playbacks.contains_key(&id) {
        return Err(Reply::error(
            409,
            "Playback with the same ID already exists",
        ));
    }
    let playback = Playback {
        id: id.clone(),
        media_uri: media.join(","),
        media,
        target: target.clone(),
        language: p.get("lang").unwrap_or("en").to_owned(),
        state: "queued",
    };
    let reply = State::playback_json(&playback);
    st.playbacks.insert(id.clone(), playback);
    let queue = match &target {
        Target::Channel(c) => st.channels.get_mut(c).map(|c| &mut c.playbacks),
        Target::Bridge(b) => st.bridges.get_mut(b).map(|b| &mut b.playbacks),
    };
    let first = queue.is_some_and(|q| {
        q.push(id.clone());
        q.len() == 1
    });
    if first {
        start_playback(st, &id);
    }
    Ok(Reply::json(201, reply))
}

fn note_played(st: &mut State, target: &Target, uri: &str) {
    let channels: Vec<String> = match target {
        Target::Channel(c) => vec![c.clone()],
        Target::Bridge(b) => st
            .bridges
            .get(b)
            .map(|b| b.channels.clone())
            .unwrap_or_default(),
    };
    for c in channels {
        if let Some(ch) = st.channels.get_mut(&c) {
            ch.record.played.push(uri.to_owned());
        }
    }
}

fn start_playback(st: &mut State, id: &str) {
    let Some(pb) = st.playbacks.get_mut(id) else {
        return;
    };
    pb.state = "playing";
    let (target, uri) = (pb.target.clone(), pb.media[0].clone());
    note_played(st, &target, &uri);
    announce_playback(st, id, "PlaybackStarted");
    if unplayable(st, &uri) {
        finish_playback(st, id, "failed");
        return;
    }
    if let Some(d) = media_duration(st, &uri) {
        let at = st.now + d;
        st.schedule.at(at, Action::PlaybackNext(id.to_owned()));
    }
}

/// A `recording:` that is not stored fails, as in Asterisk.
fn unplayable(st: &State, uri: &str) -> bool {
    uri.strip_prefix("recording:")
        .is_some_and(|name| !st.stored_recordings.contains_key(name))
}

fn announce_playback(st: &State, id: &str, kind: &str) {
    let Some(pb) = st.playbacks.get(id) else {
        return;
    };
    let apps = st.target_subscribers(&pb.target);
    st.emit(
        kind,
        members(&[("playback", State::playback_json(pb))]),
        &apps,
    );
}

/// The current media of a playback ended.
fn playback_next(st: &mut State, id: &str) {
    let Some(pb) = st.playbacks.get_mut(id) else {
        return;
    };
    pb.media.remove(0);
    if pb.media.is_empty() {
        finish_playback(st, id, "done");
        return;
    }
    let (target, uri) = (pb.target.clone(), pb.media[0].clone());
    note_played(st, &target, &uri);
    announce_playback(st, id, "PlaybackContinuing");
    if let Some(d) = media_duration(st, &uri) {
        let at = st.now + d;
        st.schedule.at(at, Action::PlaybackNext(id.to_owned()));
    }
}

/// A playback ends (`PlaybackFinished`), and the next one queued on its target starts.
fn finish_playback(st: &mut State, id: &str, state: &'static str) {
    let Some(target) = st.playbacks.get(id).map(|p| p.target.clone()) else {
        return;
    };
    let was_playing = st.playbacks[id].state == "playing";
    if let Some(pb) = st.playbacks.get_mut(id) {
        pb.state = state;
    }
    if was_playing {
        announce_playback(st, id, "PlaybackFinished");
    }
    st.playbacks.remove(id);
    let key = id.to_owned();
    st.schedule
        .retain(|a| *a != Action::PlaybackNext(key.clone()));
    let queue = match &target {
        Target::Channel(c) => st.channels.get_mut(c).map(|c| &mut c.playbacks),
        Target::Bridge(b) => st.bridges.get_mut(b).map(|b| &mut b.playbacks),
    };
    let next = queue.and_then(|q| {
        q.retain(|p| *p != key);
        q.first().cloned()
    });
    if let Some(next) = next {
        if st.playbacks.get(&next).is_some_and(|p| p.state == "queued") {
            start_playback(st, &next);
        }
    }
}

/// A playback ends with its target: `PlaybackFinished` if it was playing, in `state`
/// (Asterisk says `failed` for a channel hung up mid-prompt), nothing for queued ones.
fn finish_playback_quietly(st: &mut State, id: &str, state: &'static str) {
    let Some(pb) = st.playbacks.remove(id) else {
        return;
    };
    if pb.state == "playing" {
        let mut done = pb;
        done.state = state;
        let apps = st.target_subscribers(&done.target);
        st.emit(
            "PlaybackFinished",
            members(&[("playback", State::playback_json(&done))]),
            &apps,
        );
    }
    let key = id.to_owned();
    st.schedule
        .retain(|a| *a != Action::PlaybackNext(key.clone()));
}

fn record(st: &mut State, target: Target, p: &Params) -> Outcome<Reply> {
    let name = p
        .get("name")
        .ok_or_else(|| Reply::error(400, "Recording name is required"))?
        .to_owned();
    let format = p
        .get("format")
        .ok_or_else(|| Reply::error(400, "Recording format is required"))?
        .to_owned();
    if name.contains("..") || name.starts_with('/') {
        return Err(Reply::error(400, "Invalid recording name"));
    }
    if st.live_recordings.contains_key(&name) {
        return Err(Reply::error(
            409,
            "A recording with the same name already exists on the system",
        ));
    }
    if st.stored_recordings.contains_key(&name) && p.get("ifExists").unwrap_or("fail") == "fail" {
        return Err(Reply::error(422, "Recording already exists"));
    }
    let busy = match &target {
        Target::Channel(c) => st.channels[c].recording.is_some(),
        Target::Bridge(b) => st.bridges[b].recording.is_some(),
    };
    if busy {
        return Err(Reply::error(409, "Channel is already being recorded"));
    }
    let rec = LiveRecording {
        name: name.clone(),
        format,
        target: target.clone(),
        state: "queued",
        started: st.now,
    };
    let reply = st.live_recording_json(&rec);
    st.live_recordings.insert(name.clone(), rec);
    match &target {
        Target::Channel(c) => {
            if let Some(ch) = st.channels.get_mut(c) {
                ch.recording = Some(name.clone());
                ch.record.recordings.push(name.clone());
            }
        }
        Target::Bridge(b) => {
            if let Some(br) = st.bridges.get_mut(b) {
                br.recording = Some(name.clone());
            }
        }
    }
    if let Some(r) = st.live_recordings.get_mut(&name) {
        r.state = "recording";
    }
    announce_recording(st, &name, "RecordingStarted");
    if let Some(max) = p
        .get("maxDurationSeconds")
        .and_then(|m| m.parse::<u64>().ok())
        .filter(|m| *m > 0)
    {
        let at = st.now + Duration::from_secs(max);
        st.schedule.at(at, Action::RecordingDone(name));
    }
    Ok(Reply::json(201, reply))
}

fn announce_recording(st: &State, name: &str, kind: &str) {
    let Some(r) = st.live_recordings.get(name) else {
        return;
    };
    let apps = st.target_subscribers(&r.target);
    st.emit(
        kind,
        members(&[("recording", st.live_recording_json(r))]),
        &apps,
    );
}

/// A recording ends (`RecordingFinished`); one that is `done` is stored.
fn finish_recording(st: &mut State, name: &str, state: &'static str) {
    let Some(r) = st.live_recordings.get_mut(name) else {
        return;
    };
    r.state = state;
    let target = r.target.clone();
    announce_recording(st, name, "RecordingFinished");
    let Some(r) = st.live_recordings.remove(name) else {
        return;
    };
    if state == "done" {
        let duration = Duration::from_secs(st.now.saturating_sub(r.started).as_secs());
        st.stored_recordings.insert(
            name.to_owned(),
            StoredRecording {
                format: r.format,
                duration,
            },
        );
    }
    match target {
        Target::Channel(c) => {
            if let Some(ch) = st.channels.get_mut(&c) {
                ch.recording = None;
            }
        }
        Target::Bridge(b) => {
            if let Some(br) = st.bridges.get_mut(&b) {
                br.recording = None;
            }
        }
    }
    let key = name.to_owned();
    st.schedule
        .retain(|a| *a != Action::RecordingDone(key.clone()));
}

fn create_bridge(st: &mut State, p: &Params) -> Outcome<Reply> {
    let id = p.get("bridgeId").map_or_else(|| st.new_id(), str::to_owned);
    if st.bridges.contains_key(&id) {
        return Err(Reply::error(
            409,
            &format!("Bridge with id '{id}' already exists"),
        ));
    }
    let kinds = p.list("type");
    let bridge_type = if kinds.iter().any(|k| k == "holding") {
        "holding"
    } else {
        "mixing"
    };
    let b = Bridge {
        id: id.clone(),
        bridge_type: bridge_type.into(),
        name: p.get("name").unwrap_or_default().to_owned(),
        channels: Vec::new(),
        creationtime: st.timestamp(),
        subscribers: BTreeSet::new(),
        playbacks: Vec::new(),
        recording: None,
    };
    let reply = st.bridge_json(&b);
    st.bridges.insert(id, b);
    Ok(Reply::ok(reply))
}

fn bridge_event(st: &State, kind: &str, bridge: &str, channel: &str) {
    let (Some(b), Some(ch)) = (st.bridges.get(bridge), st.channels.get(channel)) else {
        return;
    };
    let mut apps = st.bridge_subscribers(bridge);
    apps.extend(ch.subscribers.iter().cloned());
    st.emit(
        kind,
        members(&[
            ("bridge", st.bridge_json(b)),
            ("channel", st.channel_json(ch)),
        ]),
        &apps,
    );
}

fn add_channels(st: &mut State, bridge: &str, p: &Params) -> Outcome<Reply> {
    let ids = p.list("channel");
    if ids.is_empty() {
        return Err(Reply::error(400, "Missing parameter channel"));
    }
    for id in &ids {
        let Some(ch) = st.channels.get(id) else {
            return Err(Reply::error(400, "Channel not found"));
        };
        if ch.stasis.is_none() {
            return Err(Reply::error(422, "Channel not in Stasis application"));
        }
    }
    for id in ids {
        match st.channels[&id].bridge.clone() {
            Some(b) if b == bridge => continue,
            Some(other) => leave_bridge(st, &other, &id),
            None => {}
        }
        if let Some(b) = st.bridges.get_mut(bridge) {
            b.channels.push(id.clone());
        }
        if let Some(ch) = st.channels.get_mut(&id) {
            ch.bridge = Some(bridge.to_owned());
            ch.record.bridges.push(bridge.to_owned());
        }
        bridge_event(st, "ChannelEnteredBridge", bridge, &id);
        update_bridge_peers(st, bridge);
    }
    Ok(Reply::none())
}

/// Sets `BRIDGEPEER` on each channel of a bridge with two or more: the names of the
/// others (`ChannelVarset` for each that changes, in the bridge's order).
fn update_bridge_peers(st: &mut State, bridge: &str) {
    let channels = st
        .bridges
        .get(bridge)
        .map(|b| b.channels.clone())
        .unwrap_or_default();
    if channels.len() < 2 {
        return;
    }
    for c in &channels {
        let others: Vec<&str> = channels
            .iter()
            .filter(|o| *o != c)
            .filter_map(|o| st.channels.get(o).map(|ch| ch.name.as_str()))
            .collect();
        let peers = others.join(",");
        if st
            .channels
            .get(c)
            .and_then(|ch| ch.variables.get("BRIDGEPEER"))
            != Some(&peers)
        {
            set_variable(st, c, "BRIDGEPEER", &peers);
        }
    }
}

/// Sets a channel variable and sends its `ChannelVarset`.
fn set_variable(st: &mut State, id: &str, name: &str, value: &str) {
    if let Some(ch) = st.channels.get_mut(id) {
        ch.variables.insert(name.to_owned(), value.to_owned());
    }
    st.emit_channel(
        "ChannelVarset",
        id,
        members(&[("variable", name.into()), ("value", value.into())]),
    );
}

fn remove_channels(st: &mut State, bridge: &str, p: &Params) -> Outcome<Reply> {
    let ids = p.list("channel");
    if ids.is_empty() {
        return Err(Reply::error(400, "Missing parameter channel"));
    }
    for id in &ids {
        if !st.channels.contains_key(id) {
            return Err(Reply::error(400, "Channel not found"));
        }
        if st.channels[id].bridge.as_deref() != Some(bridge) {
            return Err(Reply::error(422, "Channel not in this bridge"));
        }
    }
    for id in ids {
        leave_bridge(st, bridge, &id);
    }
    Ok(Reply::none())
}

fn leave_bridge(st: &mut State, bridge: &str, channel: &str) {
    let peer = st
        .channels
        .get(channel)
        .and_then(|c| c.variables.get("BRIDGEPEER"));
    if peer.is_some_and(|p| !p.is_empty()) {
        set_variable(st, channel, "BRIDGEPEER", "");
    }
    if let Some(b) = st.bridges.get_mut(bridge) {
        b.channels.retain(|c| c != channel);
    }
    bridge_event(st, "ChannelLeftBridge", bridge, channel);
    if let Some(ch) = st.channels.get_mut(channel) {
        ch.bridge = None;
    }
}

fn destroy_bridge(st: &mut State, id: &str) {
    let channels = st
        .bridges
        .get(id)
        .map(|b| b.channels.clone())
        .unwrap_or_default();
    for c in channels {
        leave_bridge(st, id, &c);
    }
    let (playbacks, recording) = match st.bridges.get_mut(id) {
        Some(b) => (std::mem::take(&mut b.playbacks), b.recording.take()),
        None => return,
    };
    for pb in playbacks {
        finish_playback_quietly(st, &pb, "done");
    }
    if let Some(r) = recording {
        finish_recording(st, &r, "done");
    }
    if let Some(b) = st.bridges.get(id) {
        st.emit(
            "BridgeDestroyed",
            members(&[("bridge", st.bridge_json(b))]),
            &b.subscribers,
        );
    }
    st.bridges.remove(id);
}

fn user_event(st: &mut State, p: &Params) -> Outcome<Reply> {
    let app = p
        .get("application")
        .ok_or_else(|| Reply::error(400, "Missing parameter application"))?
        .to_owned();
    if !st.apps.contains_key(&app) {
        return Err(Reply::error(404, "Application not found"));
    }
    let name = p.get("eventName").unwrap_or_default().to_owned();
    let mut m = members(&[("eventname", name.into())]);
    for source in p.list("source") {
        if let Some(id) = source.strip_prefix("channel:") {
            let Some(ch) = st.channels.get(id) else {
                return Err(Reply::error(422, "Event source not found"));
            };
            m.insert("channel".into(), st.channel_json(ch));
        }
    }
    m.insert("userevent".into(), Value::Object(p.variables.clone()));
    st.emit("ChannelUserevent", m, [&app]);
    Ok(Reply::none())
}

/// An operation without behaviour: 404 when an object its path names does not exist,
/// else the least body valid for its spec.
fn generic(st: &State, answers: &Answers, op: OperationId, p: &Params) -> Outcome<Reply> {
    if p.values.contains_key("channelId") && op.path().contains("{channelId}") {
        channel(st, p)?;
    }
    if op.path().contains("{bridgeId}") {
        bridge(st, p)?;
    }
    if op.path().contains("{playbackId}") {
        playback(st, p)?;
    }
    if op.path().starts_with("/recordings/live/") {
        live(st, p)?;
    }
    if op.path().starts_with("/recordings/stored/") {
        stored(st, p)?;
    }
    let class = answers.response_class(op);
    Ok(match answers.minimal(class, &st.timestamp().to_string()) {
        Some(body) => Reply::ok(body),
        None => Reply::none(),
    })
}

/// Runs what is due.
pub(crate) fn run(st: &mut State, action: Action) {
    match action {
        Action::PlaybackNext(id) => playback_next(st, &id),
        Action::RecordingDone(name) => finish_recording(st, &name, "done"),
        Action::Answer(id) => {
            let Some(ch) = st.channels.get_mut(&id) else {
                return;
            };
            ch.record.answered = true;
            let pending = ch.pending_stasis.take();
            set_state(st, &id, "Up");
            dial_event(st, &id, "ANSWER");
            if let Some((app, args)) = pending {
                set_variable(st, &id, "STASISSTATUS", "");
                if let Some(ch) = st.channels.get_mut(&id) {
                    ch.stasis = Some(app);
                }
                st.emit_channel("StasisStart", &id, members(&[("args", json!(args))]));
            }
        }
        Action::Busy(id) => {
            if !st.channels.contains_key(&id) {
                return;
            }
            st.set_ending(&id, Ending::Busy);
            st.emit_channel(
                "ChannelHangupRequest",
                &id,
                members(&[("cause", 17.into())]),
            );
            dial_event(st, &id, "BUSY");
            st.emit_channel(
                "ChannelDestroyed",
                &id,
                members(&[("cause", 17.into()), ("cause_txt", cause_text(17).into())]),
            );
            destroy_channel(st, &id);
        }
        Action::NoAnswer(id) => {
            if !st.channels.contains_key(&id) {
                return;
            }
            st.set_ending(&id, Ending::NoAnswer);
            st.emit_channel(
                "ChannelDestroyed",
                &id,
                members(&[("cause", 19.into()), ("cause_txt", cause_text(19).into())]),
            );
            destroy_channel(st, &id);
        }
        Action::Dtmf(id, digit, duration_ms) => {
            st.emit_channel(
                "ChannelDtmfReceived",
                &id,
                members(&[
                    ("digit", digit.to_string().into()),
                    ("duration_ms", duration_ms.into()),
                ]),
            );
        }
        Action::HangupDone(id, cause) => hangup_done(st, &id, cause),
        Action::CloseConnection(conn) => {
            if let Some(c) = st.connections.get(&conn) {
                let _ = c.frames.send(Frame::Close);
            }
            st.remove_connection(conn);
        }
        Action::Hangup(id) => {
            st.set_ending(&id, Ending::HungUpByCaller);
            hangup(st, &id, Side::Far, 16);
        }
    }
}
