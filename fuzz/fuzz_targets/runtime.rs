//! `cargo fuzz run runtime`: `codexrt_tests::fuzz::Target::Runtime` under libFuzzer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    codexrt_tests::fuzz::Target::Runtime.run(data);
});
