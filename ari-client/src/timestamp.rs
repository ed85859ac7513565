//! [`Timestamp`]: the `Date` type of the ARI specs.
//!
//! Asterisk writes dates as `%FT%T.%q%z` in its local zone, e.g. `2026-11-26T13:25:11.632+0000`:
//! three fractional digits and no colon in the offset. [`Timestamp`] parses that (and the
//! RFC 3339 spellings `+00:00` and `Z`, with 0–9 fractional digits) and writes Asterisk's
//! form back, so a decoded and re-encoded event is byte-for-byte what the server sent.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// An instant with the UTC offset it was written in, at millisecond precision.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timestamp {
    /// Milliseconds since the Unix epoch (UTC).
    unix_millis: i64,
    /// The offset from UTC, in minutes, that the text carried.
    offset_minutes: i16,
}

/// A string that is not a timestamp Asterisk writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseTimestampError {
    input: String,
}

impl fmt::Display for ParseTimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid timestamp {:?}: expected YYYY-MM-DDTHH:MM:SS.mmm+hhmm",
            self.input
        )
    }
}

impl std::error::Error for ParseTimestampError {}

impl Timestamp {
    /// The instant `unix_millis` milliseconds after the epoch, written with the given offset.
    ///
    /// Returns `None` when the offset is not within ±23:59.
    pub fn from_unix_millis(unix_millis: i64, offset_minutes: i16) -> Option<Self> {
        (offset_minutes.abs() < 24 * 60).then_some(Self {
            unix_millis,
            offset_minutes,
        })
    }

    /// Milliseconds since the Unix epoch.
    pub fn unix_millis(&self) -> i64 {
        self.unix_millis
    }

    /// The UTC offset, in minutes, the server wrote this timestamp in.
    pub fn offset_minutes(&self) -> i16 {
        self.offset_minutes
    }

    /// This instant as a [`SystemTime`].
    pub fn to_system_time(&self) -> SystemTime {
        let abs = Duration::from_millis(self.unix_millis.unsigned_abs());
        if self.unix_millis >= 0 {
            UNIX_EPOCH + abs
        } else {
            UNIX_EPOCH - abs
        }
    }

    /// Parses Asterisk's format (`2026-11-26T13:25:11.632+0000`; also `+00:00` and `Z`
    /// offsets and 0–9 fractional digits).
    pub fn parse(s: &str) -> Result<Self, ParseTimestampError> {
        parse(s.as_bytes()).ok_or_else(|| ParseTimestampError { input: s.into() })
    }
}

fn digits(b: &[u8], at: usize, n: usize) -> Option<i64> {
    let part = b.get(at..at + n)?;
    part.iter().try_fold(0i64, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
    })
}

fn parse(b: &[u8]) -> Option<Timestamp> {
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (year, month, day) = (digits(b, 0, 4)?, digits(b, 5, 2)?, digits(b, 8, 2)?);
    let (hour, minute, second) = (digits(b, 11, 2)?, digits(b, 14, 2)?, digits(b, 17, 2)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut i = 19;
    let mut millis = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let n = i - start;
        if n == 0 || n > 9 {
            return None;
        }
        // the first three digits are milliseconds; finer digits are dropped
        let take = n.min(3);
        millis = digits(b, start, take)? * 10i64.pow(3 - take as u32);
    }
    let offset = match b.get(i..)? {
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let (h, m) = match rest {
                [_, _, b':', _, _] => (digits(rest, 0, 2)?, digits(rest, 3, 2)?),
                [_, _, _, _] => (digits(rest, 0, 2)?, digits(rest, 2, 2)?),
                _ => return None,
            };
            if h > 23 || m > 59 {
                return None;
            }
            let total = h * 60 + m;
            if *sign == b'-' {
                -total
            } else {
                total
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let local_secs = days * 86_400 + hour * 3600 + minute * 60 + second;
    let utc_secs = local_secs - offset * 60;
    Some(Timestamp {
        unix_millis: utc_secs * 1000 + millis,
        offset_minutes: i16::try_from(offset).ok()?,
    })
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number since 1970-01-01 (inverse of [`days_from_civil`]).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let offset = i64::from(self.offset_minutes);
        let local = self.unix_millis + offset * 60_000;
        let (secs, millis) = (local.div_euclid(1000), local.rem_euclid(1000));
        let (days, tod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
        let (y, mo, d) = civil_from_days(days);
        let sign = if offset < 0 { '-' } else { '+' };
        write!(
            f,
            "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}{sign}{:02}{:02}",
            tod / 3600,
            tod / 60 % 60,
            tod % 60,
            offset.abs() / 60,
            offset.abs() % 60
        )
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

impl FromStr for Timestamp {
    type Err = ParseTimestampError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a timestamp like 2026-11-26T13:25:11.632+0000")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Timestamp, E> {
                Timestamp::parse(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_asterisk_format() {
        for s in [
            "2026-11-26T13:25:11.632+0000",
            "2025-06-01T12:34:56.789+0200",
            "1999-12-31T23:59:59.999-0530",
            "2024-02-29T00:00:00.000+1400",
            "1969-07-20T20:17:40.001+0000",
        ] {
            let t = Timestamp::parse(s).unwrap();
            assert_eq!(t.to_string(), s);
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(json, format!("\"{s}\""));
            assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), t);
        }
    }

    #[test]
    fn knows_the_instant() {
        let a = Timestamp::parse("2025-06-01T12:34:56.789+0200").unwrap();
        let b = Timestamp::parse("2025-06-01T10:34:56.789+0000").unwrap();
        assert_eq!(a.unix_millis(), b.unix_millis());
        assert_eq!(a.unix_millis(), 1_748_774_096_789);
        assert_eq!(a.offset_minutes(), 120);
        let epoch = Timestamp::parse("1970-01-01T00:00:00.000Z").unwrap();
        assert_eq!(epoch.to_system_time(), UNIX_EPOCH);
    }

    #[test]
    fn accepts_rfc3339_spellings() {
        let t = Timestamp::parse("2026-11-26T13:25:11.632123+01:00").unwrap();
        assert_eq!(t.to_string(), "2026-11-26T13:25:11.632+0100");
        let t = Timestamp::parse("2026-11-26T13:25:11Z").unwrap();
        assert_eq!(t.to_string(), "2026-11-26T13:25:11.000+0000");
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        for s in [
            "",
            "2026",
            "2026-13-01T00:00:00.000+0000",
            "2026-02-30T00:00:00.000+0000",
            "2026-11-26T24:00:00.000+0000",
            "2026-11-26T13:25:11.+0000",
            "2026-11-26T13:25:11.632",
            "2026-11-26T13:25:11.632+00",
            "2026-11-26T13:25:11.632+2500",
            "２026-11-26T13:25:11.632+0000",
            "2026-11-26T13:25:11.632+0000 ",
        ] {
            assert!(Timestamp::parse(s).is_err(), "{s:?} accepted");
        }
        assert!(serde_json::from_str::<Timestamp>("12").is_err());
    }
}
