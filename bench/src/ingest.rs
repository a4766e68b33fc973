//! `moshead-bench ingest`: ingest throughput and peak memory on generated corpora.
//!
//! `moshead-bench ingest` measures the path `moshead corpus` takes, on two
//! corpora of the real sizes: a KonVid-150k-like corpus (variant
//! `konvid-150k`, 154,000 rows, schema `konvid-v1`) and a CHUG-like corpus
//! (5,136 distorted rows plus their references, the 34-column
//! `chug-hdr-wide-v1` schema with all ladder and geometry metadata).
//!
//! Each corpus is generated once by a child `moshead synth` process (so the
//! generator's memory is not counted) into a cache directory keyed by
//! adapter, variant, rows and seed, and reused by later runs. It is then
//! ingested in this process through [`moshead::ingest::load`], timed with a
//! monotonic clock (the median of `--repeat` runs), with the process's CPU
//! time beside it, which other work on the machine disturbs less. Memory is
//! read from `/proc/self/status` (Linux): the resident set before the first
//! ingest and its high-water mark after it, the mark being reset before each
//! corpus (`/proc/self/clear_refs`).
//!
//! # Targets
//!
//! - **Throughput:** at least [`crate::support::MIN_MB_PER_S`] MB/s of raw input (1 MB =
//!   10^6 bytes) on 2 cores, parsing, projecting through the plugin,
//!   hashing and accounting every line included.
//! - **Memory:** the peak resident set grows during ingest by no more than
//!   the projected matrix (rows x columns x 8 bytes) plus [`SLACK_MB`] MB.
//!   The slack holds what is constant (two chunks of raw text and their
//!   outcomes in flight, thread stacks, allocator slack) and what the
//!   dataset keeps per row beside the matrix (ids, content-group names, MOS,
//!   standard errors, splits). The per-row part grows with the corpus, so
//!   the figure is printed per row too.
//!
//! The KonViD-sized corpus is also ingested as CSV and as gzipped JSONL,
//! twins written once beside the cached JSONL (see [`crate::twins`]);
//! their throughput counts uncompressed text, against the same target for
//! CSV and [`crate::twins::MIN_GZIP_MB_PER_S`] for gzip.
//!
//! Then a corpus of libvmaf JSON logs of 300-frame clips is read through
//! the konvid adapter's log slot (see [`crate::logs`]): logs, frames
//! and MB pooled per second.
//!
//! Both verdicts are printed beside the figures; a missed target does not
//! change the exit code (figures depend on the machine).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use clap::Args;
use moshead_protocol::SynthRequest;
use serde::Serialize;

use crate::support::Bound;
use crate::support::{
    child_moshead, ensure_cached, mb, print_corpus, print_wall, timed_loads, verdict, Timed,
};
use crate::twins::{self, Form};
use moshead::cli::{print_json, Env, EXIT_OK};
use moshead::registry::{Adapter, Registry, Selector};

pub use crate::support::BENCH_SEED;
/// The memory target: allowed growth beyond the projected matrix, in MB.
pub const SLACK_MB: f64 = 64.0;

/// Arguments of `moshead-bench ingest`.
#[derive(Debug, Args)]
pub(crate) struct IngestArgs {
    /// Rows of the synthetic KonVid-150k corpus (0 skips it).
    #[arg(long, default_value_t = 154_000, value_name = "N")]
    rows_konvid: usize,
    /// Distorted rows of the synthetic CHUG corpus, references excluded (0 skips it).
    #[arg(long, default_value_t = 5_136, value_name = "N")]
    rows_chug: usize,
    /// Where generated corpora are cached (default: moshead-bench in the temporary directory).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// libvmaf JSON logs of the libvmaf-log ingest (0 skips it).
    #[arg(long, default_value_t = 1_000, value_name = "N")]
    logs: usize,
    /// Frames per libvmaf log.
    #[arg(long, default_value_t = 300, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    log_frames: u64,
    /// Ingest each corpus this many times; times are the median (memory is
    /// the first run's, before the allocator holds freed memory).
    #[arg(long, default_value_t = 3, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    repeat: u32,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

/// One benchmark corpus.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Case {
    pub(crate) adapter: &'static str,
    pub(crate) variant: Option<&'static str>,
    pub(crate) schema: &'static str,
    pub(crate) rows: usize,
}

impl Case {
    /// The two benchmark corpora: CHUG-sized (wide schema) first, then
    /// KonVid-150k-sized.
    pub(crate) fn both(rows_chug: usize, rows_konvid: usize) -> [Case; 2] {
        [
            Case {
                adapter: "chug-hdr",
                variant: None,
                schema: "chug-hdr-wide-v1",
                rows: rows_chug,
            },
            Case {
                adapter: "konvid",
                variant: Some("konvid-150k"),
                schema: "konvid-v1",
                rows: rows_konvid,
            },
        ]
    }
}

/// The figures of one corpus.
#[derive(Debug, Serialize)]
struct Figures {
    adapter: String,
    /// The input form (`jsonl`, `csv`, `jsonl.gz`).
    form: Form,
    /// Bytes of uncompressed text (the throughput counts these).
    text_bytes: u64,
    variant: Option<String>,
    schema: String,
    corpus_dir: PathBuf,
    generated: bool,
    threads: usize,
    input_bytes: u64,
    lines: u64,
    rows: u64,
    columns: usize,
    runs: u32,
    seconds: f64,
    seconds_min: f64,
    cpu_seconds: Option<f64>,
    mb_per_s: f64,
    rows_per_s: f64,
    rss_before_bytes: Option<u64>,
    peak_rss_bytes: Option<u64>,
    peak_increase_bytes: Option<u64>,
    matrix_bytes: u64,
    overhead_bytes: Option<i64>,
    peak_reset: bool,
    throughput_target_mb_per_s: f64,
    throughput_target_met: bool,
    memory_slack_bytes: u64,
    memory_target_met: Option<bool>,
}

/// Runs `moshead-bench ingest`.
pub(crate) fn run(env: &Env, args: IngestArgs) -> anyhow::Result<u8> {
    let reg = env.registry()?;
    let root = args
        .dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("moshead-bench"));
    // The smaller corpus first, so that memory the allocator keeps after the
    // larger one cannot hide the smaller one's growth.
    let cases = Case::both(args.rows_chug, args.rows_konvid);
    if !args.json && cfg!(debug_assertions) {
        println!("note: this is a debug build; run `cargo build --release --workspace && target/release/moshead-bench ingest` for meaningful figures");
    }
    let mut all = Vec::new();
    for case in cases.iter().filter(|c| c.rows > 0) {
        // The KonViD-sized corpus is also read as CSV and as gzipped JSONL.
        let forms: &[Form] = if case.adapter == "konvid" {
            &[Form::Jsonl, Form::Csv, Form::JsonlGz]
        } else {
            &[Form::Jsonl]
        };
        for form in forms {
            let figures = bench_case(env, &reg, &root, case, *form, args.repeat)?;
            if !args.json {
                print_figures(&figures);
            }
            all.push(figures);
        }
    }
    let logs = if args.logs > 0 {
        let f = crate::logs::run(
            env,
            &reg,
            &root,
            args.logs,
            args.log_frames as usize,
            args.repeat,
        )?;
        if !args.json {
            crate::logs::print(&f);
        }
        Some(f)
    } else {
        None
    };
    if args.json {
        print_json(&serde_json::json!({ "ingest": all, "libvmaf_logs": logs }))?;
    }
    Ok(EXIT_OK)
}

fn bench_case(
    env: &Env,
    reg: &Registry,
    root: &Path,
    case: &Case,
    form: Form,
    repeat: u32,
) -> anyhow::Result<Figures> {
    let (dir, generated, plain) = cached_corpus(env, reg, root, case)?;
    let mut text_bytes = 0u64;
    let mut inputs = Vec::new();
    for (slot, path) in plain {
        text_bytes += std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        inputs.push((slot, twins::twin(&path, form)?));
    }
    let data = Bound::new(case.adapter, inputs, case.schema);
    let timed = timed_loads(env, reg, &data, repeat)?;
    let increase = timed.peak_increase();
    let Timed {
        loaded,
        seconds,
        seconds_min,
        cpu_seconds: cpu,
        rss_before,
        peak,
        peak_reset,
    } = timed;
    let report = &loaded.report;
    let (n, width) = loaded.dataset.x.dim();
    let input_bytes: u64 = report.inputs.iter().map(|i| i.bytes).sum();
    if form != Form::JsonlGz {
        text_bytes = input_bytes;
    }
    let lines: u64 = report.inputs.iter().map(|i| i.lines).sum();
    let matrix_bytes = (n * width * 8) as u64;
    let overhead = increase.map(|i| i as i64 - matrix_bytes as i64);
    let slack = (SLACK_MB * 1e6) as u64;
    let mb_per_s = text_bytes as f64 / 1e6 / seconds.max(1e-9);
    let target = form.target_mb_per_s();
    Ok(Figures {
        adapter: case.adapter.to_owned(),
        form,
        text_bytes,
        variant: case.variant.map(str::to_owned),
        schema: report.schema.clone(),
        corpus_dir: dir,
        generated,
        threads: rayon::current_num_threads(),
        input_bytes,
        lines,
        rows: report.rows,
        columns: width,
        runs: repeat,
        seconds,
        seconds_min,
        cpu_seconds: cpu,
        mb_per_s,
        rows_per_s: report.rows as f64 / seconds.max(1e-9),
        rss_before_bytes: rss_before,
        peak_rss_bytes: peak,
        peak_increase_bytes: increase,
        matrix_bytes,
        overhead_bytes: overhead,
        peak_reset,
        throughput_target_mb_per_s: target,
        throughput_target_met: mb_per_s >= target,
        memory_slack_bytes: slack,
        memory_target_met: overhead.map(|o| o <= slack as i64),
    })
}

/// `(slot, path)` input bindings.
type Bindings = Vec<(String, PathBuf)>;

/// The cached corpus of `case` (generated if needed): its directory,
/// whether it was generated now, and its `(slot, path)` bindings.
pub(crate) fn cached_corpus(
    env: &Env,
    reg: &Registry,
    root: &Path,
    case: &Case,
) -> anyhow::Result<(PathBuf, bool, Bindings)> {
    let adapter = reg.select(&Selector {
        name: case.adapter.to_owned(),
        requirement: None,
    })?;
    let dir = root.join(format!(
        "{}-{}-{}rows-seed{}",
        case.adapter,
        case.variant.unwrap_or("default"),
        case.rows,
        BENCH_SEED
    ));
    let generated = ensure_corpus(env, adapter, case, &dir)?;
    // The slot layout of the generated corpus, from a tiny in-process request.
    let layout = adapter
        .synthesize(&SynthRequest {
            rows: 6,
            seed: BENCH_SEED,
            variant: case.variant.map(str::to_owned),
        })?
        .inputs;
    let mut inputs = Vec::new();
    for (slot, rel) in layout {
        let path = moshead::cli::safe_join(&dir, &rel)?;
        if !path.exists() {
            bail!(
                "{}: the cached corpus lacks input `{slot}`; delete {} and run again",
                path.display(),
                dir.display()
            );
        }
        inputs.push((slot, path));
    }
    Ok((dir, generated, inputs))
}

/// Generates the corpus into `dir` by a child `moshead synth`, unless a
/// complete one is cached there. Returns whether it generated.
fn ensure_corpus(env: &Env, adapter: &Adapter, case: &Case, dir: &Path) -> anyhow::Result<bool> {
    ensure_cached(dir, |staging| {
        let mut cmd = child_moshead(env)?;
        cmd.args([
            "--quiet",
            "synth",
            "--adapter",
            &format!("{}@={}", adapter.name(), adapter.descriptor.version),
            "--rows",
            &case.rows.to_string(),
            "--seed",
            &BENCH_SEED.to_string(),
        ]);
        if let Some(v) = case.variant {
            cmd.args(["--variant", v]);
        }
        cmd.arg("--out").arg(staging);
        let out = cmd.output().context("cannot run a child moshead")?;
        if !out.status.success() {
            bail!(
                "generating the {} corpus into {} failed ({}): {}",
                case.adapter,
                staging.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(())
    })
}

fn print_figures(f: &Figures) {
    let variant = f
        .variant
        .as_deref()
        .map(|v| format!(" {v}"))
        .unwrap_or_default();
    println!(
        "{}{variant} as {}, schema {} ({} columns), {} threads",
        f.adapter,
        f.form.name(),
        f.schema,
        f.columns,
        f.threads
    );
    print_corpus(&f.corpus_dir, f.generated);
    let text = if f.text_bytes != f.input_bytes {
        format!(" ({} of text)", mb(f.text_bytes))
    } else {
        String::new()
    };
    println!(
        "  input       {}{text}, {} records -> {} rows",
        mb(f.input_bytes),
        f.lines,
        f.rows
    );
    print_wall(f.seconds, f.runs, f.seconds_min, f.cpu_seconds);
    println!(
        "  throughput  {:.1} MB/s of text, {:.0} rows/s   [target >= {} MB/s: {}]",
        f.mb_per_s,
        f.rows_per_s,
        f.throughput_target_mb_per_s,
        verdict(f.throughput_target_met)
    );
    if let Some(c) = f.cpu_seconds.filter(|c| *c > 0.0) {
        println!(
            "              {:.1} MB per CPU-second (wall time suffers when other work shares the cores)",
            f.text_bytes as f64 / 1e6 / c
        );
    }
    let na = || "n/a".to_owned();
    println!(
        "  RSS         before {}, peak {}, increase {}{}",
        f.rss_before_bytes.map_or_else(na, mb),
        f.peak_rss_bytes.map_or_else(na, mb),
        f.peak_increase_bytes.map_or_else(na, mb),
        if f.peak_reset {
            ""
        } else {
            " (peak not reset: includes earlier work)"
        }
    );
    println!(
        "  matrix      {} ({} rows x {} columns x 8 bytes)",
        mb(f.matrix_bytes),
        f.rows,
        f.columns
    );
    match f.overhead_bytes {
        Some(o) => println!(
            "  overhead    {:.2} MB beyond the matrix, {:.0} bytes/row   [target <= {SLACK_MB} MB: {}]",
            o as f64 / 1e6,
            o as f64 / f.rows.max(1) as f64,
            verdict(f.memory_target_met == Some(true))
        ),
        None => println!("  overhead    n/a   [target <= {SLACK_MB} MB: n/a]"),
    }
}
