//! `cargo xtask test`: the project's whole test command.
//!
//! 1. Unless `ARI_URL` is set: install the sandbox if needed and start it if it is not running.
//!    Also its second instance (the same chroot, instance `ari-2`, port + 1000), for the
//!    tests of several nodes.
//! 2. Export `ARI_URL`, `ARI_USER`, `ARI_PASSWORD`, `ARI_ASTERISK_LOG`, `ARI_ASTERISK_CTL`
//!    (path of `asterisk/ctl.sh`: `start|stop|restart|status`) and `ARI_RESTART_CMD`; for the
//!    second instance `ARI_URL_2` and `ARI_RESTART_CMD_2`.
//!    Also installs Debian's `nats-server` if it is missing (`nats/install.sh`): the NATS
//!    tests start servers of their own with `nats/start.sh`, on loopback ports they pick,
//!    and stop them by PID.
//! 3. `regen --check` against that server: spec drift fails the run.
//! 4. `cargo test --workspace --lib --bins --tests --examples --features ari-client/testing,ari-client/nats`,
//!    then `cargo test --workspace --doc --features ari-client/testing,ari-client/nats`
//!    (not `--all-targets`: that would run the benchmark binary, which has no harness, in a
//!    debug build; `cargo xtask bench` runs it).
//! 5. Unless `ARI_URL` is set: a short soak (`cargo xtask soak` with 3 restarts, one of them
//!    SIGKILL, at 4 calls/s), after the cargo tests so that no test sees Asterisk go away;
//!    a missed target fails the run. It ends with the sandbox started again.
//! 6. Stop Asterisk again only if step 1 started it.

use std::process::{Command, ExitCode};
use std::time::Instant;

use crate::args::Args;
use crate::asterisk::Sandbox;
use crate::error::{Error, Result};
use crate::regen;
use crate::server::{Caller, Server};
use crate::soak;

const CALLER: Caller = Caller {
    name: "test",
    prefix: "xtask test",
};

pub(crate) fn run(args: &[String]) -> Result<ExitCode> {
    let args = Args::parse(args, Sandbox::OPTIONS, &[])?;
    if let Some(extra) = args.positional.first() {
        return Err(Error::usage(format!(
            "test: unexpected argument `{extra}` (extra cargo test arguments go after `--`)"
        )));
    }
    let t0 = Instant::now();
    let server = Server::prepare(&args, CALLER)?.with_second_node()?;
    crate::server::ensure_nats_server(CALLER)?;
    let result = run_steps(&server, &args.rest);
    server.finish();
    eprintln!("xtask test: total {:.1} s", t0.elapsed().as_secs_f64());
    result
}

fn run_steps(server: &Server, extra: &[String]) -> Result<ExitCode> {
    let env = server.test_env();
    for (name, value) in &env {
        eprintln!("xtask test: {name}={value}");
    }

    let t = Instant::now();
    eprintln!("xtask test: regen --check against {}", server.url);
    let source = regen::fetch::Source::parse(&server.url, &server.user, &server.password)?;
    let specs = crate::workspace_root().join("swagger-specs");
    let plan = regen::plan(&source, &specs)?;
    if !plan.is_up_to_date() {
        print!("{}", plan.report);
        for name in plan.changed.iter().chain(&plan.stale) {
            println!("differs: {name}");
        }
        return Err(Error::child(
            format!(
                "swagger-specs/ differs from the server's specs at {}; run `cargo xtask regen --from {}` and review the report",
                server.url, server.url
            ),
            Some(1),
        ));
    }
    eprintln!(
        "xtask test: swagger-specs/ matches the server ({:.1} s)",
        t.elapsed().as_secs_f64()
    );

    cargo(
        &[
            "test",
            "--workspace",
            "--lib",
            "--bins",
            "--tests",
            "--examples",
            // the fake Asterisk's own tests, and the examples' tests against it; the relay
            // and app instances over NATS
            "--features",
            "ari-client/testing,ari-client/nats",
        ],
        extra,
        &env,
    )?;
    cargo(
        &[
            "test",
            "--workspace",
            "--doc",
            "--features",
            "ari-client/testing,ari-client/nats",
        ],
        extra,
        &env,
    )?;
    short_soak(server)?;
    Ok(ExitCode::SUCCESS)
}

/// Step 5: the short soak, on the sandbox only.
fn short_soak(server: &Server) -> Result<()> {
    if server.sandbox.is_none() {
        eprintln!("xtask test: ARI_URL is set: skipping the soak (it restarts Asterisk, which it can do to the sandbox only)");
        return Ok(());
    }
    let options = soak::Options::short();
    let t = Instant::now();
    eprintln!(
        "xtask test: soak --restarts {} --rate {} --seed {}",
        options.restarts, options.rate, options.seed
    );
    let met = soak::soak(server, &options)?;
    eprintln!(
        "xtask test: soak: {} ({:.1} s)",
        if met { "targets met" } else { "targets MISSED" },
        t.elapsed().as_secs_f64()
    );
    if !met {
        return Err(Error::child(
            format!(
                "the soak missed targets (the `soak: target … MISSED` lines; replay with `cargo xtask soak --restarts {} --rate {} --seed {}`)",
                options.restarts, options.rate, options.seed
            ),
            Some(1),
        ));
    }
    Ok(())
}

fn cargo(args: &[&str], extra: &[String], env: &[(&str, String)]) -> Result<()> {
    let t = Instant::now();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.current_dir(crate::workspace_root()).args(args);
    if !extra.is_empty() {
        command.arg("--").args(extra);
    }
    command.envs(env.iter().map(|(k, v)| (*k, v)));
    let shown = format!(
        "cargo {}{}",
        args.join(" "),
        if extra.is_empty() {
            String::new()
        } else {
            format!(" -- {}", extra.join(" "))
        }
    );
    eprintln!("xtask test: {shown}");
    let status = command
        .status()
        .map_err(|e| Error::new(format!("cannot run cargo: {e}")))?;
    eprintln!(
        "xtask test: {shown}: {status} ({:.1} s)",
        t.elapsed().as_secs_f64()
    );
    if !status.success() {
        return Err(Error::child(
            format!("`{shown}` failed ({status})"),
            status.code(),
        ));
    }
    Ok(())
}
