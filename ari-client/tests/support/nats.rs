//! A nats-server of the test's own, started by the project's scripts (`nats/start.sh`) on
//! 127.0.0.1 and a free port, stopped by its PID (`nats/stop.sh`) when dropped. Without
//! nats-server installed a test fails under `CI=true` and is skipped loudly elsewhere.

use std::path::PathBuf;
use std::process::Command;

/// A running nats-server.
pub(crate) struct NatsServer {
    pub(crate) port: u16,
    pub(crate) url: String,
    pid: u32,
    dir: PathBuf,
}

fn scripts() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .join("nats")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port on 127.0.0.1")
        .port()
}

impl NatsServer {
    /// Starts one, or `None` (skipped, loudly) when nats-server is not installed outside CI.
    pub(crate) fn start() -> Option<NatsServer> {
        let installed = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "source {}/common.sh && [ -x \"$NATS_SERVER\" ]",
                scripts().display()
            ))
            .status()
            .is_ok_and(|s| s.success());
        if !installed {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI=true but nats-server is not installed (nats/install.sh; .ci/run installs it)");
            }
            eprintln!("\n*** SKIPPED: nats-server is not installed; run `bash nats/install.sh` (apt-get install nats-server) ***\n");
            return None;
        }
        for _ in 0..5 {
            let port = free_port();
            let dir =
                std::env::temp_dir().join(format!("ari-nats-test-{}-{port}", std::process::id()));
            let out = Command::new("bash")
                .arg(scripts().join("start.sh"))
                .env("NATS_PORT", port.to_string())
                .env("NATS_DIR", &dir)
                .output()
                .expect("run nats/start.sh");
            if !out.status.success() {
                eprintln!(
                    "nats/start.sh on port {port}: {}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
                continue;
            }
            let stdout = String::from_utf8_lossy(&out.stdout);
            let pid = stdout
                .lines()
                .last()
                .and_then(|l| l.trim().parse().ok())
                .expect("start.sh prints the PID last");
            return Some(NatsServer {
                port,
                url: format!("nats://127.0.0.1:{port}"),
                pid,
                dir,
            });
        }
        panic!("nats-server did not start on any of 5 free ports");
    }

    /// The server's PID.
    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    /// Kills it with SIGKILL, by its PID, and waits until its port is closed.
    pub(crate) fn kill(&self) {
        let status = Command::new("kill")
            .arg("-KILL")
            .arg(self.pid.to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -KILL {}", self.pid);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("nats-server {} still listens 5 s after SIGKILL", self.pid);
    }

    /// Starts it again on its port (after [`kill`](Self::kill)).
    pub(crate) fn restart(&mut self) {
        let out = Command::new("bash")
            .arg(scripts().join("start.sh"))
            .env("NATS_PORT", self.port.to_string())
            .env("NATS_DIR", &self.dir)
            .output()
            .expect("run nats/start.sh");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "nats/start.sh again on port {}: {stdout}{}",
            self.port,
            String::from_utf8_lossy(&out.stderr)
        );
        self.pid = stdout
            .lines()
            .last()
            .and_then(|l| l.trim().parse().ok())
            .expect("start.sh prints the PID last");
    }

    /// A NATS connection to it.
    pub(crate) async fn connect(&self, name: &str) -> async_nats::Client {
        async_nats::ConnectOptions::new()
            .name(name)
            .connect(&self.url)
            .await
            .expect("connect to the test's nats-server")
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(scripts().join("stop.sh"))
            .env("NATS_PORT", self.port.to_string())
            .env("NATS_DIR", &self.dir)
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
