//! Shared fixtures: a dev node, its Devnet USD, prices and signed payments.

use std::{sync::Arc, time::Duration};

use alloy_primitives::{Address, B256, Bytes};
use alloy_sol_types::Eip712Domain;
use ledger::{Asset, genesis::DEV_USD_NAME};
use node::{config::NodeConfig, server::RunningNode};
use serde_json::{Value, json};
use wallet::PrivateKey;
use x402_client::{Client, SpendControls};
use x402_types::{
    Network, TokenAmount,
    exact::{self, Authorization, ExactEvmPayload},
    header as codec,
    v2::{self, Extra, PaymentRequirements},
};

/// 0.01 Devnet USD.
pub const PRICE: u64 = 10_000;

pub fn dev(i: u32) -> PrivateKey {
    node::dev::dev_key(i).unwrap()
}

/// The dev chain's Devnet USD.
pub fn usd() -> Address {
    Asset::derive_id(dev(0).address(), DEV_USD_NAME)
}

pub fn network() -> Network {
    Network::eip155(node::dev::DEV_CHAIN_ID)
}

/// `amount` of Devnet USD to dev key 5.
pub fn price(amount: u64) -> PaymentRequirements {
    PaymentRequirements {
        scheme: "exact".into(),
        network: network(),
        amount: TokenAmount::from(amount),
        asset: usd().to_checksum(None),
        pay_to: dev(5).address().to_checksum(None),
        max_timeout_seconds: 60,
        extra: Extra::eip712(DEV_USD_NAME, "1"),
    }
}

/// A dev node (100 ms blocks) in a temporary directory.
pub struct DevNode {
    pub node: RunningNode,
    pub url: String,
    _dir: tempfile::TempDir,
}

pub async fn start_node() -> DevNode {
    let dir = tempfile::tempdir().unwrap();
    let mut c = NodeConfig::new(dir.path().to_path_buf());
    c.listen = "127.0.0.1:0".parse().unwrap();
    c.block_time = Duration::from_millis(100);
    c.dev = true;
    let node = node::server::start(&c).await.unwrap();
    DevNode {
        url: format!("http://{}", node.addr),
        node,
        _dir: dir,
    }
}

impl DevNode {
    /// `a`'s Devnet USD balance, read over the API.
    pub async fn usd_balance(&self, a: Address) -> u128 {
        let v: Value = reqwest::get(format!("{}/v1/accounts/{a}", self.url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let key = format!("{:#x}", usd());
        v["balances"]
            .as_object()
            .unwrap()
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(&key))
            .map_or(0, |(_, b)| b.as_str().unwrap().parse().unwrap())
    }
}

pub fn client(i: u32, controls: SpendControls) -> Client {
    Client::new(Arc::new(dev(i)), controls)
}

/// The authorization dev key 1 would sign for `req`: its price, to its payee, valid for a
/// minute, with `nonce`.
pub fn authorization(req: &PaymentRequirements, nonce: u8) -> Authorization {
    Authorization {
        from: dev(1).address(),
        to: req.pay_to.parse().unwrap(),
        value: req.amount,
        valid_after: TokenAmount::from(0u64),
        valid_before: TokenAmount::from(node::app::now_secs() + 60),
        nonce: B256::repeat_byte(nonce),
    }
}

/// A payload accepting `accepted` with `auth` signed by `signer` under `domain`.
pub fn signed(
    accepted: &PaymentRequirements,
    auth: Authorization,
    signer: &PrivateKey,
    domain: &Eip712Domain,
) -> v2::PaymentPayload {
    let sig = signer.sign_hash(&auth.signing_hash(domain)).unwrap();
    v2::PaymentPayload::new(
        accepted,
        None,
        &ExactEvmPayload {
            signature: Bytes::copy_from_slice(&sig.to_bytes()),
            authorization: auth,
        },
    )
    .unwrap()
}

/// A v2 payment header for `req` by dev key 1 with `nonce`, optionally with a payment id.
pub fn payment_header(req: &PaymentRequirements, nonce: u8, id: Option<&str>) -> String {
    let domain = exact::domain_for(req).unwrap();
    let mut p = signed(req, authorization(req, nonce), &dev(1), &domain);
    if let Some(id) = id {
        p.extensions = Some(
            json!({"payment-identifier": {"info": {"required": false, "id": id}}})
                .as_object()
                .unwrap()
                .clone(),
        );
    }
    codec::encode_payment_signature(&p).unwrap()
}
