//! Settlement on a real chain: balances move exactly once; concurrent settles of one
//! authorization give one success; a slow chain answers `settlement_pending` with the hash
//! and the payment lands once mined; the relayer nonce stays right.

use std::{sync::Arc, time::Duration};

use alloy::{providers::Provider, rpc::types::TransactionRequest};
use alloy_primitives::{Bytes, U256};
use futures_util::future::join_all;
use test_utils::evm::AnvilOptions;
use x402_facilitator::Backend;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn happy_path_moves_the_balances_exactly_once() {
    let chain = Chain::start().await;
    let backend = chain.backend().await;
    assert_eq!(backend.network().to_string(), "eip155:31337");
    assert_eq!(backend.signer(), addr(RELAYER));
    let before = chain.balances().await;
    assert_eq!(before, [U256::from(MINTED), U256::ZERO]);

    let p = chain.pay(1);
    let verdict = backend.verify(&p).await;
    assert!(verdict.is_valid, "{verdict:?}");
    assert_eq!(verdict.payer, Some(addr(PAYER).to_checksum(None)));
    let settled = backend.settle(&p).await;
    let hash = assert_settled(&settled);
    assert_eq!(settled.network, "eip155:31337");

    let receipt = chain
        .provider
        .get_transaction_receipt(hash)
        .await
        .unwrap()
        .unwrap();
    assert!(receipt.status());
    assert_eq!(receipt.from, addr(RELAYER), "the relayer pays the gas");
    assert_eq!(receipt.to, Some(chain.token));
    let price = U256::from(PRICE);
    assert_eq!(
        chain.balances().await,
        [before[0] - price, before[1] + price]
    );

    // Settling it again pays nothing more.
    assert_failed(
        &backend.settle(&p).await,
        "invalid_exact_evm_nonce_already_used",
    );
    assert_invalid(
        &backend.verify(&p).await,
        "invalid_exact_evm_nonce_already_used",
    );
    assert_eq!(
        chain.balances().await,
        [before[0] - price, before[1] + price]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_concurrent_settles_of_one_authorization_pay_once() {
    let chain = Chain::start().await;
    let backend = Arc::new(chain.backend().await);
    let p = chain.pay(2);
    let answers = join_all((0..5).map(|_| {
        let (backend, p) = (backend.clone(), p.clone());
        tokio::spawn(async move { backend.settle_payment(&p).await })
    }))
    .await;
    let answers: Vec<_> = answers.into_iter().map(Result::unwrap).collect();
    let wins: Vec<_> = answers.iter().filter(|a| a.success).collect();
    assert_eq!(wins.len(), 1, "{answers:#?}");
    for lost in answers.iter().filter(|a| !a.success) {
        assert_failed(lost, "invalid_exact_evm_nonce_already_used");
    }
    let price = U256::from(PRICE);
    assert_eq!(chain.balances().await, [U256::from(MINTED) - price, price]);
    assert_eq!(chain.relayer_nonce().await, 1, "one transaction sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_inclusion_answers_pending_with_the_hash_and_pays_once_when_mined() {
    let chain = Chain::start_with(AnvilOptions::no_mining()).await;
    let backend = chain.backend_with_timeout(Duration::from_millis(400)).await;
    let p = chain.pay(3);

    let first = backend.settle(&p).await;
    assert_failed(&first, "settlement_pending");
    let hash: alloy_primitives::B256 = first.transaction.parse().unwrap();
    assert_eq!(first.payer, Some(addr(PAYER).to_checksum(None)));
    assert_eq!(chain.balances().await, [U256::from(MINTED), U256::ZERO]);

    // Asked again while it is pending: the same hash, no second transaction.
    let again = backend.settle(&p).await;
    assert_failed(&again, "settlement_pending");
    assert_eq!(again.transaction, first.transaction);
    let pending = chain
        .provider
        .get_transaction_count(addr(RELAYER))
        .pending()
        .await
        .unwrap();
    assert_eq!(pending, 1, "one transaction in the pool");

    chain.anvil.mine().unwrap();
    let receipt = chain
        .provider
        .get_transaction_receipt(hash)
        .await
        .unwrap()
        .unwrap();
    assert!(receipt.status());
    let price = U256::from(PRICE);
    assert_eq!(chain.balances().await, [U256::from(MINTED) - price, price]);

    // Once included, the authorization is spent.
    assert_failed(
        &backend.settle(&p).await,
        "invalid_exact_evm_nonce_already_used",
    );
    chain.anvil.mine().unwrap();
    assert_eq!(chain.balances().await, [U256::from(MINTED) - price, price]);
    assert_eq!(chain.relayer_nonce().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interval_mining_settles_within_the_timeout() {
    let chain = Chain::start_with(AnvilOptions::block_time(1)).await;
    let backend = chain.backend_with_timeout(Duration::from_secs(10)).await;
    assert_settled(&backend.settle(&chain.pay(4)).await);
    assert_eq!(chain.balance(PAYEE).await, U256::from(PRICE));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relayer_nonce_stays_right_over_sequential_and_concurrent_settlements() {
    let chain = Chain::start().await;
    let backend = Arc::new(chain.backend().await);
    for n in 10..13 {
        assert_settled(&backend.settle(&chain.pay(n)).await);
    }
    assert_eq!(chain.relayer_nonce().await, 3);

    // Five different authorizations at once: five consecutive nonces.
    let answers = join_all((20..25).map(|n| {
        let (backend, p) = (backend.clone(), chain.pay(n));
        tokio::spawn(async move { backend.settle_payment(&p).await })
    }))
    .await;
    for a in answers {
        assert_settled(&a.unwrap());
    }
    assert_eq!(chain.relayer_nonce().await, 8);

    // The relayer account is used behind the backend's back: its local nonce is stale, the
    // node refuses it, the backend resynchronises and the settlement still goes through.
    let external = TransactionRequest::default()
        .from(addr(RELAYER))
        .to(addr(OWNER))
        .value(U256::from(1));
    chain.transact(external).await;
    assert_eq!(chain.relayer_nonce().await, 9);
    assert_settled(&backend.settle(&chain.pay(30)).await);
    assert_eq!(chain.relayer_nonce().await, 10);

    let paid = U256::from(PRICE * 9);
    assert_eq!(chain.balances().await, [U256::from(MINTED) - paid, paid]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_pending_transaction_is_sent_again() {
    let chain = Chain::start_with(AnvilOptions::no_mining()).await;
    let backend = chain.backend_with_timeout(Duration::from_millis(300)).await;
    let p = chain.pay(5);
    let first = backend.settle(&p).await;
    assert_failed(&first, "settlement_pending");
    chain
        .anvil
        .rpc(
            "anvil_dropTransaction",
            serde_json::json!([first.transaction]),
        )
        .unwrap();

    let hash = first.transaction.parse().unwrap();
    let in_pool = || async { chain.provider.get_transaction_by_hash(hash).await.unwrap() };
    assert!(in_pool().await.is_none());

    // The pool lost it: the next settlement sends it again with the same relayer nonce (no
    // gap) — byte for byte the same transaction here, so the same hash — and it pays once
    // mined.
    let second = backend.settle(&p).await;
    assert_failed(&second, "settlement_pending");
    assert!(in_pool().await.is_some(), "sent again");
    let hash = second.transaction.parse().unwrap();
    chain.anvil.mine().unwrap();
    let receipt = chain
        .provider
        .get_transaction_receipt(hash)
        .await
        .unwrap()
        .unwrap();
    assert!(receipt.status());
    assert_eq!(chain.relayer_nonce().await, 1);
    assert_eq!(chain.balance(PAYEE).await, U256::from(PRICE));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_reverted_on_chain_answers_transaction_failed() {
    let chain = Chain::start_with(AnvilOptions::no_mining()).await;
    let backend = Arc::new(chain.backend_with_timeout(Duration::from_secs(20)).await);
    let p = chain.pay(6);
    let settling = tokio::spawn({
        let (backend, p) = (backend.clone(), p.clone());
        async move { backend.settle_payment(&p).await }
    });
    // Once the relayer's transaction waits in the pool, someone else submits the same
    // authorization with a higher tip: it is ordered first and the relayer's reverts.
    let pool = || async {
        chain
            .provider
            .get_transaction_count(addr(RELAYER))
            .pending()
            .await
            .unwrap()
    };
    while pool().await == 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let exact = p.payload.exact_evm().unwrap();
    let a = &exact.authorization;
    let front_run = x402_evm::token::IEip3009::transferWithAuthorization_1Call {
        from: a.from,
        to: a.to,
        value: a.value.0,
        validAfter: a.valid_after.0,
        validBefore: a.valid_before.0,
        nonce: a.nonce,
        signature: exact.signature.clone(),
    };
    let tx = TransactionRequest::default()
        .from(addr(OWNER))
        .to(chain.token)
        .input(Bytes::from(alloy_sol_types::SolCall::abi_encode(&front_run)).into())
        .max_priority_fee_per_gas(50_000_000_000)
        .max_fee_per_gas(100_000_000_000);
    chain.transact(tx).await; // mines the block holding both

    let answer = settling.await.unwrap();
    assert_failed(&answer, "invalid_exact_evm_transaction_failed");
    let hash: alloy_primitives::B256 = answer.transaction.parse().unwrap();
    let receipt = chain
        .provider
        .get_transaction_receipt(hash)
        .await
        .unwrap()
        .unwrap();
    assert!(!receipt.status(), "the relayer's transaction reverted");
    assert_eq!(
        chain.balance(PAYEE).await,
        U256::from(PRICE),
        "paid once, by the front-runner"
    );
}
