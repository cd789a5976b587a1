//! Incremental STOMP frame decoding: bytes arrive in any split (several frames in one SockJS
//! message, one frame across many TCP reads) and come out as [`Frame`]s, within [`Limits`].
//! Heart-beat EOLs between frames are skipped; `content-length` bodies may hold NUL octets.
//!
//! Owns: turning bytes into frames and every way that can fail ([`FrameError`]). Must not: do
//! I/O, read a clock or panic on any input (property-tested below).

use bytes::{Buf, BytesMut};

use super::frame::{BACKSLASH, COLON, CR, Command, Escaping, Frame, LF, NUL, Version};
use super::headers::{CONTENT_LENGTH, RECEIPT};

/// Bytes a command line may take (the longest command, UNSUBSCRIBE/DISCONNECT, plus a CR).
const MAX_COMMAND_LINE: usize = 16;

/// Bounds on one incoming frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of one frame: command, headers and body. Default: 1 MiB.
    pub max_frame_bytes: usize,
    /// Headers in one frame. Default: 64.
    pub max_headers: usize,
    /// Bytes of one header line (name, colon and value, as sent). Default: 8 KiB.
    pub max_header_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame_bytes: 1024 * 1024,
            max_headers: 64,
            max_header_bytes: 8 * 1024,
        }
    }
}

/// Why bytes are not a STOMP frame. Each one becomes an ERROR frame, then the connection
/// closes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The command line names no STOMP command.
    #[error("unknown command {0:?}")]
    UnknownCommand(String),
    /// A header line has no colon.
    #[error("malformed header line")]
    MalformedHeader,
    /// A header uses an escape the version does not define (1.2 "Value Encoding").
    #[error("undefined escape sequence in header")]
    BadEscape,
    /// A header is not UTF-8.
    #[error("header is not UTF-8")]
    NotUtf8,
    /// `content-length` is not a decimal number.
    #[error("invalid content-length")]
    BadContentLength,
    /// The octet after a `content-length` body is not NUL.
    #[error("frame body is not followed by a NUL octet")]
    MissingNul,
    /// The frame is larger than `max_frame_bytes`.
    #[error("frame larger than {0} bytes")]
    TooLarge(usize),
    /// The frame has more than `max_headers` headers.
    #[error("more than {0} headers")]
    TooManyHeaders(usize),
    /// A header line is longer than `max_header_bytes`.
    #[error("header line longer than {0} bytes")]
    HeaderTooLong(usize),
}

/// The head of a frame parsed while its body is still arriving.
#[derive(Debug)]
struct Head {
    command: Command,
    headers: Vec<(String, String)>,
    body_start: usize,
    content_length: Option<usize>,
}

/// Reassembles frames from bytes. After an error it is poisoned: the connection must close.
#[derive(Debug)]
pub struct Decoder {
    buf: BytesMut,
    limits: Limits,
    version: Version,
    head: Option<Head>,
    scan: usize,
}

impl Decoder {
    /// A decoder for a connection that has not yet agreed a version (CONNECT is never escaped).
    pub fn new(limits: Limits) -> Self {
        Decoder {
            buf: BytesMut::new(),
            limits,
            version: Version::V1_2,
            head: None,
            scan: 0,
        }
    }

    /// Sets the agreed version (after CONNECTED), which fixes header unescaping.
    pub fn set_version(&mut self, version: Version) {
        self.version = version;
    }

    /// Appends bytes as they arrived.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes held for a frame not yet complete.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next complete frame, `None` until more bytes arrive.
    ///
    /// # Errors
    /// A [`FrameError`] when the bytes cannot be a frame within the limits.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        if self.head.is_none() {
            self.skip_heartbeats();
            match self.find_head_end() {
                Some((lines_end, body_start)) => {
                    self.head = Some(self.parse_head(lines_end, body_start)?);
                    self.scan = body_start;
                }
                None => return self.incomplete_head(),
            }
        }
        let Some(head) = &self.head else {
            return Ok(None);
        };
        let end = match head.content_length {
            Some(len) => {
                let end = head.body_start.saturating_add(len);
                match self.buf.get(end) {
                    Some(&NUL) => end,
                    Some(_) => return Err(FrameError::MissingNul),
                    None => return Ok(None),
                }
            }
            None => match find(&self.buf, self.scan, NUL) {
                Some(end) => end,
                None => {
                    self.scan = self.buf.len();
                    return self.within_frame_limit(self.buf.len()).map(|()| None);
                }
            },
        };
        self.within_frame_limit(end)?;
        let Some(head) = self.head.take() else {
            return Ok(None);
        };
        let mut frame_bytes = self.buf.split_to(end + 1);
        frame_bytes.advance(head.body_start);
        frame_bytes.truncate(end.saturating_sub(head.body_start));
        self.scan = 0;
        Ok(Some(Frame {
            command: head.command,
            headers: head.headers,
            body: frame_bytes.freeze(),
        }))
    }

    /// The `receipt` header of the frame being decoded, as far as its head has arrived: after
    /// an error, the refused frame's, so its ERROR can carry the `receipt-id` (1.2 "ERROR").
    /// Read best-effort from the raw head when the head itself was refused (an unknown
    /// command, a malformed or oversized header): the first `receipt` line wins, as for any
    /// repeated header, and a value longer than `max_header_bytes` is not taken.
    pub fn receipt(&self) -> Option<String> {
        if let Some(head) = &self.head {
            return head
                .headers
                .iter()
                .find(|(name, _)| name == RECEIPT)
                .map(|(_, value)| value.clone());
        }
        let mut lines = self.buf.as_ref().split(|&b| b == LF).map(trim_cr);
        lines.next(); // the command line
        lines
            .take_while(|line| !line.is_empty())
            .take(self.limits.max_headers)
            .filter(|line| line.len() <= self.limits.max_header_bytes)
            .find_map(|line| {
                line.strip_prefix(RECEIPT.as_bytes())?
                    .strip_prefix(&[COLON])
            })
            .map(|value| String::from_utf8_lossy(value).into_owned())
    }

    fn skip_heartbeats(&mut self) {
        loop {
            match self.buf.first() {
                Some(&LF) => self.buf.advance(1),
                Some(&CR) if self.buf.get(1) == Some(&LF) => self.buf.advance(2),
                _ => break,
            }
            self.scan = 0;
        }
    }

    /// Where the header lines end and the body starts: the first empty line.
    fn find_head_end(&mut self) -> Option<(usize, usize)> {
        let mut at = self.scan;
        while let Some(lf) = find(&self.buf, at, LF) {
            match (self.buf.get(lf + 1), self.buf.get(lf + 2)) {
                (Some(&LF), _) => return Some((lf, lf + 2)),
                (Some(&CR), Some(&LF)) => return Some((lf, lf + 3)),
                (Some(&CR), None) | (None, _) => break,
                _ => at = lf + 1,
            }
        }
        self.scan = self.buf.len().saturating_sub(2);
        None
    }

    fn incomplete_head(&self) -> Result<Option<Frame>, FrameError> {
        let last_line = self.buf.iter().rev().take_while(|&&b| b != LF).count();
        if last_line > self.limits.max_header_bytes.max(MAX_COMMAND_LINE) {
            return Err(FrameError::HeaderTooLong(self.limits.max_header_bytes));
        }
        let most = (self.limits.max_headers + 1)
            .saturating_mul(self.limits.max_header_bytes.saturating_add(2));
        if self.buf.len() > most {
            return Err(FrameError::TooManyHeaders(self.limits.max_headers));
        }
        self.within_frame_limit(self.buf.len()).map(|()| None)
    }

    fn within_frame_limit(&self, len: usize) -> Result<(), FrameError> {
        if len > self.limits.max_frame_bytes {
            return Err(FrameError::TooLarge(self.limits.max_frame_bytes));
        }
        Ok(())
    }

    fn parse_head(&self, lines_end: usize, body_start: usize) -> Result<Head, FrameError> {
        let text = self.buf.get(..lines_end).unwrap_or_default();
        let mut lines = text.split(|&b| b == LF).map(trim_cr);
        let command_line = lines.next().unwrap_or_default();
        let command = Command::parse(command_line).ok_or_else(|| {
            let shown = command_line.get(..MAX_COMMAND_LINE).unwrap_or(command_line);
            FrameError::UnknownCommand(String::from_utf8_lossy(shown).into_owned())
        })?;
        let mode = Escaping::of(self.version, command);
        let mut headers = Vec::new();
        let mut content_length = None;
        for line in lines {
            if headers.len() >= self.limits.max_headers {
                return Err(FrameError::TooManyHeaders(self.limits.max_headers));
            }
            if line.len() > self.limits.max_header_bytes {
                return Err(FrameError::HeaderTooLong(self.limits.max_header_bytes));
            }
            let colon = find(line, 0, COLON).ok_or(FrameError::MalformedHeader)?;
            let (name, value) = line.split_at_checked(colon).unwrap_or_default();
            let value = value.get(1..).unwrap_or_default();
            let (name, value) = (unescape(name, mode)?, unescape(value, mode)?);
            if name == CONTENT_LENGTH && content_length.is_none() {
                let len = value
                    .trim()
                    .parse::<usize>()
                    .map_err(|_| FrameError::BadContentLength)?;
                if body_start.saturating_add(len) > self.limits.max_frame_bytes {
                    return Err(FrameError::TooLarge(self.limits.max_frame_bytes));
                }
                content_length = Some(len);
            }
            headers.push((name, value));
        }
        Ok(Head {
            command,
            headers,
            body_start,
            content_length,
        })
    }
}

fn find(bytes: &[u8], from: usize, needle: u8) -> Option<usize> {
    let rest = bytes.get(from..)?;
    rest.iter().position(|&b| b == needle).map(|i| i + from)
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(&[CR]).unwrap_or(line)
}

/// Header text with `mode`'s escapes undone (1.2 "Value Encoding": an undefined escape is an
/// error).
pub fn unescape(raw: &[u8], mode: Escaping) -> Result<String, FrameError> {
    if mode == Escaping::Raw || !raw.contains(&BACKSLASH) {
        return String::from_utf8(raw.to_vec()).map_err(|_| FrameError::NotUtf8);
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut bytes = raw.iter();
    while let Some(&b) = bytes.next() {
        if b != BACKSLASH {
            out.push(b);
            continue;
        }
        out.push(match (bytes.next(), mode) {
            (Some(b'\\'), _) => BACKSLASH,
            (Some(b'n'), _) => LF,
            (Some(b'c'), _) => COLON,
            (Some(b'r'), Escaping::V1_2) => CR,
            _ => return Err(FrameError::BadEscape),
        });
    }
    String::from_utf8(out).map_err(|_| FrameError::NotUtf8)
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
