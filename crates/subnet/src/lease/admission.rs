//! The gate's bookkeeping once a request is authenticated: the nonces each lease accepted
//! (replays refused) and its token bucket (excess refused). Time comes in as arguments.

use std::{
    collections::{BTreeSet, HashMap},
    time::{Duration, Instant},
};

use super::{FRESHNESS_MS, GateError, LeaseView};

/// The most nonces kept per lease. The bucket already bounds them (a lease accepts at most
/// its burst plus a minute of its rate in the 60 s a nonce can be fresh); this caps a lease
/// of absurd capacity.
const MAX_NONCES_PER_LEASE: usize = 1 << 20;
/// One token, in the bucket's micro-tokens.
const TOKEN: u64 = 1_000_000;

/// A token bucket in micro-tokens: `rate` tokens a second, holding at most `rate` (the burst).
#[derive(Debug, Clone)]
struct TokenBucket {
    rate: u64,
    level: u64,
    at: Instant,
}

impl TokenBucket {
    /// A full bucket for `capacity_rps` (at least one a second).
    fn new(capacity_rps: u32, now: Instant) -> Self {
        let rate = u64::from(capacity_rps.max(1));
        TokenBucket {
            rate,
            level: rate.saturating_mul(TOKEN),
            at: now,
        }
    }

    fn capacity(&self) -> u64 {
        self.rate.saturating_mul(TOKEN)
    }

    fn refill(&mut self, now: Instant) {
        let micros = now.saturating_duration_since(self.at).as_micros();
        let added = u64::try_from(micros)
            .unwrap_or(u64::MAX)
            .saturating_mul(self.rate);
        self.level = self.level.saturating_add(added).min(self.capacity());
        self.at = self.at.max(now);
    }

    /// Follows a change of the lease's capacity, keeping the tokens the new burst holds.
    fn set_rate(&mut self, capacity_rps: u32, now: Instant) {
        self.refill(now);
        self.rate = u64::from(capacity_rps.max(1));
        self.level = self.level.min(self.capacity());
    }

    fn is_full(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.level >= self.capacity()
    }

    /// Takes one token, or says how long until there is one.
    fn take(&mut self, now: Instant) -> Result<(), Duration> {
        self.refill(now);
        match self.level.checked_sub(TOKEN) {
            Some(level) => {
                self.level = level;
                Ok(())
            }
            None => Err(Duration::from_micros(
                TOKEN.saturating_sub(self.level).div_ceil(self.rate),
            )),
        }
    }
}

/// One lease's bookkeeping: its bucket and the nonces it accepted that are still fresh.
#[derive(Debug)]
struct Usage {
    bucket: TokenBucket,
    seen: BTreeSet<u64>,
}

/// The bookkeeping over all leases: the pure core of step 4 of the gate (see [`super`]).
#[derive(Debug, Default)]
pub(super) struct Admissions {
    leases: HashMap<u64, Usage>,
    /// The latest clock reading seen, so a clock stepping back cannot revive pruned nonces.
    clock: u64,
    /// The number of leases at which idle ones are dropped next.
    sweep_at: usize,
}

impl Admissions {
    /// Admits one authenticated request under `lease` with `nonce` at `now_ms` (wall clock)
    /// and `now` (monotonic): refuses a replayed or stale nonce, then takes a token. A refused
    /// request leaves its nonce unused.
    pub(super) fn admit(
        &mut self,
        lease: &LeaseView,
        nonce: u64,
        now_ms: u64,
        now: Instant,
    ) -> Result<(), GateError> {
        self.clock = self.clock.max(now_ms);
        let oldest = self.clock.saturating_sub(FRESHNESS_MS);
        if nonce < oldest {
            return Err(GateError::StaleNonce { nonce, now: now_ms });
        }
        if self.leases.len() >= self.sweep_at {
            self.sweep(oldest, now);
        }
        let usage = self.leases.entry(lease.id).or_insert_with(|| Usage {
            bucket: TokenBucket::new(lease.capacity_rps, now),
            seen: BTreeSet::new(),
        });
        usage.seen = usage.seen.split_off(&oldest);
        if usage.seen.contains(&nonce) {
            return Err(GateError::ReplayedNonce);
        }
        usage.bucket.set_rate(lease.capacity_rps, now);
        if usage.seen.len() >= MAX_NONCES_PER_LEASE {
            return Err(GateError::OverCapacity {
                retry_after: Duration::from_secs(1),
            });
        }
        usage
            .bucket
            .take(now)
            .map_err(|retry_after| GateError::OverCapacity { retry_after })?;
        usage.seen.insert(nonce);
        Ok(())
    }

    /// Drops the leases with no fresh nonce and a full bucket: recreating them later gives the
    /// same state, so this only bounds memory by the leases in use.
    fn sweep(&mut self, oldest: u64, now: Instant) {
        self.leases
            .retain(|_, u| u.seen.last().is_some_and(|&n| n >= oldest) || !u.bucket.is_full(now));
        self.sweep_at = self.leases.len().saturating_mul(2).max(64);
    }
}

#[cfg(test)]
mod tests {
    use alloy_primitives::Address;
    use proptest::prelude::*;

    use super::*;

    fn view(id: u64, capacity_rps: u32) -> LeaseView {
        LeaseView {
            id,
            tenant: Address::repeat_byte(1),
            provider: Address::repeat_byte(2),
            capacity_rps,
            serving: true,
        }
    }

    proptest! {
        /// The bucket never admits more than its burst plus its rate over the time elapsed.
        #[test]
        fn bucket_admits_at_most_burst_plus_rate(
            rps in 1u32..50,
            gaps_ms in prop::collection::vec(0u64..400, 1..200),
        ) {
            let start = Instant::now();
            let mut bucket = TokenBucket::new(rps, start);
            let (mut t, mut admitted) = (0u64, 0u64);
            for gap in gaps_ms {
                t += gap;
                let now = start + Duration::from_millis(t);
                match bucket.take(now) {
                    Ok(()) => admitted += 1,
                    Err(wait) => {
                        prop_assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1));
                        // A token is there once the wait is over.
                        let mut probe = bucket.clone();
                        prop_assert!(probe.take(now + wait).is_ok());
                    }
                }
                let allowed = u64::from(rps) + u64::from(rps) * t / 1000;
                prop_assert!(admitted <= allowed, "{admitted} > {allowed} at {t} ms");
            }
        }
    }

    #[test]
    fn a_full_bucket_gives_its_burst_then_refills() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(2, t0);
        assert!(b.take(t0).is_ok() && b.take(t0).is_ok());
        assert_eq!(b.take(t0), Err(Duration::from_millis(500)));
        assert_eq!(
            b.take(t0 + Duration::from_millis(499)),
            Err(Duration::from_millis(1))
        );
        assert!(b.take(t0 + Duration::from_millis(500)).is_ok());
        assert!(b.is_full(t0 + Duration::from_secs(10)));
        // Zero capacity is served at the minimum, one a second.
        let mut z = TokenBucket::new(0, t0);
        assert!(z.take(t0).is_ok());
        assert_eq!(z.take(t0), Err(Duration::from_secs(1)));
    }

    #[test]
    fn admissions_refuse_replays_and_keep_refused_nonces_unused() {
        let t0 = Instant::now();
        let now = 1_700_000_000_000;
        let mut a = Admissions::default();
        let lease = view(3, 1);
        assert_eq!(a.admit(&lease, now, now, t0), Ok(()));
        assert_eq!(a.admit(&lease, now, now, t0), Err(GateError::ReplayedNonce));
        assert!(matches!(
            a.admit(&lease, now + 1, now, t0),
            Err(GateError::OverCapacity { .. })
        ));
        // Another lease has its own bucket and nonces.
        assert_eq!(a.admit(&view(4, 1), now, now, t0), Ok(()));
        // The refused nonce is still good once a token is back.
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(a.admit(&lease, now + 1, now + 1_000, t1), Ok(()));
        assert_eq!(
            a.admit(&lease, now + 1, now + 1_000, t1 + Duration::from_secs(5)),
            Err(GateError::ReplayedNonce)
        );
    }

    #[test]
    fn admissions_prune_old_nonces_without_reviving_them() {
        let t0 = Instant::now();
        let now = 1_700_000_000_000;
        let mut a = Admissions::default();
        let lease = view(3, 100);
        assert_eq!(a.admit(&lease, now, now, t0), Ok(()));
        // Later, the nonce is pruned; if the clock steps back it is still refused as stale.
        let later = now + FRESHNESS_MS + 1;
        assert_eq!(a.admit(&lease, later, later, t0), Ok(()));
        assert_eq!(a.leases.get(&3).map(|u| u.seen.len()), Some(1));
        assert_eq!(
            a.admit(&lease, now, now, t0),
            Err(GateError::StaleNonce { nonce: now, now })
        );
    }

    #[test]
    fn sweeping_drops_only_idle_leases() {
        let t0 = Instant::now();
        let now = 1_700_000_000_000;
        let mut a = Admissions::default();
        for id in 0..100 {
            assert_eq!(a.admit(&view(id, 1), now, now, t0), Ok(()));
        }
        // All are in use: nothing is dropped.
        a.sweep(now - FRESHNESS_MS, t0);
        assert_eq!(a.leases.len(), 100);
        // A minute later they are idle (no fresh nonce, full bucket) and go.
        let later = now + 2 * FRESHNESS_MS;
        a.sweep(later - FRESHNESS_MS, t0 + Duration::from_secs(60));
        assert!(a.leases.is_empty());
    }
}
