//! [`Client`]: an HTTP client that pays `402 Payment Required` answers.
//!
//! On a 402 it reads the challenge (`PAYMENT-REQUIRED` header for v2, else the v1 JSON body),
//! takes the first requirement its [`SpendControls`] admit and the budget covers, has the
//! [`Signer`] sign an EIP-3009 authorization (`validAfter = 0`, `validBefore = now +
//! maxTimeoutSeconds`, a random nonce — as the TypeScript client 2.27 does), and sends the
//! request once more with `PAYMENT-SIGNATURE` (v2) or `X-PAYMENT` (v1), replaying the body.
//! Server-declared extensions are echoed, and a fresh `payment-identifier` id is added when
//! the server declares that extension.
//!
//! With [`Client::prepay`] it remembers each URL's last challenge and pays it up front on the
//! next request to that URL, saving the 402 round trip; when the price has changed the server
//! refuses that payment (nothing is charged, the budget gets it back) and the client pays the
//! new challenge as usual.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{SystemTime, UNIX_EPOCH},
};

use alloy_primitives::{Address, B256, Bytes, U256};
use rand::RngCore;
use reqwest::{Request, Response, StatusCode, header::HeaderMap};
use serde_json::{Map, Value, json};
use x402_types::{
    Network, SettleResponse, TokenAmount,
    exact::{self, Authorization, ExactEvmPayload},
    header as codec, v1, v2,
};

use crate::{Ledger, Refusal, Signer, SpendControls, signer::SignerError};

/// Why a request could not be paid.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The HTTP request failed.
    #[error("request failed: {0}")]
    Http(#[from] reqwest::Error),
    /// The request's body is a stream and cannot be sent twice.
    #[error("the request body cannot be replayed (use a byte body)")]
    BodyNotReplayable,
    /// The 402 carried no readable challenge.
    #[error("402 without a readable x402 challenge: {0}")]
    Challenge(String),
    /// No requirement passed the spend controls.
    #[error("no acceptable payment: {}", .0.iter().map(|(r, why)| format!("{r}: {why}")).collect::<Vec<_>>().join("; "))]
    NoAcceptablePayment(Vec<(String, Refusal)>),
    /// The signer refused.
    #[error(transparent)]
    Signer(#[from] SignerError),
    /// The server refused the payment (402 again), with its reason and, after a failed
    /// settlement, the receipt.
    #[error("payment refused: {reason}")]
    Refused {
        /// The server's reason (`invalid_exact_evm_…`, `settlement_pending`, …).
        reason: String,
        /// The settlement receipt, if settlement was attempted.
        receipt: Option<Box<SettleResponse>>,
    },
    /// The payment could not be encoded.
    #[error(transparent)]
    Encode(#[from] x402_types::Error),
}

/// What was paid for a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    /// The network.
    pub network: Network,
    /// The token.
    pub asset: Address,
    /// The recipient.
    pub pay_to: Address,
    /// The amount, in the token's smallest unit.
    pub amount: U256,
    /// The authorization nonce.
    pub nonce: B256,
    /// The protocol version used (1 or 2).
    pub x402_version: u8,
}

/// A response, with the payment made for it (if any) and the server's receipt.
#[derive(Debug)]
pub struct Paid {
    /// The final response.
    pub response: Response,
    /// What was paid; `None` when the server did not ask for payment.
    pub payment: Option<Payment>,
    /// The decoded `PAYMENT-RESPONSE` (or `X-PAYMENT-RESPONSE`).
    pub receipt: Option<SettleResponse>,
}

/// An x402-paying HTTP client.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    signer: Arc<dyn Signer>,
    controls: SpendControls,
    ledger: Arc<Ledger>,
    /// With [`Client::prepay`]: the last challenge per `METHOD URL`.
    known: Option<Arc<Mutex<HashMap<String, Challenge>>>>,
}

/// The most URLs whose challenge [`Client::prepay`] remembers (the memory is cleared when full).
const KNOWN_CHALLENGES: usize = 1024;

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("payer", &self.signer.address())
            .field("controls", &self.controls)
            .finish_non_exhaustive()
    }
}

/// A parsed challenge (v2 boxed: with serde_json's `preserve_order`, which dcap-qvl turns on
/// workspace-wide, its maps are much larger than v1's).
#[derive(Clone)]
enum Challenge {
    V2(Box<v2::PaymentRequired>),
    V1(v1::PaymentRequired),
}

impl Client {
    /// A client paying with `signer` under `controls`.
    pub fn new(signer: Arc<dyn Signer>, controls: SpendControls) -> Self {
        Self::with_http(reqwest::Client::new(), signer, controls)
    }

    /// [`Client::new`] over an existing `reqwest::Client`.
    pub fn with_http(
        http: reqwest::Client,
        signer: Arc<dyn Signer>,
        controls: SpendControls,
    ) -> Self {
        Client {
            http,
            signer,
            controls,
            ledger: Arc::new(Ledger::default()),
            known: None,
        }
    }

    /// Remember each URL's last challenge and pay it up front next time (see the module docs).
    pub fn prepay(mut self) -> Self {
        self.known = Some(Arc::default());
        self
    }

    fn known(&self, key: &str) -> Option<Challenge> {
        let known = self
            .known
            .as_ref()?
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        known.get(key).cloned()
    }

    fn remember(&self, key: String, challenge: Option<&Challenge>) {
        let Some(known) = &self.known else { return };
        let mut known = known.lock().unwrap_or_else(|e| e.into_inner());
        match challenge {
            Some(c) => {
                if known.len() >= KNOWN_CHALLENGES {
                    known.clear();
                }
                known.insert(key, c.clone());
            }
            None => {
                known.remove(&key);
            }
        }
    }

    /// The underlying HTTP client (to build requests).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The payer's address.
    pub fn payer(&self) -> Address {
        self.signer.address()
    }

    /// `GET url`, paying if asked.
    pub async fn get(&self, url: &str) -> Result<Paid, Error> {
        self.execute(self.http.get(url).build()?).await
    }

    /// Sends `request`; on 402 pays once and sends it again.
    pub async fn execute(&self, request: Request) -> Result<Paid, Error> {
        let retry = request.try_clone().ok_or(Error::BodyNotReplayable)?;
        let key = format!("{} {}", request.method(), request.url());
        let first = match self.known(&key) {
            Some(known) => {
                let mut request = request;
                let (name, value, (payment, reservation)) = self.pay(&known).await?;
                attach(&mut request, name, &value)?;
                let response = self.http.execute(request).await?;
                let receipt = read_receipt(response.headers());
                if response.status() != StatusCode::PAYMENT_REQUIRED {
                    return Ok(Paid {
                        response,
                        payment: Some(payment),
                        receipt,
                    });
                }
                if let Some(r) = receipt.filter(|r| {
                    r.error_reason
                        .as_ref()
                        .is_some_and(|x| x.as_str() == "settlement_pending")
                }) {
                    return Err(Error::Refused {
                        reason: "settlement_pending".into(),
                        receipt: Some(Box::new(r)),
                    });
                }
                // Refused, so not charged: pay the challenge this 402 carries instead.
                self.ledger.release(&reservation);
                self.remember(key.clone(), None);
                response
            }
            None => self.http.execute(request).await?,
        };
        if first.status() != StatusCode::PAYMENT_REQUIRED {
            return Ok(Paid {
                response: first,
                payment: None,
                receipt: None,
            });
        }
        let challenge = read_challenge(first).await?;
        self.remember(key, Some(&challenge));
        let (header_name, header_value, payment) = self.pay(&challenge).await?;
        let mut retry = retry;
        attach(&mut retry, header_name, &header_value)?;
        let response = self.http.execute(retry).await?;
        let receipt = read_receipt(response.headers());
        if response.status() == StatusCode::PAYMENT_REQUIRED {
            let reason = receipt
                .as_ref()
                .and_then(|r| r.error_reason.as_ref().map(|x| x.as_str().to_owned()))
                .or_else(|| refused_reason(response.headers()))
                .unwrap_or_else(|| "payment refused".into());
            // Not settled: the budget gets the amount back, unless the settlement is pending.
            if reason != "settlement_pending" {
                self.ledger.release(&payment.1);
            }
            return Err(Error::Refused {
                reason,
                receipt: receipt.map(Box::new),
            });
        }
        Ok(Paid {
            response,
            payment: Some(payment.0),
            receipt,
        })
    }

    /// Picks and signs a payment for `challenge`: `(header name, header value, payment)`.
    async fn pay(
        &self,
        challenge: &Challenge,
    ) -> Result<
        (
            &'static str,
            String,
            (Payment, crate::controls::Reservation),
        ),
        Error,
    > {
        let candidates: Vec<v2::PaymentRequirements> = match challenge {
            Challenge::V2(c) => c.accepts.clone(),
            Challenge::V1(c) => c.accepts.iter().filter_map(from_v1).collect(),
        };
        let mut refusals = Vec::new();
        let mut chosen = None;
        for (i, r) in candidates.iter().enumerate() {
            let label = format!("{} {} on {}", r.amount, r.asset, r.network);
            match self.controls.admit(r).and_then(|(asset, payee, amount)| {
                self.ledger
                    .reserve(&self.controls, &r.network, asset, amount)
                    .map(|res| (asset, payee, amount, res))
            }) {
                Ok(ok) => {
                    chosen = Some((i, ok));
                    break;
                }
                Err(why) => refusals.push((label, why)),
            }
        }
        let Some((index, (asset, payee, amount, reservation))) = chosen else {
            return Err(Error::NoAcceptablePayment(refusals));
        };
        let requirement = &candidates[index];
        let signed = self.sign(requirement, payee, amount).await;
        let exact = match signed {
            Ok(e) => e,
            Err(e) => {
                self.ledger.release(&reservation);
                return Err(e);
            }
        };
        let payment = Payment {
            network: requirement.network.clone(),
            asset,
            pay_to: payee,
            amount,
            nonce: exact.authorization.nonce,
            x402_version: match challenge {
                Challenge::V2(_) => v2::VERSION,
                Challenge::V1(_) => v1::VERSION,
            },
        };
        let (name, value) = match challenge {
            Challenge::V2(c) => {
                let mut payload =
                    v2::PaymentPayload::new(requirement, Some(c.resource.clone()), &exact)?;
                payload.extensions = extensions(c.extensions.as_ref());
                (
                    "payment-signature",
                    codec::encode_payment_signature(&payload)?,
                )
            }
            Challenge::V1(c) => {
                let original = &c.accepts[index];
                let payload = v1::PaymentPayload {
                    x402_version: v1::VERSION,
                    scheme: original.scheme.clone(),
                    network: original.network.clone(),
                    payload: serde_json::to_value(&exact).map_err(|source| {
                        x402_types::Error::Json {
                            what: "payload",
                            source,
                        }
                    })?,
                };
                ("x-payment", codec::encode_x_payment(&payload)?)
            }
        };
        Ok((name, value, (payment, reservation)))
    }

    async fn sign(
        &self,
        r: &v2::PaymentRequirements,
        payee: Address,
        amount: U256,
    ) -> Result<ExactEvmPayload, Error> {
        let domain = exact::domain_for(r)?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut nonce = B256::ZERO;
        rand::thread_rng().fill_bytes(nonce.as_mut_slice());
        let authorization = Authorization {
            from: self.signer.address(),
            to: payee,
            value: TokenAmount(amount),
            valid_after: TokenAmount::from(0u64),
            valid_before: TokenAmount::from(now.saturating_add(r.max_timeout_seconds)),
            nonce,
        };
        let signature = self
            .signer
            .sign_authorization(&domain, &authorization)
            .await?;
        Ok(ExactEvmPayload {
            signature: Bytes::copy_from_slice(&signature),
            authorization,
        })
    }
}

/// Puts the payment header on `request`.
fn attach(request: &mut Request, name: &'static str, value: &str) -> Result<(), Error> {
    let value = value
        .parse()
        .map_err(|_| Error::Challenge("unencodable payment header".into()))?;
    request.headers_mut().insert(name, value);
    Ok(())
}

/// The server's extensions echoed, with a fresh `payment-identifier` id if it declares one.
fn extensions(declared: Option<&Map<String, Value>>) -> Option<Map<String, Value>> {
    let mut out = declared?.clone();
    if let Some(Value::Object(pid)) = out.get_mut("payment-identifier") {
        let mut id = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut id);
        let info = pid.entry("info").or_insert_with(|| json!({}));
        if let Value::Object(info) = info {
            info.insert(
                "id".into(),
                Value::String(format!("pay_{}", alloy_primitives::hex::encode(id))),
            );
        }
    }
    Some(out)
}

async fn read_challenge(response: Response) -> Result<Challenge, Error> {
    if let Some(h) = response.headers().get("payment-required") {
        let text = h
            .to_str()
            .map_err(|_| Error::Challenge("PAYMENT-REQUIRED is not ASCII".into()))?;
        return codec::decode_payment_required(text)
            .map(|c| Challenge::V2(Box::new(c)))
            .map_err(|e| Error::Challenge(e.to_string()));
    }
    let body = response.bytes().await?;
    serde_json::from_slice::<v1::PaymentRequired>(&body)
        .map(Challenge::V1)
        .map_err(|e| {
            Error::Challenge(format!(
                "no PAYMENT-REQUIRED header and the body is not a v1 challenge: {e}"
            ))
        })
}

/// The receipt header, v2 first.
fn read_receipt(headers: &HeaderMap) -> Option<SettleResponse> {
    if let Some(v) = headers
        .get("payment-response")
        .and_then(|v| v.to_str().ok())
    {
        return codec::decode_payment_response(v).ok();
    }
    headers
        .get("x-payment-response")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| codec::decode_x_payment_response(v).ok())
}

/// The `error` of a repeated challenge.
fn refused_reason(headers: &HeaderMap) -> Option<String> {
    let v = headers.get("payment-required")?.to_str().ok()?;
    codec::decode_payment_required(v).ok()?.error
}

/// A v1 requirement as v2 (its network by v1 name or CAIP-2 id).
fn from_v1(r: &v1::PaymentRequirements) -> Option<v2::PaymentRequirements> {
    Some(v2::PaymentRequirements {
        scheme: r.scheme.clone(),
        network: Network::parse_any(&r.network).ok()?,
        amount: r.max_amount_required,
        asset: r.asset.clone(),
        pay_to: r.pay_to.clone(),
        max_timeout_seconds: r.max_timeout_seconds,
        extra: r.extra.clone().unwrap_or_default(),
    })
}
