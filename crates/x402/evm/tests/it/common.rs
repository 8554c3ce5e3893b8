//! Fixtures: an anvil with the token deployed and minted to the payer, keys, requirements,
//! signed payments, balance reads.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use alloy::{
    providers::{Provider, RootProvider},
    rpc::types::{TransactionReceipt, TransactionRequest},
};
use alloy_primitives::{Address, B256, Bytes, U256, hex};
use alloy_sol_types::{SolCall, SolConstructor, sol};
use test_utils::evm::{Anvil, AnvilOptions, DEV_KEYS};
use wallet::PrivateKey;
use x402_evm::{EvmBackend, EvmConfig};
use x402_facilitator::Payment;
use x402_types::{
    Network, SettleResponse, TokenAmount, VerifyResponse,
    exact::{self, Authorization, ExactEvmPayload},
    v2::{Extra, PaymentPayload, PaymentRequirements},
};

pub const NAME: &str = "USD Coin";
pub const VERSION: &str = "2";
pub const PRICE: u64 = 10_000;
pub const MINTED: u64 = 1_000_000_000;

/// Dev key roles: 0 deploys and mints; 1 pays; 2 is paid; 3 holds no tokens; 9 relays.
pub const OWNER: usize = 0;
pub const PAYER: usize = 1;
pub const PAYEE: usize = 2;
pub const POOR: usize = 3;
pub const RELAYER: usize = 9;

sol! {
    contract Eip3009Token {
        constructor(string name_, string version_, uint8 decimals_);
        function mint(address to, uint256 value) external;
        function balanceOf(address account) external view returns (uint256);
    }
}

pub fn key(i: usize) -> PrivateKey {
    PrivateKey::from_hex(DEV_KEYS[i]).unwrap()
}

pub fn addr(i: usize) -> Address {
    key(i).address()
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// An anvil with the token deployed by key 0 and `MINTED` minted to the payer.
pub struct Chain {
    pub anvil: Anvil,
    pub provider: RootProvider,
    pub token: Address,
}

impl Chain {
    pub async fn start() -> Chain {
        Self::start_with(AnvilOptions::default()).await
    }

    pub async fn start_with(options: AnvilOptions) -> Chain {
        let anvil = Anvil::spawn(options).unwrap();
        let provider = RootProvider::new_http(anvil.url().parse().unwrap());
        let mut chain = Chain {
            anvil,
            provider,
            token: Address::ZERO,
        };
        let path = test_utils::repo_root().join("interop/evm/Eip3009Token.json");
        let artifact: serde_json::Value =
            serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let mut code = hex::decode(artifact["bytecode"].as_str().unwrap()).unwrap();
        code.extend(
            Eip3009Token::constructorCall {
                name_: NAME.into(),
                version_: VERSION.into(),
                decimals_: 6,
            }
            .abi_encode(),
        );
        let deploy = TransactionRequest::default()
            .from(addr(OWNER))
            .input(Bytes::from(code).into());
        let receipt = chain.transact(deploy).await;
        chain.token = receipt.contract_address.unwrap();
        let mint = Eip3009Token::mintCall {
            to: addr(PAYER),
            value: U256::from(MINTED),
        };
        chain.call_as(OWNER, mint).await;
        chain
    }

    /// Sends a transaction from an (unlocked) dev account and returns its successful receipt,
    /// mining a block if the node does not.
    pub async fn transact(&self, tx: TransactionRequest) -> TransactionReceipt {
        let pending = self.provider.send_transaction(tx).await.unwrap();
        let hash = *pending.tx_hash();
        for _ in 0..100 {
            if let Some(r) = self.provider.get_transaction_receipt(hash).await.unwrap() {
                assert!(r.status(), "setup transaction reverted");
                return r;
            }
            self.anvil.mine().unwrap();
        }
        panic!("setup transaction {hash} not mined");
    }

    pub async fn call_as(&self, who: usize, call: impl SolCall) -> TransactionReceipt {
        let tx = TransactionRequest::default()
            .from(addr(who))
            .to(self.token)
            .input(Bytes::from(call.abi_encode()).into());
        self.transact(tx).await
    }

    pub async fn balance(&self, who: usize) -> U256 {
        let call = Eip3009Token::balanceOfCall { account: addr(who) };
        let tx = TransactionRequest::default()
            .to(self.token)
            .input(Bytes::from(call.abi_encode()).into());
        let out = self.provider.call(tx).latest().await.unwrap();
        Eip3009Token::balanceOfCall::abi_decode_returns(&out).unwrap()
    }

    /// `[payer, payee]` token balances.
    pub async fn balances(&self) -> [U256; 2] {
        [self.balance(PAYER).await, self.balance(PAYEE).await]
    }

    /// The relayer's mined transaction count.
    pub async fn relayer_nonce(&self) -> u64 {
        self.provider
            .get_transaction_count(addr(RELAYER))
            .latest()
            .await
            .unwrap()
    }

    pub fn config(&self) -> EvmConfig {
        EvmConfig {
            poll_interval_ms: 20,
            ..EvmConfig::new(Network::eip155(self.anvil.chain_id()), self.anvil.url())
        }
    }

    pub async fn backend(&self) -> EvmBackend {
        EvmBackend::connect(self.config(), key(RELAYER))
            .await
            .unwrap()
    }

    pub async fn backend_with_timeout(&self, timeout: Duration) -> EvmBackend {
        let config = self.config().with_receipt_timeout(timeout);
        EvmBackend::connect(config, key(RELAYER)).await.unwrap()
    }

    pub fn requirements(&self) -> PaymentRequirements {
        PaymentRequirements {
            scheme: "exact".into(),
            network: Network::eip155(self.anvil.chain_id()),
            amount: TokenAmount::from(PRICE),
            asset: self.token.to_checksum(None),
            pay_to: addr(PAYEE).to_checksum(None),
            max_timeout_seconds: 60,
            extra: Extra::eip712(NAME, VERSION),
        }
    }

    /// A payment by the payer for the standard requirements with a fresh `nonce`.
    pub fn pay(&self, nonce: u8) -> Payment {
        let req = self.requirements();
        self.pay_for(&req, |a| a.nonce = B256::repeat_byte(nonce))
    }

    /// A payment for `req` by the payer, its authorization changed by `tweak`, signed under
    /// the domain `req` names.
    pub fn pay_for(
        &self,
        req: &PaymentRequirements,
        tweak: impl FnOnce(&mut Authorization),
    ) -> Payment {
        let mut auth = authorization(req);
        tweak(&mut auth);
        let name = req.extra.name.clone().unwrap();
        let version = req.extra.version.clone().unwrap();
        payment(req, sign(req, auth, &key(PAYER), &name, &version))
    }
}

/// What the payer would sign for `req`: valid from a minute ago for ten minutes.
pub fn authorization(req: &PaymentRequirements) -> Authorization {
    let now = now();
    Authorization {
        from: addr(PAYER),
        to: req.pay_to.parse().unwrap(),
        value: req.amount,
        valid_after: TokenAmount::from(now - 60),
        valid_before: TokenAmount::from(now + 600),
        nonce: B256::repeat_byte(0x42),
    }
}

/// Signs `auth` with `signer` under `{name, version, chain of req, req.asset}`.
pub fn sign(
    req: &PaymentRequirements,
    auth: Authorization,
    signer: &PrivateKey,
    name: &str,
    version: &str,
) -> ExactEvmPayload {
    let chain_id = req.network.chain_id().unwrap();
    let domain = exact::domain(name, version, chain_id, req.asset.parse().unwrap());
    let sig = signer.sign_hash(&auth.signing_hash(&domain)).unwrap();
    ExactEvmPayload {
        signature: Bytes::copy_from_slice(&sig.to_bytes()),
        authorization: auth,
    }
}

pub fn payment(req: &PaymentRequirements, exact: ExactEvmPayload) -> Payment {
    Payment {
        payload: PaymentPayload::new(req, None, &exact).unwrap(),
        requirements: req.clone(),
    }
}

/// Asserts a rejection with exactly the canonical `reason` on the wire.
#[track_caller]
pub fn assert_invalid(answer: &VerifyResponse, reason: &str) {
    let json = serde_json::to_value(answer).unwrap();
    assert_eq!(json["isValid"], false, "{answer:?}");
    assert_eq!(json["invalidReason"], reason, "{answer:?}");
}

/// Asserts a failed settlement with exactly the canonical `reason` on the wire.
#[track_caller]
pub fn assert_failed(answer: &SettleResponse, reason: &str) {
    let json = serde_json::to_value(answer).unwrap();
    assert_eq!(json["success"], false, "{answer:?}");
    assert_eq!(json["errorReason"], reason, "{answer:?}");
}

/// Asserts a successful settlement; returns its transaction hash.
#[track_caller]
pub fn assert_settled(answer: &SettleResponse) -> B256 {
    assert!(answer.success, "{answer:?}");
    assert_eq!(answer.error_reason, None);
    assert_eq!(answer.payer, Some(addr(PAYER).to_checksum(None)));
    answer.transaction.parse().unwrap()
}
