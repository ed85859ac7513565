//! Call media: the audio of an external-media channel (`channels.externalMedia`), received
//! as frames and sent back paced at the codec's frame time, over a websocket
//! (chan_websocket) or RTP (chan_rtp).
//!
//! ```no_run
//! use ari_client::media::{AudioFormat, MediaEvent, MediaStream};
//! # async fn bot(client: ari_client::Client, caller: ari_client::objects::Channel) -> ari_client::Result<()> {
//! // an externalMedia channel whose audio comes over a websocket, in the app "bot"
//! let mut media = MediaStream::websocket(&client, "bot", AudioFormat::Slin16).await?;
//! let bridge = client.bridges().create().await?;
//! bridge.add_channel([caller.id.clone(), media.channel().id.clone()]).await?;
//! // until the channel ends: echo every frame back, one frame a 20 ms
//! while let Some(event) = media.next().await? {
//!     if let MediaEvent::Audio(frame) = event {
//!         media.send(&frame.samples()).await?;
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! [`MediaStream::rtp`] does the same over RTP: Asterisk sends RTP to a UDP socket of the
//! application and takes RTP from it. Both give [`AudioFrame`]s of a known
//! [`AudioFormat`] (µ-law, A-law or 16-bit linear PCM at 8 to 48 kHz) and frame time, and
//! take 16-bit samples, which [`MediaSender::send`] codes and sends one frame a frame
//! time, never in a burst. The websocket also carries chan_websocket's control messages
//! ([`Control`]: flow control, DTMF, …) and takes its [`Command`]s. A stream ends (`None`)
//! when its channel does. [`MediaStream::split`] gives a receiving and a sending half, for
//! two tasks.
//!
//! # Asterisk versions
//!
//! externalMedia exists since Asterisk 16.6 and 17.1, with RTP over UDP. The websocket
//! transport (`transport=websocket`, `encapsulation=none`, chan_websocket) came with
//! Asterisk 20.16, 21.11 and 22.6 (and 23.0); its JSON control messages,
//! `channel_id` in `MEDIA_START`, `DTMF_END`, `STATUS`, `MEDIA_MARK_PROCESSED` and
//! `ERROR` in 20.18 and 22.8 (no 21.x release has them, up to 21.12.3). The specs give no
//! `since` for these parameters: the versions are those of Asterisk's own git tags. On a
//! server without chan_websocket loaded the externalMedia request fails with an HTTP
//! error. The wire facts this module relies on, each with its Asterisk source, are in
//! `docs/media.md` of the repository.

mod codec;
mod control;
mod pacing;
mod rtp;
mod websocket;

use std::net::SocketAddr;
use std::time::Duration;

use crate::error::{Error, ErrorKind, Result};
use crate::objects::Channel;
use crate::Client;

pub use codec::AudioFormat;
pub use control::{Command, Control, ControlFormat, DriverStatus, MediaStart};
pub use rtp::RtpHeader;

use codec::ByteOrder;
use pacing::Pacer;

/// `result`, after hanging up the external-media channel when it is an error: nobody will
/// use the channel then.
async fn or_hang_up<T>(channel: &Channel, result: Result<T>) -> Result<T> {
    if result.is_err() {
        let _ = channel.hangup().await;
    }
    result
}

/// One frame of the call's audio, as received.
#[derive(Debug, Clone)]
pub struct AudioFrame {
    format: AudioFormat,
    order: ByteOrder,
    payload: Vec<u8>,
    rtp: Option<RtpHeader>,
}

impl AudioFrame {
    /// The frame's format.
    pub fn format(&self) -> AudioFormat {
        self.format
    }

    /// The coded audio as it came: µ-law or A-law bytes, or 16-bit linear samples,
    /// little-endian over the websocket and big-endian (network order) over RTP.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The samples, decoded to 16-bit linear PCM at the format's rate.
    pub fn samples(&self) -> Vec<i16> {
        let mut out = Vec::with_capacity(self.sample_count());
        self.format.decode(&self.payload, self.order, &mut out);
        out
    }

    /// How many samples the frame has.
    pub fn sample_count(&self) -> usize {
        self.payload.len() / self.format.bytes_per_sample()
    }

    /// How long the frame lasts.
    pub fn duration(&self) -> Duration {
        self.format.duration_of(self.sample_count())
    }

    /// The RTP header the frame came with (RTP only).
    pub fn rtp(&self) -> Option<&RtpHeader> {
        self.rtp.as_ref()
    }
}

/// What a media stream receives.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum MediaEvent {
    /// A frame of the call's audio.
    Audio(AudioFrame),
    /// A control message of chan_websocket (websocket only).
    Control(Control),
}

/// The media of one external-media channel: its receiving and sending halves, and what
/// was negotiated. Made by [`MediaStream::websocket`], [`MediaStream::connect_websocket`]
/// or [`MediaStream::rtp`].
#[derive(Debug)]
pub struct MediaStream {
    channel: Channel,
    start: Option<MediaStart>,
    receiver: MediaReceiver,
    sender: MediaSender,
}

impl MediaStream {
    /// Creates an externalMedia channel in application `app` whose audio, in `format`,
    /// goes over a websocket that this client opens to Asterisk (`transport=websocket`,
    /// `encapsulation=none`, `connection_type=server`), connects it, and waits until the
    /// channel entered the application (`StasisStart`), so that it can be bridged at once.
    /// The client must be started with `app`.
    ///
    /// # Errors
    ///
    /// The errors of `channels.externalMedia` (HTTP 500 without chan_websocket); those of
    /// [`connect_websocket`](Self::connect_websocket); [`ErrorKind::Timeout`] when the
    /// channel does not enter the application within the client's connect timeout.
    pub async fn websocket(client: &Client, app: &str, format: AudioFormat) -> Result<Self> {
        use crate::models::{
            ExternalMediaConnectionType, ExternalMediaEncapsulation, ExternalMediaTransport,
        };
        let pending = client.pending_channel();
        let started = pending
            .next::<crate::events::StasisStart>()
            .timeout(client.config().connect_timeout);
        let channel = client
            .channels()
            .external_media(app, format.name())
            .channel_id(pending.id())
            .transport(ExternalMediaTransport::Websocket)
            .encapsulation(ExternalMediaEncapsulation::None)
            .connection_type(ExternalMediaConnectionType::Server)
            .await?;
        let connected = match Self::connect_websocket(client, &channel).await {
            Ok(stream) => started.await.map(|_| stream),
            Err(e) => Err(e),
        };
        or_hang_up(&channel, connected).await
    }

    /// Connects to the websocket of a chan_websocket channel made by externalMedia with
    /// `connection_type=server` (its `MEDIA_WEBSOCKET_CONNECTION_ID` variable names it)
    /// and waits for `MEDIA_START`, which gives the format and frame time. Asterisk
    /// answers the channel then (unless it was made with the `n` option), and it enters
    /// its application.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] for a channel without a connection id (not a
    /// chan_websocket channel, or one that connects to a `websocket_client` itself);
    /// [`ErrorKind::Connect`], [`ErrorKind::Tls`], [`ErrorKind::WebSocket`] (Asterisk
    /// answers 404 for an unknown id, 409 for one connected already) and
    /// [`ErrorKind::Timeout`] for the connection; [`ErrorKind::Protocol`] when the first
    /// message is not `MEDIA_START`; [`ErrorKind::Unsupported`] for a format this module
    /// does not code.
    pub async fn connect_websocket(client: &Client, channel: &Channel) -> Result<Self> {
        let id = channel_var(channel, websocket::CONNECTION_ID_VAR)
            .await?
            .ok_or_else(|| {
                Error::new(ErrorKind::InvalidArgument).with_message(format!(
                    "channel {} has no {}: not a chan_websocket channel of connection_type=server",
                    channel.id,
                    websocket::CONNECTION_ID_VAR
                ))
            })?;
        let (start, reader, writer) = websocket::connect(client, &id).await?;
        let format = AudioFormat::from_name(&start.format)?;
        let ptime = Duration::from_millis(u64::from(start.ptime.max(1)));
        let frame_samples = match start.optimal_frame_size / format.bytes_per_sample() {
            0 => format.samples_in(ptime),
            n => n,
        };
        Ok(Self {
            channel: channel.clone(),
            start: Some(start),
            receiver: MediaReceiver {
                format,
                inner: Rx::WebSocket(reader),
            },
            sender: MediaSender::new(format, ptime, frame_samples, Tx::WebSocket(writer)),
        })
    }

    /// Binds a UDP socket at `bind` (an address Asterisk can reach, such as
    /// `127.0.0.1:0`), creates an externalMedia channel in application `app` that sends
    /// the call's audio in `format` as RTP to it (`encapsulation=rtp`, `transport=udp`),
    /// and waits until the channel entered the application (`StasisStart`). The stream
    /// takes RTP only from Asterisk's address for the channel (its
    /// `UNICASTRTP_LOCAL_ADDRESS` and `UNICASTRTP_LOCAL_PORT` variables) and sends to it;
    /// it ends when the channel does, which it learns from the client's events (so the
    /// client must be started with `app`).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] for an unspecified `bind` address (`0.0.0.0`: it
    /// cannot be given to Asterisk as where to send) and for a format other than `ulaw`
    /// and `alaw` (see [`AudioFormat::rtp_payload_type`]); [`ErrorKind::Connect`] when the socket
    /// cannot be bound; the errors of `channels.externalMedia`; [`ErrorKind::Protocol`]
    /// when the channel does not say its RTP address; [`ErrorKind::Timeout`] when the
    /// channel does not enter the application within the client's connect timeout.
    pub async fn rtp(
        client: &Client,
        app: &str,
        format: AudioFormat,
        bind: SocketAddr,
    ) -> Result<Self> {
        let payload_type = format.rtp_payload_type().ok_or_else(|| {
            Error::new(ErrorKind::InvalidArgument).with_message(format!(
                "{format} has no static RTP payload type that Asterisk takes without SDP; use ulaw or alaw"
            ))
        })?;
        let socket = rtp::bind(bind).await?;
        let local = socket.local_addr().map_err(rtp::io_error)?;
        let pending = client.pending_channel();
        let started = pending
            .next::<crate::events::StasisStart>()
            .timeout(client.config().connect_timeout);
        let channel = client
            .channels()
            .external_media(app, format.name())
            .channel_id(pending.id())
            .external_host(local.to_string())
            .await?;
        // registered now, before the channel can end
        let ended = channel.next::<crate::events::ChannelDestroyed>();
        let peer = match rtp_peer(&channel).await {
            Ok(peer) => started.await.map(|_| peer),
            Err(e) => Err(e),
        };
        let peer = or_hang_up(&channel, peer).await?;
        let ptime = format.default_ptime();
        let (reader, writer) = rtp::pair(socket, peer, format, payload_type, ended);
        Ok(Self {
            channel,
            start: None,
            receiver: MediaReceiver {
                format,
                inner: Rx::Rtp(reader),
            },
            sender: MediaSender::new(format, ptime, format.samples_in(ptime), Tx::Rtp(writer)),
        })
    }

    /// The external-media channel: bridge it with the call.
    pub fn channel(&self) -> &Channel {
        &self.channel
    }

    /// The format of the audio both ways.
    pub fn format(&self) -> AudioFormat {
        self.sender.format
    }

    /// The frame time: how often a frame is sent.
    pub fn ptime(&self) -> Duration {
        self.sender.ptime
    }

    /// chan_websocket's `MEDIA_START` (websocket only).
    pub fn media_start(&self) -> Option<&MediaStart> {
        self.start.as_ref()
    }

    /// The next frame or control message, or `None` once the channel ended. See
    /// [`MediaReceiver::next`].
    ///
    /// # Errors
    ///
    /// As [`MediaReceiver::next`].
    pub async fn next(&mut self) -> Result<Option<MediaEvent>> {
        self.receiver.next().await
    }

    /// Sends audio, paced. See [`MediaSender::send`].
    ///
    /// # Errors
    ///
    /// As [`MediaSender::send`].
    pub async fn send(&mut self, samples: &[i16]) -> Result<()> {
        self.sender.send(samples).await
    }

    /// The receiving and the sending half, for two tasks.
    pub fn split(self) -> (MediaReceiver, MediaSender) {
        (self.receiver, self.sender)
    }
}

/// The receiving half of a [`MediaStream`].
#[derive(Debug)]
pub struct MediaReceiver {
    format: AudioFormat,
    inner: Rx,
}

#[derive(Debug)]
enum Rx {
    WebSocket(websocket::Reader),
    Rtp(rtp::Reader),
}

impl MediaReceiver {
    /// The next frame of the call's audio, or control message; `None` once the channel
    /// ended (Asterisk closed the websocket; for RTP, the channel was destroyed or left
    /// the application). RTP packets that are malformed, of another payload type, or
    /// from another address than Asterisk's are dropped and counted
    /// ([`dropped`](Self::dropped)); they do not end the stream.
    ///
    /// Cancel safe: a frame is never lost when the future is dropped.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::WebSocket`] when the websocket broke (not a close),
    /// [`ErrorKind::Protocol`] for a message chan_websocket does not send (a binary
    /// message over 1 MiB, an invalid control message), [`ErrorKind::Connect`] when the
    /// UDP socket fails.
    pub async fn next(&mut self) -> Result<Option<MediaEvent>> {
        match &mut self.inner {
            Rx::WebSocket(reader) => reader.next(self.format).await,
            Rx::Rtp(reader) => Ok(reader.next().await?.map(MediaEvent::Audio)),
        }
    }

    /// How many received packets were dropped (RTP: malformed, another payload type or
    /// source; always 0 for the websocket).
    pub fn dropped(&self) -> u64 {
        match &self.inner {
            Rx::WebSocket(_) => 0,
            Rx::Rtp(reader) => reader.dropped(),
        }
    }
}

/// The sending half of a [`MediaStream`]: codes 16-bit samples in the stream's format and
/// sends them one frame a frame time.
#[derive(Debug)]
pub struct MediaSender {
    format: AudioFormat,
    ptime: Duration,
    frame_samples: usize,
    pending: Vec<i16>,
    pacer: Pacer,
    inner: Tx,
}

#[derive(Debug)]
enum Tx {
    WebSocket(websocket::Writer),
    Rtp(rtp::Writer),
}

impl MediaSender {
    fn new(format: AudioFormat, ptime: Duration, frame_samples: usize, inner: Tx) -> Self {
        Self {
            format,
            ptime,
            frame_samples: frame_samples.max(1),
            pending: Vec::new(),
            pacer: Pacer::new(ptime),
            inner,
        }
    }

    /// How many samples a frame has.
    pub fn frame_samples(&self) -> usize {
        self.frame_samples
    }

    /// Sends `samples` (16-bit linear PCM at the format's rate), one frame at each tick
    /// of the frame time: it returns once the last whole frame went, so a second of audio
    /// takes a second. Samples short of a whole frame wait for the next call (or
    /// [`flush`](Self::flush)). When the sender is late (a slow producer, a busy runtime)
    /// the missed frames are not sent in a burst: sending goes on at the next tick. Over
    /// the websocket it waits while chan_websocket has said `MEDIA_XOFF`, until
    /// `MEDIA_XON` — which the receiving half reads, so keep it read.
    ///
    /// Not cancel safe: a frame may be half sent, later samples stay pending.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Ended`] once the channel ended (the websocket closed);
    /// [`ErrorKind::WebSocket`] or [`ErrorKind::Connect`] when writing fails.
    pub async fn send(&mut self, samples: &[i16]) -> Result<()> {
        self.pending.extend_from_slice(samples);
        let mut sent = 0;
        while self.pending.len() - sent >= self.frame_samples {
            let frame = &self.pending[sent..sent + self.frame_samples];
            let result =
                Self::send_frame(&mut self.pacer, &mut self.inner, self.format, frame).await;
            sent += self.frame_samples;
            if let Err(e) = result {
                self.pending.drain(..sent);
                return Err(e);
            }
        }
        self.pending.drain(..sent);
        Ok(())
    }

    /// Sends the samples short of a whole frame, padded with silence.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    pub async fn flush(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let missing = self.frame_samples - self.pending.len() % self.frame_samples;
        self.send(&vec![0; missing]).await
    }

    /// Sends a command to chan_websocket, in the format of its control messages.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Unsupported`] on RTP, which has no commands;
    /// [`ErrorKind::InvalidArgument`] for a command Asterisk would misread (see
    /// [`Command`]); those of [`send`](Self::send).
    pub async fn command(&mut self, command: &Command) -> Result<()> {
        match &mut self.inner {
            Tx::WebSocket(writer) => writer.command(command).await,
            Tx::Rtp(_) => Err(Error::new(ErrorKind::Unsupported)
                .with_message("chan_rtp takes no commands; use the channel's REST operations")),
        }
    }

    async fn send_frame(
        pacer: &mut Pacer,
        inner: &mut Tx,
        format: AudioFormat,
        frame: &[i16],
    ) -> Result<()> {
        if let Tx::WebSocket(writer) = inner {
            writer.wait_for_xon().await?;
        }
        let slot = pacer.next().await;
        match inner {
            Tx::WebSocket(writer) => writer.audio(format, frame).await,
            Tx::Rtp(writer) => writer.audio(frame, slot).await,
        }
    }
}

/// A channel variable: from the channel's data (externalMedia returns them) or, when
/// it is not there, asked of Asterisk; `None` when the channel has no such variable.
async fn channel_var(channel: &Channel, name: &str) -> Result<Option<String>> {
    let known = channel
        .channelvars
        .as_ref()
        .and_then(|vars| vars.get(name))
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    if known.is_some() {
        return Ok(known);
    }
    match channel.get_channel_var(name).await {
        Ok(var) if !var.value.is_empty() => Ok(Some(var.value)),
        Ok(_) => Ok(None),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Where Asterisk's RTP for the channel comes from.
async fn rtp_peer(channel: &Channel) -> Result<SocketAddr> {
    let address = channel_var(channel, "UNICASTRTP_LOCAL_ADDRESS").await?;
    let port = channel_var(channel, "UNICASTRTP_LOCAL_PORT").await?;
    let parsed = match (&address, &port) {
        (Some(a), Some(p)) => a
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .ok()
            .zip(p.parse::<u16>().ok()),
        _ => None,
    };
    parsed.map(SocketAddr::from).ok_or_else(|| {
        Error::new(ErrorKind::Protocol).with_message(format!(
            "channel {}: no usable UNICASTRTP_LOCAL_ADDRESS/PORT ({address:?}, {port:?})",
            channel.id
        ))
    })
}
