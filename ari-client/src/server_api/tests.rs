//! The table made from declarations: the checked-in specs, and the same with what older
//! releases lack taken out (as Asterisk 21.12.3's specs lack it).

use super::*;
use crate::events::EventKind;
use crate::rest::Request;

const SPECS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../swagger-specs");

/// The checked-in declarations, as `(resource, JSON)`.
fn spec_files() -> Vec<(String, serde_json::Value)> {
    let listing: serde_json::Value =
        serde_json::from_slice(&std::fs::read(format!("{SPECS}/resources.json")).unwrap()).unwrap();
    listing["apis"]
        .as_array()
        .unwrap()
        .iter()
        .map(|api| {
            let (file, resource) = declaration_file(api["path"].as_str().unwrap()).unwrap();
            let text = std::fs::read(format!("{SPECS}/{file}")).unwrap();
            (resource, serde_json::from_slice(&text).unwrap())
        })
        .collect()
}

fn every_module() -> BTreeSet<String> {
    spec_files()
        .into_iter()
        .map(|(resource, _)| format!("res_ari_{}.so", snake_case(&resource)))
        .collect()
}

fn table_of(
    files: Vec<(String, serde_json::Value)>,
    loaded: Option<&BTreeSet<String>>,
) -> ServerApi {
    let declarations: Vec<(String, Declaration)> = files
        .into_iter()
        .map(|(r, json)| (r, serde_json::from_value(json).unwrap()))
        .collect();
    table(
        Some("10.0.0".into()),
        Some("21.12.3".into()),
        &declarations,
        loaded,
    )
}

/// Takes the operation `method path` out of the declarations.
fn remove_operation(files: &mut [(String, serde_json::Value)], method: &str, path: &str) {
    let mut removed = 0;
    for (_, decl) in files.iter_mut() {
        for api in decl["apis"].as_array_mut().unwrap() {
            if api["path"] == path {
                let ops = api["operations"].as_array_mut().unwrap();
                let before = ops.len();
                ops.retain(|op| op["httpMethod"] != method);
                removed += before - ops.len();
            }
        }
    }
    assert_eq!(removed, 1, "{method} {path}");
}

/// Takes the parameter `name` out of the operation `method path`.
fn remove_parameter(
    files: &mut [(String, serde_json::Value)],
    method: &str,
    path: &str,
    name: &str,
) {
    let mut removed = 0;
    for (_, decl) in files.iter_mut() {
        for api in decl["apis"].as_array_mut().unwrap() {
            if api["path"] != path {
                continue;
            }
            for op in api["operations"].as_array_mut().unwrap() {
                if op["httpMethod"] == method {
                    let params = op["parameters"].as_array_mut().unwrap();
                    let before = params.len();
                    params.retain(|p| p["name"] != name);
                    removed += before - params.len();
                }
            }
        }
    }
    assert_eq!(removed, 1, "{method} {path} {name}");
}

fn request(op: OperationId) -> Request {
    Request::new(op.operation(), op.path().to_owned())
}

#[test]
fn the_specs_of_this_crate_declare_everything_it_has() {
    let api = table_of(spec_files(), Some(&every_module()));
    assert_eq!(api.unsupported_operations().collect::<Vec<_>>(), []);
    for op in OperationId::ALL {
        for p in op.parameters() {
            assert!(api.supports_parameter(op, p), "{} {p}", op.name());
        }
        assert!(!api.supports_parameter(op, "no_such_parameter"));
    }
    assert_eq!(api.unknown_operations(), [] as [String; 0]);
    // every event type of this crate, and MissingParams, the other message Asterisk sends
    let mut kinds: BTreeSet<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
    kinds.insert("MissingParams");
    assert_eq!(api.event_types().collect::<BTreeSet<_>>(), kinds);
    assert!(EventKind::ALL.iter().all(|k| api.supports_event(*k)));
    assert!(!api.supports_event(EventKind::Unknown));
    assert!(api.supports_field("Channel", "protocol_id"));
    assert!(!api.supports_field("Channel", "no_such_field"));
    assert!(!api.supports_field("NoSuchModel", "id"));
    let mut req = request(OperationId::ChannelSetChannelVar);
    req.query("variable", "X").unwrap();
    req.query("report_events", true).unwrap();
    api.check(&req, false).unwrap();
}

#[test]
fn what_an_older_server_lacks_is_refused_before_sending() {
    let mut files = spec_files();
    remove_operation(&mut files, "GET", "/channels/{channelId}/variables");
    remove_parameter(
        &mut files,
        "POST",
        "/channels/{channelId}/variable",
        "report_events",
    );
    remove_parameter(
        &mut files,
        "POST",
        "/channels/{channelId}/variable",
        "value",
    );
    let api = table_of(files, Some(&every_module()));

    let op = OperationId::ChannelGetChannelVars;
    assert!(!api.supports(op));
    assert_eq!(api.unsupported_operations().collect::<Vec<_>>(), [op]);
    let e = api.check(&request(op), false).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    assert_eq!(e.operation(), Some(op.name()));
    let msg = e.to_string();
    assert!(
        msg.contains("Asterisk 21.12.3 (ARI 10.0.0) does not serve `GET /channels/{channelId}/variables`; nothing was sent"),
        "{msg}"
    );
    assert!(msg.contains(&op.since().join(", ")), "{msg}");

    let set = OperationId::ChannelSetChannelVar;
    assert!(api.supports(set));
    assert!(api.supports_parameter(set, "variable"));
    assert!(!api.supports_parameter(set, "report_events"));
    let mut req = request(set);
    req.query("variable", "X").unwrap();
    api.check(&req, false).unwrap();
    req.query("report_events", true).unwrap();
    let e = api.check(&req, false).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    let msg = e.to_string();
    assert!(
        msg.contains("does not declare the parameter `report_events` of `POST /channels/{channelId}/variable`, and would ignore it without an error"),
        "{msg}"
    );
    req.query("value", "1").unwrap();
    let msg = api.check(&req, false).unwrap_err().to_string();
    assert!(
        msg.contains("the parameters `value`, `report_events` of"),
        "{msg}"
    );
    // unless the caller allows it
    api.check(&req, true).unwrap();
}

#[test]
fn a_resource_whose_module_is_not_loaded_is_not_served() {
    let mut loaded = every_module();
    assert!(loaded.remove("res_ari_mailboxes.so"));
    let api = table_of(spec_files(), Some(&loaded));
    let missing: Vec<OperationId> = api.unsupported_operations().collect();
    assert!(!missing.is_empty());
    assert!(
        missing.iter().all(|op| op.name().starts_with("mailboxes.")),
        "{missing:?}"
    );
    assert_eq!(
        missing.len(),
        OperationId::ALL
            .iter()
            .filter(|op| op.name().starts_with("mailboxes."))
            .count()
    );
    let e = api
        .check(&request(OperationId::MailboxList), false)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    assert!(
        e.to_string().contains("declares `GET /mailboxes` but does not serve it: its module res_ari_mailboxes.so is not loaded"),
        "{e}"
    );
    // without the module list, the declarations alone decide
    let api = table_of(spec_files(), None);
    assert!(api.supports(OperationId::MailboxList));
}

#[test]
fn a_newer_server_lists_what_this_crate_does_not_know() {
    let mut files = spec_files();
    let channels = files.iter_mut().find(|(r, _)| r == "channels").unwrap();
    channels.1["apis"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "path": "/channels/{channelId}/teleport/{where}",
            "operations": [{"httpMethod": "post", "nickname": "teleport", "parameters": []}]
        }));
    let events = files.iter_mut().find(|(r, _)| r == "events").unwrap();
    let models = events.1["models"].as_object_mut().unwrap();
    models["Event"]["subTypes"]
        .as_array_mut()
        .unwrap()
        .push("ChannelTeleported".into());
    let api = table_of(files, Some(&every_module()));
    assert_eq!(api.unknown_operations(), ["POST /channels/{}/teleport/{}"]);
    assert!(api.event_types().any(|e| e == "ChannelTeleported"));
    assert_eq!(api.unsupported_operations().count(), 0);
}

#[test]
fn hostile_listings_and_declarations_are_refused_or_contained() {
    for bad in [
        "/api-docs/a b.{format}",
        "",
        "/api-docs/.{format}",
        "/api-docs/..",
        "/x/%2e%2e",
    ] {
        let e = declaration_file(bad).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Decode, "{bad:?}");
    }
    // only the last segment is read: a path elsewhere names a file of the api-docs
    assert_eq!(
        declaration_file("/api-docs/../../etc/passwd").unwrap().0,
        "passwd.json"
    );
    assert_eq!(
        declaration_file("/api-docs/deviceStates.{format}").unwrap(),
        ("deviceStates.json".to_owned(), "deviceStates".to_owned())
    );
    assert_eq!(snake_case("deviceStates"), "device_states");
    // a cycle of subtypes ends the walk; only concrete types are events
    let decl: Declaration = serde_json::from_value(serde_json::json!({
        "models": {
            "Message": {"subTypes": ["Event", "Message"]},
            "Event": {"subTypes": ["Message", "A", "Event"], "properties": {"type": {}}},
            "A": {"properties": {"x": {"type": "string"}}}
        }
    }))
    .unwrap();
    let api = table(None, None, &[("events".into(), decl)], None);
    assert_eq!(api.event_types().collect::<Vec<_>>(), ["A"]);
    assert_eq!(api.asterisk_version(), None);
    // everything is undeclared: refused, and said so without a version
    let e = api
        .check(&request(OperationId::ChannelList), false)
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("the server does not serve `GET /channels`"),
        "{e}"
    );
    assert!(decode::<Declaration>("x.json", b"[1,2]").is_err());
    assert!(decode::<Listing>("resources.json", b"{\"apis\": 3}").is_err());
}
