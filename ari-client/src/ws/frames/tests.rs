//! The frame reader against tungstenite: frames that tungstenite's encoder writes (every
//! length form, fragmented messages with control frames between the fragments, masked
//! or not) read the same here as with tungstenite's own reader, fed in chunks of any
//! size; what it writes reads back with tungstenite; and what both refuse.

use std::io::Cursor;

use bytes::{Bytes, BytesMut};
use tokio_tungstenite::tungstenite;
use tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tungstenite::protocol::frame::Frame as TFrame;
use tungstenite::protocol::{CloseFrame, Role as TRole, WebSocket};
use tungstenite::Message;

use super::*;

const MAX_MESSAGE: usize = 1 << 20;
const MAX_FRAME: usize = 256 << 10;

/// A seeded generator (xorshift), for repeatable cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A text of `len` chars, some of them multi-byte (so that fragments split them).
fn text(rng: &mut Rng, len: usize) -> String {
    const CHARS: &[char] = &['a', '"', '{', 'é', '€', '𝄞', ' ', 'Z', '\u{7f}'];
    (0..len).map(|_| CHARS[rng.below(CHARS.len())]).collect()
}

/// Encodes `frame` as `role` writes it (a client masks).
fn encode(mut frame: TFrame, role: TRole, rng: &mut Rng, out: &mut Vec<u8>) {
    if role == TRole::Client {
        frame.header_mut().mask = Some((rng.next() as u32).to_ne_bytes());
    }
    frame.format(out).unwrap();
}

/// A stream that reads from given bytes and keeps what is written.
struct Pipe {
    input: Cursor<Vec<u8>>,
    output: Vec<u8>,
}

impl std::io::Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        std::io::Read::read(&mut self.input, buf)
    }
}

impl std::io::Write for Pipe {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        std::io::Write::write(&mut self.output, buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn pipe(bytes: Vec<u8>) -> Pipe {
    Pipe {
        input: Cursor::new(bytes),
        output: Vec::new(),
    }
}

/// What a reader makes of a stream of bytes: the messages and control frames, then
/// how it ended (`None`: the bytes ran out cleanly).
#[derive(Debug, Clone, PartialEq)]
enum Item {
    Text(String),
    Binary(usize),
    Ping(Vec<u8>),
    Pong,
    Close(Option<(u16, String)>),
}

/// tungstenite's reading of `bytes` as `role`: the items and whether it failed (other
/// than by running out of bytes).
fn tungstenite_reads(bytes: Vec<u8>, role: TRole) -> (Vec<Item>, bool, Vec<u8>) {
    let config = tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_FRAME));
    let mut ws = WebSocket::from_raw_socket(pipe(bytes), role, Some(config));
    let mut items = Vec::new();
    let failed = loop {
        match ws.read() {
            Ok(Message::Text(t)) => items.push(Item::Text(t.to_string())),
            Ok(Message::Binary(b)) => items.push(Item::Binary(b.len())),
            Ok(Message::Ping(p)) => items.push(Item::Ping(p.to_vec())),
            Ok(Message::Pong(_)) => items.push(Item::Pong),
            Ok(Message::Close(c)) => {
                items.push(Item::Close(
                    c.map(|c| (u16::from(c.code), c.reason.to_string())),
                ));
                // what it answered
                let _ = ws.flush();
                break false;
            }
            Ok(Message::Frame(_)) => unreachable!("not read"),
            // the bytes ran out
            Err(tungstenite::Error::Protocol(
                tungstenite::error::ProtocolError::ResetWithoutClosingHandshake,
            )) => break false,
            Err(tungstenite::Error::Io(e)) if e.kind() == std::io::ErrorKind::WouldBlock => {
                break false
            }
            Err(_) => break true,
        }
    };
    let _ = ws.flush();
    let written = std::mem::take(&mut ws.get_mut().output);
    (items, failed, written)
}

/// Our reading of `bytes` as `role`, fed in chunks of the sizes `chunks` gives.
fn our_reads(
    bytes: &[u8],
    role: Role,
    mut chunk: impl FnMut() -> usize,
) -> (Vec<Item>, Option<WsError>, Vec<u8>) {
    let mut frames = Frames::new(role, MAX_MESSAGE, MAX_FRAME);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut items = Vec::new();
    let mut fed = 0;
    loop {
        match frames.parse(&mut buf, &mut out) {
            Ok(Some(read)) => {
                let close = matches!(read, Read::Close(_));
                items.push(match read {
                    Read::Text(frame) => Item::Text(frame.as_str().to_owned()),
                    Read::Binary(n) => Item::Binary(n),
                    // which control frame: from what was answered
                    Read::Control => match out.len() {
                        0 => Item::Pong,
                        _ => {
                            let (answer, _, _) =
                                tungstenite_reads(std::mem::take(&mut out), peer(role));
                            match &answer[..] {
                                [Item::Pong] => Item::Ping(Vec::new()),
                                other => panic!("a ping's answer: {other:?}"),
                            }
                        }
                    },
                    Read::Close(c) => Item::Close(c),
                    Read::Sent => panic!("the parser writes nothing"),
                });
                if close {
                    return (items, None, out);
                }
            }
            Ok(None) if fed == bytes.len() => return (items, None, out),
            Ok(None) => {
                let n = chunk().clamp(1, bytes.len() - fed);
                buf.extend_from_slice(&bytes[fed..fed + n]);
                fed += n;
            }
            Err(e) => return (items, Some(e), out),
        }
    }
}

fn other(role: Role) -> TRole {
    match role {
        Role::Client => TRole::Client,
        Role::Server => TRole::Server,
    }
}

/// The role of the end that writes what `role` reads.
fn peer(role: Role) -> TRole {
    match role {
        Role::Client => TRole::Server,
        Role::Server => TRole::Client,
    }
}

/// Ping payloads are compared by what tungstenite reports; ours reports only that a ping
/// came (and answers it): compare pings as empty.
fn without_ping_payloads(items: Vec<Item>) -> Vec<Item> {
    items
        .into_iter()
        .map(|i| match i {
            Item::Ping(_) => Item::Ping(Vec::new()),
            other => other,
        })
        .collect()
}

/// Random valid streams: messages of every length form, fragmented at random, with
/// pings and pongs between fragments, a close at the end now and then.
fn valid_stream(rng: &mut Rng, writer: TRole) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..1 + rng.below(6) {
        let len = match rng.below(4) {
            0 => rng.below(126),
            1 => 126 + rng.below(400),
            2 => 60_000 + rng.below(10_000),
            _ => rng.below(8),
        };
        let binary = rng.below(5) == 0;
        let payload: Vec<u8> = if binary {
            (0..len).map(|_| rng.next() as u8).collect()
        } else {
            text(rng, len / 2).into_bytes()
        };
        let parts = 1 + rng.below(4);
        let mut cuts: Vec<usize> = (0..parts - 1)
            .map(|_| rng.below(payload.len() + 1))
            .collect();
        cuts.sort_unstable();
        cuts.push(payload.len());
        let mut start = 0;
        for (i, &cut) in cuts.iter().enumerate() {
            let opcode = match (i, binary) {
                (0, false) => OpCode::Data(Data::Text),
                (0, true) => OpCode::Data(Data::Binary),
                _ => OpCode::Data(Data::Continue),
            };
            let piece = Bytes::copy_from_slice(&payload[start..cut]);
            encode(
                TFrame::message(piece, opcode, i + 1 == cuts.len()),
                writer,
                rng,
                &mut out,
            );
            start = cut;
            match rng.below(6) {
                0 => encode(
                    TFrame::ping(vec![7u8; rng.below(126)]),
                    writer,
                    rng,
                    &mut out,
                ),
                1 => encode(
                    TFrame::pong(vec![1u8; rng.below(20)]),
                    writer,
                    rng,
                    &mut out,
                ),
                _ => {}
            }
        }
    }
    if rng.below(3) == 0 {
        let close = match rng.below(3) {
            0 => None,
            1 => Some(CloseFrame {
                code: CloseCode::Away,
                reason: "bye".into(),
            }),
            _ => Some(CloseFrame {
                code: CloseCode::from(1004),
                reason: "".into(),
            }),
        };
        encode(TFrame::close(close), writer, rng, &mut out);
    }
    out
}

#[test]
fn streams_tungstenite_writes_read_as_with_tungstenite() {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    for case in 0..600 {
        let role = if case % 2 == 0 {
            Role::Client
        } else {
            Role::Server
        };
        let bytes = valid_stream(&mut rng, peer(role));
        let (theirs, failed, their_answers) = tungstenite_reads(bytes.clone(), other(role));
        assert!(!failed, "case {case}: tungstenite refused its own frames");
        let sizes = [1usize, 2, 3, 7, 64, 1000, usize::MAX];
        let size = sizes[case % sizes.len()];
        let mut chunk_rng = Rng(case as u64 + 1);
        let (ours, error, our_answers) = our_reads(&bytes, role, || match size {
            usize::MAX => 1 + chunk_rng.below(5000),
            n => n,
        });
        assert!(error.is_none(), "case {case}: {error:?}");
        assert_eq!(ours, without_ping_payloads(theirs), "case {case}");
        // the answer to a close is the same close (ours without the masking, compared
        // as tungstenite reads both)
        if matches!(ours.last(), Some(Item::Close(_))) {
            let read_back = |bytes: Vec<u8>| tungstenite_reads(bytes, peer(role)).0;
            let theirs = read_back(their_answers);
            assert_eq!(read_back(our_answers).last(), theirs.last(), "case {case}");
        }
    }
}

/// A ping is answered with a pong of its payload, masked by a client; and the answer
/// reads back with tungstenite.
#[test]
fn pings_are_answered_with_their_payload() {
    let mut rng = Rng(7);
    for role in [Role::Client, Role::Server] {
        let mut bytes = Vec::new();
        encode(
            TFrame::ping(b"are you there".to_vec()),
            peer(role),
            &mut rng,
            &mut bytes,
        );
        let mut frames = Frames::new(role, MAX_MESSAGE, MAX_FRAME);
        let mut buf = BytesMut::from(&bytes[..]);
        let mut out = Vec::new();
        assert_eq!(
            frames.parse(&mut buf, &mut out).unwrap(),
            Some(Read::Control)
        );
        assert!(buf.is_empty());
        assert_eq!(
            out[1] & 0x80 != 0,
            role == Role::Client,
            "masked by a client only"
        );
        let config = tungstenite::protocol::WebSocketConfig::default();
        let mut ws = WebSocket::from_raw_socket(pipe(out), peer(role), Some(config));
        match ws.read().unwrap() {
            Message::Pong(p) => assert_eq!(&p[..], b"are you there"),
            other => panic!("{other:?}"),
        }
    }
}

/// What this end writes — text of every length form, pings, closes — reads back with
/// tungstenite as the peer.
#[test]
fn what_it_writes_reads_back_with_tungstenite() {
    let mut rng = Rng(99);
    for role in [Role::Client, Role::Server] {
        let mut out = Vec::new();
        let texts: Vec<String> = [0, 1, 125, 126, 127, 65_535, 65_536, 70_000]
            .iter()
            .map(|&n| text(&mut rng, n))
            .collect();
        for t in &texts {
            frame_into(&mut out, role, TEXT, t.as_bytes());
        }
        frame_into(&mut out, role, PING, b"");
        frame_into(&mut out, role, CLOSE, b"");
        let (items, failed, _) = tungstenite_reads(out, peer(role));
        assert!(!failed);
        let mut expected: Vec<Item> = texts.iter().map(|t| Item::Text(t.clone())).collect();
        expected.push(Item::Ping(Vec::new()));
        expected.push(Item::Close(None));
        assert_eq!(items, expected);
    }
}

/// Two writes of a client never share a masking key.
#[test]
fn masking_keys_differ() {
    let mut keys = std::collections::HashSet::new();
    for _ in 0..100 {
        let mut out = Vec::new();
        frame_into(&mut out, Role::Client, TEXT, b"x");
        keys.insert(out[2..6].to_vec());
    }
    assert!(keys.len() > 95);
}

/// One broken frame, after a valid text message, as `writer` writes it.
fn broken(writer: TRole, frame: &[u8]) -> Vec<u8> {
    let mut rng = Rng(3);
    let mut out = Vec::new();
    encode(
        TFrame::message(Bytes::from_static(b"{}"), OpCode::Data(Data::Text), true),
        writer,
        &mut rng,
        &mut out,
    );
    out.extend_from_slice(frame);
    out
}

/// A refusal case: what, read as which role, the bytes, the error expected.
type Refused = (&'static str, Role, Vec<u8>, fn(&WsError) -> bool);

#[test]
fn what_tungstenite_refuses_is_refused_alike() {
    let unmasked = crate::ws::unmasked_frame;
    let masked = |b0: u8, payload: &[u8]| {
        let mut f = vec![b0, 0x80 | payload.len() as u8, 0, 0, 0, 0];
        f.extend_from_slice(payload);
        f
    };
    let cases: Vec<Refused> = vec![
        ("reserved bit", Role::Client, unmasked(0xC1, b"x"), |e| {
            matches!(e, WsError::Protocol(_))
        }),
        (
            "unknown data opcode",
            Role::Client,
            unmasked(0x83, b"x"),
            |e| matches!(e, WsError::Protocol(_)),
        ),
        (
            "unknown control opcode",
            Role::Client,
            unmasked(0x8B, b""),
            |e| matches!(e, WsError::Protocol(_)),
        ),
        (
            "continuation alone",
            Role::Client,
            unmasked(0x80, b"x"),
            |e| matches!(e, WsError::Protocol(_)),
        ),
        (
            "a message inside a message",
            Role::Client,
            [unmasked(0x01, b"a"), unmasked(0x81, b"b")].concat(),
            |e| matches!(e, WsError::Protocol(_)),
        ),
        ("fragmented ping", Role::Client, unmasked(0x09, b""), |e| {
            matches!(e, WsError::Protocol(_))
        }),
        (
            "ping over 125 bytes",
            Role::Client,
            [&[0x89, 126, 0, 126][..], &[0u8; 126]].concat(),
            |e| matches!(e, WsError::Protocol(_)),
        ),
        (
            "masked frame from a server",
            Role::Client,
            masked(0x81, b"x"),
            |e| matches!(e, WsError::Protocol(_)),
        ),
        (
            "unmasked frame from a client",
            Role::Server,
            unmasked(0x81, b"x"),
            |e| matches!(e, WsError::Protocol(_)),
        ),
        (
            "text not UTF-8",
            Role::Client,
            unmasked(0x81, &[0xff, 0xfe]),
            |e| matches!(e, WsError::Utf8),
        ),
        (
            "text not UTF-8 across fragments",
            Role::Client,
            [unmasked(0x01, "é".as_bytes()), unmasked(0x80, &[0xc3])].concat(),
            |e| matches!(e, WsError::Utf8),
        ),
        (
            "close of one byte",
            Role::Client,
            unmasked(0x88, &[3]),
            |e| matches!(e, WsError::Protocol(_)),
        ),
        (
            "close reason not UTF-8",
            Role::Client,
            unmasked(0x88, &[3, 232, 0xff]),
            |e| matches!(e, WsError::Utf8),
        ),
        (
            "frame over the frame limit (header only)",
            Role::Client,
            vec![0x81, 127, 0, 0, 0, 0, 6, 0x40, 0, 0],
            |e| matches!(e, WsError::TooLong(_, MAX_FRAME)),
        ),
        (
            "length with the top bit set",
            Role::Client,
            vec![0x81, 127, 0x80, 0, 0, 0, 0, 0, 0, 1],
            |e| matches!(e, WsError::TooLong(..)),
        ),
    ];
    for (what, role, frame, expected) in cases {
        let bytes = broken(peer(role), &frame);
        let (theirs, failed, _) = tungstenite_reads(bytes.clone(), other(role));
        assert!(failed, "{what}: tungstenite accepts it");
        for size in [1, 3, usize::MAX] {
            let (ours, error, _) = our_reads(&bytes, role, || size);
            assert_eq!(ours, without_ping_payloads(theirs.clone()), "{what}");
            let error = error.unwrap_or_else(|| panic!("{what}: accepted"));
            assert!(expected(&error), "{what}: {error:?}");
        }
    }
}

/// A message over the message limit is refused from its frames' headers, before the
/// frame that makes it too long is read.
#[test]
fn a_message_over_the_limit_is_refused_from_the_header() {
    let mut frames = Frames::new(Role::Client, 100, 80);
    let mut out = Vec::new();
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&[0x01, 60]);
    buf.extend_from_slice(&[b'a'; 60]);
    // the next frame's header only
    buf.extend_from_slice(&[0x80, 60]);
    match frames.parse(&mut buf, &mut out) {
        Err(WsError::TooLong(120, 100)) => {}
        other => panic!("{other:?}"),
    }
}

/// Nothing may follow the peer's close frame.
#[test]
fn a_frame_after_the_close_is_refused() {
    let mut frames = Frames::new(Role::Client, 100, 100);
    let mut out = Vec::new();
    let mut buf = BytesMut::from(&[0x88, 0, 0x81, 1, b'x'][..]);
    assert_eq!(
        frames.parse(&mut buf, &mut out).unwrap(),
        Some(Read::Close(None))
    );
    assert!(matches!(
        frames.parse(&mut buf, &mut out),
        Err(WsError::Protocol(_))
    ));
}

/// Over a real socket, with tokio-tungstenite as the server: text both ways, the server's
/// ping answered, its close answered and reported.
#[tokio::test]
async fn a_conversation_with_tokio_tungstenite() {
    use futures_util::{SinkExt as _, StreamExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws =
            tokio_tungstenite::WebSocketStream::from_raw_socket(tcp, TRole::Server, None).await;
        ws.send(Message::text("hello")).await.unwrap();
        ws.send(Message::Ping(Bytes::from_static(b"p")))
            .await
            .unwrap();
        let mut got = Vec::new();
        while let Some(Ok(m)) = ws.next().await {
            match m {
                Message::Text(t) => {
                    got.push(t.to_string());
                    ws.send(Message::Close(Some(CloseFrame {
                        code: CloseCode::Normal,
                        reason: "done".into(),
                    })))
                    .await
                    .unwrap();
                }
                Message::Pong(p) => got.push(format!("pong {}", String::from_utf8_lossy(&p))),
                Message::Close(c) => {
                    got.push(format!("close {:?}", c.map(|c| u16::from(c.code))));
                    break;
                }
                _ => {}
            }
        }
        got
    });
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut conn = Conn::new(Upgraded::plain(tcp), Role::Client, MAX_MESSAGE, MAX_FRAME);
    assert_eq!(conn.read().await.unwrap(), Read::Text(Frame::from("hello")));
    assert_eq!(conn.read().await.unwrap(), Read::Control);
    conn.queue_text("{\"x\":1}").unwrap();
    // the pong and the text written, then read on
    assert_eq!(conn.read().await.unwrap(), Read::Sent);
    assert_eq!(
        conn.read().await.unwrap(),
        Read::Close(Some((1000, "done".to_owned())))
    );
    assert_eq!(
        server.await.unwrap(),
        ["pong p", "{\"x\":1}", "close Some(1000)"]
    );
}

/// A raw server's end and the client's [`Conn`] over TCP.
async fn raw_pair() -> (Conn, tokio::net::TcpStream) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (client, server) = tokio::join!(tokio::net::TcpStream::connect(addr), listener.accept());
    let conn = Conn::new(
        Upgraded::plain(client.unwrap()),
        Role::Client,
        MAX_MESSAGE,
        MAX_FRAME,
    );
    (conn, server.unwrap().0)
}

/// A client's pong as the server reads it: its payload, unmasked.
async fn read_pong(server: &mut (impl tokio::io::AsyncRead + Unpin)) -> Vec<u8> {
    use tokio::io::AsyncReadExt as _;
    let mut head = [0u8; 6];
    server.read_exact(&mut head).await.unwrap();
    assert_eq!(head[0], 0x8A, "a final pong");
    assert_eq!(head[1] & 0x80, 0x80, "masked");
    let mut payload = vec![0u8; usize::from(head[1] & 0x7f)];
    server.read_exact(&mut payload).await.unwrap();
    unmask(&mut payload, [head[2], head[3], head[4], head[5]]);
    payload
}

/// An application that only reads (the events websocket's usual life) answers a ping
/// before it reads on: the pong reaches the server, which sends the next frame only
/// then.
#[tokio::test]
async fn a_ping_is_answered_while_the_application_only_reads() {
    use tokio::io::AsyncWriteExt as _;
    let (mut conn, mut server) = raw_pair().await;
    let client = tokio::spawn(async move {
        let mut reads = Vec::new();
        loop {
            let read = conn.read().await.unwrap();
            let last = matches!(read, Read::Text(_));
            reads.push(read);
            if last {
                return reads;
            }
        }
    });
    server.write_all(&[0x89, 2, b'h', b'i']).await.unwrap();
    let pong = tokio::time::timeout(std::time::Duration::from_secs(5), read_pong(&mut server))
        .await
        .expect("the pong within 5 s");
    assert_eq!(pong, b"hi");
    server.write_all(&[0x81, 5]).await.unwrap();
    server.write_all(b"after").await.unwrap();
    assert_eq!(
        client.await.unwrap(),
        [Read::Control, Read::Sent, Read::Text(Frame::from("after"))]
    );
}

/// A flood of pings: every one is answered, and what waits to be written stays one
/// pong long (the next read writes it before it parses on).
#[tokio::test]
async fn a_flood_of_pings_is_answered_one_pong_at_a_time() {
    use tokio::io::AsyncWriteExt as _;
    const PINGS: usize = 20_000;
    let (mut conn, server) = raw_pair().await;
    let (mut from_client, mut to_client) = server.into_split();
    let pongs = tokio::spawn(async move {
        for _ in 0..PINGS {
            assert_eq!(read_pong(&mut from_client).await, b"");
        }
        from_client
    });
    let mut flood = [0x89, 0].repeat(PINGS);
    flood.extend_from_slice(&[0x81, 3, b'e', b'n', b'd']);
    let flood = tokio::spawn(async move {
        to_client.write_all(&flood).await.unwrap();
        to_client
    });
    let (mut controls, mut longest) = (0, 0);
    loop {
        longest = longest.max(conn.out.len() - conn.written);
        match conn.read().await.unwrap() {
            Read::Control => controls += 1,
            Read::Sent => {}
            Read::Text(text) => {
                assert_eq!(text.as_str(), "end");
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(controls, PINGS);
    assert!(longest <= 6, "{longest} bytes waited to be written");
    tokio::time::timeout(std::time::Duration::from_secs(10), pongs)
        .await
        .expect("every pong within 10 s")
        .unwrap();
    flood.await.unwrap();
}

/// The text check (simdutf8, SIMD chosen at run time) accepts and refuses what
/// `std::str::from_utf8` does: valid texts of 0–200 bytes with multi-byte characters at
/// every offset of the 32- and 64-byte blocks, each also with one byte replaced by a value
/// that breaks or keeps it.
#[test]
fn the_text_check_agrees_with_std() {
    let mut rng = Rng(0x5eed_7f8a);
    let mut checked = 0;
    for len in 0..120 {
        for _ in 0..8 {
            let valid = text(&mut rng, len).into_bytes();
            let mut cases = vec![valid.clone()];
            for _ in 0..4 {
                if valid.is_empty() {
                    break;
                }
                let mut bad = valid.clone();
                let at = rng.below(bad.len());
                bad[at] = [0x80, 0xbf, 0xc0, 0xe2, 0xf0, 0xff, b'a'][rng.below(7)];
                cases.push(bad);
            }
            for bytes in cases {
                let std = std::str::from_utf8(&bytes).is_ok();
                let ours = message(true, &bytes);
                assert_eq!(ours.is_ok(), std, "{bytes:?}");
                if let Ok(Read::Text(frame)) = ours {
                    assert_eq!(frame.as_str().as_bytes(), &bytes[..]);
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 4_000);
}
