//! Where a recording goes: [`RecordSink`] (memory with a limit, or a JSONL
//! file), the log the pumps append to, and the finished [`Recording`].

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::{Direction, Frame, Line, TestkitError, Transcript};

/// Where a recording goes.
#[derive(Debug)]
pub struct RecordSink {
    kind: SinkKind,
}

#[derive(Debug)]
enum SinkKind {
    Memory {
        max_bytes: usize,
    },
    File {
        path: PathBuf,
        writer: BufWriter<File>,
    },
}

impl RecordSink {
    /// Keeps the transcript in memory, up to `max_bytes` of JSONL; lines
    /// past that are counted and dropped, and
    /// [`finish`](crate::RecordingHandle::finish) fails with
    /// [`TestkitError::RecordingOverflow`].
    pub fn memory(max_bytes: usize) -> RecordSink {
        RecordSink {
            kind: SinkKind::Memory { max_bytes },
        }
    }

    /// Streams the transcript to a JSONL file, created (or truncated) now.
    /// Memory use does not grow with the conversation.
    ///
    /// # Errors
    /// [`TestkitError::Io`] when the file cannot be created.
    pub fn file(path: impl AsRef<Path>) -> Result<RecordSink, TestkitError> {
        let path = path.as_ref().to_owned();
        let file = File::create(&path).map_err(|source| TestkitError::Io {
            action: "create",
            path: path.clone(),
            source,
        })?;
        Ok(RecordSink {
            kind: SinkKind::File {
                path,
                writer: BufWriter::new(file),
            },
        })
    }
}

/// A finished recording.
#[derive(Debug)]
pub struct Recording {
    lines: u64,
    path: Option<PathBuf>,
    transcript: Option<Transcript>,
}

impl Recording {
    /// How many lines were recorded.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// The file recorded to, for a file sink.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The transcript: the one kept in memory, or the file's, read back.
    ///
    /// # Errors
    /// As for [`Transcript::load`], for a file sink.
    pub fn into_transcript(self) -> Result<Transcript, TestkitError> {
        match (self.transcript, self.path) {
            (Some(transcript), _) => Ok(transcript),
            (None, Some(path)) => Transcript::load(path),
            (None, None) => Ok(Transcript::new()),
        }
    }
}

#[derive(Debug)]
pub(crate) struct Shared {
    log: Mutex<Log>,
}

impl Shared {
    pub(crate) fn new(sink: RecordSink) -> Shared {
        Shared {
            log: Mutex::new(Log::new(sink.kind)),
        }
    }

    pub(crate) fn log(&self) -> MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn record(&self, dir: Direction, frame: Frame) {
        self.log().record(Line::new(dir, frame));
    }

    pub(crate) fn flush(&self) {
        self.log().flush();
    }
}

#[derive(Debug)]
pub(crate) struct Log {
    sink: SinkState,
    pub(crate) lines: u64,
    /// Set by `finish`: frames still pass, unrecorded.
    pub(crate) stopped: bool,
}

#[derive(Debug)]
enum SinkState {
    Memory {
        transcript: Transcript,
        bytes: usize,
        max_bytes: usize,
        dropped: u64,
    },
    File {
        path: PathBuf,
        // `None` once a write failed; the error is kept for `finish`.
        writer: Option<BufWriter<File>>,
        error: Option<io::Error>,
    },
}

impl Log {
    fn new(kind: SinkKind) -> Log {
        let sink = match kind {
            SinkKind::Memory { max_bytes } => SinkState::Memory {
                transcript: Transcript::new(),
                bytes: 0,
                max_bytes,
                dropped: 0,
            },
            SinkKind::File { path, writer } => SinkState::File {
                path,
                writer: Some(writer),
                error: None,
            },
        };
        Log {
            sink,
            lines: 0,
            stopped: false,
        }
    }

    fn record(&mut self, line: Line) {
        if self.stopped {
            return;
        }
        // Lines are small and the file is buffered, so writing under the
        // lock rarely touches the disk, and it keeps lines in the order the
        // recorder saw them.
        let text = line.to_json_line();
        match &mut self.sink {
            SinkState::Memory {
                transcript,
                bytes,
                max_bytes,
                dropped,
            } => {
                let size = text.len() + 1;
                if *dropped > 0 || bytes.saturating_add(size) > *max_bytes {
                    *dropped += 1;
                    return;
                }
                *bytes += size;
                transcript.push(line);
            }
            SinkState::File { writer, error, .. } => {
                let Some(file) = writer else {
                    return;
                };
                let written = file
                    .write_all(text.as_bytes())
                    .and_then(|()| file.write_all(b"\n"));
                if let Err(err) = written {
                    *error = Some(err);
                    *writer = None;
                    return;
                }
            }
        }
        self.lines += 1;
    }

    fn flush(&mut self) {
        if let SinkState::File { writer, error, .. } = &mut self.sink {
            if let Some(file) = writer {
                if let Err(err) = file.flush() {
                    *error = Some(err);
                    *writer = None;
                }
            }
        }
    }

    pub(crate) fn take(&mut self) -> Result<Recording, TestkitError> {
        self.flush();
        let lines = self.lines;
        match &mut self.sink {
            SinkState::Memory {
                transcript,
                max_bytes,
                dropped,
                ..
            } => {
                if *dropped > 0 {
                    return Err(TestkitError::RecordingOverflow {
                        max_bytes: *max_bytes,
                        dropped: *dropped,
                    });
                }
                Ok(Recording {
                    lines,
                    path: None,
                    transcript: Some(std::mem::take(transcript)),
                })
            }
            SinkState::File { path, error, .. } => match error.take() {
                Some(source) => Err(TestkitError::Io {
                    action: "write",
                    path: path.clone(),
                    source,
                }),
                None => Ok(Recording {
                    lines,
                    path: Some(path.clone()),
                    transcript: None,
                }),
            },
        }
    }
}
