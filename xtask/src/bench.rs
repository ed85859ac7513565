//! `cargo xtask bench`: the end-to-end benchmarks of `ari-client`.
//!
//! Runs `cargo bench -p ari-client --bench e2e` (one `harness = false` binary,
//! `ari-client/benches/e2e/`): fake servers on 127.0.0.1, no Asterisk needed. It prints
//! one line per figure with ours, the baseline measured in the same run, the ratio and
//! whether the target was met; docs/benchmarks.md explains the figures. With the `nats`
//! feature it also measures events through a relay and a nats-server of its own (Debian's
//! `nats-server`, installed by `nats/install.sh`; skipped, loudly, without it).

use std::process::{Command, ExitCode};

use crate::error::{Error, Result};

pub(crate) fn run(args: &[String]) -> Result<ExitCode> {
    if let Some(extra) = args.first() {
        return Err(Error::usage(format!(
            "bench: unexpected argument `{extra}`"
        )));
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        // `nats`: the figures through a relay and nats-server (started by nats/start.sh)
        .args([
            "bench",
            "-p",
            "ari-client",
            "--bench",
            "e2e",
            "--features",
            "nats",
        ])
        .current_dir(crate::workspace_root())
        .status()
        .map_err(|e| Error::new(format!("cannot run cargo bench: {e}")))?;
    if status.success() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(Error::child("cargo bench failed", status.code()))
    }
}
