//! The intermediate representation: every name and type resolved across all files, and the
//! domain objects bound to their models, operations and events.
//!
//! [`Api::build`] validates the spec as it goes (duplicate names, unknown types, path
//! templates against path parameters, identifiers that collide, domain objects that do not
//! fit the spec) and reports the file and JSON path of the first problem. It is split by
//! concern: [`models`] (models, the event tree, enums), [`operations`] (resources,
//! operations, parameters), [`domain`] (the domain-object table).

pub mod domain;
mod models;
mod operations;

use std::collections::BTreeMap;

use crate::spec::Spec;
use crate::{Counts, Error};

pub(crate) use domain::{DomainObject, ObjectEvents};
pub use domain::{EventRules, ObjectSpec};

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
    /// The domain objects, in the order of the table they were built from.
    pub objects: Vec<DomainObject>,
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
    /// The method of a spec's `httpMethod` (any case).
    pub fn parse(method: &str) -> Option<Self> {
        [Self::Get, Self::Post, Self::Put, Self::Delete]
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(method))
    }

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
    /// The versions of `since`, sorted (the spec's order varies).
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

/// An operation of a resource, by index: `api.resources[resource].operations[operation]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperationRef {
    /// Index into [`Api::resources`].
    pub resource: usize,
    /// Index into that resource's operations.
    pub operation: usize,
}

impl Api {
    /// Validates and resolves a (fixed-up) spec, with the domain objects of `objects`.
    pub fn build(spec: &Spec, objects: &[ObjectSpec]) -> Result<Api, Error> {
        let mut api = Builder::default().build(spec)?;
        api.objects = domain::resolve(&api, objects)?;
        Ok(api)
    }

    /// The model or event with Rust name `name`.
    pub fn model(&self, name: &str) -> Option<&Model> {
        self.models
            .iter()
            .chain(&self.events)
            .find(|m| m.name == name)
    }

    /// The model or event with spec id `id`.
    pub fn model_by_id(&self, id: &str) -> Option<&Model> {
        self.models
            .iter()
            .chain(&self.events)
            .find(|m| m.api_name == id)
    }

    /// The resource with spec name `name` (`channels`).
    pub fn resource(&self, name: &str) -> Option<&Resource> {
        self.resources.iter().find(|r| r.api_name == name)
    }

    /// The operation `r`.
    pub fn operation(&self, r: OperationRef) -> (&Resource, &Operation) {
        let resource = &self.resources[r.resource];
        (resource, &resource.operations[r.operation])
    }

    /// The domain object whose model has Rust name `model`, if any.
    pub fn object_of_model(&self, model: &str) -> Option<&DomainObject> {
        self.objects.iter().find(|o| o.model == model)
    }

    /// What this API generates, counted.
    pub fn counts(&self) -> Counts {
        let operations = self.resources.iter().map(|r| r.operations.len()).sum();
        let methods = self
            .resources
            .iter()
            .flat_map(|r| &r.operations)
            .filter(|o| !o.excluded)
            .count();
        Counts {
            operations,
            methods,
            models: self.all_model_ids.len(),
            events: self.events.len(),
            enums: self.enums.len(),
            enum_values: self.enums.iter().map(|e| e.values.len()).sum(),
            object_methods: self.objects.iter().map(|o| o.methods.len()).sum(),
            object_kinds: self.objects.len(),
        }
    }
}

/// Collects what the stages resolve.
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
