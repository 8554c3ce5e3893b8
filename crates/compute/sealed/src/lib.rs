//! Sealed-bid reverse auctions with FHE (tfhe-rs), as designed in
//! `docs/adr/0004-compute-market.md`: providers encrypt their prices under the auctioneer's
//! compact public key; the auctioneer computes the encrypted minimum and the encrypted index
//! of the winner with a tournament tree, and decrypts only those two values. A losing bid is
//! never decrypted, and no function here returns anything about one.
//!
//! Prices are 16-bit (`FheUint16`, in units of the order's price tick): the ADR measured 8
//! bids in 6.5–6.9 s on two cores this way, against 13.2 s for 32-bit prices. Indexes are
//! `FheUint8`, so an auction takes at most [`MAX_BIDS`] bids.
//!
//! Trust model: the auctioneer holds the client key and promises to decrypt only the result
//! (the ADR's option 1). Without tfhe's zero-knowledge proofs of well-formedness (feature
//! `zk-pok`, not built here), a bid is checked for its shape — one packed 16-bit value under
//! this auction's parameters — but a bidder who crafts noise cannot be detected.
//!
//! This crate is the only one that imports `tfhe`. Everything here is CPU-bound and blocking
//! (seconds per auction): call it off the async runtime.

use tfhe::{
    ClientKey, CompactCiphertextList, CompactPublicKey, ConfigBuilder, FheTypes, FheUint8,
    FheUint16, ServerKey,
    conformance::ListSizeConstraint,
    integer::parameters::CompactCiphertextListConformanceParams,
    prelude::*,
    safe_serialization::{DeserializationConfig, SerializationConfig},
    set_server_key,
};

/// The largest sealed bid accepted, in bytes (one packed 16-bit value is about 17 KB).
pub const MAX_BID_BYTES: u64 = 64 * 1024;

/// The largest public key accepted by [`seal`], in bytes (about 33 KB).
pub const MAX_PUBLIC_KEY_BYTES: u64 = 256 * 1024;

/// The largest serialized client key [`Auctioneer::import`] reads.
pub const MAX_CLIENT_KEY_BYTES: u64 = 1 << 20;

/// The most bids one auction takes (the winner's index is an 8-bit ciphertext).
pub const MAX_BIDS: usize = 255;

/// Why an auction or a bid is refused.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A bid is not one packed 16-bit ciphertext under this auction's key parameters.
    #[error("bid {index} is malformed: {reason}")]
    MalformedBid {
        /// The bid's position.
        index: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// No bids to compare.
    #[error("an auction needs at least one bid")]
    NoBids,
    /// More than [`MAX_BIDS`].
    #[error("{0} bids; an auction takes at most {MAX_BIDS}")]
    TooManyBids(usize),
    /// The public key bytes do not decode.
    #[error("the auction's public key does not decode: {0}")]
    PublicKey(String),
    /// Encoding or encryption failed.
    #[error("sealing failed: {0}")]
    Seal(String),
}

/// The result, and all that is decrypted: the winning bid's position and its price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// The position of the lowest bid (the first of equal lowest bids).
    pub winner: usize,
    /// Its price, in price ticks.
    pub price: u16,
}

/// An auction's keys: the client key (decrypts), the server key (computes on ciphertexts)
/// and the compact public key bidders encrypt with.
pub struct Auctioneer {
    client: ClientKey,
    server: ServerKey,
    public: CompactPublicKey,
}

impl std::fmt::Debug for Auctioneer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auctioneer").finish_non_exhaustive()
    }
}

impl Auctioneer {
    /// Fresh keys with tfhe's default parameters (2^-128 failure probability); about 2 s.
    pub fn generate() -> Self {
        let client = ClientKey::generate(ConfigBuilder::default().build());
        let server = ServerKey::new(&client);
        let public = CompactPublicKey::new(&client);
        Auctioneer {
            client,
            server,
            public,
        }
    }

    /// The client key (secret: it decrypts every bid) and the public key, serialized, to
    /// keep an auction across restarts; [`Auctioneer::import`] reads them back.
    pub fn export(&self) -> Result<(Vec<u8>, Vec<u8>), Error> {
        let mut client = vec![];
        SerializationConfig::new(MAX_CLIENT_KEY_BYTES)
            .serialize_into(&self.client, &mut client)
            .map_err(|e| Error::Seal(e.to_string()))?;
        Ok((client, self.public_key()?))
    }

    /// An auction's keys from [`Auctioneer::export`]; the server key is derived afresh
    /// (about a second).
    pub fn import(client: &[u8], public: &[u8]) -> Result<Self, Error> {
        let bad = |e: String| Error::PublicKey(e);
        let client: ClientKey = DeserializationConfig::new(MAX_CLIENT_KEY_BYTES)
            .disable_conformance()
            .deserialize_from(client)
            .map_err(|e| bad(format!("client key: {e}")))?;
        let public: CompactPublicKey = DeserializationConfig::new(MAX_PUBLIC_KEY_BYTES)
            .disable_conformance()
            .deserialize_from(public)
            .map_err(|e| bad(e.to_string()))?;
        let server = ServerKey::new(&client);
        Ok(Auctioneer {
            client,
            server,
            public,
        })
    }

    /// The compact public key to publish with the order, serialized.
    pub fn public_key(&self) -> Result<Vec<u8>, Error> {
        let mut out = vec![];
        SerializationConfig::new(MAX_PUBLIC_KEY_BYTES)
            .serialize_into(&self.public, &mut out)
            .map_err(|e| Error::Seal(e.to_string()))?;
        Ok(out)
    }

    /// Decodes a sealed bid and checks its shape: at most [`MAX_BID_BYTES`], conformant with
    /// this auction's encryption parameters, packed, exactly one value, of type `FheUint16`.
    pub fn check_bid(&self, bytes: &[u8]) -> Result<CompactCiphertextList, String> {
        if bytes.len() as u64 > MAX_BID_BYTES {
            return Err(format!("{} bytes, at most {MAX_BID_BYTES}", bytes.len()));
        }
        let params = CompactCiphertextListConformanceParams::from_parameters_and_size_constraint(
            self.public.parameters(),
            ListSizeConstraint::exact_size(1),
        );
        let list: CompactCiphertextList = DeserializationConfig::new(MAX_BID_BYTES)
            .deserialize_from(bytes, &params)
            .map_err(|e| e.to_string())?;
        if list.len() != 1 {
            return Err(format!("{} values, want 1", list.len()));
        }
        match list.get_kind_of(0) {
            Some(FheTypes::Uint16) => Ok(list),
            other => Err(format!("a {other:?} value, want a 16-bit unsigned price")),
        }
    }

    /// Runs the auction over `bids` (sealed with [`seal`] under this auction's key), in bid
    /// order, and decrypts only the lowest price and its position. Every bid is checked
    /// before any computation; the first malformed one refuses the auction. `progress` is
    /// called with (merges done, merges in all) as the tree is reduced.
    pub fn resolve(
        &self,
        bids: &[Vec<u8>],
        progress: &dyn Fn(usize, usize),
    ) -> Result<Outcome, Error> {
        if bids.is_empty() {
            return Err(Error::NoBids);
        }
        if bids.len() > MAX_BIDS {
            return Err(Error::TooManyBids(bids.len()));
        }
        let lists = bids
            .iter()
            .enumerate()
            .map(|(index, b)| {
                self.check_bid(b)
                    .map_err(|reason| Error::MalformedBid { index, reason })
            })
            .collect::<Result<Vec<_>, _>>()?;
        set_server_key(self.server.clone());
        let mut level = Vec::with_capacity(lists.len());
        for (index, list) in lists.iter().enumerate() {
            let malformed = |reason: String| Error::MalformedBid { index, reason };
            let price: FheUint16 = list
                .expand()
                .map_err(|e| malformed(e.to_string()))?
                .get(0)
                .map_err(|e| malformed(e.to_string()))?
                .ok_or_else(|| malformed("empty".into()))?;
            let position = u8::try_from(index).map_err(|_| Error::TooManyBids(bids.len()))?;
            level.push((price, FheUint8::encrypt_trivial(position)));
        }
        let total = level.len() - 1;
        let mut done = 0;
        progress(done, total);
        // A tournament tree: each merge keeps the lower price and its index; on a tie the
        // earlier bid (the left one) stays.
        while level.len() > 1 {
            let mut next = Vec::with_capacity(level.len().div_ceil(2));
            let mut it = level.into_iter();
            while let Some((a, ia)) = it.next() {
                match it.next() {
                    Some((b, ib)) => {
                        let lower = b.lt(&a);
                        next.push((lower.select(&b, &a), lower.select(&ib, &ia)));
                        done += 1;
                        progress(done, total);
                    }
                    None => next.push((a, ia)),
                }
            }
            level = next;
        }
        let (price, winner) = level
            .pop()
            .map(|(p, i)| (p.decrypt(&self.client), i.decrypt(&self.client)))
            .ok_or(Error::NoBids)?;
        let winner: u8 = winner;
        Ok(Outcome {
            winner: usize::from(winner),
            price,
        })
    }
}

/// A bidder's side: seals `price` under the auction's serialized public key.
pub fn seal(public_key: &[u8], price: u16) -> Result<Vec<u8>, Error> {
    if public_key.len() as u64 > MAX_PUBLIC_KEY_BYTES {
        return Err(Error::PublicKey(format!(
            "{} bytes, at most {MAX_PUBLIC_KEY_BYTES}",
            public_key.len()
        )));
    }
    let key: CompactPublicKey = DeserializationConfig::new(MAX_PUBLIC_KEY_BYTES)
        .disable_conformance()
        .deserialize_from(public_key)
        .map_err(|e| Error::PublicKey(e.to_string()))?;
    let list = CompactCiphertextList::builder(&key)
        .push(price)
        .build_packed();
    let mut out = vec![];
    SerializationConfig::new(MAX_BID_BYTES)
        .serialize_into(&list, &mut out)
        .map_err(|e| Error::Seal(e.to_string()))?;
    Ok(out)
}
