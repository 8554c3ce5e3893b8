//! The engine's codecs: Malachite's own messages (signed votes and proposals, liveness
//! certificates, proposal streams, validator proofs, WAL entries, sync requests) in our wire
//! format, `postcard` over private mirror structs. One codec, [`WireCodec`], serves the WAL,
//! the consensus network and sync (the roles of `ProtobufCodec` in upstream's example app).
//!
//! Vote extensions are not used (`Extension = ()`) and are not encoded: a decoded vote or
//! commit signature has none.

use bytes::Bytes;
use ledger::B256;
use malachitebft_app_channel::app::{
    consensus::LivenessMsg,
    streaming::{StreamContent, StreamId, StreamMessage},
    types::{
        PeerId, ProposedValue, SignedConsensusMsg,
        core::{
            ExtendedCommitCertificate, ExtendedCommitSignature, NilOrVal, PolkaCertificate,
            PolkaSignature, Round, RoundCertificate, RoundCertificateType, RoundSignature,
            SignedMessage, SigningScheme, ValidatorProof, Validity, VoteType,
        },
    },
};
use malachitebft_codec::{Codec, HasEncodedLen};
use malachitebft_sync::{RawDecidedValue, Request, Response, Status, ValueRequest, ValueResponse};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::{
    Address, Ctx, Ed25519, Height, ProposalPart, Signature, Value, ValueId, Vote, codec,
    error::Error,
};

/// The codec for the WAL, the consensus network and sync.
#[derive(Debug, Clone, Copy, Default)]
pub struct WireCodec;

type R<T> = Result<T, Error>;

fn enc<T: Serialize>(what: &'static str, v: &T) -> R<Bytes> {
    postcard::to_stdvec(v)
        .map(Bytes::from)
        .map_err(|e| Error::Encode {
            what,
            reason: e.to_string(),
        })
}

fn dec<T: DeserializeOwned>(what: &'static str, b: &[u8]) -> R<T> {
    postcard::from_bytes(b).map_err(|e| Error::Decode {
        what,
        reason: e.to_string(),
    })
}

fn sig_to(s: &Signature) -> Vec<u8> {
    s.to_bytes().to_vec()
}

fn sig_from(b: &[u8]) -> R<Signature> {
    Ed25519::decode_signature(b).map_err(|e| Error::Decode {
        what: "signature",
        reason: e.to_string(),
    })
}

fn nil_to(v: &NilOrVal<ValueId>) -> Option<B256> {
    match v {
        NilOrVal::Nil => None,
        NilOrVal::Val(id) => Some(id.0),
    }
}

fn nil_from(v: Option<B256>) -> NilOrVal<ValueId> {
    v.map_or(NilOrVal::Nil, |id| NilOrVal::Val(ValueId(id)))
}

#[derive(Serialize, Deserialize)]
struct WSigned {
    msg: Vec<u8>,
    sig: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
enum WConsensus {
    Vote(WSigned),
    Proposal(WSigned),
}

#[derive(Serialize, Deserialize)]
struct WSig {
    address: ledger::Address,
    sig: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct WPolka {
    height: u64,
    round: i64,
    value: B256,
    sigs: Vec<WSig>,
}

#[derive(Serialize, Deserialize)]
struct WRoundSig {
    precommit: bool,
    value: Option<B256>,
    address: ledger::Address,
    sig: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct WRound {
    height: u64,
    round: i64,
    skip: bool,
    sigs: Vec<WRoundSig>,
}

#[derive(Serialize, Deserialize)]
enum WLiveness {
    Vote(WSigned),
    Polka(WPolka),
    Round(WRound),
}

#[derive(Serialize, Deserialize)]
struct WStream {
    id: Vec<u8>,
    seq: u64,
    /// `None` marks the end of the stream.
    part: Option<Vec<u8>>,
}

#[derive(Serialize, Deserialize)]
struct WProof {
    public_key: Vec<u8>,
    peer_id: Vec<u8>,
    sig: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct WProposed {
    height: u64,
    round: i64,
    valid_round: i64,
    proposer: ledger::Address,
    value: B256,
    valid: bool,
}

#[derive(Serialize, Deserialize)]
struct WStatus {
    peer: Vec<u8>,
    tip: u64,
    min: u64,
}

#[derive(Serialize, Deserialize)]
struct WRequest {
    from: u64,
    to: u64,
}

#[derive(Serialize, Deserialize)]
struct WCert {
    height: u64,
    round: i64,
    value_id: B256,
    sigs: Vec<WSig>,
}

#[derive(Serialize, Deserialize)]
struct WDecided {
    value: Vec<u8>,
    cert: WCert,
}

#[derive(Serialize, Deserialize)]
struct WResponse {
    start: u64,
    values: Vec<WDecided>,
}

fn signed_vote_to(v: &SignedMessage<Ctx, Vote>) -> R<WSigned> {
    Ok(WSigned {
        msg: codec::encode_vote(&v.message)?.to_vec(),
        sig: sig_to(&v.signature),
    })
}

fn signed_vote_from(w: WSigned) -> R<SignedMessage<Ctx, Vote>> {
    Ok(SignedMessage::new(
        codec::decode_vote(&w.msg)?,
        sig_from(&w.sig)?,
    ))
}

fn cert_to(c: &ExtendedCommitCertificate<Ctx>) -> WCert {
    WCert {
        height: c.height.0,
        round: c.round.as_i64(),
        value_id: c.value_id.0,
        sigs: c
            .commit_signatures
            .iter()
            .map(|s| WSig {
                address: s.address.0,
                sig: sig_to(&s.signature),
            })
            .collect(),
    }
}

fn cert_from(w: WCert) -> R<ExtendedCommitCertificate<Ctx>> {
    let commit_signatures = w
        .sigs
        .into_iter()
        .map(|s| {
            Ok(ExtendedCommitSignature {
                address: Address(s.address),
                signature: sig_from(&s.sig)?,
                extension: None,
            })
        })
        .collect::<R<_>>()?;
    Ok(ExtendedCommitCertificate {
        height: Height(w.height),
        round: Round::from(w.round),
        value_id: ValueId(w.value_id),
        commit_signatures,
    })
}

/// A commit certificate as stored with its block (the sync response's encoding of one).
pub fn encode_certificate(c: &ExtendedCommitCertificate<Ctx>) -> R<Bytes> {
    enc("commit certificate", &cert_to(c))
}

/// The inverse of [`encode_certificate`].
pub fn decode_certificate(b: &[u8]) -> R<ExtendedCommitCertificate<Ctx>> {
    cert_from(dec("commit certificate", b)?)
}

fn peer_from(b: &[u8]) -> R<PeerId> {
    PeerId::from_bytes(b).map_err(|e| Error::Decode {
        what: "peer id",
        reason: e.to_string(),
    })
}

impl Codec<SignedConsensusMsg<Ctx>> for WireCodec {
    type Error = Error;

    fn decode(&self, bytes: Bytes) -> R<SignedConsensusMsg<Ctx>> {
        Ok(match dec("consensus message", &bytes)? {
            WConsensus::Vote(w) => SignedConsensusMsg::Vote(signed_vote_from(w)?),
            WConsensus::Proposal(w) => SignedConsensusMsg::Proposal(SignedMessage::new(
                codec::decode_proposal(&w.msg)?,
                sig_from(&w.sig)?,
            )),
        })
    }

    fn encode(&self, msg: &SignedConsensusMsg<Ctx>) -> R<Bytes> {
        let w = match msg {
            SignedConsensusMsg::Vote(v) => WConsensus::Vote(signed_vote_to(v)?),
            SignedConsensusMsg::Proposal(p) => WConsensus::Proposal(WSigned {
                msg: codec::encode_proposal(&p.message)?.to_vec(),
                sig: sig_to(&p.signature),
            }),
        };
        enc("consensus message", &w)
    }
}

impl Codec<LivenessMsg<Ctx>> for WireCodec {
    type Error = Error;

    fn decode(&self, bytes: Bytes) -> R<LivenessMsg<Ctx>> {
        Ok(match dec("liveness message", &bytes)? {
            WLiveness::Vote(w) => LivenessMsg::Vote(signed_vote_from(w)?),
            WLiveness::Polka(p) => LivenessMsg::PolkaCertificate(PolkaCertificate {
                height: Height(p.height),
                round: Round::from(p.round),
                value_id: ValueId(p.value),
                polka_signatures: p
                    .sigs
                    .into_iter()
                    .map(|s| Ok(PolkaSignature::new(Address(s.address), sig_from(&s.sig)?)))
                    .collect::<R<_>>()?,
            }),
            WLiveness::Round(r) => LivenessMsg::SkipRoundCertificate(RoundCertificate {
                height: Height(r.height),
                round: Round::from(r.round),
                cert_type: if r.skip {
                    RoundCertificateType::Skip
                } else {
                    RoundCertificateType::Precommit
                },
                round_signatures: r
                    .sigs
                    .into_iter()
                    .map(|s| {
                        Ok(RoundSignature::new(
                            if s.precommit {
                                VoteType::Precommit
                            } else {
                                VoteType::Prevote
                            },
                            nil_from(s.value),
                            Address(s.address),
                            sig_from(&s.sig)?,
                        ))
                    })
                    .collect::<R<_>>()?,
            }),
        })
    }

    fn encode(&self, msg: &LivenessMsg<Ctx>) -> R<Bytes> {
        let w = match msg {
            LivenessMsg::Vote(v) => WLiveness::Vote(signed_vote_to(v)?),
            LivenessMsg::PolkaCertificate(p) => WLiveness::Polka(WPolka {
                height: p.height.0,
                round: p.round.as_i64(),
                value: p.value_id.0,
                sigs: p
                    .polka_signatures
                    .iter()
                    .map(|s| WSig {
                        address: s.address.0,
                        sig: sig_to(&s.signature),
                    })
                    .collect(),
            }),
            LivenessMsg::SkipRoundCertificate(r) => WLiveness::Round(WRound {
                height: r.height.0,
                round: r.round.as_i64(),
                skip: matches!(r.cert_type, RoundCertificateType::Skip),
                sigs: r
                    .round_signatures
                    .iter()
                    .map(|s| WRoundSig {
                        precommit: s.vote_type == VoteType::Precommit,
                        value: nil_to(&s.value_id),
                        address: s.address.0,
                        sig: sig_to(&s.signature),
                    })
                    .collect(),
            }),
        };
        enc("liveness message", &w)
    }
}

impl Codec<ProposalPart> for WireCodec {
    type Error = Error;

    fn decode(&self, bytes: Bytes) -> R<ProposalPart> {
        codec::decode_part(&bytes)
    }

    fn encode(&self, msg: &ProposalPart) -> R<Bytes> {
        codec::encode_part(msg)
    }
}

impl Codec<StreamMessage<ProposalPart>> for WireCodec {
    type Error = Error;

    fn decode(&self, bytes: Bytes) -> R<StreamMessage<ProposalPart>> {
        let w: WStream = dec("stream message", &bytes)?;
        let content = match w.part {
            Some(p) => StreamContent::Data(codec::decode_part(&p)?),
            None => StreamContent::Fin,
        };
        Ok(StreamMessage::new(
            StreamId::new(Bytes::from(w.id)),
            w.seq,
            content,
        ))
    }

    fn encode(&self, msg: &StreamMessage<ProposalPart>) -> R<Bytes> {
        let part = match &msg.content {
            StreamContent::Data(p) => Some(codec::encode_part(p)?.to_vec()),
            StreamContent::Fin => None,
        };
        let w = WStream {
            id: msg.stream_id.to_bytes().to_vec(),
            seq: msg.sequence,
            part,
        };
        enc("stream message", &w)
    }
}

impl Codec<ValidatorProof<Ctx>> for WireCodec {
    type Error = Error;

    fn decode(&self, bytes: Bytes) -> R<ValidatorProof<Ctx>> {
        let w: WProof = dec("validator proof", &bytes)?;
        Ok(ValidatorProof::new(
            w.public_key,
            w.peer_id,
            sig_from(&w.sig)?,
        ))
    }

    fn encode(&self, msg: &ValidatorProof<Ctx>) -> R<Bytes> {
        let w = WProof {
            public_key: msg.public_key.clone(),
            peer_id: msg.peer_id.clone(),
            sig: sig_to(&msg.signature),
        };
        enc("validator proof", &w)
    }
}

impl Codec<ProposedValue<Ctx>> for WireCodec {
    type Error = Error;

    fn decode(&self, bytes: Bytes) -> R<ProposedValue<Ctx>> {
        let w: WProposed = dec("proposed value", &bytes)?;
        Ok(ProposedValue {
            height: Height(w.height),
            round: Round::from(w.round),
            valid_round: Round::from(w.valid_round),
            proposer: Address(w.proposer),
            value: Value::from_id(ValueId(w.value)),
            validity: Validity::from_bool(w.valid),
        })
    }

    fn encode(&self, msg: &ProposedValue<Ctx>) -> R<Bytes> {
        let w = WProposed {
            height: msg.height.0,
            round: msg.round.as_i64(),
            valid_round: msg.valid_round.as_i64(),
            proposer: msg.proposer.0,
            value: msg.value.id().0,
            valid: msg.validity.is_valid(),
        };
        enc("proposed value", &w)
    }
}

impl Codec<PolkaCertificate<Ctx>> for WireCodec {
    type Error = Error;

    fn decode(&self, bytes: Bytes) -> R<PolkaCertificate<Ctx>> {
        match Codec::<LivenessMsg<Ctx>>::decode(self, bytes)? {
            LivenessMsg::PolkaCertificate(p) => Ok(p),
            _ => Err(Error::Decode {
                what: "polka certificate",
                reason: "another liveness message".into(),
            }),
        }
    }

    fn encode(&self, msg: &PolkaCertificate<Ctx>) -> R<Bytes> {
        Codec::<LivenessMsg<Ctx>>::encode(self, &LivenessMsg::PolkaCertificate(msg.clone()))
    }
}

impl Codec<Status<Ctx>> for WireCodec {
    type Error = Error;

    fn decode(&self, bytes: Bytes) -> R<Status<Ctx>> {
        let w: WStatus = dec("sync status", &bytes)?;
        Ok(Status {
            peer_id: peer_from(&w.peer)?,
            tip_height: Height(w.tip),
            history_min_height: Height(w.min),
        })
    }

    fn encode(&self, msg: &Status<Ctx>) -> R<Bytes> {
        let w = WStatus {
            peer: msg.peer_id.to_bytes(),
            tip: msg.tip_height.0,
            min: msg.history_min_height.0,
        };
        enc("sync status", &w)
    }
}

impl Codec<Request<Ctx>> for WireCodec {
    type Error = Error;

    fn decode(&self, bytes: Bytes) -> R<Request<Ctx>> {
        let w: WRequest = dec("sync request", &bytes)?;
        Ok(Request::ValueRequest(ValueRequest::new(
            Height(w.from)..=Height(w.to),
        )))
    }

    fn encode(&self, msg: &Request<Ctx>) -> R<Bytes> {
        let Request::ValueRequest(r) = msg;
        let w = WRequest {
            from: r.range.start().0,
            to: r.range.end().0,
        };
        enc("sync request", &w)
    }
}

impl Codec<Response<Ctx>> for WireCodec {
    type Error = Error;

    fn decode(&self, bytes: Bytes) -> R<Response<Ctx>> {
        let w: WResponse = dec("sync response", &bytes)?;
        let values = w
            .values
            .into_iter()
            .map(|d| {
                Ok(RawDecidedValue::new(
                    Bytes::from(d.value),
                    cert_from(d.cert)?,
                ))
            })
            .collect::<R<_>>()?;
        Ok(Response::ValueResponse(ValueResponse::new(
            Height(w.start),
            values,
        )))
    }

    fn encode(&self, msg: &Response<Ctx>) -> R<Bytes> {
        let Response::ValueResponse(r) = msg;
        let w = WResponse {
            start: r.start_height.0,
            values: r
                .values
                .iter()
                .map(|v| WDecided {
                    value: v.value_bytes.to_vec(),
                    cert: cert_to(&v.certificate),
                })
                .collect(),
        };
        enc("sync response", &w)
    }
}

impl HasEncodedLen<Response<Ctx>> for WireCodec {
    fn encoded_len(&self, msg: &Response<Ctx>) -> R<usize> {
        Codec::<Response<Ctx>>::encode(self, msg).map(|b| b.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ConsensusKey, Proposal, ProposalInit};
    use malachitebft_app_channel::app::types::codec::{ConsensusCodec, SyncCodec, WalCodec};
    use rand::{SeedableRng, rngs::StdRng};

    /// The engine accepts this codec for the WAL, the network and sync.
    fn engine_accepts<C: ConsensusCodec<Ctx> + WalCodec<Ctx> + SyncCodec<Ctx>>() {}

    fn round_trip<T>(msg: T)
    where
        T: PartialEq + std::fmt::Debug,
        WireCodec: Codec<T, Error = Error>,
    {
        let bytes = WireCodec.encode(&msg).unwrap();
        assert_eq!(WireCodec.decode(bytes.clone()).unwrap(), msg);
        assert!(WireCodec.decode(bytes.slice(..bytes.len() / 2)).is_err() || bytes.len() < 2);
    }

    #[test]
    fn engine_messages_round_trip() {
        engine_accepts::<WireCodec>();
        let key = ConsensusKey::generate(StdRng::seed_from_u64(5));
        let sig = key.sign(b"x");
        let a = Address(ledger::Address::repeat_byte(3));
        let id = ValueId(B256::repeat_byte(8));
        let vote = Vote::new(
            VoteType::Prevote,
            Height(2),
            Round::new(1),
            NilOrVal::Val(id),
            a,
        );
        round_trip(SignedConsensusMsg::<Ctx>::Vote(SignedMessage::new(
            vote.clone(),
            sig,
        )));
        round_trip(SignedConsensusMsg::<Ctx>::Proposal(SignedMessage::new(
            Proposal {
                height: Height(2),
                round: Round::new(1),
                value: Value::from_id(id),
                pol_round: Round::Nil,
                proposer: a,
            },
            sig,
        )));
        round_trip(LivenessMsg::<Ctx>::Vote(SignedMessage::new(vote, sig)));
        let polka = PolkaCertificate::<Ctx> {
            height: Height(2),
            round: Round::new(0),
            value_id: id,
            polka_signatures: vec![PolkaSignature::new(a, sig)],
        };
        round_trip(LivenessMsg::PolkaCertificate(polka.clone()));
        round_trip(polka);
        round_trip(LivenessMsg::<Ctx>::SkipRoundCertificate(RoundCertificate {
            height: Height(2),
            round: Round::new(3),
            cert_type: RoundCertificateType::Skip,
            round_signatures: vec![RoundSignature::new(
                VoteType::Precommit,
                NilOrVal::Nil,
                a,
                sig,
            )],
        }));
        let init = ProposalInit {
            height: Height(2),
            round: Round::new(1),
            pol_round: Round::Nil,
            proposer: a,
        };
        let sid = StreamId::new(Bytes::from_static(b"s"));
        round_trip(StreamMessage::new(
            sid.clone(),
            0,
            StreamContent::Data(ProposalPart::Init(init)),
        ));
        round_trip(StreamMessage::<ProposalPart>::new(
            sid,
            3,
            StreamContent::Fin,
        ));
        round_trip(ValidatorProof::<Ctx>::new(vec![1; 32], vec![2; 38], sig));
        round_trip(ProposedValue::<Ctx> {
            height: Height(2),
            round: Round::new(1),
            valid_round: Round::Nil,
            proposer: a,
            value: Value::from_id(id),
            validity: Validity::Invalid,
        });
        round_trip(Status::<Ctx> {
            // An identity multihash (code 0, 4 bytes of digest).
            peer_id: PeerId::from_bytes(&[0, 4, 1, 2, 3, 4]).unwrap(),
            tip_height: Height(9),
            history_min_height: Height(1),
        });
        round_trip(Request::<Ctx>::ValueRequest(ValueRequest::new(
            Height(3)..=Height(5),
        )));
        let decided = RawDecidedValue::new(
            Bytes::from_static(b"block"),
            ExtendedCommitCertificate {
                height: Height(3),
                round: Round::new(0),
                value_id: id,
                commit_signatures: vec![ExtendedCommitSignature {
                    address: a,
                    signature: sig,
                    extension: None,
                }],
            },
        );
        let stored = encode_certificate(&decided.certificate).unwrap();
        assert_eq!(decode_certificate(&stored).unwrap(), decided.certificate);
        assert!(decode_certificate(&stored[..stored.len() - 1]).is_err());
        round_trip(Response::<Ctx>::ValueResponse(ValueResponse::new(
            Height(3),
            vec![decided],
        )));
    }
}
