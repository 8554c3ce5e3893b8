//! [`Service`]: the facilitator behind `/verify`, `/settle` and `/supported`, routing each
//! payment to the [`Backend`] of its network.
//!
//! v1 requests (`x402Version: 1`, named networks, `maxAmountRequired`) are normalised to v2
//! before they reach a backend: the v1 requirement becomes the v2 `accepted` the payload
//! echoes, with the payload's own scheme and network so that a mismatch is reported with the
//! v2 reasons. v1's `exact` allows `value >= maxAmountRequired` ("meets or exceeds",
//! `research/x402.md` §1.3): a larger value is settled as signed, a smaller one is refused with
//! the v1 reason `invalid_exact_evm_payload_authorization_value`. Answers to v1 requests name
//! the network as the client did.

use std::{collections::BTreeMap, convert::Infallible, sync::Arc};

use x402_types::{
    Facilitator, Network, Reason, SettleRequest, SettleResponse, SupportedKind, SupportedResponse,
    TokenAmount, VerifyRequest, VerifyResponse, v1, v2,
};

use crate::{
    Backend,
    backend::{Payment, settle_failure},
    verify::SCHEME,
};

/// The facilitator: a set of backends, one per network.
#[derive(Clone, Default)]
pub struct Service {
    backends: Vec<Arc<dyn Backend>>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.backends.iter().map(|b| b.network().to_string()))
            .finish()
    }
}

/// A request decoded and normalised to v2.
struct Decoded {
    payment: Payment,
    /// The network as the answer names it (the v1 name for v1 requests).
    network_label: String,
    v1: bool,
}

impl Service {
    /// A facilitator with no networks.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a backend; a later backend for the same network replaces an earlier one.
    pub fn with(mut self, backend: Arc<dyn Backend>) -> Self {
        let network = backend.network();
        self.backends.retain(|b| b.network() != network);
        self.backends.push(backend);
        self
    }

    /// The networks served.
    pub fn networks(&self) -> Vec<Network> {
        self.backends.iter().map(|b| b.network()).collect()
    }

    fn backend(&self, network: &Network) -> Option<&Arc<dyn Backend>> {
        self.backends.iter().find(|b| &b.network() == network)
    }

    /// `POST /verify` on a JSON body: a v2 request is decoded in one pass, anything else
    /// through [`VerifyRequest`] (v1, or a shape that earns a reason). `Err` if the body is
    /// not the `{x402Version, paymentPayload, paymentRequirements}` wrapper at all.
    pub async fn verify_json(&self, body: &[u8]) -> Result<VerifyResponse, serde_json::Error> {
        match typed_v2(body) {
            Some(payment) => Ok(self.verify_payment(&payment).await),
            None => Ok(self.verify(&serde_json::from_slice(body)?).await),
        }
    }

    /// `POST /settle` on a JSON body (see [`Service::verify_json`]).
    pub async fn settle_json(&self, body: &[u8]) -> Result<SettleResponse, serde_json::Error> {
        match typed_v2(body) {
            Some(payment) => Ok(self.settle_payment(&payment).await),
            None => Ok(self.settle(&serde_json::from_slice(body)?).await),
        }
    }

    async fn verify_payment(&self, payment: &Payment) -> VerifyResponse {
        match self.backend(&payment.requirements.network) {
            Some(b) => b.verify(payment).await,
            None => self.unknown_network(),
        }
    }

    async fn settle_payment(&self, payment: &Payment) -> SettleResponse {
        match self.backend(&payment.requirements.network) {
            Some(b) => b.settle(payment).await,
            None => {
                let mut r = settle_failure(
                    Reason::InvalidNetwork,
                    None,
                    payment.requirements.network.to_string(),
                    "",
                );
                r.error_message = Some(format!(
                    "this facilitator settles on {}",
                    self.network_list()
                ));
                r
            }
        }
    }

    fn unknown_network(&self) -> VerifyResponse {
        let mut r = VerifyResponse::invalid(Reason::InvalidNetwork, None);
        r.invalid_message = Some(format!(
            "this facilitator settles on {}",
            self.network_list()
        ));
        r
    }

    /// `POST /verify`.
    pub async fn verify(&self, request: &VerifyRequest) -> VerifyResponse {
        let d = match decode(request) {
            Ok(d) => d,
            Err(reason) => return VerifyResponse::invalid(reason, None),
        };
        let Some(backend) = self.backend(&d.payment.requirements.network) else {
            return self.unknown_network();
        };
        let mut answer = backend.verify(&d.payment).await;
        if d.v1 {
            answer.invalid_reason = answer.invalid_reason.map(v1_reason);
        }
        answer
    }

    /// `POST /settle`.
    pub async fn settle(&self, request: &SettleRequest) -> SettleResponse {
        let d = match decode(request) {
            Ok(d) => d,
            Err(reason) => return settle_failure(reason, None, String::new(), ""),
        };
        let Some(backend) = self.backend(&d.payment.requirements.network) else {
            let mut r = settle_failure(Reason::InvalidNetwork, None, d.network_label, "");
            r.error_message = Some(format!(
                "this facilitator settles on {}",
                self.network_list()
            ));
            return r;
        };
        let mut answer = backend.settle(&d.payment).await;
        if d.v1 {
            answer.error_reason = answer.error_reason.map(v1_reason);
            answer.network = d.network_label;
        }
        answer
    }

    /// `GET /supported`: `exact` on every network in v2, and in v1 where the network has a v1
    /// name; the relayer addresses under `eip155:*`.
    pub fn supported(&self) -> SupportedResponse {
        let mut kinds = Vec::new();
        let mut signers: Vec<String> = Vec::new();
        for b in &self.backends {
            let network = b.network();
            kinds.push(kind(v2::VERSION, network.to_string()));
            if let Some(name) = network.v1_name() {
                kinds.push(kind(v1::VERSION, name.to_owned()));
            }
            let signer = b.signer().to_checksum(None);
            if !signers.contains(&signer) {
                signers.push(signer);
            }
        }
        SupportedResponse {
            kinds,
            extensions: vec![],
            signers: BTreeMap::from([("eip155:*".to_owned(), signers)]),
        }
    }

    fn network_list(&self) -> String {
        let names: Vec<String> = self.networks().iter().map(ToString::to_string).collect();
        if names.is_empty() {
            "no network".into()
        } else {
            names.join(", ")
        }
    }
}

impl Facilitator for Service {
    type Error = Infallible;

    async fn verify(&self, request: &VerifyRequest) -> Result<VerifyResponse, Infallible> {
        Ok(Service::verify(self, request).await)
    }

    async fn settle(&self, request: &SettleRequest) -> Result<SettleResponse, Infallible> {
        Ok(Service::settle(self, request).await)
    }

    async fn supported(&self) -> Result<SupportedResponse, Infallible> {
        Ok(Service::supported(self))
    }
}

/// A well-formed v2 request decoded straight into its typed messages (no intermediate JSON
/// tree); `None` for anything else, which takes the general path.
fn typed_v2(body: &[u8]) -> Option<Payment> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct V2 {
        x402_version: u8,
        payment_payload: v2::PaymentPayload,
        payment_requirements: v2::PaymentRequirements,
    }
    let r: V2 = serde_json::from_slice(body).ok()?;
    (r.x402_version == v2::VERSION && r.payment_payload.x402_version == v2::VERSION).then_some(
        Payment {
            payload: r.payment_payload,
            requirements: r.payment_requirements,
        },
    )
}

fn kind(version: u8, network: String) -> SupportedKind {
    SupportedKind {
        x402_version: version,
        scheme: SCHEME.into(),
        network,
        extra: None,
    }
}

/// The reason for a request that does not decode.
fn decode_reason(e: &x402_types::Error) -> Reason {
    match e {
        x402_types::Error::Version { .. } => Reason::InvalidX402Version,
        x402_types::Error::Json {
            what: "paymentRequirements",
            ..
        } => Reason::InvalidPaymentRequirements,
        _ => Reason::InvalidPayload,
    }
}

fn decode(request: &VerifyRequest) -> Result<Decoded, Reason> {
    match request.x402_version {
        v2::VERSION => {
            let (payload, requirements) = request.v2().map_err(|e| decode_reason(&e))?;
            Ok(Decoded {
                network_label: requirements.network.to_string(),
                payment: Payment {
                    payload,
                    requirements,
                },
                v1: false,
            })
        }
        v1::VERSION => {
            let (payload, requirements) = request.v1().map_err(|e| decode_reason(&e))?;
            let label = payload.network.clone();
            Ok(Decoded {
                payment: from_v1(&payload, &requirements)?,
                network_label: label,
                v1: true,
            })
        }
        _ => Err(Reason::InvalidX402Version),
    }
}

/// A v1 payment as the v2 payment it stands for.
fn from_v1(payload: &v1::PaymentPayload, req: &v1::PaymentRequirements) -> Result<Payment, Reason> {
    let network = Network::parse_any(&req.network).map_err(|_| Reason::InvalidNetwork)?;
    let exact = payload.exact_evm().map_err(|_| Reason::InvalidPayload)?;
    // "Meets or exceeds": a larger authorization is the amount settled.
    let amount = if exact.authorization.value.0 >= req.max_amount_required.0 {
        exact.authorization.value
    } else {
        req.max_amount_required
    };
    let requirements = v2::PaymentRequirements {
        scheme: req.scheme.clone(),
        network,
        amount: TokenAmount(amount.0),
        asset: req.asset.clone(),
        pay_to: req.pay_to.clone(),
        max_timeout_seconds: req.max_timeout_seconds,
        extra: req.extra.clone().unwrap_or_default(),
    };
    // `accepted` carries the payload's own scheme and network, so a mismatch is reported.
    let mut accepted = requirements.clone();
    accepted.scheme = payload.scheme.clone();
    accepted.network = Network::parse_any(&payload.network).map_err(|_| Reason::InvalidNetwork)?;
    let v2_payload = v2::PaymentPayload {
        x402_version: v2::VERSION,
        resource: Some(v2::ResourceInfo::new(req.resource.clone())),
        accepted: serde_json::to_value(&accepted)
            .map_err(|_| Reason::InvalidPaymentRequirements)?,
        payload: payload.payload.clone(),
        extensions: None,
    };
    Ok(Payment {
        payload: v2_payload,
        requirements,
    })
}

/// The v1 name of a v2 reason where they differ.
fn v1_reason(r: Reason) -> Reason {
    match r {
        Reason::InvalidExactEvmAuthorizationValue => {
            Reason::InvalidExactEvmPayloadAuthorizationValue
        }
        other => other,
    }
}
