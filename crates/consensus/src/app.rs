//! The application message loop: Malachite's `AppMsg`s onto a [`Host`].
//!
//! The loop and its replies follow the contract documented in `app-channel/src/msgs.rs`
//! (0.8.2) and the flow of upstream's example channel app (`code/examples/channel/src/app.rs`):
//! every message with a `reply` is answered (consensus stalls otherwise), a failed send is
//! logged rather than fatal. Sync serves the ledger's blocks with the commit certificates
//! stored with them.
//!
//! Block pace: a proposer asked for a value before `block_time` has passed since the parent
//! block's timestamp holds the request until then (bounded by half the engine's propose
//! timeout), so an idle chain makes one block per `block_time`, like the solo producer, rather
//! than empty blocks back to back. Other engine messages are served meanwhile.

use std::{
    collections::BTreeMap,
    time::{Duration, SystemTime},
};

use bytes::Bytes;
use malachitebft_app_channel::{
    AppMsg, Channels, NetworkMsg, Reply,
    app::{
        engine::host::{HeightParams, Next, SyncedValueOutcome},
        streaming::{StreamContent, StreamId, StreamMessage},
        types::{
            LocallyProposedValue,
            core::{ExtendedCommitCertificate, LinearTimeouts, Round},
        },
    },
};

use crate::{
    Ctx, Height, ProposalPart,
    error::Result,
    host::{Host, Ledger},
};

/// Most proposal streams buffered at once; the oldest is dropped beyond it.
pub const MAX_STREAMS: usize = 64;

/// Wall-clock milliseconds since the Unix epoch (0 if the clock is before it).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The parameters of every height: the genesis validator set and default timeouts.
fn params<L: Ledger>(host: &Host<L>) -> HeightParams<Ctx> {
    HeightParams::new(host.validators().clone(), LinearTimeouts::default(), None)
}

/// Parts of one stream, by sequence number, until its end is known and none is missing.
#[derive(Default)]
struct Partial {
    parts: BTreeMap<u64, ProposalPart>,
    fin: Option<u64>,
    order: u64,
}

/// Proposal streams being received, keyed by publisher and stream id.
#[derive(Default)]
struct Streams {
    open: BTreeMap<(String, Vec<u8>), Partial>,
    next_order: u64,
}

impl Streams {
    /// Adds a stream message; returns the stream's parts in order once it is complete.
    fn insert(
        &mut self,
        publisher: String,
        msg: StreamMessage<ProposalPart>,
    ) -> Option<Vec<ProposalPart>> {
        let key = (publisher, msg.stream_id.to_bytes().to_vec());
        if !self.open.contains_key(&key) && self.open.len() >= MAX_STREAMS {
            let oldest = self
                .open
                .iter()
                .min_by_key(|(_, p)| p.order)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                self.open.remove(&k);
            }
        }
        let order = self.next_order;
        self.next_order += 1;
        let partial = self.open.entry(key.clone()).or_insert_with(|| Partial {
            order,
            ..Partial::default()
        });
        match msg.content {
            StreamContent::Data(part) => {
                partial.parts.insert(msg.sequence, part);
            }
            StreamContent::Fin => partial.fin = Some(msg.sequence),
        }
        let fin = partial.fin?;
        let complete = u64::try_from(partial.parts.len()).is_ok_and(|n| n == fin);
        if !complete {
            return None;
        }
        self.open
            .remove(&key)
            .map(|p| p.parts.into_values().collect())
    }
}

/// A stream id unique per proposer: the height and round.
fn stream_id(height: Height, round: Round) -> StreamId {
    let mut b = Vec::with_capacity(16);
    b.extend_from_slice(&height.0.to_be_bytes());
    b.extend_from_slice(&round.as_i64().to_be_bytes());
    StreamId::new(Bytes::from(b))
}

/// Publishes `parts` as one stream (data in order, then the stream's end).
async fn publish(
    channels: &Channels<Ctx>,
    height: Height,
    round: Round,
    parts: Vec<ProposalPart>,
) -> Result<(), String> {
    let id = stream_id(height, round);
    let mut seq = 0u64;
    for part in parts {
        let msg = StreamMessage::new(id.clone(), seq, StreamContent::Data(part));
        channels
            .network
            .send(NetworkMsg::PublishProposalPart(msg))
            .await
            .map_err(|e| e.to_string())?;
        seq += 1;
    }
    let fin = StreamMessage::new(id, seq, StreamContent::Fin);
    channels
        .network
        .send(NetworkMsg::PublishProposalPart(fin))
        .await
        .map_err(|e| e.to_string())
}

fn sent<T>(what: &str, r: std::result::Result<(), T>) {
    if r.is_err() {
        tracing::error!(what, "consensus dropped the reply channel");
    }
}

/// A `GetValue` held until the block time has passed since the parent block.
struct Held {
    height: Height,
    round: Round,
    at: tokio::time::Instant,
    reply: Reply<LocallyProposedValue<Ctx>>,
}

/// Builds the value for `(height, round)`, answers `reply` and publishes the proposal.
async fn propose<L: Ledger>(
    host: &mut Host<L>,
    channels: &mut Channels<Ctx>,
    height: Height,
    round: Round,
    reply: Reply<LocallyProposedValue<Ctx>>,
) {
    match host.get_value(height, round, now_ms()) {
        Ok((value, parts)) => {
            sent("GetValue", reply.send(value));
            if let Err(e) = publish(channels, height, round, parts).await {
                tracing::error!(error = %e, "cannot publish the proposal");
            }
        }
        // No reply: the propose timeout expires and the round moves on.
        Err(e) => tracing::error!(%height, %round, error = %e, "cannot build a block"),
    }
}

/// How long to hold a `GetValue` whose propose timeout is `timeout`: until `block_time`
/// after the parent's timestamp, at most half the timeout.
fn hold_for<L: Ledger>(host: &Host<L>, block_time: Duration, timeout: Duration) -> Duration {
    let parent = host.ledger().with_state(|s| s.head.timestamp_ms);
    let ready = parent.saturating_add(u64::try_from(block_time.as_millis()).unwrap_or(u64::MAX));
    Duration::from_millis(ready.saturating_sub(now_ms())).min(timeout / 2)
}

/// Runs the application side of consensus until the engine closes its channel, proposing
/// at most one block per `block_time` (see the module docs).
pub async fn run<L: Ledger>(
    host: &mut Host<L>,
    channels: &mut Channels<Ctx>,
    block_time: Duration,
) -> Result<()> {
    let mut streams = Streams::default();
    let mut held: Option<Held> = None;
    loop {
        let wake = held.as_ref().map(|h| h.at);
        let msg = tokio::select! {
            m = channels.consensus.recv() => match m {
                Some(m) => m,
                None => break,
            },
            () = async {
                match wake {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            } => {
                if let Some(h) = held.take() {
                    propose(host, channels, h.height, h.round, h.reply).await;
                }
                continue;
            }
        };
        match msg {
            AppMsg::ConsensusReady { reply } => {
                let start = host.start_height();
                tracing::info!(%start, "consensus ready");
                sent("ConsensusReady", reply.send((start, params(host))));
            }
            AppMsg::StartedRound {
                height,
                round,
                reply_value,
                ..
            } => {
                sent(
                    "StartedRound",
                    reply_value.send(host.undecided_for(height, round)),
                );
            }
            AppMsg::GetValue {
                height,
                round,
                timeout,
                reply,
            } => {
                // A newer request replaces a held one (its round has moved on).
                let wait = hold_for(host, block_time, timeout);
                if wait.is_zero() {
                    held = None;
                    propose(host, channels, height, round, reply).await;
                } else {
                    held = Some(Held {
                        height,
                        round,
                        at: tokio::time::Instant::now() + wait,
                        reply,
                    });
                }
            }
            AppMsg::ExtendVote { reply, .. } => sent("ExtendVote", reply.send(None)),
            AppMsg::VerifyVoteExtensions {
                extensions, reply, ..
            } => {
                let verdicts = extensions.into_iter().map(|(a, _)| (a, Ok(()))).collect();
                sent("VerifyVoteExtensions", reply.send(verdicts));
            }
            AppMsg::RestreamProposal {
                height,
                round,
                valid_round,
                value_id,
                ..
            } => {
                if let Some(parts) = host.restream(height, round, valid_round, value_id)
                    && let Err(e) = publish(channels, height, round, parts).await
                {
                    tracing::error!(error = %e, "cannot restream the proposal");
                }
            }
            AppMsg::GetHistoryMinHeight { reply } => {
                sent("GetHistoryMinHeight", reply.send(host.history_min_height()));
            }
            AppMsg::ReceivedProposalPart {
                from,
                published_by,
                part,
                reply,
            } => {
                let publisher = published_by.unwrap_or(from).to_string();
                let value = streams
                    .insert(publisher, part)
                    .and_then(|parts| host.received_stream(&parts, now_ms()));
                sent("ReceivedProposalPart", reply.send(value));
            }
            AppMsg::Decided { reply, .. } => {
                // The commit (with the certificate) happens at `Finalized`.
                sent("Decided", reply.send(()));
            }
            AppMsg::Finalized {
                certificate,
                extensions,
                reply,
                ..
            } => {
                let h = certificate.height;
                let certificate = ExtendedCommitCertificate::from_commit_certificate_and_extensions(
                    certificate,
                    extensions,
                );
                let next = match host.finalize(&certificate) {
                    Ok(()) => Next::Start(host.start_height(), params(host)),
                    Err(e) => {
                        tracing::error!(height = %h, error = %e, "commit failed, restarting the height");
                        Next::Restart(h, params(host))
                    }
                };
                sent("Finalized", reply.send(next));
            }
            AppMsg::GetDecidedValues { range, reply } => {
                let values = host.decided(*range.start(), *range.end());
                sent("GetDecidedValues", reply.send(values));
            }
            AppMsg::ProcessSyncedValue {
                height,
                round,
                proposer,
                value_bytes,
                reply,
            } => {
                let outcome = match host.synced(height, round, proposer, &value_bytes) {
                    Some(v) => SyncedValueOutcome::Verdict(v),
                    None => SyncedValueOutcome::PeerFault,
                };
                sent("ProcessSyncedValue", reply.send(outcome));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(seq: u64, content: StreamContent<ProposalPart>) -> StreamMessage<ProposalPart> {
        StreamMessage::new(stream_id(Height(1), Round::new(0)), seq, content)
    }

    #[test]
    fn streams_complete_in_any_arrival_order_and_stay_bounded() {
        let data =
            |b: &'static [u8]| StreamContent::Data(ProposalPart::Data(Bytes::from_static(b)));
        let mut s = Streams::default();
        assert_eq!(s.insert("p".into(), msg(2, StreamContent::Fin)), None);
        assert_eq!(s.insert("p".into(), msg(1, data(b"b"))), None);
        let done = s.insert("p".into(), msg(0, data(b"a"))).unwrap();
        assert_eq!(
            done,
            vec![
                ProposalPart::Data(Bytes::from_static(b"a")),
                ProposalPart::Data(Bytes::from_static(b"b"))
            ]
        );
        assert!(s.open.is_empty());
        for i in 0..(MAX_STREAMS + 10) {
            s.insert(format!("peer{i}"), msg(0, data(b"x")));
        }
        assert_eq!(s.open.len(), MAX_STREAMS);
    }
}
