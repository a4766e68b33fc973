//! The corpora of `moshead-bench accuracy`: the development set read from
//! its CSV, and generated stress corpora that reproduce what real ones do.
//!
//! Every generator is seeded ([`crate::support::BENCH_SEED`]) and builds a
//! [`Dataset`] in memory (no plugin involved: these corpora test the heads,
//! not ingestion).

use std::path::Path;

use anyhow::{bail, Context as _};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use moshead::corpus::Dataset;
use moshead::training::heads::sigmoid;

/// A benchmark corpus and what was done to it before training.
pub struct BenchCorpus {
    /// Its name in the tables.
    pub name: String,
    /// What it reproduces.
    pub about: String,
    /// The rows.
    pub dataset: Dataset,
    /// The (row, column) of each non-finite feature value, replaced by its
    /// column's median.
    pub filled: Vec<(usize, usize)>,
}

/// Replaces non-finite values by the median of the column's finite values
/// (0 for a column with none); returns where, as (row, column). The bench
/// does this once per corpus, before any split: it uses features only,
/// never MOS (VIDEVAL's scripts set them to 0 instead; the practitioner's
/// recipe of [`crate::recipe`] does so too).
pub fn fill_non_finite(x: &mut Array2<f64>) -> Vec<(usize, usize)> {
    let mut filled = Vec::new();
    for (j, mut col) in x.columns_mut().into_iter().enumerate() {
        let mut finite: Vec<f64> = col.iter().copied().filter(|v| v.is_finite()).collect();
        if finite.len() == col.len() {
            continue;
        }
        finite.sort_by(f64::total_cmp);
        let median = if finite.is_empty() {
            0.0
        } else {
            finite[finite.len() / 2]
        };
        for (i, v) in col.iter_mut().enumerate().filter(|(_, v)| !v.is_finite()) {
            *v = median;
            filled.push((i, j));
        }
    }
    filled
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    StandardNormal.sample(rng)
}

/// The development set: VIDEVAL's 60 features of 1,380 YouTube-UGC clips
/// with MOS 1-5; every clip its own content. `Ok(None)` when the file is
/// absent.
pub fn dev_set(path: &Path) -> anyhow::Result<Option<BenchCorpus>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("{}: cannot read", path.display())),
    };
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .with_context(|| format!("{}: empty", path.display()))?
        .split(',')
        .collect();
    let mos_col = header
        .iter()
        .position(|c| *c == "mos")
        .with_context(|| format!("{}:1: no `mos` column", path.display()))?;
    let feats: Vec<usize> = (0..header.len())
        .filter(|&j| header[j].starts_with("videval_"))
        .collect();
    if feats.is_empty() {
        bail!("{}:1: no `videval_*` columns", path.display());
    }
    let mut x = Vec::new();
    let mut mos = Vec::new();
    for (n, line) in lines.enumerate() {
        let cells: Vec<&str> = line.split(',').collect();
        if cells.len() != header.len() {
            bail!(
                "{}:{}: {} cells, the header has {}",
                path.display(),
                n + 2,
                cells.len(),
                header.len()
            );
        }
        let num = |j: usize| -> anyhow::Result<f64> {
            let c = cells[j].trim();
            match c.to_ascii_lowercase().as_str() {
                "nan" | "" => Ok(f64::NAN),
                "inf" | "+inf" => Ok(f64::INFINITY),
                "-inf" => Ok(f64::NEG_INFINITY),
                _ => c.parse().with_context(|| {
                    format!(
                        "{}:{}: `{}` in column `{}` is not a number",
                        path.display(),
                        n + 2,
                        c,
                        header[j]
                    )
                }),
            }
        };
        let m = num(mos_col)?;
        if !(1.0..=5.0).contains(&m) {
            bail!("{}:{}: MOS {m} is outside 1-5", path.display(), n + 2);
        }
        mos.push(m);
        for &j in &feats {
            x.push(num(j)?);
        }
    }
    let rows = mos.len();
    let mut x = Array2::from_shape_vec((rows, feats.len()), x)?;
    let filled = fill_non_finite(&mut x);
    let columns = feats.iter().map(|&j| header[j].to_owned()).collect();
    Ok(Some(BenchCorpus {
        name: "dev-set".into(),
        about: format!(
            "YouTube-UGC VIDEVAL features ({rows} clips x {} features, every clip its own content)",
            feats.len()
        ),
        dataset: Dataset::generated("bench", columns, x, mos, (0..rows as u32).collect()),
        filled,
    }))
}

/// 9 contents x 8 clips, 6 correlated VMAF-like features, DMOS 0-110
/// (mapped to 1-5 as `5 - 4 DMOS / 110`): the small DMOS corpus.
pub fn small(seed: u64) -> BenchCorpus {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x0073_6d61_6c6c);
    let (contents, clips, f) = (9usize, 8usize, 6usize);
    let mut x = Array2::zeros((contents * clips, f));
    let mut mos = Vec::new();
    let mut group = Vec::new();
    for g in 0..contents {
        let difficulty = normal(&mut rng);
        let texture: f64 = rng.gen_range(0.0..1.0);
        for c in 0..clips {
            let i = g * clips + c;
            let level = c as f64 / (clips - 1) as f64 + rng.gen_range(-0.05..0.05);
            let quality = 1.0 - level * (0.75 + 0.25 * texture) + 0.08 * difficulty;
            let dmos = (110.0 * (1.0 - quality) + 7.0 * normal(&mut rng)).clamp(0.0, 110.0);
            mos.push(5.0 - 4.0 * dmos / 110.0);
            group.push(g as u32);
            let shared = quality + 0.04 * normal(&mut rng);
            for j in 0..f {
                let gain = 0.6 + 0.1 * j as f64;
                let v = gain * shared + 0.3 * (j % 2) as f64 * texture + 0.06 * normal(&mut rng);
                // Saturating, like VIF and ADM scores near transparency.
                x[[i, j]] = if j < 3 { sigmoid(3.0 * v) } else { v };
            }
        }
    }
    BenchCorpus {
        name: "small".into(),
        about: "9 contents x 8 clips, 6 correlated features, DMOS-like 0-110".into(),
        dataset: Dataset::generated(
            "bench",
            (0..f).map(|j| format!("f{j}")).collect(),
            x,
            mos,
            group,
        ),
        filled: Vec::new(),
    }
}

/// 1,200 clips x 60 features, every clip its own content: 30 noisy mixes
/// of 5 latent factors, 30 pure noise, 2 % of rows with a non-finite value
/// (filled with the column median).
pub fn wide_noisy(seed: u64) -> BenchCorpus {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7769_6465);
    let (n, f, k) = (1200usize, 60usize, 5usize);
    let mix: Vec<f64> = (0..30 * k).map(|_| normal(&mut rng)).collect();
    let w: Vec<f64> = (0..k).map(|_| normal(&mut rng) * 0.6).collect();
    let mut x = Array2::zeros((n, f));
    let mut mos = Vec::with_capacity(n);
    for i in 0..n {
        let z: Vec<f64> = (0..k).map(|_| normal(&mut rng)).collect();
        let lin: f64 = z.iter().zip(&w).map(|(a, b)| a * b).sum();
        let t = lin + 0.3 * z[0] * z[1] + 0.45 * normal(&mut rng);
        mos.push(1.0 + 4.0 * sigmoid(t));
        for j in 0..30 {
            let noise = 0.5 + j as f64 / 15.0;
            let s: f64 = (0..k).map(|m| mix[j * k + m] * z[m]).sum();
            x[[i, j]] = s + noise * normal(&mut rng);
        }
        for j in 30..f {
            x[[i, j]] = normal(&mut rng);
        }
        if rng.gen_range(0.0..1.0) < 0.02 {
            let j = rng.gen_range(0..f);
            x[[i, j]] = if j % 2 == 0 { f64::NAN } else { f64::INFINITY };
        }
    }
    let filled = fill_non_finite(&mut x);
    BenchCorpus {
        name: "wide-noisy".into(),
        about: "1,200 clips x 60 features (30 noisy mixes, 30 noise), 2% non-finite".into(),
        dataset: Dataset::generated(
            "bench",
            (0..f).map(|j| format!("f{j:02}")).collect(),
            x,
            mos,
            (0..n as u32).collect(),
        ),
        filled,
    }
}

/// 200 contents x 5 clips, 8 features of which 4 matter through a strongly
/// non-linear function (a sine, an interaction, a square).
pub fn non_linear(seed: u64) -> BenchCorpus {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6e6f_6e6c);
    let (contents, clips, f) = (200usize, 5usize, 8usize);
    let n = contents * clips;
    let mut x = Array2::zeros((n, f));
    let mut mos = Vec::with_capacity(n);
    let mut group = Vec::with_capacity(n);
    for g in 0..contents {
        let offset = 0.25 * normal(&mut rng);
        for c in 0..clips {
            let i = g * clips + c;
            let v: Vec<f64> = (0..f).map(|_| rng.gen_range(-2.0..2.0)).collect();
            let t = 1.5 * (2.0 * v[0]).sin() + v[1] * v[2] - 0.5 * v[3] * v[3] + 0.6 + offset;
            mos.push((1.0 + 4.0 * sigmoid(t) + 0.15 * normal(&mut rng)).clamp(1.0, 5.0));
            group.push(g as u32);
            for (j, val) in v.into_iter().enumerate() {
                x[[i, j]] = val;
            }
        }
    }
    BenchCorpus {
        name: "non-linear".into(),
        about: "200 contents x 5 clips, 8 features, sine + interaction + square".into(),
        dataset: Dataset::generated(
            "bench",
            (0..f).map(|j| format!("f{j}")).collect(),
            x,
            mos,
            group,
        ),
        filled: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_corpora_have_their_shapes_and_are_seeded() {
        let s = small(1);
        assert_eq!(s.dataset.x.dim(), (72, 6));
        assert_eq!(s.dataset.group_names.len(), 9);
        assert!(s.dataset.mos.iter().all(|m| (1.0..=5.0).contains(m)));
        assert_eq!(small(1).dataset.mos, s.dataset.mos);
        let w = wide_noisy(1);
        assert_eq!(w.dataset.x.dim(), (1200, 60));
        assert!(!w.filled.is_empty());
        assert!(w.dataset.x.iter().all(|v| v.is_finite()));
        assert_eq!(non_linear(1).dataset.group_names.len(), 200);
    }

    #[test]
    fn fill_uses_the_column_median() {
        let mut x = Array2::from_shape_vec(
            (4, 2),
            vec![1.0, f64::NAN, 2.0, 5.0, f64::INFINITY, 7.0, 9.0, 6.0],
        )
        .unwrap();
        assert_eq!(fill_non_finite(&mut x), vec![(2, 0), (0, 1)]);
        assert_eq!(x[[2, 0]], 2.0); // finite 1, 2, 9 -> median 2
        assert_eq!(x[[0, 1]], 6.0); // finite 5, 6, 7 -> median 6
    }
}
