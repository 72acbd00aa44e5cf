//! `cargo fuzz run frames`: `codexrt_tests::fuzz::Target::Frames` under libFuzzer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    codexrt_tests::fuzz::Target::Frames.run(data);
});
