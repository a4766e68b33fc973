//! `moshead-bench ingest`, libvmaf logs: how many libvmaf JSON logs of
//! 300-frame clips are read, pooled into rows and joined with their labels
//! per second.
//!
//! The corpus is `--logs` logs (default 1,000) of `--log-frames` frames
//! (default 300, ten seconds at 30 fps), written once in the `vmaf` tool's
//! `--json` format with the default model's metrics (`integer_adm2`,
//! `integer_adm_scale0..3`, `integer_motion2`, `integer_motion`,
//! `integer_vif_scale0..3`, `vmaf`, 6 decimals, `pooled_metrics` and
//! `aggregate_metrics` as libvmaf writes them), plus a KoNViD attributes CSV
//! (`flickr_id,MOS`) labelling every clip. It is read through the konvid
//! adapter's `vmaf-logs` and `konvid-1k-attributes` slots on the
//! `vmaf-canonical-v1` schema, the path `moshead corpus` takes. There is no
//! target; the figures say what a corpus of logs costs against one of
//! pooled rows.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::support::Bound;
use crate::support::BENCH_SEED;
use crate::support::{ensure_cached, mb, timed_loads};
use moshead::cli::Env;
use moshead::registry::Registry;

/// The per-frame metrics of a log written with libvmaf's default model.
const METRICS: [&str; 12] = [
    "integer_adm2",
    "integer_adm_scale0",
    "integer_adm_scale1",
    "integer_adm_scale2",
    "integer_adm_scale3",
    "integer_motion2",
    "integer_motion",
    "integer_vif_scale0",
    "integer_vif_scale1",
    "integer_vif_scale2",
    "integer_vif_scale3",
    "vmaf",
];

/// The figures of the libvmaf-log ingest.
#[derive(Debug, Serialize)]
pub(crate) struct LogFigures {
    corpus_dir: PathBuf,
    generated: bool,
    threads: usize,
    logs: u64,
    frames_per_log: usize,
    input_bytes: u64,
    rows: u64,
    runs: u32,
    seconds: f64,
    seconds_min: f64,
    cpu_seconds: Option<f64>,
    logs_per_s: f64,
    frames_per_s: f64,
    mb_per_s: f64,
    peak_increase_bytes: Option<u64>,
}

/// Generates (once) and ingests the log corpus `repeat` times.
pub(crate) fn run(
    env: &Env,
    reg: &Registry,
    root: &Path,
    logs: usize,
    frames: usize,
    repeat: u32,
) -> anyhow::Result<LogFigures> {
    let dir = root.join(format!(
        "konvid-vmaf-logs-{logs}x{frames}frames-seed{BENCH_SEED}"
    ));
    let generated = ensure_cached(&dir, |staging| write_corpus(staging, logs, frames))?;
    let data = Bound::new(
        "konvid",
        vec![
            ("vmaf-logs".into(), dir.join("logs")),
            ("konvid-1k-attributes".into(), dir.join("attributes.csv")),
        ],
        "vmaf-canonical-v1",
    );
    let t = timed_loads(env, reg, &data, repeat)?;
    let report = &t.loaded.report;
    if report.rows != logs as u64 {
        bail!(
            "the libvmaf-log bench read {} rows from {logs} logs ({} dropped): the corpus in {} is not what it should be; delete it and run again",
            report.rows,
            report.dropped(),
            dir.display()
        );
    }
    let input_bytes: u64 = report
        .inputs
        .iter()
        .filter(|i| i.slot == "vmaf-logs")
        .map(|i| i.bytes)
        .sum();
    let seconds = t.seconds;
    let peak_increase = t.peak_increase().filter(|_| t.peak_reset);
    Ok(LogFigures {
        corpus_dir: dir,
        generated,
        threads: rayon::current_num_threads(),
        logs: logs as u64,
        frames_per_log: frames,
        input_bytes,
        rows: report.rows,
        runs: repeat,
        seconds,
        seconds_min: t.seconds_min,
        cpu_seconds: t.cpu_seconds,
        logs_per_s: logs as f64 / seconds.max(1e-9),
        frames_per_s: (logs * frames) as f64 / seconds.max(1e-9),
        mb_per_s: input_bytes as f64 / 1e6 / seconds.max(1e-9),
        peak_increase_bytes: peak_increase,
    })
}

/// Prints the figures.
pub(crate) fn print(f: &LogFigures) {
    println!(
        "konvid from libvmaf logs ({} logs x {} frames, {} metrics per frame), schema vmaf-canonical-v1, {} threads",
        f.logs,
        f.frames_per_log,
        METRICS.len(),
        f.threads
    );
    crate::support::print_corpus(&f.corpus_dir, f.generated);
    println!(
        "  input       {} of logs -> {} rows (each log pooled and joined with its label)",
        mb(f.input_bytes),
        f.rows
    );
    crate::support::print_wall(f.seconds, f.runs, f.seconds_min, f.cpu_seconds);
    println!(
        "  throughput  {:.0} logs/s, {:.0} frames/s, {:.1} MB/s of logs",
        f.logs_per_s, f.frames_per_s, f.mb_per_s
    );
    if let Some(p) = f.peak_increase_bytes {
        println!("  RSS         peak increase {}", mb(p));
    }
}

/// Writes `logs` logs of `frames` frames into `dir/logs/` and their labels
/// into `dir/attributes.csv`.
fn write_corpus(dir: &Path, logs: usize, frames: usize) -> anyhow::Result<()> {
    let log_dir = dir.join("logs");
    std::fs::create_dir_all(&log_dir)
        .with_context(|| format!("{}: cannot create", log_dir.display()))?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(BENCH_SEED);
    let mut labels = String::from("flickr_id,MOS\n");
    let mut text = String::new();
    for clip in 0..logs {
        // A clip's quality, its frames scattered around it.
        let q: f64 = rng.gen_range(0.05..0.95);
        let id = 4_000_000_000u64 + clip as u64;
        writeln!(labels, "{id},{:.4}", 1.0 + 4.0 * q)?;
        text.clear();
        text.push_str("{\n  \"version\": \"2.3.1\",\n  \"fps\": 29.97,\n  \"frames\": [");
        let mut sums = [0.0f64; METRICS.len()];
        for n in 0..frames {
            text.push_str(if n == 0 { "\n" } else { ",\n" });
            write!(
                text,
                "    {{\n      \"frameNum\": {n},\n      \"metrics\": {{"
            )?;
            for (k, name) in METRICS.iter().enumerate() {
                let jitter: f64 = rng.gen_range(-0.05..0.05);
                let v = match *name {
                    "integer_motion2" | "integer_motion" => 20.0 * (1.0 - q) * (1.0 + jitter),
                    "vmaf" => 100.0 * (q + jitter).clamp(0.0, 1.0),
                    _ => (q + jitter).clamp(0.0, 1.0),
                };
                sums[k] += v;
                let sep = if k == 0 { "" } else { "," };
                write!(text, "{sep}\n        \"{name}\": {v:.6}")?;
            }
            text.push_str("\n      }\n    }");
        }
        text.push_str("\n  ],\n  \"pooled_metrics\": {");
        for (k, name) in METRICS.iter().enumerate() {
            let mean = sums[k] / frames.max(1) as f64;
            let sep = if k == 0 { "" } else { "," };
            write!(
                text,
                "{sep}\n    \"{name}\": {{\n      \"min\": {mean:.6},\n      \"max\": {mean:.6},\n      \"mean\": {mean:.6},\n      \"harmonic_mean\": {mean:.6}\n    }}"
            )?;
        }
        text.push_str("\n  },\n  \"aggregate_metrics\": {\n  }\n}\n");
        let path = log_dir.join(format!("{id}.json"));
        std::fs::write(&path, &text)
            .with_context(|| format!("{}: cannot write", path.display()))?;
    }
    let path = dir.join("attributes.csv");
    std::fs::write(&path, labels).with_context(|| format!("{}: cannot write", path.display()))?;
    Ok(())
}
