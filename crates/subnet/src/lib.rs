//! The inference subnet (issue 6): what its miners, validators and gateway decide, as pure
//! functions the runtimes call.
//!
//! - [`check`]: when a miner's answer counts as correct (embeddings within a cosine
//!   tolerance of the validator's own, chat text exactly).
//! - [`scoring`]: how a validator turns a tempo of challenges (correct or not, how fast) into
//!   the u16 weights it commits.
//! - [`validator`]: fresh challenges every epoch, and the commit-reveal schedule of weights.
//! - [`routing`]: how the gateway picks a miner for a paid request — in proportion to on-chain
//!   incentive, among the healthy ones, with retries on another miner.
//! - [`miner`]: joining a subnet and serving a model (honestly, or — for the devnet's
//!   cheaters — slowly, with wrong vectors, or replaying).
//! - [`gateway`]: the paid OpenAI-compatible endpoint that sells the subnet's inference over
//!   x402 and forwards to miners by [`routing`].
//! - [`lease`]: serving under a compute lease — the gate in front of a provider's router that
//!   serves a lease's tenant (requests signed in an `X-Lease` header) up to the leased
//!   capacity and refuses everyone else (403) and any excess (429).

pub mod check;
pub mod gateway;
pub mod lease;
pub mod miner;
pub mod routing;
pub mod scoring;
pub mod validator;
