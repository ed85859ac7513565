//! Connecting: build the client and check the server and the credentials with one REST
//! call through the generated API (`GET /asterisk/ping`).

use crate::client::Client;
use crate::config::ClientBuilder;
use crate::error::{Error, ErrorKind, Result};

impl Client {
    /// Connects to the ARI at `url` (`http(s)://host:port`, with or without `/ari`) and
    /// checks the server and the credentials with one REST call.
    ///
    /// # Errors
    ///
    /// See [`ClientBuilder::connect`].
    pub async fn connect(url: &str, user: &str, password: &str) -> Result<Client> {
        Self::builder(url, user, password).connect().await
    }
}

impl ClientBuilder {
    /// Builds the client and checks the server with one REST call
    /// (`GET /asterisk/ping`).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Connect`] when the server cannot be reached, [`ErrorKind::Timeout`],
    /// [`ErrorKind::Tls`], [`ErrorKind::Unauthorized`] for refused credentials,
    /// [`ErrorKind::NotAri`] when something other than ARI answers, and
    /// [`ErrorKind::InvalidUrl`].
    pub async fn connect(self) -> Result<Client> {
        let client = self.build()?;
        check(&client).await?;
        Ok(client)
    }
}

/// `GET /asterisk/ping` must answer like ARI does.
async fn check(client: &Client) -> Result<()> {
    match client.asterisk().ping().await {
        Ok(_) => Ok(()),
        Err(e) => Err(match e.kind() {
            ErrorKind::NotFound | ErrorKind::Decode | ErrorKind::UnexpectedStatus => {
                let detail = e.to_string();
                Error::new(ErrorKind::NotAri)
                    .with_message(format!(
                        "{} does not answer like ARI ({detail})",
                        client.base_url()
                    ))
                    .with_source(e)
            }
            _ => e,
        }),
    }
}
