//! The dev attestation root: dev quotes verify under the dev root only, bound to a key.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use verify_tee::dev::{COLLATERAL_VALIDITY_SECS, DevTee};
use verify_tee::{Root, TeeError, TeeKind, key_binding, verify_binding, verify_quote};

const SEED: [u8; 32] = [0x5E; 32];
/// 2026-12-06T00:00:00Z.
const NOW: u64 = 1_796_515_200;
const DAY: u64 = 86_400;
const ADDRESS: [u8; 20] = [0xAB; 20];

fn dev_root(dev: &DevTee) -> Root {
    Root::Custom(dev.root_ca_der())
}

fn failure(result: Result<verify_tee::Attestation, TeeError>) -> String {
    match result {
        Err(TeeError::VerificationFailed(reason)) => reason,
        other => panic!("expected a verification failure, got {other:?}"),
    }
}

#[test]
fn dev_quote_verifies_up_to_date_under_the_dev_root() {
    let dev = DevTee::new(SEED);
    let (quote, collateral) = dev.quote([9; 64], NOW);
    let att = verify_quote(&quote, &collateral, NOW, &dev_root(&dev)).unwrap();
    assert_eq!(att.kind, TeeKind::Sgx);
    assert_eq!(att.tcb_status, "UpToDate");
    assert!(att.advisory_ids.is_empty());
    assert_eq!(att.report_data, [9; 64]);
    assert_eq!(att.measurement, dev.mrenclave());
}

#[test]
fn dev_quote_binds_a_provider_key() {
    let dev = DevTee::new(SEED);
    let (quote, collateral) = dev.quote(key_binding(&ADDRESS), NOW);
    let att = verify_binding(&quote, &collateral, NOW, &dev_root(&dev), &ADDRESS).unwrap();
    assert_eq!(att.report_data, key_binding(&ADDRESS));

    let other = [0xCD; 20];
    let err = verify_binding(&quote, &collateral, NOW, &dev_root(&dev), &other).unwrap_err();
    assert_eq!(
        err,
        TeeError::NotBound {
            expected: Box::new(key_binding(&other)),
            found: Box::new(key_binding(&ADDRESS))
        }
    );
}

#[test]
fn dev_quote_fails_under_intel_root() {
    let dev = DevTee::new(SEED);
    let (quote, collateral) = dev.quote(key_binding(&ADDRESS), NOW);
    let reason = failure(verify_binding(
        &quote,
        &collateral,
        NOW,
        &Root::Intel,
        &ADDRESS,
    ));
    assert!(
        reason.contains("InvalidCrlSignatureForPublicKey"),
        "{reason}"
    );
}

#[test]
fn dev_quote_fails_under_another_seeds_root() {
    let dev = DevTee::new(SEED);
    let (quote, collateral) = dev.quote([1; 64], NOW);
    let other = DevTee::new([0x5F; 32]);
    assert!(verify_quote(&quote, &collateral, NOW, &dev_root(&other)).is_err());
}

#[test]
fn tampered_dev_quote_fails() {
    let dev = DevTee::new(SEED);
    let (quote, collateral) = dev.quote(key_binding(&ADDRESS), NOW);
    let root = dev_root(&dev);
    // Report data (last 64 bytes of the 384-byte report after the 48-byte header), the
    // attestation-key signature, the QE report, its signature, and a certificate byte.
    let report_data = 48 + 384 - 64;
    let signature = 48 + 384 + 4;
    let qe_report = signature + 64 + 64 + 100;
    let qe_signature = signature + 64 + 64 + 384;
    for (offset, expected) in [
        (report_data, "ISV enclave report signature is invalid"),
        (signature + 10, "ISV enclave report signature is invalid"),
        (qe_report, "Signature is invalid for qe_report in quote"),
        (
            qe_signature + 5,
            "Signature is invalid for qe_report in quote",
        ),
    ] {
        let mut tampered = quote.clone();
        tampered[offset] ^= 0x01;
        let reason = failure(verify_quote(&tampered, &collateral, NOW, &root));
        assert_eq!(reason, expected, "offset {offset}");
    }
}

#[test]
fn tampered_dev_collateral_fails() {
    let dev = DevTee::new(SEED);
    let (quote, collateral) = dev.quote([3; 64], NOW);
    let text = String::from_utf8(collateral).unwrap();
    // Downgrade nothing, just restate the TCB level's status: the signature no longer holds.
    let tampered = text.replacen("UpToDate", "OutOfDate", 1);
    assert_ne!(tampered, text);
    let reason = failure(verify_quote(
        &quote,
        tampered.as_bytes(),
        NOW,
        &dev_root(&dev),
    ));
    assert_eq!(
        reason,
        "Signature is invalid for tcb_info in quote_collateral"
    );
}

#[test]
fn dev_collateral_is_valid_from_a_day_before_to_thirty_days_after() {
    let dev = DevTee::new(SEED);
    let (quote, collateral) = dev.quote([0; 64], NOW);
    let root = dev_root(&dev);
    for at in [NOW - DAY, NOW, NOW + COLLATERAL_VALIDITY_SECS - 1] {
        assert!(verify_quote(&quote, &collateral, at, &root).is_ok(), "{at}");
    }
    let reason = failure(verify_quote(&quote, &collateral, NOW - DAY - 1, &root));
    assert_eq!(reason, "TCBInfo issue date is in the future");
    let reason = failure(verify_quote(&quote, &collateral, NOW + 31 * DAY, &root));
    assert!(reason.starts_with("CrlExpired"), "{reason}");
}

#[test]
fn dev_tee_is_deterministic() {
    let a = DevTee::new(SEED);
    let b = DevTee::new(SEED);
    assert_eq!(a.root_ca_der(), b.root_ca_der());
    assert_eq!(a.quote([4; 64], NOW), b.quote([4; 64], NOW));
    let c = DevTee::new([0x11; 32]);
    assert_ne!(a.root_ca_der(), c.root_ca_der());
}

#[test]
fn dev_quote_fits_the_bounds() {
    let dev = DevTee::new(SEED);
    let (quote, collateral) = dev.quote([0; 64], NOW);
    assert!(quote.len() <= verify_tee::MAX_QUOTE_BYTES);
    assert!(collateral.len() <= verify_tee::MAX_COLLATERAL_BYTES);
}
