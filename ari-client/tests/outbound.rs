//! The outbound listener against a fake Asterisk that dials it: credentials checked,
//! protocols negotiated, hostile connections refused without harm to the next one, and
//! events and REST over the accepted websocket.

mod support;

use std::sync::Arc;
use std::time::Duration;

use ari_client::events::StasisStart;
use ari_client::objects::Channel;
use ari_client::outbound::Listener;
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::Message;

/// `asterisk-out:outbound-secret`
const AUTH: &str = "Basic YXN0ZXJpc2stb3V0Om91dGJvdW5kLXNlY3JldA==";

/// What the listener answers a raw request head with: its status line.
async fn status_of(addr: std::net::SocketAddr, head: &str) -> String {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// The upgrade request of `url` as res_websocket_client sends it: protocol `ari`, Basic
/// credentials.
fn as_asterisk(url: &str) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    let mut request = url.into_client_request().unwrap();
    let headers = request.headers_mut();
    headers.insert("Authorization", AUTH.parse().unwrap());
    headers.insert("Sec-WebSocket-Protocol", "ari".parse().unwrap());
    request
}

fn upgrade(extra: &str) -> String {
    format!(
        "GET /ari HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{extra}\r\n"
    )
}

#[tokio::test]
async fn only_asterisk_with_the_credentials_gets_in_and_the_event_model_runs_over_it() {
    let listener = Listener::bind("127.0.0.1:0", "asterisk-out", "outbound-secret")
        .await
        .unwrap();
    let addr = listener.local_addr();
    let client = listener.client().unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    client.on_channel_event(move |channel: Channel, _: StasisStart| {
        let tx = tx.clone();
        async move {
            channel.answer().await?;
            let _ = tx.send(channel.id.clone());
            Ok(())
        }
    });
    let started = {
        let client = client.clone();
        tokio::spawn(async move { client.start(Vec::<String>::new()).await })
    };
    // refused, each with its status, and none of them stops the listener
    assert_eq!(
        status_of(addr, &upgrade("")).await,
        "HTTP/1.1 401 Unauthorized"
    );
    assert_eq!(
        status_of(
            addr,
            &upgrade("Authorization: Basic YXN0ZXJpc2s6YXN0ZXJpc2s=\r\n")
        )
        .await,
        "HTTP/1.1 401 Unauthorized"
    );
    assert_eq!(
        status_of(
            addr,
            &upgrade(&format!(
                "Authorization: {AUTH}\r\nSec-WebSocket-Protocol: media\r\n"
            ))
        )
        .await,
        "HTTP/1.1 400 Bad Request"
    );
    assert_eq!(
        status_of(addr, "SSH-2.0-OpenSSH_9.2\r\n\r\n").await,
        "HTTP/1.1 400 Bad Request"
    );
    assert_eq!(
        status_of(
            addr,
            &format!("POST /ari HTTP/1.1\r\nAuthorization: {AUTH}\r\n\r\n")
        )
        .await,
        "HTTP/1.1 400 Bad Request"
    );
    assert!(!started.is_finished());
    // Asterisk, as res_websocket_client dials: protocol `ari`, Basic credentials
    let request = as_asterisk(&format!("ws://{addr}/ari"));
    let (mut asterisk, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(response.headers()["sec-websocket-protocol"], "ari");
    started.await.unwrap().unwrap();
    asterisk
        .send(Message::text(format!(
            r#"{{"type":"StasisStart","timestamp":"2026-12-02T18:46:14.114+0000","args":[],"channel":{},"asterisk_id":"02:fc:00:00:00:01","application":"outbound-app"}}"#,
            support::fake::channel_json("c1")
        )))
        .await
        .unwrap();
    // the handler's answer() comes back as a RESTRequest on the same websocket
    let request: serde_json::Value = loop {
        match asterisk.next().await.unwrap().unwrap() {
            Message::Text(text) => break serde_json::from_str(text.as_str()).unwrap(),
            _ => continue,
        }
    };
    assert_eq!(
        (request["method"].as_str(), request["uri"].as_str()),
        (Some("POST"), Some("channels/c1/answer"))
    );
    asterisk
        .send(Message::text(
            serde_json::json!({
                "type": "RESTResponse",
                "transaction_id": request["transaction_id"],
                "request_id": request["request_id"],
                "status_code": 204,
                "reason_phrase": "No Content",
                "uri": "channels/c1/answer",
                "application": "outbound-app",
                "timestamp": "2026-12-02T18:46:14.114+0000",
            })
            .to_string(),
        ))
        .await
        .unwrap();
    let answered = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .unwrap();
    assert_eq!(answered.as_deref(), Some("c1"));
    client.shutdown();
    client.wait().await.unwrap();
}

#[tokio::test]
async fn settings_not_made_for_outbound_are_refused() {
    let listener = Listener::bind("127.0.0.1:0", "u", "p").await.unwrap();
    let settings = ari_client::Client::builder("http://127.0.0.1:8088", "u", "p");
    let e = listener.client_with(settings).unwrap_err();
    assert_eq!(e.kind(), ari_client::ErrorKind::InvalidArgument);
    let e = ari_client::ClientBuilder::outbound().build().unwrap_err();
    assert_eq!(e.kind(), ari_client::ErrorKind::InvalidArgument);
}

#[tokio::test]
async fn over_tls_asterisk_gets_in_and_a_plain_connection_does_not() {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert_pem, key_pem) = (certified.cert.pem(), certified.signing_key.serialize_pem());
    let listener = Listener::bind_tls(
        "127.0.0.1:0",
        "asterisk-out",
        "outbound-secret",
        cert_pem.as_bytes(),
        key_pem.as_bytes(),
    )
    .await
    .unwrap();
    let port = listener.local_addr().port();
    let client = listener.client().unwrap();
    let started = {
        let client = client.clone();
        tokio::spawn(async move { client.start(Vec::<String>::new()).await })
    };
    // plain HTTP to a TLS listener: refused, and the listener takes the next one
    let status = status_of(
        format!("127.0.0.1:{port}").parse().unwrap(),
        &upgrade(&format!("Authorization: {AUTH}\r\n")),
    )
    .await;
    assert!(!status.starts_with("HTTP/1.1 101"), "{status:?}");
    let mut roots = rustls::RootCertStore::empty();
    roots.add(certified.cert.der().clone()).unwrap();
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let request = as_asterisk(&format!("wss://localhost:{port}/ari"));
    let (mut asterisk, _) = tokio_tungstenite::connect_async_tls_with_config(
        request,
        None,
        false,
        Some(tokio_tungstenite::Connector::Rustls(Arc::new(tls))),
    )
    .await
    .unwrap();
    started.await.unwrap().unwrap();
    let mut events = client.events();
    asterisk
        .send(Message::text(
            r#"{"type":"ApplicationRegistered","timestamp":"2026-12-02T18:46:14.114+0000","application":"outbound-app","asterisk_id":"02:fc:00:00:00:01"}"#,
        ))
        .await
        .unwrap();
    let event = tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(event.kind().as_str(), "ApplicationRegistered");
    client.shutdown();
    client.wait().await.unwrap();
}

#[tokio::test]
async fn unusable_certificates_are_tls_errors() {
    let e = Listener::bind_tls("127.0.0.1:0", "u", "p", b"not pem", b"not pem")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ari_client::ErrorKind::Tls);
}
