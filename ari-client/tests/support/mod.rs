//! Shared helpers of the integration tests that need a real Asterisk.
//!
//! `cargo xtask test` starts the project's sandbox Asterisk and sets `ARI_URL`,
//! `ARI_USER`, `ARI_PASSWORD` and `ARI_RESTART_CMD`. Without `ARI_URL` the tests try
//! `http://127.0.0.1:8088`. When no Asterisk answers, a test fails under `CI=true` and
//! is skipped, with a loud message, elsewhere.

#![allow(dead_code)]

pub(crate) mod fake;
#[cfg(feature = "nats")]
pub(crate) mod nats;

use std::time::Duration;

use ari_client::Client;

pub(crate) struct Live {
    pub(crate) url: String,
    pub(crate) user: String,
    pub(crate) password: String,
}

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// The live Asterisk's settings, or `None` (test skipped) when it does not answer.
pub(crate) async fn live() -> Option<Live> {
    let live = Live {
        url: env("ARI_URL", "http://127.0.0.1:8088"),
        user: env("ARI_USER", "asterisk"),
        password: env("ARI_PASSWORD", "asterisk"),
    };
    match Client::connect(&live.url, &live.user, &live.password).await {
        Ok(_) => Some(live),
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true and no Asterisk answers at {}: {e}", live.url)
        }
        Err(e) => {
            eprintln!(
                "\n*** SKIPPED: no Asterisk at {} ({e}); run `cargo xtask test` to start the sandbox ***\n",
                live.url
            );
            None
        }
    }
}

impl Live {
    pub(crate) async fn client(&self) -> Client {
        Client::connect(&self.url, &self.user, &self.password)
            .await
            .expect("connect to the live Asterisk")
    }
}

/// Where the sandbox's outbound websockets connect (`asterisk/conf/websocket_client.conf`):
/// the persistent one's port, `ARI_OUTBOUND_PORT`, else the port of `url` + 700; the
/// per-call one is the next port.
pub(crate) fn outbound_port(url: &str) -> u16 {
    if let Ok(port) = std::env::var("ARI_OUTBOUND_PORT") {
        return port.parse().expect("ARI_OUTBOUND_PORT is a port");
    }
    let port = url
        .trim_end_matches('/')
        .trim_end_matches("/ari")
        .rsplit(':')
        .next()
        .and_then(|p| p.parse::<u16>().ok())
        .expect("the ARI URL has a port");
    port + 700
}

/// A Stasis application name no other test uses.
pub(crate) fn unique_app(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Waits for a condition, polling; panics with `what` after `timeout`.
pub(crate) async fn eventually(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + timeout;
    while !cond() {
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs `command` with `bash -c` (the sandbox's `ARI_RESTART_CMD`, `ARI_RESTART_CMD_2`);
/// panics when it fails.
pub(crate) async fn run_shell(command: &str) {
    let status = tokio::process::Command::new("bash")
        .arg("-c")
        .arg(command)
        .status()
        .await
        .unwrap_or_else(|e| panic!("run {command}: {e}"));
    assert!(status.success(), "{command}: {status}");
}

/// Waits until an async condition holds, polling; panics with `what` after `timeout`.
pub(crate) async fn eventually_async<F, Fut>(what: &str, timeout: Duration, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    while !cond().await {
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
