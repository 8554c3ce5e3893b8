//! How the gateway picks a miner for a request: in proportion to on-chain incentive, among
//! the miners that are healthy and advertise an endpoint; while no healthy miner has
//! incentive yet (a new subnet), uniformly among the healthy ones. A failed request is retried
//! on another miner: [`Router::pick`] takes the miners already tried.
//!
//! The draw is a number the caller supplies (uniform in `0..u64::MAX`), so the function is
//! pure and tests can steer it.

use serde::{Deserialize, Serialize};

/// A miner as the gateway sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    /// Its uid.
    pub uid: u16,
    /// Its base URL (`ServeEndpoint`).
    pub endpoint: String,
    /// Its incentive from the last epoch, u16 proportion.
    pub incentive: u16,
    /// Whether its last health check passed.
    pub healthy: bool,
}

/// The routing table: the subnet's miners from the last metagraph.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Router {
    /// The candidates.
    pub candidates: Vec<Candidate>,
}

impl Router {
    /// The candidate for a request, given a uniform `draw` and the uids already tried;
    /// `None` when no healthy, untried miner is left.
    pub fn pick(&self, draw: u64, tried: &[u16]) -> Option<&Candidate> {
        let open: Vec<&Candidate> = self
            .candidates
            .iter()
            .filter(|c| c.healthy && !c.endpoint.is_empty() && !tried.contains(&c.uid))
            .collect();
        let total: u64 = open.iter().map(|c| u64::from(c.incentive)).sum();
        if total == 0 {
            let n = u64::try_from(open.len()).ok().filter(|n| *n > 0)?;
            let i = usize::try_from(scale(draw, n)).ok()?;
            return open.get(i).copied();
        }
        let mut at = scale(draw, total);
        for c in &open {
            let w = u64::from(c.incentive);
            if at < w {
                return Some(c);
            }
            at -= w;
        }
        open.last().copied()
    }
}

/// Maps a uniform `draw` in `0..=u64::MAX` onto `0..n` without modulo bias worth measuring.
fn scale(draw: u64, n: u64) -> u64 {
    u64::try_from((u128::from(draw) * u128::from(n)) >> 64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn c(uid: u16, incentive: u16, healthy: bool) -> Candidate {
        Candidate {
            uid,
            endpoint: format!("http://127.0.0.1:{}", 9000 + uid),
            incentive,
            healthy,
        }
    }

    #[test]
    fn traffic_follows_incentive_and_skips_the_unhealthy_and_the_tried() {
        let r = Router {
            candidates: vec![
                c(1, 30_000, true),
                c(2, 10_000, true),
                c(3, 0, true),
                c(4, 50_000, false),
            ],
        };
        let mut counts = [0u32; 5];
        let n = 4_000u64;
        for i in 0..n {
            let draw = (u64::MAX / n) * i;
            counts[usize::from(r.pick(draw, &[]).unwrap().uid)] += 1;
        }
        assert_eq!(counts[4], 0, "unhealthy");
        assert_eq!(
            counts[3], 0,
            "no incentive, no traffic once others have some"
        );
        assert!((2_950..=3_050).contains(&counts[1]), "{counts:?}");
        assert!((950..=1_050).contains(&counts[2]), "{counts:?}");
        // A retry goes elsewhere; with everyone tried there is nobody left.
        assert_eq!(r.pick(0, &[1]).unwrap().uid, 2);
        assert_eq!(
            r.pick(0, &[1, 2]).unwrap().uid,
            3,
            "the zero-incentive one as last resort"
        );
        assert!(r.pick(0, &[1, 2, 3]).is_none());
    }

    #[test]
    fn a_new_subnet_routes_uniformly() {
        let r = Router {
            candidates: vec![c(1, 0, true), c(2, 0, true)],
        };
        assert_eq!(r.pick(0, &[]).unwrap().uid, 1);
        assert_eq!(r.pick(u64::MAX, &[]).unwrap().uid, 2);
        assert!(Router::default().pick(7, &[]).is_none());
    }

    proptest! {
        #[test]
        fn picks_only_open_candidates(
            cands in prop::collection::vec((0u16..20, 0u16..=u16::MAX, any::<bool>(), any::<bool>()), 0..12),
            tried in prop::collection::vec(0u16..20, 0..5),
            draw: u64,
        ) {
            let r = Router { candidates: cands.iter().map(|(u, i, h, e)| Candidate {
                uid: *u, endpoint: if *e { "http://x".into() } else { String::new() }, incentive: *i, healthy: *h,
            }).collect() };
            match r.pick(draw, &tried) {
                Some(c) => prop_assert!(c.healthy && !c.endpoint.is_empty() && !tried.contains(&c.uid)),
                None => prop_assert!(r.candidates.iter().all(|c| !c.healthy || c.endpoint.is_empty() || tried.contains(&c.uid))),
            }
        }
    }
}
