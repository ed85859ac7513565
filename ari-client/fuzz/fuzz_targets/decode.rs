//! The event decoder: every way the crate decodes an event agrees, and what decodes
//! round-trips (`ari_client::properties::event`). Inputs that are not UTF-8 are skipped:
//! a text frame that is not UTF-8 never reaches the decoder.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        ari_client::properties::event(text);
    }
});
