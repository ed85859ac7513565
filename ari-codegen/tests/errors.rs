//! Bad input gives an error that names the file and the JSON path, never a panic.

use std::path::{Path, PathBuf};

use serde_json::Value;

fn spec_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../swagger-specs")
}

/// A copy of the bundled specs in a fresh temporary folder, with `edit` applied to `file`.
fn broken(name: &str, file: &str, edit: impl FnOnce(&mut Value)) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ari-codegen-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(spec_dir()).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
    }
    let path = dir.join(file);
    let mut json: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut json);
    std::fs::write(&path, serde_json::to_string_pretty(&json).unwrap()).unwrap();
    dir
}

fn error_of(dir: &Path) -> String {
    let e = ari_codegen::generate(dir).expect_err("must fail");
    let _ = std::fs::remove_dir_all(dir);
    e.to_string()
}

#[test]
fn unknown_property_type() {
    let dir = broken("type", "channels.json", |j| {
        j["models"]["Channel"]["properties"]["name"]["type"] = "Strnig".into();
    });
    assert_eq!(
        error_of(&dir),
        "channels.json#/models/Channel/properties/name/type: unknown type `Strnig`"
    );
}

#[test]
fn duplicate_model_across_files() {
    let dir = broken("dup", "bridges.json", |j| {
        let chan = serde_json::json!({"id": "Sound", "description": "x", "properties": {}});
        j["models"]["Sound"] = chan;
    });
    let e = error_of(&dir);
    assert!(
        e.contains("#/models/Sound: model `Sound` is also defined in"),
        "{e}"
    );
}

#[test]
fn path_template_without_parameter() {
    let dir = broken("path", "channels.json", |j| {
        j["apis"][2]["path"] = "/channels/{channelId}/{other}".into();
    });
    let e = error_of(&dir);
    assert!(
        e.starts_with("channels.json#/apis/2/operations/0: path template `{other}`"),
        "{e}"
    );
}

#[test]
fn path_parameter_without_template() {
    let dir = broken("param", "channels.json", |j| {
        j["apis"][2]["path"] = "/channels/x".into();
    });
    let e = error_of(&dir);
    assert!(
        e.starts_with(
            "channels.json#/apis/2/operations/0/parameters/0/name: path parameter `channelId`"
        ),
        "{e}"
    );
}

#[test]
fn duplicate_nickname() {
    let dir = broken("nick", "sounds.json", |j| {
        j["apis"][1]["operations"][0]["nickname"] = "list".into();
    });
    let e = error_of(&dir);
    assert!(e.starts_with("sounds.json#/apis/1/operations/0/nickname: nickname `list` is also used at /apis/0/operations/0"), "{e}");
}

#[test]
fn string_error_code_without_fixup() {
    let dir = broken("code", "bridges.json", |j| {
        j["apis"][0]["operations"][0]["errorResponses"] =
            serde_json::json!([{"code": "400", "reason": "x"}]);
    });
    let e = error_of(&dir);
    assert!(
        e.starts_with("bridges.json#/apis/0/operations/0/errorResponses/0/code"),
        "{e}"
    );
}

#[test]
fn malformed_json_names_the_file_and_line() {
    let dir = broken("json", "sounds.json", |_| {});
    std::fs::write(dir.join("sounds.json"), "{\n  \"apis\": [,]\n}").unwrap();
    let e = error_of(&dir);
    assert!(
        e.starts_with("sounds.json: not a valid ARI Swagger file (line 2"),
        "{e}"
    );
}

#[test]
fn missing_file() {
    let dir = broken("missing", "sounds.json", |_| {});
    std::fs::remove_file(dir.join("sounds.json")).unwrap();
    assert_eq!(error_of(&dir), "sounds.json: cannot read the file");
}

#[test]
fn fixed_upstream_bug_is_noticed() {
    // as if upstream fixed Rsrved → Rsrvd
    let dir = broken("fixed", "channels.json", |j| {
        j["models"]["Channel"]["properties"]["state"]["allowableValues"]["values"][1] =
            "Rsrvd".into();
    });
    let strict = ari_codegen::generate(&dir).expect_err("strict mode fails");
    assert!(
        strict
            .to_string()
            .contains("fixup `channel_state_rsrvd` no longer applies"),
        "{strict}"
    );
    let lenient =
        ari_codegen::generate_with(&dir, &ari_codegen::Options::default().strict_fixups(false))
            .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(lenient.skipped_fixups.len(), 1);
    assert_eq!(lenient.skipped_fixups[0].0, "channel_state_rsrvd");
    assert!(lenient
        .file("models.rs")
        .unwrap()
        .contains("\"Rsrvd\" => Self::Rsrvd"));
}

#[test]
fn every_fixup_applies_to_the_bundled_specs() {
    let g = ari_codegen::generate(&spec_dir()).unwrap();
    let names: Vec<&str> = ari_codegen::internals::FIXUPS
        .iter()
        .map(|f| f.name)
        .collect();
    assert_eq!(g.applied_fixups, names);
    assert!(g.skipped_fixups.is_empty());
    assert!(g.file("models.rs").unwrap().contains("pub local_ssrc: u32"));
    // channels.move's entry of the operation table has the fixed error codes
    let table = g.file("api/mod.rs").unwrap();
    let entry = &table[table.find("name: \"channels.move\"").unwrap()..];
    let entry = &entry[..entry.find("crate::rest::Operation").unwrap()];
    assert!(entry.contains("(404, \"Channel not found\")"), "{entry}");
}
