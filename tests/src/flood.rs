//! The stderr flood written by `test-child stderr-flood`: a deterministic byte
//! stream, so that a test can compute exactly which bytes ended it.
//!
//! The stream mixes empty, short and over-4-KiB lines (some ending in `\r\n`)
//! and holds one single 3 MiB line without a newline at [`LONG_LINE`].

use std::io::{self, Write};
use std::ops::Range;

const MIB: u64 = 1024 * 1024;

/// Where the single long line sits in the stream.
pub const LONG_LINE: Range<u64> = 10 * MIB..13 * MIB;

/// The length of the repeating part of the stream: a prime, so that it never
/// lines up with pipe, buffer or ring sizes.
const PERIOD: usize = 65_521;

/// The flood, generated from its start.
#[derive(Debug, Clone)]
pub struct Flood {
    block: Vec<u8>,
    offset: u64,
}

impl Default for Flood {
    fn default() -> Self {
        Self::new()
    }
}

impl Flood {
    /// The flood, positioned at its first byte.
    pub fn new() -> Self {
        let mut block = Vec::with_capacity(PERIOD + 9_000);
        let mut line = 0_u64;
        while block.len() < PERIOD {
            let len = ((line * line * 31 + 7) % 9_000) as usize;
            let letter = b'a' + (line % 26) as u8;
            block.extend(std::iter::repeat_n(letter, len));
            if line % 5 == 0 {
                block.push(b'\r');
            }
            block.push(b'\n');
            line += 1;
        }
        block.truncate(PERIOD);
        Flood { block, offset: 0 }
    }

    /// How many bytes [`write_next`](Self::write_next) produced so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The bytes of the stream at `range`, wherever the flood is positioned.
    pub fn bytes(&self, range: Range<u64>) -> Vec<u8> {
        let mut out = vec![0; (range.end - range.start) as usize];
        self.fill(range.start, &mut out);
        out
    }

    /// Writes the next `len` bytes of the stream to `out`, in chunks.
    ///
    /// # Errors
    /// The writer's error.
    pub fn write_next(&mut self, len: u64, out: &mut impl Write) -> io::Result<()> {
        let mut chunk = vec![0; 64 * 1024];
        let end = self.offset + len;
        while self.offset < end {
            let n = chunk.len().min((end - self.offset) as usize);
            self.fill(self.offset, &mut chunk[..n]);
            out.write_all(&chunk[..n])?;
            self.offset += n as u64;
        }
        out.flush()
    }

    fn fill(&self, mut offset: u64, mut out: &mut [u8]) {
        while !out.is_empty() {
            let n = if LONG_LINE.contains(&offset) {
                let n = out.len().min((LONG_LINE.end - offset) as usize);
                out[..n].fill(b'#');
                n
            } else {
                let at = (offset % PERIOD as u64) as usize;
                let mut n = out.len().min(PERIOD - at);
                if offset < LONG_LINE.start {
                    n = n.min((LONG_LINE.start - offset) as usize);
                }
                out[..n].copy_from_slice(&self.block[at..at + n]);
                n
            };
            offset += n as u64;
            out = &mut out[n..];
        }
    }
}
