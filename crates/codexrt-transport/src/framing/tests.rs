//! Framing tests: scripted chunked input against the frames that must come out.

use std::collections::VecDeque;
use std::io;
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, ReadBuf};

use super::{LineDecoder, LineReader, READ_CHUNK};
use crate::{FrameError, Inbound};

/// What the decoder yields, in a form that is easy to write down.
#[derive(Debug, PartialEq, Eq)]
enum Out {
    Frame(Vec<u8>),
    /// An over-long frame, with the first `max_len + 1` bytes of its reported
    /// prefix: how much more of it the prefix holds depends on how the input
    /// was split into reads.
    TooLong(Vec<u8>),
}

fn frame(text: &str) -> Out {
    Out::Frame(text.as_bytes().to_vec())
}

fn too_long(start: &[u8]) -> Out {
    Out::TooLong(start.to_vec())
}

/// The item as an [`Out`], after checking what holds for every over-long
/// frame report: the sizes, and a prefix that is the start of what was seen.
fn out(item: Inbound, max_len: usize) -> Out {
    match item {
        Ok(frame) => Out::Frame(frame.to_vec()),
        Err(FrameError::TooLong {
            max_len: reported,
            seen,
            prefix,
        }) => {
            assert_eq!(reported, max_len);
            assert!(seen > max_len, "seen {seen} of at most {max_len}");
            assert_eq!(prefix.len(), seen.min(FrameError::PREFIX_LEN));
            Out::TooLong(prefix[..max_len + 1].to_vec())
        }
    }
}

/// An `AsyncRead` that hands out exactly the scripted chunks, one per read,
/// then end of file.
struct Chunks {
    chunks: VecDeque<Vec<u8>>,
}

impl AsyncRead for Chunks {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Some(mut chunk) = self.chunks.pop_front() {
            let n = chunk.len().min(buf.remaining());
            buf.put_slice(&chunk[..n]);
            if n < chunk.len() {
                self.chunks.push_front(chunk.split_off(n));
            }
        }
        Poll::Ready(Ok(()))
    }
}

async fn read_items(chunks: &[&[u8]], max_len: usize) -> Vec<Inbound> {
    let reader = Chunks {
        chunks: chunks.iter().map(|c| c.to_vec()).collect(),
    };
    let mut reader = LineReader::new(reader, max_len);
    let mut items = Vec::new();
    while let Some(item) = reader
        .next_frame()
        .await
        .expect("scripted reads do not fail")
    {
        items.push(item);
    }
    items
}

async fn read_all(chunks: &[&[u8]], max_len: usize) -> Vec<Out> {
    let items = read_items(chunks, max_len).await;
    items.into_iter().map(|item| out(item, max_len)).collect()
}

/// Checks the frames decoded from `chunks` (each chunk one read), and that the
/// same bytes fed one byte per read decode to the same frames.
fn check(chunks: &[&[u8]], max_len: usize, expected: Vec<Out>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let got = runtime.block_on(read_all(chunks, max_len));
    assert_eq!(got, expected, "chunks {chunks:?}");
    let all: Vec<u8> = chunks.concat();
    let bytes: Vec<&[u8]> = all.chunks(1).collect();
    let got = runtime.block_on(read_all(&bytes, max_len));
    assert_eq!(got, expected, "byte by byte: {chunks:?}");
}

#[test]
fn one_frame_per_read() {
    check(
        &[b"{\"a\":1}\n", b"{\"b\":2}\n"],
        64,
        vec![frame("{\"a\":1}"), frame("{\"b\":2}")],
    );
}

#[test]
fn frame_split_across_reads() {
    check(&[b"{\"a\":", b"1}", b"\n"], 64, vec![frame("{\"a\":1}")]);
}

#[test]
fn many_frames_per_read() {
    check(
        &[b"one\ntwo\nthree\n"],
        64,
        vec![frame("one"), frame("two"), frame("three")],
    );
}

#[test]
fn crlf_is_stripped() {
    check(
        &[b"one\r\ntwo\r", b"\nthree\r\n"],
        64,
        vec![frame("one"), frame("two"), frame("three")],
    );
}

#[test]
fn a_lone_carriage_return_inside_a_frame_stays() {
    check(&[b"a\rb\n"], 64, vec![frame("a\rb")]);
}

#[test]
fn blank_lines_are_skipped() {
    check(
        &[b"\n\none\n\r\n\n", b"two\n\n"],
        64,
        vec![frame("one"), frame("two")],
    );
}

#[test]
fn final_unterminated_frame_at_eof() {
    check(&[b"one\ntw", b"o"], 64, vec![frame("one"), frame("two")]);
    check(&[b"one\ntwo\r"], 64, vec![frame("one"), frame("two")]);
}

#[test]
fn empty_input() {
    check(&[], 64, vec![]);
    check(&[b"\n\r\n"], 64, vec![]);
}

#[test]
fn over_long_frame_then_a_good_one() {
    let long = vec![b'x'; 100];
    let input = [long.as_slice(), b"\n", b"good\n"].concat();
    check(&[&input], 10, vec![too_long(&long[..11]), frame("good")]);
    // The over-long frame arrives in pieces; it is reported once.
    check(
        &[&long[..30], &long[30..], b"\ngood\n"],
        10,
        vec![too_long(&long[..11]), frame("good")],
    );
}

#[test]
fn frame_of_exactly_the_maximum_length() {
    check(&[b"0123456789\n"], 10, vec![frame("0123456789")]);
    check(&[b"0123456789\r\n"], 10, vec![frame("0123456789")]);
    check(&[b"0123456789A\n"], 10, vec![too_long(b"0123456789A")]);
    check(&[b"0123456789"], 10, vec![frame("0123456789")]);
    check(&[b"0123456789A"], 10, vec![too_long(b"0123456789A")]);
}

#[test]
fn over_long_frame_cut_by_eof() {
    check(
        &[b"ok\n", &[b'y'; 50]],
        10,
        vec![frame("ok"), too_long(&[b'y'; 11])],
    );
}

#[test]
fn invalid_utf8_passes_through_untouched() {
    // Frames are bytes; deciding what they mean is the layer above's job.
    check(
        &[b"\xff\xfe\n", b"ok\n"],
        64,
        vec![Out::Frame(vec![0xff, 0xfe]), frame("ok")],
    );
}

#[test]
fn garbage_interleaved_with_valid_frames() {
    let mut input = Vec::new();
    let mut expected = Vec::new();
    for i in 0..10_000 {
        let garbage = format!("garbage {i} }}{{ \u{1}\n");
        input.extend_from_slice(garbage.as_bytes());
        expected.push(Out::Frame(garbage.trim_end().as_bytes().to_vec()));
        let valid = format!("{{\"n\":{i}}}\n");
        input.extend_from_slice(valid.as_bytes());
        expected.push(Out::Frame(valid.trim_end().as_bytes().to_vec()));
    }
    let chunks: Vec<&[u8]> = input.chunks(4093).collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    assert_eq!(runtime.block_on(read_all(&chunks, 1024)), expected);
}

#[test]
fn decoder_keeps_its_buffer_bounded_while_discarding() {
    let mut decoder = LineDecoder::new(16);
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&[b'z'; 40]);
    assert_eq!(
        decoder.decode(&mut buf),
        Some(Err(FrameError::TooLong {
            max_len: 16,
            seen: 40,
            prefix: Bytes::from_static(&[b'z'; 40]),
        }))
    );
    for _ in 0..1000 {
        buf.extend_from_slice(&[b'z'; 40]);
        assert_eq!(decoder.decode(&mut buf), None);
        assert!(buf.is_empty());
    }
    buf.extend_from_slice(b"zz\nnext\n");
    assert_eq!(
        decoder.decode(&mut buf),
        Some(Ok(Bytes::from_static(b"next")))
    );
    assert_eq!(decoder.decode(&mut buf), None);
}

#[test]
fn a_large_frame_in_small_reads() {
    // 8 MiB arriving in 1 KiB reads: completes (the cost is linear; the
    // benchmark measures it, this test checks the result).
    let big = vec![b'a'; 8 * 1024 * 1024];
    let input = [big.as_slice(), b"\n"].concat();
    let chunks: Vec<&[u8]> = input.chunks(1024).collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let got = runtime.block_on(read_all(&chunks, super::DEFAULT_MAX_FRAME_LEN));
    assert_eq!(got, vec![Out::Frame(big)]);
}

/// Bytes that are easy to tell apart by position and hold no newline.
fn pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| b"abcdefghijklmnopqrstuvwxyz"[i % 26])
        .collect()
}

fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
        .block_on(future)
}

#[test]
fn an_over_long_frame_is_reported_with_its_prefix_then_skipped() {
    let long = pattern(5000);
    let input = [long.as_slice(), b"\n{\"id\":2}\n"].concat();
    let report = |seen| {
        Err(FrameError::TooLong {
            max_len: 2000,
            seen,
            prefix: Bytes::copy_from_slice(&long[..FrameError::PREFIX_LEN]),
        })
    };
    let next = Ok(Bytes::from_static(b"{\"id\":2}"));
    // The whole line in one read: its length is known.
    assert_eq!(
        block_on(read_items(&[&input], 2000)),
        vec![report(5000), next.clone()]
    );
    // In small reads it is reported after the read that passes the limit,
    // long before its end.
    let chunks: Vec<&[u8]> = input.chunks(100).collect();
    assert_eq!(
        block_on(read_items(&chunks, 2000)),
        vec![report(2100), next]
    );
}

#[test]
fn the_report_of_an_over_long_frame_leaves_its_content_out() {
    let err = FrameError::too_long(b"{\"secret\":1}", 12, 10);
    assert_eq!(
        err.to_string(),
        "inbound frame exceeds the limit of 10 bytes (at least 12 bytes) and was discarded"
    );
}

/// An `AsyncRead` that hands out the scripted chunks one per read, and is
/// not ready before each of them. After the last one it ends, or with
/// `hang`, is never ready again (a peer that stops in the middle of a line).
struct Trickle {
    chunks: VecDeque<Vec<u8>>,
    ready: bool,
    hang: bool,
}

impl AsyncRead for Trickle {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.ready || (self.hang && self.chunks.is_empty()) {
            self.ready = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        self.ready = false;
        if let Some(mut chunk) = self.chunks.pop_front() {
            let n = chunk.len().min(buf.remaining());
            buf.put_slice(&chunk[..n]);
            if n < chunk.len() {
                self.chunks.push_front(chunk.split_off(n));
            }
        }
        Poll::Ready(Ok(()))
    }
}

/// What [`step_through`] saw.
struct Steps {
    items: Vec<Inbound>,
    /// After every poll of the reader: how many items it had returned, and
    /// the larger of its buffer's capacity and the allocation it made last.
    capacities: Vec<(usize, usize)>,
}

impl Steps {
    /// The largest capacity seen while `items` items had been returned.
    fn peak(&self, items: std::ops::RangeInclusive<usize>) -> usize {
        self.capacities
            .iter()
            .filter(|(returned, _)| items.contains(returned))
            .map(|&(_, capacity)| capacity)
            .max()
            .unwrap_or(0)
    }
}

/// Polls a reader of `input` (in `chunk`-byte reads) by hand, one read per
/// poll, looking at its buffer in between; stops at the end of the input or,
/// with `hang`, once the input is used up and no item is pending.
fn step_through(input: &[u8], chunk: usize, max_len: usize, hang: bool) -> Steps {
    let trickle = Trickle {
        chunks: input.chunks(chunk).map(<[u8]>::to_vec).collect(),
        ready: false,
        hang,
    };
    let mut reader = LineReader::new(trickle, max_len);
    let mut cx = Context::from_waker(Waker::noop());
    let mut steps = Steps {
        items: Vec::new(),
        capacities: Vec::new(),
    };
    // Two polls per read at most, and one per item.
    for _ in 0..4 * (input.len() / chunk + 2) {
        let poll = pin!(reader.next_frame()).poll(&mut cx);
        steps.capacities.push((
            steps.items.len(),
            reader.buf.capacity().max(reader.allocated),
        ));
        match poll {
            Poll::Ready(Ok(Some(item))) => steps.items.push(item),
            Poll::Ready(Ok(None)) => return steps,
            Poll::Ready(Err(err)) => panic!("scripted reads do not fail: {err}"),
            Poll::Pending if hang && reader.reader.chunks.is_empty() => return steps,
            Poll::Pending => {}
        }
    }
    panic!("the reader did not finish");
}

#[test]
fn an_over_long_frame_is_reported_before_its_end_arrives() {
    // The peer writes 3000 bytes of a line and then nothing more.
    let steps = step_through(&pattern(3000), 100, 1000, true);
    assert_eq!(
        steps.items,
        vec![Err(FrameError::TooLong {
            max_len: 1000,
            seen: 1100,
            prefix: Bytes::from(pattern(FrameError::PREFIX_LEN)),
        })]
    );
}

#[test]
fn the_buffer_stays_within_the_limit_plus_a_chunk_during_a_long_frame() {
    const MAX: usize = 1 << 20;
    // Over the limit, then a good frame.
    let input = [pattern(3 * MAX).as_slice(), b"\nok\n"].concat();
    let steps = step_through(&input, 1000, MAX, false);
    assert_eq!(steps.items.len(), 2);
    assert!(matches!(&steps.items[0], Err(FrameError::TooLong { .. })));
    assert_eq!(steps.items[1], Ok(Bytes::from_static(b"ok")));
    let peak = steps.peak(0..=2);
    assert!(peak <= MAX + READ_CHUNK, "peak capacity {peak}");
    // Exactly the limit, which is accepted.
    let input = [pattern(MAX).as_slice(), b"\r\nok\n"].concat();
    let steps = step_through(&input, 1000, MAX, false);
    assert_eq!(steps.items.len(), 2);
    assert_eq!(steps.items[0].as_ref().map(Bytes::len), Ok(MAX));
    let peak = steps.peak(0..=2);
    assert!(peak <= MAX + READ_CHUNK, "peak capacity {peak}");
}

#[test]
fn the_buffer_shrinks_once_a_big_frame_is_out() {
    const MAX: usize = 16 << 20;
    let small = 2 * READ_CHUNK;
    // A frame the limit accepts, then small ones.
    let input = [pattern(4 << 20).as_slice(), b"\none\ntwo\n"].concat();
    let steps = step_through(&input, 4096, MAX, false);
    assert_eq!(steps.items.len(), 3);
    assert!(
        steps.peak(0..=0) >= 4 << 20,
        "the buffer grew for the frame"
    );
    let after = steps.peak(1..=3);
    assert!(after <= small, "capacity {after} after the big frame");
    // A frame over the limit: the buffer shrinks as soon as it is reported,
    // and stays small while the rest of the frame is discarded.
    let input = [pattern(3 << 20).as_slice(), b"\none\n"].concat();
    let steps = step_through(&input, 4096, 1 << 20, false);
    assert_eq!(steps.items.len(), 2);
    assert!(
        steps.peak(0..=0) >= 1 << 20,
        "the buffer grew for the frame"
    );
    let after = steps.peak(1..=2);
    assert!(after <= small, "capacity {after} after the report");
}

#[test]
fn at_the_default_limit_a_line_one_byte_longer_is_reported_and_the_next_is_read() {
    const MAX: usize = super::DEFAULT_MAX_FRAME_LEN;
    // Exactly 64 MiB is a frame.
    let input = [pattern(MAX).as_slice(), b"\nok\n"].concat();
    let steps = step_through(&input, READ_CHUNK, MAX, false);
    assert_eq!(steps.items.len(), 2);
    assert_eq!(steps.items[0], Ok(Bytes::from(pattern(MAX))));
    assert_eq!(steps.items[1], Ok(Bytes::from_static(b"ok")));
    // 64 MiB + 1 is reported once, without its content, and skipped.
    let input = [pattern(MAX + 1).as_slice(), b"\nok\n"].concat();
    let steps = step_through(&input, READ_CHUNK, MAX, false);
    assert_eq!(
        steps.items,
        vec![
            Err(FrameError::TooLong {
                max_len: MAX,
                seen: MAX + 1,
                prefix: Bytes::from(pattern(FrameError::PREFIX_LEN)),
            }),
            Ok(Bytes::from_static(b"ok")),
        ]
    );
    let peak = steps.peak(0..=2);
    assert!(peak <= MAX + READ_CHUNK, "peak capacity {peak}");
}

/// An `AsyncRead` of `left` bytes of [`pattern`] (no newline) and then
/// `tail`, a chunk at most per read, not ready before each read, made up as
/// it goes so that a gigabyte needs no gigabyte of memory.
struct Endless {
    left: usize,
    tail: &'static [u8],
    ready: bool,
}

impl AsyncRead for Endless {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.ready {
            self.ready = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        self.ready = false;
        // 26 * 2521 bytes: a whole number of alphabets, so every read goes on
        // where the last one stopped.
        static BLOCK: std::sync::LazyLock<Vec<u8>> =
            std::sync::LazyLock::new(|| pattern(26 * 2521));
        if self.left > 0 {
            let n = self.left.min(BLOCK.len()).min(buf.remaining());
            buf.put_slice(&BLOCK[..n]);
            self.left -= n;
        } else {
            let n = self.tail.len().min(buf.remaining());
            buf.put_slice(&self.tail[..n]);
            self.tail = &self.tail[n..];
        }
        Poll::Ready(Ok(()))
    }
}

#[test]
fn a_gigabyte_without_a_newline_is_reported_once_in_bounded_memory() {
    const GIB: usize = 1 << 30;
    const MAX: usize = super::DEFAULT_MAX_FRAME_LEN;
    let mut reader = LineReader::new(
        Endless {
            left: GIB,
            tail: b"\nok\n",
            ready: false,
        },
        MAX,
    );
    let mut cx = Context::from_waker(Waker::noop());
    let mut items = Vec::new();
    let mut peak = 0;
    loop {
        let poll = pin!(reader.next_frame()).poll(&mut cx);
        peak = peak.max(reader.buf.capacity().max(reader.allocated));
        match poll {
            Poll::Ready(Ok(Some(item))) => items.push(item),
            Poll::Ready(Ok(None)) => break,
            Poll::Ready(Err(err)) => panic!("made-up reads do not fail: {err}"),
            Poll::Pending => {}
        }
    }
    assert_eq!(reader.reader.left, 0, "the whole gigabyte was read");
    let [
        Err(FrameError::TooLong {
            max_len,
            seen,
            prefix,
        }),
        Ok(next),
    ] = items.as_slice()
    else {
        panic!("one report and one frame, got {} items", items.len());
    };
    assert_eq!(*max_len, MAX);
    assert!(*seen > MAX && *seen <= MAX + READ_CHUNK, "seen {seen}");
    assert_eq!(*prefix, Bytes::from(pattern(FrameError::PREFIX_LEN)));
    assert_eq!(*next, Bytes::from_static(b"ok"));
    assert!(peak <= MAX + READ_CHUNK, "peak capacity {peak}");
}
