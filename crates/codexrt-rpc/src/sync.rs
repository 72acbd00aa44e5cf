//! The primitives a call's exactly-once ending rests on: the standard
//! library's atomics and Tokio's one-shot channel, or, in the loom models
//! (`--cfg codexrt_loom`, tests only), loom's atomics and a loom-aware one-shot
//! channel with the same contract, so that the models run the real table.

#[cfg(not(all(test, codexrt_loom)))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicUsize};

#[cfg(not(all(test, codexrt_loom)))]
pub(crate) use tokio::sync::oneshot;

#[cfg(all(test, codexrt_loom))]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicUsize};

#[cfg(all(test, codexrt_loom))]
pub(crate) mod oneshot;
