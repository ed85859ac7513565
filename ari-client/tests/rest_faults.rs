//! REST answers a real Asterisk does not give, from an in-process fake HTTP server on
//! 127.0.0.1: bodies that are too large or endless, bodies cut short, answers that are not
//! HTTP. Each must end in an error of a kind that says what happened, never a hang, a
//! panic or a buffer as large as what the server sends.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ari_client::{Client, ErrorKind};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// A fake server that reads each request's head and hands the connection to `answer`;
/// the counter is what `answer` reports it wrote.
async fn serve<F, Fut>(answer: F) -> (String, Arc<AtomicU64>)
where
    F: Fn(TcpStream, Arc<AtomicU64>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let written = Arc::new(AtomicU64::new(0));
    let counter = written.clone();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match tcp.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            tokio::spawn(answer(tcp, counter.clone()));
        }
    });
    (url, written)
}

/// A fake server that writes `bytes` and closes the connection.
async fn serve_bytes(bytes: &'static [u8]) -> String {
    serve(move |mut tcp, _| async move {
        let _ = tcp.write_all(bytes).await;
        let _ = tcp.shutdown().await;
    })
    .await
    .0
}

/// Writes `total` bytes of body in 64 KiB chunks (chunked encoding when `chunked`), counting
/// them, until done or until the client goes away.
async fn write_body(tcp: &mut TcpStream, total: u64, chunked: bool, written: &AtomicU64) {
    let chunk = vec![b'x'; 64 << 10];
    let mut sent = 0u64;
    while sent < total {
        let n = (total - sent).min(chunk.len() as u64) as usize;
        let ok = if chunked {
            tcp.write_all(format!("{n:x}\r\n").as_bytes()).await.is_ok()
                && tcp.write_all(&chunk[..n]).await.is_ok()
                && tcp.write_all(b"\r\n").await.is_ok()
        } else {
            tcp.write_all(&chunk[..n]).await.is_ok()
        };
        if !ok {
            return;
        }
        sent += n as u64;
        written.fetch_add(n as u64, Ordering::Relaxed);
    }
    if chunked {
        let _ = tcp.write_all(b"0\r\n\r\n").await;
    }
}

fn client(url: &str, limit: Option<usize>) -> Client {
    let mut b =
        Client::builder(url, "asterisk", "asterisk").request_timeout(Duration::from_secs(20));
    if let Some(limit) = limit {
        b = b.max_response_bytes(limit);
    }
    b.build().unwrap()
}

/// `HTTP/1.1 <status>` with a body of `len` bytes of `x`, announced with `Content-Length`
/// or sent chunked.
async fn serve_body(status: u16, len: u64, announce: bool) -> (String, Arc<AtomicU64>) {
    serve(move |mut tcp, written| async move {
        let head = if announce {
            format!("HTTP/1.1 {status} X\r\nContent-Type: application/octet-stream\r\nContent-Length: {len}\r\n\r\n")
        } else {
            format!("HTTP/1.1 {status} X\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
        };
        if tcp.write_all(head.as_bytes()).await.is_ok() {
            write_body(&mut tcp, len, !announce, &written).await;
        }
    })
    .await
}

#[tokio::test]
async fn a_body_at_the_limit_is_read_and_one_byte_more_is_refused() {
    for announce in [true, false] {
        // several chunks of the server's, and what reqwest makes of them
        let limit = 300_000;
        let (url, _) = serve_body(200, limit as u64, announce).await;
        let body = client(&url, Some(limit))
            .recordings()
            .get_stored_file("r")
            .await
            .unwrap();
        assert_eq!(body.len(), limit);
        assert!(body.iter().all(|&b| b == b'x'));

        let (url, _) = serve_body(200, limit as u64 + 1, announce).await;
        let e = client(&url, Some(limit))
            .recordings()
            .get_stored_file("r")
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ResponseTooLarge, "{e:?}");
        assert_eq!(e.operation(), Some("recordings.getStoredFile"));
        println!("announce={announce}: {e}");
        assert!(e.to_string().contains("300000 bytes"), "{e}");
    }
}

#[tokio::test]
async fn a_content_length_over_the_limit_is_refused_before_the_body_is_read() {
    let (url, written) = serve_body(200, 200_000_000, true).await;
    let started = Instant::now();
    let e = client(&url, None)
        .recordings()
        .get_stored_file("r")
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert_eq!(e.kind(), ErrorKind::ResponseTooLarge, "{e:?}");
    assert!(
        e.to_string().contains("Content-Length 200000000 bytes"),
        "{e}"
    );
    assert!(e.to_string().contains(&(64u64 << 20).to_string()), "{e}");
    println!(
        "refused in {took:?}: {e}; the server wrote {} body bytes meanwhile",
        written.load(Ordering::Relaxed)
    );
    assert!(took < Duration::from_secs(2), "{took:?}");
}

#[tokio::test]
async fn an_endless_body_is_refused_at_the_limit() {
    let (url, written) = serve_body(200, u64::MAX, false).await;
    let limit = 4 << 20;
    let e = client(&url, Some(limit))
        .channels()
        .list()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ResponseTooLarge, "{e:?}");
    assert_eq!(e.operation(), Some("channels.list"));
    // give the server time to notice
    tokio::time::sleep(Duration::from_millis(200)).await;
    let sent = written.load(Ordering::Relaxed);
    println!("endless body: {e}; the server could write {sent} bytes");
    // what the client read, plus the sockets' buffers: nowhere near endless
    assert!(sent < (limit as u64) + (32 << 20), "{sent}");
}

#[tokio::test]
async fn an_error_status_with_a_huge_body_is_the_status_error() {
    for announce in [true, false] {
        let (url, _) = serve_body(404, 200_000_000, announce).await;
        let e = client(&url, None).channels().get("c").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound, "{e:?}");
        assert_eq!(e.http_status(), Some(404));
        assert_eq!(e.message(), None);
        assert_eq!(e.reason(), Some("Channel not found"));
    }
    // and Asterisk's message of an ordinary one
    let url = serve_bytes(
        b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 33\r\n\r\n{\"message\":\"Channel not found!!\"}",
    )
    .await;
    let e = client(&url, None).channels().get("c").await.unwrap_err();
    assert_eq!(e.message(), Some("Channel not found!!"), "{e:?}");
}

#[tokio::test]
async fn a_body_cut_short_is_truncated() {
    let cases: [(&str, &'static [u8]); 3] = [
        (
            "Content-Length 100, 9 bytes, EOF",
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"ping\":\"",
        ),
        (
            "chunked, EOF after a chunk",
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n9\r\n{\"ping\":\"\r\n",
        ),
        (
            "chunked, EOF inside a chunk",
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n{\"ping\":\"",
        ),
    ];
    for (what, answer) in cases {
        let url = serve_bytes(answer).await;
        let c = client(&url, None);
        let e = c.asterisk().ping().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Truncated, "{what}: {e:?}");
        assert_eq!(e.operation(), Some("asterisk.ping"));
        println!("{what}: {e}\n    {e:?}");
        let e = c.recordings().get_stored_file("r").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Truncated, "{what}: {e:?}");
    }
}

#[tokio::test]
async fn answers_that_are_not_http_are_protocol_errors() {
    let cases: [(&str, &'static [u8]); 7] = [
        ("a garbage status line", b"GARBAGE\r\n\r\n"),
        (
            "a status code that is not a number",
            b"HTTP/1.1 abc OK\r\nContent-Length: 0\r\n\r\n",
        ),
        ("an SSH banner", b"SSH-2.0-OpenSSH_9.6\r\n"),
        ("JSON without a head", b"{\"ping\":\"pong\"}"),
        (
            "a malformed header",
            b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n",
        ),
        (
            "a malformed Content-Length",
            b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
        ),
        (
            "a malformed chunk size",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n",
        ),
    ];
    let huge_head = format!(
        "HTTP/1.1 200 OK\r\nX-Big: {}\r\nContent-Length: 0\r\n\r\n",
        "x".repeat(1 << 20)
    );
    let huge_head: &'static [u8] = huge_head.into_bytes().leak();
    for (what, answer) in cases.into_iter().chain([("a 1 MiB header", huge_head)]) {
        let url = serve_bytes(answer).await;
        let e = client(&url, None).asterisk().ping().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol, "{what}: {e:?}");
        assert_eq!(e.operation(), Some("asterisk.ping"));
        println!("{what}: {e}\n    {e:?}");
    }
}

#[tokio::test]
async fn a_body_that_stalls_is_a_timeout() {
    let (url, _) = serve(|mut tcp, _| async move {
        let _ = tcp
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"ping\":")
            .await;
        tokio::time::sleep(Duration::from_secs(5)).await;
    })
    .await;
    let c = Client::builder(&url, "u", "p")
        .request_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let e = c.asterisk().ping().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e:?}");
}

#[tokio::test]
async fn a_refused_connection_is_still_a_connect_error() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let e = client(&format!("http://127.0.0.1:{port}"), None)
        .asterisk()
        .ping()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connect, "{e:?}");
}

#[tokio::test]
async fn asterisks_own_error_page_is_not_given_the_operations_reason() {
    // what Asterisk's HTTP server answers to a request line of some 8 kB or more (measured)
    let url = serve_bytes(
        b"HTTP/1.1 400 Bad Request\r\nServer: Asterisk\r\nContent-Type: text/html\r\nContent-Length: 200\r\n\r\n<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>400 Bad Request</title>\n</head><body>\n<h1>Bad Request</h1>\n<p>Request line too long</p>\n<hr />\n<address>Asterisk</address>\n</body></html>\n",
    )
    .await;
    let e = client(&url, None).channels().hangup("c").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadRequest, "{e:?}");
    assert_eq!(e.reason(), None, "{e:?}");
    assert_eq!(e.message(), Some("Request line too long"));
    assert_eq!(
        e.to_string(),
        "channels.hangup: bad request (HTTP 400): Request line too long"
    );
}

/// Counts the requests that reach it; answers each with `204`.
async fn counting_server() -> (String, Arc<AtomicU64>) {
    serve(|mut tcp, count| async move {
        count.fetch_add(1, Ordering::Relaxed);
        let _ = tcp
            .write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
            .await;
    })
    .await
}

#[tokio::test]
async fn control_characters_are_refused_before_anything_is_sent() {
    let (url, requests) = counting_server().await;
    let c = client(&url, None);
    for bad in [
        "v\0",
        "v\0anything",
        "v\r\n",
        "\n",
        "\t",
        "v\u{7f}",
        "\u{1b}[2J",
    ] {
        let results = [
            c.channels().hangup(bad).await.err(),
            c.channels().get(bad).await.err(),
            c.bridges().destroy(bad).await.err(),
            c.bridges().get(bad).await.err(),
            c.channels().play(bad, "sound:beep").await.err(),
            c.channels().play("ok", bad).await.err(),
            c.channels()
                .originate("Local/answer@ari-test")
                .app(bad)
                .await
                .err(),
            c.channels()
                .originate("Local/answer@ari-test")
                .app("ok")
                .app_args(bad)
                .await
                .err(),
            c.bridges().add_channel("b", ["ok", bad]).await.err(),
            c.recordings().get_stored_file(bad).await.err(),
        ];
        for (n, e) in results.into_iter().enumerate() {
            let e = e.unwrap_or_else(|| panic!("call {n} with {bad:?} succeeded"));
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "call {n}: {e:?}");
            assert_eq!(e.http_status(), None);
            assert!(e.operation().is_some(), "{e:?}");
            assert!(e.message().unwrap().contains("control characters"), "{e}");
        }
    }
    assert_eq!(requests.load(Ordering::Relaxed), 0, "a request was sent");
    // the server does count what it gets
    c.channels().hangup("ok").await.unwrap();
    assert_eq!(requests.load(Ordering::Relaxed), 1);
}

/// An originate refused before sending (a control character in the endpoint) fails like
/// one Asterisk refused: the pending channel's handler is released and its waiter learns
/// that the channel was not created, rather than waiting for a channel that never comes.
#[tokio::test]
async fn a_create_refused_before_sending_releases_its_pending_object() {
    let (url, requests) = counting_server().await;
    let c = client(&url, None);
    let pending = c.pending_channel();
    let _sub = pending
        .on_event(
            |_c: ari_client::objects::Channel, _e: ari_client::events::StasisStart| async {
                Ok(())
            },
        )
        .unwrap();
    let waiter = pending.next::<ari_client::events::StasisStart>();
    assert_eq!(c.stats().object_handlers, 1);
    let e = c
        .channels()
        .originate_with_id(pending.id(), "Local/answer\0@ari-test")
        .app("ok")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let waited = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("the waiter is answered")
        .unwrap_err();
    assert_eq!(waited.kind(), ErrorKind::Ended, "{waited}");
    // the handler is released by its lane, after what was queued before
    let deadline = Instant::now() + Duration::from_secs(5);
    while c.stats().object_handlers > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(c.stats().object_handlers, 0);
    assert_eq!(c.stats().waiters, 0);
    assert_eq!(requests.load(Ordering::Relaxed), 0, "a request was sent");
}

/// A connection closed before any answer — what Asterisk does past its `sessionlimit`, and
/// to a pooled connection it closes as it is reused — is a `Connect` error that says so.
#[tokio::test]
async fn a_connection_closed_before_the_answer_is_a_connect_error() {
    let url = serve_bytes(b"").await;
    let e = client(&url, None).asterisk().ping().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connect, "{e:?}");
    assert_eq!(e.operation(), Some("asterisk.ping"));
    assert!(e.to_string().contains("connection closed"), "{e}");
}

/// No more requests are in flight than `max_concurrent_requests` (default 32), however
/// many tasks send at once; the others wait their turn and all succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_in_flight_are_bounded() {
    let (now, peak) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let (n, p) = (now.clone(), peak.clone());
    let (url, _) = serve(move |mut tcp, _| {
        let (now, peak) = (n.clone(), p.clone());
        async move {
            let in_flight = now.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(in_flight, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            now.fetch_sub(1, Ordering::SeqCst);
            let _ = tcp
                .write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
                .await;
        }
    })
    .await;
    for (bound, client) in [
        (32, client(&url, None)),
        (
            5,
            Client::builder(&url, "asterisk", "asterisk")
                .max_concurrent_requests(5)
                .build()
                .unwrap(),
        ),
    ] {
        peak.store(0, Ordering::SeqCst);
        let calls = (0..100).map(|i| {
            let client = client.clone();
            tokio::spawn(async move { client.channels().hangup(format!("c-{i}")).await })
        });
        for call in futures_util::future::join_all(calls).await {
            call.unwrap().unwrap();
        }
        let peak = peak.load(Ordering::SeqCst);
        println!("bound {bound}: at most {peak} requests in flight");
        assert!(peak <= bound, "{peak} requests in flight, bound {bound}");
        assert!(
            peak >= bound.min(5),
            "the bound itself was not reached: {peak}"
        );
    }
}

/// `connect` to something that does not speak HTTP (an SSH port, say) says it is not ARI.
#[tokio::test]
async fn connecting_to_a_server_that_is_not_http_is_not_ari() {
    let url = serve_bytes(b"SSH-2.0-OpenSSH_9.6\r\n").await;
    let e = Client::builder(&url, "asterisk", "asterisk")
        .connect()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotAri, "{e:?}");
    assert!(e.to_string().contains("does not answer like ARI"), "{e}");
}
