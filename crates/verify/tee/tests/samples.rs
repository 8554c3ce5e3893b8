//! The quotes and collateral shipped with dcap-qvl 0.7.1 (`testdata/`), verified against
//! Intel's root.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use verify_tee::{
    MAX_COLLATERAL_BYTES, MAX_QUOTE_BYTES, Root, TeeError, TeeKind, verify_binding, verify_quote,
};

const SGX_QUOTE: &[u8] = include_bytes!("../testdata/sgx_quote");
const SGX_COLLATERAL: &[u8] = include_bytes!("../testdata/sgx_quote_collateral.json");
const TDX_QUOTE: &[u8] = include_bytes!("../testdata/tdx_quote");
const TDX_COLLATERAL: &[u8] = include_bytes!("../testdata/tdx_quote_collateral.json");

/// 2025-06-20T00:00:00Z: inside both samples' collateral windows. The latest issue date among
/// them is the TDX TCB info's (2025-06-19T10:16:03Z) and the PCK CRLs' (2025-06-19, ~10:30Z);
/// the earliest expiry is the TCB infos' and QE identities' next update (2025-07-19).
const NOW: u64 = 1_750_377_600;
/// A year after [`NOW`]: the TCB info, QE identity and CRLs have all expired.
const YEAR_LATER: u64 = NOW + 365 * 86_400;

fn failure(result: Result<verify_tee::Attestation, TeeError>) -> String {
    match result {
        Err(TeeError::VerificationFailed(reason)) => reason,
        other => panic!("expected a verification failure, got {other:?}"),
    }
}

#[test]
fn tdx_sample_is_up_to_date() {
    let att = verify_quote(TDX_QUOTE, TDX_COLLATERAL, NOW, &Root::Intel).unwrap();
    assert_eq!(att.kind, TeeKind::Tdx);
    assert_eq!(att.tcb_status, "UpToDate");
    assert!(att.advisory_ids.is_empty());
    assert_eq!(att.measurement.len(), 48);
}

#[test]
fn sgx_sample_needs_configuration_and_sw_hardening() {
    let att = verify_quote(SGX_QUOTE, SGX_COLLATERAL, NOW, &Root::Intel).unwrap();
    assert_eq!(att.kind, TeeKind::Sgx);
    assert_eq!(att.tcb_status, "ConfigurationAndSWHardeningNeeded");
    assert_eq!(att.advisory_ids, ["INTEL-SA-00289", "INTEL-SA-00615"]);
    assert_eq!(att.measurement.len(), 32);
}

#[test]
fn a_year_later_the_collateral_has_expired() {
    for (quote, collateral) in [(SGX_QUOTE, SGX_COLLATERAL), (TDX_QUOTE, TDX_COLLATERAL)] {
        // The root CA CRL's next update (2026-04-03) is the first date to pass.
        let reason = failure(verify_quote(quote, collateral, YEAR_LATER, &Root::Intel));
        assert!(reason.starts_with("CrlExpired"), "{reason}");
    }
}

#[test]
fn before_the_collateral_was_issued_it_fails() {
    let reason = failure(verify_quote(
        TDX_QUOTE,
        TDX_COLLATERAL,
        NOW - 200 * 86_400,
        &Root::Intel,
    ));
    assert_eq!(reason, "TCBInfo issue date is in the future");
}

#[test]
fn a_flipped_byte_in_the_report_fails() {
    // Offset 48 + 100: inside the TD report (signed by the attestation key).
    for quote in [SGX_QUOTE, TDX_QUOTE] {
        let mut tampered = quote.to_vec();
        tampered[48 + 100] ^= 0x01;
        let collateral = if quote == SGX_QUOTE {
            SGX_COLLATERAL
        } else {
            TDX_COLLATERAL
        };
        let reason = failure(verify_quote(&tampered, collateral, NOW, &Root::Intel));
        assert_eq!(reason, "ISV enclave report signature is invalid");
    }
}

#[test]
fn a_flipped_byte_in_the_signature_fails() {
    // The attestation-key signature starts right after the auth data length.
    let sgx_sig = 48 + 384 + 4;
    let tdx_sig = 48 + 584 + 4;
    for (quote, collateral, at) in [
        (SGX_QUOTE, SGX_COLLATERAL, sgx_sig),
        (TDX_QUOTE, TDX_COLLATERAL, tdx_sig),
    ] {
        for offset in [at, at + 40] {
            let mut tampered = quote.to_vec();
            tampered[offset] ^= 0x80;
            let reason = failure(verify_quote(&tampered, collateral, NOW, &Root::Intel));
            assert_eq!(reason, "ISV enclave report signature is invalid");
        }
    }
}

#[test]
fn a_truncated_quote_is_malformed() {
    for len in [0, 10, 47, 48, 400, SGX_QUOTE.len() - 1] {
        let result = verify_quote(&SGX_QUOTE[..len], SGX_COLLATERAL, NOW, &Root::Intel);
        assert!(
            matches!(result, Err(TeeError::MalformedQuote(_))),
            "{len}: {result:?}"
        );
    }
}

#[test]
fn zero_padding_after_the_quote_is_accepted_other_trailing_bytes_are_not() {
    // The TDX sample is 4936 bytes of quote and 70 zero bytes of padding.
    let mut padded = TDX_QUOTE.to_vec();
    padded.extend_from_slice(&[0u8; 100]);
    assert!(verify_quote(&padded, TDX_COLLATERAL, NOW, &Root::Intel).is_ok());
    let mut trailing = TDX_QUOTE.to_vec();
    trailing.push(1);
    let err = verify_quote(&trailing, TDX_COLLATERAL, NOW, &Root::Intel).unwrap_err();
    assert_eq!(
        err,
        TeeError::MalformedQuote("71 bytes after the quote's 4936 are not zero padding".into())
    );
}

#[test]
fn garbage_and_empty_inputs_are_clear_errors() {
    let garbage = vec![0xA5u8; 2000];
    assert!(matches!(
        verify_quote(&garbage, SGX_COLLATERAL, NOW, &Root::Intel),
        Err(TeeError::MalformedQuote(_))
    ));
    assert!(matches!(
        verify_quote(&[], SGX_COLLATERAL, NOW, &Root::Intel),
        Err(TeeError::MalformedQuote(_))
    ));
    for collateral in [&b""[..], b"{}", b"not json", &garbage] {
        assert!(matches!(
            verify_quote(SGX_QUOTE, collateral, NOW, &Root::Intel),
            Err(TeeError::MalformedCollateral(_))
        ));
    }
}

#[test]
fn oversize_inputs_are_refused_before_parsing() {
    let big_quote = vec![0u8; MAX_QUOTE_BYTES + 1];
    assert_eq!(
        verify_quote(&big_quote, SGX_COLLATERAL, NOW, &Root::Intel),
        Err(TeeError::TooLarge {
            what: "quote",
            len: MAX_QUOTE_BYTES + 1,
            max: MAX_QUOTE_BYTES
        })
    );
    let big_collateral = vec![b' '; MAX_COLLATERAL_BYTES + 1];
    let err = verify_quote(SGX_QUOTE, &big_collateral, NOW, &Root::Intel).unwrap_err();
    assert!(matches!(
        err,
        TeeError::TooLarge {
            what: "collateral",
            ..
        }
    ));
    assert_eq!(
        err.to_string(),
        format!(
            "collateral is {} bytes, more than the {} allowed",
            MAX_COLLATERAL_BYTES + 1,
            MAX_COLLATERAL_BYTES
        )
    );
}

#[test]
fn collateral_of_the_other_tee_fails() {
    let reason = failure(verify_quote(TDX_QUOTE, SGX_COLLATERAL, NOW, &Root::Intel));
    assert!(
        reason.starts_with("Unsupported QE Identity id/version"),
        "{reason}"
    );
    let reason = failure(verify_quote(SGX_QUOTE, TDX_COLLATERAL, NOW, &Root::Intel));
    assert!(
        reason.starts_with("Unsupported QE Identity id/version"),
        "{reason}"
    );
}

#[test]
fn samples_are_not_bound_to_our_key() {
    let address = [0x42u8; 20];
    let err = verify_binding(TDX_QUOTE, TDX_COLLATERAL, NOW, &Root::Intel, &address).unwrap_err();
    let TeeError::NotBound { expected, found } = err else {
        panic!("expected NotBound, got {err:?}");
    };
    assert_eq!(*expected, verify_tee::key_binding(&address));
    let att = verify_quote(TDX_QUOTE, TDX_COLLATERAL, NOW, &Root::Intel).unwrap();
    assert_eq!(*found, att.report_data);
}

#[test]
fn samples_fail_under_another_root() {
    let dev = verify_tee::dev::DevTee::new([7u8; 32]);
    let root = Root::Custom(dev.root_ca_der());
    // The collateral's root CA CRL is Intel's, not signed by the dev root.
    let reason = failure(verify_quote(TDX_QUOTE, TDX_COLLATERAL, NOW, &root));
    assert!(
        reason.contains("InvalidCrlSignatureForPublicKey"),
        "{reason}"
    );
    assert!(matches!(
        verify_quote(
            TDX_QUOTE,
            TDX_COLLATERAL,
            NOW,
            &Root::Custom(b"not a certificate".to_vec())
        ),
        Err(TeeError::VerificationFailed(_))
    ));
}
