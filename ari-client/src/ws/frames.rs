//! The events websocket's frames (RFC 6455, section 5), read and written by the client
//! itself instead of through `tungstenite`.
//!
//! Why: on the event path tungstenite's read cost ~3,700 instructions a frame (callgrind,
//! figure 1c of the bench): a zeroed 16 KiB buffer before every read, a `Bytes` per frame,
//! a `Message` made of it, the waker bookkeeping of `tokio-tungstenite`'s sync adapter.
//! Here a frame is parsed in place in the read buffer (read into its spare capacity,
//! never zeroed), checked, and its text copied once into the [`Frame`] it becomes.
//!
//! What it keeps of the protocol, as tungstenite did with the client's settings:
//! - messages of several frames (continuations), with control frames between them;
//! - pings answered with a pong of the same payload, before anything else is written;
//! - a close frame answered with one (its code echoed) and reported; [`Conn::close`]
//!   sends one;
//! - refused, as errors that end the connection: a frame over `max_frame` or a message
//!   over `max_message` bytes (known from the frame's header: nothing of it is read), a
//!   text message that is not UTF-8, reserved bits, unknown opcodes, a fragmented or
//!   over-long control frame, a continuation without a message or a message inside
//!   another, a masked frame from a server or an unmasked one from a client, an invalid
//!   close code or reason, a frame after the close;
//! - frames written by a client masked with a fresh random key, by a server unmasked.
//!
//! Extensions (compression) are never negotiated by the client's handshake, so no
//! reserved bit may be set.
//!
//! Cancel safety: [`Conn::read`] and [`Conn::flush`] keep their progress in the `Conn`,
//! so dropping their futures loses no byte read and no frame parsed (the peer's close
//! included), writes no byte twice, and leaves no byte unflushed (a TLS stream's buffer).

use bytes::{Buf as _, BytesMut};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::handshake::Upgraded;
use super::Frame;

/// Which end of the websocket this is: a client masks what it writes and must not get
/// masked frames; a server the reverse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Client,
    Server,
}

/// A message or control frame read.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Read {
    Text(Frame),
    /// A binary message of this many bytes (its bytes are dropped).
    Binary(usize),
    /// A ping (its answer queued) or a pong.
    Control,
    /// Nothing read: what waited to be written (a request, a ping's answer, the answer
    /// to a close) was written, so the caller may queue more.
    Sent,
    /// The peer's close frame: its code and reason, if it gave them (answered already).
    Close(Option<(u16, String)>),
}

/// Why reading or writing failed: the connection is over.
#[derive(Debug)]
pub(crate) enum WsError {
    /// The peer closed the TCP connection.
    Eof,
    Io(std::io::Error),
    /// A frame or message over the limit: `(size, limit)`.
    TooLong(u64, usize),
    /// A text message that is not UTF-8.
    Utf8,
    /// Not the websocket protocol.
    Protocol(&'static str),
}

impl std::fmt::Display for WsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WsError::Eof => f.write_str("the server closed the connection (EOF)"),
            WsError::Io(e) => write!(f, "IO error: {e}"),
            WsError::TooLong(size, max) => {
                write!(f, "message too long: {size} > {max}")
            }
            WsError::Utf8 => f.write_str("a text message that is not UTF-8"),
            WsError::Protocol(why) => write!(f, "protocol error: {why}"),
        }
    }
}

const TEXT: u8 = 0x1;
const BINARY: u8 = 0x2;
const CONTINUATION: u8 = 0x0;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;
const PONG: u8 = 0xA;

/// A message whose first frames were read, waiting for its last.
struct Partial {
    text: bool,
    bytes: Vec<u8>,
}

/// The frame parser's state, apart from the socket (so that it can be tested on bytes).
pub(crate) struct Frames {
    role: Role,
    max_message: usize,
    max_frame: usize,
    partial: Option<Partial>,
    /// The peer's close frame came: nothing may follow it.
    closed: bool,
}

/// What a complete frame at the start of the buffer says, once parsed.
enum Parsed {
    /// More bytes are needed: at least this many in all.
    Need(usize),
    Read(Read),
    /// A frame that makes no message yet (the first or a middle part of one).
    Part,
}

impl Frames {
    pub(crate) fn new(role: Role, max_message: usize, max_frame: usize) -> Frames {
        Frames {
            role,
            max_message,
            max_frame,
            partial: None,
            closed: false,
        }
    }

    /// Parses what `buf` holds: the next message or control frame, with the bytes of
    /// the frames it took removed from `buf`; `Ok(None)` when `buf` holds no complete
    /// one (then `buf` has room reserved for the frame it starts). A pong or close to
    /// write in answer is appended to `out`.
    pub(crate) fn parse(
        &mut self,
        buf: &mut BytesMut,
        out: &mut Vec<u8>,
    ) -> Result<Option<Read>, WsError> {
        loop {
            match self.parse_one(buf, out)? {
                Parsed::Need(total) => {
                    buf.reserve(total.saturating_sub(buf.len()));
                    return Ok(None);
                }
                Parsed::Read(read) => return Ok(Some(read)),
                Parsed::Part => {}
            }
        }
    }

    fn parse_one(&mut self, buf: &mut BytesMut, out: &mut Vec<u8>) -> Result<Parsed, WsError> {
        let Some(&[b0, b1]) = buf.get(..2) else {
            return Ok(Parsed::Need(2));
        };
        if self.closed {
            return Err(WsError::Protocol("a frame after the close frame"));
        }
        let fin = b0 & 0x80 != 0;
        if b0 & 0x70 != 0 {
            return Err(WsError::Protocol("reserved bits are set"));
        }
        let opcode = b0 & 0x0f;
        let masked = b1 & 0x80 != 0;
        match (self.role, masked) {
            (Role::Client, true) => {
                return Err(WsError::Protocol("a masked frame from the server"))
            }
            (Role::Server, false) => {
                return Err(WsError::Protocol("an unmasked frame from the client"))
            }
            _ => {}
        }
        let (len, mut at) = match b1 & 0x7f {
            126 => match buf.get(2..4) {
                Some(b) => (u64::from(u16::from_be_bytes([b[0], b[1]])), 4),
                None => return Ok(Parsed::Need(4)),
            },
            127 => match buf.get(2..10) {
                Some(b) => (u64::from_be_bytes(b.try_into().expect("8 bytes")), 10),
                None => return Ok(Parsed::Need(10)),
            },
            n => (u64::from(n), 2),
        };
        let control = opcode & 0x08 != 0;
        if control {
            if !fin {
                return Err(WsError::Protocol("a fragmented control frame"));
            }
            if len > 125 {
                return Err(WsError::Protocol("a control frame over 125 bytes"));
            }
        } else {
            // the limits, from the header alone: nothing of an oversize frame is read
            if len > self.max_frame as u64 {
                return Err(WsError::TooLong(len, self.max_frame));
            }
            let so_far = self.partial.as_ref().map_or(0, |p| p.bytes.len() as u64);
            if so_far + len > self.max_message as u64 {
                return Err(WsError::TooLong(so_far + len, self.max_message));
            }
        }
        let mask = if masked {
            let Some(key) = buf.get(at..at + 4) else {
                return Ok(Parsed::Need(at + 4));
            };
            let key: [u8; 4] = key.try_into().expect("4 bytes");
            at += 4;
            Some(key)
        } else {
            None
        };
        // below the frame limit, so it fits a usize
        let len = len as usize;
        let end = at + len;
        if buf.len() < end {
            return Ok(Parsed::Need(end));
        }
        if let Some(key) = mask {
            unmask(&mut buf[at..end], key);
        }
        let parsed = match opcode {
            TEXT | BINARY => {
                if self.partial.is_some() {
                    return Err(WsError::Protocol("a new message before the last one ended"));
                }
                let text = opcode == TEXT;
                let payload = &buf[at..end];
                if fin {
                    Parsed::Read(message(text, payload)?)
                } else {
                    self.partial = Some(Partial {
                        text,
                        bytes: payload.to_vec(),
                    });
                    Parsed::Part
                }
            }
            CONTINUATION => {
                let Some(partial) = self.partial.as_mut() else {
                    return Err(WsError::Protocol("a continuation frame without a message"));
                };
                partial.bytes.extend_from_slice(&buf[at..end]);
                if fin {
                    let partial = self.partial.take().expect("there");
                    Parsed::Read(message(partial.text, &partial.bytes)?)
                } else {
                    Parsed::Part
                }
            }
            PING => {
                // answered before anything else this end writes next
                frame_into(out, self.role, PONG, &buf[at..end]);
                Parsed::Read(Read::Control)
            }
            PONG => Parsed::Read(Read::Control),
            CLOSE => {
                let close = close_payload(&buf[at..end])?;
                self.closed = true;
                // echoed, code and reason, as the answer
                let mut echo = Vec::new();
                if let Some((code, reason)) = &close {
                    echo.extend_from_slice(&code.to_be_bytes());
                    echo.extend_from_slice(reason.as_bytes());
                }
                frame_into(out, self.role, CLOSE, &echo);
                Parsed::Read(Read::Close(close))
            }
            _ => return Err(WsError::Protocol("an unknown opcode")),
        };
        buf.advance(end);
        Ok(parsed)
    }
}

/// A complete message's payload.
fn message(text: bool, payload: &[u8]) -> Result<Read, WsError> {
    if !text {
        return Ok(Read::Binary(payload.len()));
    }
    match simdutf8::basic::from_utf8(payload) {
        Ok(text) => Ok(Read::Text(Frame::from(text))),
        Err(_) => Err(WsError::Utf8),
    }
}

/// A close frame's code and reason (RFC 6455, 5.5.1 and 7.4). A code that may not be
/// sent stands as 1002 (a protocol error), as tungstenite has it.
fn close_payload(payload: &[u8]) -> Result<Option<(u16, String)>, WsError> {
    match payload {
        [] => Ok(None),
        [_] => Err(WsError::Protocol("a close frame of one byte")),
        [hi, lo, reason @ ..] => {
            let reason = simdutf8::basic::from_utf8(reason).map_err(|_| WsError::Utf8)?;
            let code = u16::from_be_bytes([*hi, *lo]);
            Ok(Some(
                if matches!(code, 1000..=1003 | 1007..=1013 | 3000..=4999) {
                    (code, reason.to_owned())
                } else {
                    (1002, "Protocol violation".to_owned())
                },
            ))
        }
    }
}

/// XORs `payload` with the masking key, byte `i` with `key[i % 4]`.
fn unmask(payload: &mut [u8], key: [u8; 4]) {
    let word = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let mut chunks = payload.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let x = u64::from_ne_bytes(chunk.try_into().expect("8 bytes")) ^ word;
        chunk.copy_from_slice(&x.to_ne_bytes());
    }
    // the remainder starts at a multiple of 8, so at key byte 0
    for (b, k) in chunks.into_remainder().iter_mut().zip(key.iter().cycle()) {
        *b ^= k;
    }
}

/// Appends one final frame of `opcode` with `payload` to `out`: masked with a fresh
/// random key when this end is the client.
pub(crate) fn frame_into(out: &mut Vec<u8>, role: Role, opcode: u8, payload: &[u8]) {
    let mask_bit = if role == Role::Client { 0x80 } else { 0 };
    out.push(0x80 | opcode);
    match payload.len() {
        n if n < 126 => out.push(mask_bit | n as u8),
        n if n <= 0xffff => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    match role {
        Role::Server => out.extend_from_slice(payload),
        Role::Client => {
            let key = (crate::random::u64() as u32).to_ne_bytes();
            out.extend_from_slice(&key);
            let start = out.len();
            out.extend_from_slice(payload);
            unmask(&mut out[start..], key);
        }
    }
}

/// How much one read of the socket asks for at least: some 30 typical events.
const READ_SIZE: usize = 16 << 10;

/// A read buffer larger than this is not kept once empty (after a large message).
const BUFFER_KEPT: usize = 256 << 10;

/// An open websocket: the socket, the frames read and not yet parsed, and the bytes
/// waiting to be written.
pub(crate) struct Conn {
    stream: Upgraded,
    frames: Frames,
    buf: BytesMut,
    out: Vec<u8>,
    /// How much of `out` was written.
    written: usize,
    /// Bytes were written since the stream was last flushed (a TLS stream takes them
    /// into its own buffer: they are sent only when it is flushed).
    unflushed: bool,
    /// The peer's close frame, read and answered: [`read`](Conn::read) returns it once
    /// the answer is written (kept here so that a read dropped meanwhile loses nothing).
    peer_close: Option<Option<(u16, String)>>,
    /// This end sent its close frame.
    close_sent: bool,
}

impl Conn {
    pub(crate) fn new(stream: Upgraded, role: Role, max_message: usize, max_frame: usize) -> Conn {
        Conn {
            stream,
            frames: Frames::new(role, max_message, max_frame),
            buf: BytesMut::with_capacity(READ_SIZE),
            out: Vec::new(),
            written: 0,
            unflushed: false,
            peer_close: None,
            close_sent: false,
        }
    }

    /// The next message or control frame; or, when something waits to be written (a
    /// queued message, a ping's answer), [`Read::Sent`] once it is written.
    pub(crate) async fn read(&mut self) -> Result<Read, WsError> {
        if self.writing() {
            self.flush().await?;
            return Ok(Read::Sent);
        }
        loop {
            if let Some(close) = self.peer_close.take() {
                return Ok(Read::Close(close));
            }
            match self.frames.parse(&mut self.buf, &mut self.out)? {
                Some(Read::Close(close)) => {
                    // the answer to a close is this end's close: written before the close
                    // is returned (a peer that is gone already cannot read it, and its
                    // close is reported all the same)
                    self.close_sent = true;
                    self.peer_close = Some(close);
                    let _ = self.flush().await;
                    continue;
                }
                // a ping's pong is written by the next read, before anything else
                Some(read) => return Ok(read),
                None => {}
            }
            if self.buf.is_empty() && self.buf.capacity() > BUFFER_KEPT {
                self.buf = BytesMut::with_capacity(READ_SIZE);
            }
            if self.buf.capacity() - self.buf.len() < READ_SIZE / 4 {
                self.buf.reserve(READ_SIZE);
            }
            match self.stream.read_buf(&mut self.buf).await {
                Ok(0) => return Err(WsError::Eof),
                Ok(_) => {}
                Err(e) => return Err(WsError::Io(e)),
            }
        }
    }

    /// Whether something waits to be written (or flushed): the next
    /// [`read`](Conn::read) writes it before it reads.
    pub(crate) fn writing(&self) -> bool {
        self.unflushed || self.written < self.out.len()
    }

    /// Queues a text message, written by the next [`read`](Conn::read) or
    /// [`flush`](Conn::flush) (after what waits to be written).
    pub(crate) fn queue_text(&mut self, text: &str) -> Result<(), WsError> {
        self.queue(TEXT, text.as_bytes())
    }

    /// Queues a ping and writes it.
    pub(crate) async fn ping(&mut self) -> Result<(), WsError> {
        self.queue(PING, &[])?;
        self.flush().await
    }

    /// Sends a close frame (without a code) unless one was sent, and writes what waits.
    pub(crate) async fn close(&mut self) -> Result<(), WsError> {
        if !self.close_sent {
            self.queue(CLOSE, &[])?;
            self.close_sent = true;
        }
        self.flush().await
    }

    fn queue(&mut self, opcode: u8, payload: &[u8]) -> Result<(), WsError> {
        if self.close_sent {
            return Err(WsError::Protocol("sending after the close frame"));
        }
        if self.written == self.out.len() {
            self.out.clear();
            self.written = 0;
        }
        frame_into(&mut self.out, self.frames.role, opcode, payload);
        Ok(())
    }

    /// Writes what waits in `out` and flushes the stream. Cancel safe: what was written
    /// is not written again, and the stream is flushed by the next call (or the next
    /// [`read`](Conn::read)) when this one was dropped before it was.
    pub(crate) async fn flush(&mut self) -> Result<(), WsError> {
        self.unflushed = true;
        while self.written < self.out.len() {
            match self.stream.write(&self.out[self.written..]).await {
                Ok(0) => return Err(WsError::Eof),
                Ok(n) => self.written += n,
                Err(e) => return Err(WsError::Io(e)),
            }
        }
        self.out.clear();
        self.written = 0;
        self.stream.flush().await.map_err(WsError::Io)?;
        self.unflushed = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
