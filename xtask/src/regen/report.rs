//! A structural diff of two spec sets, on `serde_json::Value` (not the codegen's typed model):
//! operations, models, event types, parameters, model fields and `apiVersion`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::{Map, Value};

use super::fetch::{kind, LISTING};

/// What the report compares, extracted from one spec set.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Summary {
    api_version: Option<String>,
    files: BTreeSet<String>,
    /// keyed by (file, METHOD, path)
    operations: BTreeMap<(String, String, String), Operation>,
    /// keyed by model id
    models: BTreeMap<String, Model>,
    /// ids of the models below `Event` in the `subTypes` tree
    events: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq)]
struct Operation {
    nickname: String,
    parameters: BTreeMap<String, Parameter>,
}

#[derive(Debug, Clone, PartialEq)]
struct Parameter {
    param_type: String,
    data_type: String,
    required: bool,
}

#[derive(Debug, Clone, PartialEq)]
struct Model {
    file: String,
    fields: BTreeMap<String, Field>,
}

#[derive(Debug, Clone, PartialEq)]
struct Field {
    ty: String,
    required: bool,
}

/// Builds the summary of `files` (`(name, value)`, the listing `resources.json` among them).
/// Errors read `file#/json/pointer: what is wrong`.
pub(crate) fn summarize<'a>(
    files: impl IntoIterator<Item = (&'a str, &'a Value)>,
) -> Result<Summary, String> {
    let mut summary = Summary::default();
    let mut sub_types: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (file, value) in files {
        summary.files.insert(file.to_string());
        if file == LISTING {
            summary.api_version = value
                .get("apiVersion")
                .and_then(Value::as_str)
                .map(String::from);
            continue;
        }
        let at = |pointer: &str| format!("{file}#{pointer}");
        for (i, api) in array(value, "apis", &at(""))?.iter().enumerate() {
            let api_at = at(&format!("/apis/{i}"));
            let path = string(api, "path", &api_at)?;
            let Some(operations) = optional_array(api, "operations", &api_at)? else {
                continue;
            };
            for (j, op) in operations.iter().enumerate() {
                let op_at = format!("{api_at}/operations/{j}");
                let method = string(op, "httpMethod", &op_at)?.to_ascii_uppercase();
                let nickname = string(op, "nickname", &op_at)?.to_string();
                let mut parameters = BTreeMap::new();
                for (k, p) in optional_array(op, "parameters", &op_at)?
                    .unwrap_or(&Vec::new())
                    .iter()
                    .enumerate()
                {
                    let p_at = format!("{op_at}/parameters/{k}");
                    let name = string(p, "name", &p_at)?.to_string();
                    let mut data_type = string(p, "dataType", &p_at)?.to_string();
                    if p.get("allowMultiple").and_then(Value::as_bool) == Some(true) {
                        data_type = format!("{data_type}, multiple");
                    }
                    let parameter = Parameter {
                        param_type: string(p, "paramType", &p_at)?.to_string(),
                        data_type,
                        required: flag(p, "required"),
                    };
                    parameters.insert(name, parameter);
                }
                let key = (file.to_string(), method, path.to_string());
                summary.operations.insert(
                    key,
                    Operation {
                        nickname,
                        parameters,
                    },
                );
            }
        }
        let Some(models) = optional_object(value, "models", &at(""))? else {
            continue;
        };
        for (id, model) in models {
            let m_at = at(&format!("/models/{}", escape_pointer(id)));
            if !model.is_object() {
                return Err(format!("{m_at}: expected an object, found {}", kind(model)));
            }
            let mut fields = BTreeMap::new();
            for (name, prop) in optional_object(model, "properties", &m_at)?
                .into_iter()
                .flatten()
            {
                let f_at = format!("{m_at}/properties/{}", escape_pointer(name));
                let ty = string(prop, "type", &f_at)?.to_string();
                fields.insert(
                    name.clone(),
                    Field {
                        ty,
                        required: flag(prop, "required"),
                    },
                );
            }
            if let Some(subs) = optional_array(model, "subTypes", &m_at)? {
                let subs = subs
                    .iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect();
                sub_types.insert(id.clone(), subs);
            }
            if let Some(previous) = summary.models.insert(
                id.clone(),
                Model {
                    file: file.to_string(),
                    fields,
                },
            ) {
                return Err(format!(
                    "{m_at}: model {id} is also defined in {}",
                    previous.file
                ));
            }
        }
    }
    // event types: everything below `Event` in the subTypes tree
    let mut todo: Vec<&String> = sub_types.get("Event").into_iter().flatten().collect();
    while let Some(id) = todo.pop() {
        if summary.events.insert(id.clone()) {
            todo.extend(sub_types.get(id).into_iter().flatten());
        }
    }
    Ok(summary)
}

fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn string<'v>(value: &'v Value, key: &str, at: &str) -> Result<&'v str, String> {
    match value.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(format!(
            "{at}/{key}: expected a string, found {}",
            kind(other)
        )),
        None => Err(format!("{at}/{key}: missing string")),
    }
}

fn array<'v>(value: &'v Value, key: &str, at: &str) -> Result<&'v Vec<Value>, String> {
    optional_array(value, key, at)?.ok_or_else(|| format!("{at}/{key}: missing array"))
}

fn optional_array<'v>(
    value: &'v Value,
    key: &str,
    at: &str,
) -> Result<Option<&'v Vec<Value>>, String> {
    match value.get(key) {
        Some(Value::Array(a)) => Ok(Some(a)),
        Some(other) => Err(format!(
            "{at}/{key}: expected an array, found {}",
            kind(other)
        )),
        None => Ok(None),
    }
}

fn optional_object<'v>(
    value: &'v Value,
    key: &str,
    at: &str,
) -> Result<Option<&'v Map<String, Value>>, String> {
    match value.get(key) {
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(other) => Err(format!(
            "{at}/{key}: expected an object, found {}",
            kind(other)
        )),
        None => Ok(None),
    }
}

/// `required` as Swagger 1.x reads it: absent means false.
fn flag(value: &Value, key: &str) -> bool {
    value.get(key).and_then(Value::as_bool).unwrap_or(false)
}

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

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    /// A tiny spec set: a listing, channels.json (one op, one model) and events.json
    /// (Message → Event → StasisStart).
    fn base() -> Vec<(String, Value)> {
        let listing = json!({
            "apiVersion": "10.0.0", "swaggerVersion": "1.1", "basePath": "http://localhost:8088/ari",
            "apis": [{"path": "/api-docs/channels.{format}"}, {"path": "/api-docs/events.{format}"}]
        });
        let channels = json!({
            "apis": [{"path": "/channels/{channelId}", "operations": [{
                "httpMethod": "DELETE", "nickname": "hangup",
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

    fn summary(files: &[(String, Value)]) -> Summary {
        summarize(files.iter().map(|(n, v)| (n.as_str(), v))).unwrap()
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
                "operations": [{"httpMethod": "POST", "nickname": "progress", "parameters": []}]
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
    fn structure_errors_name_file_and_pointer() {
        let mut bad = base();
        file(&mut bad, "channels.json")["apis"][0]["operations"][0]["parameters"][1]
            .as_object_mut()
            .unwrap()
            .remove("dataType");
        let err = summarize(bad.iter().map(|(n, v)| (n.as_str(), v))).unwrap_err();
        assert_eq!(
            err,
            "channels.json#/apis/0/operations/0/parameters/1/dataType: missing string"
        );

        let mut bad = base();
        file(&mut bad, "events.json")["models"]["Event"]["properties"] = json!([]);
        let err = summarize(bad.iter().map(|(n, v)| (n.as_str(), v))).unwrap_err();
        assert_eq!(
            err,
            "events.json#/models/Event/properties: expected an object, found an array"
        );

        let mut bad = base();
        file(&mut bad, "channels.json")["apis"] = json!({});
        let err = summarize(bad.iter().map(|(n, v)| (n.as_str(), v))).unwrap_err();
        assert_eq!(
            err,
            "channels.json#/apis: expected an array, found an object"
        );
    }
}
