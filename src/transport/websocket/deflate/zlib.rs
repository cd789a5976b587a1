//! Raw DEFLATE of one whole message, both ways (RFC 7692 section 7.2), with flate2's
//! pure-Rust backend (miniz_oxide). No context is taken over between messages, so the
//! compressor and decompressor are one per thread, reset before each message: a socket
//! holds none. Pure apart from those two thread-local scratch states.

use std::cell::RefCell;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// What a sync flush ends with, removed from every compressed message and put back before
/// inflating it (RFC 7692 sections 7.2.1 and 7.2.2).
const SYNC_TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];
/// Output room added at a time while inflating (the output still never passes the limit
/// by more than this).
const INFLATE_STEP: usize = 16 * 1024;

thread_local! {
    /// The worker's compressor, with its level (miniz_oxide: about 300 KiB, per thread).
    static COMPRESSOR: RefCell<Option<(u32, Compress)>> = const { RefCell::new(None) };
    /// The worker's decompressor (miniz_oxide: a 32 KiB window and tables, per thread).
    static DECOMPRESSOR: RefCell<Option<Decompress>> = const { RefCell::new(None) };
}

/// Why a compressed message cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InflateError {
    /// It inflates past the limit (found without inflating the rest).
    TooBig,
    /// It is not a valid DEFLATE stream.
    Corrupt,
}

/// `message` deflated on its own, its sync-flush tail removed; `None` only if the
/// compressor fails (it does not on valid input).
pub fn deflate(message: &[u8], level: u32) -> Option<Vec<u8>> {
    COMPRESSOR.with_borrow_mut(|slot| {
        let compress = match slot {
            Some((l, compress)) if *l == level => compress,
            _ => {
                &mut slot
                    .insert((level, Compress::new(Compression::new(level), false)))
                    .1
            }
        };
        compress.reset();
        let start = compress.total_in();
        let mut out = Vec::with_capacity(message.len() / 2 + 64);
        loop {
            let used = usize::try_from(compress.total_in() - start).ok()?;
            if out.len() == out.capacity() {
                out.reserve(out.capacity());
            }
            compress
                .compress_vec(&message[used..], &mut out, FlushCompress::Sync)
                .ok()?;
            // Done once all input is in and the flush did not fill the output.
            if compress.total_in() - start == message.len() as u64 && out.len() < out.capacity() {
                break;
            }
        }
        let body = out.len().checked_sub(SYNC_TAIL.len())?;
        (out[body..] == SYNC_TAIL).then(|| {
            out.truncate(body);
            out
        })
    })
}

/// The message `compressed` holds (its sync-flush tail removed, as sent), refused as soon as
/// it passes `max` bytes.
pub fn inflate(compressed: &[u8], max: usize) -> Result<Vec<u8>, InflateError> {
    DECOMPRESSOR.with_borrow_mut(|slot| {
        let decompress = slot.get_or_insert_with(|| Decompress::new(false));
        decompress.reset(false);
        let mut out =
            Vec::with_capacity(compressed.len().saturating_mul(3).clamp(64, INFLATE_STEP));
        for input in [compressed, &SYNC_TAIL] {
            if inflate_part(decompress, input, &mut out, max)? == Status::StreamEnd {
                // A final block: what follows it (the tail we added) is not data.
                break;
            }
        }
        Ok(out)
    })
}

/// Feeds all of `input` to the decompressor, growing `out` by [`INFLATE_STEP`] at most
/// `max` (plus one byte, to see it passed).
fn inflate_part(
    decompress: &mut Decompress,
    input: &[u8],
    out: &mut Vec<u8>,
    max: usize,
) -> Result<Status, InflateError> {
    let start = decompress.total_in();
    loop {
        if out.len() > max {
            return Err(InflateError::TooBig);
        }
        if out.len() == out.capacity() {
            let room = INFLATE_STEP.min(max.saturating_add(1) - out.len());
            out.reserve_exact(room);
        }
        let used =
            usize::try_from(decompress.total_in() - start).map_err(|_| InflateError::Corrupt)?;
        let before = (decompress.total_in(), decompress.total_out());
        let status = decompress
            .decompress_vec(&input[used..], out, FlushDecompress::Sync)
            .map_err(|_| InflateError::Corrupt)?;
        if out.len() > max {
            return Err(InflateError::TooBig);
        }
        let done = decompress.total_in() - start == input.len() as u64;
        match status {
            Status::StreamEnd => return Ok(status),
            _ if done && out.len() < out.capacity() => return Ok(status),
            _ if (decompress.total_in(), decompress.total_out()) == before => {
                return Err(InflateError::Corrupt);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_survives_the_round_trip_and_shrinks() {
        let message = "hello, hello, hello, hello! ".repeat(100);
        let compressed = deflate(message.as_bytes(), 6).unwrap();
        assert!(
            compressed.len() < message.len() / 10,
            "{}",
            compressed.len()
        );
        assert_eq!(inflate(&compressed, 1 << 20).unwrap(), message.as_bytes());
        // The compressor starts afresh: the same message compresses the same way again.
        assert_eq!(deflate(message.as_bytes(), 6).unwrap(), compressed);
        assert_eq!(inflate(&deflate(b"", 1).unwrap(), 10).unwrap(), b"");
    }

    #[test]
    fn rfc_7692s_example_inflates() {
        // Section 7.2.3.1: "Hello" compressed, without the tail.
        let hello = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
        assert_eq!(inflate(&hello, 5).unwrap(), b"Hello");
        assert_eq!(inflate(&hello, 4), Err(InflateError::TooBig));
        // Section 7.2.3.3: a stored block, then a final compressed one.
        let stored = [
            0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
        ];
        assert_eq!(inflate(&stored, 5).unwrap(), b"Hello");
    }

    #[test]
    fn a_bomb_is_refused_at_the_limit_without_inflating_it_whole() {
        // 16 MiB of zeros: about 16 KiB compressed.
        let bomb = deflate(&vec![0u8; 16 << 20], 9).unwrap();
        assert!(bomb.len() < 32 * 1024, "{}", bomb.len());
        let started = std::time::Instant::now();
        assert_eq!(inflate(&bomb, 1 << 20), Err(InflateError::TooBig));
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn garbage_is_corrupt_not_a_panic() {
        assert_eq!(inflate(&[0xff; 20], 1000), Err(InflateError::Corrupt));
    }
}
