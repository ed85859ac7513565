//! The chan_rtp transport: Asterisk sends the call's audio as RTP (RFC 3550) to the
//! application's UDP socket (`external_host`) from its own address (the channel's
//! `UNICASTRTP_LOCAL_ADDRESS`/`PORT`, `channels/chan_rtp.c`), and plays the RTP it gets
//! there. Packets are parsed and built with the `rtp-types` crate.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use tokio::net::UdpSocket;

use super::codec::{AudioFormat, ByteOrder};
use super::pacing::Slot;
use super::AudioFrame;
use crate::error::{Error, ErrorKind, Result};
use crate::events::ChannelDestroyed;
use crate::objects::Wait;

/// The largest datagram read; a larger one is dropped as oversize (a frame is at most a
/// few KiB).
const MAX_DATAGRAM: usize = 8 * 1024;

const OP: &str = "media.rtp";

/// The fixed header of an RTP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RtpHeader {
    /// The payload type (0 µ-law, 8 A-law).
    pub payload_type: u8,
    /// The sequence number.
    pub sequence: u16,
    /// The media clock at the first sample.
    pub timestamp: u32,
    /// The synchronization source.
    pub ssrc: u32,
    /// The marker bit (the start of a talkspurt, for audio).
    pub marker: bool,
}

/// Why a datagram is not an RTP packet the stream takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Rejected {
    /// Not RTP version 2, shorter than its header says, bad padding.
    Malformed(String),
    /// An RTP packet of another payload type (comfort noise, DTMF events, …).
    PayloadType(u8),
    /// No whole sample in the payload.
    Payload(usize),
}

/// Parses one datagram as an RTP packet of `payload_type` carrying `format`: the header and
/// the payload (without CSRCs, extension and padding).
pub(crate) fn parse(
    datagram: &[u8],
    payload_type: u8,
    format: AudioFormat,
) -> std::result::Result<(RtpHeader, &[u8]), Rejected> {
    let packet =
        rtp_types::RtpPacket::parse(datagram).map_err(|e| Rejected::Malformed(e.to_string()))?;
    if packet.payload_type() != payload_type {
        return Err(Rejected::PayloadType(packet.payload_type()));
    }
    let payload = packet.payload();
    if payload.is_empty() || payload.len() % format.bytes_per_sample() != 0 {
        return Err(Rejected::Payload(payload.len()));
    }
    let header = RtpHeader {
        payload_type,
        sequence: packet.sequence_number(),
        timestamp: packet.timestamp(),
        ssrc: packet.ssrc(),
        marker: packet.marker_bit(),
    };
    let offset = packet.payload_offset();
    Ok((header, &datagram[offset..offset + payload.len()]))
}

/// Builds an RTP packet.
///
/// # Errors
///
/// [`ErrorKind::InvalidArgument`] for a payload type over 127 or a packet over 64 KiB.
pub(crate) fn build(header: &RtpHeader, payload: &[u8]) -> Result<Vec<u8>> {
    rtp_types::RtpPacketBuilder::<&[u8], &[u8]>::new()
        .payload_type(header.payload_type)
        .sequence_number(header.sequence)
        .timestamp(header.timestamp)
        .ssrc(header.ssrc)
        .marker_bit(header.marker)
        .payload(payload)
        .write_vec()
        .map_err(|e| {
            Error::new(ErrorKind::InvalidArgument).with_message(format!("RTP packet: {e}"))
        })
}

pub(super) fn io_error(e: std::io::Error) -> Error {
    Error::new(ErrorKind::Connect)
        .with_operation(OP)
        .with_source(e)
}

/// Binds the application's socket.
pub(super) async fn bind(addr: SocketAddr) -> Result<UdpSocket> {
    if addr.ip().is_unspecified() {
        return Err(Error::new(ErrorKind::InvalidArgument).with_message(format!(
            "bind address {addr}: Asterisk needs an address to send to, not an unspecified one"
        )));
    }
    UdpSocket::bind(addr).await.map_err(io_error)
}

/// The two halves over one socket.
pub(super) fn pair(
    socket: UdpSocket,
    peer: SocketAddr,
    format: AudioFormat,
    payload_type: u8,
    ended: Wait<ChannelDestroyed>,
) -> (Reader, Writer) {
    let socket = Arc::new(socket);
    let random = crate::random::u64();
    (
        Reader {
            socket: socket.clone(),
            peer,
            format,
            payload_type,
            ended: Box::pin(async move {
                // destroyed, or ended otherwise (left the app, client gone): the end either way
                let _ = ended.await;
            }),
            done: false,
            dropped: 0,
            buf: vec![0; MAX_DATAGRAM],
        },
        Writer {
            socket,
            peer,
            format,
            header: RtpHeader {
                payload_type,
                // random starts (RFC 3550 5.1)
                sequence: random as u16,
                timestamp: (random >> 16) as u32,
                ssrc: (random >> 32) as u32,
                marker: false,
            },
            first_timestamp: (random >> 16) as u32,
            sent: 0,
        },
    )
}

/// The reading half.
pub(super) struct Reader {
    socket: Arc<UdpSocket>,
    peer: SocketAddr,
    format: AudioFormat,
    payload_type: u8,
    ended: Pin<Box<dyn Future<Output = ()> + Send>>,
    done: bool,
    dropped: u64,
    buf: Vec<u8>,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("peer", &self.peer)
            .field("format", &self.format)
            .field("done", &self.done)
            .field("dropped", &self.dropped)
            .finish_non_exhaustive()
    }
}

impl Reader {
    pub(super) fn dropped(&self) -> u64 {
        self.dropped
    }

    pub(super) async fn next(&mut self) -> Result<Option<AudioFrame>> {
        while !self.done {
            let (n, from) = tokio::select! {
                received = self.socket.recv_from(&mut self.buf) => received.map_err(io_error)?,
                () = &mut self.ended => {
                    self.done = true;
                    break;
                }
            };
            if from != self.peer || n == self.buf.len() {
                // another sender, or a datagram too large to be a frame (cut by the read)
                self.dropped += 1;
                continue;
            }
            match parse(&self.buf[..n], self.payload_type, self.format) {
                Ok((header, payload)) => {
                    return Ok(Some(AudioFrame {
                        format: self.format,
                        order: ByteOrder::Big,
                        payload: payload.to_vec(),
                        rtp: Some(header),
                    }))
                }
                Err(why) => {
                    tracing::debug!(?why, "dropped an RTP packet");
                    self.dropped += 1;
                }
            }
        }
        Ok(None)
    }
}

/// The writing half.
#[derive(Debug)]
pub(super) struct Writer {
    socket: Arc<UdpSocket>,
    peer: SocketAddr,
    format: AudioFormat,
    header: RtpHeader,
    first_timestamp: u32,
    sent: u64,
}

impl Writer {
    /// One frame in the slot the pacer gave: the sequence number counts packets, the
    /// timestamp the slot's place on the media clock, the marker a talkspurt's start.
    pub(super) async fn audio(&mut self, samples: &[i16], slot: Slot) -> Result<()> {
        let mut payload = Vec::with_capacity(samples.len() * self.format.bytes_per_sample());
        self.format.encode(samples, ByteOrder::Big, &mut payload);
        let header = RtpHeader {
            sequence: self.header.sequence.wrapping_add(self.sent as u16),
            timestamp: self
                .first_timestamp
                .wrapping_add((slot.index as u32).wrapping_mul(samples.len() as u32)),
            marker: slot.resumed,
            ..self.header
        };
        let packet = build(&header, &payload)?;
        self.socket
            .send_to(&packet, self.peer)
            .await
            .map_err(io_error)?;
        self.sent += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> RtpHeader {
        RtpHeader {
            payload_type: 0,
            sequence: 65_535,
            timestamp: 0xdead_beef,
            ssrc: 0x0102_0304,
            marker: true,
        }
    }

    #[test]
    fn build_then_parse() {
        let packet = build(&header(), &[1, 2, 3, 4]).unwrap();
        assert_eq!(packet.len(), 16);
        // V=2, no padding/extension/CSRC; M=1, PT=0
        assert_eq!(&packet[..2], &[0x80, 0x80]);
        assert_eq!(&packet[2..4], &[0xff, 0xff]);
        assert_eq!(&packet[4..8], &[0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(&packet[8..12], &[1, 2, 3, 4]);
        let (h, payload) = parse(&packet, 0, AudioFormat::Ulaw).unwrap();
        assert_eq!(h, header());
        assert_eq!(payload, [1, 2, 3, 4]);
    }

    #[test]
    fn csrcs_extension_and_padding_are_not_payload() {
        // V=2 P=1 X=1 CC=1, PT 118; one CSRC; a 1-word extension; 2 payload bytes; 2 padding
        let mut p = vec![0xb1, 118, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3];
        p.extend_from_slice(&[9, 9, 9, 9]); // CSRC
        p.extend_from_slice(&[0xbe, 0xde, 0, 1, 7, 7, 7, 7]); // extension
        p.extend_from_slice(&[0x12, 0x34]); // payload
        p.extend_from_slice(&[0, 2]); // padding, its length last
        let (h, payload) = parse(&p, 118, AudioFormat::Slin16).unwrap();
        assert_eq!((h.sequence, h.timestamp, h.ssrc), (1, 2, 3));
        assert_eq!(payload, [0x12, 0x34]);
    }

    #[test]
    fn hostile_datagrams_are_rejected_not_panics() {
        let good = build(&header(), &[0xff; 160]).unwrap();
        let mut cases: Vec<Vec<u8>> = vec![
            vec![],
            vec![0x80],
            good[..11].to_vec(),
            // version 1, version 0, version 3
            [&[0x40u8][..], &good[1..]].concat(),
            [&[0x00u8][..], &good[1..]].concat(),
            [&[0xc0u8][..], &good[1..]].concat(),
            // 15 CSRCs announced, none there
            [&[0x8fu8][..], &good[1..12]].concat(),
            // an extension announced, none there; one longer than the packet
            [&[0x90u8][..], &good[1..12]].concat(),
            [&[0x90u8][..], &good[1..12], &[0, 0, 0xff, 0xff]].concat(),
            // padding longer than the packet; padding of 0
            [&[0xa0u8][..], &good[1..], &[200]].concat(),
            [&[0xa0u8][..], &good[1..], &[0]].concat(),
            // a header and no payload
            good[..12].to_vec(),
        ];
        // every truncation of a packet with everything in it
        let mut full = vec![0xb1, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 9, 9, 9, 9];
        full.extend_from_slice(&[0xbe, 0xde, 0, 1, 7, 7, 7, 7, 0xff, 0xff, 0, 2]);
        for n in 0..full.len() {
            cases.push(full[..n].to_vec());
        }
        for case in &cases {
            assert!(parse(case, 0, AudioFormat::Ulaw).is_err(), "{case:02x?}");
        }
        // another payload type (13: comfort noise), and half a linear sample
        assert_eq!(
            parse(&good, 13, AudioFormat::Ulaw).unwrap_err(),
            Rejected::PayloadType(0)
        );
        let odd = build(
            &RtpHeader {
                payload_type: 118,
                ..header()
            },
            &[1, 2, 3],
        )
        .unwrap();
        assert_eq!(
            parse(&odd, 118, AudioFormat::Slin16).unwrap_err(),
            Rejected::Payload(3)
        );
        // an oversize packet is still parsed: the reader drops what does not fit its buffer
        let big = build(&header(), &vec![0; 60_000]).unwrap();
        assert_eq!(parse(&big, 0, AudioFormat::Ulaw).unwrap().1.len(), 60_000);
    }

    #[tokio::test(start_paused = true)]
    async fn sent_packets_count_frames_and_mark_talkspurts() {
        use crate::media::pacing::Pacer;
        use std::time::Duration;

        let asterisk = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let app = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let mut writer = Writer {
            socket: Arc::new(app),
            peer: asterisk.local_addr().unwrap(),
            format: AudioFormat::Ulaw,
            header: RtpHeader {
                payload_type: 0,
                sequence: 65_534,
                timestamp: 0,
                ssrc: 7,
                marker: false,
            },
            first_timestamp: u32::MAX - 200,
            sent: 0,
        };
        let mut pacer = Pacer::new(Duration::from_millis(20));
        let frame = [0i16; 160];
        for n in 0..5 {
            if n == 3 {
                // a second of nothing to say
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            writer.audio(&frame, pacer.next().await).await.unwrap();
        }
        let mut buf = [0u8; 512];
        let mut got = Vec::new();
        for _ in 0..5 {
            let n = asterisk.recv(&mut buf).await.unwrap();
            let (h, payload) = parse(&buf[..n], 0, AudioFormat::Ulaw).unwrap();
            assert_eq!((payload.len(), h.ssrc), (160, 7));
            got.push((
                h.sequence,
                h.timestamp.wrapping_sub(u32::MAX - 200),
                h.marker,
            ));
        }
        // sequence numbers wrap and stay contiguous; the timestamp counts 160 a frame and
        // the pause (frames 0, 1, 2 at 0-40 ms; frame 3 at 1040 ms = 52 frames in)
        assert_eq!(
            got,
            [
                (65_534, 0, true),
                (65_535, 160, false),
                (0, 320, false),
                (1, 52 * 160, true),
                (2, 53 * 160, false)
            ]
        );
    }

    #[test]
    fn building_refuses_what_rtp_cannot_carry() {
        let bad = RtpHeader {
            payload_type: 128,
            ..header()
        };
        assert_eq!(
            build(&bad, &[0]).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
    }

    #[test]
    fn pseudo_random_datagrams_never_panic() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 64) as usize;
            let mut d: Vec<u8> = (0..len).map(|i| (x >> (i % 8 * 8)) as u8).collect();
            if let Some(b) = d.first_mut() {
                *b = (*b & 0x3f) | 0x80; // mostly version 2, to reach the deeper checks
            }
            let _ = parse(&d, 0, AudioFormat::Ulaw);
            let _ = parse(&d, 118, AudioFormat::Slin16);
        }
    }
}
