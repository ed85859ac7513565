//! A huge REST response body costs at most `ClientBuilder::max_response_bytes` of memory,
//! measured as the process's resident set (`VmRSS`, and its peak `VmHWM` reset before each
//! case through `/proc/self/clear_refs`). One test in its own binary, so that no other
//! test's memory is counted. Linux only; elsewhere it only checks the errors.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ari_client::{Client, ErrorKind};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

/// A server whose every answer is `200` with a body of `len` bytes, chunked, or announced
/// with `Content-Length` when `announce`; it counts the body bytes it could write.
async fn serve(len: u64, announce: bool) -> (String, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let written = Arc::new(AtomicU64::new(0));
    let counter = written.clone();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tcp.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let framing = if announce {
                    format!("Content-Length: {len}")
                } else {
                    "Transfer-Encoding: chunked".to_owned()
                };
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n{framing}\r\n\r\n"
                );
                if tcp.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = vec![b'x'; 64 << 10];
                let mut sent = 0u64;
                while sent < len {
                    let n = (len - sent).min(chunk.len() as u64) as usize;
                    let ok = if announce {
                        tcp.write_all(&chunk[..n]).await.is_ok()
                    } else {
                        tcp.write_all(format!("{n:x}\r\n").as_bytes()).await.is_ok()
                            && tcp.write_all(&chunk[..n]).await.is_ok()
                            && tcp.write_all(b"\r\n").await.is_ok()
                    };
                    if !ok {
                        return;
                    }
                    sent += n as u64;
                    counter.fetch_add(n as u64, Ordering::Relaxed);
                }
                if !announce {
                    let _ = tcp.write_all(b"0\r\n\r\n").await;
                }
            });
        }
    });
    (url, written)
}

/// A field of `/proc/self/status` in bytes (`VmRSS`, `VmHWM`), when there is one.
fn status_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Resets the peak resident set (`VmHWM`) to the current one; false when the kernel
/// does not allow it.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

const MB: f64 = 1_000_000.0;

struct Case {
    what: &'static str,
    body: u64,
    announce: bool,
    limit: Option<usize>,
    /// The most the resident set may grow.
    allowed: u64,
}

#[tokio::test]
async fn huge_bodies_are_refused_with_bounded_memory() {
    // warm up: the runtime, reqwest's pools and buffers, one body read to the end
    {
        let (url, _) = serve(1 << 20, false).await;
        let c = Client::builder(&url, "u", "p").build().unwrap();
        assert_eq!(
            c.recordings().get_stored_file("r").await.unwrap().len(),
            1 << 20
        );
    }
    let cases = [
        Case {
            what: "200 MB chunked, limit 1 MiB",
            body: 200_000_000,
            announce: false,
            limit: Some(1 << 20),
            allowed: 8 << 20,
        },
        Case {
            what: "200 MB with Content-Length, default limit",
            body: 200_000_000,
            announce: true,
            limit: None,
            allowed: 8 << 20,
        },
        Case {
            what: "1 GiB chunked, default limit (64 MiB)",
            body: 1 << 30,
            announce: false,
            limit: None,
            allowed: (64 << 20) + (16 << 20),
        },
    ];
    for case in cases {
        let (url, written) = serve(case.body, case.announce).await;
        let mut b = Client::builder(&url, "u", "p").request_timeout(Duration::from_secs(60));
        if let Some(limit) = case.limit {
            b = b.max_response_bytes(limit);
        }
        let client = b.build().unwrap();
        let before = status_bytes("VmRSS");
        let peak_reset = reset_peak();
        let started = Instant::now();
        let e = client.recordings().get_stored_file("r").await.unwrap_err();
        let took = started.elapsed();
        assert_eq!(
            e.kind(),
            ErrorKind::ResponseTooLarge,
            "{}: {e:?}",
            case.what
        );
        let after = status_bytes("VmRSS");
        let peak = if peak_reset {
            status_bytes("VmHWM")
        } else {
            after
        };
        let sent = written.load(Ordering::Relaxed);
        match (before, after, peak) {
            (Some(before), Some(after), Some(peak)) => {
                let grew = peak.saturating_sub(before);
                println!(
                    "{}: {e}\n    in {took:.2?}; the server wrote {:.1} MB; VmRSS {:.1} MB before, {:.1} MB after, peak {:.1} MB{}: grew {:.1} MB (allowed {:.1} MB)",
                    case.what,
                    sent as f64 / MB,
                    before as f64 / MB,
                    after as f64 / MB,
                    peak as f64 / MB,
                    if peak_reset { " (VmHWM)" } else { " (VmRSS, VmHWM not resettable)" },
                    grew as f64 / MB,
                    case.allowed as f64 / MB,
                );
                assert!(grew <= case.allowed, "{}: grew {grew} bytes", case.what);
            }
            _ => println!("{}: {e} (no /proc/self/status here)", case.what),
        }
        assert!(sent < case.body, "{}: the whole body was read", case.what);
    }
}
