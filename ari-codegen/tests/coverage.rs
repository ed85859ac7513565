//! Coverage: the expected counts are computed from the spec JSON itself (never typed in),
//! and every operation, model, event type and enum value must be in the IR and in the output.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use ari_codegen::internals::special_cases::{ABSTRACT_MODELS, EXCLUDED_OPERATIONS};
use ari_codegen::internals::{load_ir, names};
use serde_json::Value;

fn spec_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../swagger-specs")
}

struct Raw {
    /// (resource, nickname)
    operations: Vec<(String, String)>,
    models: Vec<String>,
    events: Vec<String>,
    /// every LIST value, with the fixups' changes
    enum_values: BTreeSet<String>,
}

fn raw() -> Raw {
    let dir = spec_dir();
    let listing: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("resources.json")).unwrap())
            .unwrap();
    let mut raw = Raw {
        operations: Vec::new(),
        models: Vec::new(),
        events: Vec::new(),
        enum_values: BTreeSet::new(),
    };
    for api in listing["apis"].as_array().unwrap() {
        let path = api["path"].as_str().unwrap();
        let name = path
            .rsplit('/')
            .next()
            .unwrap()
            .trim_end_matches(".{format}");
        let decl: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap(),
        )
        .unwrap();
        for a in decl["apis"].as_array().unwrap() {
            for op in a["operations"].as_array().unwrap() {
                raw.operations
                    .push((name.to_owned(), op["nickname"].as_str().unwrap().to_owned()));
                for p in op["parameters"].as_array().into_iter().flatten() {
                    collect_values(&p["allowableValues"], &mut raw.enum_values);
                }
            }
        }
        for (id, m) in decl["models"].as_object().unwrap() {
            raw.models.push(id.clone());
            if id == "Event" {
                for s in m["subTypes"].as_array().unwrap() {
                    raw.events.push(s.as_str().unwrap().to_owned());
                }
            }
            for p in m["properties"].as_object().unwrap().values() {
                collect_values(&p["allowableValues"], &mut raw.enum_values);
            }
        }
    }
    // the fixups' changes (see ari_codegen::fixups)
    assert!(raw.enum_values.remove("Rsrved"));
    raw.enum_values.insert("Rsrvd".into());
    raw.enum_values.insert("Mute".into());
    raw.enum_values.insert("paused".into());
    raw
}

fn collect_values(av: &Value, out: &mut BTreeSet<String>) {
    if av["valueType"] == "LIST" {
        for v in av["values"].as_array().unwrap() {
            out.insert(v.as_str().unwrap().to_owned());
        }
    }
}

#[test]
fn everything_is_covered() {
    let raw = raw();
    let ir = load_ir(&spec_dir(), &Default::default()).unwrap();
    let generated = ari_codegen::generate(&spec_dir()).unwrap();
    let counts = generated.counts;

    // operations
    let ir_ops: Vec<(String, String)> = ir
        .resources
        .iter()
        .flat_map(|r| {
            r.operations
                .iter()
                .map(move |o| (r.api_name.clone(), o.api_name.clone()))
        })
        .collect();
    assert_eq!(ir_ops.len(), raw.operations.len());
    assert_eq!(counts.operations, raw.operations.len());
    for (resource, nickname) in &raw.operations {
        assert!(
            ir_ops.contains(&(resource.clone(), nickname.clone())),
            "{resource}.{nickname} missing in the IR"
        );
        // every operation is in the table, each one not excluded has a builder that sends it
        assert!(
            generated
                .file("api/mod.rs")
                .is_some_and(|text| text.contains(&format!("name: \"{resource}.{nickname}\""))),
            "{resource}.{nickname} missing in OPERATIONS"
        );
        let module = names::module_name(resource);
        let builder = names::builder_name(resource, nickname);
        let in_output = generated
            .file(&format!("api/{module}.rs"))
            .is_some_and(|text| text.contains(&format!("OperationId::{builder}.operation()")));
        let excluded = EXCLUDED_OPERATIONS.contains(&(resource.as_str(), nickname.as_str()));
        assert_eq!(
            in_output, !excluded,
            "{resource}.{nickname}: in output {in_output}, excluded {excluded}"
        );
    }
    assert_eq!(
        counts.methods,
        raw.operations.len() - EXCLUDED_OPERATIONS.len()
    );
    assert_eq!(EXCLUDED_OPERATIONS, &[("events", "eventWebsocket")]);

    // models: every model is an IR model, an event, or an abstract base
    assert_eq!(counts.models, raw.models.len());
    assert_eq!(ir.all_model_ids.len(), raw.models.len());
    assert_eq!(
        ir.models.len() + ir.events.len() + ABSTRACT_MODELS.len(),
        raw.models.len()
    );
    for id in &raw.models {
        if ABSTRACT_MODELS.contains(&id.as_str()) {
            continue;
        }
        let name = names::type_name(id);
        let (text, found) = if raw.events.contains(id) {
            (
                generated.file("events.rs").unwrap(),
                ir.events.iter().any(|e| e.api_name == *id),
            )
        } else {
            (
                generated.file("models.rs").unwrap(),
                ir.models.iter().any(|m| m.api_name == *id),
            )
        };
        assert!(found, "model {id} missing in the IR");
        assert!(
            text.contains(&format!("pub struct {name} {{")),
            "struct {name} ({id}) missing in the output"
        );
    }

    // events
    assert_eq!(counts.events, raw.events.len());
    for e in &raw.events {
        let name = names::type_name(e);
        let events = generated.file("events.rs").unwrap();
        assert!(
            events.contains(&format!("{name}(::std::boxed::Box<{name}>)")),
            "variant {name} missing"
        );
        assert!(
            events.contains(&format!("\"{e}\" =>")),
            "dispatch on {e} missing"
        );
    }

    // enum values: each in some IR enum and in the output
    let ir_values: BTreeSet<&str> = ir
        .enums
        .iter()
        .flat_map(|e| e.values.iter().map(|(v, _)| v.as_str()))
        .collect();
    for v in &raw.enum_values {
        assert!(
            ir_values.contains(v.as_str()),
            "enum value {v:?} missing in the IR"
        );
        assert!(
            generated
                .file("models.rs")
                .unwrap()
                .contains(&format!("{v:?} => Self::")),
            "enum value {v:?} missing in the output"
        );
    }
    assert_eq!(
        ir_values.len(),
        raw.enum_values.len(),
        "the IR has values the spec lacks"
    );
    assert_eq!(
        counts.enum_values,
        ir.enums.iter().map(|e| e.values.len()).sum::<usize>()
    );

    eprintln!(
        "coverage: {} operations ({} methods), {} models, {} events, {} enums with {} values ({} distinct), {} object methods",
        counts.operations, counts.methods, counts.models, counts.events, counts.enums, counts.enum_values,
        raw.enum_values.len(), counts.object_methods
    );
}

#[test]
fn the_documented_totals_hold() {
    // docs/ari-spec-notes.md §1 for Asterisk 22.10.1; a different spec folder changes these
    let raw = raw();
    assert_eq!(raw.operations.len(), 109);
    assert_eq!(raw.models.len(), 85);
    assert_eq!(raw.events.len(), 45);
}
