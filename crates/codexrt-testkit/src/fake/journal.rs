//! [`Journal`]: what the client sent and how far the script got, shared
//! between the interpreter and whoever watches the run.

use std::io::{self, Write};
use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::sync::watch;

use super::{FakeLog, FakeScript};
use crate::{Direction, Frame, Line};

/// What the client sent and how far the script got, shared with whoever
/// watches the run.
#[derive(Debug)]
pub(crate) struct Journal {
    log: Mutex<FakeLog>,
    /// How many frames the client sent so far.
    pub(crate) received: watch::Sender<usize>,
    /// Set once the run has ended.
    pub(crate) finished: watch::Sender<bool>,
    /// Where the stdio fake appends each frame, as a transcript line.
    record: Option<Mutex<std::fs::File>>,
}

impl Journal {
    pub(crate) fn new(script: &FakeScript, record: Option<std::fs::File>) -> Journal {
        Journal {
            log: Mutex::new(FakeLog {
                steps_total: script.step_list().len(),
                ..FakeLog::default()
            }),
            received: watch::Sender::new(0),
            finished: watch::Sender::new(false),
            record: record.map(Mutex::new),
        }
    }

    pub(crate) fn log(&self) -> MutexGuard<'_, FakeLog> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn receive(&self, frame: Frame) -> io::Result<()> {
        let line = Line::new(Direction::Out, frame);
        if let Some(file) = &self.record {
            let mut text = line.to_json_line();
            text.push('\n');
            // One unbuffered write per line: a fake that kills itself a
            // moment later must not lose what it recorded.
            let mut file = file.lock().unwrap_or_else(PoisonError::into_inner);
            file.write_all(text.as_bytes())?;
        }
        let count = {
            let mut log = self.log();
            log.received.push(line.frame);
            log.received.len()
        };
        self.received.send_replace(count);
        Ok(())
    }
}
