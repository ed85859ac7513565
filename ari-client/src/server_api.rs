//! What the server serves, read when the client connects: its own declarations of the API
//! (`GET /ari/api-docs/resources.json` and the files it lists), its version
//! (`GET /asterisk/info`) and its loaded modules (`GET /asterisk/modules`), made into the
//! [`ServerApi`] that every request is checked against.
//!
//! The declarations are files Asterisk serves as installed (`ast_ari_get_docs` in
//! `res_ari.c` reads them from its `rest-api` folder), whether or not the module that
//! serves a resource's paths is loaded: a resource counts as served only when its module,
//! `res_ari_<resource>.so` (`res_ari_device_states.so` for `deviceStates`), is. Without
//! the module list (a user whose ACL refuses it, say) the declarations alone decide.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::de::IgnoredAny;
use serde::Deserialize;

use crate::api::{OperationId, OPERATIONS};
use crate::client::Client;
use crate::error::{Error, ErrorKind, Result};
use crate::rest::{Served, ServerApi};

/// The most declaration files a resource listing may name (Asterisk 22 has 11).
const MAX_DECLARATIONS: usize = 64;

impl Client {
    /// What the server serves — which of this crate's operations, parameters and event
    /// types, its models' fields and its version — as read by
    /// [`connect`](crate::ClientBuilder::connect); `None` for a client made with
    /// [`build`](crate::ClientBuilder::build), with
    /// [`check_server_api(false)`](crate::ClientBuilder::check_server_api), or whose server's
    /// declarations could not be read (logged). See [`ServerApi`].
    pub fn server_api(&self) -> Option<&ServerApi> {
        self.rest().server_api().map(|api| &**api)
    }
}

impl ServerApi {
    /// Whether the server serves `op`: its declarations have it, and the module that serves
    /// its resource is loaded. A call to an operation it does not serve fails with
    /// [`ErrorKind::Unsupported`] before anything is sent.
    pub fn supports(&self, op: OperationId) -> bool {
        matches!(self.served(op), Served::Yes(_))
    }

    /// Whether the server serves `op` and declares its parameter `name` (the wire name,
    /// `report_events`; see [`OperationId::parameters`]). Asterisk ignores a parameter it
    /// does not declare without an error: a call that sets one fails with
    /// [`ErrorKind::Unsupported`] before anything is sent, unless
    /// [`send_undeclared_parameters`](crate::ClientBuilder::send_undeclared_parameters).
    pub fn supports_parameter(&self, op: OperationId, name: &str) -> bool {
        let Served::Yes(declared) = self.served(op) else {
            return false;
        };
        declared & op.operation().param_bit(name) != 0
    }

    /// This crate's operations that the server does not serve, in [`OperationId::ALL`]'s
    /// order.
    pub fn unsupported_operations(&self) -> impl Iterator<Item = OperationId> + '_ {
        OperationId::ALL
            .into_iter()
            .filter(|op| !self.supports(*op))
    }

    fn served(&self, op: OperationId) -> &Served {
        &self.operations[op as usize]
    }
}

/// Reads what the server serves.
///
/// # Errors
///
/// The error of the resource listing's or of a declaration's request, or
/// [`ErrorKind::Decode`] when one is not a declaration. The version and the module list
/// are read too; when they fail, the table is made without them (logged).
pub(crate) async fn load(client: &Client) -> Result<ServerApi> {
    let listing: Listing = decode(
        "resources.json",
        &client.rest().api_doc("resources.json").await?,
    )?;
    let files = listing
        .apis
        .iter()
        .map(|api| declaration_file(&api.path))
        .collect::<Result<Vec<_>>>()?;
    if files.len() > MAX_DECLARATIONS {
        return Err(Error::new(ErrorKind::Decode)
            .with_operation("api-docs")
            .with_message(format!(
                "the resource listing names {} declarations, more than {MAX_DECLARATIONS}",
                files.len()
            )));
    }
    let declarations = futures_util::future::join_all(files.iter().map(|(file, _)| async move {
        let body = client.rest().api_doc(file).await?;
        decode::<Declaration>(file, &body)
    }));
    let asterisk = client.asterisk();
    let (declarations, info, modules) = tokio::join!(
        declarations,
        asterisk.get_info().send(),
        asterisk.list_modules().send()
    );
    let asterisk_version = match info {
        Ok(info) => info.system.map(|s| s.version),
        Err(e) => {
            tracing::warn!(error = %e, "could not read the server's version");
            None
        }
    };
    let loaded = match modules {
        Ok(modules) => Some(
            modules
                .into_iter()
                .filter(|m| m.status == "Running")
                .map(|m| m.name)
                .collect::<BTreeSet<_>>(),
        ),
        Err(e) => {
            tracing::warn!(
                error = %e,
                "could not read the server's modules: its declarations alone say what it serves"
            );
            None
        }
    };
    let mut declared = Vec::with_capacity(files.len());
    for ((_, resource), declaration) in files.into_iter().zip(declarations) {
        declared.push((resource, declaration?));
    }
    Ok(table(
        listing.api_version,
        asterisk_version,
        &declared,
        loaded.as_ref(),
    ))
}

/// An operation as Asterisk routes it: `(METHOD, path with `{}` for its parameters)`.
type Route = (String, String);

/// What the server declares of a route: its parameters' names, and its resource's module
/// when that is not loaded.
struct Declared<'a> {
    params: BTreeSet<&'a str>,
    module_not_loaded: Option<String>,
}

/// The [`ServerApi`] of a listing's `apiVersion`, the server's version, its declarations
/// (with their resource names) and, when known, its running modules.
fn table(
    api_version: Option<String>,
    asterisk_version: Option<String>,
    declarations: &[(String, Declaration)],
    loaded: Option<&BTreeSet<String>>,
) -> ServerApi {
    let mut served: HashMap<Route, Declared<'_>> = HashMap::new();
    let mut models = BTreeMap::new();
    for (resource, declaration) in declarations {
        let module = format!("res_ari_{}.so", snake_case(resource));
        let missing = loaded
            .filter(|loaded| !loaded.contains(&module))
            .map(|_| module.clone());
        for api in &declaration.apis {
            for op in &api.operations {
                let key = (op.http_method.to_ascii_uppercase(), shape(&api.path));
                let params = op.parameters.iter().map(|p| p.name.as_str()).collect();
                served.insert(
                    key,
                    Declared {
                        params,
                        module_not_loaded: missing.clone(),
                    },
                );
            }
        }
        for (id, model) in &declaration.models {
            models.insert(id.clone(), model);
        }
    }
    let mut matched = BTreeSet::new();
    let operations = OPERATIONS
        .iter()
        .map(|op| {
            let key = (op.method.as_str().to_owned(), shape(op.path));
            let served = match served.get(&key) {
                None => Served::Undeclared,
                Some(Declared {
                    module_not_loaded: Some(module),
                    ..
                }) => Served::ModuleNotLoaded(module.clone()),
                Some(Declared { params, .. }) => {
                    Served::Yes(params.iter().fold(0, |bits, p| bits | op.param_bit(p)))
                }
            };
            matched.insert(key);
            served
        })
        .collect();
    let mut unknown_operations: Vec<String> = served
        .keys()
        .filter(|key| !matched.contains(*key))
        .map(|(method, path)| format!("{method} {path}"))
        .collect();
    unknown_operations.sort();
    ServerApi {
        asterisk_version,
        api_version,
        operations,
        unknown_operations,
        events: event_types(&models),
        models: models
            .into_iter()
            .map(|(id, m)| (id, m.properties.keys().cloned().collect()))
            .collect(),
    }
}

/// The concrete subtypes of `Message` (of `Event` when there is no `Message`): the event
/// types. A type that names itself among its subtypes, or a cycle, ends the walk.
fn event_types(models: &BTreeMap<String, &DeclModel>) -> BTreeSet<String> {
    let root = if models.contains_key("Message") {
        "Message"
    } else {
        "Event"
    };
    let mut events = BTreeSet::new();
    let mut seen = BTreeSet::from([root]);
    let mut todo = vec![root];
    while let Some(id) = todo.pop() {
        let Some(model) = models.get(id) else {
            continue;
        };
        for sub in &model.sub_types {
            let concrete = models
                .get(sub.as_str())
                .is_none_or(|m| m.sub_types.is_empty());
            if concrete {
                events.insert(sub.clone());
            } else if seen.insert(sub) {
                todo.push(sub);
            }
        }
    }
    events
}

/// `/channels/{channelId}/play/{playbackId}` → `/channels/{}/play/{}`: paths compare by
/// their shape, since a parameter's name is not part of the route.
fn shape(path: &str) -> String {
    path.split('/')
        .map(|s| {
            if s.starts_with('{') && s.ends_with('}') {
                "{}"
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// `deviceStates` → `device_states`.
fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A listing's `/api-docs/channels.{format}` → (`channels.json`, `channels`).
fn declaration_file(path: &str) -> Result<(String, String)> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let resource = name.strip_suffix(".{format}").unwrap_or(name);
    let resource = resource.strip_suffix(".json").unwrap_or(resource);
    if resource.is_empty()
        || !resource
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(Error::new(ErrorKind::Decode)
            .with_operation("api-docs")
            .with_message(format!(
                "the resource listing names a declaration that is not a file name: {:?}",
                path.chars().take(100).collect::<String>()
            )));
    }
    Ok((format!("{resource}.json"), resource.to_owned()))
}

fn decode<T: for<'de> Deserialize<'de>>(file: &str, body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| {
        Error::new(ErrorKind::Decode)
            .with_operation("api-docs")
            .with_message(format!("{file} is not an ARI declaration"))
            .with_source(e)
    })
}

/// `resources.json`: what this client reads of it.
#[derive(Deserialize)]
struct Listing {
    #[serde(rename = "apiVersion")]
    api_version: Option<String>,
    apis: Vec<ListedApi>,
}

#[derive(Deserialize)]
struct ListedApi {
    path: String,
}

/// An API declaration (`channels.json`): what this client reads of it.
#[derive(Deserialize)]
struct Declaration {
    #[serde(default)]
    apis: Vec<DeclaredPath>,
    #[serde(default)]
    models: BTreeMap<String, DeclModel>,
}

#[derive(Deserialize)]
struct DeclaredPath {
    path: String,
    #[serde(default)]
    operations: Vec<DeclaredOperation>,
}

#[derive(Deserialize)]
struct DeclaredOperation {
    #[serde(rename = "httpMethod")]
    http_method: String,
    #[serde(default)]
    parameters: Vec<DeclaredParameter>,
}

#[derive(Deserialize)]
struct DeclaredParameter {
    name: String,
}

#[derive(Deserialize)]
struct DeclModel {
    #[serde(default)]
    properties: BTreeMap<String, IgnoredAny>,
    #[serde(default, rename = "subTypes")]
    sub_types: Vec<String>,
}

#[cfg(test)]
mod tests;
