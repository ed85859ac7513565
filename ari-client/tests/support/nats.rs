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

/// Runs `nats/start.sh` for `port` and `dir`: the server's PID, or what the script said.
fn start_sh(port: u16, dir: &std::path::Path) -> Result<u32, String> {
    let out = Command::new("bash")
        .arg(scripts().join("start.sh"))
        .env("NATS_PORT", port.to_string())
        .env("NATS_DIR", dir)
        .output()
        .expect("run nats/start.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "nats/start.sh on port {port}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(stdout
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .expect("start.sh prints the PID last"))
}

/// A NATS connection to `url`.
async fn connect(url: &str, name: &str) -> async_nats::Client {
    async_nats::ConnectOptions::new()
        .name(name)
        .connect(url)
        .await
        .unwrap_or_else(|e| panic!("connect to {url}: {e}"))
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
            let pid = match start_sh(port, &dir) {
                Ok(pid) => pid,
                Err(said) => {
                    eprintln!("{said}");
                    continue;
                }
            };
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
        self.pid = start_sh(self.port, &self.dir).unwrap_or_else(|said| panic!("{said}"));
    }

    /// A NATS connection to it.
    pub(crate) async fn connect(&self, name: &str) -> async_nats::Client {
        connect(&self.url, name).await
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

/// A TCP proxy on 127.0.0.1 in front of a nats-server that can be frozen: while frozen it
/// passes no byte either way (a hung process or a partition, as the peers see it), and the
/// connections stay open. Stops with the test's runtime.
pub(crate) struct FreezingProxy {
    pub(crate) url: String,
    frozen: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl FreezingProxy {
    pub(crate) async fn start(server: &NatsServer) -> FreezingProxy {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("nats://{}", listener.local_addr().unwrap());
        let frozen = Arc::new(AtomicBool::new(false));
        let (port, flag) = (server.port, frozen.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(upstream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
                    continue;
                };
                let (c_read, c_write) = client.into_split();
                let (u_read, u_write) = upstream.into_split();
                for (mut from, mut to) in [(c_read, u_write), (u_read, c_write)] {
                    let flag = flag.clone();
                    tokio::spawn(async move {
                        let mut buf = vec![0u8; 16 * 1024];
                        loop {
                            let n = match from.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => n,
                            };
                            while flag.load(Ordering::Acquire) {
                                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                            }
                            if to.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    });
                }
            }
        });
        FreezingProxy { url, frozen }
    }

    /// Passes nothing (`true`) or everything again (`false`).
    pub(crate) fn freeze(&self, frozen: bool) {
        self.frozen
            .store(frozen, std::sync::atomic::Ordering::Release);
    }

    /// A NATS connection through it.
    pub(crate) async fn connect(&self, name: &str) -> async_nats::Client {
        connect(&self.url, name).await
    }
}
