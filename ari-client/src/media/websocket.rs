//! The chan_websocket transport: the application connects to Asterisk's HTTP server at
//! `/media/<connection id>` (no credentials: the id, a random UUID, is the key), with the
//! websocket subprotocol `media`. Binary messages are audio in the channel's format, text
//! messages control (`channels/chan_websocket.c`).

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::error::Error as WsError;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

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

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

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
        WsError::Http(response) => Error::new(ErrorKind::WebSocket)
            .with_operation(OP)
            .with_message(format!(
                "Asterisk refused the media websocket: HTTP {} (404: no such connection id, 409: connected already)",
                response.status().as_u16()
            )),
        e => Error::new(ErrorKind::WebSocket)
            .with_operation(OP)
            .with_source(e),
    }
}

/// Connects to connection `id` and reads `MEDIA_START`.
pub(super) async fn connect(client: &Client, id: &str) -> Result<(MediaStart, Reader, Writer)> {
    let config = client.config();
    let url = media_url(client.base_url(), id)?;
    let timeout = config.connect_timeout;
    let connecting = async {
        let mut request = url
            .as_str()
            .into_client_request()
            .map_err(|e| Error::new(ErrorKind::InvalidUrl).with_source(e))?;
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", http_value("media"));
        let uri = request.uri();
        let tls = uri.scheme_str() == Some("wss");
        let host = uri
            .host()
            .unwrap_or_default()
            .trim_matches(['[', ']'])
            .to_owned();
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let tcp = TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| {
                Error::new(ErrorKind::Connect)
                    .with_operation(OP)
                    .with_source(e)
            })?;
        // frames are small and latency counts (Asterisk sets TCP_NODELAY on its side too)
        let _ = tcp.set_nodelay(true);
        let stream = if tls {
            let name = rustls::pki_types::ServerName::try_from(host)
                .map_err(|e| Error::new(ErrorKind::InvalidUrl).with_source(e))?;
            let tls = tokio_rustls::TlsConnector::from(config.tls.clone())
                .connect(name, tcp)
                .await
                .map_err(|e| Error::new(ErrorKind::Tls).with_operation(OP).with_source(e))?;
            MaybeTlsStream::Rustls(tls)
        } else {
            MaybeTlsStream::Plain(tcp)
        };
        let ws_config = WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE))
            .max_frame_size(Some(MAX_MESSAGE));
        let (mut socket, _) =
            tokio_tungstenite::client_async_with_config(request, stream, Some(ws_config))
                .await
                .map_err(ws_error)?;
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

fn http_value(v: &'static str) -> tokio_tungstenite::tungstenite::http::HeaderValue {
    tokio_tungstenite::tungstenite::http::HeaderValue::from_static(v)
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
                // Asterisk closes the websocket when the channel hangs up
                Message::Close(_) => self.done = true,
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

    #[test]
    fn a_hostile_connection_id_is_refused() {
        for id in ["", ".", "..", "../ari/events", "a/b", "a?b", "a b", "a\0"] {
            let e = media_url("http://127.0.0.1:8088/ari", id).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Protocol, "{id:?}");
        }
    }
}
