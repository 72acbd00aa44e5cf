//! Framing tests: scripted chunked input against the frames that must come out.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};

use super::{LineDecoder, LineReader};
use crate::FrameError;

/// What the decoder yields, in a form that is easy to write down.
#[derive(Debug, PartialEq, Eq)]
enum Out {
    Frame(Vec<u8>),
    TooLong,
}

fn frame(text: &str) -> Out {
    Out::Frame(text.as_bytes().to_vec())
}

/// An `AsyncRead` that hands out exactly the scripted chunks, one per read,
/// then end of file.
struct Chunks {
    chunks: std::collections::VecDeque<Vec<u8>>,
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

async fn read_all(chunks: &[&[u8]], max_len: usize) -> Vec<Out> {
    let reader = Chunks {
        chunks: chunks.iter().map(|c| c.to_vec()).collect(),
    };
    let mut reader = LineReader::new(reader, max_len);
    let mut out = Vec::new();
    while let Some(item) = reader
        .next_frame()
        .await
        .expect("scripted reads do not fail")
    {
        out.push(match item {
            Ok(frame) => Out::Frame(frame.to_vec()),
            Err(FrameError::TooLong { max_len: reported }) => {
                assert_eq!(reported, max_len);
                Out::TooLong
            }
        });
    }
    out
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
    check(&[&input], 10, vec![Out::TooLong, frame("good")]);
    // The over-long frame arrives in pieces; it is reported once.
    check(
        &[&long[..30], &long[30..], b"\ngood\n"],
        10,
        vec![Out::TooLong, frame("good")],
    );
}

#[test]
fn frame_of_exactly_the_maximum_length() {
    check(&[b"0123456789\n"], 10, vec![frame("0123456789")]);
    check(&[b"0123456789\r\n"], 10, vec![frame("0123456789")]);
    check(&[b"0123456789A\n"], 10, vec![Out::TooLong]);
    check(&[b"0123456789"], 10, vec![frame("0123456789")]);
    check(&[b"0123456789A"], 10, vec![Out::TooLong]);
}

#[test]
fn over_long_frame_cut_by_eof() {
    check(&[b"ok\n", &[b'y'; 50]], 10, vec![frame("ok"), Out::TooLong]);
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
    let mut buf = bytes::BytesMut::new();
    buf.extend_from_slice(&[b'z'; 40]);
    assert_eq!(
        decoder.decode(&mut buf),
        Some(Err(FrameError::TooLong { max_len: 16 }))
    );
    for _ in 0..1000 {
        buf.extend_from_slice(&[b'z'; 40]);
        assert_eq!(decoder.decode(&mut buf), None);
        assert!(buf.is_empty());
    }
    buf.extend_from_slice(b"zz\nnext\n");
    assert_eq!(
        decoder.decode(&mut buf),
        Some(Ok(bytes::Bytes::from_static(b"next")))
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
