//! The domain objects: the one table of which models are objects with an id, which
//! operations are their methods, which event fields name them and which events end them.
//!
//! Everything the runtime knows about an object kind is generated from this table: the
//! object types and their methods, `ObjectKind`, where the scanner finds an event's objects,
//! the end rules, the `Event` accessors and the snapshots events share. The table is input
//! ([`ObjectSpec`], the default being [`asterisk`]) and is checked against the spec here.

use super::{err, Api, OperationRef, ParamKind, Response, Type};
use crate::names;
use crate::Error;

/// One kind of domain object, as the generator is told about it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObjectSpec {
    /// The Rust type of the object (`Channel`); also its `ObjectKind` variant.
    pub name: String,
    /// The spec id of its model (`Channel`).
    pub model: String,
    /// The resource whose operations on the object's path become its methods (`channels`).
    pub resource: String,
    /// The object's path (`/channels/{channelId}`).
    pub path: String,
    /// Which model field fills each template of the path: `(template, field)`.
    pub id: Vec<(String, String)>,
    /// One sentence saying what the object is.
    pub doc: String,
    /// How events name the object; `None` for objects without events.
    pub events: Option<EventRules>,
    /// Operations that subscribe this object (an application) to event sources, or
    /// unsubscribe it: `(resource, nickname, parameter of the sources, subscribes)`.
    pub subscriptions: Vec<(String, String, String, bool)>,
}

/// How events name one kind of object, and which ones end it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EventRules {
    /// The event fields (of the object's model type) that name the object, in the order the
    /// runtime looks at them (`channel`, then `peer`).
    pub fields: Vec<String>,
    /// Event types after which the object is gone (`ChannelDestroyed`).
    pub ends: Vec<String>,
    /// Event types after which Asterisk sends nothing more about the object unless the
    /// application stays subscribed to it (`StasisEnd` for a channel that entered the
    /// application from the dialplan).
    pub leaves: Vec<String>,
    /// Operations that create such an object with an id the client chooses:
    /// `(resource, nickname, parameter)`.
    pub creators: Vec<(String, String, String)>,
    /// Operations whose success destroys the object: `(resource, nickname)`.
    pub destroyers: Vec<(String, String)>,
    /// The event-source prefix of such objects (`bridge` for `bridge:<id>`), for
    /// `applications.subscribe`.
    pub event_source: Option<String>,
    /// Asterisk sends the end event only to applications subscribed to the object: the
    /// runtime subscribes its application to such objects once they have handlers or
    /// waiters.
    pub end_needs_subscription: bool,
}

impl ObjectSpec {
    /// An object kind without events: `name` wraps model `model`, and the operations of
    /// `resource` under `path` become its methods.
    pub fn new(name: &str, model: &str, resource: &str, path: &str) -> Self {
        Self {
            name: name.to_owned(),
            model: model.to_owned(),
            resource: resource.to_owned(),
            path: path.to_owned(),
            id: Vec::new(),
            doc: String::new(),
            events: None,
            subscriptions: Vec::new(),
        }
    }

    /// Path template `template` is filled from model field `field`.
    pub fn id(mut self, template: &str, field: &str) -> Self {
        self.id.push((template.to_owned(), field.to_owned()));
        self
    }

    /// What the object is, in one sentence.
    pub fn doc(mut self, doc: &str) -> Self {
        self.doc = doc.to_owned();
        self
    }

    /// Events name the object in these fields.
    pub fn named_by(mut self, fields: &[&str]) -> Self {
        self.rules().fields = fields.iter().map(|f| (*f).to_owned()).collect();
        self
    }

    /// These event types end the object.
    pub fn ended_by(mut self, events: &[&str]) -> Self {
        self.rules().ends = events.iter().map(|e| (*e).to_owned()).collect();
        self
    }

    /// After these event types Asterisk sends nothing more about the object unless the
    /// application stays subscribed to it.
    pub fn left_by(mut self, events: &[&str]) -> Self {
        self.rules().leaves = events.iter().map(|e| (*e).to_owned()).collect();
        self
    }

    /// Operation `resource.nickname` creates such an object with the id in `param`.
    pub fn created_by(mut self, resource: &str, nickname: &str, param: &str) -> Self {
        self.rules()
            .creators
            .push((resource.to_owned(), nickname.to_owned(), param.to_owned()));
        self
    }

    /// Operation `resource.nickname` destroys the object (its path names it).
    pub fn destroyed_by(mut self, resource: &str, nickname: &str) -> Self {
        self.rules()
            .destroyers
            .push((resource.to_owned(), nickname.to_owned()));
        self
    }

    /// Asterisk names such objects as event source `<source>:<id>` (in
    /// `applications.subscribe`).
    pub fn event_source(mut self, source: &str) -> Self {
        self.rules().event_source = Some(source.to_owned());
        self
    }

    /// Asterisk sends the end event only to applications subscribed to the object (needs
    /// [`event_source`](Self::event_source)).
    pub fn end_needs_subscription(mut self) -> Self {
        self.rules().end_needs_subscription = true;
        self
    }

    /// Operation `resource.nickname` on this object's path subscribes it (an application)
    /// to the event sources in `param`, of the kinds with an
    /// [`event_source`](Self::event_source).
    pub fn subscribed_by(mut self, resource: &str, nickname: &str, param: &str) -> Self {
        self.subscriptions.push((
            resource.to_owned(),
            nickname.to_owned(),
            param.to_owned(),
            true,
        ));
        self
    }

    /// Operation `resource.nickname` on this object's path unsubscribes it from the event
    /// sources in `param`.
    pub fn unsubscribed_by(mut self, resource: &str, nickname: &str, param: &str) -> Self {
        self.subscriptions.push((
            resource.to_owned(),
            nickname.to_owned(),
            param.to_owned(),
            false,
        ));
        self
    }

    fn rules(&mut self) -> &mut EventRules {
        self.events.get_or_insert_with(EventRules::default)
    }
}

/// The domain objects of Asterisk's ARI (docs/ari-spec-notes.md, "Domain objects").
pub fn asterisk() -> Vec<ObjectSpec> {
    vec![
        ObjectSpec::new("Channel", "Channel", "channels", "/channels/{channelId}")
            .id("channelId", "id")
            .doc("A channel: a call leg in Asterisk.")
            .named_by(&["channel", "peer"])
            .event_source("channel")
            .ended_by(&["ChannelDestroyed"])
            .left_by(&["StasisEnd"])
            .created_by("channels", "originate", "channelId")
            .created_by("channels", "originateWithId", "channelId")
            .created_by("channels", "create", "channelId")
            .created_by("channels", "externalMedia", "channelId")
            .created_by("channels", "snoopChannel", "snoopId")
            .created_by("channels", "snoopChannelWithId", "snoopId"),
        ObjectSpec::new("Bridge", "Bridge", "bridges", "/bridges/{bridgeId}")
            .id("bridgeId", "id")
            .doc("A bridge: channels mixed or held together.")
            .named_by(&["bridge"])
            .ended_by(&["BridgeDestroyed"])
            .event_source("bridge")
            .end_needs_subscription()
            .created_by("bridges", "create", "bridgeId")
            .created_by("bridges", "createWithId", "bridgeId")
            .destroyed_by("bridges", "destroy"),
        ObjectSpec::new(
            "Playback",
            "Playback",
            "playbacks",
            "/playbacks/{playbackId}",
        )
        .id("playbackId", "id")
        .doc("A playback of media on a channel or bridge.")
        .named_by(&["playback"])
        .ended_by(&["PlaybackFinished"])
        .created_by("channels", "play", "playbackId")
        .created_by("channels", "playWithId", "playbackId")
        .created_by("bridges", "play", "playbackId")
        .created_by("bridges", "playWithId", "playbackId"),
        ObjectSpec::new(
            "LiveRecording",
            "LiveRecording",
            "recordings",
            "/recordings/live/{recordingName}",
        )
        .id("recordingName", "name")
        .doc("A recording in progress.")
        .named_by(&["recording"])
        .ended_by(&["RecordingFinished", "RecordingFailed"])
        .created_by("channels", "record", "name")
        .created_by("bridges", "record", "name"),
        ObjectSpec::new(
            "StoredRecording",
            "StoredRecording",
            "recordings",
            "/recordings/stored/{recordingName}",
        )
        .id("recordingName", "name")
        .doc("A finished recording in the recordings spool."),
        ObjectSpec::new(
            "Endpoint",
            "Endpoint",
            "endpoints",
            "/endpoints/{tech}/{resource}",
        )
        .id("tech", "technology")
        .id("resource", "resource")
        .doc("An endpoint: a technology and resource that channels are made to.")
        .named_by(&["endpoint"])
        .event_source("endpoint"),
        ObjectSpec::new(
            "DeviceState",
            "DeviceState",
            "deviceStates",
            "/deviceStates/{deviceName}",
        )
        .id("deviceName", "name")
        .doc("A device state controlled through ARI.")
        .named_by(&["device_state"])
        .event_source("deviceState"),
        ObjectSpec::new(
            "Mailbox",
            "Mailbox",
            "mailboxes",
            "/mailboxes/{mailboxName}",
        )
        .id("mailboxName", "name")
        .doc("A mailbox's message counts."),
        ObjectSpec::new("Sound", "Sound", "sounds", "/sounds/{soundId}")
            .id("soundId", "id")
            .doc("A sound file that can be played."),
        ObjectSpec::new(
            "Application",
            "Application",
            "applications",
            "/applications/{applicationName}",
        )
        .id("applicationName", "name")
        .doc("A Stasis application.")
        .subscribed_by("applications", "subscribe", "eventSource")
        .unsubscribed_by("applications", "unsubscribe", "eventSource"),
    ]
}

/// One kind of domain object, checked against the spec and resolved.
#[derive(Debug, Clone)]
pub struct DomainObject {
    /// The Rust type (`Channel`).
    pub name: String,
    /// The Rust name of its model (`Channel`).
    pub model: String,
    /// The resource its methods come from (index into [`Api::resources`]).
    pub resource: usize,
    /// The object's path (`/channels/{channelId}`).
    pub path: String,
    /// `(path template, Rust field name)` of the id.
    pub id: Vec<(String, String)>,
    /// What the object is.
    pub doc: String,
    /// The operations that become its methods, in the resource's order.
    pub methods: Vec<OperationRef>,
    /// How events name it; `None` for objects without events.
    pub events: Option<ObjectEvents>,
    /// The operations that subscribe it to event sources (`true`) or unsubscribe it, and
    /// the Rust name of the sources' parameter.
    pub subscriptions: Vec<(OperationRef, String, bool)>,
}

/// The resolved [`EventRules`] of one object kind.
#[derive(Debug, Clone)]
pub struct ObjectEvents {
    /// The event fields that name the object, each found in at least one event type.
    pub fields: Vec<String>,
    /// Wire names of the event types that end it.
    pub ends: Vec<String>,
    /// Wire names of the event types after which it is gone unless the app stays subscribed.
    pub leaves: Vec<String>,
    /// The operations that create it with a client-chosen id, and that parameter's Rust name.
    pub creators: Vec<(OperationRef, String)>,
    /// The operations whose success destroys it.
    pub destroyers: Vec<OperationRef>,
    /// The event-source prefix.
    pub event_source: Option<String>,
    /// Whether its end event comes only with a subscription.
    pub end_needs_subscription: bool,
}

impl DomainObject {
    /// Whether events name this kind of object.
    pub fn has_events(&self) -> bool {
        self.events.is_some()
    }

    /// Whether `event` (an event model) names this kind of object in field `field`.
    pub fn named_in(&self, event: &super::Model, field: &str) -> bool {
        self.events
            .as_ref()
            .is_some_and(|e| e.fields.iter().any(|f| f == field))
            && event
                .fields
                .iter()
                .any(|f| f.api_name == field && f.ty == Type::Model(self.model.clone()))
    }
}

const TABLE: &str = "domain objects";

/// Checks the table against the API and resolves it.
pub(super) fn resolve(api: &Api, specs: &[ObjectSpec]) -> Result<Vec<DomainObject>, Error> {
    let mut out: Vec<DomainObject> = Vec::new();
    for spec in specs {
        let at = |what: String| err(TABLE, format!("/{}", spec.name), what);
        if !names::is_identifier(&spec.name) || names::is_keyword(&spec.name) {
            return Err(at(format!("`{}` is no usable type name", spec.name)));
        }
        if out.iter().any(|o| o.name == spec.name) {
            return Err(at("listed twice".into()));
        }
        let model = api
            .models
            .iter()
            .find(|m| m.api_name == spec.model)
            .ok_or_else(|| at(format!("model `{}` is not in the spec", spec.model)))?;
        if out.iter().any(|o| o.model == model.name) {
            return Err(at(format!("model `{}` has two object kinds", spec.model)));
        }
        let resource = api
            .resources
            .iter()
            .position(|r| r.api_name == spec.resource)
            .ok_or_else(|| at(format!("resource `{}` is not in the spec", spec.resource)))?;
        let mut id = Vec::new();
        for (template, field) in &spec.id {
            if !spec.path.contains(&format!("{{{template}}}")) {
                return Err(at(format!("`{{{template}}}` is not in {}", spec.path)));
            }
            let f = model.fields.iter().find(|f| f.api_name == *field);
            match f {
                Some(f) if f.required && f.ty == Type::String => {
                    id.push((template.clone(), f.name.clone()))
                }
                _ => {
                    return Err(err(
                        &model.file,
                        format!("/models/{}", model.api_name),
                        format!(
                            "domain object `{}` needs a required string field `{field}`",
                            spec.name
                        ),
                    ))
                }
            }
        }
        let methods = methods(api, resource, &spec.path, &id);
        let events = match &spec.events {
            Some(rules) => Some(events(api, spec, &model.name, rules)?),
            None => None,
        };
        let subscriptions = subscriptions(api, spec)?;
        out.push(DomainObject {
            name: spec.name.clone(),
            model: model.name.clone(),
            resource,
            path: spec.path.clone(),
            id,
            doc: spec.doc.clone(),
            methods,
            events,
            subscriptions,
        });
    }
    Ok(out)
}

/// An operation `resource.nickname` of the spec.
fn find_operation(api: &Api, resource: &str, nickname: &str) -> Option<OperationRef> {
    api.resources.iter().enumerate().find_map(|(ri, r)| {
        let oi = r
            .operations
            .iter()
            .position(|o| r.api_name == *resource && o.api_name == *nickname)?;
        Some(OperationRef {
            resource: ri,
            operation: oi,
        })
    })
}

/// Whether operation `op` takes every path template of the object's id.
fn binds_id(api: &Api, spec: &ObjectSpec, op: OperationRef) -> bool {
    spec.id.iter().all(|(template, _)| {
        api.operation(op)
            .1
            .params
            .iter()
            .any(|p| p.kind == ParamKind::Path && p.api_name == *template)
    })
}

fn subscriptions(api: &Api, spec: &ObjectSpec) -> Result<Vec<(OperationRef, String, bool)>, Error> {
    let at = |what: String| err(TABLE, format!("/{}/subscriptions", spec.name), what);
    let mut out = Vec::new();
    for (resource, nickname, param, subscribes) in &spec.subscriptions {
        let name = format!("{resource}.{nickname}");
        let op = find_operation(api, resource, nickname)
            .ok_or_else(|| at(format!("{name} is not in the spec")))?;
        if !binds_id(api, spec, op) {
            return Err(at(format!("{name} does not take the object's id")));
        }
        let p = api
            .operation(op)
            .1
            .params
            .iter()
            .find(|p| p.api_name == *param && p.kind == ParamKind::Query && p.ty == Type::String)
            .ok_or_else(|| at(format!("{name} has no string query parameter `{param}`")))?;
        out.push((op, p.name.clone(), *subscribes));
    }
    Ok(out)
}

/// The operations under the object's path that take all of its id parameters; `…WithId`
/// operations on the path itself create a new object with that id and are not methods.
fn methods(api: &Api, resource: usize, path: &str, id: &[(String, String)]) -> Vec<OperationRef> {
    let r = &api.resources[resource];
    let mut out = Vec::new();
    for (i, o) in r.operations.iter().enumerate() {
        let under = o.path == path || o.path.starts_with(&format!("{path}/"));
        let creates = o.path == path && o.api_name.ends_with("WithId");
        let binds_all = id.iter().all(|(template, _)| {
            o.params
                .iter()
                .any(|p| p.kind == ParamKind::Path && p.api_name == *template)
        });
        if under && !creates && !o.excluded && binds_all {
            out.push(OperationRef {
                resource,
                operation: i,
            });
        }
    }
    out
}

fn events(
    api: &Api,
    spec: &ObjectSpec,
    model: &str,
    rules: &EventRules,
) -> Result<ObjectEvents, Error> {
    let at = |what: String| err(TABLE, format!("/{}/events", spec.name), what);
    if rules.fields.is_empty() {
        return Err(at("no event field names the object".into()));
    }
    for field in &rules.fields {
        let found = api.events.iter().any(|e| {
            e.fields
                .iter()
                .any(|f| f.api_name == *field && f.ty == Type::Model(model.to_owned()))
        });
        if !found {
            return Err(at(format!(
                "no event has a field `{field}` of type `{}`",
                spec.model
            )));
        }
    }
    if rules.end_needs_subscription && rules.event_source.is_none() {
        return Err(at(
            "the end needs a subscription, but no event source is given".into(),
        ));
    }
    for event in rules.ends.iter().chain(&rules.leaves) {
        if !api.events.iter().any(|e| e.api_name == *event) {
            return Err(at(format!("event type `{event}` is not in the spec")));
        }
    }
    let mut creators = Vec::new();
    for (resource, nickname, param) in &rules.creators {
        let name = format!("{resource}.{nickname}");
        let ri = api
            .resources
            .iter()
            .position(|r| r.api_name == *resource)
            .ok_or_else(|| at(format!("creator {name}: no resource `{resource}`")))?;
        let oi = api.resources[ri]
            .operations
            .iter()
            .position(|o| o.api_name == *nickname)
            .ok_or_else(|| at(format!("creator {name} is not in the spec")))?;
        let op = &api.resources[ri].operations[oi];
        let p = op
            .params
            .iter()
            .find(|p| p.api_name == *param && p.ty == Type::String && !p.multi)
            .ok_or_else(|| at(format!("creator {name} has no string parameter `{param}`")))?;
        if op.response != Response::Json(Type::Model(model.to_owned())) {
            return Err(at(format!(
                "creator {name} does not return `{}`",
                spec.model
            )));
        }
        creators.push((
            OperationRef {
                resource: ri,
                operation: oi,
            },
            p.name.clone(),
        ));
    }
    let mut destroyers = Vec::new();
    for (resource, nickname) in &rules.destroyers {
        let name = format!("{resource}.{nickname}");
        let op = find_operation(api, resource, nickname)
            .ok_or_else(|| at(format!("destroyer {name} is not in the spec")))?;
        if !binds_id(api, spec, op) {
            return Err(at(format!(
                "destroyer {name} does not take the object's id"
            )));
        }
        destroyers.push(op);
    }
    Ok(ObjectEvents {
        fields: rules.fields.clone(),
        ends: rules.ends.clone(),
        leaves: rules.leaves.clone(),
        creators,
        destroyers,
        event_source: rules.event_source.clone(),
        end_needs_subscription: rules.end_needs_subscription,
    })
}
