//! Fuzzes the facilitator's request path on untrusted `POST /verify` bodies: JSON decoding,
//! v2 typing or v1 normalisation, routing by network and `verify_exact` against a dev ledger
//! state never panic, and every answer is a verdict (valid with a payer, or a reason).
#![no_main]

use std::{
    future::Future,
    sync::{Arc, LazyLock},
    task::{Context, Poll, Waker},
};

use ledger::{Address, Genesis};
use libfuzzer_sys::fuzz_target;
use x402_facilitator::{Service, SnapshotBackend};
use x402_types::VerifyRequest;

static SERVICE: LazyLock<Service> = LazyLock::new(|| {
    let funded = [Address::repeat_byte(1), Address::repeat_byte(2)];
    let state = Genesis::dev(31_337, 1_700_000_000_000, &funded).build().unwrap().0;
    Service::new().with(Arc::new(SnapshotBackend {
        view: state,
        now_secs: 1_800_000_000,
    }))
});

/// Polls a future that never waits (the state backend answers at once).
fn ready<T>(f: impl Future<Output = T>) -> T {
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("the state backend never waits"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(request) = serde_json::from_slice::<VerifyRequest>(data) else {
        return;
    };
    let answer = ready(SERVICE.verify(&request));
    assert!(answer.is_valid == answer.invalid_reason.is_none());
    assert!(!answer.is_valid || answer.payer.is_some());
    let settled = ready(SERVICE.settle(&request));
    assert!(!settled.success);
});
