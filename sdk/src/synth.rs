//! Helpers for synthetic corpora: a seeded generator and the base VMAF
//! feature model both built-in adapters share.
//!
//! Synthetic rows are for exercising every path without the real data. They
//! are plausible, not realistic: a latent per-clip quality drives correlated
//! features and the MOS, with label noise, so a head can learn them but not
//! perfectly.

use rand::{Rng as _, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// A seeded, portable random generator (ChaCha8: identical streams on every
/// platform for a given seed).
pub struct Rng(ChaCha8Rng);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(ChaCha8Rng::seed_from_u64(seed))
    }

    /// A uniform draw from `[lo, hi)`.
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.0.gen::<f64>()
    }

    /// A normal draw.
    pub fn normal(&mut self, mean: f64, sd: f64) -> f64 {
        Normal::new(mean, sd.abs())
            .map(|n| n.sample(&mut self.0))
            .unwrap_or(mean)
    }

    /// A uniform index below `n` (0 when `n` is 0).
    pub fn index(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            self.0.gen_range(0..n)
        }
    }

    /// A hex string of `n` random bytes (for fake content hashes).
    pub fn hex(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| format!("{:02x}", self.0.gen::<u8>()))
            .collect()
    }
}

/// The canonical VMAF features of one synthetic clip.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BaseFeatures {
    /// `adm2`.
    pub adm2: f64,
    /// `vif_scale0..3`.
    pub vif: [f64; 4],
    /// `motion2`.
    pub motion2: f64,
}

impl BaseFeatures {
    /// The six canonical features by name.
    pub fn named(&self) -> [(&'static str, f64); 6] {
        [
            ("adm2", self.adm2),
            ("vif_scale0", self.vif[0]),
            ("vif_scale1", self.vif[1]),
            ("vif_scale2", self.vif[2]),
            ("vif_scale3", self.vif[3]),
            ("motion2", self.motion2),
        ]
    }
}

/// Features of a clip with latent fidelity `q` in [0, 1] (0: destroyed, 1:
/// transparent) and motion `motion` (0-30), with measurement noise.
pub fn base_features(rng: &mut Rng, q: f64, motion: f64) -> BaseFeatures {
    let q = q.clamp(0.0, 1.0);
    let mut noisy = |v: f64, sd: f64, lo: f64, hi: f64| (v + rng.normal(0.0, sd)).clamp(lo, hi);
    BaseFeatures {
        adm2: noisy(0.40 + 0.60 * q.powf(0.7), 0.02, 0.0, 1.0),
        vif: [
            noisy(0.20 + 0.75 * q.powf(1.6), 0.03, 0.0, 1.0),
            noisy(0.30 + 0.65 * q.powf(1.3), 0.025, 0.0, 1.0),
            noisy(0.40 + 0.57 * q.powf(1.1), 0.02, 0.0, 1.0),
            noisy(0.50 + 0.48 * q, 0.02, 0.0, 1.0),
        ],
        motion2: noisy(motion, 0.5, 0.0, 40.0),
    }
}

/// Per-frame statistics of a feature with mean `v`: `(p10, p90, std)`.
pub fn frame_stats(rng: &mut Rng, v: f64) -> (f64, f64, f64) {
    let std = rng.uniform(0.005, 0.05) * v.abs().max(0.05);
    (v - 1.28 * std, v + 1.28 * std, std)
}

/// Formats a float for JSON output with a fixed number of decimals, so that
/// generated corpora are byte-stable and compact.
pub fn round(v: f64, decimals: i32) -> f64 {
    let p = 10f64.powi(decimals);
    (v * p).round() / p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generator_is_deterministic() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        for _ in 0..10 {
            assert_eq!(a.uniform(0.0, 1.0), b.uniform(0.0, 1.0));
        }
        assert_ne!(Rng::new(7).uniform(0.0, 1.0), Rng::new(8).uniform(0.0, 1.0));
    }

    #[test]
    fn features_rise_with_fidelity() {
        let mut rng = Rng::new(1);
        let lo = base_features(&mut rng, 0.1, 5.0);
        let hi = base_features(&mut rng, 0.9, 5.0);
        assert!(hi.adm2 > lo.adm2 && hi.vif[0] > lo.vif[0]);
    }
}
