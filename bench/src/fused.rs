//! `moshead-bench fused`: the fused-metrics corpus (issue 27). A coding
//! study whose features are a handful of strongly collinear full-reference
//! scores (VMAF-, VMAF-NEG-, SSIM- and PSNR-like), one of them close to the
//! MOS, about 20 sources with strong per-source offsets (the MOS of a
//! source sits above or below what its scores say; PSNR and SSIM carry a
//! content offset of their own), 430 clips, grouped 5-fold, pooled
//! out-of-fold PLCC. Printed for `auto`, the fixed `svr`, VMAF's own recipe
//! (`vmaf-recipe`), the best single feature linearly mapped (`input`) and
//! ridge, over several generated corpora (seeds), with the target: `auto`'s
//! pooled PLCC at least that of the best single feature and of VMAF's
//! recipe. Figures, not tests.

use std::time::Instant;

use clap::Args;
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use moshead::cli::EXIT_OK;
use moshead::corpus::Dataset;
use moshead::evaluation::folds::{make_folds, Policy, PolicyKind, DEFAULT_SEED};
use moshead::evaluation::plcc;
use moshead::selection::{AutoConfig, HeadChoice};
use moshead::training::heads::sigmoid;
use moshead::training::heads::svr::vmaf_recipe;
use moshead::training::{HeadKind, HeadSpec, Status};

/// Arguments of `moshead-bench fused`.
#[derive(Debug, Args)]
pub struct FusedArgs {
    /// Generated corpora (seeds 1..=N).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    corpora: u64,
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    StandardNormal.sample(rng)
}

/// The fused-metrics corpus of seed `seed`: 20 sources of 21-22 clips
/// (430), features `vmaf`, `vmaf_neg`, `ssim`, `psnr`.
pub fn corpus(seed: u64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x0066_7573_6564);
    let (sources, f) = (20usize, 4usize);
    let mut rows: Vec<[f64; 4]> = Vec::new();
    let (mut mos, mut group) = (Vec::new(), Vec::new());
    for s in 0..sources {
        let clips = if s < 10 { 22 } else { 21 };
        // What the scores do not see: the source's own MOS offset.
        let mos_offset = 0.3 * normal(&mut rng);
        let psnr_offset = 5.0 * normal(&mut rng);
        let ssim_offset = 0.03 * normal(&mut rng);
        let difficulty = 0.15 * normal(&mut rng);
        for c in 0..clips {
            let level = c as f64 / (clips - 1) as f64 + rng.gen_range(-0.03..0.03);
            let q = level + difficulty + 0.06 * normal(&mut rng);
            let m = 1.0 + 4.0 * sigmoid(4.0 * (q - 0.45)) + mos_offset + 0.18 * normal(&mut rng);
            mos.push(m.clamp(1.0, 5.0));
            group.push(s as u32);
            let vmaf =
                (100.0 * sigmoid(4.5 * (q - 0.4)) + 3.0 * normal(&mut rng)).clamp(0.0, 100.0);
            let neg = vmaf - 4.0 * sigmoid(3.0 * (q - 0.2)) + 1.5 * normal(&mut rng);
            let ssim =
                (1.0 - 0.3 * (-2.5 * q).exp() + ssim_offset + 0.01 * normal(&mut rng)).min(1.0);
            let psnr = 26.0 + 16.0 * q + psnr_offset + 1.2 * normal(&mut rng);
            rows.push([vmaf, neg, ssim, psnr]);
        }
    }
    let x = Array2::from_shape_fn((rows.len(), f), |(i, j)| rows[i][j]);
    Dataset::generated(
        "bench",
        ["vmaf", "vmaf_neg", "ssim", "psnr"]
            .map(String::from)
            .to_vec(),
        x,
        mos,
        group,
    )
}

/// Pooled out-of-fold PLCC of `choice` over grouped 5-fold on `ds`, and
/// what auto chose per fold.
fn pooled(ds: &Dataset, choice: &HeadChoice) -> anyhow::Result<(f64, Vec<String>)> {
    let policy = Policy {
        kind: PolicyKind::Kfold,
        k: 5,
        repeats: 1,
        eval_fraction: 0.2,
        seed: DEFAULT_SEED,
    };
    let folds = make_folds(ds, &policy)?;
    let (mut pred, mut mos, mut chosen) = (Vec::new(), Vec::new(), Vec::new());
    let quiet = Status::silent();
    for f in &folds {
        let (head, record) = choice.fit(ds, &f.train, f.seed, &quiet)?;
        pred.extend(head.predict_rows(ds.x.view(), &f.eval));
        mos.extend(f.eval.iter().map(|&i| ds.mos[i]));
        if let Some(r) = record {
            chosen.push(r.chosen);
        }
    }
    Ok((plcc(&pred, &mos).unwrap_or(f64::NAN), chosen))
}

/// Runs the benchmark.
pub fn run(args: FusedArgs) -> anyhow::Result<u8> {
    let heads: Vec<(&str, HeadChoice)> = vec![
        ("auto", HeadChoice::Auto(AutoConfig::default())),
        ("svr", HeadChoice::Fixed(HeadSpec::new(HeadKind::Svr))),
        ("vmaf-recipe", HeadChoice::Fixed(vmaf_recipe())),
        ("input", HeadChoice::Fixed(HeadSpec::new(HeadKind::Input))),
        ("ridge", HeadChoice::Fixed(HeadSpec::new(HeadKind::Ridge))),
    ];
    println!("fused-metrics corpora: 20 sources, 430 clips, 4 collinear FR scores, grouped 5-fold, pooled OOF PLCC");
    print!("{:>6}", "seed");
    for (name, _) in &heads {
        print!(" {name:>12}");
    }
    println!("  auto >= input & vmaf-recipe   auto's choices");
    let (mut met, mut total) = (0, 0);
    let mut sums = vec![0.0; heads.len()];
    let start = Instant::now();
    for seed in 1..=args.corpora {
        let ds = corpus(seed);
        print!("{seed:>6}");
        let mut scores = Vec::new();
        let mut choices = Vec::new();
        for (k, (_, choice)) in heads.iter().enumerate() {
            let (r, chosen) = pooled(&ds, choice)?;
            sums[k] += r;
            print!(" {r:>12.4}");
            scores.push(r);
            if k == 0 {
                choices = chosen;
            }
        }
        let ok = scores[0] >= scores[2] && scores[0] >= scores[3];
        met += usize::from(ok);
        total += 1;
        println!(
            "  {:<28} {}",
            if ok { "yes" } else { "no" },
            choices.join(", ")
        );
    }
    print!("{:>6}", "mean");
    for s in &sums {
        print!(" {:>12.4}", s / args.corpora as f64);
    }
    println!();
    println!(
        "target met on {met} of {total} corpora ({:.1} s)",
        start.elapsed().as_secs_f64()
    );
    Ok(EXIT_OK)
}
