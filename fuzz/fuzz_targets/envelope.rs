//! `cargo fuzz run envelope`: `codexrt_tests::fuzz::Target::Envelope` under libFuzzer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    codexrt_tests::fuzz::Target::Envelope.run(data);
});
