//! Generates the typed API (models, events, repositories, domain-object methods) from the
//! ARI Swagger files with `ari-codegen`, into `OUT_DIR`.
//!
//! The spec folder is `$ARI_CLIENT_SPEC_DIR` if set, else `<manifest>/swagger-specs` if it
//! exists (the packaged crate), else `<manifest>/../swagger-specs` (the workspace).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    println!("cargo:rerun-if-env-changed=ARI_CLIENT_SPEC_DIR");
    println!("cargo:rerun-if-env-changed=ARI_CLIENT_CODEGEN_TIMING");
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let custom = std::env::var_os("ARI_CLIENT_SPEC_DIR").map(PathBuf::from);
    let dir = match &custom {
        Some(dir) => dir.clone(),
        None if manifest.join("swagger-specs").is_dir() => manifest.join("swagger-specs"),
        None => manifest.join("../swagger-specs"),
    };
    println!("cargo:rerun-if-changed={}", dir.display());
    // the bundled specs must match the fixups exactly; other versions may lack a bug
    let options = ari_codegen::Options::default().strict_fixups(custom.is_none());
    let start = Instant::now();
    let generated = match ari_codegen::generate_with(&dir, &options) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("error: cannot generate the ARI API from {}", dir.display());
            eprintln!("  {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                eprintln!("  caused by: {s}");
                source = s.source();
            }
            return ExitCode::FAILURE;
        }
    };
    let elapsed = start.elapsed();
    for input in &generated.inputs {
        println!("cargo:rerun-if-changed={}", input.display());
    }
    for (name, why) in &generated.skipped_fixups {
        println!("cargo:warning=ari-client: spec fixup `{name}` skipped: {why}");
    }
    if std::env::var_os("ARI_CLIENT_CODEGEN_TIMING").is_some() {
        println!(
            "cargo:warning=ari-client: generated {} operations, {} models, {} events in {:.1} ms",
            generated.counts.operations,
            generated.counts.models,
            generated.counts.events,
            elapsed.as_secs_f64() * 1000.0
        );
    }
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo"));
    for (file, text) in &generated.files {
        let path = out.join(file);
        // leave an unchanged file alone so that its timestamp does not change
        if std::fs::read_to_string(&path).ok().as_deref() == Some(text.as_str()) {
            continue;
        }
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&path, text));
        if let Err(e) = written {
            eprintln!("error: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    // the `testing` feature's fake Asterisk serves and answers by the same specs
    if std::env::var_os("CARGO_FEATURE_TESTING").is_some() {
        if let Err(e) = write_specs(&dir, &out.join("testing/specs.rs")) {
            eprintln!("error: cannot embed the specs for the fake Asterisk: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

/// Writes `SPECS`, every `*.json` of `dir` as `(file name, include_str!(path))`.
fn write_specs(dir: &std::path::Path, to: &std::path::Path) -> std::io::Result<()> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut text = String::from(
        "/// The spec files, `(name, text)`.\npub(crate) static SPECS: &[(&str, &str)] = &[\n",
    );
    for f in &files {
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let path = std::fs::canonicalize(f)?;
        text.push_str(&format!(
            "    ({name:?}, include_str!({:?})),\n",
            path.display().to_string()
        ));
    }
    text.push_str("];\n");
    if std::fs::read_to_string(to).ok().as_deref() != Some(text.as_str()) {
        if let Some(dir) = to.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(to, text)?;
    }
    Ok(())
}
