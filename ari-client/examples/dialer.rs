//! A dialer: originate the agent and wait for the answer, then the customer, and bridge
//! the two — or give up when the customer is busy, does not answer in time or hangs up.
//! Runs one call, then waits for Ctrl-C and hangs up.
//!
//! `ARI_AGENT` (default `Local/answer@ari-test`) and `ARI_CUSTOMER` (default
//! `Local/echo@ari-test`; try `Local/busy@ari-test`) are the endpoints.

use std::time::Duration;

use ari_client::objects::{Bridge, Channel};
use ari_client::{Client, Error, ErrorKind, Result};

mod support;

/// How a dial attempt ended.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Both answered and are in the bridge.
    Bridged {
        bridge: Bridge,
        agent: Channel,
        customer: Channel,
    },
    /// The customer did not answer (busy, no answer in time, hung up): the agent was hung
    /// up, and this is why.
    NotAnswered(Error),
}

/// Dials `agent`, then `customer`, each given `ring` to answer, into application `app`.
pub(crate) async fn dial(
    client: &Client,
    app: &str,
    agent: &str,
    customer: &str,
    ring: Duration,
) -> Result<Outcome> {
    let agent = client.channels().originate(agent).app(app).await?;
    let agent = agent.wait_for_answer().timeout(ring).await?;
    let customer = client.channels().originate(customer).app(app).await?;
    match customer.wait_for_answer().timeout(ring).await {
        Ok(customer) => {
            let bridge = client.bridges().create().kind("mixing").await?;
            bridge
                .add_channel([agent.id.clone(), customer.id.clone()])
                .await?;
            Ok(Outcome::Bridged {
                bridge,
                agent,
                customer,
            })
        }
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::Failed | ErrorKind::Ended | ErrorKind::Timeout
            ) =>
        {
            // an unanswered customer may still ring: stop it; the agent goes too
            customer.hangup().await.or_else(ignore_not_found)?;
            agent.hangup().await.or_else(ignore_not_found)?;
            Ok(Outcome::NotAnswered(e))
        }
        Err(e) => Err(e),
    }
}

fn ignore_not_found(e: Error) -> Result<()> {
    if e.is_not_found() {
        Ok(())
    } else {
        Err(e)
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let (client, app) = support::connect().await?;
    client.start([app.as_str()]).await?;
    let agent = support::env("ARI_AGENT", "Local/answer@ari-test");
    let customer = support::env("ARI_CUSTOMER", "Local/echo@ari-test");
    match dial(&client, &app, &agent, &customer, Duration::from_secs(20)).await? {
        Outcome::Bridged {
            bridge,
            agent,
            customer,
        } => {
            println!("bridged {} and {} in {}", agent.id, customer.id, bridge.id);
            tokio::signal::ctrl_c().await.ok();
            for leg in [agent, customer] {
                leg.hangup().await.or_else(ignore_not_found)?;
            }
            bridge.destroy().await?;
        }
        Outcome::NotAnswered(why) => println!("not connected: {why}"),
    }
    client.shutdown();
    client.wait().await
}
