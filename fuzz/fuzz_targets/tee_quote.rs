//! Fuzzes DCAP quote verification (`verify_tee::verify_quote`): any bytes as a quote (against
//! the SGX sample's, the TDX sample's or a dev collateral) or as collateral (for the SGX
//! sample quote) are refused with a reason or verify; never a panic. The first byte picks the
//! case; the seeds are the sample and dev quotes behind their case byte.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use verify_tee::dev::DevTee;
use verify_tee::{Root, verify_quote};

const SGX_QUOTE: &[u8] = include_bytes!("../../crates/verify/tee/testdata/sgx_quote");
const SGX_COLLATERAL: &[u8] =
    include_bytes!("../../crates/verify/tee/testdata/sgx_quote_collateral.json");
const TDX_COLLATERAL: &[u8] =
    include_bytes!("../../crates/verify/tee/testdata/tdx_quote_collateral.json");
/// 2025-06-20T00:00:00Z, inside the samples' collateral windows.
const NOW: u64 = 1_750_377_600;

/// The dev root and a dev collateral valid at [`NOW`] (seed and report data as in the seeds).
fn dev() -> &'static (Root, Vec<u8>) {
    static DEV: OnceLock<(Root, Vec<u8>)> = OnceLock::new();
    DEV.get_or_init(|| {
        let dev = DevTee::new([1; 32]);
        let (_, collateral) = dev.quote([0; 64], NOW);
        (Root::Custom(dev.root_ca_der()), collateral)
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((case, rest)) = data.split_first() else {
        return;
    };
    let result = match case % 4 {
        0 => verify_quote(rest, SGX_COLLATERAL, NOW, &Root::Intel),
        1 => verify_quote(rest, TDX_COLLATERAL, NOW, &Root::Intel),
        2 => {
            let (root, collateral) = dev();
            verify_quote(rest, collateral, NOW, root)
        }
        _ => verify_quote(SGX_QUOTE, rest, NOW, &Root::Intel),
    };
    match result {
        Ok(attestation) => assert!(!attestation.tcb_status.is_empty()),
        Err(err) => assert!(!err.to_string().is_empty()),
    }
});
