//! The chan_websocket transport: the application connects to Asterisk's HTTP server at
//! `/media/<connection id>` (no credentials: the id, a random UUID, is the key), with the
//! websocket subprotocol `media`. Binary messages are audio in the channel's format, text
//! messages control (`channels/chan_websocket.c`).

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::error::Error as WsError;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

use super::codec::{AudioFormat, ByteOrder};
use super::control::{self, Command, Control, ControlFormat, MediaStart};
use super::{AudioFrame, MediaEvent};
use crate::error::{Error, ErrorKind, Result};
use crate::Client;

/// The variable chan_websocket sets to the connection id.
pub(super) const CONNECTION_ID_VAR: &str = "MEDIA_WEBSOCKET_CONNECTION_ID";

/// The largest message accepted: a frame is a few KiB at most (20 ms of 48 kHz linear
/// is 1920 bytes).
const MAX_MESSAGE: usize = 1 << 20;

const OP: &str = "media.websocket";

use crate::ws::Socket;

/// chan_websocket's answer other than 101 (`ast_websocket_uri_cb` refusing the id).
fn refused(op: &'static str, status: u16, _: Option<String>) -> Error {
    Error::new(ErrorKind::WebSocket)
        .with_operation(op)
        .with_message(format!(
            "Asterisk refused the media websocket: HTTP {status} (404: no such connection id, 409: connected already)"
        ))
}

/// The websocket URL of connection `id` for the ARI base URL `base` (`…/ari`): the HTTP
/// server's `/media/` (beside `/ari`, under the same `prefix`).
pub(super) fn media_url(base: &str, id: &str) -> Result<String> {
    // the id comes from the server: it must stay one path segment
    if id.is_empty()
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        || id == "."
        || id == ".."
    {
        return Err(Error::new(ErrorKind::Protocol).with_message(format!(
            "{CONNECTION_ID_VAR} {:?} is not a connection id",
            id.escape_debug().to_string()
        )));
    }
    if base.is_empty() {
        // a client of an outbound websocket (outbound::Listener) knows no URL of Asterisk
        return Err(Error::new(ErrorKind::Unsupported).with_operation(OP).with_message(
            "this client has no URL of Asterisk's HTTP server, where the media websocket is (a client Asterisk connects to): use RTP (MediaStream::rtp), or a client made with Client::builder",
        ));
    }
    let root = base.strip_suffix("/ari").unwrap_or(base);
    let (scheme, rest) = match root.split_once("://") {
        Some(("https", rest)) => ("wss", rest),
        Some((_, rest)) => ("ws", rest),
        None => ("ws", root),
    };
    Ok(format!("{scheme}://{rest}/media/{id}"))
}

fn ws_error(e: WsError) -> Error {
    match e {
        WsError::ConnectionClosed | WsError::AlreadyClosed => Error::new(ErrorKind::Ended)
            .with_operation(OP)
            .with_message("the media websocket is closed: the channel ended"),
        WsError::Io(e) => Error::new(ErrorKind::Connect)
            .with_operation(OP)
            .with_source(e),
        e => Error::new(ErrorKind::WebSocket)
            .with_operation(OP)
            .with_source(e),
    }
}

/// Connects to connection `id` and reads `MEDIA_START`.
pub(super) async fn connect(client: &Client, id: &str) -> Result<(MediaStart, Reader, Writer)> {
    let config = client.config();
    let url = media_url(client.base_url(), id)?;
    connect_url(&url, &config.tls, config.connect_timeout).await
}

/// Connects to `url` and reads `MEDIA_START`, all within `timeout`.
async fn connect_url(
    url: &str,
    tls_config: &std::sync::Arc<rustls::ClientConfig>,
    timeout: std::time::Duration,
) -> Result<(MediaStart, Reader, Writer)> {
    let connecting = async {
        let limits = WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE))
            .max_frame_size(Some(MAX_MESSAGE));
        let mut socket = crate::ws::dial(
            OP,
            url,
            ("Sec-WebSocket-Protocol", b"media"),
            refused,
            tls_config,
            limits,
            timeout,
        )
        .await?;
        let start = loop {
            match socket.next().await {
                Some(Ok(Message::Text(text))) => break control::parse_start(text.as_str())?,
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                Some(Ok(other)) => {
                    return Err(Error::new(ErrorKind::Protocol)
                        .with_operation(OP)
                        .with_message(format!(
                            "the first message is not MEDIA_START but {other:?}"
                        )))
                }
                Some(Err(e)) => return Err(ws_error(e)),
                None => return Err(ws_error(WsError::ConnectionClosed)),
            }
        };
        Ok::<_, Error>((start, socket))
    };
    let (start, socket) = tokio::time::timeout(timeout, connecting)
        .await
        .map_err(|_| {
            Error::new(ErrorKind::Timeout)
                .with_operation(OP)
                .with_message(format!("no MEDIA_START within {timeout:?}"))
        })??;
    let (sink, stream) = socket.split();
    let (xon_tx, xon_rx) = watch::channel(Flow::On);
    let format = start.control_format;
    Ok((
        start,
        Reader {
            stream,
            xon: xon_tx,
            done: false,
        },
        Writer {
            sink,
            xon: xon_rx,
            format,
        },
    ))
}

/// What the reading half learnt for the writing half.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    /// chan_websocket takes media (at the start, after `MEDIA_XON`).
    On,
    /// `MEDIA_XOFF`.
    Off,
    /// The websocket closed: the channel ended.
    Closed,
}

/// The websocket's reading half.
#[derive(Debug)]
pub(super) struct Reader {
    stream: SplitStream<Socket>,
    xon: watch::Sender<Flow>,
    done: bool,
}

impl Reader {
    pub(super) async fn next(&mut self, format: AudioFormat) -> Result<Option<MediaEvent>> {
        while !self.done {
            let message = match self.stream.next().await {
                None | Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed)) => {
                    self.done = true;
                    break;
                }
                Some(Err(e)) => {
                    self.done = true;
                    return Err(ws_error(e));
                }
                Some(Ok(message)) => message,
            };
            match message {
                Message::Binary(data) => {
                    return Ok(Some(MediaEvent::Audio(AudioFrame {
                        format,
                        order: ByteOrder::Little,
                        payload: data.to_vec(),
                        rtp: None,
                    })))
                }
                Message::Text(text) => {
                    let control = control::parse(text.as_str())?;
                    match control {
                        Control::Xoff => self.xon.send_replace(Flow::Off),
                        Control::Xon => self.xon.send_replace(Flow::On),
                        _ => Flow::On,
                    };
                    return Ok(Some(MediaEvent::Control(control)));
                }
                // Asterisk closes the websocket when the channel hangs up; the next read
                // sends the closing handshake's answer and ends the stream
                Message::Close(_) => {}
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
            }
        }
        // the writing half fails from now on (and does not wait for a MEDIA_XON)
        self.xon.send_replace(Flow::Closed);
        Ok(None)
    }
}

/// The websocket's writing half.
#[derive(Debug)]
pub(super) struct Writer {
    sink: SplitSink<Socket, Message>,
    xon: watch::Receiver<Flow>,
    format: ControlFormat,
}

impl Writer {
    /// Returns once chan_websocket takes media (at once unless it said `MEDIA_XOFF`).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Ended`] once the reading half saw the websocket close.
    pub(super) async fn wait_for_xon(&mut self) -> Result<()> {
        // Err: the reading half is gone, nobody can say MEDIA_XON any more
        let flow = match self.xon.wait_for(|f| *f != Flow::Off).await {
            Ok(flow) => *flow,
            Err(_) => Flow::On,
        };
        match flow {
            Flow::Closed => Err(ws_error(WsError::AlreadyClosed)),
            _ => Ok(()),
        }
    }

    /// One frame, as one binary message: chan_websocket cuts messages into frames of
    /// `optimal_frame_size` and drops a remainder unless media is buffered.
    pub(super) async fn audio(&mut self, format: AudioFormat, samples: &[i16]) -> Result<()> {
        let mut payload = Vec::with_capacity(samples.len() * format.bytes_per_sample());
        format.encode(samples, ByteOrder::Little, &mut payload);
        self.sink
            .send(Message::Binary(payload.into()))
            .await
            .map_err(ws_error)
    }

    pub(super) async fn command(&mut self, command: &Command) -> Result<()> {
        let text = command.encode(self.format)?;
        if *self.xon.borrow() == Flow::Closed {
            return Err(ws_error(WsError::AlreadyClosed));
        }
        self.sink
            .send(Message::Text(text.into()))
            .await
            .map_err(ws_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpStream;
    use tokio_tungstenite::WebSocketStream;

    #[test]
    fn media_url_needs_a_url_of_asterisk() {
        let e = media_url("", "abc").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
    }

    #[test]
    fn media_url_is_beside_ari() {
        assert_eq!(
            media_url("http://127.0.0.1:8088/ari", "8779df6f-cdc2").unwrap(),
            "ws://127.0.0.1:8088/media/8779df6f-cdc2"
        );
        assert_eq!(
            media_url("https://pbx.example/asterisk/ari", "x").unwrap(),
            "wss://pbx.example/asterisk/media/x"
        );
    }

    use std::time::Duration;
    use tokio::net::TcpListener;

    /// A chan_websocket of our own: accepts one connection, says `MEDIA_START`, then
    /// runs `script` on the server side.
    async fn fake_asterisk<F, Fut>(script: F) -> (String, tokio::task::JoinHandle<()>)
    where
        F: FnOnce(WebSocketStream<TcpStream>) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/media/abc", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut ws = accept(tcp).await;
            ws.send(Message::Text(
                "MEDIA_START connection_id:abc channel:WebSocket/INCOMING/0x1 channel_id:1.1 format:ulaw optimal_frame_size:160 ptime:20".into(),
            ))
            .await
            .unwrap();
            script(ws).await;
        });
        (url, server)
    }

    /// The server side of the upgrade, answering the `media` subprotocol as Asterisk does.
    // the callback's `Result<Response, ErrorResponse>` is tungstenite's signature
    #[allow(clippy::result_large_err)]
    async fn accept(tcp: TcpStream) -> WebSocketStream<TcpStream> {
        use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
        let media = |_: &Request, mut response: Response| {
            response
                .headers_mut()
                .insert("Sec-WebSocket-Protocol", "media".parse().unwrap());
            Ok(response)
        };
        tokio_tungstenite::accept_hdr_async(tcp, media)
            .await
            .unwrap()
    }

    fn tls() -> std::sync::Arc<rustls::ClientConfig> {
        crate::config::ClientBuilder::new("http://127.0.0.1:1", "u", "p")
            .into_config()
            .unwrap()
            .tls
    }

    #[tokio::test]
    async fn xoff_holds_the_sender_until_xon_and_a_close_ends_both_halves() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let (url, server) = fake_asterisk(move |mut ws| async move {
            ws.send(Message::Text("MEDIA_XOFF".into())).await.unwrap();
            // nothing may come while XOFF is in effect
            let early = tokio::time::timeout(Duration::from_millis(200), ws.next()).await;
            assert!(early.is_err(), "sent during XOFF: {early:?}");
            ws.send(Message::Text("MEDIA_XON".into())).await.unwrap();
            let Some(Ok(Message::Binary(frame))) = ws.next().await else {
                panic!("no frame after XON")
            };
            tx.send(frame.len()).unwrap();
            ws.close(None).await.unwrap();
            while ws.next().await.is_some() {}
        })
        .await;
        let (start, mut reader, mut writer) = connect_url(&url, &tls(), Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(
            (start.format.as_str(), start.optimal_frame_size),
            ("ulaw", 160)
        );
        let reading = tokio::spawn(async move {
            let mut seen = Vec::new();
            while let Some(event) = reader.next(AudioFormat::Ulaw).await.unwrap() {
                if let MediaEvent::Control(c) = event {
                    seen.push(c);
                }
            }
            seen
        });
        // the XOFF must be read before the first frame goes
        tokio::time::timeout(
            Duration::from_secs(5),
            writer.xon.wait_for(|f| *f == Flow::Off),
        )
        .await
        .unwrap()
        .unwrap();
        writer.wait_for_xon().await.unwrap();
        writer.audio(AudioFormat::Ulaw, &[0; 160]).await.unwrap();
        assert_eq!(rx.recv().await, Some(160), "one frame, one message");
        assert_eq!(reading.await.unwrap(), [Control::Xoff, Control::Xon]);
        // the reading half saw the close: the writing half fails at once, typed
        let e = writer.wait_for_xon().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Ended);
        let e = writer.command(&Command::Hangup).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Ended);
        server.await.unwrap();
    }

    #[tokio::test]
    async fn a_server_that_is_not_chan_websocket_is_refused() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/media/abc", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut ws = accept(tcp).await;
            ws.send(Message::Binary(vec![0xff; 160].into()))
                .await
                .unwrap();
            let _ = ws.next().await;
        });
        let e = connect_url(&url, &tls(), Duration::from_secs(5))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
        // nothing listening
        let e = connect_url("ws://127.0.0.1:1/media/x", &tls(), Duration::from_secs(5))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Connect, "{e}");
    }

    #[test]
    fn a_hostile_connection_id_is_refused() {
        for id in ["", ".", "..", "../ari/events", "a/b", "a?b", "a b", "a\0"] {
            let e = media_url("http://127.0.0.1:8088/ari", id).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Protocol, "{id:?}");
        }
    }
}
