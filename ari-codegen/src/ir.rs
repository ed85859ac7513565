//! The intermediate representation: every name and type resolved across all files.
//!
//! [`Api::build`] validates the spec as it goes (duplicate names, unknown types, path
//! templates against path parameters, identifiers that collide) and reports the file and
//! JSON path of the first problem.

use std::collections::{BTreeMap, BTreeSet};

use crate::fixups::U32_TYPE;
use crate::names;
use crate::spec::{self, ErrorCode, Spec};
use crate::Error;

/// Operations that get no repository method, as `(resource, nickname)`: the events
/// websocket is opened by the runtime's connection, not by a REST call.
pub const EXCLUDED_OPERATIONS: &[(&str, &str)] = &[("events", "eventWebsocket")];

/// Models that are only bases of the event tree: their fields are written out in every
/// event (and in `MissingParams`), and they get no type of their own.
pub const ABSTRACT_MODELS: &[&str] = &["Message", "Event"];

/// A resolved type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Type {
    /// `string`.
    String,
    /// `int`.
    I32,
    /// `long`.
    I64,
    /// `int` that a fixup declared unsigned.
    U32,
    /// `double`.
    F64,
    /// `boolean`.
    Bool,
    /// `Date`.
    Date,
    /// `object`: free-form JSON.
    Object,
    /// A `variables` body: a JSON object of variables.
    Variables,
    /// `List[x]`.
    List(Box<Type>),
    /// A model, by its Rust name.
    Model(String),
    /// A string enum, by its Rust name.
    Enum(String),
}

/// A whole API: all resources, models, enums and events.
#[derive(Debug, Clone)]
pub struct Api {
    /// `resources.json#/apiVersion`.
    pub version: Option<String>,
    /// Resources sorted by name.
    pub resources: Vec<Resource>,
    /// Non-event, non-abstract models, sorted by Rust name.
    pub models: Vec<Model>,
    /// String enums, sorted by Rust name.
    pub enums: Vec<EnumDef>,
    /// Event types, sorted by wire name.
    pub events: Vec<Model>,
    /// Every model id of the spec (abstract bases, events and the others).
    pub all_model_ids: Vec<String>,
}

/// One resource (API declaration file).
#[derive(Debug, Clone)]
pub struct Resource {
    /// `deviceStates`.
    pub api_name: String,
    /// `device_states`.
    pub module: String,
    /// `DeviceStates`.
    pub type_name: String,
    /// From resources.json.
    pub description: Option<String>,
    /// Operations in file order.
    pub operations: Vec<Operation>,
}

/// HTTP methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMethod {
    /// GET.
    Get,
    /// POST.
    Post,
    /// PUT.
    Put,
    /// DELETE.
    Delete,
}

impl HttpMethod {
    /// `GET`, …
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Delete => "DELETE",
        }
    }
}

/// A piece of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// A literal segment.
    Literal(String),
    /// `{name}`: the wire name of a path parameter.
    Param(String),
}

/// One operation.
#[derive(Debug, Clone)]
pub struct Operation {
    /// The nickname (`sendDTMF`).
    pub api_name: String,
    /// `send_dtmf`.
    pub method_name: String,
    /// `SendDtmf`.
    pub builder_name: String,
    /// The HTTP method.
    pub http_method: HttpMethod,
    /// `/channels/{channelId}/dtmf`.
    pub path: String,
    /// The path split into segments.
    pub segments: Vec<Segment>,
    /// Summary.
    pub summary: Option<String>,
    /// Notes.
    pub notes: Option<String>,
    /// Versions.
    pub since: Vec<String>,
    /// Parameters in spec order.
    pub params: Vec<Param>,
    /// What the operation returns.
    pub response: Response,
    /// Documented error statuses.
    pub errors: Vec<(u16, String)>,
    /// True for the events websocket (no repository method).
    pub excluded: bool,
    /// `channels.json#/apis/2/operations/1`.
    pub location: String,
}

/// Where a parameter travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// In the path.
    Path,
    /// In the query string.
    Query,
    /// In the JSON body.
    Body,
}

/// How a body parameter becomes the request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyShape {
    /// `{"<key>": value}`.
    Wrapped(&'static str),
    /// The value is the whole body.
    Whole,
}

/// One parameter.
#[derive(Debug, Clone)]
pub struct Param {
    /// The Rust name (`absorb_dtmf`).
    pub name: String,
    /// The wire name (`absorbDTMF`).
    pub api_name: String,
    /// Path, query or body.
    pub kind: ParamKind,
    /// The element type (for `multi`, the type of one value).
    pub ty: Type,
    /// Required (path parameters always are).
    pub required: bool,
    /// allowMultiple: a list sent as one comma-joined value.
    pub multi: bool,
    /// For body parameters: the body's shape.
    pub body: Option<BodyShape>,
    /// The description.
    pub description: Option<String>,
    /// The informational default, as JSON text.
    pub default: Option<String>,
    /// A RANGE of allowable values, as text (`min 0`).
    pub range: Option<String>,
}

/// What an operation returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// Nothing (204).
    Void,
    /// JSON of this type.
    Json(Type),
    /// Raw bytes (`binary`).
    Binary,
}

/// A model or event type.
#[derive(Debug, Clone)]
pub struct Model {
    /// The spec id (`RTPstat`).
    pub api_name: String,
    /// The Rust name (`RtpStat`).
    pub name: String,
    /// The description.
    pub description: Option<String>,
    /// Fields; for events the inherited ones come first.
    pub fields: Vec<Field>,
    /// The file that defines it.
    pub file: String,
}

/// A field of a model.
#[derive(Debug, Clone)]
pub struct Field {
    /// Rust name (`kind`).
    pub name: String,
    /// Wire name (`type`).
    pub api_name: String,
    /// Type.
    pub ty: Type,
    /// Required (a missing `required` key counts as false).
    pub required: bool,
    /// The description.
    pub description: Option<String>,
}

/// A string enum from an `allowableValues` LIST.
#[derive(Debug, Clone)]
pub struct EnumDef {
    /// The Rust name.
    pub name: String,
    /// `(wire value, variant name)` in spec order.
    pub values: Vec<(String, String)>,
    /// Where it is used (`Channel.state`, `channels.hangup reason`), sorted.
    pub used_by: Vec<String>,
}

impl Api {
    /// Validates and resolves a (fixed-up) spec.
    pub fn build(spec: &Spec) -> Result<Api, Error> {
        Builder::default().build(spec)
    }

    /// The model or event with Rust name `name`.
    pub fn model(&self, name: &str) -> Option<&Model> {
        self.models
            .iter()
            .chain(&self.events)
            .find(|m| m.name == name)
    }
}

#[derive(Default)]
struct Builder {
    /// model id → (file, rust name)
    model_ids: BTreeMap<String, (String, String)>,
    enums: BTreeMap<String, EnumDef>,
}

fn err(file: &str, pointer: impl Into<String>, msg: impl Into<String>) -> Error {
    Error::new(file, pointer, msg)
}

/// JSON-pointer escaping of one key.
fn key(k: &str) -> String {
    k.replace('~', "~0").replace('/', "~1")
}

impl Builder {
    fn build(mut self, spec: &Spec) -> Result<Api, Error> {
        // 1. every model id, across all files (the namespace is global)
        let mut rust_names: BTreeMap<String, String> = BTreeMap::new();
        for f in &spec.files {
            for (id, m) in &f.decl.models.0 {
                let ptr = format!("/models/{}", key(id));
                if m.id != *id {
                    return Err(err(
                        &f.file,
                        format!("{ptr}/id"),
                        format!("id {:?} differs from its key", m.id),
                    ));
                }
                if let Some((other, _)) = self.model_ids.get(id) {
                    return Err(err(
                        &f.file,
                        ptr,
                        format!("model `{id}` is also defined in {other}"),
                    ));
                }
                let name = names::type_name(id);
                if !names::is_identifier(&name) || names::is_keyword(&name) {
                    return Err(err(
                        &f.file,
                        ptr,
                        format!("model `{id}` gives no usable type name"),
                    ));
                }
                if let Some(other) = rust_names.insert(name.clone(), id.clone()) {
                    return Err(err(
                        &f.file,
                        ptr,
                        format!("models `{other}` and `{id}` both become `{name}`"),
                    ));
                }
                self.model_ids.insert(id.clone(), (f.file.clone(), name));
            }
        }
        let find = |id: &str| {
            spec.files
                .iter()
                .find_map(|f| f.decl.models.get(id).map(|m| (f.file.as_str(), m)))
        };

        // 2. the event tree: Message (discriminator) → Event → event types
        let (message_file, message) = find("Message")
            .ok_or_else(|| err("events.json", "/models", "model `Message` is missing"))?;
        let discriminator = message
            .discriminator
            .clone()
            .unwrap_or_else(|| "type".into());
        let (event_file, event) = find("Event")
            .ok_or_else(|| err("events.json", "/models", "model `Event` is missing"))?;
        if !message.sub_types.iter().any(|s| s == "Event") {
            return Err(err(
                message_file,
                "/models/Message/subTypes",
                "`Event` is not a sub-type of `Message`",
            ));
        }
        let mut base_fields = Vec::new();
        for (pname, p) in &message.properties.0 {
            if *pname != discriminator {
                base_fields.push(self.field(message_file, "Message", pname, p)?);
            }
        }
        let message_fields = base_fields.clone();
        for (pname, p) in &event.properties.0 {
            base_fields.push(self.field(event_file, "Event", pname, p)?);
        }
        let mut event_ids = BTreeSet::new();
        let mut events = Vec::new();
        for (i, sub) in event.sub_types.iter().enumerate() {
            let (file, m) = find(sub).ok_or_else(|| {
                err(
                    event_file,
                    format!("/models/Event/subTypes/{i}"),
                    format!("unknown model `{sub}`"),
                )
            })?;
            if !event_ids.insert(sub.clone()) {
                return Err(err(
                    event_file,
                    format!("/models/Event/subTypes/{i}"),
                    format!("`{sub}` is listed twice"),
                ));
            }
            if !m.sub_types.is_empty() {
                return Err(err(
                    file,
                    format!("/models/{}/subTypes", key(sub)),
                    "nested event sub-types are not supported",
                ));
            }
            let mut model = self.model(file, m)?;
            let mut fields = base_fields.clone();
            fields.append(&mut model.fields);
            model.fields = fields;
            check_unique_fields(&model)?;
            events.push(model);
        }
        events.sort_by(|a, b| a.api_name.cmp(&b.api_name));

        // 3. the other models
        let mut models = Vec::new();
        for f in &spec.files {
            for (id, m) in &f.decl.models.0 {
                if ABSTRACT_MODELS.contains(&id.as_str()) || event_ids.contains(id) {
                    continue;
                }
                let mut model = self.model(&f.file, m)?;
                if message.sub_types.contains(id) {
                    // a Message sub-type other than Event (MissingParams)
                    let mut fields = message_fields.clone();
                    fields.append(&mut model.fields);
                    model.fields = fields;
                }
                check_unique_fields(&model)?;
                models.push(model);
            }
        }
        models.sort_by(|a, b| a.name.cmp(&b.name));

        // 4. resources and operations
        let mut resources = Vec::new();
        for f in &spec.files {
            resources.push(self.resource(f)?);
        }
        resources.sort_by(|a, b| a.module.cmp(&b.module));
        let mut modules = BTreeSet::new();
        for r in &resources {
            if !modules.insert(&r.module) {
                return Err(err(
                    "resources.json",
                    "/apis",
                    format!("two resources become module `{}`", r.module),
                ));
            }
        }

        // 5. enum names must not collide with models
        for name in self.enums.keys() {
            if rust_names.contains_key(name) {
                return Err(err(
                    "",
                    "",
                    format!("enum `{name}` collides with a model of the same name"),
                ));
            }
        }

        let mut all_model_ids: Vec<String> = self.model_ids.keys().cloned().collect();
        all_model_ids.sort();
        Ok(Api {
            version: spec.listing.api_version.clone(),
            resources,
            models,
            enums: self.enums.into_values().collect(),
            events,
            all_model_ids,
        })
    }

    fn model(&mut self, file: &str, m: &spec::Model) -> Result<Model, Error> {
        let mut fields = Vec::new();
        for (pname, p) in &m.properties.0 {
            fields.push(self.field(file, &m.id, pname, p)?);
        }
        Ok(Model {
            api_name: m.id.clone(),
            name: self.model_ids[&m.id].1.clone(),
            description: m.description.clone(),
            fields,
            file: file.to_owned(),
        })
    }

    fn field(
        &mut self,
        file: &str,
        model: &str,
        pname: &str,
        p: &spec::Property,
    ) -> Result<Field, Error> {
        let ptr = format!("/models/{}/properties/{}", key(model), key(pname));
        let name = names::field_name(pname);
        if !names::is_identifier(&name) {
            return Err(err(
                file,
                ptr,
                format!("property `{pname}` gives no usable field name"),
            ));
        }
        let mut ty = self.resolve(&p.ty).ok_or_else(|| {
            err(
                file,
                format!("{ptr}/type"),
                format!("unknown type `{}`", p.ty),
            )
        })?;
        if let Some(av) = &p.allowable_values {
            if av.value_type.eq_ignore_ascii_case("LIST") {
                if ty != Type::String {
                    return Err(err(
                        file,
                        format!("{ptr}/allowableValues"),
                        "a LIST of values needs type `string`",
                    ));
                }
                let name = names::property_enum_name(model, pname);
                ty = Type::Enum(self.add_enum(
                    file,
                    &format!("{ptr}/allowableValues"),
                    name,
                    &av.values,
                    format!("{model}.{pname}"),
                )?);
            }
        }
        Ok(Field {
            name,
            api_name: pname.to_owned(),
            ty,
            required: p.required.unwrap_or(false),
            description: p.description.clone(),
        })
    }

    fn add_enum(
        &mut self,
        file: &str,
        ptr: &str,
        name: String,
        values: &[String],
        user: String,
    ) -> Result<String, Error> {
        if values.is_empty() {
            return Err(err(file, ptr, "empty LIST of values"));
        }
        let mut variants: Vec<(String, String)> = Vec::new();
        for (i, v) in values.iter().enumerate() {
            let variant = names::variant_name(v).ok_or_else(|| {
                err(
                    file,
                    format!("{ptr}/values/{i}"),
                    format!("value {v:?} gives no usable variant name"),
                )
            })?;
            if variant == "Unrecognized" {
                return Err(err(
                    file,
                    format!("{ptr}/values/{i}"),
                    "value collides with the `Unrecognized` fallback variant",
                ));
            }
            if let Some((other, _)) = variants.iter().find(|(_, n)| *n == variant) {
                return Err(err(
                    file,
                    format!("{ptr}/values/{i}"),
                    format!("values {other:?} and {v:?} both become variant `{variant}`"),
                ));
            }
            variants.push((v.clone(), variant));
        }
        match self.enums.get_mut(&name) {
            Some(e) if e.values == variants => {
                e.used_by.push(user);
                e.used_by.sort();
            }
            Some(e) => {
                return Err(err(
                    file,
                    ptr,
                    format!(
                        "enum `{name}` is also used by {} with other values",
                        e.used_by.join(", ")
                    ),
                ));
            }
            None => {
                self.enums.insert(
                    name.clone(),
                    EnumDef {
                        name: name.clone(),
                        values: variants,
                        used_by: vec![user],
                    },
                );
            }
        }
        Ok(name)
    }

    fn resolve(&self, ty: &str) -> Option<Type> {
        Some(match ty {
            "string" => Type::String,
            "int" => Type::I32,
            "long" => Type::I64,
            "double" => Type::F64,
            "boolean" => Type::Bool,
            "Date" => Type::Date,
            "object" => Type::Object,
            t if t == U32_TYPE => Type::U32,
            t => {
                if let Some(inner) = t.strip_prefix("List[").and_then(|r| r.strip_suffix(']')) {
                    Type::List(Box::new(self.resolve(inner)?))
                } else {
                    Type::Model(self.model_ids.get(t)?.1.clone())
                }
            }
        })
    }

    fn resource(&mut self, f: &spec::SpecFile) -> Result<Resource, Error> {
        let file = f.file.as_str();
        let module = names::module_name(&f.resource);
        let mut operations = Vec::new();
        let mut nicknames = BTreeMap::new();
        let mut paths = BTreeSet::new();
        for (ai, api) in f.decl.apis.iter().enumerate() {
            if !paths.insert(api.path.as_str()) {
                return Err(err(
                    file,
                    format!("/apis/{ai}/path"),
                    format!("path `{}` occurs twice", api.path),
                ));
            }
            let mut methods = BTreeSet::new();
            for (oi, op) in api.operations.iter().enumerate() {
                let loc = format!("/apis/{ai}/operations/{oi}");
                if let Some(prev) = nicknames.insert(op.nickname.clone(), loc.clone()) {
                    return Err(err(
                        file,
                        format!("{loc}/nickname"),
                        format!("nickname `{}` is also used at {prev}", op.nickname),
                    ));
                }
                let o = self.operation(f, &api.path, op, &loc)?;
                if !methods.insert(o.http_method.as_str()) {
                    return Err(err(
                        file,
                        format!("{loc}/httpMethod"),
                        "two operations with the same HTTP method on one path",
                    ));
                }
                operations.push(o);
            }
        }
        let mut method_names = BTreeMap::new();
        for o in &operations {
            if let Some(prev) = method_names.insert(o.method_name.clone(), o.api_name.clone()) {
                return Err(err(
                    file,
                    o.location.clone(),
                    format!(
                        "nicknames `{prev}` and `{}` both become `{}`",
                        o.api_name, o.method_name
                    ),
                ));
            }
        }
        Ok(Resource {
            api_name: f.resource.clone(),
            type_name: names::repository_name(&f.resource),
            module,
            description: f.description.clone(),
            operations,
        })
    }

    fn operation(
        &mut self,
        f: &spec::SpecFile,
        path: &str,
        op: &spec::Operation,
        loc: &str,
    ) -> Result<Operation, Error> {
        let file = f.file.as_str();
        let http_method = match op.http_method.to_ascii_uppercase().as_str() {
            "GET" => HttpMethod::Get,
            "POST" => HttpMethod::Post,
            "PUT" => HttpMethod::Put,
            "DELETE" => HttpMethod::Delete,
            other => {
                return Err(err(
                    file,
                    format!("{loc}/httpMethod"),
                    format!("unsupported HTTP method `{other}`"),
                ))
            }
        };
        let method_name = names::method_name(&op.nickname);
        if !names::is_identifier(&method_name)
            || names::is_keyword(&method_name)
            || method_name == "new"
        {
            return Err(err(
                file,
                format!("{loc}/nickname"),
                format!("nickname `{}` gives no usable method name", op.nickname),
            ));
        }
        // the path and its templates
        let path_ptr = format!(
            "{}/path",
            loc.rsplit_once("/operations").map_or(loc, |x| x.0)
        );
        if !path.starts_with('/') {
            return Err(err(file, path_ptr, "path does not start with `/`"));
        }
        let mut segments = Vec::new();
        for s in path[1..].split('/') {
            if let Some(name) = s.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
                if name.is_empty() || segments.contains(&Segment::Param(name.to_owned())) {
                    return Err(err(
                        file,
                        path_ptr,
                        format!("bad or repeated template `{s}`"),
                    ));
                }
                segments.push(Segment::Param(name.to_owned()));
            } else if s.contains(['{', '}']) || s.is_empty() {
                return Err(err(
                    file,
                    path_ptr,
                    format!("unsupported path segment `{s}`"),
                ));
            } else {
                segments.push(Segment::Literal(s.to_owned()));
            }
        }
        let mut params = Vec::new();
        let mut seen_api = BTreeSet::new();
        let mut seen_rust = BTreeSet::new();
        let mut bodies = 0;
        for (pi, p) in op.parameters.iter().enumerate() {
            let ptr = format!("{loc}/parameters/{pi}");
            if !seen_api.insert(p.name.as_str()) {
                return Err(err(
                    file,
                    ptr,
                    format!("parameter `{}` is declared twice", p.name),
                ));
            }
            let name = names::field_name(&p.name);
            if !names::is_identifier(&name) || name == "rest" {
                return Err(err(
                    file,
                    format!("{ptr}/name"),
                    format!("parameter `{}` gives no usable name", p.name),
                ));
            }
            if !seen_rust.insert(name.clone()) {
                return Err(err(
                    file,
                    format!("{ptr}/name"),
                    format!("two parameters become `{name}`"),
                ));
            }
            let multi = p.allow_multiple.unwrap_or(false);
            let mut required = p.required.unwrap_or(false);
            let mut body = None;
            let kind = match p.param_type.as_str() {
                "path" => {
                    if p.required == Some(false) {
                        return Err(err(
                            file,
                            format!("{ptr}/required"),
                            "a path parameter cannot be optional",
                        ));
                    }
                    if !segments.contains(&Segment::Param(p.name.clone())) {
                        return Err(err(
                            file,
                            format!("{ptr}/name"),
                            format!(
                                "path parameter `{}` has no `{{{}}}` in the path {path}",
                                p.name, p.name
                            ),
                        ));
                    }
                    if multi || p.data_type != "string" {
                        return Err(err(file, ptr, "path parameters must be single strings"));
                    }
                    required = true;
                    ParamKind::Path
                }
                "query" => ParamKind::Query,
                "body" => {
                    bodies += 1;
                    if bodies > 1 {
                        return Err(err(file, ptr, "more than one body parameter"));
                    }
                    ParamKind::Body
                }
                other => {
                    return Err(err(
                        file,
                        format!("{ptr}/paramType"),
                        format!("unsupported paramType `{other}`"),
                    ))
                }
            };
            let mut range = None;
            let mut ty = match (kind, p.data_type.as_str()) {
                (ParamKind::Body, "containers") if p.name == "variables" => {
                    body = Some(if f.resource == "bridges" && op.nickname == "create" {
                        // POST /bridges turns the whole body into variables
                        // (res/ari/resource_bridges.c:1142-1153), unlike every other op
                        BodyShape::Whole
                    } else {
                        BodyShape::Wrapped("variables")
                    });
                    Type::Variables
                }
                (ParamKind::Body, "containers") if p.name == "fields" => {
                    body = Some(BodyShape::Wrapped("fields"));
                    Type::List(Box::new(Type::Model(
                        self.model_ids
                            .get("ConfigTuple")
                            .ok_or_else(|| {
                                err(file, ptr.clone(), "`fields` needs model `ConfigTuple`")
                            })?
                            .1
                            .clone(),
                    )))
                }
                (ParamKind::Body, "object") => {
                    body = Some(BodyShape::Whole);
                    Type::Object
                }
                (ParamKind::Body, other) => {
                    return Err(err(
                        file,
                        format!("{ptr}/dataType"),
                        format!("unsupported body parameter type `{other}` for `{}`", p.name),
                    ))
                }
                (_, "string") => Type::String,
                (_, "int") => Type::I32,
                (_, "long") => Type::I64,
                (_, "boolean") => Type::Bool,
                (_, "double") => Type::F64,
                (_, other) => {
                    return Err(err(
                        file,
                        format!("{ptr}/dataType"),
                        format!("unsupported parameter type `{other}`"),
                    ))
                }
            };
            if let Some(av) = &p.allowable_values {
                match av.value_type.to_ascii_uppercase().as_str() {
                    "LIST" => {
                        if ty != Type::String {
                            return Err(err(
                                file,
                                format!("{ptr}/allowableValues"),
                                "a LIST of values needs dataType `string`",
                            ));
                        }
                        let ename = names::parameter_enum_name(&op.nickname, &p.name);
                        ty = Type::Enum(self.add_enum(
                            file,
                            &format!("{ptr}/allowableValues"),
                            ename,
                            &av.values,
                            format!("{}.{} {}", f.resource, op.nickname, p.name),
                        )?);
                    }
                    "RANGE" => {
                        let mut parts = Vec::new();
                        if let Some(min) = &av.min {
                            parts.push(format!("at least {min}"));
                        }
                        if let Some(max) = &av.max {
                            parts.push(format!("at most {max}"));
                        }
                        range = Some(parts.join(", "));
                    }
                    other => {
                        return Err(err(
                            file,
                            format!("{ptr}/allowableValues/valueType"),
                            format!("unsupported valueType `{other}`"),
                        ))
                    }
                }
            }
            params.push(Param {
                name,
                api_name: p.name.clone(),
                kind,
                ty,
                required,
                multi,
                body,
                description: p.description.clone(),
                default: p.default_value.as_ref().map(|v| v.to_string()),
                range,
            });
        }
        for s in &segments {
            if let Segment::Param(name) = s {
                if !params
                    .iter()
                    .any(|p| p.kind == ParamKind::Path && p.api_name == *name)
                {
                    return Err(err(
                        file,
                        loc.to_owned(),
                        format!("path template `{{{name}}}` has no path parameter"),
                    ));
                }
            }
        }
        let response = match op.response_class.as_str() {
            "void" => Response::Void,
            "binary" => Response::Binary,
            other => Response::Json(
                self.resolve(other)
                    .filter(|t| matches!(t, Type::Model(_) | Type::List(_)))
                    .ok_or_else(|| {
                        err(
                            file,
                            format!("{loc}/responseClass"),
                            format!("unknown response class `{other}`"),
                        )
                    })?,
            ),
        };
        let mut errors = Vec::new();
        for (ei, e) in op.error_responses.iter().enumerate() {
            match &e.code {
                ErrorCode::Int(c) if (100..=599).contains(c) => errors.push((*c, e.reason.clone())),
                ErrorCode::Int(c) => {
                    return Err(err(
                        file,
                        format!("{loc}/errorResponses/{ei}/code"),
                        format!("{c} is not an HTTP status"),
                    ))
                }
                ErrorCode::Str(s) => {
                    return Err(err(
                        file,
                        format!("{loc}/errorResponses/{ei}/code"),
                        format!("error code {s:?} is a string (add a fixup)"),
                    ))
                }
            }
        }
        let excluded = EXCLUDED_OPERATIONS.contains(&(f.resource.as_str(), op.nickname.as_str()))
            || op.upgrade.is_some();
        Ok(Operation {
            api_name: op.nickname.clone(),
            builder_name: names::builder_name(&op.nickname),
            method_name,
            http_method,
            path: path.to_owned(),
            segments,
            summary: op.summary.clone(),
            notes: op.notes.clone(),
            since: op.since.clone(),
            params,
            response,
            errors,
            excluded,
            location: format!("{file}#{loc}"),
        })
    }
}

fn check_unique_fields(m: &Model) -> Result<(), Error> {
    let mut seen = BTreeSet::new();
    for f in &m.fields {
        if !seen.insert(f.name.as_str()) {
            return Err(err(
                &m.file,
                format!("/models/{}", key(&m.api_name)),
                format!("two properties become field `{}`", f.name),
            ));
        }
    }
    Ok(())
}
