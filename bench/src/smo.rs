//! `moshead-bench smo`: single SVR solves on the development set (or, when
//! it is absent, the `wide-noisy` stress corpus) with and without libsvm's
//! shrinking: iterations, active-set sizes, wall time, the dual objective
//! and how far the decision values of the two solves differ (figures, not
//! tests).
//!
//! The rows are those of the first content-disjoint 80/20 split of
//! `moshead-bench accuracy` (the refit's size), or a seeded two-thirds of
//! them (an inner fold's size, `--inner`), min-max scaled on themselves as
//! the SVR head scales them, with one kernel matrix per width as model
//! selection shares them. Every solve starts cold (model selection starts
//! each `C` from the previous one's solution).

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::corpora;
use crate::support::BENCH_SEED;
use moshead::evaluation::folds::{make_folds, Policy, PolicyKind, DEFAULT_SEED};
use moshead::training::heads::svr::kernel::{Gram, KernelKind};
use moshead::training::heads::svr::{minmax, smo};

/// Arguments of `moshead-bench smo`.
#[derive(Debug, Args)]
pub struct SmoArgs {
    /// The development set CSV (read only when present).
    #[arg(long, default_value = "../shared/data/youtube_ugc_videval.csv")]
    dev_set: PathBuf,
    /// Penalties `C`.
    #[arg(long, value_delimiter = ',', default_values_t = [16.0, 128.0, 1024.0])]
    c: Vec<f64>,
    /// RBF widths, as multiples of `1 / F`.
    #[arg(long, value_delimiter = ',', default_values_t = [0.25, 2.0, 15.0])]
    gamma: Vec<f64>,
    /// Stopping tolerances (model selection's inner solves use 1e-2, the
    /// head's refit 1e-3).
    #[arg(long, value_delimiter = ',', default_values_t = [1e-2, 1e-3])]
    tol: Vec<f64>,
    /// A seeded two-thirds of the split's training rows (an inner fold's
    /// size) instead of all of them.
    #[arg(long)]
    inner: bool,
}

/// Runs the solves and prints one line per solve.
pub fn run(args: SmoArgs) -> anyhow::Result<u8> {
    if cfg!(debug_assertions) {
        println!("note: this is a debug build; times are not meaningful");
    }
    let corpus = match corpora::dev_set(&args.dev_set)? {
        Some(c) => c,
        None => {
            println!(
                "note: the development set {} is absent: wide-noisy instead",
                args.dev_set.display()
            );
            corpora::wide_noisy(BENCH_SEED)
        }
    };
    let ds = &corpus.dataset;
    let policy = Policy {
        kind: PolicyKind::Repeated,
        k: 5,
        repeats: 1,
        eval_fraction: 0.2,
        seed: DEFAULT_SEED,
    };
    let folds = make_folds(ds, &policy)?;
    let Some(fold) = folds.first() else {
        anyhow::bail!("{}: no split", corpus.name);
    };
    let mut rows = fold.train.clone();
    if args.inner {
        let mut rng = ChaCha8Rng::seed_from_u64(BENCH_SEED);
        let keep = rows.len() * 2 / 3;
        let mut pick = rand::seq::index::sample(&mut rng, rows.len(), keep).into_vec();
        pick.sort_unstable();
        rows = pick.into_iter().map(|k| rows[k]).collect();
    }
    let xs = minmax(ds.x.view(), &rows).apply_rows(ds.x.view(), &rows);
    let y: Vec<f64> = rows.iter().map(|&i| ds.mos[i]).collect();
    let n = rows.len();
    let f = ds.x.ncols();
    let all: Vec<usize> = (0..n).collect();
    println!(
        "{}: {n} rows x {f} features (the first split's training rows{}), epsilon-SVR, epsilon 0.1",
        corpus.name,
        if args.inner {
            ", a seeded two-thirds"
        } else {
            ""
        }
    );
    println!(
        "{:>6} {:>6} {:>6} {:>6} {:>9} {:>8} {:>8} {:>6} {:>6} {:>9} {:>16} {:>9}",
        "GAMMA",
        "C",
        "TOL",
        "SHRINK",
        "ITERS",
        "MEAN ACT",
        "MIN ACT",
        "COMP",
        "RECON",
        "MS",
        "OBJECTIVE",
        "MAX DZ"
    );
    for &gm in &args.gamma {
        let gamma = gm / f as f64;
        let gram = Gram::new(&xs, KernelKind::Rbf, gamma);
        for &c in &args.c {
            for &tol in &args.tol {
                let mut reference: Option<Vec<f64>> = None;
                for shrinking in [false, true] {
                    let mut cache = gram.cache(&all);
                    let start = Instant::now();
                    let sol = smo::solve(
                        &mut cache,
                        &y,
                        c,
                        smo::Formulation::Epsilon { epsilon: 0.1 },
                        smo::Stop { tol, shrinking },
                    );
                    let ms = start.elapsed().as_secs_f64() * 1e3;
                    let z: Vec<f64> = (0..n)
                        .map(|i| {
                            (0..n)
                                .map(|j| sol.coef[j] * f64::from(gram.get(j, i)))
                                .sum::<f64>()
                                - sol.rho
                        })
                        .collect();
                    let dz = reference.as_ref().map(|r| {
                        r.iter()
                            .zip(&z)
                            .map(|(a, b)| (a - b).abs())
                            .fold(0.0, f64::max)
                    });
                    let st = sol.shrinking;
                    println!(
                        "{:>6} {:>6} {:>6} {:>6} {:>9} {:>8.0} {:>8} {:>6} {:>6} {:>9.1} {:>16.6} {:>9}",
                        format!("{gm}/F"),
                        c,
                        tol,
                        if shrinking { "on" } else { "off" },
                        sol.iterations,
                        st.active_sum as f64 / sol.iterations.max(1) as f64,
                        st.min_active,
                        st.compactions,
                        st.reconstructions,
                        ms,
                        sol.objective,
                        dz.map_or("-".to_owned(), |d| format!("{d:.2e}")),
                    );
                    reference.get_or_insert(z);
                }
            }
        }
    }
    Ok(0)
}
