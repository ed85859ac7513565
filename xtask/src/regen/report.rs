//! A structural diff of two spec [`Summary`]s: operations, models, event types, parameters,
//! model fields (with the values of their `allowableValues` lists) and `apiVersion`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::summary::{Field, Operation, Parameter, Summary};

fn optional(required: bool) -> &'static str {
    if required {
        "required"
    } else {
        "optional"
    }
}

/// The differences, grouped in sections; every line stands on its own.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Report {
    sections: Vec<(&'static str, Vec<String>)>,
}

impl Report {
    pub(crate) fn is_empty(&self) -> bool {
        self.sections.iter().all(|(_, lines)| lines.is_empty())
    }

    /// All lines (without section titles).
    #[cfg(test)]
    pub(crate) fn lines(&self) -> impl Iterator<Item = &str> {
        self.sections
            .iter()
            .flat_map(|(_, lines)| lines.iter().map(String::as_str))
    }

    fn section(&mut self, title: &'static str, lines: Vec<String>) {
        if !lines.is_empty() {
            self.sections.push((title, lines));
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return writeln!(f, "no changes");
        }
        for (title, lines) in &self.sections {
            writeln!(f, "{title}:")?;
            for line in lines {
                writeln!(f, "  {line}")?;
            }
        }
        Ok(())
    }
}

/// Compares `old` (checked in) with `new` (fetched).
pub(crate) fn diff(old: &Summary, new: &Summary) -> Report {
    let mut report = Report::default();

    if old.api_version != new.api_version {
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".to_string());
        report.section(
            "apiVersion",
            vec![format!(
                "{} -> {}",
                show(&old.api_version),
                show(&new.api_version)
            )],
        );
    }

    let mut files = Vec::new();
    files.extend(new.files.difference(&old.files).map(|f| format!("+ {f}")));
    files.extend(old.files.difference(&new.files).map(|f| format!("- {f}")));
    report.section("files", files);

    let op_name = |(file, method, path): &(String, String, String), op: &Operation| {
        format!("{file} {} {method} {path}", op.nickname)
    };
    let mut operations = Vec::new();
    let mut parameters = Vec::new();
    for (key, op) in &new.operations {
        match old.operations.get(key) {
            None => operations.push(format!("+ {}", op_name(key, op))),
            Some(before) => {
                if before.nickname != op.nickname {
                    operations.push(format!(
                        "~ {}: nickname {} -> {}",
                        op_name(key, op),
                        before.nickname,
                        op.nickname
                    ));
                }
                parameters.extend(diff_parameters(
                    &op_name(key, op),
                    &before.parameters,
                    &op.parameters,
                ));
            }
        }
    }
    for (key, op) in &old.operations {
        if !new.operations.contains_key(key) {
            operations.push(format!("- {}", op_name(key, op)));
        }
    }
    report.section("operations", operations);
    report.section("parameters", parameters);

    let mut events = Vec::new();
    events.extend(new.events.difference(&old.events).map(|e| format!("+ {e}")));
    events.extend(old.events.difference(&new.events).map(|e| format!("- {e}")));
    report.section("event types", events);

    // models that are not event types (those are listed above)
    let mut models = Vec::new();
    let mut fields = Vec::new();
    for (id, model) in &new.models {
        match old.models.get(id) {
            None if !new.events.contains(id) => models.push(format!("+ {} {id}", model.file)),
            None => {}
            Some(before) => {
                if before.file != model.file {
                    models.push(format!("~ {id}: moved {} -> {}", before.file, model.file));
                }
                fields.extend(diff_fields(id, &before.fields, &model.fields));
            }
        }
    }
    for (id, model) in &old.models {
        if !new.models.contains_key(id) && !old.events.contains(id) {
            models.push(format!("- {} {id}", model.file));
        }
    }
    report.section("models", models);
    report.section("model fields", fields);
    report
}

fn diff_parameters(
    op: &str,
    old: &BTreeMap<String, Parameter>,
    new: &BTreeMap<String, Parameter>,
) -> Vec<String> {
    let mut lines = Vec::new();
    for (name, p) in new {
        match old.get(name) {
            None => lines.push(format!(
                "+ {op}: {name} ({}, {}, {})",
                p.param_type,
                p.data_type,
                optional(p.required)
            )),
            Some(before) => {
                if before.data_type != p.data_type {
                    lines.push(format!(
                        "~ {op}: {name} type {} -> {}",
                        before.data_type, p.data_type
                    ));
                }
                if before.param_type != p.param_type {
                    lines.push(format!(
                        "~ {op}: {name} paramType {} -> {}",
                        before.param_type, p.param_type
                    ));
                }
                if before.required != p.required {
                    lines.push(format!(
                        "~ {op}: {name} required {} -> {}",
                        before.required, p.required
                    ));
                }
                if let Some(change) = values_change(&before.values, &p.values) {
                    lines.push(format!("~ {op}: {name} values {change}"));
                }
            }
        }
    }
    for (name, p) in old {
        if !new.contains_key(name) {
            lines.push(format!(
                "- {op}: {name} ({}, {})",
                p.param_type, p.data_type
            ));
        }
    }
    lines
}

fn diff_fields(
    model: &str,
    old: &BTreeMap<String, Field>,
    new: &BTreeMap<String, Field>,
) -> Vec<String> {
    let mut lines = Vec::new();
    for (name, f) in new {
        match old.get(name) {
            None => lines.push(format!(
                "+ {model}.{name} ({}, {})",
                f.ty,
                optional(f.required)
            )),
            Some(before) => {
                if before.ty != f.ty {
                    lines.push(format!("~ {model}.{name}: type {} -> {}", before.ty, f.ty));
                }
                if before.required != f.required {
                    lines.push(format!(
                        "~ {model}.{name}: required {} -> {}",
                        before.required, f.required
                    ));
                }
                if let Some(change) = values_change(&before.values, &f.values) {
                    lines.push(format!("~ {model}.{name}: values {change}"));
                }
            }
        }
    }
    for (name, f) in old {
        if !new.contains_key(name) {
            lines.push(format!("- {model}.{name} ({})", f.ty));
        }
    }
    lines
}

/// `+ websocket; - tcp` for the values of an `allowableValues` LIST that were added and
/// removed (each one a variant of a generated enum), or `None` when they are the same.
fn values_change(old: &BTreeSet<String>, new: &BTreeSet<String>) -> Option<String> {
    let added: Vec<&str> = new.difference(old).map(String::as_str).collect();
    let removed: Vec<&str> = old.difference(new).map(String::as_str).collect();
    let mut parts = Vec::new();
    if !added.is_empty() {
        parts.push(format!("+ {}", added.join(", ")));
    }
    if !removed.is_empty() {
        parts.push(format!("- {}", removed.join(", ")));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;
    use crate::regen::fetch::SpecFile;
    use crate::regen::summary::summarize;

    /// A tiny spec set: a listing, channels.json (one op, one model) and events.json
    /// (Message → Event → StasisStart), as `(file name, content)`.
    fn base() -> Vec<(String, Value)> {
        let listing = json!({
            "apiVersion": "10.0.0", "swaggerVersion": "1.1", "basePath": "http://localhost:8088/ari",
            "apis": [{"path": "/api-docs/channels.{format}"}, {"path": "/api-docs/events.{format}"}]
        });
        let channels = json!({
            "apis": [{"path": "/channels/{channelId}", "operations": [{
                "httpMethod": "DELETE", "nickname": "hangup", "responseClass": "void",
                "parameters": [
                    {"name": "channelId", "paramType": "path", "dataType": "string", "required": true},
                    {"name": "reason_code", "paramType": "query", "dataType": "string", "required": false}
                ]
            }]}],
            "models": {"Channel": {"id": "Channel", "properties": {
                "id": {"type": "string", "required": true},
                "protocol_id": {"type": "string", "required": true}
            }}}
        });
        let events = json!({
            "apis": [],
            "models": {
                "Message": {"id": "Message", "properties": {"type": {"type": "string", "required": true}}, "subTypes": ["Event"]},
                "Event": {"id": "Event", "properties": {"application": {"type": "string", "required": true}}, "subTypes": ["StasisStart"]},
                "StasisStart": {"id": "StasisStart", "properties": {"channel": {"type": "Channel", "required": true}}}
            }
        });
        vec![
            ("resources.json".into(), listing),
            ("channels.json".into(), channels),
            ("events.json".into(), events),
        ]
    }

    /// The files as [`fetch`](crate::regen::fetch) loads them.
    fn loaded(files: &[(String, Value)]) -> Vec<SpecFile> {
        files
            .iter()
            .map(|(name, value)| SpecFile {
                name: name.clone(),
                bytes: serde_json::to_vec_pretty(value).unwrap(),
                value: value.clone(),
            })
            .collect()
    }

    fn summary(files: &[(String, Value)]) -> Summary {
        summarize(&loaded(files)).unwrap()
    }

    fn error(files: &[(String, Value)]) -> String {
        summarize(&loaded(files)).unwrap_err()
    }

    fn report(new: &[(String, Value)]) -> Vec<String> {
        diff(&summary(&base()), &summary(new))
            .lines()
            .map(String::from)
            .collect()
    }

    fn file<'a>(files: &'a mut [(String, Value)], name: &str) -> &'a mut Value {
        &mut files.iter_mut().find(|(n, _)| n == name).unwrap().1
    }

    #[test]
    fn identical_specs_report_no_changes() {
        let r = diff(&summary(&base()), &summary(&base()));
        assert!(r.is_empty());
        assert_eq!(r.to_string(), "no changes\n");
    }

    #[test]
    fn reports_an_added_operation() {
        let mut new = base();
        file(&mut new, "channels.json")["apis"]
            .as_array_mut()
            .unwrap()
            .push(json!({
                "path": "/channels/{channelId}/progress",
                "operations": [{"httpMethod": "POST", "nickname": "progress", "responseClass": "void", "parameters": []}]
            }));
        assert_eq!(
            report(&new),
            ["+ channels.json progress POST /channels/{channelId}/progress"]
        );
        let text = diff(&summary(&base()), &summary(&new)).to_string();
        assert_eq!(
            text,
            "operations:\n  + channels.json progress POST /channels/{channelId}/progress\n"
        );
    }

    #[test]
    fn reports_an_added_event_type_but_not_as_a_model() {
        let mut new = base();
        let events = file(&mut new, "events.json");
        events["models"]["ChannelToneDetected"] =
            json!({"id": "ChannelToneDetected", "properties": {}});
        events["models"]["Event"]["subTypes"]
            .as_array_mut()
            .unwrap()
            .push(json!("ChannelToneDetected"));
        assert_eq!(report(&new), ["+ ChannelToneDetected"]);
        let text = diff(&summary(&base()), &summary(&new)).to_string();
        assert!(text.starts_with("event types:\n"), "{text}");
    }

    #[test]
    fn reports_added_and_removed_models() {
        let mut new = base();
        file(&mut new, "channels.json")["models"]["RTPstat"] =
            json!({"id": "RTPstat", "properties": {}});
        file(&mut new, "events.json")["models"]
            .as_object_mut()
            .unwrap()
            .remove("Message");
        assert_eq!(
            report(&new),
            ["+ channels.json RTPstat", "- events.json Message"]
        );
    }

    #[test]
    fn reports_a_removed_field() {
        let mut new = base();
        file(&mut new, "channels.json")["models"]["Channel"]["properties"]
            .as_object_mut()
            .unwrap()
            .remove("protocol_id");
        assert_eq!(report(&new), ["- Channel.protocol_id (string)"]);
    }

    #[test]
    fn reports_changed_lists_of_values() {
        let mut old = base();
        let mut new = base();
        let values = |v: &[&str]| json!({"valueType": "LIST", "values": v});
        file(&mut old, "channels.json")["apis"][0]["operations"][0]["parameters"][1]
            ["allowableValues"] = values(&["normal", "busy"]);
        file(&mut new, "channels.json")["apis"][0]["operations"][0]["parameters"][1]
            ["allowableValues"] = values(&["normal", "congestion"]);
        file(&mut new, "channels.json")["models"]["Channel"]["properties"]["id"]
            ["allowableValues"] = values(&["a"]);
        let report = diff(&summary(&old), &summary(&new));
        assert_eq!(
            report.lines().collect::<Vec<_>>(),
            [
                "~ channels.json hangup DELETE /channels/{channelId}: reason_code values + congestion; - busy",
                "~ Channel.id: values + a",
            ]
        );
    }

    #[test]
    fn reports_field_type_and_required_changes() {
        let mut new = base();
        let props = &mut file(&mut new, "events.json")["models"]["StasisStart"]["properties"];
        props["channel"]["required"] = json!(false);
        props["args"] = json!({"type": "List[string]", "required": true});
        file(&mut new, "channels.json")["models"]["Channel"]["properties"]["id"]["type"] =
            json!("int");
        assert_eq!(
            report(&new),
            [
                "~ Channel.id: type string -> int",
                "+ StasisStart.args (List[string], required)",
                "~ StasisStart.channel: required true -> false",
            ]
        );
    }

    #[test]
    fn reports_a_parameter_type_change() {
        let mut new = base();
        let params = &mut file(&mut new, "channels.json")["apis"][0]["operations"][0]["parameters"];
        params[1]["dataType"] = json!("int");
        assert_eq!(report(&new), ["~ channels.json hangup DELETE /channels/{channelId}: reason_code type string -> int"]);
        let params = &mut file(&mut new, "channels.json")["apis"][0]["operations"][0]["parameters"];
        params[1]["required"] = json!(true);
        params[1]["allowMultiple"] = json!(true);
        assert_eq!(
            report(&new),
            [
                "~ channels.json hangup DELETE /channels/{channelId}: reason_code type string -> int, multiple",
                "~ channels.json hangup DELETE /channels/{channelId}: reason_code required false -> true",
            ]
        );
    }

    #[test]
    fn reports_added_and_removed_parameters() {
        let mut new = base();
        let params = file(&mut new, "channels.json")["apis"][0]["operations"][0]["parameters"]
            .as_array_mut()
            .unwrap();
        params.remove(1);
        params.push(json!({"name": "reason", "paramType": "query", "dataType": "string"}));
        assert_eq!(
            report(&new),
            [
                "+ channels.json hangup DELETE /channels/{channelId}: reason (query, string, optional)",
                "- channels.json hangup DELETE /channels/{channelId}: reason_code (query, string)",
            ]
        );
    }

    #[test]
    fn reports_removed_operation_and_nickname_change() {
        let mut new = base();
        file(&mut new, "channels.json")["apis"][0]["operations"][0]["nickname"] = json!("hangUp");
        assert_eq!(
            report(&new),
            ["~ channels.json hangUp DELETE /channels/{channelId}: nickname hangup -> hangUp"]
        );
        file(&mut new, "channels.json")["apis"][0]["operations"] = json!([]);
        assert_eq!(
            report(&new),
            ["- channels.json hangup DELETE /channels/{channelId}"]
        );
    }

    #[test]
    fn reports_the_api_version_change() {
        let mut new = base();
        file(&mut new, "resources.json")["apiVersion"] = json!("11.0.0");
        assert_eq!(report(&new), ["10.0.0 -> 11.0.0"]);
        let text = diff(&summary(&base()), &summary(&new)).to_string();
        assert_eq!(text, "apiVersion:\n  10.0.0 -> 11.0.0\n");
    }

    #[test]
    fn reports_files_and_events_of_removed_files() {
        let mut new = base();
        new.retain(|(n, _)| n != "events.json");
        file(&mut new, "resources.json")["apis"]
            .as_array_mut()
            .unwrap()
            .pop();
        assert_eq!(
            report(&new),
            [
                "- events.json",
                "- StasisStart",
                "- events.json Event",
                "- events.json Message"
            ]
        );
    }

    #[test]
    fn structure_errors_name_the_file_and_the_reason() {
        let mut bad = base();
        file(&mut bad, "channels.json")["apis"][0]["operations"][0]["parameters"][1]
            .as_object_mut()
            .unwrap()
            .remove("dataType");
        let err = error(&bad);
        assert!(
            err.starts_with("channels.json: not a valid ARI Swagger file (line 19, column 13)")
                && err.contains(": missing field `dataType`"),
            "{err}"
        );

        let mut bad = base();
        file(&mut bad, "events.json")["models"]["Event"]["properties"] = json!([]);
        let err = error(&bad);
        assert!(
            err.starts_with("events.json: not a valid ARI Swagger file (line ")
                && err.contains(": invalid type: sequence, expected a JSON object"),
            "{err}"
        );

        let mut bad = base();
        file(&mut bad, "channels.json")["apis"] = json!({});
        let err = error(&bad);
        assert!(
            err.starts_with("channels.json: not a valid ARI Swagger file (line 2, column ")
                && err.contains(": invalid type: map, expected a sequence"),
            "{err}"
        );

        let mut bad = base();
        let channel = file(&mut bad, "channels.json")["models"]["Channel"].clone();
        file(&mut bad, "events.json")["models"]["Channel"] = channel;
        assert_eq!(
            error(&bad),
            "events.json#/models/Channel: model Channel is also defined in channels.json"
        );
    }
}
