//! Sealed auctions end to end: bids sealed under the auction's public key, the encrypted
//! argmin decrypted to the same winner and price as the plaintext computation, and malformed
//! bids refused before any computation.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, OnceLock};

use compute_sealed::{Auctioneer, Error, MAX_BID_BYTES, Outcome, seal};
use proptest::prelude::*;
use tfhe::{CompactCiphertextList, CompactPublicKey, safe_serialization::SerializationConfig};

/// One auction's keys for every test (key generation takes seconds).
fn auctioneer() -> &'static (Auctioneer, Vec<u8>) {
    static KEYS: OnceLock<(Auctioneer, Vec<u8>)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let a = Auctioneer::generate();
        let pk = a.public_key().unwrap();
        (a, pk)
    })
}

/// The plaintext reference: the first lowest price.
fn plaintext(prices: &[u16]) -> Outcome {
    let (winner, price) = prices
        .iter()
        .enumerate()
        .min_by_key(|(i, p)| (**p, *i))
        .unwrap();
    Outcome {
        winner,
        price: *price,
    }
}

#[test]
fn eight_sealed_bids_give_the_plaintext_winner_and_price_with_ties_to_the_first() {
    let (a, pk) = auctioneer();
    // Two bids tie at the lowest price: the earlier one (index 2) wins.
    let prices = [
        41_000u16, 39_500, 31_250, 52_000, 31_250, 65_535, 40_001, 33_000,
    ];
    let bids: Vec<Vec<u8>> = prices.iter().map(|p| seal(pk, *p).unwrap()).collect();
    for b in &bids {
        assert!(b.len() as u64 <= MAX_BID_BYTES, "{} bytes", b.len());
    }
    let calls = Arc::new(std::sync::Mutex::new(vec![]));
    let seen = Arc::clone(&calls);
    let outcome = a
        .resolve(&bids, &move |done, total| {
            seen.lock().unwrap().push((done, total));
        })
        .unwrap();
    assert_eq!(outcome, plaintext(&prices));
    assert_eq!(
        outcome,
        Outcome {
            winner: 2,
            price: 31_250
        }
    );
    // Progress from 0 to all 7 merges of the tree.
    let calls = calls.lock().unwrap();
    assert_eq!(calls.first(), Some(&(0, 7)));
    assert_eq!(calls.last(), Some(&(7, 7)));
    assert_eq!(calls.len(), 8);
}

#[test]
fn one_bid_wins_alone_and_no_bids_is_an_error() {
    let (a, pk) = auctioneer();
    let one = vec![seal(pk, 7).unwrap()];
    assert_eq!(
        a.resolve(&one, &|_, _| {}).unwrap(),
        Outcome {
            winner: 0,
            price: 7
        }
    );
    assert!(matches!(a.resolve(&[], &|_, _| {}), Err(Error::NoBids)));
}

/// A list sealed under `pk` with `push` applied: a bid of the wrong shape.
fn crafted(pk: &[u8], push: impl Fn(&mut tfhe::CompactCiphertextListBuilder)) -> Vec<u8> {
    let key: CompactPublicKey = tfhe::safe_serialization::DeserializationConfig::new(1 << 20)
        .disable_conformance()
        .deserialize_from(pk)
        .unwrap();
    let mut builder = CompactCiphertextList::builder(&key);
    push(&mut builder);
    let list = builder.build_packed();
    let mut out = vec![];
    SerializationConfig::new(1 << 20)
        .serialize_into(&list, &mut out)
        .unwrap();
    out
}

#[test]
fn malformed_bids_are_refused_by_position_before_any_computation() {
    let (a, pk) = auctioneer();
    let good = seal(pk, 100).unwrap();
    let wide = crafted(pk, |b| {
        b.push(100u32);
    });
    let two = crafted(pk, |b| {
        b.push(100u16).push(200u16);
    });
    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0xff;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("garbage", vec![0xa5; 4096]),
        ("truncated", good[..good.len() - 1].to_vec()),
        ("too large", vec![0; MAX_BID_BYTES as usize + 1]),
        ("a 32-bit value", wide),
        ("two values", two),
    ];
    for (what, bad) in cases {
        let bids = vec![good.clone(), good.clone(), bad];
        match a.resolve(&bids, &|done, _| assert_eq!(done, 0, "{what}: computed")) {
            Err(Error::MalformedBid { index: 2, reason }) => assert!(!reason.is_empty()),
            other => panic!("{what}: {other:?}"),
        }
    }
    // A flipped byte either fails the shape check or is still one 16-bit value; never a panic.
    let _ = a.check_bid(&flipped);
    // Too many bids.
    let many = vec![good; 256];
    assert!(matches!(
        a.resolve(&many, &|_, _| {}),
        Err(Error::TooManyBids(256))
    ));
}

#[test]
fn a_public_key_that_does_not_decode_is_refused_by_the_bidder() {
    assert!(matches!(seal(&[1, 2, 3], 5), Err(Error::PublicKey(_))));
    let (_, pk) = auctioneer();
    assert!(matches!(
        seal(&pk[..pk.len() / 2], 5),
        Err(Error::PublicKey(_))
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Arbitrary bytes never panic the bid decoder, and are refused.
    #[test]
    fn arbitrary_bytes_are_refused(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let (a, _) = auctioneer();
        prop_assert!(a.check_bid(&bytes).is_err());
    }

    /// A valid bid with bytes overwritten never panics the decoder.
    #[test]
    fn corrupted_bids_never_panic(edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)) {
        let (a, pk) = auctioneer();
        let mut bid = seal(pk, 12_345).unwrap();
        for (at, byte) in edits {
            let i = at.index(bid.len());
            bid[i] = byte;
        }
        let _ = a.check_bid(&bid);
    }
}

#[test]
fn exported_keys_import_and_still_resolve_bids_sealed_before() {
    let (a, pk) = auctioneer();
    let bids: Vec<Vec<u8>> = [9u16, 4, 7].iter().map(|p| seal(pk, *p).unwrap()).collect();
    let (client, public) = a.export().unwrap();
    assert_eq!(&public, pk, "the published key is the one exported");
    let back = Auctioneer::import(&client, &public).unwrap();
    assert_eq!(back.public_key().unwrap(), public);
    let out = back.resolve(&bids, &|_, _| {}).unwrap();
    assert_eq!(
        out,
        Outcome {
            winner: 1,
            price: 4
        }
    );
    // Garbage is refused, not panicked on.
    assert!(Auctioneer::import(b"not a key", &public).is_err());
    assert!(Auctioneer::import(&client, b"not a key").is_err());
}
