//! The dev quoting enclave: an SGX v3 quote (Intel SGX ECDSA Quote Library reference, §A.4)
//! and the signed TCB info and QE identity JSON it is appraised against.

use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::der::rfc3339;

/// Intel's QE vendor id, which dcap-qvl requires of every quote.
const INTEL_QE_VENDOR_ID: [u8; 16] = [
    0x93, 0x9A, 0x72, 0x33, 0xF7, 0x9C, 0x4C, 0xA9, 0x94, 0x0A, 0x0D, 0xB3, 0x95, 0x7F, 0x06, 0x07,
];
/// SGX report attributes: INIT and MODE64BIT, not DEBUG (0x02), which dcap-qvl refuses.
const ATTRIBUTES: [u8; 16] = [0x05, 0, 0, 0, 0, 0, 0, 0, 0x03, 0, 0, 0, 0, 0, 0, 0];
/// QE attributes matching the QE identity below under its mask.
const QE_ATTRIBUTES: [u8; 16] = [0x11, 0, 0, 0, 0, 0, 0, 0, 0x03, 0, 0, 0, 0, 0, 0, 0];
const QE_ATTRIBUTES_MASK: [u8; 16] = [
    0xFB, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0,
];
/// Certification data type 5: the PCK certificate chain, PEM.
const PCK_CERT_CHAIN: u16 = 5;

/// What goes into a dev quote.
pub(super) struct Parts<'a> {
    pub report_data: [u8; 64],
    pub mrenclave: [u8; 32],
    pub cpu_svn: [u8; 16],
    pub pce_svn: u16,
    pub qe_svn: u16,
    pub qe_prod_id: u16,
    pub qe_mrsigner: [u8; 32],
    pub attestation_key: &'a SigningKey,
    pub pck_key: &'a SigningKey,
    pub pck_chain_pem: String,
}

/// A 384-byte SGX report body (`sgx_report_body_t`).
struct ReportBody {
    cpu_svn: [u8; 16],
    attributes: [u8; 16],
    mr_enclave: [u8; 32],
    mr_signer: [u8; 32],
    isv_prod_id: u16,
    isv_svn: u16,
    report_data: [u8; 64],
}

impl ReportBody {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(384);
        out.extend_from_slice(&self.cpu_svn);
        out.extend_from_slice(&0u32.to_le_bytes()); // MISCSELECT
        out.extend_from_slice(&[0u8; 28]);
        out.extend_from_slice(&self.attributes);
        out.extend_from_slice(&self.mr_enclave);
        out.extend_from_slice(&[0u8; 32]);
        out.extend_from_slice(&self.mr_signer);
        out.extend_from_slice(&[0u8; 96]);
        out.extend_from_slice(&self.isv_prod_id.to_le_bytes());
        out.extend_from_slice(&self.isv_svn.to_le_bytes());
        out.extend_from_slice(&[0u8; 60]);
        out.extend_from_slice(&self.report_data);
        out
    }
}

/// Sign `message` (ECDSA P-256, SHA-256, RFC 6979) and return the raw `r ‖ s` that DCAP
/// structures carry.
pub(super) fn sign_raw(key: &SigningKey, message: &[u8]) -> [u8; 64] {
    let signature: Signature = key.sign(message);
    let (r, s) = signature.split_bytes();
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(&r);
    out[32..].copy_from_slice(&s);
    out
}

/// The uncompressed public key without its `04` prefix (`x ‖ y`), as quotes carry it.
fn raw_public_key(key: &SigningKey) -> [u8; 64] {
    let point = key.verifying_key().to_sec1_point(false);
    let mut out = [0u8; 64];
    for (o, b) in out.iter_mut().zip(point.as_bytes().iter().skip(1)) {
        *o = *b;
    }
    out
}

/// Header, ISV report, then the v3 authentication data: attestation-key signature over header
/// and report, attestation key, QE report signed by the PCK key whose report data is
/// `sha256(attestation key ‖ QE authentication data)`, and the PCK chain.
pub(super) fn build(parts: &Parts<'_>) -> Vec<u8> {
    let mut quote = Vec::with_capacity(5 * 1024);
    quote.extend_from_slice(&3u16.to_le_bytes()); // version
    quote.extend_from_slice(&2u16.to_le_bytes()); // ECDSA-256 with P-256
    quote.extend_from_slice(&0u32.to_le_bytes()); // TEE type: SGX
    quote.extend_from_slice(&parts.qe_svn.to_le_bytes());
    quote.extend_from_slice(&parts.pce_svn.to_le_bytes());
    quote.extend_from_slice(&INTEL_QE_VENDOR_ID);
    quote.extend_from_slice(&[0u8; 20]); // user data (QE id)
    quote.extend_from_slice(
        &ReportBody {
            cpu_svn: parts.cpu_svn,
            attributes: ATTRIBUTES,
            mr_enclave: parts.mrenclave,
            mr_signer: [0u8; 32],
            isv_prod_id: 0,
            isv_svn: 0,
            report_data: parts.report_data,
        }
        .encode(),
    );

    let attestation_key = raw_public_key(parts.attestation_key);
    let qe_auth_data = [0u8; 32];
    let mut qe_report_data = [0u8; 64];
    let qe_hash = Sha256::new()
        .chain_update(attestation_key)
        .chain_update(qe_auth_data)
        .finalize();
    qe_report_data[..32].copy_from_slice(&qe_hash);
    let qe_report = ReportBody {
        cpu_svn: parts.cpu_svn,
        attributes: QE_ATTRIBUTES,
        mr_enclave: [0u8; 32],
        mr_signer: parts.qe_mrsigner,
        isv_prod_id: parts.qe_prod_id,
        isv_svn: parts.qe_svn,
        report_data: qe_report_data,
    }
    .encode();

    let mut auth = Vec::with_capacity(4 * 1024);
    auth.extend_from_slice(&sign_raw(parts.attestation_key, &quote));
    auth.extend_from_slice(&attestation_key);
    auth.extend_from_slice(&qe_report);
    auth.extend_from_slice(&sign_raw(parts.pck_key, &qe_report));
    auth.extend_from_slice(&(qe_auth_data.len() as u16).to_le_bytes());
    auth.extend_from_slice(&qe_auth_data);
    auth.extend_from_slice(&PCK_CERT_CHAIN.to_le_bytes());
    auth.extend_from_slice(&(parts.pck_chain_pem.len() as u32).to_le_bytes());
    auth.extend_from_slice(parts.pck_chain_pem.as_bytes());

    quote.extend_from_slice(&(auth.len() as u32).to_le_bytes());
    quote.extend_from_slice(&auth);
    quote
}

/// SGX TCB info (v3) with one `UpToDate` level: exactly the dev platform's SVNs.
pub(super) fn tcb_info_json(
    fmspc: &[u8; 6],
    pce_id: &[u8; 2],
    cpu_svn: &[u8; 16],
    pce_svn: u16,
    evaluation_data_number: u32,
    issue: u64,
    next_update: u64,
) -> String {
    let components: Vec<_> = cpu_svn.iter().map(|svn| json!({ "svn": svn })).collect();
    json!({
        "id": "SGX",
        "version": 3,
        "issueDate": rfc3339(issue),
        "nextUpdate": rfc3339(next_update),
        "fmspc": hex::encode_upper(fmspc),
        "pceId": hex::encode_upper(pce_id),
        "tcbType": 0,
        "tcbEvaluationDataNumber": evaluation_data_number,
        "tcbLevels": [{
            "tcb": { "sgxtcbcomponents": components, "pcesvn": pce_svn },
            "tcbDate": rfc3339(super::pki::CERT_NOT_BEFORE),
            "tcbStatus": "UpToDate",
        }],
    })
    .to_string()
}

/// QE identity (v2) of the dev quoting enclave, one `UpToDate` level at its SVN.
pub(super) fn qe_identity_json(
    mrsigner: &[u8; 32],
    isv_prod_id: u16,
    isv_svn: u16,
    evaluation_data_number: u32,
    issue: u64,
    next_update: u64,
) -> String {
    json!({
        "id": "QE",
        "version": 2,
        "issueDate": rfc3339(issue),
        "nextUpdate": rfc3339(next_update),
        "tcbEvaluationDataNumber": evaluation_data_number,
        "miscselect": "00000000",
        "miscselectMask": "FFFFFFFF",
        "attributes": hex::encode_upper(QE_ATTRIBUTES),
        "attributesMask": hex::encode_upper(QE_ATTRIBUTES_MASK),
        "mrsigner": hex::encode_upper(mrsigner),
        "isvprodid": isv_prod_id,
        "tcbLevels": [{
            "tcb": { "isvsvn": isv_svn },
            "tcbDate": rfc3339(super::pki::CERT_NOT_BEFORE),
            "tcbStatus": "UpToDate",
        }],
    })
    .to_string()
}
