//! `cargo xtask regen`: copy Asterisk's Swagger files into `swagger-specs/` and report changes.
//!
//! From a folder the files are copied byte for byte. From a running Asterisk (which serves
//! compact JSON with `basePath` rewritten to the request host) `basePath` is set back to
//! [`fetch::CANONICAL_BASE_PATH`]; a file whose content equals the checked-in one keeps its
//! checked-in bytes, and a changed file is laid out with tabs like Asterisk's own files.

pub(crate) mod fetch;
pub(crate) mod jsontext;
pub(crate) mod report;
pub(crate) mod summary;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::args::Args;
use crate::error::{Error, Result};
use fetch::{Source, SpecFile, LISTING};

/// Options of `cargo xtask regen`.
#[derive(Debug)]
pub(crate) struct Options {
    pub(crate) source: Source,
    pub(crate) out: PathBuf,
    pub(crate) mode: Mode,
}

/// What `regen` does with the change report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Prints it and writes the files.
    Write,
    /// `--check`: prints it, writes nothing, exits 1 when the files differ.
    Check,
    /// `--report`: prints it, writes nothing, exits 0 (how another version differs).
    Report,
}

pub(crate) fn run(args: &[String]) -> Result<ExitCode> {
    let args = Args::parse(
        args,
        &["from", "user", "password", "out"],
        &["check", "report"],
    )?;
    if let Some(extra) = args.positional.first() {
        return Err(Error::usage(format!(
            "regen: unexpected argument `{extra}`"
        )));
    }
    let from = args
        .value("from")
        .ok_or_else(|| Error::usage("regen: --from <DIR | http://HOST:PORT> is required"))?;
    let user = args.value("user").unwrap_or("asterisk");
    let password = args.value("password").unwrap_or("asterisk");
    let out = args
        .value("out")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::workspace_root().join("swagger-specs"));
    let mode = match (args.flag("check"), args.flag("report")) {
        (true, true) => {
            return Err(Error::usage(
                "regen: --check and --report exclude each other",
            ))
        }
        (true, false) => Mode::Check,
        (false, true) => Mode::Report,
        (false, false) => Mode::Write,
    };
    let options = Options {
        source: Source::parse(from, user, password)?,
        out,
        mode,
    };
    regen(&options)
}

/// The outcome of comparing a fetched spec set with the folder's contents.
#[derive(Debug)]
pub(crate) struct Plan {
    /// Files to write, with their final bytes, in listing order.
    pub(crate) files: Vec<SpecFile>,
    /// Names whose bytes differ from the folder's (new or changed).
    pub(crate) changed: Vec<String>,
    /// `*.json` in the folder that the listing no longer names.
    pub(crate) stale: Vec<String>,
    pub(crate) report: report::Report,
    /// False when the folder had no readable spec set to compare with.
    pub(crate) had_old: bool,
    pub(crate) api_version: Option<String>,
}

impl Plan {
    pub(crate) fn is_up_to_date(&self) -> bool {
        self.changed.is_empty() && self.stale.is_empty()
    }
}

/// Loads the source and compares it with `out` (writes nothing).
pub(crate) fn plan(source: &Source, out: &Path) -> Result<Plan> {
    let mut files = source.load()?;
    let new_summary = summary::summarize(&files)
        .map_err(|e| Error::new(format!("{}: {e}", source_root(source))))?;

    let old_files = match Source::Dir(out.to_path_buf()).load() {
        Ok(files) => Some(files),
        Err(_) if !out.join(LISTING).exists() => None,
        Err(e) => {
            eprintln!("warning: the checked-in specs cannot be read, comparing with nothing: {e}");
            None
        }
    };
    let old_summary = old_files.as_ref().and_then(|old| {
        summary::summarize(old)
            .map_err(|e| eprintln!("warning: the checked-in specs are not valid ARI specs, comparing with nothing: {e}"))
            .ok()
    });

    // the same content as checked in: keep the checked-in bytes (a served file has lost the
    // original layout, so re-running on the same Asterisk changes no byte)
    if source.is_url() {
        for file in &mut files {
            if let Some(old) = old_files
                .iter()
                .flatten()
                .find(|o| o.name == file.name && o.value == file.value)
            {
                file.bytes = old.bytes.clone();
            }
        }
    }

    let on_disk = fetch::json_files_in(out)?;
    let changed = files
        .iter()
        .filter(|f| {
            !on_disk
                .iter()
                .any(|(name, bytes)| *name == f.name && *bytes == f.bytes)
        })
        .map(|f| f.name.clone())
        .collect();
    let stale = on_disk
        .iter()
        .map(|(name, _)| name)
        .filter(|name| !files.iter().any(|f| f.name == **name))
        .cloned()
        .collect();
    let report = report::diff(
        old_summary.as_ref().unwrap_or(&summary::Summary::default()),
        &new_summary,
    );
    let api_version = new_summary.api_version().map(String::from);
    Ok(Plan {
        files,
        changed,
        stale,
        report,
        had_old: old_summary.is_some(),
        api_version,
    })
}

fn source_root(source: &Source) -> String {
    match source {
        Source::Dir(dir) => dir.display().to_string(),
        Source::Url { base, .. } => format!("{base}/api-docs"),
    }
}

fn regen(options: &Options) -> Result<ExitCode> {
    let Options { source, out, mode } = options;
    let plan = plan(source, out)?;
    // nothing is written in either mode that is not Write
    let dry = *mode != Mode::Write;
    let version = plan.api_version.as_deref().unwrap_or("?");
    println!(
        "regen: {} ({} declarations, apiVersion {version}) vs {}",
        source_root(source),
        plan.files.len() - 1,
        out.display()
    );
    if !plan.had_old {
        println!("no checked-in specs in {} to compare with", out.display());
    } else if plan.report.is_empty() && !plan.is_up_to_date() {
        println!("no structural changes, but the text differs (descriptions, layout, ...)");
    } else {
        print!("{}", plan.report);
    }
    for name in &plan.changed {
        println!("{} {name}", if dry { "differs:" } else { "write:" });
    }
    for name in &plan.stale {
        println!(
            "{} {name} (no longer listed)",
            if dry { "stale:" } else { "remove:" }
        );
    }

    if *mode == Mode::Report {
        println!("report only: nothing written");
        return Ok(ExitCode::SUCCESS);
    }
    if *mode == Mode::Check {
        if plan.is_up_to_date() {
            println!("{} is up to date", out.display());
            return Ok(ExitCode::SUCCESS);
        }
        println!("{} differs from the source; run `cargo xtask regen --from <source>` and commit the result", out.display());
        return Ok(ExitCode::from(1));
    }

    std::fs::create_dir_all(out)
        .map_err(|e| Error::new(format!("cannot create {}: {e}", out.display())))?;
    for file in plan.files.iter().filter(|f| plan.changed.contains(&f.name)) {
        write_atomically(&out.join(&file.name), &file.bytes)?;
    }
    for name in &plan.stale {
        let path = out.join(name);
        std::fs::remove_file(&path)
            .map_err(|e| Error::new(format!("cannot remove {}: {e}", path.display())))?;
    }
    println!(
        "{}: {} file(s) written, {} removed, {} unchanged",
        out.display(),
        plan.changed.len(),
        plan.stale.len(),
        plan.files.len() - plan.changed.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| Error::new(format!("cannot write {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh empty folder under the system temp dir.
    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-regen-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn error_of(dir: &Path) -> String {
        plan(&Source::Dir(dir.to_path_buf()), &dir.join("out"))
            .unwrap_err()
            .to_string()
    }

    const LISTING_JSON: &str = r#"{"apiVersion": "1.0.0", "swaggerVersion": "1.1", "basePath": "http://localhost:8088/ari",
        "apis": [{"path": "/api-docs/sounds.{format}"}]}"#;

    #[test]
    fn missing_declaration_names_file_and_listing_entry() {
        let dir = temp_dir("missing");
        std::fs::write(dir.join(LISTING), LISTING_JSON).unwrap();
        let err = error_of(&dir);
        assert!(
            err.starts_with(&format!("cannot read {}/sounds.json: ", dir.display())),
            "{err}"
        );
        assert!(err.ends_with("resources.json#/apis/0/path)"), "{err}");
    }

    #[test]
    fn missing_listing_is_an_error() {
        let dir = temp_dir("nolisting");
        assert!(
            error_of(&dir).starts_with(&format!("cannot read {}/resources.json", dir.display()))
        );
    }

    #[test]
    fn bad_json_names_file_line_and_column() {
        let dir = temp_dir("badjson");
        std::fs::write(dir.join(LISTING), LISTING_JSON).unwrap();
        std::fs::write(dir.join("sounds.json"), "{\n  \"apis\": [,]\n}\n").unwrap();
        let err = error_of(&dir);
        assert!(
            err.starts_with(&format!("{}/sounds.json: not valid JSON: ", dir.display())),
            "{err}"
        );
        assert!(err.contains("line 2 column"), "{err}");
    }

    #[test]
    fn not_a_listing() {
        let dir = temp_dir("notlisting");
        std::fs::write(
            dir.join(LISTING),
            r#"{"swaggerVersion": "1.1", "models": {}}"#,
        )
        .unwrap();
        assert_eq!(
            error_of(&dir),
            format!(
                "{}/resources.json#/apis: missing array (not a Swagger resource listing)",
                dir.display()
            )
        );
        std::fs::write(dir.join(LISTING), r#"{"apis": []}"#).unwrap();
        assert_eq!(
            error_of(&dir),
            format!(
                "{}/resources.json#/swaggerVersion: missing (not a Swagger resource listing)",
                dir.display()
            )
        );
        std::fs::write(dir.join(LISTING), "[1, 2]").unwrap();
        assert_eq!(
            error_of(&dir),
            format!(
                "{}/resources.json#: expected a JSON object, found an array",
                dir.display()
            )
        );
        std::fs::write(
            dir.join(LISTING),
            r#"{"swaggerVersion": "1.1", "apis": [{"path": "../x"}]}"#,
        )
        .unwrap();
        assert!(error_of(&dir).ends_with(
            "resources.json#/apis/0/path: expected \"/api-docs/<name>.{format}\", found \"../x\""
        ));
    }

    #[test]
    fn check_plan_sees_changes_and_stale_files_and_base_path_is_normalized() {
        let src = temp_dir("plan-src");
        std::fs::write(
            src.join(LISTING),
            LISTING_JSON.replace("localhost", "127.0.0.1"),
        )
        .unwrap();
        std::fs::write(
            src.join("sounds.json"),
            "{\"basePath\": \"http://x/ari\", \"apis\": []}\n",
        )
        .unwrap();
        let out = src.join("out");
        let first = plan(&Source::Dir(src.clone()), &out).unwrap();
        assert!(!first.had_old);
        assert_eq!(first.changed, ["resources.json", "sounds.json"]);
        assert_eq!(
            first.files[1].bytes,
            b"{\"basePath\": \"http://localhost:8088/ari\", \"apis\": []}\n"
        );

        std::fs::create_dir_all(&out).unwrap();
        for f in &first.files {
            std::fs::write(out.join(&f.name), &f.bytes).unwrap();
        }
        std::fs::write(out.join("old.json"), "{}").unwrap();
        let second = plan(&Source::Dir(src.clone()), &out).unwrap();
        assert!(second.had_old && second.report.is_empty() && second.changed.is_empty());
        assert_eq!(second.stale, ["old.json"]);
        assert!(!second.is_up_to_date());
    }

    #[test]
    fn checked_in_specs_are_a_valid_spec_set() {
        let specs = crate::workspace_root().join("swagger-specs");
        let plan = plan(&Source::Dir(specs.clone()), &specs).unwrap();
        assert!(plan.is_up_to_date() && plan.report.is_empty());
        assert_eq!(plan.files.len(), 12);
    }
}
