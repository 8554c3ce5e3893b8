//! [`Pricing`]: what a route charges — a fixed list of accepted requirements, or a function
//! of the request.

use std::{fmt, sync::Arc};

use axum::http::request::Parts;
use bytes::Bytes;
use x402_types::v2::PaymentRequirements;

/// A price function: the accepted requirements for a request (its head and buffered body),
/// or a message answered as 400.
///
/// It must be deterministic: the client's retry is matched against the requirements
/// computed again for the retried request (the reference server's deep equality), so a
/// price that changes between the two refuses the payment.
pub type PriceFn = dyn Fn(&Parts, &Bytes) -> Result<Vec<PaymentRequirements>, String> + Send + Sync;

/// What a route charges: one or more acceptable payments (several networks or assets).
#[derive(Clone)]
pub enum Pricing {
    /// The same requirements for every request.
    Static(Arc<[PaymentRequirements]>),
    /// Requirements computed from the request.
    Dynamic(Arc<PriceFn>),
}

impl fmt::Debug for Pricing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pricing::Static(r) => f.debug_tuple("Static").field(r).finish(),
            Pricing::Dynamic(_) => f.write_str("Dynamic(..)"),
        }
    }
}

impl Pricing {
    /// A fixed price: accept any of `requirements`.
    pub fn fixed(requirements: impl IntoIterator<Item = PaymentRequirements>) -> Self {
        Pricing::Static(requirements.into_iter().collect())
    }

    /// A price computed from each request.
    pub fn dynamic(
        f: impl Fn(&Parts, &Bytes) -> Result<Vec<PaymentRequirements>, String> + Send + Sync + 'static,
    ) -> Self {
        Pricing::Dynamic(Arc::new(f))
    }

    /// The requirements for this request.
    pub fn requirements(
        &self,
        parts: &Parts,
        body: &Bytes,
    ) -> Result<Vec<PaymentRequirements>, String> {
        match self {
            Pricing::Static(r) => Ok(r.to_vec()),
            Pricing::Dynamic(f) => f(parts, body),
        }
    }
}

impl From<PaymentRequirements> for Pricing {
    fn from(r: PaymentRequirements) -> Self {
        Pricing::fixed([r])
    }
}

impl From<Vec<PaymentRequirements>> for Pricing {
    fn from(r: Vec<PaymentRequirements>) -> Self {
        Pricing::fixed(r)
    }
}
