//! Serde structs for exactly the Swagger 1.1/1.2 dialect that Asterisk's `rest-api/` files use.
//!
//! The structs are tolerant of the dialect's quirks: string error codes, the `descriptioni`
//! and `defalutValue` typos, the `__note` key, missing `required`/`allowMultiple` flags and a
//! `swaggerVersion: "1.2"` file (events.json) that still uses the 1.1 field names. Unknown keys
//! are ignored. Maps keep the order of the file ([`Ordered`]) and reject duplicate keys.

use std::fmt;
use std::path::Path;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use crate::Error;

/// A JSON object whose keys keep the order of the file; duplicate keys are an error.
#[derive(Debug, Clone)]
pub struct Ordered<T>(pub Vec<(String, T)>);

impl<T> Default for Ordered<T> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<T> Ordered<T> {
    /// The value for `key`.
    pub fn get(&self, key: &str) -> Option<&T> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The value for `key`, mutably.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut T> {
        self.0.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Ordered<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Ordered<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered<T>, A::Error> {
                let mut out: Vec<(String, T)> = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, T>()? {
                    if out.iter().any(|(seen, _)| *seen == k) {
                        return Err(serde::de::Error::custom(format_args!(
                            "duplicate key `{k}`"
                        )));
                    }
                    out.push((k, v));
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// `resources.json`: the resource listing.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceListing {
    /// The ARI version (the only place that carries the real one).
    #[serde(default)]
    pub api_version: Option<String>,
    /// `"1.1"`.
    #[serde(default)]
    pub swagger_version: Option<String>,
    /// The API declarations.
    pub apis: Vec<ResourceRef>,
}

/// An entry of `resources.json#/apis`.
#[derive(Debug, Clone, Deserialize)]
pub struct ResourceRef {
    /// `/api-docs/channels.{format}`.
    pub path: String,
    /// What the resource is for.
    #[serde(default)]
    pub description: Option<String>,
}

/// One API declaration file (`channels.json`, …).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiDeclaration {
    /// `"1.1"` or `"1.2"`.
    #[serde(default)]
    pub swagger_version: Option<String>,
    /// `/api-docs/channels.{format}`.
    #[serde(default)]
    pub resource_path: Option<String>,
    /// Versions the resource appeared in.
    #[serde(default)]
    pub since: Vec<String>,
    /// Modules the resource needs.
    #[serde(default)]
    pub requires_modules: Vec<String>,
    /// Paths and their operations.
    #[serde(default)]
    pub apis: Vec<Api>,
    /// Models defined by this file.
    #[serde(default)]
    pub models: Ordered<Model>,
}

/// An entry of `apis[]`: one path.
#[derive(Debug, Clone, Deserialize)]
pub struct Api {
    /// `/channels/{channelId}`.
    pub path: String,
    /// What the path is for (missing on three recordings paths).
    #[serde(default)]
    pub description: Option<String>,
    /// One operation per HTTP method.
    #[serde(default)]
    pub operations: Vec<Operation>,
}

/// One operation.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    /// `GET`, `POST`, `PUT` or `DELETE`.
    pub http_method: String,
    /// The operation's name, unique within its file.
    pub nickname: String,
    /// One sentence.
    #[serde(default)]
    pub summary: Option<String>,
    /// Longer notes, may contain HTML.
    #[serde(default)]
    pub notes: Option<String>,
    /// `void`, `binary`, a model or `List[Model]`.
    pub response_class: String,
    /// Versions the operation appeared in.
    #[serde(default)]
    pub since: Vec<String>,
    /// Parameters.
    #[serde(default)]
    pub parameters: Vec<Parameter>,
    /// Documented error statuses.
    #[serde(default)]
    pub error_responses: Vec<ErrorResponse>,
    /// `websocket` for the events websocket.
    #[serde(default)]
    pub upgrade: Option<String>,
}

/// One parameter.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Parameter {
    /// The wire name.
    pub name: String,
    /// What it is (`descriptioni` in two places of endpoints.json).
    #[serde(default, alias = "descriptioni")]
    pub description: Option<String>,
    /// `path`, `query` or `body`.
    pub param_type: String,
    /// Absent on 7 path parameters.
    #[serde(default)]
    pub required: Option<bool>,
    /// Absent on 9 parameters.
    #[serde(default)]
    pub allow_multiple: Option<bool>,
    /// `string`, `int`, `long`, `boolean`, `containers`, `object`.
    pub data_type: String,
    /// Informational default (`defalutValue` in specs up to 16.x).
    #[serde(default, alias = "defalutValue")]
    pub default_value: Option<serde_json::Value>,
    /// A LIST or RANGE.
    #[serde(default)]
    pub allowable_values: Option<AllowableValues>,
}

/// A documented error status.
#[derive(Debug, Clone, Deserialize)]
pub struct ErrorResponse {
    /// The status; a string in channels `move` (see the fixups).
    pub code: ErrorCode,
    /// What it means.
    #[serde(default)]
    pub reason: String,
}

/// An error status as written: normally a number, sometimes a string.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum ErrorCode {
    /// `404`.
    Int(u16),
    /// `"404"`.
    Str(String),
}

/// `allowableValues`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AllowableValues {
    /// `LIST` or `RANGE`.
    pub value_type: String,
    /// The values of a LIST.
    #[serde(default)]
    pub values: Vec<String>,
    /// The lower bound of a RANGE.
    #[serde(default)]
    pub min: Option<serde_json::Value>,
    /// The upper bound of a RANGE.
    #[serde(default)]
    pub max: Option<serde_json::Value>,
}

/// A model.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Model {
    /// Equal to its key.
    pub id: String,
    /// What it is.
    #[serde(default)]
    pub description: Option<String>,
    /// `type` on Message.
    #[serde(default)]
    pub discriminator: Option<String>,
    /// Child models (Message, Event).
    #[serde(default)]
    pub sub_types: Vec<String>,
    /// Properties in file order.
    #[serde(default)]
    pub properties: Ordered<Property>,
}

/// A model property.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Property {
    /// `string`, `int`, `Date`, `List[x]`, a model, …
    #[serde(rename = "type")]
    pub ty: String,
    /// What it is.
    #[serde(default)]
    pub description: Option<String>,
    /// Absent on 16 properties.
    #[serde(default)]
    pub required: Option<bool>,
    /// A LIST of values.
    #[serde(default)]
    pub allowable_values: Option<AllowableValues>,
}

/// All files of a spec folder, parsed.
#[derive(Debug, Clone)]
pub struct Spec {
    /// `resources.json`.
    pub listing: ResourceListing,
    /// The API declarations, in the order of `resources.json`.
    pub files: Vec<SpecFile>,
    /// Every file that was read.
    pub inputs: Vec<std::path::PathBuf>,
}

/// One parsed API declaration.
#[derive(Debug, Clone)]
pub struct SpecFile {
    /// The resource name (`channels`, `deviceStates`).
    pub resource: String,
    /// The file name (`channels.json`).
    pub file: String,
    /// What `resources.json` says about it.
    pub description: Option<String>,
    /// Its content.
    pub decl: ApiDeclaration,
}

impl Spec {
    /// The file that defines model `id`, and the model.
    pub fn model_mut(&mut self, id: &str) -> Option<(&str, &mut Model)> {
        self.files.iter_mut().find_map(|f| {
            let file = f.file.as_str();
            f.decl.models.get_mut(id).map(|m| (file, m))
        })
    }

    /// The operation `nickname` of `resource`.
    pub fn operation_mut(&mut self, resource: &str, nickname: &str) -> Option<&mut Operation> {
        let f = self.files.iter_mut().find(|f| f.resource == resource)?;
        f.decl
            .apis
            .iter_mut()
            .flat_map(|a| a.operations.iter_mut())
            .find(|o| o.nickname == nickname)
    }
}

fn parse_json<T: serde::de::DeserializeOwned>(text: &str, file: &str) -> Result<T, Error> {
    serde_json::from_str(text).map_err(|e| {
        Error::new(
            file,
            "",
            format!(
                "not a valid ARI Swagger file (line {}, column {})",
                e.line(),
                e.column()
            ),
        )
        .with_source(e)
    })
}

fn read_text(path: &Path, file: &str) -> Result<String, Error> {
    std::fs::read_to_string(path)
        .map_err(|e| Error::new(file, "", "cannot read the file").with_source(e))
}

/// Reads `resources.json` and every API declaration it lists from `dir`.
pub fn load(dir: &Path) -> Result<Spec, Error> {
    let mut inputs = vec![dir.join(LISTING)];
    let listing = read_text(&inputs[0], LISTING)?;
    let mut spec = parse(&listing, |file| {
        let path = dir.join(file);
        let text = read_text(&path, file);
        inputs.push(path);
        text
    })?;
    spec.inputs = inputs;
    Ok(spec)
}

/// The file name of the resource listing.
pub const LISTING: &str = "resources.json";

/// Parses a spec set from its texts: `listing` is `resources.json`, and `declaration` gives
/// the text of each API declaration it lists, by file name (`channels.json`). The result's
/// [`Spec::inputs`] is empty.
pub fn parse(
    listing: &str,
    mut declaration: impl FnMut(&str) -> Result<String, Error>,
) -> Result<Spec, Error> {
    let listing: ResourceListing = parse_json(listing, LISTING)?;
    let mut files = Vec::new();
    for (i, r) in listing.apis.iter().enumerate() {
        let name = r
            .path
            .rsplit('/')
            .next()
            .and_then(|last| last.strip_suffix(".{format}"))
            .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            .ok_or_else(|| {
                Error::new(
                    LISTING,
                    format!("/apis/{i}/path"),
                    format!("expected `/api-docs/<name>.{{format}}`, found {:?}", r.path),
                )
            })?;
        if files.iter().any(|f: &SpecFile| f.resource == name) {
            return Err(Error::new(
                LISTING,
                format!("/apis/{i}/path"),
                format!("resource `{name}` is listed twice"),
            ));
        }
        let file = format!("{name}.json");
        let decl: ApiDeclaration = parse_json(&declaration(&file)?, &file)?;
        files.push(SpecFile {
            resource: name.to_owned(),
            file,
            description: r.description.clone(),
            decl,
        });
    }
    Ok(Spec {
        listing,
        files,
        inputs: Vec::new(),
    })
}
