//! No password and no Basic token in any log line, at any level, the transport crates'
//! `log` records included: everything logged at TRACE is captured while the client
//! connects, loses and regains its event connection, makes a REST call, and fails to log
//! in (REST and websocket). In a test binary of its own: it installs the global loggers.

mod support;

use std::fmt::Write as _;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use ari_client::{Client, ErrorKind, ReconnectPolicy};
use base64::Engine as _;
use support::fake;

const PASSWORD: &str = "s3cret-Pa55word";
const WRONG: &str = "wr0ng-Pa55word";

fn token(user: &str, password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}

/// Everything logged, as text.
fn captured() -> &'static Mutex<String> {
    static LOG: OnceLock<Mutex<String>> = OnceLock::new();
    LOG.get_or_init(Mutex::default)
}

/// The `log` crate's records (tungstenite, reqwest, rustls, …).
struct LogCapture;

impl log::Log for LogCapture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        let mut out = captured().lock().unwrap();
        let _ = writeln!(
            out,
            "log {} {}: {}",
            record.level(),
            record.target(),
            record.args()
        );
    }

    fn flush(&self) {}
}

/// `tracing`'s events and spans (this crate, hyper): a subscriber that writes every field.
struct TracingCapture;

struct Fields<'a>(&'a mut String);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={value:?}", field.name());
    }
}

impl tracing::Subscriber for TracingCapture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut out = captured().lock().unwrap();
        let _ = write!(out, "span {}", span.metadata().target());
        span.record(&mut Fields(&mut out));
        out.push('\n');
        tracing::span::Id::from_u64(1)
    }

    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        let mut out = captured().lock().unwrap();
        values.record(&mut Fields(&mut out));
        out.push('\n');
    }

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

    fn event(&self, event: &tracing::Event<'_>) {
        let mut out = captured().lock().unwrap();
        let _ = write!(
            out,
            "event {} {}",
            event.metadata().level(),
            event.metadata().target()
        );
        event.record(&mut Fields(&mut out));
        out.push('\n');
    }

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_any_log_at_trace() {
    log::set_boxed_logger(Box::new(LogCapture)).unwrap();
    log::set_max_level(log::LevelFilter::Trace);
    tracing::subscriber::set_global_default(TracingCapture).unwrap();

    let good = format!("Basic {}", token("asterisk", PASSWORD));
    let accept = good.clone();
    let mut fake = fake::start(
        &good,
        Arc::new(move |seen| {
            if seen.authorization.as_deref() != Some(accept.as_str()) {
                return (401, r#"{"message":"Authentication required"}"#.into());
            }
            match seen.path.as_str() {
                "/ari/asterisk/ping" => (
                    200,
                    r#"{"asterisk_id":"02:fc","ping":"pong","timestamp":"2026-11-26T13:22:17.521+0000"}"#.into(),
                ),
                "/ari/channels" | "/ari/bridges" => (200, "[]".into()),
                _ => (404, r#"{"message":"Channel not found"}"#.into()),
            }
        }),
    )
    .await;
    // connect (REST), the websocket, a loss and a reconnect, a REST call
    let client = Client::builder(&fake.url, "asterisk", PASSWORD)
        .reconnect(ReconnectPolicy {
            initial_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            ..Default::default()
        })
        .connect()
        .await
        .unwrap();
    client.start(["app"]).await.unwrap();
    let ws = tokio::time::timeout(Duration::from_secs(5), fake.sockets.recv())
        .await
        .unwrap()
        .unwrap();
    drop(ws);
    let _again = tokio::time::timeout(Duration::from_secs(5), fake.sockets.recv())
        .await
        .expect("a reconnect")
        .unwrap();
    let missing = client.channels().get("nope").await.unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);
    // failed logins: REST and websocket
    let refused = Client::connect(&fake.url, "asterisk", WRONG)
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Unauthorized, "{refused}");
    let wrong = Client::builder(&fake.url, "asterisk", WRONG)
        .build()
        .unwrap();
    let refused = wrong.start(["app"]).await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Unauthorized, "{refused}");
    client.shutdown();
    client.wait().await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    let log = captured().lock().unwrap().clone();
    // the capture works: the transport crates and this crate logged at TRACE
    assert!(
        log.contains("tungstenite"),
        "no tungstenite record captured"
    );
    assert!(
        log.contains("ari_client"),
        "no record of this crate captured"
    );
    let lines = log.lines().count();
    for secret in [
        PASSWORD.to_owned(),
        WRONG.to_owned(),
        token("asterisk", PASSWORD),
        token("asterisk", WRONG),
    ] {
        let found: Vec<&str> = log.lines().filter(|l| l.contains(&secret)).collect();
        assert!(
            found.is_empty(),
            "a secret in {} of {lines} lines: {found:?}",
            found.len()
        );
    }
    eprintln!("secrets: {lines} lines logged at TRACE, none with a password or a Basic token");
}
