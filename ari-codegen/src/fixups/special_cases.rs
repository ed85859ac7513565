//! Shapes of Asterisk's spec that are not bugs but that the spec itself gives no way to
//! tell. The resolver (`ir`) reads these tables; `check` makes sure each entry
//! still names something in the spec, so that a renamed or removed item is noticed like a
//! fixed upstream bug (`docs/ari-spec-notes.md`, "Special cases").

use crate::spec::Spec;

/// Operations whose `variables` body parameter is the **whole** JSON body, as
/// `(resource, nickname)`: `POST /bridges` turns the whole body into bridge variables
/// (res/ari/resource_bridges.c:1142-1153), unlike every other operation with a `variables`
/// body, which reads `{"variables": {…}}`.
pub const WHOLE_BODY_VARIABLES: &[(&str, &str)] = &[("bridges", "create")];

/// Operations that get no repository method, as `(resource, nickname)`: the events
/// websocket is opened by the runtime's connection, not by a REST call.
pub const EXCLUDED_OPERATIONS: &[(&str, &str)] = &[("events", "eventWebsocket")];

/// Models that are only bases of the event tree: their fields are written out in every
/// event (and in `MissingParams`), and they get no type of their own.
pub const ABSTRACT_MODELS: &[&str] = &["Message", "Event"];

/// The entries of the tables above that the spec no longer has, by table, with why.
pub(crate) fn check(spec: &Spec) -> Vec<(&'static str, String)> {
    let mut missing = Vec::new();
    let has_op = |resource: &str, nickname: &str| {
        spec.files
            .iter()
            .filter(|f| f.resource == resource)
            .flat_map(|f| &f.decl.apis)
            .flat_map(|a| &a.operations)
            .any(|o| o.nickname == nickname)
    };
    for (resource, nickname) in WHOLE_BODY_VARIABLES {
        let has_body = spec
            .files
            .iter()
            .filter(|f| f.resource == *resource)
            .flat_map(|f| &f.decl.apis)
            .flat_map(|a| &a.operations)
            .filter(|o| o.nickname == *nickname)
            .flat_map(|o| &o.parameters)
            .any(|p| p.param_type == "body" && p.name == "variables");
        if !has_body {
            missing.push((
                "whole_body_variables",
                format!("{resource}.{nickname} has no `variables` body parameter"),
            ));
        }
    }
    for (resource, nickname) in EXCLUDED_OPERATIONS {
        if !has_op(resource, nickname) {
            missing.push((
                "excluded_operations",
                format!("{resource}.{nickname} is not in the spec"),
            ));
        }
    }
    for model in ABSTRACT_MODELS {
        if !spec
            .files
            .iter()
            .any(|f| f.decl.models.get(model).is_some())
        {
            missing.push((
                "abstract_models",
                format!("model {model} is not in the spec"),
            ));
        }
    }
    missing
}
