//! Every negative case of issue 4 §5 on a real EVM chain: each answers its canonical reason
//! from `/verify` and `/settle`, sends no transaction and moves no funds.

use alloy_primitives::{Address, B256, Bytes, U256};
use x402_evm::EvmBackend;
use x402_facilitator::Payment;
use x402_types::TokenAmount;

use crate::common::*;

/// `payment` is refused with `reason` by verify and by settle, and nothing moves.
async fn assert_refused(chain: &Chain, backend: &EvmBackend, payment: &Payment, reason: &str) {
    let before = chain.balances().await;
    let nonce = chain.relayer_nonce().await;
    let verdict = backend.verify_payment(payment).await;
    assert_invalid(&verdict, reason);
    let settled = backend.settle_payment(payment).await;
    assert_failed(&settled, reason);
    assert_eq!(
        settled.transaction, "",
        "no transaction for a refused payment"
    );
    assert_eq!(
        settled.network,
        format!("eip155:{}", chain.anvil.chain_id())
    );
    assert_eq!(chain.balances().await, before, "funds moved");
    assert_eq!(
        chain.relayer_nonce().await,
        nonce,
        "the relayer sent a transaction"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_amount() {
    let chain = Chain::start().await;
    let backend = chain.backend().await;
    let req = chain.requirements();
    for value in [PRICE - 1, PRICE + 1] {
        let p = chain.pay_for(&req, |a| a.value = TokenAmount::from(value));
        assert_refused(
            &chain,
            &backend,
            &p,
            "invalid_exact_evm_authorization_value",
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_payee() {
    let chain = Chain::start().await;
    let backend = chain.backend().await;
    let p = chain.pay_for(&chain.requirements(), |a| a.to = addr(POOR));
    assert_refused(&chain, &backend, &p, "invalid_exact_evm_recipient_mismatch").await;
    let verdict = backend.verify_payment(&p).await;
    assert_eq!(verdict.payer, Some(addr(PAYER).to_checksum(None)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired() {
    let chain = Chain::start().await;
    let backend = chain.backend().await;
    let req = chain.requirements();
    // validBefore must leave the reference's 6 s block-time buffer.
    for before in [now() - 10, now() + 3] {
        let p = chain.pay_for(&req, |a| a.valid_before = TokenAmount::from(before));
        let reason = "invalid_exact_evm_payload_authorization_valid_before";
        assert_refused(&chain, &backend, &p, reason).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_yet_valid() {
    let chain = Chain::start().await;
    let backend = chain.backend().await;
    let p = chain.pay_for(&chain.requirements(), |a| {
        a.valid_after = TokenAmount::from(now() + 3600);
    });
    let reason = "invalid_exact_evm_payload_authorization_valid_after";
    assert_refused(&chain, &backend, &p, reason).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_signature() {
    let chain = Chain::start().await;
    let backend = chain.backend().await;
    let req = chain.requirements();
    // Signed by someone else.
    let forged = sign(&req, authorization(&req), &key(POOR), NAME, VERSION);
    let p = payment(&req, forged);
    assert_refused(&chain, &backend, &p, "invalid_exact_evm_signature").await;
    // A flipped bit in r, and a truncated signature.
    let mut exact = sign(&req, authorization(&req), &key(PAYER), NAME, VERSION);
    let mut bytes = exact.signature.to_vec();
    bytes[3] ^= 1;
    exact.signature = Bytes::from(bytes);
    let p = payment(&req, exact.clone());
    assert_refused(&chain, &backend, &p, "invalid_exact_evm_signature").await;
    exact.signature = exact.signature.slice(..64);
    let p = payment(&req, exact);
    assert_refused(&chain, &backend, &p, "invalid_exact_evm_signature").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_eip712_domain_name() {
    let chain = Chain::start().await;
    let backend = chain.backend().await;
    // The client signs under the name the requirements give, which is not the token's
    // (Base Sepolia USDC is "USDC", mainnet "USD Coin": research/x402.md §2.1).
    let mut req = chain.requirements();
    req.extra.name = Some("USDC".into());
    let p = chain.pay_for(&req, |_| {});
    assert_refused(
        &chain,
        &backend,
        &p,
        "invalid_exact_evm_token_name_mismatch",
    )
    .await;
    // Same for the version.
    let mut req = chain.requirements();
    req.extra.version = Some("1".into());
    let p = chain.pay_for(&req, |_| {});
    assert_refused(
        &chain,
        &backend,
        &p,
        "invalid_exact_evm_token_version_mismatch",
    )
    .await;
    // Right requirements, but the client signed under another name.
    let req = chain.requirements();
    let p = payment(
        &req,
        sign(&req, authorization(&req), &key(PAYER), "USDC", VERSION),
    );
    assert_refused(&chain, &backend, &p, "invalid_exact_evm_signature").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_nonce() {
    let chain = Chain::start().await;
    let backend = chain.backend().await;
    let first = chain.pay(7);
    assert_settled(&backend.settle_payment(&first).await);
    let paid = chain.balances().await;
    // The same authorization again, and a new one reusing its nonce.
    assert_refused(
        &chain,
        &backend,
        &first,
        "invalid_exact_evm_nonce_already_used",
    )
    .await;
    let req = chain.requirements();
    let again = chain.pay_for(&req, |a| {
        a.nonce = B256::repeat_byte(7);
        a.valid_before = TokenAmount::from(now() + 900);
    });
    assert_refused(
        &chain,
        &backend,
        &again,
        "invalid_exact_evm_nonce_already_used",
    )
    .await;
    assert_eq!(chain.balances().await, paid);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insufficient_balance() {
    let chain = Chain::start().await;
    let backend = chain.backend().await;
    let req = chain.requirements();
    let mut auth = authorization(&req);
    auth.from = addr(POOR);
    let p = payment(&req, sign(&req, auth, &key(POOR), NAME, VERSION));
    assert_refused(
        &chain,
        &backend,
        &p,
        "invalid_exact_evm_insufficient_balance",
    )
    .await;
    // More than the payer holds.
    let mut req = chain.requirements();
    req.amount = TokenAmount::from(MINTED + 1);
    let p = chain.pay_for(&req, |_| {});
    assert_refused(
        &chain,
        &backend,
        &p,
        "invalid_exact_evm_insufficient_balance",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asset_without_code_or_without_eip3009() {
    let chain = Chain::start().await;
    let backend = chain.backend().await;
    let mut req = chain.requirements();
    req.asset = Address::repeat_byte(0x77).to_checksum(None);
    let p = chain.pay_for(&req, |_| {});
    assert_refused(&chain, &backend, &p, "asset_not_deployed_contract").await;
    // A contract that is not an EIP-3009 token: its runtime code is a lone STOP, so every
    // call succeeds with no return data.
    let creation = [
        0x60, 0x01, 0x60, 0x0c, 0x60, 0x00, 0x39, // CODECOPY(0, 12, 1)
        0x60, 0x01, 0x60, 0x00, 0xf3, // RETURN(0, 1)
        0x00, // runtime: STOP
    ];
    let tx = alloy::rpc::types::TransactionRequest::default()
        .from(addr(OWNER))
        .input(Bytes::copy_from_slice(&creation).into());
    let stop = chain.transact(tx).await.contract_address.unwrap();
    req.asset = stop.to_checksum(None);
    let p = chain.pay_for(&req, |_| {});
    assert_refused(
        &chain,
        &backend,
        &p,
        "invalid_exact_evm_eip3009_not_supported",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulation_revert_is_reported_with_its_message() {
    let chain = Chain::start().await;
    let backend = chain.backend().await;
    // Everything verify_exact checks passes, but the token refuses transfers to address 0.
    let mut req = chain.requirements();
    req.pay_to = Address::ZERO.to_checksum(None);
    let p = chain.pay_for(&req, |_| {});
    let reason = "invalid_exact_evm_transaction_simulation_failed";
    assert_refused(&chain, &backend, &p, reason).await;
    let verdict = backend.verify_payment(&p).await;
    let message = verdict.invalid_message.unwrap();
    assert!(
        message.contains("ERC20: transfer to the zero address"),
        "{message}"
    );
    assert_eq!(chain.balance(PAYER).await, U256::from(MINTED));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chain_clock_counts_when_it_runs_ahead_of_the_wall_clock() {
    let chain = Chain::start().await;
    let backend = chain.backend().await;
    // Valid for ten minutes by the wall clock, but the chain is an hour ahead: it could only
    // be included expired, and the answer is the specific reason, not a failed simulation.
    let p = chain.pay(9);
    assert!(backend.verify_payment(&p).await.is_valid);
    chain
        .anvil
        .rpc("evm_increaseTime", serde_json::json!([3600]))
        .unwrap();
    chain.anvil.mine().unwrap();
    let reason = "invalid_exact_evm_payload_authorization_valid_before";
    assert_refused(&chain, &backend, &p, reason).await;
}
