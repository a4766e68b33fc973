//! `moshead-bench train`.
//!
//! Each case runs the real `moshead train` as a child process (so its
//! wall time is end to end: plugin loading, ingest, validation with
//! baselines, the ship model, and writing the manifest, ONNX, card and
//! plots) and reads the child's own peak resident set from `wait4`. Then,
//! in this process, it rebuilds the same folds and fits the same head
//! with the prior art's recipe ([`crate::adamw::AdamW`]:
//! AdamW, 30 epochs, batch 64, no early stopping) and compares held-out
//! metrics fold by fold. The recipe is applied to moshead's own network
//! and standardisation, which isolates the training procedure; the
//! prior art's per-row LayerNorm, ReLU and dropout are not reproduced.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Instant;

use anyhow::{bail, Context as _};
use serde::Serialize;

use crate::adamw::AdamW;
use clap::Args;

use crate::ingest::{cached_corpus, Case};
use crate::support::{load, Bound};
use moshead::cli::{f4, print_json, Env, EXIT_OK};
use moshead::evaluation::folds::{make_folds, Policy, PolicyKind, DEFAULT_SEED};
use moshead::evaluation::{aggregate, evaluate};
use moshead::training::{HeadKind, HeadSpec};

/// Wall-time targets in seconds: (CHUG-sized, KonVid-150k-sized).
pub const TARGETS_S: (f64, f64) = (2.0, 60.0);

#[derive(Debug, Serialize)]
struct TrainFigures {
    adapter: String,
    rows: u64,
    validation: String,
    seconds: f64,
    target_seconds: f64,
    time_target_met: bool,
    peak_rss_bytes: Option<u64>,
    moshead_plcc: Option<f64>,
    moshead_rmse: Option<f64>,
    prior_art_plcc: Option<f64>,
    prior_art_rmse: Option<f64>,
    prior_art_seconds: Option<f64>,
    at_least_as_accurate: Option<bool>,
}

/// Runs `moshead train` as a child; returns (wall seconds, peak RSS,
/// manifest JSON).
fn train_child(
    env: &Env,
    adapter: &str,
    inputs: &[(String, PathBuf)],
    validation: &str,
    out: &std::path::Path,
) -> anyhow::Result<(f64, Option<u64>, serde_json::Value)> {
    let mut cmd = crate::support::child_moshead(env)?;
    cmd.args([
        "--quiet",
        "train",
        "--adapter",
        adapter,
        "--validation",
        validation,
        "--force",
    ]);
    for (slot, path) in inputs {
        cmd.arg("--input").arg(format!("{slot}={}", path.display()));
    }
    cmd.arg("--out").arg(out);
    let log = out.with_extension("log");
    let file =
        std::fs::File::create(&log).with_context(|| format!("{}: cannot create", log.display()))?;
    let err = file.try_clone()?;
    let start = Instant::now();
    let child = cmd
        .stdout(Stdio::from(file))
        .stderr(Stdio::from(err))
        .spawn()?;
    let (ok, peak) = wait_with_peak(child)?;
    let seconds = start.elapsed().as_secs_f64();
    if !ok {
        bail!("moshead train failed; see {}", log.display());
    }
    let manifest_path = std::fs::read_dir(out)?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.extension().is_some_and(|e| e == "json")
                && !p.to_string_lossy().ends_with("_validation.json")
        })
        .context("the run wrote no manifest")?;
    let manifest = serde_json::from_str(&std::fs::read_to_string(&manifest_path)?)?;
    Ok((seconds, peak, manifest))
}

/// Waits for `child`; returns success and its peak resident set in bytes.
#[cfg(target_os = "linux")]
fn wait_with_peak(child: std::process::Child) -> anyhow::Result<(bool, Option<u64>)> {
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is a valid value to be overwritten.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own unwaited child; the out-pointers are valid.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if r != pid {
        bail!("wait4 failed: {}", std::io::Error::last_os_error());
    }
    std::mem::forget(child);
    let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    Ok((ok, Some(usage.ru_maxrss as u64 * 1024)))
}

/// Waits for `child`; peak memory is not available here.
#[cfg(not(target_os = "linux"))]
fn wait_with_peak(mut child: std::process::Child) -> anyhow::Result<(bool, Option<u64>)> {
    Ok((child.wait()?.success(), None))
}

/// Arguments of `moshead-bench train`.
#[derive(Debug, Args)]
pub(crate) struct TrainBenchArgs {
    /// Rows of the synthetic KonVid-150k corpus (0 skips it).
    #[arg(long, default_value_t = 154_000, value_name = "N")]
    pub(crate) rows_konvid: usize,
    /// Distorted rows of the synthetic CHUG corpus (0 skips it).
    #[arg(long, default_value_t = 5_136, value_name = "N")]
    pub(crate) rows_chug: usize,
    /// Where generated corpora are cached (default: moshead-bench in the temporary directory).
    #[arg(long, value_name = "DIR")]
    pub(crate) dir: Option<PathBuf>,
    /// Skip the prior-art recipe comparison (timing only).
    #[arg(long)]
    pub(crate) no_compare: bool,
    /// Machine-readable output.
    #[arg(long)]
    pub(crate) json: bool,
}

pub fn run(env: &Env, args: TrainBenchArgs) -> anyhow::Result<u8> {
    let reg = env.registry()?;
    let root = args
        .dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("moshead-bench"));
    let [chug, konvid] = Case::both(args.rows_chug, args.rows_konvid);
    let cases = [
        (chug, "explicit", TARGETS_S.0),
        (konvid, "kfold", TARGETS_S.1),
    ];
    if !args.json && cfg!(debug_assertions) {
        println!("note: this is a debug build; run `cargo build --release --workspace && target/release/moshead-bench train` for meaningful figures");
    }
    let mut all = Vec::new();
    for (case, validation, target) in cases.iter().filter(|c| c.0.rows > 0) {
        let (dir, _, inputs) = cached_corpus(env, &reg, &root, case)?;
        let out = dir.with_file_name(format!(
            "{}.train-out-{}",
            dir.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            std::process::id()
        ));
        let (seconds, peak, manifest) = train_child(env, case.adapter, &inputs, validation, &out)?;
        let _ = std::fs::remove_dir_all(&out);
        let _ = std::fs::remove_file(out.with_extension("log"));
        let agg = &manifest["validation"]["aggregate"]["mean"];
        let mut f = TrainFigures {
            adapter: case.adapter.to_owned(),
            rows: manifest["data"]["rows"].as_u64().unwrap_or(0),
            validation: manifest["validation"]["name"]
                .as_str()
                .unwrap_or("")
                .to_owned(),
            seconds,
            target_seconds: *target,
            time_target_met: seconds < *target,
            peak_rss_bytes: peak,
            moshead_plcc: agg["plcc"].as_f64(),
            moshead_rmse: agg["rmse"].as_f64(),
            prior_art_plcc: None,
            prior_art_rmse: None,
            prior_art_seconds: None,
            at_least_as_accurate: None,
        };
        if !args.no_compare {
            let data = Bound::new(case.adapter, inputs.clone(), case.schema);
            let loaded = load(env, &reg, &data)?;
            let ds = &loaded.dataset;
            let policy = Policy {
                kind: if *validation == "explicit" {
                    PolicyKind::Explicit
                } else {
                    PolicyKind::Kfold
                },
                k: 5,
                repeats: 10,
                eval_fraction: 0.2,
                seed: DEFAULT_SEED,
            };
            let spec = HeadSpec::new(HeadKind::Mlp);
            let recipe = AdamW::default();
            let start = Instant::now();
            let mut metrics = Vec::new();
            for fold in make_folds(ds, &policy)? {
                let head = crate::adamw::fit(
                    &spec,
                    &recipe,
                    ds.x.view(),
                    &ds.mos,
                    &fold.train,
                    fold.seed,
                )?;
                let pred = head.predict_rows(ds.x.view(), &fold.eval);
                let (mos, se) = ds.targets(&fold.eval);
                metrics.push(evaluate(&pred, &mos, &se));
            }
            let prior = aggregate(&metrics).mean;
            f.prior_art_seconds = Some(start.elapsed().as_secs_f64());
            f.prior_art_plcc = prior.plcc;
            f.prior_art_rmse = prior.rmse;
            f.at_least_as_accurate = match (f.moshead_plcc, f.moshead_rmse, prior.plcc, prior.rmse)
            {
                (Some(p), Some(r), Some(pp), Some(pr)) => Some(p >= pp && r <= pr),
                _ => None,
            };
        }
        if !args.json {
            print(&f);
        }
        all.push(f);
    }
    if args.json {
        print_json(&serde_json::json!({ "train": all }))?;
    }
    Ok(EXIT_OK)
}

fn print(f: &TrainFigures) {
    println!(
        "train {} ({} rows, {}): {:.2} s end to end (target < {} s: {}), peak RSS {}",
        f.adapter,
        f.rows,
        f.validation,
        f.seconds,
        f.target_seconds,
        if f.time_target_met { "met" } else { "NOT MET" },
        f.peak_rss_bytes
            .map_or("n/a".into(), |b| format!("{:.1} MB", b as f64 / 1e6))
    );
    println!(
        "  held-out mean  moshead (L-BFGS, early stopping): PLCC {} RMSE {}",
        f4(f.moshead_plcc),
        f4(f.moshead_rmse)
    );
    if f.prior_art_seconds.is_some() {
        println!(
            "  held-out mean  prior-art recipe (AdamW, 30 epochs, batch 64): PLCC {} RMSE {}  ({:.1} s)",
            f4(f.prior_art_plcc),
            f4(f.prior_art_rmse),
            f.prior_art_seconds.unwrap_or(0.0)
        );
        println!(
            "  at least as accurate as the prior-art recipe: {}",
            match f.at_least_as_accurate {
                Some(true) => "yes",
                Some(false) => "NO",
                None => "undefined",
            }
        );
    }
}
