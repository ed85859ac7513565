//! `cargo xtask fuzz`: the coverage-guided fuzz targets of the event path
//! (`ari-client/fuzz`, cargo-fuzz and libFuzzer), each for a bounded time.
//!
//! 1. Seed a corpus per target, `<target dir>/fuzz/corpus/<target>/`, with every recorded
//!    event of `ari-client/tests/fixtures` (one file per event, compact JSON). The corpus
//!    is kept between runs: what libFuzzer adds to it, a later run starts from.
//! 2. Install `cargo-fuzz` (`cargo install cargo-fuzz --locked`) when `cargo fuzz` is
//!    missing.
//! 3. `cargo +nightly fuzz run <target> <corpus> -- -max_total_time=<seconds>` in
//!    `ari-client/fuzz`, its output passed through; then one line per target with the
//!    executions and the corpus of libFuzzer's final stats line. Exit 1 with the
//!    artifact's path when libFuzzer found a crash (the other targets still run).
//!
//! Not part of `cargo xtask test` or CI: it needs the nightly toolchain (sanitizers) and
//! the machine's cores for as long as it runs.

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use crate::args::Args;
use crate::error::{Error, Result};

/// The reader of the recorded events that the decoding and property tests use too.
#[path = "../../ari-client/tests/support/recorded.rs"]
mod recorded;

/// The fuzz targets, in the order `--target all` runs them (`ari-client/fuzz/fuzz_targets/`).
const TARGETS: &[&str] = &["decode", "scan"];

/// The rustup toolchain cargo-fuzz builds with: `-Zsanitizer` is nightly-only.
const TOOLCHAIN: &str = "nightly";

pub(crate) fn run(args: &[String]) -> Result<ExitCode> {
    let args = Args::parse(args, &["target", "seconds"], &[])?;
    if let Some(extra) = args.positional.first() {
        return Err(Error::usage(format!("fuzz: unexpected argument `{extra}`")));
    }
    let targets: Vec<&str> = match args.value("target").unwrap_or("all") {
        "all" => TARGETS.to_vec(),
        one if TARGETS.contains(&one) => vec![one],
        other => {
            return Err(Error::usage(format!(
                "--target must be decode, scan or all: {other:?}"
            )))
        }
    };
    let seconds = match args.value("seconds") {
        None => 60,
        Some(v) => v
            .parse::<u64>()
            .ok()
            .filter(|s| (1..=86_400).contains(s))
            .ok_or_else(|| Error::usage(format!("--seconds must be 1-86400: {v:?}")))?,
    };

    let seeds = fixture_events()?;
    ensure_cargo_fuzz()?;
    let mut crashes = Vec::new();
    for target in targets {
        let corpus = seed_corpus(target, &seeds)?;
        let outcome = fuzz(target, &corpus, seconds)?;
        println!("{}", outcome.summary(target, &corpus));
        if let Some(artifact) = outcome.artifact {
            crashes.push(format!(
                "{target}: {} (replay: cd ari-client/fuzz && cargo +{TOOLCHAIN} fuzz run {target} {})",
                artifact.display(),
                artifact.display()
            ));
        }
    }
    if crashes.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(Error::child(
            format!("libFuzzer found a crash: {}", crashes.join("; ")),
            Some(1),
        ))
    }
}

/// `cargo` with `+toolchain` if given, for the nested cargo-fuzz runs: rustup's proxy from
/// `PATH` (the outer `CARGO` is the outer toolchain's own cargo, which knows no
/// `+nightly`), without the environment the outer `cargo xtask` set for xtask. Of that,
/// `RUSTUP_TOOLCHAIN` names the outer toolchain, `RUSTC*` and `RUSTDOC` its tools
/// (cargo-fuzz even asks `$RUSTC` whether it is nightly), a relative `CARGO_TARGET_DIR`
/// would mean another folder under `ari-client/fuzz`, the `CARGO_PKG_*` and
/// `CARGO_MANIFEST_*` describe xtask, and the outer toolchain's and xtask's library
/// folders in `LD_LIBRARY_PATH` are no business of nightly's.
fn cargo(toolchain: Option<&str>) -> Command {
    let mut command = Command::new("cargo");
    if let Some(toolchain) = toolchain {
        command.arg(format!("+{toolchain}"));
    }
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(set_by_outer_cargo) {
            command.env_remove(&name);
        }
    }
    if let Some(paths) = std::env::var_os("LD_LIBRARY_PATH") {
        let own = own_library_paths(&paths);
        if own.is_empty() {
            command.env_remove("LD_LIBRARY_PATH");
        } else {
            command.env("LD_LIBRARY_PATH", own);
        }
    }
    command
}

/// Whether `name` is a variable `cargo xtask` (cargo run, through rustup) set for xtask,
/// or one that would point the nested cargo at the outer toolchain.
fn set_by_outer_cargo(name: &str) -> bool {
    matches!(
        name,
        "CARGO"
            | "CARGO_CRATE_NAME"
            | "CARGO_BIN_NAME"
            | "CARGO_PRIMARY_PACKAGE"
            | "CARGO_TARGET_DIR"
            | "RUSTDOC"
            | "RUST_RECURSION_COUNT"
    ) || ["CARGO_PKG_", "CARGO_MANIFEST_", "RUSTUP_TOOLCHAIN", "RUSTC"]
        .iter()
        .any(|prefix| name.starts_with(prefix))
}

/// `LD_LIBRARY_PATH` less the folders `cargo run` put there: the workspace's target dir
/// and the outer toolchain's libraries.
fn own_library_paths(paths: &std::ffi::OsStr) -> OsString {
    let toolchains = std::env::var_os("RUSTUP_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".rustup")))
        .map(|home| home.join("toolchains"));
    let target = crate::target_dir();
    let kept = std::env::split_paths(paths).filter(|path| {
        !path.starts_with(&target) && !toolchains.as_ref().is_some_and(|t| path.starts_with(t))
    });
    // the kept paths came out of one joined value, so they join again
    std::env::join_paths(kept).unwrap_or_default()
}

/// Whether `command` runs and exits 0 (its output dropped).
fn succeeds(command: &mut Command) -> bool {
    command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Makes sure `cargo +nightly fuzz` runs: installs cargo-fuzz if it is missing.
fn ensure_cargo_fuzz() -> Result<()> {
    if succeeds(cargo(Some(TOOLCHAIN)).args(["fuzz", "--version"])) {
        return Ok(());
    }
    if !succeeds(cargo(Some(TOOLCHAIN)).arg("--version")) {
        return Err(Error::new(format!(
            "fuzz: `cargo +{TOOLCHAIN}` does not run: the fuzz targets need the {TOOLCHAIN} toolchain (rustup toolchain install {TOOLCHAIN})"
        )));
    }
    eprintln!("xtask fuzz: `cargo fuzz` is missing: cargo install cargo-fuzz --locked");
    let status = cargo(None)
        .args(["install", "cargo-fuzz", "--locked"])
        .status()
        .map_err(|e| Error::new(format!("cannot run cargo install: {e}")))?;
    if !status.success() {
        return Err(Error::child(
            "cargo install cargo-fuzz failed",
            status.code(),
        ));
    }
    Ok(())
}

/// Every recorded event of `ari-client/tests/fixtures`, compact as Asterisk sends it,
/// named after where it came from.
fn fixture_events() -> Result<Vec<(String, String)>> {
    let fixtures = crate::workspace_root().join("ari-client/tests/fixtures");
    let events = recorded::recorded_events(&fixtures)
        .map_err(|e| Error::new(format!("cannot read {}: {e}", fixtures.display())))?;
    if events.is_empty() {
        return Err(Error::new(format!(
            "no recorded events in {}",
            fixtures.display()
        )));
    }
    Ok(events)
}

/// `<target dir>/fuzz/corpus/<target>/`, with a `seed-<name>` file per recorded event
/// (written again on every run; libFuzzer's own files are left as they are).
fn seed_corpus(target: &str, seeds: &[(String, String)]) -> Result<PathBuf> {
    let dir = crate::target_dir().join("fuzz/corpus").join(target);
    let failed = |e: std::io::Error| Error::new(format!("cannot write {}: {e}", dir.display()));
    std::fs::create_dir_all(&dir).map_err(failed)?;
    for (name, text) in seeds {
        std::fs::write(dir.join(format!("seed-{name}")), text).map_err(failed)?;
    }
    eprintln!(
        "xtask fuzz: {target}: {} recorded events seeded into {}",
        seeds.len(),
        dir.display()
    );
    Ok(dir)
}

/// Runs one target for `seconds`, libFuzzer's output passed through and read.
fn fuzz(target: &str, corpus: &Path, seconds: u64) -> Result<Outcome> {
    let dir = crate::workspace_root().join("ari-client/fuzz");
    eprintln!(
        "xtask fuzz: cargo +{TOOLCHAIN} fuzz run {target} {} -- -max_total_time={seconds}",
        corpus.display()
    );
    let mut child = cargo(Some(TOOLCHAIN))
        .args(["fuzz", "run", target])
        .arg(corpus)
        .arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .current_dir(&dir)
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::new(format!("cannot run cargo fuzz: {e}")))?;
    let mut outcome = Outcome::default();
    if let Some(stderr) = child.stderr.take() {
        let mut reader = BufReader::new(stderr);
        let mut line = Vec::new();
        // bytes, not lines of UTF-8: a crash report may quote the input
        while reader.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
            let text = String::from_utf8_lossy(&line);
            let text = text.trim_end_matches(['\n', '\r']);
            eprintln!("{text}");
            outcome.read(text, &dir);
            line.clear();
        }
    }
    let status = child
        .wait()
        .map_err(|e| Error::new(format!("cargo fuzz run {target}: {e}")))?;
    if !status.success() && outcome.artifact.is_none() {
        return Err(Error::child(
            format!("cargo fuzz run {target} failed without a crash artifact ({status})"),
            status.code(),
        ));
    }
    Ok(outcome)
}

/// What one run's libFuzzer output says.
#[derive(Debug, Default, PartialEq)]
struct Outcome {
    /// The last stats line (`#<executions> <event> cov: … corp: <inputs>/<size> … exec/s: <n> …`).
    stats: Option<Stats>,
    /// From `Done <runs> runs in <seconds> second(s)`.
    seconds: Option<u64>,
    /// From `Test unit written to <path>`: the input that crashed (or timed out, or ran out
    /// of memory), relative paths taken from `ari-client/fuzz`.
    artifact: Option<PathBuf>,
}

#[derive(Debug, PartialEq)]
struct Stats {
    executions: u64,
    corpus_inputs: u64,
    corpus_size: String,
    exec_per_s: Option<u64>,
}

impl Outcome {
    fn read(&mut self, line: &str, dir: &Path) {
        if let Some(stats) = Stats::parse(line) {
            self.stats = Some(stats);
        } else if let Some(rest) = line.strip_prefix("Done ") {
            self.seconds = rest
                .split_once(" runs in ")
                .and_then(|(_, s)| s.split_whitespace().next())
                .and_then(|s| s.parse().ok());
        } else if let Some((_, path)) = line.split_once("Test unit written to ") {
            self.artifact = Some(dir.join(path.trim()));
        }
    }

    fn summary(&self, target: &str, corpus: &Path) -> String {
        let Some(stats) = &self.stats else {
            return format!("fuzz {target}: libFuzzer printed no stats");
        };
        let time = match (self.seconds, stats.exec_per_s) {
            (Some(s), Some(rate)) => format!(" in {s} s ({rate}/s)"),
            (Some(s), None) => format!(" in {s} s"),
            (None, Some(rate)) => format!(" ({rate}/s)"),
            (None, None) => String::new(),
        };
        let found = match &self.artifact {
            Some(path) => format!("CRASH: {}", path.display()),
            None => "no crash".to_owned(),
        };
        format!(
            "fuzz {target}: {} executions{time}, corpus {} inputs of {} ({}); {found}",
            stats.executions,
            stats.corpus_inputs,
            stats.corpus_size,
            corpus.display()
        )
    }
}

impl Stats {
    /// A libFuzzer stats line: `#1048576\tpulse  cov: 812 ft: 2301 corp: 301/48Kb lim: 4096 exec/s: 34952 rss: 471Mb`.
    fn parse(line: &str) -> Option<Self> {
        let rest = line.strip_prefix('#')?;
        let executions = rest.split_whitespace().next()?.parse().ok()?;
        let after = |key: &str| {
            let mut words = rest.split_whitespace();
            words.find(|w| *w == key)?;
            words.next()
        };
        let (inputs, size) = after("corp:")?.split_once('/')?;
        Some(Stats {
            executions,
            corpus_inputs: inputs.parse().ok()?,
            corpus_size: size.to_owned(),
            exec_per_s: after("exec/s:").and_then(|r| r.parse().ok()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_libfuzzer_stats_and_artifacts() {
        let dir = Path::new("/ws/ari-client/fuzz");
        let mut outcome = Outcome::default();
        for line in [
            "INFO: Seed: 1234",
            "#126\tINITED cov: 700 ft: 1500 corp: 98/40Kb exec/s: 0 rss: 60Mb",
            "#2048\tNEW    cov: 701 ft: 1501 corp: 99/41Kb lim: 4096 exec/s: 1024 rss: 61Mb L: 12/400 MS: 1 ChangeBit-",
            "#1234567\tDONE   cov: 812 ft: 2301 corp: 301/48Kb lim: 4096 exec/s: 20576 rss: 471Mb",
            "Done 1234567 runs in 60 second(s)",
        ] {
            outcome.read(line, dir);
        }
        assert_eq!(
            outcome.stats,
            Some(Stats {
                executions: 1_234_567,
                corpus_inputs: 301,
                corpus_size: "48Kb".to_owned(),
                exec_per_s: Some(20_576),
            })
        );
        assert_eq!(outcome.seconds, Some(60));
        assert_eq!(outcome.artifact, None);
        assert_eq!(
            outcome.summary("decode", Path::new("/t/fuzz/corpus/decode")),
            "fuzz decode: 1234567 executions in 60 s (20576/s), corpus 301 inputs of 48Kb (/t/fuzz/corpus/decode); no crash"
        );

        outcome.read(
            "artifact_prefix='/ws/ari-client/fuzz/artifacts/scan/'; Test unit written to /ws/ari-client/fuzz/artifacts/scan/crash-0a1b",
            dir,
        );
        assert_eq!(
            outcome.artifact.as_deref(),
            Some(Path::new("/ws/ari-client/fuzz/artifacts/scan/crash-0a1b"))
        );
        outcome.read("Test unit written to artifacts/scan/crash-2c", dir);
        assert_eq!(
            outcome.artifact.as_deref(),
            Some(Path::new("/ws/ari-client/fuzz/artifacts/scan/crash-2c"))
        );
    }

    #[test]
    fn the_nested_cargo_drops_what_the_outer_one_set() {
        for name in [
            "CARGO",
            "CARGO_PKG_NAME",
            "CARGO_MANIFEST_DIR",
            "CARGO_MANIFEST_PATH",
            "CARGO_TARGET_DIR",
            "RUSTUP_TOOLCHAIN",
            "RUSTUP_TOOLCHAIN_SOURCE",
            "RUSTC",
            "RUSTC_WRAPPER",
            "RUSTDOC",
        ] {
            assert!(set_by_outer_cargo(name), "{name}");
        }
        for name in ["CARGO_HOME", "RUSTUP_HOME", "RUSTFLAGS", "PATH", "HOME"] {
            assert!(!set_by_outer_cargo(name), "{name}");
        }
    }
}
