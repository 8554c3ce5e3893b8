//! `verify_quote` never panics: random bytes, and the sample and dev quotes and collateral with
//! random bytes overwritten, truncated or extended, are refused with a reason (or, for a
//! harmless change, still verify).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::OnceLock;

use proptest::prelude::*;
use verify_tee::dev::DevTee;
use verify_tee::{Root, verify_quote};

const SGX_QUOTE: &[u8] = include_bytes!("../testdata/sgx_quote");
const SGX_COLLATERAL: &[u8] = include_bytes!("../testdata/sgx_quote_collateral.json");
const TDX_QUOTE: &[u8] = include_bytes!("../testdata/tdx_quote");
const TDX_COLLATERAL: &[u8] = include_bytes!("../testdata/tdx_quote_collateral.json");
const NOW: u64 = 1_750_377_600;

struct Case {
    quote: Vec<u8>,
    collateral: Vec<u8>,
    root: Root,
}

fn cases() -> &'static [Case] {
    static CASES: OnceLock<Vec<Case>> = OnceLock::new();
    CASES.get_or_init(|| {
        let dev = DevTee::new([1; 32]);
        let (quote, collateral) = dev.quote([0; 64], NOW);
        vec![
            Case {
                quote: SGX_QUOTE.to_vec(),
                collateral: SGX_COLLATERAL.to_vec(),
                root: Root::Intel,
            },
            Case {
                quote: TDX_QUOTE.to_vec(),
                collateral: TDX_COLLATERAL.to_vec(),
                root: Root::Intel,
            },
            Case {
                quote,
                collateral,
                root: Root::Custom(dev.root_ca_der()),
            },
        ]
    })
}

/// Overwrite bytes at (scaled) positions, then cut or extend.
fn mutate(input: &[u8], edits: &[(u16, u8)], cut: Option<u16>, tail: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for &(at, byte) in edits {
        let i = usize::from(at) * out.len() / 65_536;
        if let Some(b) = out.get_mut(i) {
            *b = byte;
        }
    }
    if let Some(cut) = cut {
        out.truncate(usize::from(cut) * out.len() / 65_536);
    }
    out.extend_from_slice(tail);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_never_panic(
        quote in proptest::collection::vec(any::<u8>(), 0..6000),
        collateral in proptest::collection::vec(any::<u8>(), 0..200),
        now in any::<u64>(),
    ) {
        for case in cases() {
            let result = verify_quote(&quote, &case.collateral, now, &case.root);
            prop_assert!(result.is_err());
            let _ = verify_quote(&case.quote, &collateral, now, &case.root);
        }
    }

    #[test]
    fn mutated_quotes_and_collateral_never_panic(
        which in 0usize..3,
        edits in proptest::collection::vec((any::<u16>(), any::<u8>()), 0..8),
        cut in proptest::option::of(any::<u16>()),
        tail in proptest::collection::vec(any::<u8>(), 0..16),
        mutate_collateral in any::<bool>(),
        now in prop_oneof![Just(NOW), any::<u64>()],
    ) {
        let case = &cases()[which];
        let (quote, collateral) = if mutate_collateral {
            (case.quote.clone(), mutate(&case.collateral, &edits, cut, &tail))
        } else {
            (mutate(&case.quote, &edits, cut, &tail), case.collateral.clone())
        };
        match verify_quote(&quote, &collateral, now, &case.root) {
            Ok(att) => prop_assert!(!att.tcb_status.is_empty()),
            Err(err) => prop_assert!(!err.to_string().is_empty()),
        }
    }
}
