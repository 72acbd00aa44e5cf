//! An in-memory transport: two connections wired to each other, for tests of
//! the layers above and for users' own tests.

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::{
    CloseReason, CloseReport, Connection, Control, Endpoint, FrameError, Inbound, ShutdownDone,
};

/// Two connected in-memory connections: frames sent on one arrive, in order,
/// on the other. `capacity` bounds each queue, in frames.
///
/// Either side closing (a [`Closer::shutdown`](crate::Closer::shutdown), or
/// dropping all of its senders or its receiver) closes both: that side reports
/// [`CloseReason::Shutdown`] or [`CloseReason::Dropped`], the other
/// [`CloseReason::PeerClosed`]. Dropping a side's closers alone closes
/// nothing. As with a pipe, frames sent before the close
/// are still delivered before each receiver sees the end; sending after it
/// fails.
///
/// Frames of any length are delivered; see [`pair_with_max_frame_len`] for a
/// pair that enforces a limit like the other transports.
///
/// # Panics
/// When called outside a Tokio runtime: the pair is served by a spawned task.
pub fn pair(capacity: usize) -> (Connection, Connection) {
    pair_with_max_frame_len(capacity, usize::MAX)
}

/// Like [`pair`], but a frame longer than `max_frame_len` bytes arrives as
/// [`FrameError::TooLong`] (with its first bytes), the way a line-framed
/// transport reports it; the frames after it arrive as usual. Lets the
/// layers above test how they handle over-long frames without a process.
///
/// # Panics
/// When called outside a Tokio runtime: the pair is served by a spawned task.
pub fn pair_with_max_frame_len(capacity: usize, max_frame_len: usize) -> (Connection, Connection) {
    let (left, left_end) = Connection::channel(capacity);
    let (right, right_end) = Connection::channel(capacity);
    tokio::spawn(tracing::Instrument::in_current_span(serve(
        left_end,
        right_end,
        max_frame_len,
    )));
    (left, right)
}

/// The frame as its receiver gets it.
fn as_received(frame: Bytes, max_frame_len: usize) -> Inbound {
    if frame.len() > max_frame_len {
        Err(FrameError::too_long(&frame, frame.len(), max_frame_len))
    } else {
        Ok(frame)
    }
}

/// One direction of the pair: a frame taken from `from` waits in `pending`
/// until the other side's queue has room. Taking frames only while nothing is
/// pending keeps each direction's backpressure independent of the other's.
struct Lane {
    pending: Option<Bytes>,
}

enum Event {
    Frame(Side, Option<Bytes>),
    Delivered(Side, bool),
    Control(Side, Option<Control>),
}

#[derive(Clone, Copy)]
enum Side {
    Left,
    Right,
}

async fn serve(mut left: Endpoint, mut right: Endpoint, max_frame_len: usize) {
    let mut to_right = Lane { pending: None };
    let mut to_left = Lane { pending: None };
    let (mut left_closers, mut right_closers) = (true, true);
    let (closer, reason, done) = loop {
        let event = tokio::select! {
            frame = left.outbound.recv(), if to_right.pending.is_none() => Event::Frame(Side::Left, frame),
            frame = right.outbound.recv(), if to_left.pending.is_none() => Event::Frame(Side::Right, frame),
            ok = deliver(&right.inbound, &mut to_right, max_frame_len), if to_right.pending.is_some() => Event::Delivered(Side::Right, ok),
            ok = deliver(&left.inbound, &mut to_left, max_frame_len), if to_left.pending.is_some() => Event::Delivered(Side::Left, ok),
            request = left.control.recv(), if left_closers => Event::Control(Side::Left, request),
            request = right.control.recv(), if right_closers => Event::Control(Side::Right, request),
        };
        match event {
            Event::Frame(Side::Left, Some(frame)) => to_right.pending = Some(frame),
            Event::Frame(Side::Right, Some(frame)) => to_left.pending = Some(frame),
            Event::Frame(side, None) => break (side, CloseReason::Dropped, None),
            Event::Delivered(_, true) => {}
            // The receiving side dropped its receiver.
            Event::Delivered(side, false) => break (side, CloseReason::Dropped, None),
            Event::Control(side, Some(Control::Shutdown { done, .. })) => {
                break (side, CloseReason::Shutdown, Some(done));
            }
            // Closers alone do not keep a side open or closed: its senders
            // and receiver still work, and dropping them closes the pair.
            Event::Control(Side::Left, None) => left_closers = false,
            Event::Control(Side::Right, None) => right_closers = false,
        }
    };
    let (closing, other) = match closer {
        Side::Left => (&left, &right),
        Side::Right => (&right, &left),
    };
    closing.report.publish(CloseReport::new(reason));
    other
        .report
        .publish(CloseReport::new(CloseReason::PeerClosed));
    if let Some(done) = done {
        ShutdownDone::finish(done, Ok(()));
    }
    // Like a pipe, frames sent before the close still arrive: no new frames
    // are taken, the ones already queued are delivered while their receiver
    // reads, and then each receiver sees the end. The two directions drain
    // independently so that one idle receiver cannot hold up the other.
    left.outbound.close();
    right.outbound.close();
    tokio::join!(
        drain(&mut left.outbound, &right.inbound, to_right, max_frame_len),
        drain(&mut right.outbound, &left.inbound, to_left, max_frame_len),
    );
}

async fn drain(
    outbound: &mut mpsc::Receiver<Bytes>,
    inbound: &mpsc::Sender<Inbound>,
    lane: Lane,
    max_frame_len: usize,
) {
    let mut next = lane.pending;
    loop {
        // Not `next.take().or(outbound.recv().await)`: the argument of `or`
        // is evaluated first, and would take a frame off the queue only to
        // drop it whenever one was pending.
        let frame = match next.take() {
            Some(frame) => frame,
            None => match outbound.recv().await {
                Some(frame) => frame,
                None => return,
            },
        };
        if inbound
            .send(as_received(frame, max_frame_len))
            .await
            .is_err()
        {
            return;
        }
    }
}

async fn deliver(inbound: &mpsc::Sender<Inbound>, lane: &mut Lane, max_frame_len: usize) -> bool {
    match inbound.reserve().await {
        Ok(permit) => {
            if let Some(frame) = lane.pending.take() {
                permit.send(as_received(frame, max_frame_len));
            }
            true
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests;
