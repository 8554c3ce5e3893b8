//! Fuzzes the transaction decoder the HTTP API runs on untrusted bodies: decoding never
//! panics, a decoded transaction re-encodes to JSON that decodes to the same value, and
//! signature verification never panics.
#![no_main]

use ledger::{Genesis, SignedTx};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(tx) = serde_json::from_str::<SignedTx>(text) {
        let again: SignedTx = serde_json::from_str(&serde_json::to_string(&tx).unwrap()).unwrap();
        assert_eq!(again, tx);
        let (state, _) = Genesis::dev(tx.chain_id, 0, &[]).build().unwrap();
        let _ = tx.verify(state.params.chain_id, &state);
    }
    let _ = serde_json::from_str::<Vec<SignedTx>>(text);
});
