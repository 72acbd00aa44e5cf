//! Property tests of newline framing: the same bytes split at random read
//! boundaries decode to exactly the frames they give in one piece, through
//! the sans-IO decoder and through the async reader.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use codexrt_transport::FrameError;
use codexrt_transport::framing::{LineDecoder, LineReader};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use tokio::io::{AsyncRead, ReadBuf};

/// The limit of the decoders under test: small, so that over-long lines are
/// common among the generated ones.
const MAX_LEN: usize = 48;

/// What a decoder gave, comparable across read boundaries: a frame, or an
/// over-long one by the first bytes it is reported with (how many bytes had
/// arrived when it was reported depends on the reads, by design).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Out {
    Frame(Bytes),
    TooLong(Bytes),
}

fn out(item: Result<Bytes, FrameError>) -> Out {
    match item {
        Ok(frame) => Out::Frame(frame),
        Err(FrameError::TooLong {
            max_len, prefix, ..
        }) => {
            assert_eq!(max_len, MAX_LEN);
            assert!(prefix.len() > MAX_LEN, "{prefix:?}");
            Out::TooLong(prefix.slice(..=MAX_LEN))
        }
        Err(other) => panic!("{other:?}"),
    }
}

/// One line of the stream: its bytes without the terminator, and the
/// terminator (`\n` or `\r\n`).
fn line() -> impl Strategy<Value = (Vec<u8>, bool)> {
    // Bytes that are not `\n`, with `\r` common, so that a `\r` at a read
    // boundary, inside a line and right before the newline all come up.
    let byte = prop_oneof![
        8 => any::<u8>().prop_filter("not a newline", |b| *b != b'\n'),
        1 => Just(b'\r'),
    ];
    let short = proptest::collection::vec(byte.clone(), 0..MAX_LEN + 3);
    let long = proptest::collection::vec(byte, MAX_LEN..4 * MAX_LEN);
    (prop_oneof![4 => short, 1 => long], any::<bool>())
}

/// A stream of lines, the last one maybe without its terminator, and where
/// to cut it into reads.
fn stream() -> impl Strategy<Value = (Vec<u8>, Vec<usize>)> {
    (
        proptest::collection::vec(line(), 0..12),
        any::<bool>(),
        proptest::collection::vec(any::<prop::sample::Index>(), 0..24),
    )
        .prop_map(|(lines, terminated, cuts)| {
            let mut bytes = Vec::new();
            let count = lines.len();
            for (n, (line, crlf)) in lines.into_iter().enumerate() {
                bytes.extend_from_slice(&line);
                if n + 1 < count || terminated {
                    bytes.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
                }
            }
            let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
            cuts.sort_unstable();
            cuts.dedup();
            (bytes, cuts)
        })
}

/// `bytes` in the reads that `cuts` mark.
fn reads(bytes: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut reads = Vec::new();
    let mut start = 0;
    for &cut in cuts.iter().chain([&bytes.len()]) {
        if cut > start {
            reads.push(bytes[start..cut].to_vec());
            start = cut;
        }
    }
    reads
}

/// Decodes the reads one after the other, then the end of the stream.
fn decode(reads: &[Vec<u8>]) -> Vec<Out> {
    let mut decoder = LineDecoder::new(MAX_LEN);
    let mut buf = BytesMut::new();
    let mut outs = Vec::new();
    for read in reads {
        buf.extend_from_slice(read);
        while let Some(item) = decoder.decode(&mut buf) {
            outs.push(out(item));
        }
    }
    while let Some(item) = decoder.decode_eof(&mut buf) {
        outs.push(out(item));
    }
    outs
}

/// What the stream means, line by line: empty lines skipped, a `\r` before
/// the terminator (or the end) removed, long lines reported.
fn expected(bytes: &[u8]) -> Vec<Out> {
    let mut lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    if bytes.ends_with(b"\n") {
        lines.pop();
    }
    lines
        .into_iter()
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .filter(|line| !line.is_empty())
        .map(|line| match line.len() > MAX_LEN {
            true => Out::TooLong(Bytes::copy_from_slice(&line[..=MAX_LEN])),
            false => Out::Frame(Bytes::copy_from_slice(line)),
        })
        .collect()
}

/// A reader that hands out its reads one per call, each whole if the
/// caller's buffer has room.
struct Reads(std::collections::VecDeque<Vec<u8>>);

impl AsyncRead for Reads {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if let Some(mut read) = self.0.pop_front() {
            let room = buf.remaining().min(read.len());
            buf.put_slice(&read[..room]);
            if room < read.len() {
                self.0.push_front(read.split_off(room));
            }
        }
        Poll::Ready(Ok(()))
    }
}

fn read_all(reads: Vec<Vec<u8>>) -> Vec<Out> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut reader = LineReader::new(Reads(reads.into()), MAX_LEN);
        let mut outs = Vec::new();
        while let Some(item) = reader.next_frame().await.unwrap() {
            outs.push(out(item));
        }
        outs
    })
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 512,
        // Failing seeds go under the target folder, never into the
        // repository; proptest prints each one as it saves it.
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(concat!(
            env!("CARGO_TARGET_TMPDIR"),
            "/proptest-framing.txt"
        )))),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn frames_split_at_random_reads_are_the_frames_read_whole((bytes, cuts) in stream()) {
        let whole = decode(std::slice::from_ref(&bytes));
        prop_assert_eq!(&whole, &expected(&bytes));
        let split = reads(&bytes, &cuts);
        prop_assert_eq!(&decode(&split), &whole);
        prop_assert_eq!(&read_all(split), &whole);
    }

    #[test]
    fn frames_split_at_every_byte_are_the_frames_read_whole((bytes, _) in stream()) {
        let bytes_one_by_one: Vec<Vec<u8>> = bytes.iter().map(|b| vec![*b]).collect();
        prop_assert_eq!(decode(&bytes_one_by_one), expected(&bytes));
    }
}
