//! Fault injection with an in-process fake ARI websocket server: what a real Asterisk
//! cannot be made to do (malformed frames, stalls, an abrupt close mid-frame), and
//! ordering and backpressure under load.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ari_client::events::{ChannelDtmfReceived, Event};
use ari_client::{Client, ConnectionState, ReconnectPolicy};
use futures_util::SinkExt as _;
use tokio::io::AsyncWriteExt as _;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

type Ws = WebSocketStream<TcpStream>;

/// A fake server: every accepted websocket is handed to the test.
async fn fake_server() -> (String, mpsc::UnboundedReceiver<Ws>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            if let Ok(ws) = tokio_tungstenite::accept_async(tcp).await {
                if tx.send(ws).is_err() {
                    break;
                }
            }
        }
    });
    (url, rx)
}

fn client(url: &str) -> Client {
    Client::builder(url, "asterisk", "asterisk")
        .reconnect(ReconnectPolicy {
            initial_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            ..Default::default()
        })
        .keepalive(Duration::from_millis(200))
        .build()
        .unwrap()
}

async fn next_ws(rx: &mut mpsc::UnboundedReceiver<Ws>) -> Ws {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("a websocket connection within 5 s")
        .expect("server alive")
}

fn channel_json(id: &str) -> String {
    format!(
        r#"{{"id":"{id}","name":"Local/x@ari-test-00000001;1","state":"Up","protocol_id":"","caller":{{"name":"","number":""}},"connected":{{"name":"","number":""}},"accountcode":"","dialplan":{{"context":"ari-test","exten":"x","priority":1,"app_name":"Stasis","app_data":"hello"}},"creationtime":"2026-11-26T13:22:17.521+0000","language":"en"}}"#
    )
}

fn dtmf(channel: &str, digit: &str) -> String {
    format!(
        r#"{{"type":"ChannelDtmfReceived","timestamp":"2026-11-26T13:22:20.933+0000","digit":"{digit}","duration_ms":100,"channel":{},"asterisk_id":"02:fc:00:00:00:01","application":"hello"}}"#,
        channel_json(channel)
    )
}

async fn next_event(events: &mut ari_client::EventStream) -> Event {
    tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .expect("an event within 5 s")
        .expect("stream open")
}

#[tokio::test]
async fn malformed_frames_are_counted_and_the_connection_goes_on() {
    let (url, mut conns) = fake_server().await;
    let client = client(&url);
    let mut events = client.events();
    client.start(["hello"]).await.unwrap();
    let mut ws = next_ws(&mut conns).await;
    ws.send(Message::text("not json at all")).await.unwrap();
    ws.send(Message::text(
        r#"{"type":"ChannelDtmfReceived","digit":"1"}"#,
    ))
    .await
    .unwrap();
    ws.send(Message::text(r#"{"no":"type"}"#)).await.unwrap();
    ws.send(Message::binary(vec![0u8, 1, 2])).await.unwrap();
    ws.send(Message::text(
        r#"{"type":"SomethingNew","application":"hello","x":1}"#,
    ))
    .await
    .unwrap();
    ws.send(Message::text(dtmf("c1", "5"))).await.unwrap();

    let unknown = next_event(&mut events).await;
    assert_eq!(unknown.type_name(), "SomethingNew");
    match next_event(&mut events).await {
        Event::ChannelDtmfReceived(e) => assert_eq!(e.digit, "5"),
        other => panic!("unexpected {other:?}"),
    }
    let stats = client.stats();
    assert_eq!(stats.received, 5, "{stats:?}");
    assert_eq!(stats.decode_errors, 3, "{stats:?}");
    assert_eq!(client.state(), ConnectionState::Connected);
    client.shutdown();
    client.wait().await.unwrap();
}

#[tokio::test]
async fn abrupt_close_mid_frame_reconnects() {
    let (url, mut conns) = fake_server().await;
    let client = client(&url);
    let mut events = client.events();
    client.start(["hello"]).await.unwrap();
    let mut ws = next_ws(&mut conns).await;
    // a text frame header announcing 256 bytes, 5 of them, then the TCP connection drops
    let tcp = ws.get_mut();
    tcp.write_all(&[0x81, 0x7E, 0x01, 0x00, b'{', b'"', b't', b'y', b'p'])
        .await
        .unwrap();
    tcp.flush().await.unwrap();
    drop(ws);
    let mut ws = next_ws(&mut conns).await;
    ws.send(Message::text(dtmf("c1", "7"))).await.unwrap();
    match next_event(&mut events).await {
        Event::ChannelDtmfReceived(e) => assert_eq!(e.digit, "7"),
        other => panic!("unexpected {other:?}"),
    }
    client.shutdown();
    client.wait().await.unwrap();
}

#[tokio::test]
async fn a_stalled_server_is_detected_and_left() {
    let (url, mut conns) = fake_server().await;
    let client = client(&url);
    let mut states = client.state_changes();
    let mut events = client.events();
    client.start(["hello"]).await.unwrap();
    // the first server never reads (so never answers pings) and never sends
    let stalled = next_ws(&mut conns).await;
    let mut ws = next_ws(&mut conns).await;
    let mut saw_loss = false;
    while let Ok(Some(state)) =
        tokio::time::timeout(Duration::from_millis(100), states.next()).await
    {
        if let ConnectionState::Disconnected { reason } = state {
            assert!(reason.contains("no answer"), "{reason}");
            saw_loss = true;
        }
    }
    assert!(saw_loss);
    ws.send(Message::text(dtmf("c2", "9"))).await.unwrap();
    match next_event(&mut events).await {
        Event::ChannelDtmfReceived(e) => assert_eq!(e.digit, "9"),
        other => panic!("unexpected {other:?}"),
    }
    drop(stalled);
    client.shutdown();
    client.wait().await.unwrap();
}

#[tokio::test]
async fn close_frame_reconnects_and_handlers_survive() {
    let (url, mut conns) = fake_server().await;
    let client = client(&url);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    client.on_event(move |e: ChannelDtmfReceived| {
        sink.lock().unwrap().push(e.digit.clone());
        async { Ok(()) }
    });
    client.start(["hello"]).await.unwrap();
    let mut ws = next_ws(&mut conns).await;
    ws.send(Message::text(dtmf("c1", "1"))).await.unwrap();
    ws.close(None).await.unwrap();
    let mut ws = next_ws(&mut conns).await;
    ws.send(Message::text(dtmf("c1", "2"))).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while seen.lock().unwrap().len() < 2 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(*seen.lock().unwrap(), ["1", "2"]);
    client.shutdown();
    client.wait().await.unwrap();
}

/// Slow handlers and a tiny budget (room for about four queued events): every event
/// arrives, each channel's in order, and channels are handled concurrently.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_channel_order_under_backpressure() {
    let (url, mut conns) = fake_server().await;
    let client = Client::builder(&url, "asterisk", "asterisk")
        .event_budget(4 * dtmf("chan-00", "00").len())
        .build()
        .unwrap();
    let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let sink = seen.clone();
    let running = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let max_running = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (r, m) = (running.clone(), max_running.clone());
    client.on_event(move |e: ChannelDtmfReceived| {
        let sink = sink.clone();
        let (r, m) = (r.clone(), m.clone());
        async move {
            use std::sync::atomic::Ordering::SeqCst;
            let now = r.fetch_add(1, SeqCst) + 1;
            m.fetch_max(now, SeqCst);
            tokio::time::sleep(Duration::from_millis(1)).await;
            sink.lock()
                .unwrap()
                .push((e.channel.id.clone(), e.digit.clone()));
            r.fetch_sub(1, SeqCst);
            Ok(())
        }
    });
    client.start(["hello"]).await.unwrap();
    let mut ws = next_ws(&mut conns).await;
    let channels = 16;
    let per_channel = 20;
    for i in 0..per_channel {
        for c in 0..channels {
            ws.send(Message::text(dtmf(&format!("chan-{c}"), &i.to_string())))
                .await
                .unwrap();
        }
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while seen.lock().unwrap().len() < channels * per_channel {
        assert!(tokio::time::Instant::now() < deadline, "events lost");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), channels * per_channel);
    for c in 0..channels {
        let digits: Vec<String> = seen
            .iter()
            .filter(|(id, _)| *id == format!("chan-{c}"))
            .map(|(_, d)| d.clone())
            .collect();
        let want: Vec<String> = (0..per_channel).map(|i| i.to_string()).collect();
        assert_eq!(digits, want, "order of chan-{c}");
    }
    assert!(
        max_running.load(std::sync::atomic::Ordering::SeqCst) > 1,
        "different channels ran concurrently"
    );
    assert_eq!(client.stats().decode_errors, 0);
    client.shutdown();
    client.wait().await.unwrap();
}

/// A StasisStart handler installs a per-channel DTMF handler while the channel's next
/// events — its StasisEnd too — are already arriving: every DTMF reaches it (2,000 calls,
/// 32 interleaved, sent as fast as the socket takes them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handlers_installed_by_a_handler_see_the_events_that_follow() {
    use ari_client::events::{StasisEnd, StasisStart};
    use ari_client::objects::Channel;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let (url, mut conns) = fake_server().await;
    let client = client(&url);
    let handled = Arc::new(AtomicUsize::new(0));
    let ended = Arc::new(AtomicUsize::new(0));
    let d = handled.clone();
    client.on_channel_event(move |channel: Channel, _e: StasisStart| {
        let d = d.clone();
        let installed = channel.on_event(move |_c: Channel, _e: ChannelDtmfReceived| {
            d.fetch_add(1, Ordering::SeqCst);
            async { Ok(()) }
        });
        async move { installed.map(drop) }
    });
    let e = ended.clone();
    client.on_event(move |_e: StasisEnd| {
        e.fetch_add(1, Ordering::SeqCst);
        async { Ok(()) }
    });
    client.start(["hello"]).await.unwrap();
    let mut ws = next_ws(&mut conns).await;
    let calls = 2000;
    let event = |kind: &str, id: &str, extra: &str| {
        format!(
            r#"{{"type":"{kind}","timestamp":"2026-11-26T13:22:20.933+0000",{extra}"channel":{},"asterisk_id":"02:fc:00:00:00:01","application":"hello"}}"#,
            channel_json(id)
        )
    };
    let mut frames = Vec::new();
    for chunk in (0..calls).collect::<Vec<_>>().chunks(32) {
        let mut per_call: Vec<Vec<String>> = chunk
            .iter()
            .map(|n| {
                let id = format!("call-{n}");
                let mut v = vec![event("StasisStart", &id, r#""args":[],"#)];
                for digit in ["1", "2", "3", "#"] {
                    v.push(dtmf(&id, digit));
                }
                v.push(event("StasisEnd", &id, ""));
                v
            })
            .collect();
        for step in 0..6 {
            for call in per_call.iter_mut() {
                frames.push(std::mem::take(&mut call[step]));
            }
        }
    }
    for f in frames {
        ws.feed(Message::text(f)).await.unwrap();
    }
    ws.flush().await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while ended.load(Ordering::SeqCst) < calls {
        assert!(tokio::time::Instant::now() < deadline, "calls lost");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    client.drain().await;
    assert_eq!(
        handled.load(Ordering::SeqCst),
        calls * 4,
        "every DTMF handled"
    );
    let stats = client.stats();
    assert_eq!(stats.object_handlers, 0, "released at StasisEnd");
    assert_eq!(stats.objects, 0, "no object left tracked: {stats:?}");
    assert_eq!(stats.queued_bytes, 0, "the budget is given back: {stats:?}");
    client.shutdown();
    client.wait().await.unwrap();
}
