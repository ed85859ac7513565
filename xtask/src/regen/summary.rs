//! What the regen report compares, taken from one spec set read with ari-codegen's spec model
//! ([`ari_codegen::spec`]): operations, models, event types, parameters, model fields and
//! `apiVersion`, keyed so that [`report::diff`](super::report::diff) can compare two sets.

use std::collections::{BTreeMap, BTreeSet};

use ari_codegen::spec::{self, Spec};

use super::fetch::{SpecFile, LISTING};

/// What the report compares, extracted from one spec set.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Summary {
    pub(super) api_version: Option<String>,
    pub(super) files: BTreeSet<String>,
    /// keyed by (file, METHOD, path)
    pub(super) operations: BTreeMap<(String, String, String), Operation>,
    /// keyed by model id
    pub(super) models: BTreeMap<String, Model>,
    /// ids of the models below `Event` in the `subTypes` tree
    pub(super) events: BTreeSet<String>,
}

/// An operation: its nickname and its parameters by name.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Operation {
    pub(super) nickname: String,
    pub(super) parameters: BTreeMap<String, Parameter>,
}

/// A parameter of an operation.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Parameter {
    /// `path`, `query` or `body`.
    pub(super) param_type: String,
    /// `dataType`, with `, multiple` when `allowMultiple` is true.
    pub(super) data_type: String,
    /// `required`; absent means false.
    pub(super) required: bool,
    /// The values of an `allowableValues` LIST (the generator makes an enum of them).
    pub(super) values: BTreeSet<String>,
}

/// A model: the file that defines it and its fields (properties) by name.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Model {
    pub(super) file: String,
    pub(super) fields: BTreeMap<String, Field>,
}

/// A model field.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Field {
    /// `type`.
    pub(super) ty: String,
    /// `required`; absent means false.
    pub(super) required: bool,
    /// The values of an `allowableValues` LIST.
    pub(super) values: BTreeSet<String>,
}

/// The values of an `allowableValues` LIST, none for a RANGE or no list.
fn list_values(values: Option<&spec::AllowableValues>) -> BTreeSet<String> {
    values
        .map(|v| v.values.iter().cloned().collect())
        .unwrap_or_default()
}

impl Summary {
    /// The listing's `apiVersion`.
    pub(crate) fn api_version(&self) -> Option<&str> {
        self.api_version.as_deref()
    }
}

/// Parses `files` (the listing `resources.json` and the declarations it lists, as loaded by
/// [`fetch`](super::fetch)) with [`ari_codegen::spec::parse`] and builds their summary.
/// Errors read `file[#/json/pointer]: what is wrong[: why]`.
pub(crate) fn summarize(files: &[SpecFile]) -> Result<Summary, String> {
    let text = |name: &str| {
        let file = files.iter().find(|f| f.name == name);
        // fetch loaded every declaration the listing names and checked it is JSON (so UTF-8);
        // a missing one cannot happen and would read as an empty, invalid file
        String::from_utf8_lossy(file.map_or(&[][..], |f| &f.bytes)).into_owned()
    };
    let spec = spec::parse(&text(LISTING), |name| Ok(text(name))).map_err(|e| describe(&e))?;
    summary_of(&spec)
}

/// An error of ari-codegen with the errors it stems from (serde's reason and position).
fn describe(error: &ari_codegen::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// The summary of a parsed spec set. Fails when two files define the same model.
fn summary_of(spec: &Spec) -> Result<Summary, String> {
    let mut summary = Summary {
        api_version: spec.listing.api_version.clone(),
        files: std::iter::once(LISTING.to_string())
            .chain(spec.files.iter().map(|f| f.file.clone()))
            .collect(),
        ..Summary::default()
    };
    let mut sub_types: BTreeMap<&str, &[String]> = BTreeMap::new();
    for file in &spec.files {
        for api in &file.decl.apis {
            for op in &api.operations {
                let parameters = op
                    .parameters
                    .iter()
                    .map(|p| {
                        let mut data_type = p.data_type.clone();
                        if p.allow_multiple == Some(true) {
                            data_type.push_str(", multiple");
                        }
                        let parameter = Parameter {
                            param_type: p.param_type.clone(),
                            data_type,
                            required: p.required.unwrap_or(false),
                            values: list_values(p.allowable_values.as_ref()),
                        };
                        (p.name.clone(), parameter)
                    })
                    .collect();
                let key = (
                    file.file.clone(),
                    op.http_method.to_ascii_uppercase(),
                    api.path.clone(),
                );
                let nickname = op.nickname.clone();
                summary.operations.insert(
                    key,
                    Operation {
                        nickname,
                        parameters,
                    },
                );
            }
        }
        for (id, model) in &file.decl.models.0 {
            let fields = model
                .properties
                .0
                .iter()
                .map(|(name, p)| {
                    let field = Field {
                        ty: p.ty.clone(),
                        required: p.required.unwrap_or(false),
                        values: list_values(p.allowable_values.as_ref()),
                    };
                    (name.clone(), field)
                })
                .collect();
            sub_types.insert(id, &model.sub_types);
            let model = Model {
                file: file.file.clone(),
                fields,
            };
            if let Some(previous) = summary.models.insert(id.clone(), model) {
                return Err(format!(
                    "{}#/models/{}: model {id} is also defined in {}",
                    file.file,
                    escape_pointer(id),
                    previous.file
                ));
            }
        }
    }
    // event types: everything below `Event` in the subTypes tree
    let mut todo: Vec<&String> = sub_types
        .get("Event")
        .into_iter()
        .copied()
        .flatten()
        .collect();
    while let Some(id) = todo.pop() {
        if summary.events.insert(id.clone()) {
            todo.extend(sub_types.get(id.as_str()).into_iter().copied().flatten());
        }
    }
    Ok(summary)
}

fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}
