//! Fuzzes the sealed-bid decoder (`compute_sealed::Auctioneer::check_bid`): any bytes are
//! refused with a reason or decode to exactly one 16-bit ciphertext under the auction's
//! parameters; never a panic or an unbounded allocation.
#![no_main]

use std::sync::OnceLock;

use compute_sealed::Auctioneer;
use libfuzzer_sys::fuzz_target;

fn auctioneer() -> &'static Auctioneer {
    static KEYS: OnceLock<Auctioneer> = OnceLock::new();
    KEYS.get_or_init(Auctioneer::generate)
}

fuzz_target!(|data: &[u8]| {
    match auctioneer().check_bid(data) {
        Ok(list) => assert_eq!(list.len(), 1),
        Err(reason) => assert!(!reason.is_empty()),
    }
});
