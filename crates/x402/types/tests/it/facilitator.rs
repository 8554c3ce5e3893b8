//! The `Facilitator` trait in use: an in-memory facilitator that verifies EIP-3009 payloads
//! with this crate's pieces, driven through a generic caller as a server would.

use std::{collections::BTreeMap, convert::Infallible, future::Future, pin::pin, task};

use alloy_primitives::{Address, B256, address, hex};
use secp256k1::{Message, SECP256K1, SecretKey};
use x402_types::{
    Facilitator, Network, Reason, SettleRequest, SettleResponse, SupportedKind, SupportedResponse,
    TokenAmount, VerifyRequest, VerifyResponse,
    exact::{self, Authorization, ExactEvmPayload},
    v2,
};

/// Verifies signature, recipient and amount; settles by answering a fake hash.
struct InMemory;

impl InMemory {
    fn check(req: &VerifyRequest) -> VerifyResponse {
        let Ok((payload, requirements)) = req.v2() else {
            return VerifyResponse::invalid(Reason::InvalidPayload, None);
        };
        let Ok(evm) = payload.exact_evm() else {
            return VerifyResponse::invalid(Reason::InvalidPayload, None);
        };
        let payer = Some(evm.authorization.from.to_string());
        let Ok(domain) = exact::domain_for(&requirements) else {
            return VerifyResponse::invalid(Reason::InvalidExactEvmMissingEip712Domain, payer);
        };
        if evm.recover_signer(&domain).ok() != Some(evm.authorization.from) {
            return VerifyResponse::invalid(Reason::InvalidExactEvmSignature, payer);
        }
        if evm.authorization.to.to_string() != requirements.pay_to {
            return VerifyResponse::invalid(Reason::InvalidExactEvmRecipientMismatch, payer);
        }
        if evm.authorization.value != requirements.amount {
            return VerifyResponse::invalid(Reason::InvalidExactEvmAuthorizationValue, payer);
        }
        VerifyResponse::valid(evm.authorization.from.to_string())
    }
}

impl Facilitator for InMemory {
    type Error = Infallible;

    async fn verify(&self, request: &VerifyRequest) -> Result<VerifyResponse, Infallible> {
        Ok(Self::check(request))
    }

    async fn settle(&self, request: &SettleRequest) -> Result<SettleResponse, Infallible> {
        let v = Self::check(request);
        Ok(SettleResponse {
            success: v.is_valid,
            error_reason: v.invalid_reason,
            error_message: None,
            payer: v.payer,
            transaction: if v.is_valid {
                format!("{}", B256::repeat_byte(1))
            } else {
                String::new()
            },
            network: "eip155:31337".into(),
            amount: None,
            extensions: None,
        })
    }

    async fn supported(&self) -> Result<SupportedResponse, Infallible> {
        Ok(SupportedResponse {
            kinds: vec![SupportedKind {
                x402_version: 2,
                scheme: "exact".into(),
                network: "eip155:31337".into(),
                extra: None,
            }],
            extensions: vec![],
            signers: BTreeMap::new(),
        })
    }
}

/// A server-side caller generic over any facilitator.
async fn verify_then_settle<F: Facilitator>(
    f: &F,
    req: &VerifyRequest,
) -> Result<SettleResponse, F::Error> {
    let v = f.verify(req).await?;
    if !v.is_valid {
        return Ok(SettleResponse {
            success: false,
            error_reason: v.invalid_reason,
            error_message: None,
            payer: v.payer,
            transaction: String::new(),
            network: String::new(),
            amount: None,
            extensions: None,
        });
    }
    f.settle(req).await
}

/// The trait's futures are `Send`, so a generic caller's future can be spawned on a
/// multi-threaded runtime (this fails to compile otherwise).
fn require_send<T: Send>(t: T) -> T {
    t
}

/// Polls a future that never waits (the in-memory facilitator) to completion.
fn block_on<T>(f: impl Future<Output = T>) -> T {
    let mut f = pin!(f);
    let mut cx = task::Context::from_waker(task::Waker::noop());
    loop {
        if let task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

const PAY_TO: Address = address!("70997970C51812dc3A010C7d01b50e0d17dc79C8");

fn paid(amount: u64, signed_amount: u64) -> VerifyRequest {
    let key = SecretKey::from_byte_array(hex!(
        "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
    ))
    .unwrap();
    let requirements = v2::PaymentRequirements {
        scheme: "exact".into(),
        network: Network::eip155(31337),
        amount: TokenAmount::from(amount),
        asset: "0x5FbDB2315678afecb367f032d93F642f64180aa3".into(),
        pay_to: PAY_TO.to_string(),
        max_timeout_seconds: 60,
        extra: v2::Extra::eip712("Test Token", "1"),
    };
    let authorization = Authorization {
        from: address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266"),
        to: PAY_TO,
        value: TokenAmount::from(signed_amount),
        valid_after: TokenAmount::ZERO,
        valid_before: TokenAmount::from(4_000_000_000u64),
        nonce: B256::repeat_byte(9),
    };
    let hash = authorization.signing_hash(&exact::domain_for(&requirements).unwrap());
    let (recid, rs) = SECP256K1
        .sign_ecdsa_recoverable(Message::from_digest(hash.0), &key)
        .serialize_compact();
    let mut signature = rs.to_vec();
    signature.push(27 + u8::try_from(i32::from(recid)).unwrap());
    let payload = v2::PaymentPayload::new(
        &requirements,
        None,
        &ExactEvmPayload {
            signature: signature.into(),
            authorization,
        },
    )
    .unwrap();
    VerifyRequest::new_v2(&payload, &requirements).unwrap()
}

#[test]
fn a_generic_server_drives_the_trait() {
    let f = InMemory;
    let req = paid(1000, 1000);
    let ok = block_on(require_send(verify_then_settle(&f, &req))).unwrap();
    assert!(ok.success, "{ok:?}");
    assert_eq!(ok.transaction.len(), 66);

    let wrong = block_on(verify_then_settle(&f, &paid(1000, 999))).unwrap();
    assert!(!wrong.success);
    assert_eq!(
        wrong.error_reason,
        Some(Reason::InvalidExactEvmAuthorizationValue)
    );
    assert_eq!(
        serde_json::to_value(&wrong).unwrap()["errorReason"],
        "invalid_exact_evm_authorization_value"
    );

    // Tampering with the signed value after signing breaks the signature.
    let mut tampered = paid(1000, 1000);
    tampered.payment_payload["payload"]["authorization"]["value"] = "1".into();
    tampered.payment_requirements["amount"] = "1".into();
    let r = block_on(f.verify(&tampered)).unwrap();
    assert_eq!(r.invalid_reason, Some(Reason::InvalidExactEvmSignature));

    let s = block_on(f.supported()).unwrap();
    assert_eq!(s.kinds[0].network, "eip155:31337");
}
