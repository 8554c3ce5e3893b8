//! EIP-712 hashing of EIP-3009 `TransferWithAuthorization` and signature recovery, checked
//! against viem (npm) both ways, plus the malleability rule.

use alloy_primitives::{Address, B256, U256, address, hex};
use secp256k1::{Message, SECP256K1, SecretKey};
use serde_json::{Value, json};
use x402_types::{
    Error, TokenAmount,
    exact::{self, Authorization},
};

/// Anvil's public dev key #0 and its address.
const KEY: [u8; 32] = hex!("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");
const KEY_ADDRESS: Address = address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266");

fn viem(args: &[&str]) -> String {
    test_utils::run_node("typed-data.mjs", args).unwrap()
}

fn typed_data(a: &Authorization, name: &str, version: &str, chain: u64, token: Address) -> String {
    let field = |n: &str, t: &str| json!({ "name": n, "type": t });
    json!({
        // chainId as a string: a JSON number above 2^53 would lose precision in JavaScript.
        "domain": { "name": name, "version": version, "chainId": chain.to_string(), "verifyingContract": token },
        "types": { "TransferWithAuthorization": [
            field("from", "address"), field("to", "address"), field("value", "uint256"),
            field("validAfter", "uint256"), field("validBefore", "uint256"),
            field("nonce", "bytes32"),
        ]},
        "primaryType": "TransferWithAuthorization",
        // The wire JSON of the authorization is exactly viem's message (decimal strings).
        "message": serde_json::to_value(a).unwrap(),
    })
    .to_string()
}

fn cases() -> Vec<(Authorization, &'static str, &'static str, u64, Address)> {
    let base = Authorization {
        from: KEY_ADDRESS,
        to: address!("70997970C51812dc3A010C7d01b50e0d17dc79C8"),
        value: TokenAmount::from(10_000u64),
        valid_after: TokenAmount::ZERO,
        valid_before: TokenAmount::from(1_795_311_339u64),
        nonce: B256::repeat_byte(0x42),
    };
    let big = Authorization {
        value: TokenAmount(U256::MAX),
        valid_after: TokenAmount::from(u64::MAX),
        valid_before: TokenAmount(U256::MAX - U256::from(1)),
        nonce: B256::from(hex!(
            "ae58f8a66b8eb07e894926f4f67c100236e465eeb59ef5973ae4b4b97dec9b02"
        )),
        ..base.clone()
    };
    vec![
        (
            base.clone(),
            "USDC",
            "2",
            84532,
            address!("036CbD53842c5426634e7929541eC2318f3dCF7e"),
        ),
        (
            big,
            "USD Coin",
            "2",
            8453,
            address!("833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"),
        ),
        (
            base,
            "Devnet ünïcode ✓",
            "1",
            u64::MAX,
            address!("5FbDB2315678afecb367f032d93F642f64180aa3"),
        ),
    ]
}

#[test]
fn hash_and_signatures_agree_with_viem() {
    let key = SecretKey::from_byte_array(KEY).unwrap();
    for (a, name, version, chain, token) in cases() {
        let td = typed_data(&a, name, version, chain, token);
        let hash = a.signing_hash(&exact::domain(name, version, chain, token));
        assert_eq!(viem(&["hash", &td]), format!("{hash}"), "{td}");

        // viem signs (as the x402 TypeScript client does); we recover the payer.
        let sig = hex::decode(viem(&["sign", &hex::encode(KEY), &td])).unwrap();
        assert_eq!(exact::recover(&hash, &sig).unwrap(), KEY_ADDRESS);

        // We sign; viem recovers the same address.
        let (recid, rs) = SECP256K1
            .sign_ecdsa_recoverable(Message::from_digest(hash.0), &key)
            .serialize_compact();
        let mut ours = rs.to_vec();
        ours.push(27 + u8::try_from(i32::from(recid)).unwrap());
        assert_eq!(exact::recover(&hash, &ours).unwrap(), KEY_ADDRESS);
        let recovered: Address = viem(&["recover", &hex::encode_prefixed(&ours), &td])
            .parse()
            .unwrap();
        assert_eq!(recovered, KEY_ADDRESS);
    }
}

/// secp256k1's group order n.
const N: U256 = U256::from_be_bytes(hex!(
    "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"
));

#[test]
fn high_s_and_malformed_signatures_are_refused() {
    let key = SecretKey::from_byte_array(KEY).unwrap();
    let (a, name, version, chain, token) = cases().remove(0);
    let hash = a.signing_hash(&exact::domain(name, version, chain, token));
    let (recid, rs) = SECP256K1
        .sign_ecdsa_recoverable(Message::from_digest(hash.0), &key)
        .serialize_compact();
    let v = u8::try_from(i32::from(recid)).unwrap();
    let mut low = rs.to_vec();
    low.push(v);
    assert_eq!(
        exact::recover(&hash, &low).unwrap(),
        KEY_ADDRESS,
        "v = 0/1 accepted"
    );

    // The same signature with s' = n - s and the other parity: valid ECDSA, but malleable.
    let s = U256::from_be_slice(&rs[32..]);
    let mut high = rs[..32].to_vec();
    high.extend_from_slice(&(N - s).to_be_bytes::<32>());
    high.push(27 + (v ^ 1));
    assert!(matches!(
        exact::recover(&hash, &high),
        Err(Error::Signature("high s (malleable signature)"))
    ));

    for bad in [&low[..64], &[0u8; 66][..], &[][..]] {
        assert!(matches!(
            exact::recover(&hash, bad),
            Err(Error::Signature(_))
        ));
    }
    let mut bad_v = low.clone();
    bad_v[64] = 29;
    assert!(exact::recover(&hash, &bad_v).is_err());
    let mut zero_r = low;
    zero_r[..32].fill(0);
    assert!(exact::recover(&hash, &zero_r).is_err());
}

#[test]
fn domain_from_requirements() {
    use x402_types::{Network, v2};
    let mut req = v2::PaymentRequirements {
        scheme: "exact".into(),
        network: Network::eip155(31337),
        amount: TokenAmount::from(1u64),
        asset: "0x5FbDB2315678afecb367f032d93F642f64180aa3".into(),
        pay_to: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8".into(),
        max_timeout_seconds: 60,
        extra: v2::Extra::eip712("Test Token", "1"),
    };
    let d = exact::domain_for(&req).unwrap();
    assert_eq!(
        d,
        exact::domain(
            "Test Token",
            "1",
            31337,
            address!("5FbDB2315678afecb367f032d93F642f64180aa3")
        )
    );
    req.extra.version = None;
    assert!(matches!(
        exact::domain_for(&req),
        Err(Error::MissingEip712Domain)
    ));
    req.extra = v2::Extra::eip712("Test Token", "1");
    req.asset = "not-an-address".into();
    assert!(matches!(exact::domain_for(&req), Err(Error::Address(_))));
    req.asset = "0x5FbDB2315678afecb367f032d93F642f64180aa3".into();
    req.network = "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1".parse().unwrap();
    assert!(matches!(exact::domain_for(&req), Err(Error::NotEvm(_))));
    let _: Value = serde_json::to_value(&req).unwrap();
}
