//! Bootstrap models for libvmaf: `<id>_vmaf_b.json`, a libvmaf model
//! collection (`--export vmaf-bootstrap`).
//!
//! The layout is libvmaf's own (`model/vmaf_b_v0.6.3.json`, read by
//! libvmaf 2.3.1's `read_json_model.c`): keys `"0"`..`"N"` in order, each a
//! libvmaf model ([`super::vmaf`]) of type `BOOTSTRAP_LIBSVMNUSVR`. Model 0
//! is the shipped head; models 1..N are the head refitted, with the ship
//! head's hyper-parameters (the ridge penalty, the SVR's type, kernel,
//! `C`, `gamma`, `epsilon` / `nu`), on N cluster-bootstrap resamples of
//! the ship model's training rows: whole contents drawn with replacement
//! ([`ClusterBootstrap`], seeded, so the manifest and the file are
//! byte-reproducible). The refitted heads are recorded in the manifest
//! (`bootstrap`), so `moshead export` writes the same file again and
//! `moshead predict` computes the same values.
//!
//! `vmaf --model path=<id>_vmaf_b.json:name=NAME` loads model 0 as the
//! model `NAME` and models 1..N as the collection `NAME`, and writes per
//! frame (`src/predict.c`, `vmaf_bootstrap_predict_score_at_index`), from
//! the scores `s_1..s_N` of models 1..N *before* their clip:
//!
//! - `NAME_bagging`: the mean of `s_b`, then clipped;
//! - `NAME_stddev`: their population standard deviation (divided by N),
//!   times the slope of the clip at the mean, `(clip(mean + 0.01) -
//!   clip(mean - 0.01)) / 0.02`;
//! - `NAME_ci_p95_lo`, `NAME_ci_p95_hi`: the 2.5th and 97.5th percentiles
//!   of the sorted `s_b` (linear interpolation at `p (N - 1) / 100`), then
//!   clipped;
//!
//! and `NAME` (model 0, as `<id>_vmaf.json` scores) and `NAME_0001`..
//! `NAME_00NN` (each refitted head, clipped). [`scores`] computes the four
//! the same way from a row's features, for `moshead predict`.

use rayon::prelude::*;

use super::vmaf::{self, LibvmafModel};
use super::{Export, ExportError, SetContext, TrainContext, Written};
use crate::evaluation::folds;
use crate::evaluation::intervals::ClusterBootstrap;
use crate::manifest::{BootstrapModel, BootstrapRecord, HeadRecord, Manifest, TrainedOn};
use crate::training::{HeadKind, ResolvedSpec};

/// The `exports` key and `--export` value of the collection.
pub const EXPORT_VMAF_BOOTSTRAP: &str = "vmaf-bootstrap";
/// The refitted models by default.
pub const DEFAULT_MODELS: usize = 20;
/// The most refitted models (libvmaf names model `b` `NAME_%04d`).
pub const MAX_MODELS: usize = 1000;
/// Added to the run's seed for the resamples.
const SEED_OFFSET: u64 = 0x0062_6f6f_7473;

/// How the record's heads were made, as recorded.
const METHOD: &str = "cluster bootstrap over contents: each resample draws as many contents \
                      as the ship model's training rows have, with replacement, and takes every \
                      row of each; the head is refitted on it with the ship head's \
                      hyper-parameters";

/// The collection `<id>_vmaf_b.json` as an export of the set: written when
/// the manifest records refitted heads (`train --export vmaf-bootstrap`)
/// and libvmaf can evaluate the head.
#[derive(Debug, Clone, Copy)]
pub struct VmafBootstrap;

impl Export for VmafBootstrap {
    fn role(&self) -> &'static str {
        "vmaf_bootstrap"
    }
    fn recorded(&self) -> Option<&'static str> {
        Some(EXPORT_VMAF_BOOTSTRAP)
    }
    fn flag(&self) -> Option<&'static str> {
        Some(EXPORT_VMAF_BOOTSTRAP)
    }
    fn file_name(&self, id: &str) -> String {
        format!("{id}_vmaf_b.json")
    }
    fn what(&self) -> &'static str {
        "the model's libvmaf bootstrap collection"
    }
    fn head_refusal(&self, kind: HeadKind) -> Option<String> {
        vmaf::head_refusal(kind).map(|r| r.to_string())
    }
    fn check(&self, m: &Manifest) -> Result<(), String> {
        vmaf::check(m).map_err(|r| r.to_string())?;
        match &m.bootstrap {
            Some(b) if (1..=MAX_MODELS).contains(&b.models.len()) => Ok(()),
            Some(b) => Err(format!(
                "the manifest records {} bootstrap models; a collection holds 1 to {MAX_MODELS}",
                b.models.len()
            )),
            None => Err(
                "the manifest records no bootstrap models (train with --export vmaf-bootstrap)"
                    .into(),
            ),
        }
    }
    fn train(&self, m: &mut Manifest, cx: &TrainContext<'_>) -> Result<(), ExportError> {
        m.bootstrap = Some(refit(m, cx)?);
        Ok(())
    }
    fn write(&self, cx: &SetContext<'_>) -> Result<Written, ExportError> {
        let m = cx.manifest;
        if m.bootstrap.is_none() {
            return Ok(Written::Skipped);
        }
        match self.check(m) {
            Ok(()) => vmaf::collection_bytes(m, &members(m)).map(Written::Bytes),
            Err(why) => Ok(Written::Refused(why)),
        }
    }
    fn card_rows(&self, m: &Manifest) -> Vec<[String; 2]> {
        let (Some(r), Some(b)) = (m.exports.get(EXPORT_VMAF_BOOTSTRAP), &m.bootstrap) else {
            return Vec::new();
        };
        vec![[
            "libvmaf bootstrap collection".into(),
            format!(
                "[`{0}`]({0}), sha256 `{1}`: model 0 the head, {2} refitted on resamples of \
                 contents; `vmaf --model path={0}:name=NAME` writes `NAME_bagging`, \
                 `NAME_stddev`, `NAME_ci_p95_lo`, `NAME_ci_p95_hi`",
                r.path,
                r.sha256,
                b.models.len()
            ),
        ]]
    }
}

/// `m` with its head and standardisation replaced by each refitted one.
fn members(m: &Manifest) -> Vec<Manifest> {
    let Some(b) = &m.bootstrap else {
        return Vec::new();
    };
    b.models
        .iter()
        .map(|bm| {
            let mut one = m.clone();
            one.bootstrap = None;
            one.head = bm.head.clone();
            one.standardization = bm.standardization.clone();
            one
        })
        .collect()
}

/// The ship model's training rows of `cx.dataset`, as the manifest records
/// them.
fn ship_rows(m: &Manifest, cx: &TrainContext<'_>) -> Result<Vec<usize>, ExportError> {
    let ds = cx.dataset;
    match m.training.trained_on {
        TrainedOn::AllNonTestRows => Ok(folds::eligible(ds)),
        TrainedOn::TrainRows => folds::make_folds(ds, &m.validation.policy)
            .map_err(|e| ExportError::Head(e.to_string()))?
            .into_iter()
            .next()
            .map(|f| f.train)
            .ok_or_else(|| ExportError::Head("the explicit split has no fold".into())),
    }
}

/// Refits `m`'s head on `cx.bootstrap_models` resamples of its training
/// contents.
fn refit(m: &Manifest, cx: &TrainContext<'_>) -> Result<BootstrapRecord, ExportError> {
    vmaf::check(m).map_err(|r| ExportError::Head(r.to_string()))?;
    let n = cx.bootstrap_models;
    if !(1..=MAX_MODELS).contains(&n) {
        return Err(ExportError::Head(format!(
            "{n} bootstrap models: between 1 and {MAX_MODELS}"
        )));
    }
    // The ship head with its fitted hyper-parameters fixed, so a refit on
    // other rows searches nothing.
    let resolved: ResolvedSpec = (&m.head.spec).into();
    let spec = resolved.kind.head().refit(&resolved).ok_or_else(|| {
        ExportError::Head(format!(
            "the {} head cannot be refitted for libvmaf",
            m.head.spec.kind.as_str()
        ))
    })?;
    let ds = cx.dataset;
    let rows = ship_rows(m, cx)?;
    let seed = m.training.seed.wrapping_add(SEED_OFFSET);
    let groups: Vec<u32> = rows.iter().map(|&i| ds.group[i]).collect();
    let mut resamples: Vec<Vec<usize>> = Vec::with_capacity(n);
    ClusterBootstrap::new(&groups, seed).for_each(n, |idx| {
        resamples.push(idx.iter().map(|&k| rows[k]).collect());
    });
    cx.status.update(|| format!("bootstrap: refit {n} heads"));
    let models = resamples
        .par_iter()
        .enumerate()
        .map(|(b, idx)| {
            let fit_seed = seed.wrapping_add(b as u64 + 1);
            let head = spec
                .fit(ds.x.view(), &ds.mos, &ds.group, idx, fit_seed, cx.status)
                .map_err(|e| ExportError::Head(format!("bootstrap model {}: {e}", b + 1)))?;
            Ok(BootstrapModel {
                standardization: (&head.standardizer).into(),
                head: HeadRecord {
                    spec: (&head.spec).into(),
                    n_parameters: head.params.len(),
                    parameters: head.params,
                },
            })
        })
        .collect::<Result<Vec<_>, ExportError>>()?;
    Ok(BootstrapRecord {
        method: METHOD.into(),
        seed,
        models,
    })
}

/// The four per-frame values libvmaf writes for a collection, on the
/// adapter's native MOS scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CollectionScore {
    /// `_bagging`.
    pub bagging: f64,
    /// `_stddev`.
    pub stddev: f64,
    /// `_ci_p95_lo`.
    pub ci_p95_lo: f64,
    /// `_ci_p95_hi`.
    pub ci_p95_hi: f64,
}

impl CollectionScore {
    /// The values by their libvmaf suffix (without the leading `_`).
    pub fn named(&self) -> [(&'static str, f64); 4] {
        [
            ("bagging", self.bagging),
            ("stddev", self.stddev),
            ("ci_p95_lo", self.ci_p95_lo),
            ("ci_p95_hi", self.ci_p95_hi),
        ]
    }
}

/// libvmaf's percentile of sorted `s` (`predict.c`'s `percentile`).
fn percentile(s: &[f64], perc: f64) -> f64 {
    let p = perc * (s.len() as f64 - 1.0) / 100.0;
    let (l, r) = (p.floor(), p.ceil());
    let (il, ir) = (l as usize, r as usize);
    if il == ir {
        s[il]
    } else {
        s[il] * (r - p) + s[ir] * (p - l)
    }
}

/// The four values of the unclipped scores `s` of models 1..N (at least
/// one), clipped to `clip` as libvmaf clips them.
pub fn combine(s: &[f64], clip: [f64; 2]) -> CollectionScore {
    let c = |v: f64| v.max(clip[0]).min(clip[1]);
    let n = s.len() as f64;
    let mean = s.iter().sum::<f64>() / n;
    let ssd: f64 = s.iter().map(|v| (v - mean).powi(2)).sum();
    let delta = 0.01;
    let slope = (c(mean + delta) - c(mean - delta)) / (2.0 * delta);
    let mut sorted = s.to_vec();
    sorted.sort_by(f64::total_cmp);
    CollectionScore {
        bagging: c(mean),
        stddev: (ssd / n).sqrt() * slope,
        ci_p95_lo: c(percentile(&sorted, 2.5)),
        ci_p95_hi: c(percentile(&sorted, 97.5)),
    }
}

/// The collection's four values for each row of raw features `x` (in the
/// manifest's feature order), as libvmaf computes them; `None` when `m`
/// records no bootstrap models.
pub fn scores(m: &Manifest, x: &[Vec<f64>]) -> Result<Option<Vec<CollectionScore>>, ExportError> {
    if m.bootstrap.is_none() {
        return Ok(None);
    }
    VmafBootstrap.check(m).map_err(ExportError::Head)?;
    let models: Vec<LibvmafModel> = members(m)
        .iter()
        .map(LibvmafModel::of)
        .collect::<Result<_, _>>()?;
    let Some(clip) = models.first().map(LibvmafModel::clip) else {
        return Ok(None);
    };
    Ok(Some(
        x.iter()
            .map(|row| {
                let s: Vec<f64> = models.iter().map(|b| b.unclipped(row)).collect();
                combine(&s, clip)
            })
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-computed against `predict.c`: N = 4 scores on a 0-100 clip.
    #[test]
    fn the_four_values_follow_libvmaf() {
        let s = [10.0, 30.0, 20.0, 40.0];
        let got = combine(&s, [0.0, 100.0]);
        assert_eq!(got.bagging, 25.0);
        // Population SD: sqrt((225 + 25 + 25 + 225) / 4), times the clip's
        // slope at the mean, 1 up to the rounding of (25.01 - 24.99) / 0.02
        // (libvmaf's own arithmetic).
        assert!((got.stddev - 125f64.sqrt()).abs() < 1e-9, "{got:?}");
        assert_ne!(got.stddev, 0.0);
        // Sorted 10, 20, 30, 40: p = 2.5 * 3 / 100 = 0.075 -> 10 + 0.075 * 10;
        // p = 97.5 * 3 / 100 = 2.925 -> 30 + 0.925 * 10.
        assert!((got.ci_p95_lo - 10.75).abs() < 1e-12, "{got:?}");
        assert!((got.ci_p95_hi - 39.25).abs() < 1e-12, "{got:?}");
        // The clip: the mean at the upper end halves the SD (the slope of
        // the clip there is 1/2), and clips the interval's upper end.
        let got = combine(&[90.0, 110.0], [0.0, 100.0]);
        assert_eq!(got.bagging, 100.0);
        assert!((got.stddev - 5.0).abs() < 1e-9, "{got:?}");
        assert_eq!(got.ci_p95_hi, 100.0);
        assert!((got.ci_p95_lo - 90.5).abs() < 1e-12, "{got:?}");
        // Past the clip the slope is 0.
        assert_eq!(combine(&[120.0, 140.0], [0.0, 100.0]).stddev, 0.0);
        // One model: every value is its score.
        let one = combine(&[42.0], [0.0, 100.0]);
        assert_eq!(
            (one.bagging, one.stddev, one.ci_p95_lo, one.ci_p95_hi),
            (42.0, 0.0, 42.0, 42.0)
        );
    }
}
