//! Fuzzes the agent services' request-body decoders (`agent::trip`): a flight search and a
//! trip-planning request from an untrusted buyer parse or are refused with a message, never
//! panic, and an accepted body keeps the bounds the decoders promise.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match agent::trip::parse_search(data) {
        Ok(s) => {
            assert!(s.wants.len() <= 1024);
            assert!(!s.from.eq_ignore_ascii_case(&s.to));
            assert!(s.limit.is_none_or(|l| (1..=6).contains(&l)));
        }
        Err(e) => assert!(!e.is_empty()),
    }
    match agent::trip::parse_trip(data) {
        Ok(t) => assert!(!t.request.trim().is_empty() && t.request.len() <= 2048),
        Err(e) => assert!(!e.is_empty()),
    }
});
