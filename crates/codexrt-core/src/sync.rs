//! The lock a server request's exactly-once answer rests on: the standard
//! library's, or loom's in the loom models (`--cfg codexrt_loom`, tests
//! only), so that the models run the real slot.

#[cfg(not(all(test, codexrt_loom)))]
pub(crate) use std::sync::{Mutex, MutexGuard};

#[cfg(all(test, codexrt_loom))]
pub(crate) use loom::sync::{Mutex, MutexGuard};
