//! The websocket frame scanner: what it is sure of is what serde reads
//! (`ari_client::properties::scan`). Inputs that are not UTF-8 are skipped: a text frame
//! that is not UTF-8 never reaches the scanner.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        ari_client::properties::scan(text);
    }
});
