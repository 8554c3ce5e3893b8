//! The backend behind `x402_facilitator::Service`, as the facilitator's HTTP API serves it:
//! `/supported` lists the chain and the relayer, v2 and v1 requests verify and settle.

use std::sync::Arc;

use alloy_primitives::U256;
use serde_json::json;
use test_utils::evm::AnvilOptions;
use x402_facilitator::Service;
use x402_types::{VerifyRequest, v1};

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_serves_v2_and_v1_on_base_sepolia_ids() {
    // Chain id 84532 has the v1 name `base-sepolia`.
    let chain = Chain::start_with(AnvilOptions {
        chain_id: Some(84532),
        ..AnvilOptions::default()
    })
    .await;
    let service = Service::new().with(Arc::new(chain.backend().await));

    let supported = serde_json::to_value(service.supported()).unwrap();
    assert_eq!(
        supported["kinds"],
        json!([
            {"x402Version": 2, "scheme": "exact", "network": "eip155:84532"},
            {"x402Version": 1, "scheme": "exact", "network": "base-sepolia"},
        ])
    );
    assert_eq!(
        supported["signers"]["eip155:*"],
        json!([addr(RELAYER).to_checksum(None)])
    );

    // v2.
    let p = chain.pay(1);
    let request = VerifyRequest::new_v2(&p.payload, &p.requirements).unwrap();
    assert!(service.verify(&request).await.is_valid);
    let settled = service.settle(&request).await;
    assert_settled(&settled);
    assert_eq!(settled.network, "eip155:84532");

    // v1: the same kind of payment under the v1 shapes and network name.
    let req = chain.requirements();
    let exact = chain.pay(2).payload.exact_evm().unwrap();
    let v1_req = v1::PaymentRequirements {
        scheme: "exact".into(),
        network: "base-sepolia".into(),
        max_amount_required: req.amount,
        asset: req.asset.clone(),
        pay_to: req.pay_to.clone(),
        resource: "http://127.0.0.1/paid".into(),
        description: String::new(),
        mime_type: String::new(),
        output_schema: None,
        max_timeout_seconds: 60,
        extra: Some(req.extra.clone()),
    };
    let v1_payload = v1::PaymentPayload {
        x402_version: 1,
        scheme: "exact".into(),
        network: "base-sepolia".into(),
        payload: serde_json::to_value(&exact).unwrap(),
    };
    let request = VerifyRequest::new_v1(&v1_payload, &v1_req).unwrap();
    assert!(service.verify(&request).await.is_valid);
    let settled = service.settle(&request).await;
    assert_settled(&settled);
    assert_eq!(settled.network, "base-sepolia");
    // Replayed over v1: the v1 reason name.
    let again = serde_json::to_value(service.settle(&request).await).unwrap();
    assert_eq!(again["success"], false);
    assert_eq!(again["errorReason"], "invalid_exact_evm_nonce_already_used");

    let paid = U256::from(2 * PRICE);
    assert_eq!(chain.balances().await, [U256::from(MINTED) - paid, paid]);
}
