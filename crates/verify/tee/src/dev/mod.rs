//! A dev attestation root: a seeded PKI that plays Intel's role so that the whole TEE flow (a
//! provider binds its key to a quote, the ledger verifies it in the state transition) runs on
//! a dev chain without TEE hardware.
//!
//! **Dev chains only.** Whoever holds the seed can produce quotes with any report data: the
//! quotes attest nothing about hardware. A dev genesis carries [`DevTee::root_ca_der`] as its
//! attestation root ([`crate::Root::Custom`]); a production genesis trusts Intel's root
//! ([`crate::Root::Intel`]), under which every dev quote fails.
//!
//! [`DevTee::quote`] builds an SGX v3 quote with a PCK certificate chain (certification data
//! type 5) and its collateral: TCB info and QE identity signed by a TCB signing certificate,
//! and the root and PCK CRLs, all valid from `now − 1 day` to `now + 30 days`. It verifies as
//! `UpToDate` with no advisories. Everything is derived from the seed (RFC 6979 signatures), so
//! the same seed, report data and time give the same bytes.

mod der;
mod pki;
mod quote;

use dcap_qvl::QuoteCollateralV3;
use p256::ecdsa::SigningKey;
use sha2::{Digest, Sha256};

use pki::{Platform, Profile};

/// One day, the collateral's validity before `now`.
const DAY: u64 = 86_400;
/// The collateral's validity after `now`.
pub const COLLATERAL_VALIDITY_SECS: u64 = 30 * DAY;

/// The dev platform: FMSPC, PCE-ID, SVNs; the TCB info lists exactly this level.
const FMSPC: [u8; 6] = *b"SYMDEV";
const PCE_ID: [u8; 2] = [0, 0];
const PCE_SVN: u16 = 13;
const CPU_SVN: [u8; 16] = [3, 3, 2, 2, 2, 1, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0];
/// The dev quoting enclave's product id and SVN.
const QE_PROD_ID: u16 = 1;
const QE_SVN: u16 = 8;
/// TCB evaluation data number of the dev TCB info and QE identity.
const TCB_EVALUATION_DATA_NUMBER: u32 = 17;

/// A seeded stand-in for Intel's attestation PKI and a quoting enclave.
pub struct DevTee {
    root_key: SigningKey,
    root_name: Vec<u8>,
    root_der: Vec<u8>,
    pck_ca_key: SigningKey,
    pck_ca_name: Vec<u8>,
    pck_ca_der: Vec<u8>,
    pck_key: SigningKey,
    pck_der: Vec<u8>,
    tcb_signer_key: SigningKey,
    tcb_signer_der: Vec<u8>,
    attestation_key: SigningKey,
    qe_mrsigner: [u8; 32],
    mrenclave: [u8; 32],
}

impl DevTee {
    /// Derive every key and certificate from `seed`.
    pub fn new(seed: [u8; 32]) -> Self {
        let root_key = derive_key(&seed, "root-ca");
        let pck_ca_key = derive_key(&seed, "pck-ca");
        let pck_key = derive_key(&seed, "pck");
        let tcb_signer_key = derive_key(&seed, "tcb-signing");
        let attestation_key = derive_key(&seed, "attestation-key");

        let root_name = pki::name("Symbiont Dev SGX Root CA");
        let pck_ca_name = pki::name("Symbiont Dev SGX PCK Processor CA");
        let root_der = pki::certificate(
            1,
            &root_name,
            &root_key,
            &root_name,
            &root_key,
            Profile::Ca { path_len: None },
        );
        let pck_ca_der = pki::certificate(
            2,
            &root_name,
            &root_key,
            &pck_ca_name,
            &pck_ca_key,
            Profile::Ca { path_len: Some(0) },
        );
        let platform = Platform {
            ppid: derive_bytes(&seed, "ppid"),
            cpu_svn: CPU_SVN,
            pce_svn: PCE_SVN,
            pce_id: PCE_ID,
            fmspc: FMSPC,
        };
        let pck_der = pki::certificate(
            3,
            &pck_ca_name,
            &pck_ca_key,
            &pki::name("Symbiont Dev SGX PCK Certificate"),
            &pck_key,
            Profile::Leaf {
                sgx: Some(&platform),
            },
        );
        let tcb_signer_der = pki::certificate(
            4,
            &root_name,
            &root_key,
            &pki::name("Symbiont Dev SGX TCB Signing"),
            &tcb_signer_key,
            Profile::Leaf { sgx: None },
        );
        Self {
            root_key,
            root_name,
            root_der,
            pck_ca_key,
            pck_ca_name,
            pck_ca_der,
            pck_key,
            pck_der,
            tcb_signer_key,
            tcb_signer_der,
            attestation_key,
            qe_mrsigner: derive_bytes(&seed, "qe-mrsigner"),
            mrenclave: derive_bytes(&seed, "mrenclave"),
        }
    }

    /// The dev root CA certificate (DER): what a dev genesis trusts as [`crate::Root::Custom`].
    pub fn root_ca_der(&self) -> Vec<u8> {
        self.root_der.clone()
    }

    /// The MRENCLAVE of the dev enclave whose quotes [`DevTee::quote`] produces.
    pub fn mrenclave(&self) -> [u8; 32] {
        self.mrenclave
    }

    /// An SGX v3 quote carrying `report_data`, and its collateral (`QuoteCollateralV3` JSON)
    /// valid from `now_secs − 1 day` to `now_secs + 30 days`.
    pub fn quote(&self, report_data: [u8; 64], now_secs: u64) -> (Vec<u8>, Vec<u8>) {
        (self.quote_bytes(report_data), self.collateral(now_secs))
    }

    fn quote_bytes(&self, report_data: [u8; 64]) -> Vec<u8> {
        quote::build(&quote::Parts {
            report_data,
            mrenclave: self.mrenclave,
            cpu_svn: CPU_SVN,
            pce_svn: PCE_SVN,
            qe_svn: QE_SVN,
            qe_prod_id: QE_PROD_ID,
            qe_mrsigner: self.qe_mrsigner,
            attestation_key: &self.attestation_key,
            pck_key: &self.pck_key,
            pck_chain_pem: pem_chain(&[&self.pck_der, &self.pck_ca_der, &self.root_der]),
        })
    }

    fn collateral(&self, now_secs: u64) -> Vec<u8> {
        let from = now_secs.saturating_sub(DAY);
        let until = now_secs.saturating_add(COLLATERAL_VALIDITY_SECS);
        let tcb_info = quote::tcb_info_json(
            &FMSPC,
            &PCE_ID,
            &CPU_SVN,
            PCE_SVN,
            TCB_EVALUATION_DATA_NUMBER,
            from,
            until,
        );
        let qe_identity = quote::qe_identity_json(
            &self.qe_mrsigner,
            QE_PROD_ID,
            QE_SVN,
            TCB_EVALUATION_DATA_NUMBER,
            from,
            until,
        );
        let signer_chain = pem_chain(&[&self.tcb_signer_der, &self.root_der]);
        let collateral = QuoteCollateralV3 {
            pck_crl_issuer_chain: pem_chain(&[&self.pck_ca_der, &self.root_der]),
            root_ca_crl: pki::crl(&self.root_name, &self.root_key, 1, from, until),
            pck_crl: pki::crl(&self.pck_ca_name, &self.pck_ca_key, 1, from, until),
            tcb_info_issuer_chain: signer_chain.clone(),
            tcb_info_signature: quote::sign_raw(&self.tcb_signer_key, tcb_info.as_bytes()).to_vec(),
            tcb_info,
            qe_identity_issuer_chain: signer_chain,
            qe_identity_signature: quote::sign_raw(&self.tcb_signer_key, qe_identity.as_bytes())
                .to_vec(),
            qe_identity,
            pck_certificate_chain: None,
        };
        // Serializing a struct of strings and byte vectors to JSON cannot fail.
        serde_json::to_vec(&collateral).unwrap_or_default()
    }
}

/// A P-256 key from `sha256("symbiont-dev-tee/v1" ‖ label ‖ seed ‖ counter)`, the first
/// counter that gives a valid scalar (all but ~2⁻³² of hashes are).
fn derive_key(seed: &[u8; 32], label: &str) -> SigningKey {
    let mut counter = 0u32;
    loop {
        let bytes = derive_bytes_with(seed, label, counter);
        if let Ok(key) = SigningKey::from_slice(&bytes) {
            return key;
        }
        counter = counter.wrapping_add(1);
    }
}

fn derive_bytes<const N: usize>(seed: &[u8; 32], label: &str) -> [u8; N] {
    let digest = derive_bytes_with(seed, label, 0);
    let mut out = [0u8; N];
    for (o, d) in out.iter_mut().zip(digest) {
        *o = d;
    }
    out
}

fn derive_bytes_with(seed: &[u8; 32], label: &str, counter: u32) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(b"symbiont-dev-tee/v1");
    hasher.update((label.len() as u64).to_be_bytes());
    hasher.update(label.as_bytes());
    hasher.update(seed);
    hasher.update(counter.to_be_bytes());
    hasher.finalize().into()
}

fn pem_chain(certs: &[&[u8]]) -> String {
    let pems: Vec<pem::Pem> = certs
        .iter()
        .map(|der| pem::Pem::new("CERTIFICATE", der.to_vec()))
        .collect();
    pem::encode_many(&pems)
}
