#![doc = include_str!("../README.md")]
//!
//! # Modules
//!
//! - [`layer`]: [`PaymentLayer`], the paywall (402 challenge, verify, serve, settle).
//! - [`pricing`]: [`Pricing`], static or per-request prices, several accepted payments.
//! - [`deferred`]: [`DeferredSettlement`], answering before settlement, within bounds.
//! - [`idempotency`]: the `payment-identifier` extension's store.
//! - [`http_facilitator`]: [`HttpFacilitator`], a remote facilitator over HTTP.

pub mod deferred;
pub mod http_facilitator;
pub mod idempotency;
pub mod layer;
pub mod pricing;

pub use deferred::{DeferredSettlement, DeferredStats};
pub use http_facilitator::{FacilitatorError, HttpFacilitator};
pub use idempotency::IdempotencyStore;
pub use layer::{PaymentLayer, PaymentService};
pub use pricing::Pricing;
