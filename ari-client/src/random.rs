//! Randomness good enough for reconnect jitter, id prefixes and websocket masking keys,
//! without a dependency: std's randomly keyed hasher over a counter (SipHash keyed from
//! the OS's randomness, so its outputs are unpredictable to whoever does not have the key,
//! which is what RFC 6455, 10.3, asks of masking keys). Not for secrets.

use std::hash::{BuildHasher as _, Hasher as _};
use std::sync::atomic::{AtomicU64, Ordering};

/// A random number in `0.0..1.0`.
pub(crate) fn unit() -> f64 {
    (u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// A random 64-bit number.
pub(crate) fn u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.finish()
}
