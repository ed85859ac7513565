//! `cargo xtask`: project automation for ari-rs.
//!
//! Subcommands are verbs; see [`USAGE`]. Exit codes: 0 success, 1 a check failed
//! (`regen --check` drift, failing tests, a crash `fuzz` found), 2 usage or input error,
//! 3 `asterisk status`: not running.

mod args;
mod asterisk;
mod bench;
mod conformance;
mod demo;
mod error;
mod fuzz;
mod http;
mod regen;
mod server;
mod soak;
mod test_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use error::Error;

const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  regen --from <DIR | http://HOST:PORT[/ari]> [--user U] [--password P] [--check | --report] [--out DIR]
        Copy Asterisk's Swagger files (resources.json + the API declarations it lists) into
        swagger-specs/ and print what changed (operations, models, events, parameters, fields,
        lists of values, apiVersion). --check writes nothing and exits 1 when the files differ; --report writes
        nothing and exits 0 (what another Asterisk version has and lacks).
        Defaults: --user asterisk --password asterisk, --out <workspace>/swagger-specs.

  asterisk install|start|stop|status [--root DIR] [--port N] [--user U] [--password P] [--instance NAME]
        The loopback-only Asterisk sandbox (scripts in asterisk/). The flags set
        ASTERISK_ROOT, ARI_PORT, ARI_USER, ARI_PASS, ARI_INSTANCE (another instance of the
        same root: --instance ari-2 --port 9088). status exits 0 if running, 3 if not.

  test [-- <extra cargo test args>]
        Make sure the sandbox and its second instance (port + 1000, for the tests of several
        nodes) run (unless ARI_URL is set), check the specs for drift
        (regen --check against it), then run `cargo test --workspace` (every target but the bench binary, plus doc tests),
        then a short soak (3 restarts, one SIGKILL, 4 calls/s; not under ARI_URL).

  demo [--root DIR] [--port N] [--user U] [--password P]
        The hello example answering a scripted call: start the sandbox (unless ARI_URL is
        set; stopped again if demo started it), build and run examples/hello, place a call
        to Local/hello-dtmf@ari-test (presses 1 2 3 #) and check in Asterisk's log that it
        played hello-world, digits/1, digits/2, digits/3, goodbye. Exit 1 when it did not.

  bench
        Run the end-to-end benchmarks (cargo bench -p ari-client --bench e2e) against
        in-process fake servers: events/s, REST calls/s, connect time, memory, codegen
        time, each with its baseline and target. See docs/benchmarks.md.

  conformance [--record] [--root DIR] [--port N] [--user U] [--password P]
        The conformance suite (ari-client/tests/conformance/) against the sandbox (or
        ARI_URL): every operation this build can serve, every event type that can be
        provoked, hostile ids. Prints what is not covered and why; last line
        `conformance: X/109 operations, Y/45 event types`. --record saves the raw events and
        GET answers into ari-client/tests/fixtures/recorded/.

  soak [--restarts N] [--rate CALLS_PER_S] [--seed S] [--max-outage SECONDS] [--root DIR] [--port N] [--user U] [--password P]
        A call load (Local/dtmf@ari-test into an app of an in-process client: answer, beep,
        digits 1 2 3 #) on the sandbox Asterisk, restarted N times under it (half SIGTERM,
        half SIGKILL, each after an outage of 0.1 s to --max-outage, default 3 s; the plan
        comes from --seed, printed).
        Per restart: the outage and, from the first 200 of GET /ari/asterisk/ping, the time
        to the client registered again and to its first new StasisStart. Then the client's
        stats, VmRSS before and after, the errors by kind, min/median/max. Exit 1 when a
        target is missed: 0 panics; 0 object handlers, waiters and objects left; median and
        max ping→registered ≤ 0.5 s; a new call after every restart; no error in calls no
        restart touched; RSS growth ≤ 8 MiB. Defaults: --restarts 20 --rate 10. Refuses
        ARI_URL (it cannot restart that Asterisk).

  fuzz [--target decode|scan|all] [--seconds N]
        The coverage-guided fuzz targets of ari-client/fuzz (cargo-fuzz, libFuzzer): decode
        (every way the crate decodes an event agrees, what decodes round-trips) and scan
        (the websocket frame scanner agrees with serde), each for N seconds, from a corpus
        in <target dir>/fuzz/corpus/<target> seeded with the recorded fixture events.
        Installs cargo-fuzz (cargo install cargo-fuzz --locked) when `cargo fuzz` is
        missing; needs the nightly toolchain. Prints the executions and the corpus of
        libFuzzer's final stats; exit 1 with the artifact's path when it found a crash.
        Defaults: --target all --seconds 60. Not part of `test` or CI (stable only).

  help  Print this text.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("regen") => regen::run(&args[1..]),
        Some("asterisk") => asterisk::run(&args[1..]),
        Some("test") => test_cmd::run(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        Some("demo") => demo::run(&args[1..]),
        Some("conformance") => conformance::run(&args[1..]),
        Some("soak") => soak::run(&args[1..]),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("help" | "-h" | "--help") => {
            print!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        Some(other) => Err(Error::usage(format!("unknown command `{other}`"))),
        None => Err(Error::usage("no command given")),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err}");
            if err.is_usage() {
                eprintln!();
                eprint!("{USAGE}");
            }
            ExitCode::from(err.exit_code())
        }
    }
}

/// Cargo's target directory: `CARGO_TARGET_DIR` (relative to the workspace) or `<workspace>/target`.
pub(crate) fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => workspace_root().join(dir),
        None => workspace_root().join("target"),
    }
}

/// The workspace root: the parent of this crate's folder (symlinks resolved).
pub(crate) fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = manifest_dir.canonicalize().unwrap_or(manifest_dir);
    dir.parent().map(PathBuf::from).unwrap_or(dir)
}
