//! Splitting a streaming body into SockJS frames by each transport's own delimiters, for
//! servers behind a proxy: chunk boundaries are hop-by-hop, so a proxy may merge or cut the
//! one-frame-per-chunk stream the server sent. Pure: bytes in, frames out.
//!
//! Must not: read from the network (`stream.rs` feeds it).

/// The delimiters of one streaming transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delimiters {
    /// xhr_streaming: a 2048-`h` prelude ending with `\n`, then `\n`-terminated frames.
    XhrStreaming,
    /// eventsource: a `\r\n` prelude, then events ending with `\r\n\r\n`.
    EventSource,
    /// htmlfile: the padded page head ending with `\r\n\r\n`, then blocks ending with
    /// `</script>\r\n`.
    HtmlFile,
}

impl Delimiters {
    /// The delimiters of the transport a request path names (`.../xhr_streaming`,
    /// `.../eventsource`, `.../htmlfile?c=...`), if it is a streaming one.
    pub fn for_path(path: &str) -> Option<Delimiters> {
        let path = path.split(['?', '#']).next().unwrap_or(path);
        match path.rsplit('/').next()? {
            "xhr_streaming" => Some(Delimiters::XhrStreaming),
            "eventsource" => Some(Delimiters::EventSource),
            "htmlfile" => Some(Delimiters::HtmlFile),
            _ => None,
        }
    }

    /// What ends the first frame (the prelude) and what ends every later one.
    fn terminator(self, first: bool) -> &'static [u8] {
        match (self, first) {
            (Delimiters::XhrStreaming, _) => b"\n",
            (Delimiters::EventSource, true) => b"\r\n",
            (Delimiters::EventSource, false) => b"\r\n\r\n",
            (Delimiters::HtmlFile, true) => b"\r\n\r\n",
            (Delimiters::HtmlFile, false) => b"</script>\r\n",
        }
    }
}

/// Bytes received so far and the frames already taken from them.
#[derive(Debug)]
pub struct Splitter {
    delimiters: Delimiters,
    buf: Vec<u8>,
    taken: usize,
}

impl Splitter {
    /// A splitter at the start of a body.
    pub fn new(delimiters: Delimiters) -> Splitter {
        Splitter {
            delimiters,
            buf: Vec::new(),
            taken: 0,
        }
    }

    /// Appends body bytes as they arrived.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete frame (with its terminator), if the bytes so far hold one.
    pub fn next_frame(&mut self) -> Option<Vec<u8>> {
        let end = self.delimiters.terminator(self.taken == 0);
        let at = self.buf.windows(end.len()).position(|w| w == end)?;
        self.taken += 1;
        Some(self.buf.drain(..at + end.len()).collect())
    }

    /// Bytes after the last complete frame.
    pub fn rest(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }

    /// Buffered bytes not yet returned as a frame.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_in_pieces(d: Delimiters, body: &[u8], piece: usize) -> Vec<Vec<u8>> {
        let mut s = Splitter::new(d);
        let mut out = Vec::new();
        for part in body.chunks(piece) {
            s.push(part);
            while let Some(f) = s.next_frame() {
                out.push(f);
            }
        }
        assert_eq!(s.pending(), 0);
        out
    }

    #[test]
    fn xhr_streaming_frames_survive_any_rechunking() {
        let mut body = vec![b'h'; 2048];
        body.extend_from_slice(b"\no\na[\"x\"]\n");
        for piece in [1, 7, 2049, 5000] {
            let frames = split_in_pieces(Delimiters::XhrStreaming, &body, piece);
            assert_eq!(frames.len(), 3);
            assert_eq!(frames[0].len(), 2049);
            assert_eq!(frames[2], b"a[\"x\"]\n");
        }
    }

    #[test]
    fn eventsource_prelude_then_events() {
        let body = b"\r\ndata: o\r\n\r\ndata: a[\"x\"]\r\n\r\n";
        let frames = split_in_pieces(Delimiters::EventSource, body, 3);
        assert_eq!(
            frames,
            vec![
                b"\r\n".to_vec(),
                b"data: o\r\n\r\n".to_vec(),
                b"data: a[\"x\"]\r\n\r\n".to_vec()
            ]
        );
    }

    #[test]
    fn htmlfile_head_then_script_blocks() {
        let body = b"<html>  \r\n\r\n<script>\np(\"o\");\n</script>\r\n";
        let frames = split_in_pieces(Delimiters::HtmlFile, body, 5);
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[1], b"<script>\np(\"o\");\n</script>\r\n");
    }

    #[test]
    fn transports_are_recognised_from_paths() {
        assert_eq!(
            Delimiters::for_path("/echo/0/a/htmlfile?c=x"),
            Some(Delimiters::HtmlFile)
        );
        assert_eq!(
            Delimiters::for_path("/echo/0/a/xhr_streaming"),
            Some(Delimiters::XhrStreaming)
        );
        assert_eq!(Delimiters::for_path("/echo/0/a/xhr"), None);
    }
}
