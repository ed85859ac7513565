//! REST over the event websocket (`RestTransport::WebSocket`) against the real Asterisk:
//! the same typed answers and typed errors as over HTTP, requests that really go over the
//! websocket (a loopback proxy counts the HTTP bytes), bodies, concurrency, and a
//! read-only user refused by Asterisk on this path too.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ari_client::events::StasisStart;
use ari_client::{Client, ErrorKind, RestTransport};
use support::{live, unique_app};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

async fn websocket_client(url: &str, user: &str, password: &str) -> Client {
    Client::builder(url, user, password)
        .rest_transport(RestTransport::WebSocket)
        .connect()
        .await
        .expect("connect")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_and_error_is_the_same_as_over_http() {
    let Some(live) = live().await else { return };
    let http = live.client().await;
    let ws = websocket_client(&live.url, &live.user, &live.password).await;
    let app = unique_app("restws");
    ws.start([app.as_str()]).await.unwrap();

    let (a, b) = (
        http.asterisk().get_info().await.unwrap(),
        ws.asterisk().get_info().await.unwrap(),
    );
    assert_eq!(
        a.system.as_ref().map(|s| &s.version),
        b.system.as_ref().map(|s| &s.version)
    );
    // a 404 with Asterisk's own message, typed the same way
    let (a, b) = (
        http.channels().get("no-such-channel").await.unwrap_err(),
        ws.channels().get("no-such-channel").await.unwrap_err(),
    );
    assert_eq!(
        (a.kind(), b.kind()),
        (ErrorKind::NotFound, ErrorKind::NotFound)
    );
    assert_eq!(a.to_string(), b.to_string());
    assert_eq!(b.message(), Some("Channel not found"));

    // a call: originate with a JSON body and an id, wait for it, variables, hang up
    let pending = ws.pending_channel();
    let started = pending.next::<StasisStart>();
    let channel = ws
        .channels()
        .originate_with_id(pending.id(), "Local/answer@ari-test")
        .app(&app)
        .app_args("over the websocket")
        .variables([("RESTWS", "body, quoted \" and ünïcode")])
        .await
        .unwrap();
    let start = started.timeout(Duration::from_secs(10)).await.unwrap();
    assert_eq!(start.args, ["over the websocket"]);
    let value = ws
        .channels()
        .get_channel_var(&channel.id, "RESTWS")
        .await
        .unwrap();
    assert_eq!(value.value, "body, quoted \" and ünïcode");
    ws.channels()
        .set_channel_var(&channel.id, "SET_OVER_WS")
        .value("a b&c=d%20")
        .await
        .unwrap();
    let (a, b) = (
        http.channels()
            .get_channel_var(&channel.id, "SET_OVER_WS")
            .await
            .unwrap(),
        ws.channels()
            .get_channel_var(&channel.id, "SET_OVER_WS")
            .await
            .unwrap(),
    );
    assert_eq!(
        (a.value.as_str(), b.value.as_str()),
        ("a b&c=d%20", "a b&c=d%20")
    );
    // a conflict Asterisk reports with its message
    let e = ws
        .channels()
        .originate_with_id(pending.id(), "Local/answer@ari-test")
        .app(&app)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
    // a file is not sent over the websocket: refused before anything is sent
    let e = ws
        .recordings()
        .get_stored_file("anything")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    ws.channels().hangup(&channel.id).await.unwrap();
    ws.shutdown();
    ws.wait().await.unwrap();
}

/// Forwards loopback connections to `target`, counting what clients send on connections
/// that are not the events websocket.
async fn counting_proxy(target: String) -> (String, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (http_bytes, ws_bytes) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let counters = (http_bytes.clone(), ws_bytes.clone());
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let target = target.clone();
            let (http_bytes, ws_bytes) = (counters.0.clone(), counters.1.clone());
            tokio::spawn(async move {
                let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await else {
                    return;
                };
                let mut first = [0u8; 15];
                if inbound.read_exact(&mut first).await.is_err() {
                    return;
                }
                let counter = if &first == b"GET /ari/events" {
                    ws_bytes
                } else {
                    http_bytes
                };
                counter.fetch_add(first.len(), Ordering::Relaxed);
                if outbound.write_all(&first).await.is_err() {
                    return;
                }
                let (mut ri, mut wi) = inbound.split();
                let (mut ro, mut wo) = outbound.split();
                let up = async {
                    let mut buf = [0u8; 16 << 10];
                    loop {
                        match ri.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => {
                                counter.fetch_add(n, Ordering::Relaxed);
                                if wo.write_all(&buf[..n]).await.is_err() {
                                    break;
                                }
                            }
                        }
                    }
                    let _ = wo.shutdown().await;
                };
                let down = async {
                    let _ = tokio::io::copy(&mut ro, &mut wi).await;
                    let _ = wi.shutdown().await;
                };
                tokio::join!(up, down);
            });
        }
    });
    (url, http_bytes, ws_bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_the_websocket_is_open_no_request_goes_over_http() {
    let Some(live) = live().await else { return };
    let target = live
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .trim_end_matches("/ari")
        .to_owned();
    let (url, http_bytes, ws_bytes) = counting_proxy(target).await;
    let ws = websocket_client(&url, &live.user, &live.password).await;
    // connect's own checks went over HTTP: there is no websocket before start
    assert!(http_bytes.load(Ordering::Relaxed) > 0);
    let app = unique_app("restws-proxy");
    ws.start([app.as_str()]).await.unwrap();
    let (http_before, ws_before) = (
        http_bytes.load(Ordering::Relaxed),
        ws_bytes.load(Ordering::Relaxed),
    );
    // 64 at once, then one after the other: all answered, each with its own answer
    let calls = (0..64).map(|_| ws.channels().get("no-such-channel"));
    for result in futures_join_all(calls).await {
        assert_eq!(result.unwrap_err().kind(), ErrorKind::NotFound);
    }
    for _ in 0..20 {
        ws.asterisk().ping().await.unwrap();
    }
    let apps = ws.applications().list().await.unwrap();
    assert!(apps.iter().any(|a| a.name == app), "{apps:?}");
    assert_eq!(
        http_bytes.load(Ordering::Relaxed),
        http_before,
        "a request went over HTTP"
    );
    // 85 requests of at least ~100 bytes each went the websocket's way
    assert!(ws_bytes.load(Ordering::Relaxed) > ws_before + 85 * 100);
    ws.shutdown();
    ws.wait().await.unwrap();
}

/// Awaits every future, in order of the results.
async fn futures_join_all<F: std::future::IntoFuture>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output>
where
    F::IntoFuture: Send + 'static,
    F::Output: Send + 'static,
{
    let tasks: Vec<_> = futures.map(|f| tokio::spawn(f.into_future())).collect();
    let mut out = Vec::with_capacity(tasks.len());
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_user_is_refused_writes_over_the_websocket() {
    let Some(live) = live().await else { return };
    // the sandbox's ari.conf has a read-only user (asterisk/conf/ari.conf)
    let ws = websocket_client(&live.url, "asterisk-ro", "asterisk-ro").await;
    let app = unique_app("restws-ro");
    ws.start([app.as_str()]).await.unwrap();
    // reading is allowed
    ws.channels().list().await.unwrap();
    // writing is not: Asterisk 22.10.1 checks read-only users on this path too
    let e = ws
        .channels()
        .originate("Local/answer@ari-test")
        .app(&app)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Forbidden, "{e}");
    assert_eq!(e.message(), Some("Write access denied"));
    ws.shutdown();
    ws.wait().await.unwrap();
}
