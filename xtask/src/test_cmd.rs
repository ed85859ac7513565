//! `cargo xtask test`: the project's whole test command.
//!
//! 1. Unless `ARI_URL` is set: install the sandbox if needed and start it if it is not running.
//! 2. Export `ARI_URL`, `ARI_USER`, `ARI_PASSWORD`, `ARI_ASTERISK_LOG`, `ARI_ASTERISK_CTL`
//!    (path of `asterisk/ctl.sh`: `start|stop|restart|status`) and `ARI_RESTART_CMD`.
//! 3. `regen --check` against that server: spec drift fails the run.
//! 4. `cargo test --workspace --lib --bins --tests --examples`, then `cargo test --workspace --doc`
//!    (not `--all-targets`: that would run the benchmark binary, which has no harness, in a
//!    debug build; `cargo xtask bench` runs it).
//! 5. Stop Asterisk again only if step 1 started it.

use std::process::{Command, ExitCode};
use std::time::Instant;

use crate::args::Args;
use crate::asterisk::{self, Sandbox};
use crate::error::{Error, Result};
use crate::regen;

/// The server the tests talk to.
#[derive(Debug)]
pub(crate) struct Server {
    /// `http://HOST:PORT` (as given in `ARI_URL`, or the sandbox's).
    pub(crate) url: String,
    pub(crate) user: String,
    pub(crate) password: String,
    /// Environment for the test processes.
    pub(crate) env: Vec<(&'static str, String)>,
    /// The sandbox, if this command started it (and so must stop it).
    pub(crate) started: Option<Sandbox>,
}

pub(crate) fn run(args: &[String]) -> Result<ExitCode> {
    let args = Args::parse(args, Sandbox::OPTIONS, &[])?;
    if let Some(extra) = args.positional.first() {
        return Err(Error::usage(format!(
            "test: unexpected argument `{extra}` (extra cargo test arguments go after `--`)"
        )));
    }
    let t0 = Instant::now();
    let server = prepare(&args)?;
    let result = run_steps(&server, &args.rest);
    if let Some(sandbox) = &server.started {
        eprintln!("xtask test: stopping the Asterisk this command started");
        if let Err(e) = sandbox.script("stop.sh") {
            eprintln!("warning: {e}");
        }
    }
    eprintln!("xtask test: total {:.1} s", t0.elapsed().as_secs_f64());
    result
}

/// Picks the server (`ARI_URL`, or the sandbox, installed and started as needed) and the
/// environment the tests get. Also used by `conformance`.
pub(crate) fn prepare(args: &Args) -> Result<Server> {
    if let Some((url, user, password)) = asterisk::external_from_env() {
        eprintln!("xtask test: ARI_URL is set: testing against {url} (the sandbox is not touched)");
        let env = vec![
            ("ARI_URL", url.clone()),
            ("ARI_USER", user.clone()),
            ("ARI_PASSWORD", password.clone()),
        ];
        return Ok(Server {
            url,
            user,
            password,
            env,
            started: None,
        });
    }

    let sandbox = Sandbox::from_args(args)?;
    let started = sandbox.ensure_running("test")?;
    let ctl = asterisk::scripts_dir().join("ctl.sh");
    let env = vec![
        ("ARI_URL", sandbox.url()),
        ("ARI_USER", sandbox.user.clone()),
        ("ARI_PASSWORD", sandbox.password.clone()),
        (
            "ARI_ASTERISK_LOG",
            sandbox.messages_log().display().to_string(),
        ),
        ("ARI_ASTERISK_CTL", ctl.display().to_string()),
        ("ARI_RESTART_CMD", format!("bash {} restart", ctl.display())),
        // what ctl.sh and the scripts read
        ("ASTERISK_ROOT", sandbox.root.display().to_string()),
        ("ARI_PORT", sandbox.port.to_string()),
        ("ARI_PASS", sandbox.password.clone()),
    ];
    Ok(Server {
        url: sandbox.url(),
        user: sandbox.user.clone(),
        password: sandbox.password.clone(),
        env,
        started,
    })
}

fn run_steps(server: &Server, extra: &[String]) -> Result<ExitCode> {
    for (name, value) in &server.env {
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
        ],
        extra,
        server,
    )?;
    cargo(&["test", "--workspace", "--doc"], extra, server)?;
    Ok(ExitCode::SUCCESS)
}

fn cargo(args: &[&str], extra: &[String], server: &Server) -> Result<()> {
    let t = Instant::now();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.current_dir(crate::workspace_root()).args(args);
    if !extra.is_empty() {
        command.arg("--").args(extra);
    }
    command.envs(server.env.iter().map(|(k, v)| (*k, v)));
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
