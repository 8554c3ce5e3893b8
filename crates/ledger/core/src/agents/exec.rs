//! The registry calls on the block overlay: each checks everything, then mutates.

use alloy_primitives::{Address, B256};

use super::{
    AGENT_WALLET_KEY, Agent, AgentId, Feedback, FeedbackCall, MAX_ABS_VALUE, MAX_DEADLINE_DELAY,
    MAX_METADATA_ENTRIES, MAX_METADATA_VALUE_LEN, MAX_RESPONSE, MAX_TAG_LEN, MAX_URI_LEN,
    MAX_VALUE_DECIMALS, MetadataEntry, PaymentRef, REQUIRES_PAYMENT_KEY, Response, Validation,
};
use crate::{
    eip3009::SettledPayment,
    error::{Reject, invalid},
    exec::Overlay,
    receipt::Event,
    state::AuthKey,
    tx::Call,
};

/// A URI is at most [`MAX_URI_LEN`] bytes.
fn check_uri(what: &str, uri: &str) -> Result<(), Reject> {
    if uri.len() > MAX_URI_LEN {
        return Err(invalid(format!(
            "{what} is {} bytes; the limit is {MAX_URI_LEN}",
            uri.len()
        )));
    }
    Ok(())
}

/// A tag, endpoint or key is at most [`MAX_TAG_LEN`] bytes.
fn check_tag(what: &str, tag: &str) -> Result<(), Reject> {
    if tag.len() > MAX_TAG_LEN {
        return Err(invalid(format!(
            "{what} is {} bytes; the limit is {MAX_TAG_LEN}",
            tag.len()
        )));
    }
    Ok(())
}

/// A metadata entry set by `register` or `setMetadata`: not the reserved wallet key, sizes
/// bounded, and [`REQUIRES_PAYMENT_KEY`] only `0x00`, `0x01` or empty.
fn check_metadata(key: &str, value: &[u8]) -> Result<(), Reject> {
    if key.is_empty() {
        return Err(invalid("metadata key is empty"));
    }
    check_tag("metadata key", key)?;
    if key == AGENT_WALLET_KEY {
        return Err(invalid(format!(
            "metadata key {AGENT_WALLET_KEY:?} is reserved: set it with setAgentWallet"
        )));
    }
    if value.len() > MAX_METADATA_VALUE_LEN {
        return Err(invalid(format!(
            "metadata value of {key:?} is {} bytes; the limit is {MAX_METADATA_VALUE_LEN}",
            value.len()
        )));
    }
    if key == REQUIRES_PAYMENT_KEY && !matches!(value, [] | [0] | [1]) {
        return Err(invalid(format!(
            "metadata {REQUIRES_PAYMENT_KEY:?} must be 0x01 (required) or 0x00"
        )));
    }
    Ok(())
}

impl Overlay<'_> {
    /// An agent as this block sees it.
    pub(crate) fn agent(&self, id: AgentId) -> Result<&Agent, Reject> {
        self.registry
            .agents
            .get(&id)
            .or_else(|| self.base.registry.agents.get(&id))
            .ok_or(Reject::UnknownAgent { agent_id: id })
    }

    /// The agent `id`, if `caller` owns it.
    pub(crate) fn owned_agent(&self, id: AgentId, caller: Address) -> Result<Agent, Reject> {
        let a = self.agent(id)?;
        if a.owner != caller {
            return Err(Reject::NotAgentOwner {
                agent_id: id,
                caller,
            });
        }
        Ok(a.clone())
    }

    fn next_agent_id(&self) -> AgentId {
        let new = self
            .registry
            .agents
            .keys()
            .filter(|k| !self.base.registry.agents.contains_key(k))
            .count();
        self.base
            .registry
            .next_id()
            .saturating_add(u64::try_from(new).unwrap_or(u64::MAX))
    }

    fn feedback_list(&self, agent: AgentId, client: Address) -> Vec<Feedback> {
        self.registry
            .feedback
            .get(&(agent, client))
            .or_else(|| self.base.registry.feedback.get(&(agent, client)))
            .cloned()
            .unwrap_or_default()
    }

    pub(crate) fn validation(&self, hash: &B256) -> Option<&Validation> {
        self.registry
            .validations
            .get(hash)
            .or_else(|| self.base.registry.validations.get(hash))
    }

    fn payment(&self, key: &AuthKey) -> Option<SettledPayment> {
        self.payments
            .get(key)
            .or_else(|| self.base.payments.get(key))
            .copied()
    }

    /// Runs one registry call (`call.is_registry()`).
    pub(crate) fn registry_call(
        &mut self,
        from: Address,
        call: &Call,
        now: u64,
        events: &mut Vec<Event>,
    ) -> Result<(), Reject> {
        match call {
            Call::RegisterAgent { uri, metadata } => {
                self.register_agent(from, uri, metadata, events)
            }
            Call::SetAgentUri { agent_id, uri } => {
                check_uri("agentURI", uri)?;
                let mut a = self.owned_agent(*agent_id, from)?;
                a.uri.clone_from(uri);
                self.registry.agents.insert(a.id, a);
                events.push(Event::AgentUriSet {
                    agent_id: *agent_id,
                    uri: uri.clone(),
                });
                Ok(())
            }
            Call::SetAgentMetadata {
                agent_id,
                key,
                value,
            } => {
                check_metadata(key, value)?;
                let mut a = self.owned_agent(*agent_id, from)?;
                if value.is_empty() {
                    a.metadata.remove(key);
                } else {
                    a.metadata.insert(key.clone(), value.clone());
                }
                self.registry.agents.insert(a.id, a);
                events.push(Event::AgentMetadataSet {
                    agent_id: *agent_id,
                    key: key.clone(),
                    value: value.clone(),
                });
                Ok(())
            }
            Call::SetAgentWallet {
                agent_id,
                wallet,
                deadline,
                ..
            } => {
                // The wallet's signature was checked with the transaction's (`verify`), over
                // (agentId, wallet, owner = sender, deadline); the sender must own the agent.
                let mut a = self.owned_agent(*agent_id, from)?;
                if *wallet == Address::ZERO {
                    return Err(invalid("agent wallet cannot be the zero address"));
                }
                if now > *deadline {
                    return Err(invalid(format!(
                        "agent wallet proof expired (deadline {deadline}, block time {now})"
                    )));
                }
                if *deadline > now.saturating_add(MAX_DEADLINE_DELAY) {
                    return Err(invalid(format!(
                        "agent wallet proof deadline {deadline} is more than \
                         {MAX_DEADLINE_DELAY} s after the block time {now}"
                    )));
                }
                a.wallet = Some(*wallet);
                self.registry.agents.insert(a.id, a);
                events.push(Event::AgentWalletSet {
                    agent_id: *agent_id,
                    wallet: Some(*wallet),
                });
                Ok(())
            }
            Call::UnsetAgentWallet { agent_id } => {
                let mut a = self.owned_agent(*agent_id, from)?;
                a.wallet = None;
                self.registry.agents.insert(a.id, a);
                events.push(Event::AgentWalletSet {
                    agent_id: *agent_id,
                    wallet: None,
                });
                Ok(())
            }
            Call::TransferAgent { agent_id, to } => {
                if *to == Address::ZERO {
                    return Err(invalid("cannot transfer an agent to the zero address"));
                }
                let mut a = self.owned_agent(*agent_id, from)?;
                a.owner = *to;
                let had_wallet = a.wallet.take().is_some();
                self.registry.agents.insert(a.id, a);
                if had_wallet {
                    events.push(Event::AgentWalletSet {
                        agent_id: *agent_id,
                        wallet: None,
                    });
                }
                events.push(Event::AgentTransferred {
                    agent_id: *agent_id,
                    from,
                    to: *to,
                });
                Ok(())
            }
            Call::GiveFeedback(f) => self.give_feedback(from, f, events),
            Call::RevokeFeedback { agent_id, index } => {
                self.agent(*agent_id)?;
                let mut list = self.feedback_list(*agent_id, from);
                let missing = Reject::UnknownFeedback {
                    agent_id: *agent_id,
                    client: from,
                    index: *index,
                };
                let slot = usize::try_from(*index)
                    .ok()
                    .and_then(|i| i.checked_sub(1))
                    .ok_or_else(|| missing.clone())?;
                let fb = list.get_mut(slot).ok_or(missing)?;
                if fb.revoked {
                    return Err(invalid(format!(
                        "feedback {index} on agent {agent_id} is already revoked"
                    )));
                }
                fb.revoked = true;
                self.registry.feedback.insert((*agent_id, from), list);
                events.push(Event::FeedbackRevoked {
                    agent_id: *agent_id,
                    client: from,
                    index: *index,
                });
                Ok(())
            }
            Call::AppendResponse {
                agent_id,
                client,
                index,
                uri,
                hash,
            } => {
                if uri.is_empty() {
                    return Err(invalid("response URI is empty"));
                }
                check_uri("response URI", uri)?;
                let mut list = self.feedback_list(*agent_id, *client);
                let missing = Reject::UnknownFeedback {
                    agent_id: *agent_id,
                    client: *client,
                    index: *index,
                };
                let slot = usize::try_from(*index)
                    .ok()
                    .and_then(|i| i.checked_sub(1))
                    .ok_or_else(|| missing.clone())?;
                let fb = list.get_mut(slot).ok_or(missing)?;
                fb.responses.push(Response {
                    responder: from,
                    uri: uri.clone(),
                    hash: *hash,
                });
                self.registry.feedback.insert((*agent_id, *client), list);
                events.push(Event::ResponseAppended {
                    agent_id: *agent_id,
                    client: *client,
                    index: *index,
                    responder: from,
                });
                Ok(())
            }
            Call::ValidationRequest {
                validator,
                agent_id,
                uri,
                request_hash,
            } => {
                if *validator == Address::ZERO {
                    return Err(invalid("validator cannot be the zero address"));
                }
                check_uri("request URI", uri)?;
                self.owned_agent(*agent_id, from)?;
                if self.validation(request_hash).is_some() {
                    return Err(invalid(format!(
                        "validation request {request_hash} already exists"
                    )));
                }
                self.registry.validations.insert(
                    *request_hash,
                    Validation {
                        request_hash: *request_hash,
                        validator: *validator,
                        agent_id: *agent_id,
                        request_uri: uri.clone(),
                        response: None,
                        response_uri: String::new(),
                        response_hash: B256::ZERO,
                        tag: String::new(),
                        last_update: self.height,
                    },
                );
                events.push(Event::ValidationRequested {
                    request_hash: *request_hash,
                    agent_id: *agent_id,
                    validator: *validator,
                });
                Ok(())
            }
            Call::ValidationResponse {
                request_hash,
                response,
                uri,
                hash,
                tag,
            } => {
                if *response > MAX_RESPONSE {
                    return Err(invalid(format!(
                        "validation response {response} is above {MAX_RESPONSE}"
                    )));
                }
                check_uri("response URI", uri)?;
                check_tag("tag", tag)?;
                let mut v =
                    self.validation(request_hash)
                        .cloned()
                        .ok_or(Reject::UnknownValidation {
                            request_hash: *request_hash,
                        })?;
                if v.validator != from {
                    return Err(Reject::NotValidator {
                        request_hash: *request_hash,
                        caller: from,
                    });
                }
                v.response = Some(*response);
                v.response_uri.clone_from(uri);
                v.response_hash = *hash;
                v.tag.clone_from(tag);
                v.last_update = self.height;
                let agent_id = v.agent_id;
                self.registry.validations.insert(*request_hash, v);
                events.push(Event::ValidationResponded {
                    request_hash: *request_hash,
                    agent_id,
                    validator: from,
                    response: *response,
                    tag: tag.clone(),
                });
                Ok(())
            }
            _ => Err(invalid("not a registry call")),
        }
    }

    fn register_agent(
        &mut self,
        from: Address,
        uri: &str,
        metadata: &[MetadataEntry],
        events: &mut Vec<Event>,
    ) -> Result<(), Reject> {
        check_uri("agentURI", uri)?;
        if metadata.len() > MAX_METADATA_ENTRIES {
            return Err(invalid(format!(
                "{} metadata entries; the limit is {MAX_METADATA_ENTRIES}",
                metadata.len()
            )));
        }
        for m in metadata {
            check_metadata(&m.key, &m.value)?;
        }
        let id = self.next_agent_id();
        let mut agent = Agent {
            id,
            owner: from,
            uri: uri.to_owned(),
            wallet: Some(from),
            metadata: Default::default(),
            registered_at: self.height,
        };
        events.push(Event::AgentRegistered {
            agent_id: id,
            owner: from,
            uri: uri.to_owned(),
        });
        events.push(Event::AgentWalletSet {
            agent_id: id,
            wallet: Some(from),
        });
        for m in metadata {
            if m.value.is_empty() {
                agent.metadata.remove(&m.key);
            } else {
                agent.metadata.insert(m.key.clone(), m.value.clone());
            }
            events.push(Event::AgentMetadataSet {
                agent_id: id,
                key: m.key.clone(),
                value: m.value.clone(),
            });
        }
        self.registry.agents.insert(id, agent);
        Ok(())
    }

    fn give_feedback(
        &mut self,
        from: Address,
        f: &FeedbackCall,
        events: &mut Vec<Event>,
    ) -> Result<(), Reject> {
        let agent = self.agent(f.agent_id)?;
        if agent.owner == from {
            return Err(Reject::SelfFeedback {
                agent_id: f.agent_id,
                caller: from,
            });
        }
        if f.value_decimals > MAX_VALUE_DECIMALS {
            return Err(invalid(format!(
                "valueDecimals {} is above {MAX_VALUE_DECIMALS}",
                f.value_decimals
            )));
        }
        if f.value.unsigned_abs() > MAX_ABS_VALUE.unsigned_abs() {
            return Err(invalid("feedback value is beyond ±1e38"));
        }
        check_tag("tag1", &f.tag1)?;
        check_tag("tag2", &f.tag2)?;
        check_uri("endpoint", &f.endpoint)?;
        check_uri("feedback URI", &f.feedback_uri)?;
        let payee = agent.payee();
        let payees = agent.payees();
        let required = agent.requires_payment();
        let mut list = self.feedback_list(f.agent_id, from);
        let index = u64::try_from(list.len())
            .unwrap_or(u64::MAX)
            .saturating_add(1);
        let cited = match (f.payment, required) {
            (None, true) => {
                return Err(Reject::PaymentProof {
                    reason: format!(
                        "agent {} requires feedback to cite a settled payment to {payee}",
                        f.agent_id
                    ),
                });
            }
            (None, false) => None,
            (Some(p), _) => Some(self.check_payment(from, &payees, p, (f.agent_id, index))?),
        };
        list.push(Feedback {
            index,
            value: f.value,
            value_decimals: f.value_decimals,
            tag1: f.tag1.clone(),
            tag2: f.tag2.clone(),
            endpoint: f.endpoint.clone(),
            feedback_uri: f.feedback_uri.clone(),
            feedback_hash: f.feedback_hash,
            revoked: false,
            payment: f.payment,
            responses: Vec::new(),
            height: self.height,
        });
        if let Some((key, payment)) = cited {
            self.payments.insert(key, payment);
        }
        self.registry.feedback.insert((f.agent_id, from), list);
        events.push(Event::FeedbackGiven {
            agent_id: f.agent_id,
            client: from,
            index,
            value: f.value,
            value_decimals: f.value_decimals,
            tag1: f.tag1.clone(),
            tag2: f.tag2.clone(),
        });
        Ok(())
    }

    /// The settled payment `p` from `payer` to one of `payees`, not cited before, marked as
    /// cited by `feedback`.
    fn check_payment(
        &self,
        payer: Address,
        payees: &[Address],
        p: PaymentRef,
        feedback: (AgentId, u64),
    ) -> Result<(AuthKey, SettledPayment), Reject> {
        let key = (p.asset, payer, p.nonce);
        let mut settled = self.payment(&key).ok_or_else(|| Reject::PaymentProof {
            reason: format!(
                "no settled payment from {payer} in asset {} with authorization nonce {}",
                p.asset, p.nonce
            ),
        })?;
        if !payees.contains(&settled.to) {
            return Err(Reject::PaymentProof {
                reason: format!(
                    "payment {} went to {}, not to the agent's wallet (or owner) {}",
                    p.nonce, settled.to, payees[0]
                ),
            });
        }
        if let Some((agent, index)) = settled.cited_by {
            return Err(Reject::PaymentProof {
                reason: format!(
                    "payment {} already backs feedback {index} on agent {agent}",
                    p.nonce
                ),
            });
        }
        settled.cited_by = Some(feedback);
        Ok((key, settled))
    }
}
