//! `cargo xtask conformance`: the conformance suite (`ari-client/tests/conformance/`)
//! against the sandbox (or `ARI_URL`), and its summary.
//!
//! 1. Like `test`: unless `ARI_URL` is set, install/start the sandbox (stopped again at the
//!    end if this command started it).
//! 2. `cargo test -p ari-client --test conformance -- --nocapture` with
//!    `ARI_CONFORMANCE_REPORT=<target>/conformance-report.json` (and `ARI_RECORD=1` with
//!    `--record`: raw events and GET answers go to `ari-client/tests/fixtures/recorded/`).
//! 3. Print what the report says is not covered, and why; the last line is
//!    `conformance: X/109 operations, Y/45 event types`. Exit 1 when the suite failed.

use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::Instant;

use crate::args::Args;
use crate::asterisk::Sandbox;
use crate::error::{Error, Result};
use crate::server::{Caller, Server};

const CALLER: Caller = Caller {
    name: "conformance",
    prefix: "xtask conformance",
};

pub(crate) fn run(args: &[String]) -> Result<ExitCode> {
    let args = Args::parse(args, Sandbox::OPTIONS, &["record"])?;
    if let Some(extra) = args.positional.first() {
        return Err(Error::usage(format!(
            "conformance: unexpected argument `{extra}`"
        )));
    }
    let t0 = Instant::now();
    let server = Server::prepare(&args, CALLER)?;
    let result = run_suite(&server, args.flag("record"));
    server.finish();
    eprintln!(
        "xtask conformance: total {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    result
}

/// `<target dir>/conformance-report.json`.
fn report_path() -> PathBuf {
    crate::target_dir().join("conformance-report.json")
}

fn run_suite(server: &Server, record: bool) -> Result<ExitCode> {
    let report = report_path();
    let _ = std::fs::remove_file(&report);
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(crate::workspace_root())
        .args([
            "test",
            "-p",
            "ari-client",
            "--test",
            "conformance",
            "--",
            "--nocapture",
        ])
        .envs(server.test_env())
        .env("ARI_CONFORMANCE_REPORT", &report);
    if record {
        command.env("ARI_RECORD", "1");
    }
    eprintln!(
        "xtask conformance: cargo test -p ari-client --test conformance -- --nocapture (against {}{})",
        server.url,
        if record {
            "; recording fixtures into ari-client/tests/fixtures/recorded/"
        } else {
            ""
        }
    );
    let status = command
        .status()
        .map_err(|e| Error::new(format!("cannot run cargo: {e}")))?;

    let text = std::fs::read_to_string(&report).map_err(|e| {
        Error::child(
            format!(
                "the conformance suite wrote no report to {} ({e}); it failed to build or run, or skipped (no Asterisk?) ({status})",
                report.display()
            ),
            status.code(),
        )
    })?;
    let report: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::new(format!("{}: not JSON: {e}", report_path().display())))?;
    if !status.success() {
        eprintln!("xtask conformance: the suite failed ({status}); see the FAILURE lines");
    }
    print_summary(&report);
    if !status.success() {
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// The uncovered operations and event types with their reasons, then the totals line.
fn print_summary(report: &serde_json::Value) {
    let ops = &report["operations"];
    let events = &report["events"];
    println!();
    println!(
        "conformance summary (Asterisk {}, {:.1} s):",
        report["asterisk"].as_str().unwrap_or("?"),
        report["seconds"].as_f64().unwrap_or(0.0)
    );
    let reason = |row: &serde_json::Value| {
        row["reason"]
            .as_str()
            .or(row["detail"].as_str())
            .map(String::from)
            .unwrap_or_else(|| row["stats"].to_string())
    };
    let mut expected = Vec::new();
    let mut other = Vec::new();
    for (op, row) in ops["results"].as_object().into_iter().flatten() {
        match row["status"].as_str().unwrap_or("?") {
            "ok" => {}
            "expected_error" => expected.push(format!(
                "  {op}: HTTP {} — {}",
                row["http_status"],
                reason(row)
            )),
            status => other.push(format!("  {op}: {status} — {}", reason(row))),
        }
    }
    if !expected.is_empty() {
        println!(
            "operations answered only with a documented error (success impossible on this build; not counted as covered): {}",
            expected.len()
        );
        expected.iter().for_each(|l| println!("{l}"));
    }
    if !other.is_empty() {
        println!("operations not covered: {}", other.len());
        other.iter().for_each(|l| println!("{l}"));
    }
    let mut missing = Vec::new();
    for (kind, row) in events["results"].as_object().into_iter().flatten() {
        let status = row["status"].as_str().unwrap_or("?");
        if status != "ok" {
            missing.push(format!("  {kind}: {status} — {}", reason(row)));
        }
        let fields = &row["stats"]["unspecified_fields"];
        if fields.as_array().is_some_and(|f| !f.is_empty()) {
            println!("  {kind}: fields Asterisk sends that the spec lacks: {fields}");
        }
    }
    if !missing.is_empty() {
        println!("event types not covered: {}", missing.len());
        missing.iter().for_each(|l| println!("{l}"));
    }
    for failure in report["failures"].as_array().into_iter().flatten() {
        println!("FAILURE: {}", failure.as_str().unwrap_or("?"));
    }
    println!(
        "conformance: {}/{} operations, {}/{} event types",
        ops["covered"], ops["total"], events["covered"], events["total"]
    );
}
