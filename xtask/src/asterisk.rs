//! `cargo xtask asterisk install|start|stop|status`: the loopback-only Asterisk sandbox.
//!
//! install/start/stop run the scripts in `<workspace>/asterisk/` (plain bash, also usable
//! without xtask); status is answered here from the PID file and `GET /ari/asterisk/info`.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use crate::args::Args;
use crate::error::{Error, Result};
use crate::http;

/// Exit code of `status` when Asterisk is not running.
const NOT_RUNNING: u8 = 3;

/// Where and how the sandbox runs: flags > environment > defaults (same defaults as common.sh).
#[derive(Debug, Clone)]
pub(crate) struct Sandbox {
    /// `ASTERISK_ROOT`: the chroot.
    pub(crate) root: PathBuf,
    /// `ARI_PORT` on 127.0.0.1.
    pub(crate) port: u16,
    /// `ARI_USER`.
    pub(crate) user: String,
    /// `ARI_PASS`.
    pub(crate) password: String,
    /// `ARI_INSTANCE`: the instance's folder `/srv/<instance>` in the chroot (`ari`).
    pub(crate) instance: String,
}

impl Sandbox {
    /// The options that pick the sandbox, shared by `asterisk`, `test`, `demo` and `conformance`.
    pub(crate) const OPTIONS: &'static [&'static str] =
        &["root", "port", "user", "password", "instance"];

    pub(crate) fn from_args(args: &Args) -> Result<Self> {
        let pick = |flag: &str, env: &str, default: &str| {
            args.value(flag)
                .map(String::from)
                .or_else(|| std::env::var(env).ok().filter(|v| !v.is_empty()))
                .unwrap_or_else(|| default.to_string())
        };
        let root = PathBuf::from(pick("root", "ASTERISK_ROOT", "/opt/ari-asterisk"));
        if !root.is_absolute() || root == Path::new("/") {
            return Err(Error::new(format!(
                "ASTERISK_ROOT must be an absolute path other than /: {}",
                root.display()
            )));
        }
        let port = pick("port", "ARI_PORT", "8088");
        let port = port.parse().ok().filter(|&p| p != 0).ok_or_else(|| {
            Error::new(format!(
                "ARI_PORT must be a port number (1-65535): {port:?}"
            ))
        })?;
        let instance = pick("instance", "ARI_INSTANCE", "ari");
        if instance.is_empty()
            || !instance
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(Error::new(format!(
                "ARI_INSTANCE must be lower-case letters, digits and '-': {instance:?}"
            )));
        }
        Ok(Sandbox {
            root,
            port,
            user: pick("user", "ARI_USER", "asterisk"),
            password: pick("password", "ARI_PASS", "asterisk"),
            instance,
        })
    }

    /// A second instance of the same chroot, for the tests that need two Asterisk nodes:
    /// instance `ari-2` on this port + 1000 (its SIP and outbound ports follow from it).
    pub(crate) fn second(&self) -> Sandbox {
        Sandbox {
            port: self.port.saturating_add(1000),
            instance: format!("{}-2", self.instance),
            ..self.clone()
        }
    }

    /// `srv/<instance>` in the chroot, as a host path.
    fn state_dir(&self) -> PathBuf {
        self.root.join("srv").join(&self.instance)
    }

    /// `http://127.0.0.1:PORT` (no `/ari`).
    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Asterisk's log with one line per played sound (verbose 3).
    pub(crate) fn messages_log(&self) -> PathBuf {
        self.state_dir().join("log/messages.log")
    }

    fn pid_file(&self) -> PathBuf {
        self.state_dir().join("asterisk.pid")
    }

    pub(crate) fn is_installed(&self) -> bool {
        self.root.join(".ari-install-done").is_file()
            && self.root.join("usr/sbin/asterisk").is_file()
    }

    /// The PID from the PID file when it is a live Asterisk of this chroot (as stop.sh checks it).
    pub(crate) fn running_pid(&self) -> Option<u32> {
        let pid: u32 = std::fs::read_to_string(self.pid_file())
            .ok()?
            .trim()
            .parse()
            .ok()?;
        let proc_dir = PathBuf::from(format!("/proc/{pid}"));
        match std::fs::read_link(proc_dir.join("exe")) {
            Ok(exe) => (exe == self.root.join("usr/sbin/asterisk")).then_some(pid),
            // not root: cannot read another user's exe link; the process at least exists
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                proc_dir.is_dir().then_some(pid)
            }
            Err(_) => None,
        }
    }

    /// Makes sure this sandbox is installed and running, for `who` (a command name used in
    /// messages). Returns true if this call started it, so the caller stops it again.
    pub(crate) fn ensure_running(&self, who: &str) -> Result<bool> {
        require_root(&format!(
            "cargo xtask {who} (it starts the Asterisk sandbox; or set ARI_URL)"
        ))?;
        if !self.is_installed() {
            require_debian()?;
            eprintln!(
                "{who}: no sandbox at {}: installing it (~40-75 s)",
                self.root.display()
            );
            self.script("install.sh")?;
        }
        if let Some(pid) = self.running_pid() {
            eprintln!(
                "{who}: Asterisk already running from {} (PID {pid}); it stays running",
                self.root.display()
            );
            return Ok(false);
        }
        eprintln!("{who}: starting the sandbox Asterisk");
        self.script("start.sh")?;
        Ok(true)
    }

    /// Runs `asterisk/<script>` with this sandbox's settings in the environment.
    pub(crate) fn script(&self, script: &str) -> Result<()> {
        let path = scripts_dir().join(script);
        let started = Instant::now();
        let status = Command::new("bash")
            .arg(&path)
            .env("ASTERISK_ROOT", &self.root)
            .env("ARI_PORT", self.port.to_string())
            .env("ARI_USER", &self.user)
            .env("ARI_PASS", &self.password)
            .env("ARI_INSTANCE", &self.instance)
            .status()
            .map_err(|e| Error::new(format!("cannot run bash {}: {e}", path.display())))?;
        if !status.success() {
            return Err(Error::child(
                format!("{} failed ({status})", path.display()),
                status.code(),
            ));
        }
        eprintln!(
            "xtask: {script} done in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        Ok(())
    }

    /// The `system.version` of `GET /ari/asterisk/info`, or why there is none.
    pub(crate) fn version(&self) -> Result<String, String> {
        let url = format!("{}/ari/asterisk/info", self.url());
        let response = http::get(&url, &self.user, &self.password, Duration::from_secs(3))?;
        if response.status != 200 {
            return Err(format!("HTTP {} from {url}", response.status));
        }
        let info: serde_json::Value =
            serde_json::from_slice(&response.body).map_err(|e| format!("{url}: {e}"))?;
        Ok(info["system"]["version"]
            .as_str()
            .unwrap_or("(no system.version)")
            .to_string())
    }
}

/// `<workspace>/asterisk`.
pub(crate) fn scripts_dir() -> PathBuf {
    crate::workspace_root().join("asterisk")
}

/// Fails unless this process runs as root (the scripts use chroot).
pub(crate) fn require_root(what: &str) -> Result<()> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("?");
    if euid != "0" {
        return Err(Error::new(format!(
            "{what} must run as root (the sandbox is a chroot; effective uid is {euid}); try `sudo -E cargo xtask ...`"
        )));
    }
    Ok(())
}

/// Fails unless the host is Debian-family (install.sh uses apt-get and debootstrap).
pub(crate) fn require_debian() -> Result<()> {
    if !Path::new("/etc/debian_version").is_file() {
        return Err(Error::new(
            "the Asterisk sandbox needs a Debian-family host (no /etc/debian_version): install.sh uses apt-get and debootstrap",
        ));
    }
    let has_apt = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|p| p.join("apt-get").is_file()))
        .unwrap_or(false);
    if !has_apt {
        return Err(Error::new("the Asterisk sandbox needs apt-get (not found in PATH): install.sh uses apt-get and debootstrap"));
    }
    Ok(())
}

pub(crate) fn run(args: &[String]) -> Result<ExitCode> {
    let args = Args::parse(args, Sandbox::OPTIONS, &[])?;
    let sandbox = Sandbox::from_args(&args)?;
    let action = match args.positional.as_slice() {
        [action] => action.as_str(),
        [] => {
            return Err(Error::usage(
                "asterisk: which action? install, start, stop or status",
            ))
        }
        [_, extra, ..] => {
            return Err(Error::usage(format!(
                "asterisk: unexpected argument `{extra}`"
            )))
        }
    };
    match action {
        "install" => {
            require_debian()?;
            require_root("cargo xtask asterisk install")?;
            sandbox.script("install.sh")?;
        }
        "start" => {
            require_root("cargo xtask asterisk start")?;
            sandbox.script("start.sh")?;
        }
        "stop" => {
            require_root("cargo xtask asterisk stop")?;
            sandbox.script("stop.sh")?;
        }
        "status" => return Ok(status(&sandbox)),
        other => {
            return Err(Error::usage(format!(
                "asterisk: unknown action `{other}` (install, start, stop, status)"
            )))
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn status(sandbox: &Sandbox) -> ExitCode {
    let url = format!("{}/ari", sandbox.url());
    if !sandbox.is_installed() {
        println!(
            "not installed at {} (run `cargo xtask asterisk install`)",
            sandbox.root.display()
        );
    }
    match sandbox.running_pid() {
        Some(pid) => {
            println!("running");
            println!("pid: {pid}");
            println!("url: {url} (user {})", sandbox.user);
            match sandbox.version() {
                Ok(version) => println!("version: {version}"),
                Err(e) => println!("version: unknown, ARI does not answer: {e}"),
            }
            println!("log: {}", sandbox.messages_log().display());
            ExitCode::SUCCESS
        }
        None => {
            println!(
                "not running (no live Asterisk in PID file {})",
                sandbox.pid_file().display()
            );
            println!("url: {url}");
            if let Ok(version) = sandbox.version() {
                println!("note: something else answers on {url} (version {version}); it was not started from {}", sandbox.root.display());
            }
            ExitCode::from(NOT_RUNNING)
        }
    }
}
