//! What the examples share: connecting with the settings from the environment.
//!
//! `ARI_URL` (default `http://127.0.0.1:8088`), `ARI_USER` and `ARI_PASSWORD` (default
//! `asterisk`), `ARI_APP` (default `hello`).

// each example uses its own subset of these
#![allow(dead_code)]

use ari_client::{Client, Result};

/// An environment variable, or `default`.
pub(crate) fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// Connects to the ARI the environment names; returns the client and the app name.
pub(crate) async fn connect() -> Result<(Client, String)> {
    let url = env("ARI_URL", "http://127.0.0.1:8088");
    let client = Client::connect(
        &url,
        &env("ARI_USER", "asterisk"),
        &env("ARI_PASSWORD", "asterisk"),
    )
    .await?;
    Ok((client, env("ARI_APP", "hello")))
}

/// Shuts the client down gracefully on Ctrl-C.
pub(crate) fn shutdown_on_ctrl_c(client: &Client) {
    let client = client.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            println!("Ctrl-C: shutting down");
            client.shutdown();
        }
    });
}
