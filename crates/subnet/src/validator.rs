//! The validator's plan, as pure functions: fresh challenges each epoch, and when to commit
//! and reveal weights (subtensor's commit-reveal: commit in one epoch, reveal in the next;
//! `ledger::subnet::reveal`).

use std::time::{Duration, Instant};

use ledger::{
    Address, B256, Call,
    subnet::{NetUid, reveal::REVEAL_PERIOD_EPOCHS},
};
use serde_json::json;

use crate::{
    check::{embeddings_match, parse_embeddings},
    scoring::Observation,
};

/// Challenges one miner's `/v1/embeddings` with each input in turn (one request each, so the
/// latency is per answer) and checks every answer against `reference` (the validator's own
/// vectors for the same inputs, in order). A request that fails, times out or answers
/// something else counts as wrong.
pub async fn probe_embeddings(
    http: &reqwest::Client,
    uid: u16,
    endpoint: &str,
    model: &str,
    inputs: &[String],
    reference: &[Vec<f32>],
    timeout: Duration,
) -> Observation {
    let mut o = Observation {
        uid,
        total: u32::try_from(inputs.len()).unwrap_or(u32::MAX),
        ..Observation::default()
    };
    for (input, want) in inputs.iter().zip(reference) {
        let started = Instant::now();
        let sent = http
            .post(format!("{}/v1/embeddings", endpoint.trim_end_matches('/')))
            .json(&json!({ "model": model, "input": [input] }))
            .timeout(timeout)
            .send()
            .await;
        let Ok(resp) = sent else { continue };
        if !resp.status().is_success() {
            continue;
        }
        let Ok(doc) = resp.json::<serde_json::Value>().await else {
            continue;
        };
        let elapsed = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        if parse_embeddings(&doc)
            .is_some_and(|got| embeddings_match(&got, std::slice::from_ref(want)))
        {
            o.correct += 1;
            o.latencies_us.push(elapsed);
        }
    }
    o
}

/// Words the challenges are made of.
const WORDS: &[&str] = &[
    "agent",
    "ledger",
    "subnet",
    "miner",
    "validator",
    "payment",
    "model",
    "token",
    "epoch",
    "stake",
    "river",
    "mountain",
    "quiet",
    "bright",
    "signal",
    "garden",
    "library",
    "engine",
    "harbor",
    "winter",
    "market",
    "orbit",
    "lantern",
    "copper",
    "meadow",
    "thunder",
    "canvas",
    "puzzle",
    "violet",
    "rapid",
    "gentle",
    "hidden",
    "ancient",
    "modern",
    "simple",
    "careful",
    "measures",
    "carries",
    "watches",
    "builds",
    "answers",
    "follows",
    "remembers",
    "computes",
];

/// `n` challenge sentences for `seed` (a validator picks a fresh seed every epoch, so a miner
/// that replays earlier answers fails). Deterministic: the same seed gives the same inputs.
pub fn challenges(seed: u64, n: usize) -> Vec<String> {
    let mut state = seed ^ 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        // splitmix64
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    (0..n)
        .map(|_| {
            let len = 4 + next() % 9;
            let words: Vec<&str> = (0..len)
                .map(|_| WORDS[usize::try_from(next() % WORDS.len() as u64).unwrap_or(0)])
                .collect();
            let mut s = words.join(" ");
            if let Some(first) = s.get_mut(0..1) {
                first.make_ascii_uppercase();
            }
            s.push('.');
            s
        })
        .collect()
}

/// One commitment waiting for its reveal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// The epoch it was committed in.
    pub epoch: u64,
    /// Target uids.
    pub uids: Vec<u16>,
    /// Weights.
    pub values: Vec<u16>,
    /// The salt.
    pub salt: B256,
}

/// The commit-reveal schedule of one validator on one subnet.
#[derive(Debug, Clone)]
pub struct CommitReveal {
    account: Address,
    netuid: NetUid,
    version_key: u64,
    pending: Vec<Pending>,
}

impl CommitReveal {
    /// A schedule for `account` on `netuid`.
    pub fn new(account: Address, netuid: NetUid, version_key: u64) -> Self {
        CommitReveal {
            account,
            netuid,
            version_key,
            pending: Vec::new(),
        }
    }

    /// The transactions to send in epoch `epoch`, with this epoch's `weights` and a fresh
    /// `salt`: reveals of the commitments made [`REVEAL_PERIOD_EPOCHS`] ago (older ones have
    /// expired and are dropped; newer ones wait), then the commitment of `weights` (none when
    /// it is empty or one for this epoch was already made).
    pub fn calls(&mut self, epoch: u64, weights: &[(u16, u16)], salt: B256) -> Vec<Call> {
        let mut calls = Vec::new();
        self.pending
            .retain(|p| p.epoch.saturating_add(REVEAL_PERIOD_EPOCHS) >= epoch);
        let (due, wait): (Vec<Pending>, Vec<Pending>) = self
            .pending
            .drain(..)
            .partition(|p| p.epoch.saturating_add(REVEAL_PERIOD_EPOCHS) == epoch);
        self.pending = wait;
        for p in due {
            calls.push(Call::RevealWeights {
                netuid: self.netuid,
                uids: p.uids,
                values: p.values,
                salt: p.salt,
                version_key: self.version_key,
            });
        }
        let committed = self.pending.iter().any(|p| p.epoch == epoch);
        if !weights.is_empty() && !committed {
            let (uids, values): (Vec<u16>, Vec<u16>) = weights.iter().copied().unzip();
            let hash = ledger::subnet::reveal::commit_hash(
                self.account,
                self.netuid,
                &uids,
                &values,
                salt,
                self.version_key,
            );
            calls.push(Call::CommitWeights {
                netuid: self.netuid,
                commit_hash: hash,
            });
            self.pending.push(Pending {
                epoch,
                uids,
                values,
                salt,
            });
        }
        calls
    }

    /// Commitments not revealed yet.
    pub fn pending(&self) -> &[Pending] {
        &self.pending
    }
}

/// What [`Embedder::embed`] returns: the vectors, in input order.
pub type EmbedFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = eyre::Result<Vec<Vec<f32>>>> + Send + 'a>>;

/// The validator's own model: embeds inputs the way honest miners must.
pub trait Embedder: Send + Sync {
    /// The vectors of `inputs`, in order.
    fn embed(&self, inputs: Vec<String>) -> EmbedFuture<'_>;
}

/// The epoch the next block of subnet `netuid` belongs to (`Subnet::epoch_index`), from the
/// node's `GET /v1/subnets/{netuid}` document.
fn epoch_of(subnet: &serde_json::Value, netuid: NetUid) -> u64 {
    let tempo = subnet["hyperparams"]["tempo"].as_u64().unwrap_or(0);
    let height = subnet["height"].as_u64().unwrap_or(0);
    (height + 2 + u64::from(netuid)) / (tempo + 1)
}

/// The real model: the inference engine's embedding thread (batched with everything else it
/// serves).
impl Embedder for inference::Engine {
    fn embed(&self, inputs: Vec<String>) -> EmbedFuture<'_> {
        Box::pin(async move { Ok(inference::Engine::embed(self, inputs).await?.vectors) })
    }
}

/// What a validator did in one epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochReport {
    /// The epoch index.
    pub epoch: u64,
    /// One observation per miner probed.
    pub observations: Vec<Observation>,
    /// The weights it committed (empty: nothing to commit).
    pub weights: Vec<(u16, u16)>,
    /// Transactions sent (reveals and the commit).
    pub sent: usize,
}

/// A validator on one subnet: once per epoch it probes every miner that serves an endpoint
/// with fresh challenges, scores them, and reveals/commits weights.
pub struct Validator<E> {
    key: wallet::PrivateKey,
    netuid: NetUid,
    node: ledger_client::Client,
    http: reqwest::Client,
    embedder: E,
    scoring: crate::scoring::Scoring,
    plan: CommitReveal,
    model: String,
    challenges_per_miner: usize,
    last_epoch: Option<u64>,
}

impl<E: Embedder> Validator<E> {
    /// A validator signing with `key` on `netuid` through the node at `node_url`.
    pub fn new(
        key: wallet::PrivateKey,
        netuid: NetUid,
        node_url: &str,
        embedder: E,
        model: &str,
    ) -> eyre::Result<Self> {
        let account = key.address();
        Ok(Validator {
            key,
            netuid,
            node: ledger_client::Client::new(node_url)?,
            http: reqwest::Client::new(),
            embedder,
            scoring: crate::scoring::Scoring::default(),
            plan: CommitReveal::new(account, netuid, 0),
            model: model.to_owned(),
            challenges_per_miner: 4,
            last_epoch: None,
        })
    }

    /// Sets the scoring function's reference latency.
    pub fn with_scoring(mut self, scoring: crate::scoring::Scoring) -> Self {
        self.scoring = scoring;
        self
    }

    /// Runs this epoch's work if it has not run yet: `None` when it already did.
    pub async fn tick(&mut self) -> eyre::Result<Option<EpochReport>> {
        let sn = self
            .node
            .get(&format!("/v1/subnets/{}", self.netuid))
            .await?;
        let epoch = epoch_of(&sn, self.netuid);
        if self.last_epoch == Some(epoch) {
            return Ok(None);
        }
        // Reveal first, as soon as the epoch starts: the reveal window is this one epoch, and
        // probing slow miners can take a good part of it.
        let reveals = self.plan.calls(epoch, &[], B256::ZERO);
        let mut sent = reveals.len();
        for call in reveals {
            self.node.execute(&self.key, call).await?;
        }
        let mg = self
            .node
            .get(&format!("/v1/subnets/{}/metagraph", self.netuid))
            .await?;
        let me = self.key.address();
        let miners: Vec<(u16, String)> = mg["neurons"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|n| {
                n["account"]
                    .as_str()
                    .and_then(|a| a.parse::<Address>().ok())
                    != Some(me)
            })
            .filter_map(|n| {
                Some((
                    u16::try_from(n["uid"].as_u64()?).ok()?,
                    n["endpoint"].as_str()?.to_owned(),
                ))
            })
            .collect();
        // Unpredictable inputs: a miner cannot prepare (or borrow) answers in advance.
        let seed: u64 = rand::random();
        let inputs = challenges(seed, self.challenges_per_miner);
        let reference = self.embedder.embed(inputs.clone()).await?;
        let timeout = Duration::from_secs(5);
        let probes = miners.iter().map(|(uid, endpoint)| {
            probe_embeddings(
                &self.http,
                *uid,
                endpoint,
                &self.model,
                &inputs,
                &reference,
                timeout,
            )
        });
        let observations = futures_util::future::join_all(probes).await;
        let weights = self.scoring.weights(&observations);
        // A secret salt: anyone could otherwise try candidate weights against the commitment.
        let salt = B256::from(rand::random::<[u8; 32]>());
        // The commitment belongs to the epoch it lands in: if probing ran past the epoch's
        // end, commit under the new one (and reveal what is due in it).
        let now = epoch_of(
            &self
                .node
                .get(&format!("/v1/subnets/{}", self.netuid))
                .await?,
            self.netuid,
        );
        let calls = self.plan.calls(now, &weights, salt);
        sent += calls.len();
        for call in calls {
            self.node.execute(&self.key, call).await?;
        }
        self.last_epoch = Some(now);
        Ok(Some(EpochReport {
            epoch,
            observations,
            weights,
            sent,
        }))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn challenges_are_fresh_per_seed_and_reproducible() {
        let a = challenges(1, 8);
        assert_eq!(a, challenges(1, 8));
        assert_ne!(a, challenges(2, 8));
        assert_eq!(a.len(), 8);
        for s in &a {
            assert!(s.ends_with('.') && s.chars().next().unwrap().is_ascii_uppercase());
            assert!((4..=12).contains(&s.split(' ').count()), "{s}");
        }
    }

    #[test]
    fn commits_then_reveals_in_the_next_epoch() {
        let mut cr = CommitReveal::new(Address::repeat_byte(1), 3, 0);
        let salt = |b| B256::repeat_byte(b);
        let calls = cr.calls(10, &[(1, 5), (2, 7)], salt(1));
        assert!(matches!(
            calls.as_slice(),
            [Call::CommitWeights { netuid: 3, .. }]
        ));
        // A second call in the same epoch commits nothing new.
        assert!(cr.calls(10, &[(1, 9)], salt(2)).is_empty());
        // Next epoch: reveal the first, commit the new.
        let calls = cr.calls(11, &[(1, 9)], salt(3));
        match calls.as_slice() {
            [
                Call::RevealWeights {
                    uids,
                    values,
                    salt: s,
                    ..
                },
                Call::CommitWeights { .. },
            ] => {
                assert_eq!(
                    (uids.as_slice(), values.as_slice(), *s),
                    (&[1u16, 2][..], &[5u16, 7][..], salt(1))
                );
            }
            other => panic!("{other:?}"),
        }
        // Skipping an epoch lets the commitment expire.
        assert!(cr.calls(13, &[], salt(4)).is_empty());
        assert!(cr.pending().is_empty());
    }

    #[test]
    fn the_commitment_matches_the_ledgers_hash() {
        let account = Address::repeat_byte(7);
        let mut cr = CommitReveal::new(account, 1, 4);
        let s = B256::repeat_byte(9);
        let Call::CommitWeights { commit_hash, .. } = cr.calls(1, &[(2, 3)], s)[0].clone() else {
            panic!()
        };
        assert_eq!(
            commit_hash,
            ledger::subnet::reveal::commit_hash(account, 1, &[2], &[3], s, 4)
        );
    }
}
