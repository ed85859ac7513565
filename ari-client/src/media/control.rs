//! chan_websocket's control messages (text frames), both ways, in both of its formats:
//! `plain-text` (the default: `MEDIA_START connection_id:… format:ulaw …`, commands as
//! `COMMAND [argument]`) and `json` (`{"event":"MEDIA_START",…}`, commands as
//! `{"command":…}`), chosen by `control_message_format` in `chan_websocket.conf` or the
//! `f(json)` dial-string option (`transport_data` of externalMedia). The messages and
//! their fields are those of Asterisk 22.10.1's `channels/chan_websocket.c`.

use serde_json::{Map, Value};

use crate::error::{Error, ErrorKind, Result};

/// The longest text message chan_websocket reads (`MAX_TEXT_MESSAGE_LEN`); it ignores
/// longer ones.
const MAX_COMMAND: usize = 128;

/// The format of a channel's control messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ControlFormat {
    /// `plain-text`: `EVENT key:value …`.
    PlainText,
    /// `json`: one JSON object a message.
    Json,
}

/// What chan_websocket said when the media began (`MEDIA_START`), the first message.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MediaStart {
    /// The connection id (the `/media/<id>` the application connected to).
    pub connection_id: String,
    /// The channel's name (`WebSocket/INCOMING/0x…`).
    pub channel: String,
    /// The channel's id (since Asterisk 22.8; `None` before).
    pub channel_id: Option<String>,
    /// The negotiated format's name (`ulaw`, `slin16`, …).
    pub format: String,
    /// Bytes of one frame (0 in passthrough mode): what the application's binary messages
    /// must be a multiple of.
    pub optimal_frame_size: usize,
    /// The frame time in milliseconds.
    pub ptime: u32,
    /// The channel's variables (JSON format only).
    pub channel_variables: Option<Map<String, Value>>,
    /// The format its messages came in; commands are sent in the same.
    pub control_format: ControlFormat,
}

/// The driver's state, answered to [`Command::GetStatus`] (`STATUS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DriverStatus {
    /// Frames queued towards the channel.
    pub queue_length: u32,
    /// The queue length below which `MEDIA_XON` is sent (800).
    pub xon_level: u32,
    /// The queue length at which `MEDIA_XOFF` is sent (900).
    pub xoff_level: u32,
    /// The queue is full (between `MEDIA_XOFF` and `MEDIA_XON`).
    pub queue_full: bool,
    /// Bulk media (`START_MEDIA_BUFFERING`) is in progress.
    pub bulk_media: bool,
    /// The queue is paused (`PAUSE_MEDIA`).
    pub media_paused: bool,
}

/// A control message from chan_websocket, after `MEDIA_START`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Control {
    /// `MEDIA_XOFF`: the queue towards the channel reached 900 frames; stop sending.
    /// [`MediaSender::send`](super::MediaSender::send) waits until `MEDIA_XON`.
    Xoff,
    /// `MEDIA_XON`: the queue fell below 800 frames; sending may go on.
    Xon,
    /// `QUEUE_DRAINED`: the queue became empty after [`Command::ReportQueueDrained`].
    QueueDrained,
    /// `STATUS`: the answer to [`Command::GetStatus`].
    Status(DriverStatus),
    /// `MEDIA_BUFFERING_COMPLETED`: the media of a [`Command::StopMediaBuffering`] is queued.
    BufferingCompleted {
        /// The command's correlation id.
        correlation_id: Option<String>,
    },
    /// `MEDIA_MARK_PROCESSED`: the media before a [`Command::MarkMedia`] was played.
    MarkProcessed {
        /// The command's correlation id.
        correlation_id: Option<String>,
    },
    /// `DTMF_END`: a digit was sent to the channel.
    DtmfEnd {
        /// The digit.
        digit: char,
    },
    /// `ERROR`: a command was refused (passthrough mode, media direction, bad JSON, …).
    Error {
        /// Asterisk's text.
        text: String,
    },
    /// A message this version does not know (a newer Asterisk), as received.
    Unknown(String),
}

/// A command to chan_websocket.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// `ANSWER`: answers the channel (when it was created with the `n` option, no
    /// auto-answer).
    Answer,
    /// `HANGUP`: hangs the channel up.
    Hangup,
    /// `START_MEDIA_BUFFERING`: media that follows may come faster than real time and in
    /// pieces of any size.
    StartMediaBuffering,
    /// `STOP_MEDIA_BUFFERING`: the end of bulk media; answered by
    /// [`Control::BufferingCompleted`].
    StopMediaBuffering {
        /// Given back in the answer.
        correlation_id: Option<String>,
    },
    /// `MARK_MEDIA`: answered by [`Control::MarkProcessed`] once the media sent before it
    /// was played.
    MarkMedia {
        /// Given back in the answer.
        correlation_id: Option<String>,
    },
    /// `FLUSH_MEDIA`: drops the media queued towards the channel.
    FlushMedia,
    /// `GET_STATUS`: answered by [`Control::Status`].
    GetStatus,
    /// `REPORT_QUEUE_DRAINED`: asks for one [`Control::QueueDrained`].
    ReportQueueDrained,
    /// `PAUSE_MEDIA`: plays silence instead of the queue.
    PauseMedia,
    /// `CONTINUE_MEDIA`: plays the queue again.
    ContinueMedia,
}

impl Command {
    fn name(&self) -> &'static str {
        match self {
            Self::Answer => "ANSWER",
            Self::Hangup => "HANGUP",
            Self::StartMediaBuffering => "START_MEDIA_BUFFERING",
            Self::StopMediaBuffering { .. } => "STOP_MEDIA_BUFFERING",
            Self::MarkMedia { .. } => "MARK_MEDIA",
            Self::FlushMedia => "FLUSH_MEDIA",
            Self::GetStatus => "GET_STATUS",
            Self::ReportQueueDrained => "REPORT_QUEUE_DRAINED",
            Self::PauseMedia => "PAUSE_MEDIA",
            Self::ContinueMedia => "CONTINUE_MEDIA",
        }
    }

    /// The command's text in `format`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] for a correlation id that is empty, has a control
    /// character or a space (plain text splits at the first), or makes the message longer
    /// than the 128 bytes Asterisk reads (it would ignore it silently).
    pub(crate) fn encode(&self, format: ControlFormat) -> Result<String> {
        let id = match self {
            Self::StopMediaBuffering { correlation_id } | Self::MarkMedia { correlation_id } => {
                correlation_id.as_deref()
            }
            _ => None,
        };
        if let Some(id) = id {
            if id.is_empty() || id.chars().any(|c| c.is_control() || c == ' ') {
                return Err(invalid(format!(
                    "correlation id {:?}: empty, or with a space or control character",
                    id.escape_debug().to_string()
                )));
            }
        }
        let text = match (format, id) {
            (ControlFormat::PlainText, None) => self.name().to_owned(),
            (ControlFormat::PlainText, Some(id)) => format!("{} {id}", self.name()),
            (ControlFormat::Json, None) => {
                serde_json::json!({ "command": self.name() }).to_string()
            }
            (ControlFormat::Json, Some(id)) => {
                serde_json::json!({ "command": self.name(), "correlation_id": id }).to_string()
            }
        };
        if text.len() > MAX_COMMAND {
            return Err(invalid(format!(
                "{}: {} bytes, Asterisk reads at most {MAX_COMMAND}",
                self.name(),
                text.len()
            )));
        }
        Ok(text)
    }
}

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidArgument).with_message(message)
}

fn protocol(message: String) -> Error {
    Error::new(ErrorKind::Protocol).with_message(message)
}

/// A message's event name and fields, whichever its format.
struct Fields {
    event: String,
    format: ControlFormat,
    /// plain text: `key:value` words; JSON: the object
    map: Map<String, Value>,
    /// plain text: the words without a colon (the correlation id of
    /// `MEDIA_BUFFERING_COMPLETED <id>`)
    bare: Option<String>,
}

impl Fields {
    fn parse(text: &str) -> Result<Fields> {
        let text = text.trim();
        if text.starts_with('{') {
            let map: Map<String, Value> = serde_json::from_str(text).map_err(|e| {
                Error::new(ErrorKind::Decode)
                    .with_message("a chan_websocket JSON control message")
                    .with_source(e)
            })?;
            let event = map
                .get("event")
                .and_then(Value::as_str)
                .ok_or_else(|| protocol("a JSON control message without \"event\"".into()))?
                .to_owned();
            return Ok(Fields {
                event,
                format: ControlFormat::Json,
                map,
                bare: None,
            });
        }
        let mut words = text.split(' ').filter(|w| !w.is_empty());
        let event = words.next().unwrap_or_default().to_owned();
        let mut map = Map::new();
        let mut bare = None;
        for word in words {
            match word.split_once(':') {
                Some((k, v)) => {
                    map.insert(k.to_owned(), Value::String(v.to_owned()));
                }
                None => bare = Some(word.to_owned()),
            }
        }
        Ok(Fields {
            event,
            format: ControlFormat::PlainText,
            map,
            bare,
        })
    }

    fn str(&self, key: &str) -> Option<String> {
        match self.map.get(key)? {
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }
    }

    fn number(&self, key: &str) -> Result<u64> {
        let value = self.map.get(key);
        value
            .and_then(|v| match v {
                Value::Number(n) => n.as_u64(),
                Value::String(s) => s.parse().ok(),
                _ => None,
            })
            .ok_or_else(|| protocol(format!("{}: {key} is {value:?}, not a number", self.event)))
    }

    fn flag(&self, key: &str) -> bool {
        match self.map.get(key) {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s == "true",
            _ => false,
        }
    }

    fn correlation_id(&self) -> Option<String> {
        match self.format {
            ControlFormat::Json => self.str("correlation_id").filter(|s| !s.is_empty()),
            ControlFormat::PlainText => self.bare.clone(),
        }
    }
}

/// Parses the first message, which must be `MEDIA_START`.
pub(crate) fn parse_start(text: &str) -> Result<MediaStart> {
    let f = Fields::parse(text)?;
    if f.event != "MEDIA_START" {
        return Err(protocol(format!(
            "the first message is {:?}, not MEDIA_START",
            f.event.escape_debug().to_string()
        )));
    }
    let required = |key: &str| {
        f.str(key)
            .ok_or_else(|| protocol(format!("MEDIA_START without {key}")))
    };
    let narrow = |key: &str, n: u64| {
        u32::try_from(n).map_err(|_| protocol(format!("MEDIA_START: {key} {n} is out of range")))
    };
    Ok(MediaStart {
        connection_id: required("connection_id")?,
        channel: required("channel")?,
        channel_id: f.str("channel_id"),
        format: required("format")?,
        optimal_frame_size: narrow("optimal_frame_size", f.number("optimal_frame_size")?)? as usize,
        ptime: narrow("ptime", f.number("ptime")?)?,
        channel_variables: f
            .map
            .get("channel_variables")
            .and_then(Value::as_object)
            .cloned(),
        control_format: f.format,
    })
}

/// Parses a message after `MEDIA_START`.
pub(crate) fn parse(text: &str) -> Result<Control> {
    let f = Fields::parse(text)?;
    let count = |key: &str| {
        let n = f.number(key)?;
        u32::try_from(n).map_err(|_| protocol(format!("{}: {key} {n} is out of range", f.event)))
    };
    Ok(match f.event.as_str() {
        "MEDIA_XOFF" => Control::Xoff,
        "MEDIA_XON" => Control::Xon,
        "QUEUE_DRAINED" => Control::QueueDrained,
        "STATUS" => Control::Status(DriverStatus {
            queue_length: count("queue_length")?,
            xon_level: count("xon_level")?,
            xoff_level: count("xoff_level")?,
            queue_full: f.flag("queue_full"),
            bulk_media: f.flag("bulk_media"),
            media_paused: f.flag("media_paused"),
        }),
        "MEDIA_BUFFERING_COMPLETED" => Control::BufferingCompleted {
            correlation_id: f.correlation_id(),
        },
        "MEDIA_MARK_PROCESSED" => Control::MarkProcessed {
            correlation_id: f.correlation_id(),
        },
        "DTMF_END" => {
            let digit = f.str("digit").and_then(|d| {
                let mut chars = d.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => Some(c),
                    _ => None,
                }
            });
            match digit {
                Some(digit) => Control::DtmfEnd { digit },
                None => return Err(protocol("DTMF_END without a one-character digit".into())),
            }
        }
        "ERROR" => Control::Error {
            // plain text: `ERROR channel_id:<id> error_text:<text with spaces>`
            text: match f.format {
                ControlFormat::Json => f.str("error_text").unwrap_or_default(),
                ControlFormat::PlainText => text
                    .split_once("error_text:")
                    .map(|(_, t)| t.trim().to_owned())
                    .unwrap_or_default(),
            },
        },
        _ => Control::Unknown(text.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_start_in_both_formats() {
        // channels/chan_websocket.c, _create_event_MEDIA_START
        let plain = "MEDIA_START connection_id:8779df6f channel:WebSocket/INCOMING/0x7f48 channel_id:1796.0 format:ulaw optimal_frame_size:160 ptime:20";
        let s = parse_start(plain).unwrap();
        assert_eq!(s.connection_id, "8779df6f");
        assert_eq!(s.channel, "WebSocket/INCOMING/0x7f48");
        assert_eq!(s.channel_id.as_deref(), Some("1796.0"));
        assert_eq!(
            (s.format.as_str(), s.optimal_frame_size, s.ptime),
            ("ulaw", 160, 20)
        );
        assert_eq!(s.control_format, ControlFormat::PlainText);
        // 22.6 has no channel_id
        let old = "MEDIA_START connection_id:x channel:WebSocket/INCOMING/0x1 format:slin16 optimal_frame_size:640 ptime:20";
        assert_eq!(parse_start(old).unwrap().channel_id, None);
        let json = r#"{"event":"MEDIA_START","connection_id":"c","channel":"WebSocket/INCOMING/0x1","channel_id":"1.2","format":"slin16","optimal_frame_size":640,"ptime":20,"channel_variables":{"A":"b"}}"#;
        let s = parse_start(json).unwrap();
        assert_eq!((s.optimal_frame_size, s.ptime), (640, 20));
        assert_eq!(s.control_format, ControlFormat::Json);
        assert_eq!(s.channel_variables.unwrap()["A"], "b");
    }

    #[test]
    fn hostile_starts_are_errors_not_panics() {
        for text in [
            "",
            " ",
            "MEDIA_XON",
            "MEDIA_START",
            "MEDIA_START connection_id:c channel:x format:ulaw optimal_frame_size:-1 ptime:20",
            "MEDIA_START connection_id:c channel:x format:ulaw optimal_frame_size:160 ptime:99999999999",
            "{",
            "{}",
            r#"{"event":7}"#,
            r#"{"event":"MEDIA_START","connection_id":"c","channel":"x","format":"ulaw","optimal_frame_size":"big","ptime":20}"#,
            "\u{0}\u{ffff}:::",
        ] {
            assert!(parse_start(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn every_message_of_22_10() {
        assert_eq!(parse("MEDIA_XOFF").unwrap(), Control::Xoff);
        assert_eq!(
            parse(r#"{"event":"MEDIA_XON","channel_id":"1"}"#).unwrap(),
            Control::Xon
        );
        assert_eq!(parse("QUEUE_DRAINED").unwrap(), Control::QueueDrained);
        let status = "STATUS channel_id:1 queue_length:12 xon_level:800 xoff_level:900 queue_full:false bulk_media:true media_paused:false";
        assert_eq!(
            parse(status).unwrap(),
            Control::Status(DriverStatus {
                queue_length: 12,
                xon_level: 800,
                xoff_level: 900,
                queue_full: false,
                bulk_media: true,
                media_paused: false
            })
        );
        let json = r#"{"event":"STATUS","channel_id":"1","queue_length":0,"xon_level":800,"xoff_level":900,"queue_full":true,"bulk_media":false,"media_paused":true}"#;
        let Control::Status(s) = parse(json).unwrap() else {
            panic!()
        };
        assert!(s.queue_full && s.media_paused);
        assert_eq!(
            parse("MEDIA_BUFFERING_COMPLETED abc").unwrap(),
            Control::BufferingCompleted {
                correlation_id: Some("abc".into())
            }
        );
        assert_eq!(
            parse("MEDIA_MARK_PROCESSED").unwrap(),
            Control::MarkProcessed {
                correlation_id: None
            }
        );
        assert_eq!(
            parse(r#"{"event":"MEDIA_MARK_PROCESSED","channel_id":"1","correlation_id":"m1"}"#)
                .unwrap(),
            Control::MarkProcessed {
                correlation_id: Some("m1".into())
            }
        );
        assert_eq!(
            parse("DTMF_END digit:5 channel_id:1").unwrap(),
            Control::DtmfEnd { digit: '5' }
        );
        assert_eq!(
            parse("ERROR channel_id:1 error_text:PAUSE_MEDIA not supported in passthrough mode")
                .unwrap(),
            Control::Error {
                text: "PAUSE_MEDIA not supported in passthrough mode".into()
            }
        );
        assert_eq!(
            parse("NEW_THING x:1").unwrap(),
            Control::Unknown("NEW_THING x:1".into())
        );
        assert!(parse("DTMF_END digit:55").is_err());
        assert!(parse("STATUS queue_length:x").is_err());
        assert!(parse("{not json").is_err());
    }

    #[test]
    fn commands_in_both_formats() {
        assert_eq!(
            Command::Hangup.encode(ControlFormat::PlainText).unwrap(),
            "HANGUP"
        );
        assert_eq!(
            Command::Hangup.encode(ControlFormat::Json).unwrap(),
            r#"{"command":"HANGUP"}"#
        );
        let mark = Command::MarkMedia {
            correlation_id: Some("m1".into()),
        };
        assert_eq!(
            mark.encode(ControlFormat::PlainText).unwrap(),
            "MARK_MEDIA m1"
        );
        assert_eq!(
            mark.encode(ControlFormat::Json).unwrap(),
            r#"{"command":"MARK_MEDIA","correlation_id":"m1"}"#
        );
    }

    #[test]
    fn commands_asterisk_would_misread_are_refused() {
        for id in ["", "a b", "a\0b", "x\n"] {
            let c = Command::MarkMedia {
                correlation_id: Some(id.into()),
            };
            let e = c.encode(ControlFormat::PlainText).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{id:?}");
        }
        let long = Command::StopMediaBuffering {
            correlation_id: Some("x".repeat(120)),
        };
        assert_eq!(
            long.encode(ControlFormat::PlainText).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
    }
}
