//! The child's stdin: outbound frames written one per line, batched under load
//! and flushed as soon as the queue runs dry.

use std::io;

use std::sync::Arc;

use bytes::Bytes;
use tokio::io::{AsyncWriteExt, BufWriter};
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::{mpsc, oneshot};

use super::gate::{Gate, GateWriter};

/// The write buffer: large enough to batch many small frames into one write,
/// small enough not to matter per connection. Larger frames bypass it.
const WRITE_BUFFER: usize = 64 * 1024;

/// Writes the frames from `outbound` to the child's stdin, each followed by
/// `\n`, until every sender is gone or `stop` fires; then flushes and closes
/// stdin (by dropping it) and returns.
///
/// After `stop`, senders are refused, and the frames already queued are still
/// written: a frame sent before a shutdown reaches the child.
///
/// Senders write a frame past the queue themselves when this writer is idle
/// (see [`Gate`]); the writer tells the gate when it takes a frame and when
/// it has flushed everything.
///
/// # Errors
/// Writing failed (`BrokenPipe` when the child closed its stdin), or a frame
/// contains a newline, which would make it two frames for the child.
///
/// # Cancel safety
/// Not cancel safe: a frame may be half written. Dropping the future closes
/// stdin; the driver does that only when it gives up on the child.
pub(super) async fn write_frames(
    gate: Arc<Gate>,
    mut outbound: mpsc::Receiver<Bytes>,
    mut stop: oneshot::Receiver<()>,
) -> io::Result<()> {
    let mut stdin = BufWriter::with_capacity(WRITE_BUFFER, GateWriter(Arc::clone(&gate)));
    let mut stopping = false;
    loop {
        // Also checked here, not only while idle, so that a sender that keeps
        // the queue full cannot postpone the stop.
        if !stopping && !matches!(stop.try_recv(), Err(oneshot::error::TryRecvError::Empty)) {
            stopping = true;
            gate.stop();
            outbound.close();
        }
        // The rest of a frame a sender wrote in part goes before anything.
        if let Some(rest) = gate.take_rest() {
            stdin.write_all(&rest).await?;
        }
        let frame = match outbound.try_recv() {
            Ok(frame) => frame,
            Err(TryRecvError::Disconnected) => break,
            Err(TryRecvError::Empty) => {
                // Flushing only when the queue is momentarily empty batches
                // frames into few writes under load, while a lone frame on an
                // idle connection goes out at once.
                stdin.flush().await?;
                gate.flushed();
                tokio::select! {
                    frame = outbound.recv() => match frame {
                        Some(frame) => frame,
                        None => break,
                    },
                    () = gate.rest_left() => continue,
                    // A dropped sender counts as a stop: the driver is gone.
                    _ = &mut stop, if !stopping => {
                        stopping = true;
                        gate.stop();
                        outbound.close();
                        continue;
                    }
                }
            }
        };
        gate.took();
        if memchr::memchr(b'\n', &frame).is_some() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "an outbound frame of {} bytes contains a newline",
                    frame.len()
                ),
            ));
        }
        stdin.write_all(&frame).await?;
        stdin.write_all(b"\n").await?;
    }
    stdin.flush().await?;
    Ok(())
}
