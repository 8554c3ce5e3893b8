//! The verifiable-inference calls and per-block work on the block overlay. Each call checks
//! everything, then mutates.

use alloy_primitives::{Address, B256, Bytes, keccak256};

use super::{
    Accepted, AttestationRecord, Bond, Callback, Delivery, InferCall, InferMeta, InferParams,
    MAX_INPUT, MAX_K, MAX_PROOF, MAX_URI, MAX_VERIFYING_KEY, MAX_WINDOW, Mode, OutputKind, Request,
    RequestId, RequestState, RequestTerms, ZkModel, agree, reexec_validation_hash,
    validator_account, zk_model_id,
};
use crate::{
    Amount, NATIVE,
    agents::{MAX_RESPONSE, Validation},
    error::{Reject, invalid},
    exec::Overlay,
    receipt::Event,
};

/// The most deliveries a request takes (agreeing or not).
pub const MAX_DELIVERIES: usize = 16;

impl Overlay<'_> {
    fn infer_params(&self) -> &InferParams {
        &self.base.params.infer
    }

    /// The bookkeeping, copied into the diff on first use.
    fn infer_meta(&mut self) -> &mut InferMeta {
        if self.infer.meta.is_none() {
            self.infer.meta = Some(self.base.infer.meta.clone().unwrap_or_default());
        }
        self.infer.meta.get_or_insert_with(InferMeta::default)
    }

    fn peek_infer_meta(&self) -> Option<&InferMeta> {
        self.infer.meta.as_ref().or(self.base.infer.meta.as_ref())
    }

    fn request(&self, id: RequestId) -> Result<Request, Reject> {
        self.infer
            .requests
            .get(&id)
            .or_else(|| self.base.infer.requests.get(&id))
            .cloned()
            .ok_or_else(|| invalid(format!("unknown inference request {id}")))
    }

    fn delivery(&self, id: RequestId, provider: Address) -> Option<Delivery> {
        self.infer
            .deliveries
            .get(&(id, provider))
            .or_else(|| self.base.infer.deliveries.get(&(id, provider)))
            .cloned()
    }

    fn bond(&self, provider: &Address) -> Option<Bond> {
        self.infer
            .bonds
            .get(provider)
            .or_else(|| self.base.infer.bonds.get(provider))
            .copied()
    }

    fn attestation(&self, provider: &Address) -> Option<&AttestationRecord> {
        self.infer
            .attestations
            .get(provider)
            .or_else(|| self.base.infer.attestations.get(provider))
    }

    fn zk_model(&self, id: &B256) -> Option<&ZkModel> {
        self.infer
            .zk_models
            .get(id)
            .or_else(|| self.base.infer.zk_models.get(id))
    }

    /// Runs one verifiable-inference call; `now` is the block time in seconds.
    pub(crate) fn infer_call(
        &mut self,
        from: Address,
        call: &InferCall,
        now: u64,
        events: &mut Vec<Event>,
    ) -> Result<(), Reject> {
        match call {
            InferCall::RequestInference(terms) => self.request_inference(from, terms, events),
            InferCall::DeliverResult {
                request,
                output,
                proof,
            } => self.deliver(from, *request, output, proof, now, events),
            InferCall::Reexecute {
                request,
                provider,
                output,
            } => self.reexecute(from, *request, *provider, output, events),
            InferCall::PostBond { amount, agent_id } => {
                if *amount == 0 {
                    return Err(invalid("bond amount must be positive"));
                }
                self.owned_agent(*agent_id, from)?;
                self.escrow_in(NATIVE, from, *amount)?;
                let mut b = self.bond(&from).unwrap_or_default();
                b.amount = b.amount.saturating_add(*amount);
                b.agent_id = *agent_id;
                self.infer.bonds.insert(from, b);
                events.push(Event::BondChanged {
                    provider: from,
                    bond: b.amount,
                });
                Ok(())
            }
            InferCall::WithdrawBond { amount } => {
                let mut b = self
                    .bond(&from)
                    .ok_or_else(|| invalid(format!("{from} has no bond")))?;
                if *amount == 0 || *amount > b.amount {
                    return Err(invalid(format!(
                        "withdrawal must be 1..={} (the bond)",
                        b.amount
                    )));
                }
                if self.height < b.locked_until {
                    return Err(invalid(format!(
                        "the bond backs deliveries whose challenge window ends at block {}",
                        b.locked_until
                    )));
                }
                self.escrow_out(NATIVE, from, *amount)?;
                b.amount -= amount;
                self.infer.bonds.insert(from, b);
                events.push(Event::BondChanged {
                    provider: from,
                    bond: b.amount,
                });
                Ok(())
            }
            InferCall::BindAttestation { quote, collateral } => {
                let root = match &self.infer_params().tee_root {
                    Some(der) => verify_tee::Root::Custom(der.to_vec()),
                    None => verify_tee::Root::Intel,
                };
                let a = verify_tee::verify_binding(quote, collateral, now, &root, &from.0.0)
                    .map_err(|e| invalid(format!("attestation refused: {e}")))?;
                let record = AttestationRecord {
                    tee: match a.kind {
                        verify_tee::TeeKind::Sgx => "sgx".into(),
                        verify_tee::TeeKind::Tdx => "tdx".into(),
                    },
                    tcb_status: a.tcb_status,
                    advisory_ids: a.advisory_ids,
                    measurement: Bytes::from(a.measurement),
                    quote_hash: keccak256(quote),
                    verified_at: now,
                    valid_until: now.saturating_add(self.infer_params().attestation_ttl()),
                };
                events.push(Event::AttestationBound {
                    provider: from,
                    tcb_status: record.tcb_status.clone(),
                });
                self.infer.attestations.insert(from, record);
                Ok(())
            }
            InferCall::RegisterZkModel {
                commitment,
                verifying_key,
            } => {
                if verifying_key.len() > MAX_VERIFYING_KEY {
                    return Err(invalid(format!(
                        "verifying key is {} bytes; the limit is {MAX_VERIFYING_KEY}",
                        verifying_key.len()
                    )));
                }
                verify_zk::PreparedVerifier::new(verifying_key)
                    .map_err(|e| invalid(format!("verifying key refused: {e}")))?;
                let id = zk_model_id(verifying_key);
                if self.zk_model(&id).is_some() {
                    return Err(invalid(format!("ZK model {id} is already registered")));
                }
                self.infer.zk_models.insert(
                    id,
                    ZkModel {
                        commitment: *commitment,
                        verifying_key: verifying_key.clone(),
                        registrant: from,
                        registered_at: self.height,
                    },
                );
                events.push(Event::ZkModelRegistered {
                    model: id,
                    commitment: *commitment,
                });
                Ok(())
            }
        }
    }

    fn request_inference(
        &mut self,
        from: Address,
        terms: &RequestTerms,
        events: &mut Vec<Event>,
    ) -> Result<(), Reject> {
        let mut terms = terms.clone();
        if terms.k == 0 || terms.k > MAX_K {
            return Err(invalid(format!("k must be 1..={MAX_K}")));
        }
        if terms.window == 0 || terms.window > MAX_WINDOW {
            return Err(invalid(format!("window must be 1..={MAX_WINDOW} blocks")));
        }
        if terms.payment == 0 {
            return Err(invalid("payment must be positive"));
        }
        if terms.input.len() > MAX_INPUT {
            return Err(invalid(format!(
                "inline input is {} bytes; the limit is {MAX_INPUT} (give a hash and URI)",
                terms.input.len()
            )));
        }
        if terms.input_uri.len() > MAX_URI {
            return Err(invalid(format!("input URI is over {MAX_URI} bytes")));
        }
        if terms.input.is_empty() {
            if terms.input_hash == B256::ZERO {
                return Err(invalid("give the input inline or its hash"));
            }
        } else {
            let h = keccak256(&terms.input);
            if terms.input_hash != B256::ZERO && terms.input_hash != h {
                return Err(invalid(format!(
                    "input hash {} does not match the inline input ({h})",
                    terms.input_hash
                )));
            }
            terms.input_hash = h;
        }
        self.require_asset(&terms.asset)?;
        match terms.mode {
            Mode::Zk => {
                if self.zk_model(&terms.model).is_none() {
                    return Err(invalid(format!(
                        "{} is not a registered ZK model",
                        terms.model
                    )));
                }
                if terms.input.is_empty() {
                    return Err(invalid("a ZK request carries its input inline"));
                }
                if terms.output != OutputKind::Exact {
                    return Err(invalid("ZK outputs are compared exactly"));
                }
            }
            Mode::Reexec => {
                self.subnet(terms.netuid)?;
                if terms.min_bond == 0 {
                    return Err(invalid("a re-executed request needs a minimum bond"));
                }
                if terms.challenge_window == 0 || terms.challenge_window > MAX_WINDOW {
                    return Err(invalid(format!(
                        "challenge window must be 1..={MAX_WINDOW} blocks"
                    )));
                }
            }
            Mode::Redundant | Mode::Tee => {}
        }
        match &terms.callback {
            Callback::None => {}
            Callback::Pay { asset, amount, .. } => {
                if *amount == 0 {
                    return Err(invalid("callback payout must be positive"));
                }
                self.require_asset(asset)?;
            }
            Callback::Validate { request_hash, .. } => {
                let v = self
                    .validation(request_hash)
                    .ok_or(Reject::UnknownValidation {
                        request_hash: *request_hash,
                    })?;
                if v.validator != validator_account() {
                    return Err(invalid(format!(
                        "validation {request_hash} names validator {}, not the inference \
                         validator {}",
                        v.validator,
                        validator_account()
                    )));
                }
            }
        }
        // Escrow the payment, then the payout (failing as a whole if either is short).
        let (pay_asset, pay_amount) = (terms.asset, terms.payment);
        if let Callback::Pay { asset, amount, .. } = &terms.callback {
            let need = if *asset == pay_asset {
                pay_amount.checked_add(*amount)
            } else {
                Some(*amount)
            };
            let have = self.balance(&from, asset);
            if need.is_none_or(|n| have < n) {
                return Err(crate::exec::insufficient(
                    *asset,
                    need.unwrap_or(Amount::MAX),
                    have,
                ));
            }
        }
        self.escrow_in(pay_asset, from, pay_amount)?;
        if let Callback::Pay { asset, amount, .. } = &terms.callback {
            self.escrow_in(*asset, from, *amount)?;
        }
        let meta = self.infer_meta();
        let id = meta.next_request;
        meta.next_request = id.saturating_add(1);
        let deadline = self.height.saturating_add(terms.window);
        self.infer_meta().deadlines.insert((deadline, id));
        events.push(Event::InferenceRequested {
            request: id,
            requester: from,
            mode: terms.mode,
            deadline,
        });
        self.infer.requests.insert(
            id,
            Request {
                id,
                requester: from,
                terms,
                state: RequestState::Open,
                created_at: self.height,
                deadline,
                deliveries: Vec::new(),
                result: None,
            },
        );
        Ok(())
    }

    fn deliver(
        &mut self,
        from: Address,
        id: RequestId,
        output: &Bytes,
        proof: &Bytes,
        now: u64,
        events: &mut Vec<Event>,
    ) -> Result<(), Reject> {
        let mut r = self.request(id)?;
        if r.state == RequestState::Expired || self.height > r.deadline {
            return Err(invalid(format!(
                "late delivery: request {id} took deliveries until block {} and expired \
                 without agreement",
                r.deadline
            )));
        }
        if r.state != RequestState::Open {
            return Err(invalid(format!(
                "request {id} takes no deliveries (it is {:?})",
                r.state
            )));
        }
        if self.provider(&from).is_none() {
            return Err(invalid(format!("{from} is not a registered provider")));
        }
        if self.delivery(id, from).is_some() {
            return Err(invalid(format!(
                "{from} already delivered for request {id}"
            )));
        }
        if r.deliveries.len() >= MAX_DELIVERIES {
            return Err(invalid(format!(
                "request {id} has its {MAX_DELIVERIES} deliveries"
            )));
        }
        r.terms.output.check(output).map_err(invalid)?;
        match r.terms.mode {
            Mode::Redundant => {}
            Mode::Reexec => {
                let bond = self.bond(&from).map_or(0, |b| b.amount);
                if bond < r.terms.min_bond {
                    return Err(invalid(format!(
                        "request {id} needs a bond of {}; {from} holds {bond}",
                        r.terms.min_bond
                    )));
                }
            }
            Mode::Tee => match self.attestation(&from) {
                Some(a) if a.counts_at(now) => {}
                Some(a) => {
                    return Err(invalid(format!(
                        "{from}'s attestation does not count: TCB status {}, valid until {}",
                        a.tcb_status, a.valid_until
                    )));
                }
                None => {
                    return Err(invalid(format!(
                        "{from} has no TEE attestation (BindAttestation first)"
                    )));
                }
            },
            Mode::Zk => {
                if proof.len() > MAX_PROOF {
                    return Err(invalid(format!("proof is over {MAX_PROOF} bytes")));
                }
                let m = self
                    .zk_model(&r.terms.model)
                    .ok_or_else(|| invalid("the request's ZK model is gone"))?;
                let input: Vec<i8> = r.terms.input.iter().map(|b| *b as i8).collect();
                let out: Vec<i8> = output.iter().map(|b| *b as i8).collect();
                verify_zk::verify(&m.verifying_key, &m.commitment.0, &input, &out, proof)
                    .map_err(|e| invalid(format!("proof refused: {e}")))?;
            }
        }
        if r.terms.mode != Mode::Zk && !proof.is_empty() {
            return Err(invalid("only ZK requests take a proof"));
        }
        let d = Delivery {
            request: id,
            provider: from,
            output: output.clone(),
            output_hash: keccak256(output),
            at: self.height,
            reexecuted: None,
        };
        events.push(Event::ResultDelivered {
            request: id,
            provider: from,
            output_hash: d.output_hash,
        });
        self.infer.deliveries.insert((id, from), d);
        r.deliveries.push(from);
        self.try_accept(r, now, events)
    }

    /// Accepts `r` if some delivery has `k` agreeing deliveries (itself included), the first
    /// such in delivery order; stores `r` either way.
    fn try_accept(
        &mut self,
        mut r: Request,
        now: u64,
        events: &mut Vec<Event>,
    ) -> Result<(), Reject> {
        let ds: Vec<Delivery> = r
            .deliveries
            .iter()
            .filter_map(|p| self.delivery(r.id, *p))
            .collect();
        let kind = r.terms.output;
        let found = ds.iter().find_map(|c| {
            let agreeing: Vec<Address> = ds
                .iter()
                .filter(|d| agree(kind, &c.output, &d.output))
                .map(|d| d.provider)
                .collect();
            (agreeing.len() >= usize::from(r.terms.k)).then(|| (c.clone(), agreeing))
        });
        let Some((center, providers)) = found else {
            self.infer.requests.insert(r.id, r);
            return Ok(());
        };
        let reexec = r.terms.mode == Mode::Reexec;
        let payout_at = if reexec {
            self.height.saturating_add(r.terms.challenge_window)
        } else {
            self.height
        };
        let tee_attested = providers
            .iter()
            .all(|p| self.attestation(p).is_some_and(|a| a.counts_at(now)));
        r.result = Some(Accepted {
            output: center.output.clone(),
            output_hash: center.output_hash,
            providers: providers.clone(),
            accepted_at: self.height,
            payout_at,
            tee_attested,
            zk_proved: r.terms.mode == Mode::Zk,
        });
        r.state = RequestState::Accepted;
        let deadline = r.deadline;
        self.infer_meta().deadlines.remove(&(deadline, r.id));
        events.push(Event::InferenceAccepted {
            request: r.id,
            output_hash: center.output_hash,
            providers: providers.clone(),
        });
        self.run_callback(&r, &center.output_hash, events)?;
        if reexec {
            for p in &providers {
                if let Some(mut b) = self.bond(p) {
                    b.locked_until = b.locked_until.max(payout_at);
                    self.infer.bonds.insert(*p, b);
                }
            }
            self.infer_meta().payouts.insert((payout_at, r.id));
            self.infer.requests.insert(r.id, r);
            Ok(())
        } else {
            self.pay_out(r, events)
        }
    }

    /// Pays an accepted request's providers: the payment split equally over the counted
    /// deliveries (the remainder to the first); the share of a delivery a re-execution
    /// refuted goes back to the requester.
    fn pay_out(&mut self, mut r: Request, events: &mut Vec<Event>) -> Result<(), Reject> {
        let Some(result) = &r.result else {
            return Ok(());
        };
        let n = result.providers.len().max(1) as Amount;
        let share = r.terms.payment / n;
        let mut remainder = r.terms.payment - share * n;
        let mut paid: Amount = 0;
        let mut refunded: Amount = 0;
        for p in result.providers.clone() {
            let amount = share + std::mem::take(&mut remainder);
            let refuted = self
                .delivery(r.id, p)
                .is_some_and(|d| matches!(d.reexecuted, Some((_, false))));
            if refuted {
                self.escrow_out(r.terms.asset, r.requester, amount)?;
                refunded += amount;
            } else {
                self.escrow_out(r.terms.asset, p, amount)?;
                paid += amount;
            }
        }
        r.state = RequestState::Settled;
        events.push(Event::InferencePaid {
            request: r.id,
            paid,
            refunded,
        });
        self.infer.requests.insert(r.id, r);
        Ok(())
    }

    fn run_callback(
        &mut self,
        r: &Request,
        output_hash: &B256,
        events: &mut Vec<Event>,
    ) -> Result<(), Reject> {
        match &r.terms.callback {
            Callback::None => Ok(()),
            Callback::Pay {
                to,
                asset,
                amount,
                if_output_hash,
            } => {
                let payee = if if_output_hash == output_hash {
                    *to
                } else {
                    r.requester
                };
                self.escrow_out(*asset, payee, *amount)?;
                events.push(Event::CallbackPaid {
                    request: r.id,
                    to: payee,
                    amount: *amount,
                });
                Ok(())
            }
            Callback::Validate {
                request_hash,
                if_output_hash,
            } => {
                let score = if if_output_hash == output_hash {
                    MAX_RESPONSE
                } else {
                    0
                };
                let Some(v) = self.validation(request_hash).cloned() else {
                    return Ok(());
                };
                self.respond_validation(v, score, *output_hash, "verified-inference", events);
                Ok(())
            }
        }
    }

    fn respond_validation(
        &mut self,
        mut v: Validation,
        score: u8,
        response_hash: B256,
        tag: &str,
        events: &mut Vec<Event>,
    ) {
        v.response = Some(score);
        v.response_hash = response_hash;
        v.tag = tag.into();
        v.last_update = self.height;
        events.push(Event::ValidationResponded {
            request_hash: v.request_hash,
            agent_id: v.agent_id,
            validator: v.validator,
            response: score,
            tag: tag.into(),
        });
        self.registry.validations.insert(v.request_hash, v);
    }

    fn reexecute(
        &mut self,
        from: Address,
        id: RequestId,
        provider: Address,
        output: &Bytes,
        events: &mut Vec<Event>,
    ) -> Result<(), Reject> {
        let r = self.request(id)?;
        if r.terms.mode != Mode::Reexec {
            return Err(invalid(format!("request {id} is not re-executed")));
        }
        let subnet = self.subnet(r.terms.netuid)?;
        let permitted = subnet
            .uid_of(&from)
            .and_then(|uid| subnet.neurons.get(usize::from(uid)))
            .is_some_and(|n| n.validator_permit);
        if !permitted {
            return Err(invalid(format!(
                "{from} has no validator permit on subnet {}",
                r.terms.netuid
            )));
        }
        let Some(result) = r
            .result
            .as_ref()
            .filter(|_| r.state == RequestState::Accepted)
        else {
            return Err(invalid(format!(
                "request {id} is not in its challenge window (it is {:?})",
                r.state
            )));
        };
        if !result.providers.contains(&provider) {
            return Err(invalid(format!(
                "{provider} has no counted delivery on request {id}"
            )));
        }
        r.terms.output.check(output).map_err(invalid)?;
        let mut d = self
            .delivery(id, provider)
            .ok_or_else(|| invalid(format!("{provider} has no delivery on request {id}")))?;
        if d.reexecuted.is_some() {
            return Err(invalid(format!(
                "{provider}'s delivery on request {id} was already re-executed"
            )));
        }
        let agreed = agree(r.terms.output, &d.output, output);
        d.reexecuted = Some((from, agreed));
        self.infer.deliveries.insert((id, provider), d);
        let mut bond = self.bond(&provider).unwrap_or_default();
        let request_hash = reexec_validation_hash(id, &provider);
        let v = Validation {
            request_hash,
            validator: from,
            agent_id: bond.agent_id,
            request_uri: format!("symbiont:infer/{id}"),
            response: None,
            response_uri: String::new(),
            response_hash: B256::ZERO,
            tag: String::new(),
            last_update: self.height,
        };
        events.push(Event::ValidationRequested {
            request_hash,
            agent_id: bond.agent_id,
            validator: from,
        });
        let score = if agreed { MAX_RESPONSE } else { 0 };
        self.respond_validation(v, score, keccak256(output), "reexec", events);
        events.push(Event::Reexecuted {
            request: id,
            provider,
            validator: from,
            agreed,
        });
        if agreed {
            return Ok(());
        }
        // Slash: half to the validator, the rest burned.
        let slash = bond.amount.min(r.terms.min_bond);
        let reward = slash / 2;
        let burn = slash - reward;
        self.escrow_out(NATIVE, from, reward)?;
        self.escrow_burn(burn)?;
        bond.amount -= slash;
        bond.slashed = bond.slashed.saturating_add(slash);
        self.infer.bonds.insert(provider, bond);
        events.push(Event::BondSlashed {
            provider,
            amount: slash,
            to_validator: reward,
        });
        Ok(())
    }

    /// The block's inference work: requests past their deadline expire (refunded), and
    /// re-executed requests whose challenge window ended are paid.
    pub(crate) fn infer_begin_block(&mut self) {
        let h = self.height;
        let Some(meta) = self.peek_infer_meta() else {
            return;
        };
        let expired: Vec<(u64, RequestId)> = meta.deadlines.range(..(h, 0)).copied().collect();
        let due: Vec<(u64, RequestId)> = meta.payouts.range(..=(h, u64::MAX)).copied().collect();
        let mut sink = Vec::new();
        for key in expired {
            self.infer_meta().deadlines.remove(&key);
            let Ok(mut r) = self.request(key.1) else {
                continue;
            };
            if r.state != RequestState::Open {
                continue;
            }
            let refund = |ov: &mut Self, asset, amount| ov.escrow_out(asset, r.requester, amount);
            let _ = refund(self, r.terms.asset, r.terms.payment);
            if let Callback::Pay { asset, amount, .. } = r.terms.callback {
                let _ = refund(self, asset, amount);
            }
            r.state = RequestState::Expired;
            sink.push(Event::InferenceExpired { request: r.id });
            self.infer.requests.insert(r.id, r);
        }
        for key in due {
            self.infer_meta().payouts.remove(&key);
            let Ok(r) = self.request(key.1) else { continue };
            if r.state == RequestState::Accepted {
                let _ = self.pay_out(r, &mut sink);
            }
        }
    }
}
