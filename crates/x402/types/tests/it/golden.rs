//! Header values produced by real clients, decoded and checked field by field.

use alloy_primitives::{Address, U256, address, b256};
use serde_json::json;
use x402_types::{Network, TokenAmount, exact, header, v2};

/// A `PAYMENT-SIGNATURE` produced by the TypeScript SDK 2.27 (`x402HTTPClient` +
/// `encodePaymentSignatureHeader`, signing with Anvil's dev key #0), recorded verbatim in
/// `research/x402.md` §5.4.
const TS_PAYMENT_SIGNATURE: &str = "eyJ4NDAyVmVyc2lvbiI6MiwicGF5bG9hZCI6eyJhdXRob3JpemF0aW9uIjp7ImZyb20iOiIweGYzOUZkNmU1MWFhZDg4RjZGNGNlNmFCODgyNzI3OWNmZkZiOTIyNjYiLCJ0byI6IjB4NzA5OTc5NzBDNTE4MTJkYzNBMDEwQzdkMDFiNTBlMGQxN2RjNzlDOCIsInZhbHVlIjoiMTAwMCIsInZhbGlkQWZ0ZXIiOiIwIiwidmFsaWRCZWZvcmUiOiIxNzk1MzExMzM5Iiwibm9uY2UiOiIweGFlNThmOGE2NmI4ZWIwN2U4OTQ5MjZmNGY2N2MxMDAyMzZlNDY1ZWViNTllZjU5NzNhZTRiNGI5N2RlYzliMDIifSwic2lnbmF0dXJlIjoiMHhlZWRjZTA0MThkMjhiMTEzMjUxMzIwMGQzMWMxYTFjNWE0YTY4MGZkNzg0MGQwNjc4MDgzY2RiNDQ5NDFkYTZmNmI5YWQ1OWQ3NjQwZGY4OTI3ZjQ0MTVkOTY2MGVjOTdjNGI4MWJiMTg1MzUwMjZkZGViZDFhNzljYTU0OTJhOTFjIn0sInJlc291cmNlIjp7InVybCI6Imh0dHA6Ly8xMjcuMC4wLjE6ODA4MC9wYWlkIiwiZGVzY3JpcHRpb24iOiJkZW1vIiwibWltZVR5cGUiOiJhcHBsaWNhdGlvbi9qc29uIn0sImFjY2VwdGVkIjp7InNjaGVtZSI6ImV4YWN0IiwibmV0d29yayI6ImVpcDE1NTozMTMzNyIsImFtb3VudCI6IjEwMDAiLCJhc3NldCI6IjB4NUZiREIyMzE1Njc4YWZlY2IzNjdmMDMyZDkzRjY0MmY2NDE4MGFhMyIsInBheVRvIjoiMHg3MDk5Nzk3MEM1MTgxMmRjM0EwMTBDN2QwMWI1MGUwZDE3ZGM3OUM4IiwibWF4VGltZW91dFNlY29uZHMiOjYwLCJleHRyYSI6eyJuYW1lIjoiVGVzdCBUb2tlbiIsInZlcnNpb24iOiIxIn19fQ==";

/// An `X-PAYMENT` (v1) header a production x402 client sent on Base mainnet, with its decoded
/// JSON, from a public deployment log (`Callmedas69/geoplet-miniapp`, `.docs/LOG_VERCEL.md`).
const FIELD_X_PAYMENT: &str = "eyJ4NDAyVmVyc2lvbiI6MSwic2NoZW1lIjoiZXhhY3QiLCJuZXR3b3JrIjoiYmFzZSIsInBheWxvYWQiOnsic2lnbmF0dXJlIjoiMHhkNGY1NTFhZGJmOWIzZmZkNjU0OWI5MmIwM2ZjOGJjYjhjYjA5ZTY5MDlmNDI2NTU5MGIyNDZmNGE2NDQxZWM2NTAwZGY1YmI1YmUzYWFiNDMzMmIxNjk1ZTY1YjE2ZjBiYzEzZjMzYjdkYjkwYTVjYTk1NmJlNWZjYjU4YmEyODFjIiwiYXV0aG9yaXphdGlvbiI6eyJmcm9tIjoiMHhkYzQxZDZEQTZCYjJEMDJiMTkzMTZCMmJmRkYwQ0JiNDI2MDY0ODRkIiwidG8iOiIweEZkRjUzRGUyMGY0NmJBRTJGYTY0MTRlNkYyNUVGMTY1NEU2OEFjZDAiLCJ2YWx1ZSI6IjEwMDAwMDAiLCJ2YWxpZEFmdGVyIjoiMCIsInZhbGlkQmVmb3JlIjoiMTc2MjY1NTAwOSIsIm5vbmNlIjoiMHgwYjg3YTg3NTE0YzYwYzIzMzJkMDgxMjJiZTFiZTkwMzM5NzAwZmE4NjRlMjRiMDI4NjVlMTU1MGNjZDAwMjM5In19fQ==";

const ANVIL_0: Address = address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266");

#[test]
fn ts_sdk_payment_signature_decodes_field_by_field() {
    let p = header::decode_payment_signature(TS_PAYMENT_SIGNATURE).unwrap();
    assert_eq!(p.x402_version, 2);
    let resource = p.resource.clone().unwrap();
    assert_eq!(resource.url, "http://127.0.0.1:8080/paid");
    assert_eq!(resource.description.as_deref(), Some("demo"));
    assert_eq!(resource.mime_type.as_deref(), Some("application/json"));

    // `accepted` is kept exactly as sent…
    assert_eq!(
        p.accepted,
        json!({
            "scheme": "exact", "network": "eip155:31337", "amount": "1000",
            "asset": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
            "payTo": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
            "maxTimeoutSeconds": 60, "extra": { "name": "Test Token", "version": "1" }
        })
    );
    // …and reads as the requirements a Rust server would have issued.
    let req = p.requirements().unwrap();
    assert_eq!(req.network, Network::eip155(31337));
    assert_eq!(req.amount, TokenAmount::from(1000u64));
    assert_eq!(req.max_timeout_seconds, 60);
    assert!(p.accepts(&req));
    let mut other = req.clone();
    other.amount = TokenAmount::from(1001u64);
    assert!(!p.accepts(&other));

    let e = p.exact_evm().unwrap();
    let a = &e.authorization;
    assert_eq!(a.from, ANVIL_0);
    assert_eq!(a.to, address!("70997970C51812dc3A010C7d01b50e0d17dc79C8"));
    assert_eq!(a.value, TokenAmount::from(1000u64));
    assert_eq!(a.valid_after, TokenAmount::ZERO);
    assert_eq!(a.valid_before, TokenAmount::from(1_795_311_339u64));
    assert_eq!(
        a.nonce,
        b256!("ae58f8a66b8eb07e894926f4f67c100236e465eeb59ef5973ae4b4b97dec9b02")
    );
    assert_eq!(e.signature.len(), 65);

    // The SDK's signature recovers to the payer under the domain derived from `accepted`.
    let domain = exact::domain_for(&req).unwrap();
    assert_eq!(domain.chain_id, Some(U256::from(31337)));
    assert_eq!(e.recover_signer(&domain).unwrap(), ANVIL_0);
    // A wrong domain name (a classic mismatch) recovers someone else.
    let wrong = exact::domain(
        "Test Token ",
        "1",
        31337,
        domain.verifying_contract.unwrap(),
    );
    assert_ne!(e.recover_signer(&wrong).unwrap(), ANVIL_0);

    // Re-encoding yields a header that decodes to the same message.
    let again = header::encode_payment_signature(&p).unwrap();
    assert_eq!(header::decode_payment_signature(&again).unwrap(), p);
}

#[test]
fn field_x_payment_v1_decodes_and_recovers() {
    let p = header::decode_x_payment(FIELD_X_PAYMENT).unwrap();
    assert_eq!(p.x402_version, 1);
    assert_eq!(p.scheme, "exact");
    assert_eq!(p.network, "base");
    assert_eq!(
        Network::from_v1_name(&p.network),
        Some(Network::eip155(8453))
    );
    let e = p.exact_evm().unwrap();
    let a = &e.authorization;
    let payer = address!("dc41d6DA6Bb2D02b19316B2bfFF0CBb42606484d");
    assert_eq!(a.from, payer);
    assert_eq!(a.to, address!("FdF53De20f46bAE2Fa6414e6F25EF1654E68Acd0"));
    assert_eq!(a.value, TokenAmount::from(1_000_000u64));
    assert_eq!(a.valid_before, TokenAmount::from(1_762_655_009u64));
    // Base mainnet USDC's domain is {"USD Coin", "2"}.
    let usdc = address!("833589fCD6eDb6E08f4c7C32D4f71b54bdA02913");
    let domain = exact::domain("USD Coin", "2", 8453, usdc);
    assert_eq!(e.recover_signer(&domain).unwrap(), payer);
    assert_ne!(
        e.recover_signer(&exact::domain("USDC", "2", 8453, usdc))
            .unwrap(),
        payer
    );
}

#[test]
fn spec_examples_parse() {
    // research/x402.md §1.2 (v2 challenge and receipts), §1.3 (v1 body), §3 (/supported).
    let challenge: v2::PaymentRequired = serde_json::from_value(json!({
      "x402Version": 2,
      "error": "PAYMENT-SIGNATURE header is required",
      "resource": { "url": "https://api.example.test/report", "description": "Daily report", "mimeType": "application/json" },
      "accepts": [{
        "scheme": "exact", "network": "eip155:84532", "amount": "10000",
        "asset": "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
        "payTo": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        "maxTimeoutSeconds": 60,
        "extra": { "name": "USDC", "version": "2" }
      }],
      "extensions": {}
    }))
    .unwrap();
    let d = exact::domain_for(&challenge.accepts[0]).unwrap();
    assert_eq!(d.name.as_deref(), Some("USDC"));
    assert_eq!(d.version.as_deref(), Some("2"));

    let fail: x402_types::SettleResponse = serde_json::from_value(json!({
        "success": false, "errorReason": "invalid_exact_evm_nonce_already_used", "transaction": "",
        "network": "eip155:84532", "payer": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266" }))
    .unwrap();
    assert_eq!(
        fail.error_reason,
        Some(x402_types::Reason::InvalidExactEvmNonceAlreadyUsed)
    );

    // Tolerated on input: a failure without `network` or `transaction`.
    let bare: x402_types::SettleResponse =
        serde_json::from_str(r#"{"success":false,"errorReason":"unexpected_settle_error"}"#)
            .unwrap();
    assert_eq!(
        bare.error_reason,
        Some(x402_types::Reason::UnexpectedSettleError)
    );
    assert!(bare.network.is_empty() && bare.transaction.is_empty());

    let v1: x402_types::v1::PaymentRequired = serde_json::from_value(json!({
      "x402Version": 1, "error": "X-PAYMENT header is required",
      "accepts": [{ "scheme": "exact", "network": "base-sepolia", "maxAmountRequired": "10000",
        "asset": "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
        "payTo": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        "resource": "https://api.example.test/report", "description": "Daily report",
        "mimeType": "application/json", "outputSchema": null, "maxTimeoutSeconds": 60,
        "extra": { "name": "USDC", "version": "2" } }] }))
    .unwrap();
    assert_eq!(
        v1.accepts[0].max_amount_required,
        TokenAmount::from(10_000u64)
    );

    let supported: x402_types::SupportedResponse = serde_json::from_value(json!({ "kinds": [
        { "x402Version": 2, "scheme": "exact", "network": "eip155:84532" },
        { "x402Version": 2, "scheme": "upto",  "network": "eip155:84532", "extra": { "facilitatorAddress": "0x01" } },
        { "x402Version": 1, "scheme": "exact", "network": "base-sepolia" } ],
      "extensions": ["bazaar", "eip2612GasSponsoring"],
      "signers": { "eip155:*": ["0x02"] } }))
    .unwrap();
    assert_eq!(supported.kinds.len(), 3);
    assert_eq!(supported.signers["eip155:*"], vec!["0x02".to_owned()]);
    // v1 facilitators answer only `kinds`.
    let v1_supported: x402_types::SupportedResponse =
        serde_json::from_str(r#"{"kinds":[]}"#).unwrap();
    assert!(v1_supported.extensions.is_empty() && v1_supported.signers.is_empty());
}

#[test]
fn wire_field_names_are_camel_case() {
    let r = x402_types::VerifyResponse::invalid(
        x402_types::Reason::InvalidExactEvmSignature,
        Some("0xabc".into()),
    );
    assert_eq!(
        serde_json::to_value(&r).unwrap(),
        json!({ "isValid": false, "invalidReason": "invalid_exact_evm_signature", "payer": "0xabc" })
    );
    let s = x402_types::SettleResponse {
        success: true,
        error_reason: None,
        error_message: None,
        payer: Some("0xabc".into()),
        transaction: "0x01".into(),
        network: "eip155:84532".into(),
        amount: None,
        extensions: None,
    };
    assert_eq!(
        serde_json::to_value(&s).unwrap(),
        json!({ "success": true, "payer": "0xabc", "transaction": "0x01", "network": "eip155:84532" })
    );
}

#[test]
fn version_mismatch_is_refused() {
    // A v1 payload in the v2 header and vice versa.
    let v1_in_v2 = header::decode_payment_signature(FIELD_X_PAYMENT);
    assert!(v1_in_v2.is_err());
    let v2_in_v1 = header::decode_x_payment(TS_PAYMENT_SIGNATURE).unwrap_err();
    assert!(matches!(
        v2_in_v1,
        x402_types::Error::Version {
            expected: 1,
            got: 2
        }
    ));
}

#[test]
fn authorization_addresses_are_written_checksummed() {
    let p = header::decode_payment_signature(TS_PAYMENT_SIGNATURE).unwrap();
    let e = p.exact_evm().unwrap();
    let json = serde_json::to_value(&e).unwrap();
    // Exactly what the TypeScript client sent.
    assert_eq!(json, p.payload);
    assert_eq!(
        json["authorization"]["from"],
        "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    );
}

#[test]
fn extra_is_always_written() {
    // The TypeScript type makes `PaymentRequirements.extra` required.
    let req: v2::PaymentRequirements = serde_json::from_value(json!({
        "scheme": "exact", "network": "eip155:1", "amount": "1", "asset": "0x01",
        "payTo": "0x02", "maxTimeoutSeconds": 5 }))
    .unwrap();
    assert_eq!(serde_json::to_value(&req).unwrap()["extra"], json!({}));
}
