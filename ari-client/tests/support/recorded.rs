//! The recorded events of `ari-client/tests/fixtures`, compact as Asterisk sends them. One
//! reader for every user of them, each including this file with `#[path]`: the decoding
//! tests (`tests/decode.rs`), the property tests (`src/properties/tests.rs`) and the seed
//! corpus of `cargo xtask fuzz` (`xtask/src/fuzz.rs`).

use std::io::{Error, ErrorKind};
use std::path::{Path, PathBuf};

/// `(name, text)` of every event under `fixtures` (the `ari-client/tests/fixtures` folder),
/// in file order: each line of `events/*.jsonl` (named `<file stem>-<line>`), then each
/// file of `recorded/events/*.json`, one pretty-printed event each, compacted (named
/// `recorded-<file stem>`). The names can be file names.
pub(crate) fn recorded_events(fixtures: &Path) -> std::io::Result<Vec<(String, String)>> {
    let mut events = Vec::new();
    for path in files(&fixtures.join("events"), "jsonl")? {
        let text = std::fs::read_to_string(&path)?;
        let stem = stem(&path);
        for (n, line) in text.lines().enumerate() {
            if !line.trim().is_empty() {
                events.push((format!("{stem}-{}", n + 1), line.to_owned()));
            }
        }
    }
    for path in files(&fixtures.join("recorded/events"), "json")? {
        let text = std::fs::read_to_string(&path)?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| Error::new(ErrorKind::InvalidData, format!("{}: {e}", path.display())))?;
        events.push((format!("recorded-{}", stem(&path)), value.to_string()));
    }
    Ok(events)
}

/// The files of `dir` ending in `.<extension>`, sorted.
fn files(dir: &Path, extension: &str) -> std::io::Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == extension) {
            paths.push(path);
        }
    }
    paths.sort();
    Ok(paths)
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}
