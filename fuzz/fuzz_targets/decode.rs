//! Feeds arbitrary bytes to every decoder, as text and as binary, with both serializers.
//! The body lives in `slipstream::protocol::__fuzz_decode` so that
//! `slipstream/tests/protocol_garbage.rs` runs the same code on stable.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    slipstream::protocol::__fuzz_decode(data);
});
