//! Quote verification: bounds, parsing, then dcap-qvl's full check against a root.

use dcap_qvl::QuoteCollateralV3;
use dcap_qvl::quote::{Quote, Report};
use dcap_qvl::verify::QuoteVerifier;

use crate::{Result, TeeError};

/// Largest quote accepted, checked before parsing. Real quotes are 4.6–5.3 KB.
pub const MAX_QUOTE_BYTES: usize = 16 * 1024;
/// Largest collateral JSON accepted, checked before parsing. Real collateral is 14–25 KB.
pub const MAX_COLLATERAL_BYTES: usize = 48 * 1024;

/// The root certificate a quote's chains must end in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Root {
    /// Intel's SGX provisioning root CA, as shipped in dcap-qvl (production).
    Intel,
    /// Another root, DER encoded: the [`crate::dev`] root on a dev chain.
    Custom(Vec<u8>),
}

/// Which TEE produced the quote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TeeKind {
    /// An SGX enclave (quote v3).
    Sgx,
    /// A TDX trust domain (quote v4 or v5).
    Tdx,
}

/// What a verified quote attests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attestation {
    /// SGX or TDX.
    pub kind: TeeKind,
    /// The converged TCB status as dcap-qvl reports it: `UpToDate`, `SWHardeningNeeded`,
    /// `ConfigurationNeeded`, `ConfigurationAndSWHardeningNeeded`, `OutOfDate`,
    /// `OutOfDateConfigurationNeeded`, `TDRelaunchAdvised`, … (`Revoked` is an error).
    pub tcb_status: String,
    /// Intel security advisories that apply (`INTEL-SA-…`).
    pub advisory_ids: Vec<String>,
    /// The 64 bytes the enclave or TD chose; see [`crate::key_binding`].
    pub report_data: [u8; 64],
    /// MRENCLAVE (SGX, 32 bytes) or MRTD (TDX, 48 bytes).
    pub measurement: Vec<u8>,
}

/// Verify a DCAP quote with its collateral (`QuoteCollateralV3` JSON) at `now_secs` (Unix
/// seconds; the ledger passes the block time) against `root`.
///
/// Checked, by dcap-qvl: the TCB info and QE identity signatures and their signer's chain, the
/// PCK chain, all against `root` and the CRLs at `now_secs`; the collateral's validity dates;
/// the QE report signature (by the PCK key) and its hash of the attestation key; the QE
/// identity; the quote's signature by the attestation key; the platform's TCB level (FMSPC,
/// CPUSVN, PCESVN, TDX module) and the report's attributes (no debug enclave or TD). Here:
/// the size bounds, and nothing but zero padding after the quote.
pub fn verify_quote(
    quote: &[u8],
    collateral_json: &[u8],
    now_secs: u64,
    root: &Root,
) -> Result<Attestation> {
    check_len("quote", quote.len(), MAX_QUOTE_BYTES)?;
    check_len("collateral", collateral_json.len(), MAX_COLLATERAL_BYTES)?;

    let parsed = Quote::parse(quote).map_err(|e| TeeError::MalformedQuote(format!("{e:#}")))?;
    // Quote buffers from Intel's libraries are zero padded (the TDX sample carries 70 zero
    // bytes); anything else after the quote is refused.
    let used = encoded_len(quote, &parsed)?;
    let rest = quote.get(used..).unwrap_or_default();
    if rest.iter().any(|b| *b != 0) {
        return Err(TeeError::MalformedQuote(format!(
            "{} bytes after the quote's {used} are not zero padding",
            rest.len()
        )));
    }
    let collateral: QuoteCollateralV3 = serde_json::from_slice(collateral_json)
        .map_err(|e| TeeError::MalformedCollateral(e.to_string()))?;

    let verifier = match root {
        Root::Intel => QuoteVerifier::new_prod(),
        Root::Custom(der) => QuoteVerifier::new(der.clone()),
    };
    let report = verifier
        .verify(quote, &collateral, now_secs)
        .map_err(|e| TeeError::VerificationFailed(format!("{e:#}")))?;

    let (kind, report_data, measurement) = match &report.report {
        Report::SgxEnclave(r) => (TeeKind::Sgx, r.report_data, r.mr_enclave.to_vec()),
        Report::TD10(r) => (TeeKind::Tdx, r.report_data, r.mr_td.to_vec()),
        Report::TD15(r) => (TeeKind::Tdx, r.base.report_data, r.base.mr_td.to_vec()),
        Report::TD15Ex(r) => (
            TeeKind::Tdx,
            r.base.base.report_data,
            r.base.base.mr_td.to_vec(),
        ),
    };
    Ok(Attestation {
        kind,
        tcb_status: report.status,
        advisory_ids: report.advisory_ids,
        report_data,
        measurement,
    })
}

fn check_len(what: &'static str, len: usize, max: usize) -> Result<()> {
    if len > max {
        return Err(TeeError::TooLarge { what, len, max });
    }
    Ok(())
}

/// Header, body and the length-prefixed authentication data: the bytes the quote uses.
fn encoded_len(quote: &[u8], parsed: &Quote) -> Result<usize> {
    let at = parsed.signed_length();
    let prefix: [u8; 4] = quote
        .get(at..at.saturating_add(4))
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| TeeError::MalformedQuote("no authentication data length".into()))?;
    let auth_len = usize::try_from(u32::from_le_bytes(prefix))
        .map_err(|_| TeeError::MalformedQuote("authentication data too long".into()))?;
    Ok(at.saturating_add(4).saturating_add(auth_len))
}
