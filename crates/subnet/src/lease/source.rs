//! Where the gate learns about leases: the [`LeaseSource`] seam, with the node's REST API
//! ([`NodeLeases`]) and memory ([`MemoryLeases`]) behind it.

use std::{
    collections::HashMap,
    future::Future,
    sync::{Arc, Mutex, PoisonError},
};

use alloy_primitives::Address;
use serde::Deserialize;
use serde_json::Value;

/// What the gate needs to know about a lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseView {
    /// The lease id (its order's).
    pub id: u64,
    /// Who is served and signs the requests.
    pub tenant: Address,
    /// Who serves.
    pub provider: Address,
    /// Requests per second the tenant may make.
    pub capacity_rps: u32,
    /// Whether the lease is served at the chain's head (started, not ended, funded, open).
    pub serving: bool,
}

/// Where the gate learns about leases: the node ([`NodeLeases`]) or, in tests, memory
/// ([`MemoryLeases`]).
pub trait LeaseSource: Send + Sync + 'static {
    /// The lease `id`, `None` if there is no such lease; an error when the source cannot say.
    fn lease(&self, id: u64) -> impl Future<Output = eyre::Result<Option<LeaseView>>> + Send;
}

/// Leases held in memory, shared between clones (for tests and the devnet).
#[derive(Debug, Clone, Default)]
pub struct MemoryLeases {
    leases: Arc<Mutex<HashMap<u64, LeaseView>>>,
}

impl MemoryLeases {
    /// Adds or replaces a lease.
    pub fn insert(&self, lease: LeaseView) {
        let mut leases = self.leases.lock().unwrap_or_else(PoisonError::into_inner);
        leases.insert(lease.id, lease);
    }

    /// Removes a lease.
    pub fn remove(&self, id: u64) {
        let mut leases = self.leases.lock().unwrap_or_else(PoisonError::into_inner);
        leases.remove(&id);
    }
}

impl LeaseSource for MemoryLeases {
    async fn lease(&self, id: u64) -> eyre::Result<Option<LeaseView>> {
        let leases = self.leases.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(leases.get(&id).cloned())
    }
}

/// Leases read from the node's REST API, `GET /v1/leases/{id}`.
#[derive(Debug, Clone)]
pub struct NodeLeases {
    node: ledger_client::Client,
}

impl NodeLeases {
    /// Leases from the node at `node_url`.
    pub fn new(node_url: &str) -> eyre::Result<Self> {
        Ok(Self::from_client(ledger_client::Client::new(node_url)?))
    }

    /// Leases through an existing node client.
    pub fn from_client(node: ledger_client::Client) -> Self {
        NodeLeases { node }
    }
}

impl LeaseSource for NodeLeases {
    /// A 404 `not_found` is an unknown lease, except the node's "no such route" (a node
    /// without the endpoint), which is an error like any other failure.
    async fn lease(&self, id: u64) -> eyre::Result<Option<LeaseView>> {
        match self.node.get(&format!("/v1/leases/{id}")).await {
            Ok(doc) => lease_from_doc(id, doc).map(Some),
            Err(e) => match e.downcast_ref::<ledger_client::ApiFailure>() {
                Some(f) if f.status == 404 && !f.message.starts_with("no such route") => Ok(None),
                _ => Err(e),
            },
        }
    }
}

/// The node's lease document, `{"lease": {"id", "provider", "tenant", "capacityRps", ..},
/// "serving", ..}`; other fields are ignored.
#[derive(Deserialize)]
struct LeaseDoc {
    lease: LeaseFields,
    serving: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LeaseFields {
    id: u64,
    provider: Address,
    tenant: Address,
    capacity_rps: u32,
}

fn lease_from_doc(id: u64, doc: Value) -> eyre::Result<LeaseView> {
    let doc: LeaseDoc = serde_json::from_value(doc)
        .map_err(|e| eyre::eyre!("decoding the node's lease {id}: {e}"))?;
    if doc.lease.id != id {
        eyre::bail!(
            "asked the node for lease {id}, it answered lease {}",
            doc.lease.id
        );
    }
    Ok(LeaseView {
        id,
        tenant: doc.lease.tenant,
        provider: doc.lease.provider,
        capacity_rps: doc.lease.capacity_rps,
        serving: doc.serving,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn view(id: u64, capacity_rps: u32) -> LeaseView {
        LeaseView {
            id,
            tenant: Address::repeat_byte(1),
            provider: Address::repeat_byte(2),
            capacity_rps,
            serving: true,
        }
    }

    #[test]
    fn node_documents_decode() {
        let doc = json!({
            "lease": {
                "id": 3, "provider": Address::repeat_byte(2), "tenant": Address::repeat_byte(1),
                "capacityRps": 5, "rate": "10", "start": 100, "end": 200,
            },
            "head": 120, "servingUntil": 180, "serving": true,
        });
        assert_eq!(lease_from_doc(3, doc.clone()).unwrap(), view(3, 5));
        assert!(lease_from_doc(4, doc).is_err());
        assert!(lease_from_doc(3, json!({"lease": {"id": 3}, "serving": true})).is_err());
    }
}
