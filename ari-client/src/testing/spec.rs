//! The specs this crate was generated from, embedded: the fake serves them as its
//! `/ari/api-docs` (so a client's check of the server's declarations passes as against
//! the same Asterisk), routes requests by their operations' paths, and answers the
//! operations it has no behaviour for with a body that is valid for the operation's
//! `responseClass`.

use std::collections::HashMap;

use percent_encoding::percent_decode_str;
use serde_json::{Map, Value};

use crate::api::OperationId;

// `SPECS`: (file name, text) of every spec file, written by build.rs (the `testing` feature)
include!(concat!(env!("OUT_DIR"), "/testing/specs.rs"));

/// The text of `api-docs/<file>` (`resources.json`, `channels.json`, …).
pub(crate) fn api_doc(file: &str) -> Option<&'static str> {
    SPECS
        .iter()
        .find(|(name, _)| *name == file)
        .map(|(_, text)| *text)
}

/// A request matched to an operation, with its path parameters (decoded).
#[derive(Debug)]
pub(crate) struct Route {
    pub(crate) operation: OperationId,
    pub(crate) path: HashMap<&'static str, String>,
}

/// The operation `method path` is (`path` under `/ari`, without the query): the one whose
/// template matches with the most literal segments (`/channels/create` before
/// `/channels/{channelId}`).
pub(crate) fn route(method: &str, path: &str) -> Option<Route> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let mut best: Option<(usize, Route)> = None;
    for op in OperationId::ALL {
        if !op.method().eq_ignore_ascii_case(method) {
            continue;
        }
        let template: Vec<&'static str> = op.path().trim_matches('/').split('/').collect();
        if template.len() != segments.len() {
            continue;
        }
        let mut params = HashMap::new();
        let mut literals = 0;
        let matched = template.iter().zip(&segments).all(|(t, s)| {
            if let Some(name) = t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                params.insert(name, percent_decode_str(s).decode_utf8_lossy().into_owned());
                !s.is_empty()
            } else {
                literals += 1;
                t == s
            }
        });
        if matched && best.as_ref().is_none_or(|(n, _)| literals > *n) {
            best = Some((
                literals,
                Route {
                    operation: op,
                    path: params,
                },
            ));
        }
    }
    best.map(|(_, r)| r)
}

/// The operations' `responseClass` and the models, read from the embedded specs.
#[derive(Debug)]
pub(crate) struct Answers {
    response_class: HashMap<OperationId, String>,
    models: Map<String, Value>,
}

impl Answers {
    pub(crate) fn load() -> Self {
        let mut response_class = HashMap::new();
        let mut models = Map::new();
        for (file, text) in SPECS {
            if *file == "resources.json" {
                continue;
            }
            let Ok(doc) = serde_json::from_str::<Value>(text) else {
                continue;
            };
            if let Some(m) = doc.get("models").and_then(Value::as_object) {
                models.extend(m.clone());
            }
            for api in doc["apis"].as_array().into_iter().flatten() {
                let path = api["path"].as_str().unwrap_or_default();
                for operation in api["operations"].as_array().into_iter().flatten() {
                    let method = operation["httpMethod"].as_str().unwrap_or_default();
                    let Some(op) = OperationId::ALL
                        .into_iter()
                        .find(|op| op.path() == path && op.method() == method)
                    else {
                        continue;
                    };
                    let class = operation["responseClass"].as_str().unwrap_or("void");
                    response_class.insert(op, class.to_owned());
                }
            }
        }
        Self {
            response_class,
            models,
        }
    }

    /// The `responseClass` of an operation (`void`, `Channel`, `List[Bridge]`, `binary`).
    pub(crate) fn response_class(&self, op: OperationId) -> &str {
        self.response_class.get(&op).map_or("void", String::as_str)
    }

    /// A value of `class` with every required property, each the least value of its type;
    /// `None` for `void`.
    pub(crate) fn minimal(&self, class: &str, timestamp: &str) -> Option<Value> {
        (class != "void").then(|| self.value(class, timestamp, 0))
    }

    fn value(&self, class: &str, timestamp: &str, depth: usize) -> Value {
        if class.starts_with("List[") {
            return Value::Array(Vec::new());
        }
        match class {
            "string" | "binary" => Value::String(String::new()),
            "int" | "long" | "double" | "number" => 0.into(),
            "boolean" => false.into(),
            "Date" => timestamp.into(),
            "object" => Value::Object(Map::new()),
            model => {
                let mut out = Map::new();
                let properties = self
                    .models
                    .get(model)
                    .and_then(|m| m["properties"].as_object());
                for (name, prop) in properties.into_iter().flatten() {
                    if prop["required"].as_bool() != Some(true) || depth > 8 {
                        continue;
                    }
                    let kind = prop["type"].as_str().unwrap_or("string");
                    let v = if prop.get("allowableValues").is_some() {
                        prop["allowableValues"]["values"][0].clone()
                    } else {
                        self.value(kind, timestamp, depth + 1)
                    };
                    out.insert(name.clone(), v);
                }
                Value::Object(out)
            }
        }
    }

    /// Whether `value` is valid for `class`: every required property present, each of its
    /// type (for the fake's own coverage test).
    #[cfg(test)]
    pub(crate) fn valid(&self, class: &str, value: &Value) -> Result<(), String> {
        if let Some(inner) = class
            .strip_prefix("List[")
            .and_then(|c| c.strip_suffix(']'))
        {
            let items = value
                .as_array()
                .ok_or_else(|| format!("{class}: not an array"))?;
            return items.iter().try_for_each(|item| self.valid(inner, item));
        }
        let ok = match class {
            "void" => value.is_null(),
            "string" | "binary" | "Date" => value.is_string(),
            "int" | "long" => value.is_i64() || value.is_u64(),
            "double" | "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "object" => value.is_object(),
            model => {
                let Some(properties) = self
                    .models
                    .get(model)
                    .and_then(|m| m["properties"].as_object())
                else {
                    return Err(format!("no model {model}"));
                };
                let object = value
                    .as_object()
                    .ok_or_else(|| format!("{model}: not an object"))?;
                for (name, prop) in properties {
                    let kind = prop["type"].as_str().unwrap_or("string");
                    match object.get(name) {
                        Some(v) => self
                            .valid(kind, v)
                            .map_err(|e| format!("{model}.{name}: {e}"))?,
                        None if prop["required"].as_bool() == Some(true) => {
                            return Err(format!("{model}.{name}: required, missing"));
                        }
                        None => {}
                    }
                }
                true
            }
        };
        if ok {
            Ok(())
        } else {
            Err(format!("{class}: {value} is not one"))
        }
    }
}
