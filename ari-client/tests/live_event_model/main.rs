//! The event model against the real sandbox Asterisk (see tests/support/mod.rs): the call
//! flows that used to hang, lose events or leak handlers. Each test prints its numbers
//! (runs, hangs, handlers and waiters left).

#[path = "../support/mod.rs"]
mod support;

mod lifetimes;
mod objects;
mod waits;

use std::time::Duration;

use ari_client::Client;
use support::eventually;

/// Waits until no handler or waiter is left, and returns the stats.
async fn all_released(client: &Client) -> ari_client::DispatchStats {
    eventually(
        "every handler, waiter and object released",
        Duration::from_secs(10),
        || {
            let s = client.stats();
            s.object_handlers == 0 && s.waiters == 0 && s.objects == 0
        },
    )
    .await;
    client.stats()
}
