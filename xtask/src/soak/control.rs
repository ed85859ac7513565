//! Taking the sandbox Asterisk down and up again with `asterisk/ctl.sh` (`stop`: SIGTERM,
//! `kill`: SIGKILL, `start`), with the sandbox's settings in the environment.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::asterisk;
use crate::server::Server;

/// The settings the scripts read, as the Server guard's environment gives them.
const SCRIPT_ENV: [&str; 4] = ["ASTERISK_ROOT", "ARI_PORT", "ARI_USER", "ARI_PASS"];

/// Runs `ctl.sh` actions for one sandbox. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Control {
    ctl: Arc<PathBuf>,
    env: Arc<Vec<(&'static str, String)>>,
}

impl Control {
    /// The control of `server`'s sandbox; `None` for an Asterisk named by `ARI_URL`.
    pub(crate) fn of(server: &Server) -> Option<Control> {
        server.sandbox.as_ref()?;
        let env = server
            .test_env()
            .into_iter()
            .filter(|(name, _)| SCRIPT_ENV.contains(name))
            .collect();
        Some(Control {
            ctl: Arc::new(asterisk::scripts_dir().join("ctl.sh")),
            env: Arc::new(env),
        })
    }

    /// `bash ctl.sh <action>`, its output kept; `Ok` is how long it took, `Err` says why it
    /// failed, with the end of its output.
    pub(crate) async fn run(&self, action: &'static str) -> Result<Duration, String> {
        let started = Instant::now();
        let output = tokio::process::Command::new("bash")
            .arg(self.ctl.as_path())
            .arg(action)
            .envs(self.env.iter().map(|(k, v)| (*k, v)))
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .map_err(|e| format!("cannot run bash {}: {e}", self.ctl.display()))?;
        if output.status.success() {
            return Ok(started.elapsed());
        }
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        let tail: Vec<&str> = text.lines().rev().take(10).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        Err(format!(
            "`bash {} {action}` failed ({}):\n{}",
            self.ctl.display(),
            output.status,
            tail.join("\n")
        ))
    }
}
