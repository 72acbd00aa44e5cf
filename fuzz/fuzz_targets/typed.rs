//! `cargo fuzz run typed`: `codexrt_tests::fuzz::Target::Typed` under libFuzzer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    codexrt_tests::fuzz::Target::Typed.run(data);
});
