//! The synthetic MOS model of the built-in adapters.

use moshead_sdk::synth::{BaseFeatures, Rng};

/// The smoke-test MOS model of the prior art, on 1-5, before clamping:
/// `2.5 + 1.6 adm2 - 0.04 motion2 + 0.6 saliency + 0.3 vif_scale3 + noise`,
/// here with a mild non-linearity in `adm2` so a non-linear head can earn its
/// keep.
pub fn smoke_mos(rng: &mut Rng, f: &BaseFeatures, saliency_mean: f64) -> f64 {
    let adm = f.adm2;
    let v = 1.1 + 1.6 * adm + 1.2 * adm * adm - 0.04 * f.motion2
        + 0.6 * saliency_mean
        + 0.3 * f.vif[3]
        + rng.normal(0.0, 0.10);
    v.clamp(1.0, 5.0)
}
