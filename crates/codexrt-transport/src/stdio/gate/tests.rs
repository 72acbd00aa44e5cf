//! Unit tests of the stdin gate: when a frame is written at once and when
//! it must wait its turn in the queue.

use bytes::Bytes;
use tokio::io::AsyncReadExt;
use tokio::net::unix::pipe;

use super::{ATOMIC_WRITE, Gate};
use crate::connection::{Attempt, WriteNow};

async fn gate() -> (std::sync::Arc<Gate>, pipe::Receiver) {
    let (tx, rx) = pipe::pipe().expect("a pipe");
    // A direct write never waits, so it finds the pipe writable only once
    // tokio has seen it so; the writer task's first write does that.
    tx.writable().await.expect("a writable pipe");
    (Gate::new(tx), rx)
}

async fn read(rx: &mut pipe::Receiver, len: usize) -> String {
    let mut buf = vec![0; len];
    rx.read_exact(&mut buf).await.expect("read the pipe");
    String::from_utf8(buf).expect("utf-8")
}

#[tokio::test]
async fn an_idle_gate_writes_a_small_frame_with_its_newline() {
    let (gate, mut rx) = gate().await;
    assert_eq!(
        gate.write_now(&Bytes::from_static(b"{\"id\":1}")),
        Attempt::Written
    );
    assert_eq!(read(&mut rx, 9).await, "{\"id\":1}\n");
}

#[tokio::test]
async fn a_frame_behind_a_queued_one_is_queued_too() {
    let (gate, _rx) = gate().await;
    let big = Bytes::from(vec![b'x'; ATOMIC_WRITE]);
    assert_eq!(gate.write_now(&big), Attempt::Queue);
    // The big frame holds its place: a small one may not pass it.
    assert_eq!(
        gate.write_now(&Bytes::from_static(b"small")),
        Attempt::Queue
    );
    // Both taken out by the writer and flushed: direct writes resume.
    gate.took();
    gate.took();
    gate.flushed();
    assert_eq!(
        gate.write_now(&Bytes::from_static(b"small")),
        Attempt::Written
    );
}

#[tokio::test]
async fn a_busy_writer_or_an_unqueued_reservation_decides() {
    let (gate, _rx) = gate().await;
    assert_eq!(gate.write_now(&Bytes::from_static(b"a\nb")), Attempt::Queue);
    // The queue refused it: the place is given back.
    gate.unqueue();
    assert_eq!(gate.write_now(&Bytes::from_static(b"c")), Attempt::Written);
    // While the writer holds frames it has not flushed, nothing passes.
    assert_eq!(
        gate.write_now(&Bytes::from(vec![b'x'; ATOMIC_WRITE])),
        Attempt::Queue
    );
    gate.took();
    assert_eq!(gate.write_now(&Bytes::from_static(b"d")), Attempt::Queue);
    gate.took();
    gate.flushed();
    assert_eq!(gate.write_now(&Bytes::from_static(b"e")), Attempt::Written);
}

#[tokio::test]
async fn a_full_pipe_queues_and_a_stopped_or_closed_gate_never_writes() {
    let (gate, _rx) = gate().await;
    let frame = Bytes::from(vec![b'x'; 1000]);
    let mut written = 0;
    while gate.write_now(&frame) == Attempt::Written {
        written += 1;
        assert!(written < 100_000, "the pipe never filled");
    }
    // The frame that did not fit is queued, and stays first.
    gate.unqueue();
    let (gate, _rx) = self::gate().await;
    gate.stop();
    assert_eq!(gate.write_now(&Bytes::from_static(b"x")), Attempt::Queue);
    let (gate, _rx) = self::gate().await;
    gate.close();
    assert_eq!(gate.write_now(&Bytes::from_static(b"x")), Attempt::Queue);
}
