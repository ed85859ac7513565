//! The Asterisk that `test`, `conformance` and `demo` talk to, as one guard: `ARI_URL` when it
//! is set (nothing is started or stopped), else the sandbox, installed and started as needed
//! and stopped again by [`Server::finish`] (or on drop) only if this command started it.

use std::path::PathBuf;

use crate::args::Args;
use crate::asterisk::{self, Sandbox};
use crate::error::Result;

/// A command that uses a [`Server`]: how it is named in messages.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Caller {
    /// The subcommand (`cargo xtask NAME`), in the sandbox's install/start messages.
    pub(crate) name: &'static str,
    /// What the command's own progress lines start with (`xtask test`, `demo`).
    pub(crate) prefix: &'static str,
}

/// The server a command talks to; stops the sandbox when dropped if it started it.
#[derive(Debug)]
pub(crate) struct Server {
    /// `http://HOST:PORT` (as given in `ARI_URL`, or the sandbox's, without `/ari`).
    pub(crate) url: String,
    pub(crate) user: String,
    pub(crate) password: String,
    /// The sandbox; `None` for an Asterisk named by `ARI_URL`.
    pub(crate) sandbox: Option<Sandbox>,
    /// Whether this command started the sandbox (and so must stop it).
    started: bool,
    /// The sandbox's second instance ([`Server::with_second_node`]), and whether this
    /// command started it.
    second: Option<(Sandbox, bool)>,
    caller: Caller,
}

impl Server {
    /// Picks the server: `ARI_URL`, or the sandbox of `args` (`--root`, `--port`, …),
    /// installed and started as needed.
    pub(crate) fn prepare(args: &Args, caller: Caller) -> Result<Server> {
        if let Some((url, user, password)) = external_from_env() {
            eprintln!(
                "{}: ARI_URL is set: using the Asterisk at {url} (the sandbox is not touched)",
                caller.prefix
            );
            return Ok(Server {
                url,
                user,
                password,
                sandbox: None,
                started: false,
                second: None,
                caller,
            });
        }
        let sandbox = Sandbox::from_args(args)?;
        let started = sandbox.ensure_running(caller.name)?;
        Ok(Server {
            url: sandbox.url(),
            user: sandbox.user.clone(),
            password: sandbox.password.clone(),
            sandbox: Some(sandbox),
            started,
            second: None,
            caller,
        })
    }

    /// Also starts the sandbox's second instance (the same chroot, instance `ari-2`, port +
    /// 1000), for the tests of several nodes; stopped again like the first. Under `ARI_URL`
    /// nothing is started: `ARI_URL_2`, if set, names the second node.
    pub(crate) fn with_second_node(mut self) -> Result<Server> {
        if let Some(sandbox) = &self.sandbox {
            let second = sandbox.second();
            let started = second.ensure_running(self.caller.name)?;
            self.second = Some((second, started));
        }
        Ok(self)
    }

    /// The sandbox's `messages.log` (one line per played sound); `None` under `ARI_URL`.
    pub(crate) fn messages_log(&self) -> Option<PathBuf> {
        self.sandbox.as_ref().map(Sandbox::messages_log)
    }

    /// The environment test processes get (`asterisk/README.md`, "What `cargo xtask test`
    /// gives the tests"): the server and its credentials, and for the sandbox also its log,
    /// its control script and the settings the scripts read.
    pub(crate) fn test_env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![
            ("ARI_URL", self.url.clone()),
            ("ARI_USER", self.user.clone()),
            ("ARI_PASSWORD", self.password.clone()),
        ];
        if let Some(sandbox) = &self.sandbox {
            let ctl = asterisk::scripts_dir().join("ctl.sh");
            env.extend([
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
                ("ARI_INSTANCE", sandbox.instance.clone()),
            ]);
        }
        if let Some((second, _)) = &self.second {
            let ctl = asterisk::scripts_dir().join("ctl.sh");
            env.extend([
                ("ARI_URL_2", second.url()),
                (
                    "ARI_RESTART_CMD_2",
                    format!(
                        "ARI_INSTANCE={} ARI_PORT={} bash {} restart",
                        second.instance,
                        second.port,
                        ctl.display()
                    ),
                ),
            ]);
        }
        env
    }

    /// Stops the sandbox if this command started it (what dropping the server does too).
    pub(crate) fn finish(mut self) {
        self.stop_if_started();
    }

    fn stop_if_started(&mut self) {
        if let Some((second, true)) = self.second.take() {
            if let Err(e) = second.script("stop.sh") {
                eprintln!("warning: {e}");
            }
        }
        let Some(sandbox) = self.sandbox.as_ref().filter(|_| self.started) else {
            return;
        };
        self.started = false;
        eprintln!(
            "{}: stopping the Asterisk this command started",
            self.caller.prefix
        );
        if let Err(e) = sandbox.script("stop.sh") {
            eprintln!("warning: {e}");
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop_if_started();
    }
}

/// An Asterisk outside the sandbox, named by `ARI_URL` (with `ARI_USER`, and `ARI_PASSWORD`
/// or `ARI_PASS`; both default to `asterisk`): `(url, user, password)`.
fn external_from_env() -> Option<(String, String, String)> {
    let url = std::env::var("ARI_URL").ok().filter(|u| !u.is_empty())?;
    let user = std::env::var("ARI_USER").unwrap_or_else(|_| "asterisk".into());
    let password = std::env::var("ARI_PASSWORD")
        .or_else(|_| std::env::var("ARI_PASS"))
        .unwrap_or_else(|_| "asterisk".into());
    Some((url, user, password))
}

/// Installs Debian's `nats-server` when it is missing (`nats/install.sh`, as root): the NATS
/// tests and the bench start servers of their own with `nats/start.sh`. Without root the
/// install is left to the user (a warning; under `CI=true` an error, as the tests would
/// fail).
pub(crate) fn ensure_nats_server(caller: Caller) -> Result<()> {
    let scripts = crate::workspace_root().join("nats");
    let installed = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {}/common.sh && [ -x \"$NATS_SERVER\" ]",
            scripts.display()
        ))
        .status()
        .is_ok_and(|s| s.success());
    if installed {
        return Ok(());
    }
    if let Err(e) = asterisk::require_root("installing nats-server") {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            return Err(e);
        }
        eprintln!(
            "{}: warning: nats-server is not installed and this is not root: the NATS tests skip (run `sudo bash nats/install.sh`)",
            caller.prefix
        );
        return Ok(());
    }
    eprintln!(
        "{}: installing nats-server (nats/install.sh)",
        caller.prefix
    );
    let status = std::process::Command::new("bash")
        .arg(scripts.join("install.sh"))
        .status()
        .map_err(|e| crate::error::Error::new(format!("cannot run nats/install.sh: {e}")))?;
    if !status.success() {
        return Err(crate::error::Error::child(
            "nats/install.sh failed",
            status.code(),
        ));
    }
    Ok(())
}
