//! `cargo xtask regen` end to end on a copy of `swagger-specs/`: a modified spec set is
//! reported line by line, `--check` exits 1 then 0, and ari-client still builds from it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};

fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .canonicalize()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A fresh empty folder under the system temp dir.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("xtask-it-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn copy_specs(to: &Path) {
    for entry in std::fs::read_dir(workspace_root().join("swagger-specs")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

fn read(dir: &Path, name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join(name)).unwrap()).unwrap()
}

fn write(dir: &Path, name: &str, value: &Value) {
    std::fs::write(
        dir.join(name),
        serde_json::to_string_pretty(value).unwrap() + "\n",
    )
    .unwrap();
}

/// Copies the checked-in specs to a temp folder and adds one operation (POST
/// /channels/{channelId}/xtaskProbe), one event (XtaskProbed) and removes one field
/// (Channel.tenantid).
fn modified_specs(name: &str) -> PathBuf {
    let dir = temp_dir(name);
    copy_specs(&dir);

    let mut channels = read(&dir, "channels.json");
    channels["apis"].as_array_mut().unwrap().push(json!({
        "path": "/channels/{channelId}/xtaskProbe",
        "description": "Added by xtask/tests/regen.rs",
        "operations": [{
            "httpMethod": "POST",
            "since": ["99.0.0"],
            "summary": "Probe a channel.",
            "nickname": "xtaskProbe",
            "responseClass": "void",
            "parameters": [{
                "name": "channelId", "description": "Channel's id", "paramType": "path",
                "required": true, "allowMultiple": false, "dataType": "string"
            }],
            "errorResponses": [{"code": 404, "reason": "Channel not found"}]
        }]
    }));
    let removed = channels["models"]["Channel"]["properties"]
        .as_object_mut()
        .unwrap()
        .remove("tenantid");
    assert!(
        removed.is_some(),
        "Channel.tenantid is gone from the checked-in specs; pick another field"
    );
    write(&dir, "channels.json", &channels);

    let mut events = read(&dir, "events.json");
    events["models"]["XtaskProbed"] = json!({
        "id": "XtaskProbed",
        "description": "Added by xtask/tests/regen.rs.",
        "properties": {"channel": {"required": true, "type": "Channel", "description": "The channel."}}
    });
    events["models"]["Event"]["subTypes"]
        .as_array_mut()
        .unwrap()
        .push(json!("XtaskProbed"));
    write(&dir, "events.json", &events);
    dir
}

fn xtask(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn regen_reports_added_operation_added_event_and_removed_field() {
    let modified = modified_specs("report-src");
    let out = temp_dir("report-out");
    copy_specs(&out);
    let (from, to) = (modified.to_str().unwrap(), out.to_str().unwrap());

    let check = xtask(&["regen", "--from", from, "--out", to, "--check"]);
    let text = stdout(&check);
    assert_eq!(
        check.status.code(),
        Some(1),
        "{text}\n{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let report: Vec<&str> = text
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with("differs:"))
        .collect();
    assert_eq!(
        report,
        [
            "operations:",
            "  + channels.json xtaskProbe POST /channels/{channelId}/xtaskProbe",
            "event types:",
            "  + XtaskProbed",
            "model fields:",
            "  - Channel.tenantid (string)",
        ],
        "{text}"
    );
    assert!(
        text.contains("differs: channels.json\ndiffers: events.json\n"),
        "{text}"
    );
    assert_eq!(
        std::fs::read(out.join("channels.json")).unwrap(),
        std::fs::read(workspace_root().join("swagger-specs/channels.json")).unwrap()
    );

    let write = xtask(&["regen", "--from", from, "--out", to]);
    assert_eq!(write.status.code(), Some(0), "{}", stdout(&write));
    assert!(
        stdout(&write).ends_with("2 file(s) written, 0 removed, 10 unchanged\n"),
        "{}",
        stdout(&write)
    );
    assert_eq!(
        std::fs::read(out.join("events.json")).unwrap(),
        std::fs::read(modified.join("events.json")).unwrap()
    );

    let again = xtask(&["regen", "--from", from, "--out", to, "--check"]);
    assert_eq!(again.status.code(), Some(0), "{}", stdout(&again));
    assert!(
        stdout(&again).contains("\nno changes\n"),
        "{}",
        stdout(&again)
    );

    let _ = std::fs::remove_dir_all(&modified);
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn regen_errors_exit_2_with_the_file_named() {
    let dir = temp_dir("errors");
    let output = xtask(&[
        "regen",
        "--from",
        dir.to_str().unwrap(),
        "--out",
        dir.join("out").to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with(&format!(
            "error: cannot read {}/resources.json",
            dir.display()
        )),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// ari-client's build script reads `ARI_CLIENT_SPEC_DIR`: the modified spec set must still
/// generate a crate that compiles. Own target dir, so it never waits for the outer build's lock.
#[test]
fn ari_client_builds_from_modified_specs() {
    let modified = modified_specs("client-build");
    let root = workspace_root();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(&root)
        .args(["check", "--quiet", "-p", "ari-client"])
        .env("ARI_CLIENT_SPEC_DIR", &modified)
        .env("CARGO_TARGET_DIR", root.join("target/regen-check"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "cargo check -p ari-client with ARI_CLIENT_SPEC_DIR={} failed:\n{}",
        modified.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let _ = std::fs::remove_dir_all(&modified);
}
