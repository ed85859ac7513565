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

/// The dialer against the fake Asterisk (`cargo test --example dialer --features testing`):
/// the callees do what each test scripts.
#[cfg(all(test, feature = "testing"))]
mod tests {
    use std::time::Duration;

    use ari_client::testing::{Ending, FakeAsterisk};
    use ari_client::{ErrorKind, Result};

    use super::{dial, Outcome};

    const AGENT: &str = "PJSIP/agent";
    const CUSTOMER: &str = "PJSIP/customer";

    #[tokio::test]
    async fn both_answer_and_are_bridged() -> Result<()> {
        let fake = FakeAsterisk::start().await?;
        fake.endpoint(CUSTOMER)
            .answers_after(Duration::from_secs(4));
        let client = fake.client().await?;
        client.start(["dialer"]).await?;
        let outcome = dial(&client, "dialer", AGENT, CUSTOMER, Duration::from_secs(5)).await?;
        let Outcome::Bridged {
            bridge,
            agent,
            customer,
        } = outcome
        else {
            panic!("not bridged: {outcome:?}");
        };
        let mut members = fake.bridges()[&bridge.id].clone();
        members.sort();
        let mut legs = vec![agent.id.clone(), customer.id.clone()];
        legs.sort();
        assert_eq!(members, legs);
        assert!(fake.channel(&customer.id).unwrap().answered());
        Ok(())
    }

    #[tokio::test]
    async fn a_busy_customer_hangs_up_the_agent() -> Result<()> {
        let fake = FakeAsterisk::start().await?;
        fake.endpoint(CUSTOMER).busy();
        let client = fake.client().await?;
        client.start(["dialer"]).await?;
        let outcome = dial(&client, "dialer", AGENT, CUSTOMER, Duration::from_secs(5)).await?;
        let Outcome::NotAnswered(why) = outcome else {
            panic!("bridged a busy customer: {outcome:?}");
        };
        assert_eq!(why.kind(), ErrorKind::Failed, "{why}");
        let agent = fake.originated(0).await;
        let customer = fake.originated(1).await;
        assert_eq!(agent.ended().await, Ending::HungUpByApp { cause: 16 });
        assert_eq!(customer.ended().await, Ending::Busy);
        assert!(fake.bridges().is_empty());
        Ok(())
    }

    #[tokio::test]
    async fn a_customer_who_does_not_answer_hangs_up_the_agent() -> Result<()> {
        let fake = FakeAsterisk::start().await?;
        fake.endpoint(CUSTOMER).no_answer();
        let client = fake.client().await?;
        client.start(["dialer"]).await?;
        let outcome = dial(&client, "dialer", AGENT, CUSTOMER, Duration::from_secs(5)).await?;
        let Outcome::NotAnswered(why) = outcome else {
            panic!("bridged an unanswered customer: {outcome:?}");
        };
        // Asterisk gives up first (the originate's 30 s timeout, virtual time): the
        // customer's channel is destroyed unanswered, the wait fails
        assert_eq!(why.kind(), ErrorKind::Failed, "{why}");
        assert_eq!(fake.originated(1).await.ended().await, Ending::NoAnswer);
        let agent = fake.originated(0).await;
        assert_eq!(agent.ended().await, Ending::HungUpByApp { cause: 16 });
        Ok(())
    }
}
