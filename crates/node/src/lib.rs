//! The Symbiont node: the composition root.
//!
//! - [`cli`]: the `symbiont` command line; one module per subcommand in [`cmd`].
//! - [`config`]: node configuration (defaults, TOML file, flags, environment).
//! - [`server`]: opening the chain, serving the API, producing blocks.
//! - [`app`]: the shared state behind the API and the producer.
//! - [`mempool`], [`producer`], [`events`], [`metrics`]: the node's parts.
//! - [`bft`]: the BFT producer (the consensus engine over the node's ledger), key files.
//! - [`relay`]: relaying submitted transactions to other nodes.
//! - [`api`]: the REST API, the event stream and the OpenAPI document.
//! - [`dashboard`]: the web dashboard at `/` (embedded HTML, JavaScript and CSS).
//! - [`client`]: a typed HTTP client for the API (used by the CLI and the benchmark).
//! - [`dev`]: well-known development keys.
//! - [`facilitator`]: the x402 facilitator's ledger backend (served under `/x402`).
//! - [`demo`]: the dev chain's paid demo route (`/demo/paid`).

pub mod api;
pub mod app;
pub mod auction;
pub mod bft;
pub mod cli;
pub mod client;
pub mod cmd;
pub mod config;
pub mod dashboard;
pub mod demo;
pub mod dev;
pub mod events;
pub mod facilitator;
pub mod mempool;
pub mod metrics;
pub mod producer;
pub mod relay;
pub mod server;
pub mod units;
