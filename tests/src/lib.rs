//! Cross-crate test suites of the codexrt workspace, and what they share with
//! the `test-child` program they drive.

pub mod flood;
pub mod fuzz;
pub mod listen;
pub mod procs;
pub mod scenario;
pub mod soak;
mod versions;
