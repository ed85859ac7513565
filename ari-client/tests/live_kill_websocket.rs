//! Asterisk killed with SIGKILL (by its PID: `ctl.sh kill`) while REST requests run over
//! the event websocket, and while an outbound websocket is connected. In a test binary of
//! its own: cargo runs test binaries one after the other, so no other live test sees
//! Asterisk go away.

mod support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ari_client::events::ApplicationRegistered;
use ari_client::outbound::Listener;
use ari_client::{Client, ConnectionState, ErrorKind, RestTransport};
use support::{live, unique_app};

/// Runs `ctl.sh <what>` of the sandbox.
async fn ctl(ctl: &str, what: &str) {
    let status = tokio::process::Command::new("bash")
        .args([ctl, what])
        .status()
        .await
        .unwrap();
    assert!(status.success(), "ctl.sh {what} failed");
}

/// Sends `ApplicationRegistered`'s applications to a channel.
fn registrations(client: &Client) -> tokio::sync::mpsc::UnboundedReceiver<String> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    client.on_event(move |e: ApplicationRegistered| {
        let _ = tx.send(e.application.clone());
        async { Ok(()) }
    });
    rx
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_over_websockets_survives_asterisk_killed_under_load() {
    let Some(live) = live().await else { return };
    let Ok(ctl_sh) = std::env::var("ARI_ASTERISK_CTL") else {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("CI=true but ARI_ASTERISK_CTL is not set");
        }
        eprintln!("\n*** SKIPPED: ARI_ASTERISK_CTL not set (run `cargo xtask test`) ***\n");
        return;
    };
    const TIMEOUT: Duration = Duration::from_secs(3);
    // a dialling client whose REST goes over its event websocket
    let inbound = Client::builder(&live.url, &live.user, &live.password)
        .rest_transport(RestTransport::WebSocket)
        .request_timeout(TIMEOUT)
        .connect()
        .await
        .unwrap();
    let mut states = inbound.state_changes();
    inbound
        .start([unique_app("kill-ws").as_str()])
        .await
        .unwrap();
    // a client Asterisk connects to (the sandbox's persistent outbound websocket)
    let addr = format!("127.0.0.1:{}", support::outbound_port(&live.url));
    let outbound = Listener::bind(&addr, "asterisk-out", "outbound-secret")
        .await
        .unwrap()
        .client_with(ari_client::ClientBuilder::outbound().request_timeout(TIMEOUT))
        .unwrap();
    let mut registered = registrations(&outbound);
    tokio::time::timeout(
        Duration::from_secs(10),
        outbound.start(Vec::<String>::new()),
    )
    .await
    .expect("Asterisk connects within 10 s")
    .unwrap();
    let first = tokio::time::timeout(Duration::from_secs(10), registered.recv())
        .await
        .unwrap();
    assert_eq!(first.as_deref(), Some("outbound-app"));

    // load: both clients make requests one after another, all along
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let slowest = Arc::new(Mutex::new(Duration::ZERO));
    let kinds = Arc::new(Mutex::new(std::collections::BTreeSet::new()));
    let mut load = Vec::new();
    for client in [inbound.clone(), outbound.clone()] {
        let (stop, ok, failed) = (stop.clone(), ok.clone(), failed.clone());
        let (slowest, kinds) = (slowest.clone(), kinds.clone());
        load.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                let result = client.channels().list().await;
                let took = started.elapsed();
                {
                    let mut slowest = slowest.lock().unwrap();
                    *slowest = (*slowest).max(took);
                }
                match result {
                    Ok(_) => ok.fetch_add(1, Ordering::Relaxed),
                    Err(e) => {
                        let kind = match e.kind() {
                            // Asterisk connects outbound websockets before it has fully
                            // booted, and answers requests 503 until then (measured)
                            ErrorKind::Server => {
                                format!("Server: {}", e.message().unwrap_or_default())
                            }
                            kind => format!("{kind:?}"),
                        };
                        kinds.lock().unwrap().insert(kind);
                        failed.fetch_add(1, Ordering::Relaxed)
                    }
                };
                if took < Duration::from_millis(5) {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = ok.load(Ordering::Relaxed);
    assert!(before > 10, "the load ran: {before} requests");

    ctl(&ctl_sh, "kill").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    ctl(&ctl_sh, "start").await;

    // the dialling client reconnects and resyncs; Asterisk reconnects the outbound one
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let state = tokio::time::timeout_at(deadline.into(), states.next())
            .await
            .expect("the dialling client resyncs within 30 s")
            .unwrap();
        if matches!(state, ConnectionState::Resynced { .. }) {
            break;
        }
    }
    let again = tokio::time::timeout(Duration::from_secs(15), registered.recv())
        .await
        .expect("Asterisk connects the outbound websocket again within 15 s");
    assert_eq!(again.as_deref(), Some("outbound-app"));
    // requests go through again on both
    let after = ok.load(Ordering::Relaxed);
    support::eventually(
        "requests after the restart",
        Duration::from_secs(10),
        || ok.load(Ordering::Relaxed) > after + 20,
    )
    .await;
    stop.store(true, Ordering::Relaxed);
    for task in load {
        task.await.unwrap();
    }
    let slowest = *slowest.lock().unwrap();
    let kinds = kinds.lock().unwrap().clone();
    eprintln!(
        "{} requests answered, {} failed ({kinds:?}), the slowest took {slowest:?}",
        ok.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed)
    );
    // none hung: each ended within its timeout (and a little)
    assert!(slowest < TIMEOUT + Duration::from_secs(1), "{slowest:?}");
    // the requests that failed failed with the kinds of a lost server, typed
    for kind in &kinds {
        assert!(
            [
                "WebSocket",
                "Timeout",
                "Connect",
                "Closed",
                "Server: Asterisk not booted"
            ]
            .contains(&kind.as_str()),
            "{kinds:?}"
        );
    }
    assert_ne!(
        inbound.channels().get("no-such").await.unwrap_err().kind(),
        ErrorKind::WebSocket
    );
    inbound.shutdown();
    outbound.shutdown();
    inbound.wait().await.unwrap();
    outbound.wait().await.unwrap();
}
