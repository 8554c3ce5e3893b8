//! Consensus keys and signatures: ed25519 through Malachite's `signing-ed25519` crate.
//!
//! A validator's **consensus key** (ed25519) signs votes, proposals and proposal streams; it is
//! not its **account key** (secp256k1, which signs ledger transactions and receives the block's
//! `proposer` role). Genesis lists both for each validator: the account address and the
//! consensus public key ([`crate::GenesisValidator`]). Keeping them apart lets an operator keep
//! funds in a cold account while the always-online consensus key lives on the validator host,
//! and uses the signature scheme Malachite's engine and peers already verify (ADR 0003).

use async_trait::async_trait;
use malachitebft_core_types::{
    SignedExtension, SignedMessage, SignedProposal, SignedVote, ValidatorProof, VoteExtensionScope,
};
use malachitebft_signing::{Error as SignError, Signer, VerificationResult, Verifier};
use malachitebft_signing_ed25519::PrivateKey;
use zeroize::Zeroize;

use crate::{
    Ctx, Proposal, PublicKey, Signature, Vote, codec,
    error::{Error, Result},
};

/// A validator's ed25519 consensus private key. No `Debug`; zeroized on drop.
pub struct ConsensusKey(PrivateKey);

impl ConsensusKey {
    /// A fresh key from a cryptographic RNG.
    pub fn generate<R: rand::RngCore + rand::CryptoRng>(rng: R) -> Self {
        ConsensusKey(PrivateKey::generate(rng))
    }

    /// The key from its 32-byte seed.
    pub fn from_bytes(seed: [u8; 32]) -> Self {
        ConsensusKey(PrivateKey::from(seed))
    }

    /// The 32-byte seed (to write a key file).
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.inner().to_bytes()
    }

    /// The public key genesis lists.
    pub fn public_key(&self) -> PublicKey {
        self.0.public_key()
    }

    /// Signs raw bytes (callers pass [`crate::codec`] sign bytes).
    pub fn sign(&self, msg: &[u8]) -> Signature {
        self.0.sign(msg)
    }
}

impl Drop for ConsensusKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// Whether `sig` is `key`'s signature of `msg`.
pub fn verify(key: &PublicKey, msg: &[u8], sig: &Signature) -> bool {
    key.verify(msg, sig).is_ok()
}

/// Parses a 32-byte ed25519 public key written in hex (with or without `0x`).
pub fn decode_public_key_hex(s: &str) -> Result<PublicKey> {
    let bad = |m: String| Error::InvalidKey(m);
    let raw = hex::decode(s.strip_prefix("0x").unwrap_or(s)).map_err(|e| bad(e.to_string()))?;
    let arr: [u8; 32] = raw
        .try_into()
        .map_err(|_| bad("a consensus key is 32 bytes".into()))?;
    PublicKey::from_bytes(arr).map_err(|e| bad(e.to_string()))
}

/// Signs this validator's consensus messages for one chain (Malachite's `Signer`).
pub struct LocalSigner {
    key: ConsensusKey,
    chain_id: u64,
}

impl LocalSigner {
    /// A signer with `key` for `chain_id`.
    pub fn new(key: ConsensusKey, chain_id: u64) -> Self {
        LocalSigner { key, chain_id }
    }

    /// The key's public half.
    pub fn public_key(&self) -> PublicKey {
        self.key.public_key()
    }
}

#[async_trait]
impl Signer<Ctx> for LocalSigner {
    async fn sign_vote(&self, vote: Vote) -> Result<SignedVote<Ctx>, SignError> {
        let sig = self.key.sign(&codec::vote_sign_bytes(self.chain_id, &vote));
        Ok(SignedMessage::new(vote, sig))
    }

    async fn sign_proposal(&self, proposal: Proposal) -> Result<SignedProposal<Ctx>, SignError> {
        let sig = self
            .key
            .sign(&codec::proposal_sign_bytes(self.chain_id, &proposal));
        Ok(SignedMessage::new(proposal, sig))
    }

    async fn sign_vote_extension(
        &self,
        scope: VoteExtensionScope<Ctx>,
        extension: (),
    ) -> Result<SignedExtension<Ctx>, SignError> {
        let sig = self
            .key
            .sign(&codec::extension_sign_bytes(self.chain_id, &scope));
        Ok(SignedMessage::new(extension, sig))
    }

    async fn sign_validator_proof(
        &self,
        public_key: Vec<u8>,
        peer_id: Vec<u8>,
    ) -> Result<ValidatorProof<Ctx>, SignError> {
        // Malachite's own preimage (`core-types/src/validator_proof.rs`), which binds the
        // consensus key to the libp2p peer id.
        let sig = self
            .key
            .sign(&ValidatorProof::<Ctx>::signing_bytes(&public_key, &peer_id));
        Ok(ValidatorProof::new(public_key, peer_id, sig))
    }
}

/// Checks other validators' consensus signatures for one chain (Malachite's `Verifier`).
#[derive(Debug, Clone, Copy)]
pub struct ChainVerifier {
    /// The chain whose messages are accepted.
    pub chain_id: u64,
}

#[async_trait]
impl Verifier<Ctx> for ChainVerifier {
    async fn verify_signed_vote(
        &self,
        vote: &Vote,
        signature: &Signature,
        public_key: &PublicKey,
    ) -> Result<VerificationResult, SignError> {
        let msg = codec::vote_sign_bytes(self.chain_id, vote);
        Ok(VerificationResult::from_bool(verify(
            public_key, &msg, signature,
        )))
    }

    async fn verify_signed_proposal(
        &self,
        proposal: &Proposal,
        signature: &Signature,
        public_key: &PublicKey,
    ) -> Result<VerificationResult, SignError> {
        let msg = codec::proposal_sign_bytes(self.chain_id, proposal);
        Ok(VerificationResult::from_bool(verify(
            public_key, &msg, signature,
        )))
    }

    async fn verify_signed_vote_extension(
        &self,
        scope: &VoteExtensionScope<Ctx>,
        _extension: &(),
        signature: &Signature,
        public_key: &PublicKey,
    ) -> Result<VerificationResult, SignError> {
        let msg = codec::extension_sign_bytes(self.chain_id, scope);
        Ok(VerificationResult::from_bool(verify(
            public_key, &msg, signature,
        )))
    }

    async fn verify_validator_proof(
        &self,
        proof: &ValidatorProof<Ctx>,
    ) -> Result<VerificationResult, SignError> {
        let Ok(key) = proof.decoded_public_key() else {
            return Ok(VerificationResult::Invalid);
        };
        Ok(VerificationResult::from_bool(verify(
            &key,
            &proof.preimage(),
            &proof.signature,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Address, Height, ValueId};
    use ledger::B256;
    use malachitebft_core_types::{NilOrVal, Round, VoteType};
    use rand::{SeedableRng, rngs::StdRng};

    fn vote(value: NilOrVal<ValueId>) -> Vote {
        Vote::new(
            VoteType::Precommit,
            Height(5),
            Round::new(1),
            value,
            Address(ledger::Address::repeat_byte(4)),
        )
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn signatures_verify_and_tampering_is_rejected() {
        let mut rng = StdRng::seed_from_u64(11);
        let signer = LocalSigner::new(ConsensusKey::generate(&mut rng), 42);
        let other = ConsensusKey::generate(&mut rng).public_key();
        let ok = ChainVerifier { chain_id: 42 };
        let wrong_chain = ChainVerifier { chain_id: 43 };
        let pk = signer.public_key();
        block_on(async {
            let v = vote(NilOrVal::Val(ValueId(B256::repeat_byte(1))));
            let signed = signer.sign_vote(v.clone()).await.unwrap();
            let check = |verifier: ChainVerifier, v: Vote, key: PublicKey| {
                let sig = signed.signature;
                async move {
                    verifier
                        .verify_signed_vote(&v, &sig, &key)
                        .await
                        .unwrap()
                        .is_valid()
                }
            };
            assert!(check(ok, v.clone(), pk).await);
            assert!(!check(ok, v.clone(), other).await);
            assert!(!check(wrong_chain, v.clone(), pk).await);
            assert!(!check(ok, vote(NilOrVal::Nil), pk).await);

            let proof = signer
                .sign_validator_proof(pk.as_bytes().to_vec(), b"peer".to_vec())
                .await
                .unwrap();
            assert!(ok.verify_validator_proof(&proof).await.unwrap().is_valid());
            let forged =
                ValidatorProof::new(proof.public_key.clone(), b"other".to_vec(), proof.signature);
            assert!(
                ok.verify_validator_proof(&forged)
                    .await
                    .unwrap()
                    .is_invalid()
            );
        });
    }

    #[test]
    fn keys_round_trip_through_seed_and_hex() {
        let k = ConsensusKey::generate(StdRng::seed_from_u64(2));
        let again = ConsensusKey::from_bytes(k.to_bytes());
        assert_eq!(again.public_key(), k.public_key());
        let hexed = format!("0x{}", hex::encode(k.public_key().as_bytes()));
        assert_eq!(decode_public_key_hex(&hexed).unwrap(), k.public_key());
        assert!(decode_public_key_hex("0xzz").is_err());
        assert!(decode_public_key_hex("00").is_err());
    }
}
