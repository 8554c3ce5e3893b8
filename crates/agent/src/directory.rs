//! Discovery: which registered agents sell a service, and how well they have served.
//!
//! The ledger holds identities (agent id, owner, verified wallet, `agentURI`); the services
//! are in each agent's registration file. A search lists the registry, fetches and validates
//! each file (size-capped, with a timeout; a malformed or unreachable file drops that agent,
//! never the search), keeps the active, x402-capable agents offering the service, and ranks
//! them by reputation: the mean of the feedback given by clients who paid them
//! (`research/agents.md` §3.5: never trust an unfiltered average).

use std::time::Duration;

use alloy_primitives::Address;
use eyre::WrapErr;
use futures_util::{StreamExt, stream};
use ledger::agents::{Agent as Registered, Feedback, registration::RegistrationFile};

pub use ledger::agents::PAY_TO_KEY;

/// Largest registration file read.
pub const MAX_FILE_BYTES: usize = 64 * 1024;
/// How long a registration file may take to arrive.
const FETCH_TIMEOUT: Duration = Duration::from_secs(3);
/// Files fetched at once.
const FETCH_CONCURRENCY: usize = 8;

/// An agent offering a service.
#[derive(Debug, Clone, PartialEq)]
pub struct Provider {
    /// Its ERC-8004 agent id.
    pub agent_id: u64,
    /// Its owner.
    pub owner: Address,
    /// Where payments to it may go: its verified agent wallet (or its owner without one),
    /// and the payee its owner named on-chain under [`PAY_TO_KEY`].
    pub payees: Vec<Address>,
    /// The service's endpoint.
    pub endpoint: String,
    /// Its payment-proven reputation, if anyone rated it.
    pub reputation: Option<Reputation>,
}

/// Searches the registry of one node.
#[derive(Debug, Clone)]
pub struct Directory {
    node: ledger_client::Client,
    http: reqwest::Client,
}

impl Directory {
    /// A directory over the registry of the node at `node`.
    pub fn new(node: ledger_client::Client) -> eyre::Result<Self> {
        let http = reqwest::Client::builder().timeout(FETCH_TIMEOUT).build()?;
        Ok(Directory { node, http })
    }

    /// Every active, x402-capable agent selling `service`, best reputation first (agents
    /// without feedback last, then by agent id).
    pub async fn find(&self, service: &str) -> eyre::Result<Vec<Provider>> {
        let agents = self
            .registered()
            .await
            .wrap_err("listing the agent registry")?;
        let found: Vec<Option<Provider>> = stream::iter(agents)
            .map(|a| async move { self.offer(&a, service).await })
            .buffer_unordered(FETCH_CONCURRENCY)
            .collect()
            .await;
        let mut found: Vec<Provider> = found.into_iter().flatten().collect();
        // Best mean first; unrated last (`None` sorts below `Some`); then by id.
        found.sort_by(|a, b| {
            b.reputation
                .map(|r| r.mean_wad)
                .cmp(&a.reputation.map(|r| r.mean_wad))
                .then(a.agent_id.cmp(&b.agent_id))
        });
        Ok(found)
    }

    /// Every registered agent, following the API's pages.
    async fn registered(&self) -> eyre::Result<Vec<Registered>> {
        const PAGE: usize = 500;
        let mut out: Vec<Registered> = Vec::new();
        loop {
            let page = self.node.agents(out.len() as u64, PAGE).await?;
            let done = page.len() < PAGE;
            out.extend(page);
            if done {
                return Ok(out);
            }
        }
    }

    /// `agent`'s offer of `service`, if its registration file is valid and lists it.
    async fn offer(&self, agent: &Registered, service: &str) -> Option<Provider> {
        let file = match self.fetch(&agent.uri).await {
            Ok(f) => f,
            Err(e) => {
                tracing::debug!(agent = agent.id, "skipping: {e:#}");
                return None;
            }
        };
        if !file.active.unwrap_or(true) || !file.x402_support.unwrap_or(false) {
            return None;
        }
        let endpoint = file
            .services
            .iter()
            .find(|s| s.name == service)?
            .endpoint
            .clone();
        let reputation = self.reputation(agent.id).await.ok().flatten();
        Some(Provider {
            agent_id: agent.id,
            owner: agent.owner,
            payees: agent.payees(),
            endpoint,
            reputation,
        })
    }

    /// The registration file at `uri` (`http(s)://` or `data:`), validated.
    async fn fetch(&self, uri: &str) -> eyre::Result<RegistrationFile> {
        let bytes = if uri.starts_with("data:") {
            crate::service::decode_data_uri(uri).map_err(|e| eyre::eyre!(e))?
        } else {
            let mut response = self.http.get(uri).send().await?.error_for_status()?;
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await? {
                body.extend_from_slice(&chunk);
                eyre::ensure!(
                    body.len() <= MAX_FILE_BYTES,
                    "{uri}: over {MAX_FILE_BYTES} bytes"
                );
            }
            body
        };
        Ok(RegistrationFile::parse(&bytes)?)
    }

    /// The payment-proven reputation of `agent_id`.
    async fn reputation(&self, agent_id: u64) -> eyre::Result<Option<Reputation>> {
        let feedback: Vec<Feedback> = self
            .node
            .feedback(agent_id)
            .await?
            .into_iter()
            .map(|(_, f)| f)
            .collect();
        Ok(Reputation::of(&feedback))
    }
}

/// The mean of an agent's non-revoked, payment-proven feedback, in 18 decimals (the
/// registry's WAD scale), and how many feedbacks it averages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Reputation {
    /// The mean value × 10^18.
    pub mean_wad: i128,
    /// Feedbacks counted.
    pub count: u64,
}

impl Reputation {
    /// The reputation from `feedback`, or `None` when no feedback counts.
    pub fn of(feedback: &[Feedback]) -> Option<Reputation> {
        let counted: Vec<i128> = feedback
            .iter()
            .filter(|f| !f.revoked && f.payment.is_some())
            .map(|f| {
                let scale = 10i128.pow(u32::from(18u8.saturating_sub(f.value_decimals.min(18))));
                f.value.saturating_mul(scale)
            })
            .collect();
        let count = u64::try_from(counted.len()).ok().filter(|n| *n > 0)?;
        let sum = counted.iter().fold(0i128, |a, v| a.saturating_add(*v));
        Some(Reputation {
            mean_wad: sum / i128::from(count),
            count,
        })
    }
}
