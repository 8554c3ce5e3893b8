//! `EvmBackend::connect` and answers when the RPC is unreachable.

use x402_evm::{Error, EvmBackend, EvmConfig};
use x402_types::Network;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_an_rpc_of_another_chain() {
    let chain = Chain::start().await;
    let config = EvmConfig::new(Network::eip155(8453), chain.anvil.url());
    let err = EvmBackend::connect(config, key(RELAYER)).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::ChainMismatch {
                expected: 8453,
                actual: 31337
            }
        ),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_bad_urls_and_non_evm_networks() {
    let bad = EvmConfig::new(Network::eip155(1), "ftp://example.com");
    assert!(matches!(
        EvmBackend::connect(bad, key(RELAYER)).await,
        Err(Error::Url(_))
    ));
    let svm = EvmConfig::new(
        "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1".parse().unwrap(),
        "http://127.0.0.1:1",
    );
    assert!(matches!(
        EvmBackend::connect(svm, key(RELAYER)).await,
        Err(Error::Network(_))
    ));
}

#[test]
fn config_deserialises_with_defaults() {
    let c: EvmConfig = serde_json::from_str(
        r#"{"network": "eip155:84532", "rpc_url": "https://sepolia.base.org", "receipt_timeout_ms": 5000}"#,
    )
    .unwrap();
    assert_eq!(c.network, Network::eip155(84532));
    assert_eq!(c.receipt_timeout_ms, 5000);
    assert_eq!(c.poll_interval_ms, x402_evm::DEFAULT_POLL_INTERVAL_MS);
    assert!(serde_json::from_str::<EvmConfig>(r#"{"network": "eip155:1"}"#).is_err());
    assert!(
        serde_json::from_str::<EvmConfig>(
            r#"{"network": "eip155:1", "rpc_url": "http://x", "key": "0x00"}"#
        )
        .is_err(),
        "unknown fields (a key in the config) are refused"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_rpc_answers_unexpected_errors_without_the_url() {
    let chain = Chain::start().await;
    let mut config = chain.config();
    // A secret in the URL, as RPC providers put API keys there.
    config.rpc_url = format!("{}/?apikey=SECRET-API-KEY", chain.anvil.url());
    let backend = EvmBackend::connect(config, key(RELAYER)).await.unwrap();
    let p = chain.pay(1);
    assert!(backend.verify_payment(&p).await.is_valid);
    drop(chain);

    let verdict = backend.verify_payment(&p).await;
    assert_invalid(&verdict, "unexpected_verify_error");
    let message = verdict.invalid_message.unwrap();
    assert!(!message.contains("SECRET"), "{message}");
    assert!(
        message.contains("<rpc_url>"),
        "the failure names the endpoint, scrubbed: {message}"
    );
    let settled = backend.settle_payment(&p).await;
    assert_failed(&settled, "unexpected_settle_error");
    assert!(!settled.error_message.unwrap().contains("SECRET"));
    assert_eq!(settled.transaction, "");
}

/// `https://` endpoints go through TLS: a server that does not speak TLS (here, plain HTTP)
/// fails the handshake with a TLS error, not an unsupported-scheme error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_endpoints_speak_tls() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let mut buf = [0u8; 512];
            let n = s.read(&mut buf).await.unwrap_or(0);
            // A TLS ClientHello starts with the handshake record type 0x16.
            assert!(n > 0 && buf[0] == 0x16, "expected a TLS ClientHello");
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")
                .await;
        }
    });
    let config = EvmConfig::new(Network::eip155(1), format!("https://{addr}"));
    let err = EvmBackend::connect(config, key(RELAYER)).await.unwrap_err();
    assert!(matches!(err, Error::Rpc(_)), "{err}");
}
