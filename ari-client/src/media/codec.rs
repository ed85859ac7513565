//! The audio formats a media stream carries and their sample coding: G.711 µ-law and
//! A-law (ITU-T G.711), and 16-bit linear PCM, little-endian on chan_websocket, big-endian
//! in RTP (RFC 3551's L16; `res/res_rtp_asterisk.c` byte-swaps signed linear).

use std::time::Duration;

use crate::error::{Error, ErrorKind, Result};

/// An audio format of an external-media channel, as Asterisk names it (`format=` of
/// `externalMedia`, `format:` of `MEDIA_START`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AudioFormat {
    /// `ulaw`: G.711 µ-law, 8 kHz, one byte a sample.
    Ulaw,
    /// `alaw`: G.711 A-law, 8 kHz, one byte a sample.
    Alaw,
    /// `slin`: 16-bit signed linear PCM, 8 kHz.
    Slin,
    /// `slin16`: 16-bit signed linear PCM, 16 kHz.
    Slin16,
    /// `slin24`: 16-bit signed linear PCM, 24 kHz.
    Slin24,
    /// `slin32`: 16-bit signed linear PCM, 32 kHz.
    Slin32,
    /// `slin48`: 16-bit signed linear PCM, 48 kHz.
    Slin48,
}

/// The byte order of 16-bit linear samples on a transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ByteOrder {
    /// chan_websocket: Asterisk's frames as they are in memory (x86, ARM: little-endian).
    Little,
    /// RTP: network byte order.
    Big,
}

impl AudioFormat {
    /// Every format this module codes.
    pub const ALL: [AudioFormat; 7] = [
        Self::Ulaw,
        Self::Alaw,
        Self::Slin,
        Self::Slin16,
        Self::Slin24,
        Self::Slin32,
        Self::Slin48,
    ];

    /// The name Asterisk gives the format.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ulaw => "ulaw",
            Self::Alaw => "alaw",
            Self::Slin => "slin",
            Self::Slin16 => "slin16",
            Self::Slin24 => "slin24",
            Self::Slin32 => "slin32",
            Self::Slin48 => "slin48",
        }
    }

    /// The format Asterisk names `name`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Unsupported`] for a format this module does not code (`opus`,
    /// `g722`, …).
    pub fn from_name(name: &str) -> Result<AudioFormat> {
        Self::ALL
            .into_iter()
            .find(|f| f.name() == name)
            .ok_or_else(|| {
                Error::new(ErrorKind::Unsupported).with_message(format!(
                    "audio format {:?}: the media module codes ulaw, alaw and slin{{,16,24,32,48}}",
                    name.escape_debug().to_string()
                ))
            })
    }

    /// Samples a second.
    pub fn sample_rate(self) -> u32 {
        match self {
            Self::Ulaw | Self::Alaw | Self::Slin => 8_000,
            Self::Slin16 => 16_000,
            Self::Slin24 => 24_000,
            Self::Slin32 => 32_000,
            Self::Slin48 => 48_000,
        }
    }

    /// Bytes a sample.
    pub fn bytes_per_sample(self) -> usize {
        match self {
            Self::Ulaw | Self::Alaw => 1,
            _ => 2,
        }
    }

    /// Asterisk's default frame time of the format (`default_ms` of its codec in
    /// `main/codec_builtin.c`: 20 ms for each of these).
    pub fn default_ptime(self) -> Duration {
        Duration::from_millis(20)
    }

    /// The RTP payload type of the format that chan_rtp both sends and takes: 0 for
    /// `ulaw`, 8 for `alaw`; `None` for linear PCM. Without SDP, Asterisk sends `slin16`
    /// and the wider rates with the dynamic payload types of its table (`slin16` as 118,
    /// `main/rtp_engine.c`), but maps only the static ones (up to 34) back when it reads
    /// (`ast_rtp_codecs_get_payload`): RTP of payload type 118 sent to it is dropped. And
    /// 8 kHz `slin` is not used at all ("Signed linear @ 8kHz does not map",
    /// `channels/chan_rtp.c`).
    pub fn rtp_payload_type(self) -> Option<u8> {
        match self {
            Self::Ulaw => Some(0),
            Self::Alaw => Some(8),
            _ => None,
        }
    }

    /// Samples in `ptime`.
    pub fn samples_in(self, ptime: Duration) -> usize {
        (u128::from(self.sample_rate()) * ptime.as_micros() / 1_000_000) as usize
    }

    /// How long `samples` samples last.
    pub fn duration_of(self, samples: usize) -> Duration {
        Duration::from_micros(samples as u64 * 1_000_000 / u64::from(self.sample_rate()))
    }

    /// The samples of `payload`; a trailing odd byte of linear PCM is ignored.
    pub(crate) fn decode(self, payload: &[u8], order: ByteOrder, out: &mut Vec<i16>) {
        match self {
            Self::Ulaw => out.extend(payload.iter().map(|&b| ulaw_to_linear(b))),
            Self::Alaw => out.extend(payload.iter().map(|&b| alaw_to_linear(b))),
            _ => out.extend(payload.chunks_exact(2).map(|b| match order {
                ByteOrder::Little => i16::from_le_bytes([b[0], b[1]]),
                ByteOrder::Big => i16::from_be_bytes([b[0], b[1]]),
            })),
        }
    }

    /// `samples` coded in this format, appended to `out`.
    pub(crate) fn encode(self, samples: &[i16], order: ByteOrder, out: &mut Vec<u8>) {
        match self {
            Self::Ulaw => out.extend(samples.iter().map(|&s| linear_to_ulaw(s))),
            Self::Alaw => out.extend(samples.iter().map(|&s| linear_to_alaw(s))),
            _ => {
                for &s in samples {
                    out.extend_from_slice(&match order {
                        ByteOrder::Little => s.to_le_bytes(),
                        ByteOrder::Big => s.to_be_bytes(),
                    });
                }
            }
        }
    }
}

impl std::fmt::Display for AudioFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

const ULAW_BIAS: i32 = 0x84;
const ULAW_CLIP: i32 = 32_635;

/// A 16-bit linear sample as G.711 µ-law.
pub(crate) fn linear_to_ulaw(sample: i16) -> u8 {
    let mut s = i32::from(sample);
    let sign = if s < 0 { 0x80 } else { 0 };
    if s < 0 {
        s = -s;
    }
    let s = s.min(ULAW_CLIP) + ULAW_BIAS;
    // the segment: the position of the highest set bit above bit 7
    let exponent = (31 - (s as u32).leading_zeros()).saturating_sub(7).min(7);
    let mantissa = (s >> (exponent + 3)) & 0x0f;
    !(sign | ((exponent as i32) << 4) | mantissa) as u8
}

/// A G.711 µ-law byte as a 16-bit linear sample.
pub(crate) fn ulaw_to_linear(byte: u8) -> i16 {
    let b = !byte;
    let exponent = (b >> 4) & 0x07;
    let mantissa = i32::from(b & 0x0f);
    let magnitude = (((mantissa << 3) + ULAW_BIAS) << exponent) - ULAW_BIAS;
    (if b & 0x80 != 0 { -magnitude } else { magnitude }) as i16
}

/// A 16-bit linear sample as G.711 A-law.
pub(crate) fn linear_to_alaw(sample: i16) -> u8 {
    // A-law codes 13-bit magnitudes
    let s = i32::from(sample) >> 3;
    let (sign, magnitude) = if s >= 0 { (0x80, s) } else { (0, -s - 1) };
    let magnitude = magnitude.min(0x0fff);
    let exponent = if magnitude < 0x20 {
        0
    } else {
        31 - (magnitude as u32).leading_zeros() - 4
    };
    let mantissa = if exponent == 0 {
        magnitude >> 1
    } else {
        (magnitude >> exponent) & 0x0f
    };
    ((sign | ((exponent as i32) << 4) | mantissa) ^ 0x55) as u8
}

/// A G.711 A-law byte as a 16-bit linear sample.
pub(crate) fn alaw_to_linear(byte: u8) -> i16 {
    let b = byte ^ 0x55;
    let exponent = (b >> 4) & 0x07;
    let mantissa = i32::from(b & 0x0f);
    let magnitude = if exponent == 0 {
        (mantissa << 4) + 8
    } else {
        ((mantissa << 4) + 0x108) << (exponent - 1)
    };
    (if b & 0x80 != 0 { magnitude } else { -magnitude }) as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_is_unsupported() {
        for f in AudioFormat::ALL {
            assert_eq!(AudioFormat::from_name(f.name()).unwrap(), f);
        }
        let e = AudioFormat::from_name("opus").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
        assert!(AudioFormat::from_name("ulaw\0").is_err());
    }

    #[test]
    fn frame_sizes_follow_the_rate() {
        let ptime = Duration::from_millis(20);
        assert_eq!(AudioFormat::Ulaw.samples_in(ptime), 160);
        assert_eq!(AudioFormat::Slin16.samples_in(ptime), 320);
        assert_eq!(AudioFormat::Slin48.samples_in(ptime), 960);
        assert_eq!(AudioFormat::Slin16.duration_of(320), ptime);
    }

    #[test]
    fn ulaw_matches_g711_reference_points() {
        // G.711's µ-law: 0 codes as 0xff, the extremes as 0x80 / 0x00
        assert_eq!(linear_to_ulaw(0), 0xff);
        assert_eq!(linear_to_ulaw(i16::MAX), 0x80);
        assert_eq!(linear_to_ulaw(i16::MIN), 0x00);
        assert_eq!(ulaw_to_linear(0xff), 0);
        assert_eq!(ulaw_to_linear(0x80), 32_124);
        assert_eq!(ulaw_to_linear(0x00), -32_124);
        // every code decodes to a value that codes back to it (0x7f is -0, as 0xff)
        for b in 0..=255u8 {
            let back = linear_to_ulaw(ulaw_to_linear(b));
            assert!(
                back == b || (b == 0x7f && back == 0xff),
                "{b:#x} -> {back:#x}"
            );
        }
    }

    #[test]
    fn alaw_matches_g711_reference_points() {
        assert_eq!(linear_to_alaw(0), 0xd5);
        assert_eq!(linear_to_alaw(i16::MAX), 0xaa);
        assert_eq!(linear_to_alaw(i16::MIN), 0x2a);
        assert_eq!(alaw_to_linear(0xd5), 8);
        assert_eq!(alaw_to_linear(0xaa), 32_256);
        assert_eq!(alaw_to_linear(0x2a), -32_256);
        for b in 0..=255u8 {
            assert_eq!(linear_to_alaw(alaw_to_linear(b)), b, "{b:#x}");
        }
    }

    #[test]
    fn companding_error_is_small() {
        for s in (-32_000i16..32_000).step_by(97) {
            for (enc, dec) in [
                (
                    linear_to_ulaw as fn(i16) -> u8,
                    ulaw_to_linear as fn(u8) -> i16,
                ),
                (linear_to_alaw, alaw_to_linear),
            ] {
                let back = dec(enc(s));
                let err = (i32::from(back) - i32::from(s)).abs();
                assert!(err <= i32::from(s).abs() / 16 + 16, "{s} -> {back}");
            }
        }
    }

    #[test]
    fn linear_byte_orders() {
        let mut out = Vec::new();
        AudioFormat::Slin16.encode(&[0x0102, -2], ByteOrder::Little, &mut out);
        assert_eq!(out, [0x02, 0x01, 0xfe, 0xff]);
        out.clear();
        AudioFormat::Slin16.encode(&[0x0102, -2], ByteOrder::Big, &mut out);
        assert_eq!(out, [0x01, 0x02, 0xff, 0xfe]);
        let mut samples = Vec::new();
        // an odd trailing byte is no sample
        AudioFormat::Slin16.decode(&[0x01, 0x02, 0x03], ByteOrder::Big, &mut samples);
        assert_eq!(samples, [0x0102]);
    }
}
