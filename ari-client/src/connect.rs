//! Building and connecting a client: the layer above the generated API, so it can use it
//! — to check the server and the credentials (`GET /asterisk/ping`), and to subscribe the
//! application to the objects whose end events need a subscription.

use crate::client::Client;
use crate::config::ClientBuilder;
use crate::error::{Error, ErrorKind, Result};
use crate::events::ObjectKind;

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
    /// Builds the client without contacting the server.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidUrl`] for an unusable URL, [`ErrorKind::Tls`] for unusable
    /// root certificates.
    pub fn build(self) -> Result<Client> {
        let client = Client::from_config(self.into_config()?)?;
        client.set_interest_hook(Box::new(subscribe_on_interest));
        Ok(client)
    }

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

/// Asterisk sends some end events (a bridge's `BridgeDestroyed`) only to applications
/// subscribed to the object: when an object of such a kind gets its first handler or
/// waiter, subscribe the client's application to it, in the background. Without a running
/// application, or when that fails, the object ends when this client destroys it.
fn subscribe_on_interest(client: &Client, kind: ObjectKind, id: &str) {
    let Some(source) = kind.event_source() else {
        return;
    };
    let Some(app) = client.current_app() else {
        return;
    };
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        tracing::debug!(%kind, id, "no tokio runtime: the application is not subscribed");
        return;
    };
    let client = client.clone();
    let event_source = format!("{source}:{id}");
    let id = id.to_owned();
    runtime.spawn(async move {
        match client.applications().subscribe(&app, &event_source).await {
            Ok(_) => client.hub().mark_subscribed(kind, &id),
            Err(e) => tracing::warn!(
                %app, %event_source, error = %e.chain(),
                "could not subscribe the application to an object with handlers; it ends when this client destroys it"
            ),
        }
    });
}
