//! The dev PKI: certificates and CRLs shaped like Intel's SGX provisioning PKI, as dcap-qvl
//! (through webpki and x509-cert) checks them.
//!
//! - root CA: self-signed, `cA`, keyCertSign + cRLSign; the trust anchor.
//! - PCK "Processor" CA (issued by the root; the issuer name must contain "Processor" for
//!   dcap-qvl to classify the PCK leaf as a processor PCK), `cA`, pathLen 0.
//! - PCK leaf (issued by the PCK CA): the SGX extension `1.2.840.113741.1.13.1` with PPID, TCB
//!   (16 components, PCESVN, CPUSVN), PCE-ID, FMSPC and SGX type; no basicConstraints.
//! - TCB signing certificate (issued by the root directly, as dcap-qvl requires): signs the
//!   TCB info and the QE identity.
//! - CRLs: v2, CRL number, no distribution points (webpki then treats them as authoritative
//!   for every certificate of the issuer), no revoked entries.
//!
//! Certificates are valid from 2020-01-01 to 9999-12-31 so the root does not depend on the
//! time; freshness comes from the CRLs and the signed JSON, as with Intel's collateral.

use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};

use super::der::{
    bits, bool_true, enumerated, explicit, int, octets, oid, seq, set, time, uint, utf8,
};

/// 2020-01-01T00:00:00Z.
pub(super) const CERT_NOT_BEFORE: u64 = 1_577_836_800;
/// 9999-12-31T23:59:59Z, RFC 5280's "no well-defined expiration".
pub(super) const CERT_NOT_AFTER: u64 = 253_402_300_799;

const ECDSA_WITH_SHA256: &[u64] = &[1, 2, 840, 10045, 4, 3, 2];
const EC_PUBLIC_KEY: &[u64] = &[1, 2, 840, 10045, 2, 1];
const PRIME256V1: &[u64] = &[1, 2, 840, 10045, 3, 1, 7];
const COMMON_NAME: &[u64] = &[2, 5, 4, 3];
const ORGANIZATION: &[u64] = &[2, 5, 4, 10];
const BASIC_CONSTRAINTS: &[u64] = &[2, 5, 29, 19];
const KEY_USAGE: &[u64] = &[2, 5, 29, 15];
const CRL_NUMBER: &[u64] = &[2, 5, 29, 20];
const SGX_EXTENSION: &[u64] = &[1, 2, 840, 113_741, 1, 13, 1];

/// Arcs of `1.2.840.113741.1.13.1.<sub...>`.
fn sgx_oid(sub: &[u64]) -> Vec<u8> {
    let mut arcs = SGX_EXTENSION.to_vec();
    arcs.extend_from_slice(sub);
    oid(&arcs)
}

/// The platform values a PCK certificate carries.
pub(super) struct Platform {
    pub ppid: [u8; 16],
    pub cpu_svn: [u8; 16],
    pub pce_svn: u16,
    pub pce_id: [u8; 2],
    pub fmspc: [u8; 6],
}

/// What kind of certificate to issue.
pub(super) enum Profile<'a> {
    /// A CA; `path_len` limits the CAs below it.
    Ca { path_len: Option<u8> },
    /// A leaf that signs data (TCB signer, PCK), with the SGX extension for a PCK.
    Leaf { sgx: Option<&'a Platform> },
}

/// A subject name: CN and O, UTF8String, one attribute per RDN.
pub(super) fn name(common_name: &str) -> Vec<u8> {
    seq(&[
        &set(&seq(&[&oid(COMMON_NAME), &utf8(common_name)])),
        &set(&seq(&[
            &oid(ORGANIZATION),
            &utf8("Symbiont dev attestation"),
        ])),
    ])
}

fn algorithm() -> Vec<u8> {
    seq(&[&oid(ECDSA_WITH_SHA256)])
}

fn spki(key: &SigningKey) -> Vec<u8> {
    let point = key.verifying_key().to_sec1_point(false);
    seq(&[
        &seq(&[&oid(EC_PUBLIC_KEY), &oid(PRIME256V1)]),
        &bits(0, point.as_bytes()),
    ])
}

/// An X.509 extension: OID, critical flag when set, value in an OCTET STRING.
fn extension(id: &[u8], critical: bool, value: &[u8]) -> Vec<u8> {
    if critical {
        seq(&[id, &bool_true(), &octets(value)])
    } else {
        seq(&[id, &octets(value)])
    }
}

/// Sign `tbs` and wrap it as `SEQUENCE { tbs, algorithm, BIT STRING signature }` (the shape
/// of both certificates and CRLs).
fn signed(tbs: &[u8], key: &SigningKey) -> Vec<u8> {
    let signature: Signature = key.sign(tbs);
    let (r, s) = signature.split_bytes();
    let der_signature = seq(&[&uint(&r), &uint(&s)]);
    seq(&[tbs, &algorithm(), &bits(0, &der_signature)])
}

/// Issue a certificate for `subject_key` named `subject`, signed by `issuer_key`.
pub(super) fn certificate(
    serial: u64,
    issuer: &[u8],
    issuer_key: &SigningKey,
    subject: &[u8],
    subject_key: &SigningKey,
    profile: Profile<'_>,
) -> Vec<u8> {
    let mut extensions = Vec::new();
    match profile {
        Profile::Ca { path_len } => {
            let constraints = match path_len {
                Some(len) => seq(&[&bool_true(), &int(u64::from(len))]),
                None => seq(&[&bool_true()]),
            };
            extensions.push(extension(&oid(BASIC_CONSTRAINTS), true, &constraints));
            // keyCertSign (bit 5) and cRLSign (bit 6): 0b0000_0110, one unused bit.
            extensions.push(extension(&oid(KEY_USAGE), true, &bits(1, &[0x06])));
        }
        Profile::Leaf { sgx } => {
            // digitalSignature (bit 0) and nonRepudiation (bit 1): 0b1100_0000, six unused.
            extensions.push(extension(&oid(KEY_USAGE), true, &bits(6, &[0xC0])));
            if let Some(platform) = sgx {
                extensions.push(extension(&sgx_oid(&[]), false, &sgx_extension(platform)));
            }
        }
    }
    let tbs = seq(&[
        &explicit(0, &int(2)),
        &int(serial),
        &algorithm(),
        issuer,
        &seq(&[&time(CERT_NOT_BEFORE), &time(CERT_NOT_AFTER)]),
        subject,
        &spki(subject_key),
        &explicit(
            3,
            &seq(&extensions.iter().map(Vec::as_slice).collect::<Vec<_>>()),
        ),
    ]);
    signed(&tbs, issuer_key)
}

/// A CRL by `issuer` with no revoked certificates, valid from `this_update` to `next_update`.
pub(super) fn crl(
    issuer: &[u8],
    issuer_key: &SigningKey,
    number: u64,
    this_update: u64,
    next_update: u64,
) -> Vec<u8> {
    let extensions = seq(&[&extension(&oid(CRL_NUMBER), false, &int(number))]);
    let tbs = seq(&[
        &int(1),
        &algorithm(),
        issuer,
        &time(this_update),
        &time(next_update),
        &explicit(0, &extensions),
    ]);
    signed(&tbs, issuer_key)
}

/// The value of the SGX extension (Intel's PCK certificate profile, §1.3.5): a SEQUENCE of
/// `SEQUENCE { OID, value }`; dcap-qvl reads PPID, TCB (its PCESVN and CPUSVN), PCE-ID, FMSPC
/// and SGX type.
fn sgx_extension(platform: &Platform) -> Vec<u8> {
    let mut tcb: Vec<Vec<u8>> = (1u64..=16)
        .zip(platform.cpu_svn)
        .map(|(i, svn)| seq(&[&sgx_oid(&[2, i]), &int(u64::from(svn))]))
        .collect();
    tcb.push(seq(&[
        &sgx_oid(&[2, 17]),
        &int(u64::from(platform.pce_svn)),
    ]));
    tcb.push(seq(&[&sgx_oid(&[2, 18]), &octets(&platform.cpu_svn)]));
    let tcb = seq(&tcb.iter().map(Vec::as_slice).collect::<Vec<_>>());
    seq(&[
        &seq(&[&sgx_oid(&[1]), &octets(&platform.ppid)]),
        &seq(&[&sgx_oid(&[2]), &tcb]),
        &seq(&[&sgx_oid(&[3]), &octets(&platform.pce_id)]),
        &seq(&[&sgx_oid(&[4]), &octets(&platform.fmspc)]),
        // SGX type: Standard (0).
        &seq(&[&sgx_oid(&[5]), &enumerated(0)]),
    ])
}
