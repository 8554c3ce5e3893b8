//! The validator's scoring function.
//!
//! Each tempo a validator sends every miner fresh challenges (inputs nobody has seen before,
//! so cached answers cannot pass) and checks each answer against its own computation. A
//! miner's tempo comes down to `correct` of `total` answers and the median latency of the
//! correct ones. Its score is
//!
//! ```text
//! score = accuracy⁴ · speed,   accuracy = correct / total,   speed = L / (L + median_latency)
//! ```
//!
//! with `L` the reference latency (the latency at which speed is ½). The fourth power makes
//! partial cheating unprofitable: a miner that answers half the challenges wrongly keeps 1/16
//! of an honest miner's score at the same speed, and one that is always wrong gets 0. Speed
//! separates honest miners smoothly: twice as slow never means zero.
//!
//! Everything is integer arithmetic on parts per million, so two validators with the same
//! observations compute the same weights. Weights are the scores scaled so the best miner
//! gets 65 535 (subtensor's max-upscaling; the chain normalises rows anyway).

use serde::{Deserialize, Serialize};

/// One on a parts-per-million scale.
pub const PPM: u64 = 1_000_000;

/// What a validator observed of one miner during a tempo.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observation {
    /// The miner's uid.
    pub uid: u16,
    /// Challenges sent.
    pub total: u32,
    /// Answers that matched the validator's own computation.
    pub correct: u32,
    /// Latencies of the correct answers, in microseconds.
    pub latencies_us: Vec<u64>,
}

/// The scoring function's one parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scoring {
    /// The latency at which speed is ½, in microseconds.
    pub reference_latency_us: u64,
}

impl Default for Scoring {
    fn default() -> Self {
        Scoring {
            reference_latency_us: 200_000,
        }
    }
}

/// The median of `v` (the lower middle for an even count); `None` when empty.
pub fn median(v: &[u64]) -> Option<u64> {
    let mut v = v.to_vec();
    v.sort_unstable();
    v.get(v.len().checked_sub(1)? / 2).copied()
}

impl Scoring {
    /// `accuracy` in ppm.
    pub fn accuracy_ppm(o: &Observation) -> u64 {
        if o.total == 0 {
            return 0;
        }
        u64::from(o.correct.min(o.total)) * PPM / u64::from(o.total)
    }

    /// `speed` in ppm: `L / (L + median latency)`; 0 without a correct answer.
    pub fn speed_ppm(&self, o: &Observation) -> u64 {
        let Some(m) = median(&o.latencies_us) else {
            return 0;
        };
        let l = u128::from(self.reference_latency_us.max(1));
        let s = l * u128::from(PPM) / (l + u128::from(m));
        u64::try_from(s).unwrap_or(PPM)
    }

    /// The score in ppm: `accuracy⁴ · speed`.
    pub fn score_ppm(&self, o: &Observation) -> u64 {
        let a = u128::from(Self::accuracy_ppm(o));
        let p = u128::from(PPM);
        let a4 = a * a / p * a / p * a / p;
        let s = a4 * u128::from(self.speed_ppm(o)) / p;
        u64::try_from(s).unwrap_or(PPM)
    }

    /// The weights to commit: `(uid, weight)` for every miner with a positive score, the best
    /// at 65 535 and the others in proportion (rounded down, at least 1). Empty when nobody
    /// scored.
    pub fn weights(&self, observations: &[Observation]) -> Vec<(u16, u16)> {
        let scores: Vec<(u16, u64)> = observations
            .iter()
            .map(|o| (o.uid, self.score_ppm(o)))
            .filter(|(_, s)| *s > 0)
            .collect();
        let Some(best) = scores.iter().map(|(_, s)| *s).max() else {
            return Vec::new();
        };
        let mut w: Vec<(u16, u16)> = scores
            .into_iter()
            .map(|(uid, s)| {
                let v = u128::from(s) * u128::from(u16::MAX) / u128::from(best);
                (uid, u16::try_from(v).unwrap_or(u16::MAX).max(1))
            })
            .collect();
        w.sort_unstable();
        w
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn obs(uid: u16, total: u32, correct: u32, latency_ms: u64) -> Observation {
        Observation {
            uid,
            total,
            correct,
            latencies_us: vec![latency_ms * 1_000; correct as usize],
        }
    }

    #[test]
    fn honest_miners_rank_by_speed_and_cheaters_fall_away() {
        let s = Scoring::default();
        let fast = obs(1, 8, 8, 20);
        let slow = obs(2, 8, 8, 400);
        let wrong = obs(3, 8, 0, 5);
        let half = obs(4, 8, 4, 20);
        let w = s.weights(&[fast.clone(), slow.clone(), wrong, half.clone()]);
        assert_eq!(w.len(), 3, "the always-wrong miner gets no weight: {w:?}");
        let get = |uid| w.iter().find(|(u, _)| *u == uid).unwrap().1;
        assert_eq!(get(1), u16::MAX);
        assert!(
            get(2) < get(1) && get(2) > get(1) / 4,
            "slow is not zero: {w:?}"
        );
        assert_eq!(get(4), u16::MAX / 16, "half wrong keeps 1/16: {w:?}");
        assert_eq!(Scoring::accuracy_ppm(&half), PPM / 2);
        assert_eq!(s.speed_ppm(&obs(5, 1, 1, 200)), PPM / 2);
    }

    #[test]
    fn nothing_observed_nothing_weighted() {
        let s = Scoring::default();
        assert!(s.weights(&[]).is_empty());
        assert!(s.weights(&[obs(1, 0, 0, 1), obs(2, 5, 0, 1)]).is_empty());
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3, 1, 2, 4]), Some(2));
    }

    proptest! {
        #[test]
        fn weights_are_bounded_monotone_and_never_panic(
            seen in prop::collection::vec((0u32..50, 0u32..60, prop::collection::vec(0u64..10_000_000, 0..20)), 0..20),
            l in 0u64..10_000_000,
        ) {
            let s = Scoring { reference_latency_us: l };
            let o: Vec<Observation> = seen.iter().enumerate().map(|(i, (t, c, lat))| Observation {
                uid: i as u16, total: *t, correct: *c, latencies_us: lat.clone(),
            }).collect();
            let w = s.weights(&o);
            for (uid, v) in &w {
                prop_assert!(*v >= 1);
                prop_assert!(s.score_ppm(&o[usize::from(*uid)]) > 0);
            }
            if !w.is_empty() {
                prop_assert_eq!(w.iter().map(|(_, v)| *v).max(), Some(u16::MAX));
            }
            // One more correct answer at the same latency never lowers a score.
            for x in &o {
                let mut better = x.clone();
                if better.correct < better.total {
                    better.correct += 1;
                    better.latencies_us.push(median(&x.latencies_us).unwrap_or(1));
                    prop_assert!(s.score_ppm(&better) >= s.score_ppm(x) || x.correct > x.total);
                }
            }
        }
    }
}
