//! Fuzzes the transaction decoder the HTTP API runs on untrusted bodies: decoding never
//! panics, a decoded transaction re-encodes to JSON that decodes to the same value, and
//! signature verification never panics.
#![no_main]

use std::sync::OnceLock;

use ledger::{Genesis, SignedTx, State};
use libfuzzer_sys::fuzz_target;

/// A dev chain's genesis state, built once (a dev genesis derives the dev attestation root).
fn state() -> &'static State {
    static STATE: OnceLock<State> = OnceLock::new();
    STATE.get_or_init(|| Genesis::dev(31_337, 0, &[]).build().unwrap().0)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(tx) = serde_json::from_str::<SignedTx>(text) {
        let again: SignedTx = serde_json::from_str(&serde_json::to_string(&tx).unwrap()).unwrap();
        assert_eq!(again, tx);
        let chain_id = tx.chain_id;
        let _ = tx.verify(chain_id, state());
    }
    let _ = serde_json::from_str::<Vec<SignedTx>>(text);
});
