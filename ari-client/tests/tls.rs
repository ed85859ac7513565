//! https and wss through rustls: a fake ARI behind a self-signed certificate.
//! Without the certificate among the roots, `connect` fails with the TLS error kind;
//! with it, REST and the event websocket both work.

use std::sync::Arc;
use std::time::Duration;

use ari_client::{Client, ErrorKind};
use futures_util::SinkExt as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

const PING: &str = r#"{"asterisk_id":"02:fc:00:00:00:01","ping":"pong","timestamp":"2026-11-26T13:25:11.632+0000"}"#;
const EVENT: &str = r#"{"type":"ApplicationReplaced","application":"hello","timestamp":"2026-11-26T13:25:11.632+0000","asterisk_id":"02:fc:00:00:00:01"}"#;

/// Starts an HTTPS server for `localhost` and returns its port and the PEM of its certificate.
async fn tls_server() -> (u16, String) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert_pem = certified.cert.pem();
    let cert = CertificateDer::from(certified.cert.der().to_vec());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                loop {
                    let Some(head) = read_head(&mut tls).await else {
                        return;
                    };
                    if head.starts_with("GET /ari/events") {
                        let key = head
                            .lines()
                            .find_map(|l| {
                                let (name, value) = l.split_once(':')?;
                                name.eq_ignore_ascii_case("sec-websocket-key")
                                    .then(|| value.trim().to_owned())
                            })
                            .unwrap_or_default();
                        let response = format!(
                            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
                            derive_accept_key(key.as_bytes())
                        );
                        tls.write_all(response.as_bytes()).await.unwrap();
                        let mut ws =
                            WebSocketStream::from_raw_socket(tls, Role::Server, None).await;
                        ws.send(Message::text(EVENT)).await.unwrap();
                        // keep the connection open until the client leaves
                        tokio::time::sleep(Duration::from_secs(5)).await;
                        return;
                    }
                    let response = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{PING}",
                        PING.len()
                    );
                    if tls.write_all(response.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, cert_pem)
}

/// Reads one request head (up to the blank line).
async fn read_head<S: tokio::io::AsyncRead + Unpin>(s: &mut S) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    String::from_utf8(head).ok()
}

#[tokio::test]
async fn an_untrusted_certificate_is_a_tls_error() {
    let (port, _pem) = tls_server().await;
    let err = Client::connect(&format!("https://localhost:{port}"), "u", "p")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Tls, "{err}");
}

#[tokio::test]
async fn https_and_wss_work_with_an_added_root() {
    let (port, pem) = tls_server().await;
    let client = Client::builder(&format!("https://localhost:{port}/ari"), "u", "p")
        .add_root_certificates_pem(pem.as_bytes())
        .unwrap()
        .without_builtin_roots()
        .connect()
        .await
        .unwrap();
    let mut events = client.events();
    client.start(["hello"]).await.unwrap();
    let event = tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .expect("an event over wss")
        .unwrap();
    assert_eq!(event.type_name(), "ApplicationReplaced");
    // the fake server's one event says the app was taken over: the client stops there
    let err = client.wait().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Replaced, "{err}");
}

#[tokio::test]
async fn plain_http_behind_an_https_url_is_a_tls_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let _ = tcp
                .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                .await;
        }
    });
    let err = Client::connect(&format!("https://127.0.0.1:{port}"), "u", "p")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Tls, "{err}");
}

#[test]
fn garbage_pem_is_refused() {
    let err = Client::builder("https://localhost", "u", "p")
        .add_root_certificates_pem(b"not a certificate")
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Tls);
}

#[test]
fn debug_output_never_shows_the_password() {
    let builder = Client::builder("http://127.0.0.1:8088", "asterisk", "pa55word");
    assert!(!format!("{builder:?}").contains("pa55word"));
    let client = builder.build().unwrap();
    assert!(!format!("{client:?}").contains("pa55word"));
}
