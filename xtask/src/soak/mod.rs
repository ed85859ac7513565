//! `cargo xtask soak`: a call load on the sandbox Asterisk, restarted N times under it
//! (half SIGTERM, half SIGKILL, each after a random outage of 0.1 s to `--max-outage`, 3 s
//! by default), measuring how the client copes: how soon after Asterisk answers again the client is registered and
//! handles a new call, what it has left registered once the calls are over, and how much
//! its memory grew. Exit 1 when a target is missed.
//!
//! The client runs in this process, on a tokio runtime of two workers. Asterisk is the
//! sandbox of the Server guard, controlled with `asterisk/ctl.sh stop|kill|start`; an
//! Asterisk named by `ARI_URL` is refused (the soak cannot restart it).
//!
//! Modules: [`plan`] (the options and the seeded plan of restarts), [`control`] (`ctl.sh`),
//! [`load`] (the originates and the call handler), [`restart`] (one restart, measured),
//! [`tally`] (the errors by kind), [`report`] (the stats, the memory, the summary and the
//! targets), [`run`](mod@run) (one soak, start to end).

mod control;
mod load;
mod plan;
mod report;
mod restart;
mod run;
mod tally;

use std::process::ExitCode;
use std::time::Duration;

use crate::args::Args;
use crate::error::{Error, Result};
use crate::server::{Caller, Server};

pub(crate) use plan::Options;

const CALLER: Caller = Caller {
    name: "soak",
    prefix: "soak",
};

pub(crate) fn run(args: &[String]) -> Result<ExitCode> {
    let args = Args::parse(args, &Options::all_options(), &[])?;
    if let Some(extra) = args.positional.first().or(args.rest.first()) {
        return Err(Error::usage(format!("soak: unexpected argument `{extra}`")));
    }
    let options = Options::from_args(&args)?;
    refuse_external(std::env::var("ARI_URL").ok())?;
    let server = Server::prepare(&args, CALLER)?;
    let met = soak(&server, &options);
    server.finish();
    Ok(if met? {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Runs a soak against `server`, which must be the sandbox; `Ok(true)` when every target
/// was met. For `cargo xtask soak` and `cargo xtask test`.
pub(crate) fn soak(server: &Server, options: &Options) -> Result<bool> {
    let Some(control) = control::Control::of(server) else {
        return Err(Error::new(format!(
            "soak restarts Asterisk: it cannot soak {}, which is not the sandbox",
            server.url
        )));
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::new(format!("cannot start a tokio runtime: {e}")))?;
    let met = runtime.block_on(run::soak(server, &control, options));
    runtime.shutdown_timeout(Duration::from_secs(1));
    met
}

/// The soak restarts Asterisk: an Asterisk named by `ARI_URL` is not one it can restart.
fn refuse_external(ari_url: Option<String>) -> Result<()> {
    match ari_url.filter(|u| !u.is_empty()) {
        Some(url) => Err(Error::new(format!(
            "soak restarts Asterisk, so it cannot run against ARI_URL={url} (it can restart only the sandbox); unset ARI_URL to soak the sandbox (--root, --port)"
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_external_asterisk_is_refused() {
        let e = refuse_external(Some("http://127.0.0.1:8088".into())).unwrap_err();
        assert!(e.to_string().contains("ARI_URL=http://127.0.0.1:8088"));
        assert!(!e.is_usage());
        assert!(refuse_external(None).is_ok());
        assert!(refuse_external(Some(String::new())).is_ok());
    }
}
