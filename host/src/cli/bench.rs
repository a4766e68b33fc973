//! `moshead bench`: ingest throughput and peak memory on generated corpora.
//!
//! `moshead bench ingest` measures the path `moshead corpus` takes, on two
//! corpora of the real sizes: a KonVid-150k-like corpus (variant
//! `konvid-150k`, 154,000 rows, schema `konvid-v1`) and a CHUG-like corpus
//! (5,136 distorted rows plus their references, the 34-column
//! `chug-hdr-wide-v1` schema with all ladder and geometry metadata).
//!
//! Each corpus is generated once by a child `moshead synth` process (so the
//! generator's memory is not counted) into a cache directory keyed by
//! adapter, variant, rows and seed, and reused by later runs. It is then
//! ingested in this process through [`super::corpus::load`], timed with a
//! monotonic clock (the median of `--repeat` runs), with the process's CPU
//! time beside it, which other work on the machine disturbs less. Memory is
//! read from `/proc/self/status` (Linux): the resident set before the first
//! ingest and its high-water mark after it, the mark being reset before each
//! corpus (`/proc/self/clear_refs`).
//!
//! # Targets
//!
//! - **Throughput:** at least [`MIN_MB_PER_S`] MB/s of raw input (1 MB =
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
//! twins written once beside the cached JSONL (see [`super::bench_twins`]);
//! their throughput counts uncompressed text, against the same target for
//! CSV and [`super::bench_twins::MIN_GZIP_MB_PER_S`] for gzip.
//!
//! Then a corpus of libvmaf JSON logs of 300-frame clips is read through
//! the konvid adapter's log slot (see [`super::bench_logs`]): logs, frames
//! and MB pooled per second.
//!
//! Both verdicts are printed beside the figures; a missed target does not
//! change the exit code (figures depend on the machine).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context as _};
use clap::{Args, Subcommand};
use moshead_protocol::SynthRequest;
use serde::Serialize;

use super::bench_twins::{self, Form};
use super::corpus::{load, DataArgs};
use super::{print_json, Env, EXIT_OK};
use crate::registry::{Adapter, Registry, Selector};

/// The throughput target, in MB (10^6 bytes) of raw input per second.
pub const MIN_MB_PER_S: f64 = 150.0;
/// The memory target: allowed growth beyond the projected matrix, in MB.
pub const SLACK_MB: f64 = 64.0;
/// The generator seed of benchmark corpora.
pub const BENCH_SEED: u64 = 20260508;

/// Arguments of `moshead bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    command: BenchCommand,
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Ingest throughput and peak memory on a KonVid-150k-sized corpus (as JSONL,
    /// CSV and gzipped JSONL) and a CHUG-sized one (targets: >= 150 MB/s of text
    /// on 2 cores, gzip >= 100 MB/s of uncompressed text; memory <= matrix + 64 MB).
    Ingest(IngestArgs),
    /// End-to-end `moshead train` wall time and peak memory on a CHUG-sized
    /// (explicit split) and a KonVid-150k-sized (grouped 5-fold) corpus, and
    /// held-out accuracy against the prior art's recipe on the same folds
    /// (targets: under 2 s and under 60 s on 2 cores; at least as accurate).
    Train(TrainBenchArgs),
    /// Held-out accuracy of every head and of `auto`: median SROCC / PLCC
    /// over 100 content-disjoint 80/20 splits, pooled out-of-fold metrics
    /// and wall time, on the development set (when present) and generated
    /// stress corpora (figures, not tests).
    Accuracy(super::bench_accuracy::AccuracyArgs),
}

#[derive(Debug, Args)]
struct TrainBenchArgs {
    /// Rows of the synthetic KonVid-150k corpus (0 skips it).
    #[arg(long, default_value_t = 154_000, value_name = "N")]
    rows_konvid: usize,
    /// Distorted rows of the synthetic CHUG corpus (0 skips it).
    #[arg(long, default_value_t = 5_136, value_name = "N")]
    rows_chug: usize,
    /// Where generated corpora are cached (default: <temp dir>/moshead-bench).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Skip the prior-art recipe comparison (timing only).
    #[arg(long)]
    no_compare: bool,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct IngestArgs {
    /// Rows of the synthetic KonVid-150k corpus (0 skips it).
    #[arg(long, default_value_t = 154_000, value_name = "N")]
    rows_konvid: usize,
    /// Distorted rows of the synthetic CHUG corpus, references excluded (0 skips it).
    #[arg(long, default_value_t = 5_136, value_name = "N")]
    rows_chug: usize,
    /// Where generated corpora are cached (default: <temp dir>/moshead-bench).
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
pub(super) struct Case {
    pub(super) adapter: &'static str,
    pub(super) variant: Option<&'static str>,
    pub(super) schema: &'static str,
    pub(super) rows: usize,
}

impl Case {
    /// The two benchmark corpora: CHUG-sized (wide schema) first, then
    /// KonVid-150k-sized.
    pub(super) fn both(rows_chug: usize, rows_konvid: usize) -> [Case; 2] {
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

pub fn run(env: &Env, args: BenchArgs) -> anyhow::Result<u8> {
    match args.command {
        BenchCommand::Ingest(a) => ingest(env, a),
        BenchCommand::Train(a) => train_bench::run(env, a),
        BenchCommand::Accuracy(a) => super::bench_accuracy::run(env, a),
    }
}

fn ingest(env: &Env, args: IngestArgs) -> anyhow::Result<u8> {
    let reg = env.registry()?;
    let root = args
        .dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("moshead-bench"));
    // The smaller corpus first, so that memory the allocator keeps after the
    // larger one cannot hide the smaller one's growth.
    let cases = Case::both(args.rows_chug, args.rows_konvid);
    if !args.json && cfg!(debug_assertions) {
        println!("note: this is a debug build; run `cargo run --release -- bench ingest` for meaningful figures");
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
        let f = super::bench_logs::run(
            env,
            &reg,
            &root,
            args.logs,
            args.log_frames as usize,
            args.repeat,
        )?;
        if !args.json {
            super::bench_logs::print(&f);
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
    let selector = Selector {
        name: case.adapter.to_owned(),
        requirement: None,
    };
    let (dir, generated, plain) = cached_corpus(env, reg, root, case)?;
    let mut text_bytes = 0u64;
    let mut inputs = Vec::new();
    for (slot, path) in plain {
        text_bytes += std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        inputs.push((slot, bench_twins::twin(&path, form)?));
    }
    let data = DataArgs {
        adapter: selector,
        inputs,
        demo: false,
        schema: Some(case.schema.to_owned()),
        include_references: false,
        strict: false,
        unlabelled: false,
    };
    let Timed {
        loaded,
        seconds,
        seconds_min,
        cpu_seconds: cpu,
        rss_before,
        peak,
        peak_reset,
    } = timed_loads(env, reg, &data, repeat)?;
    let report = &loaded.report;
    let (n, width) = loaded.dataset.x.dim();
    let input_bytes: u64 = report.inputs.iter().map(|i| i.bytes).sum();
    if form != Form::JsonlGz {
        text_bytes = input_bytes;
    }
    let lines: u64 = report.inputs.iter().map(|i| i.lines).sum();
    let matrix_bytes = (n * width * 8) as u64;
    let increase = match (rss_before, peak) {
        (Some(b), Some(p)) => Some(p.saturating_sub(b)),
        _ => None,
    };
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
pub(super) fn cached_corpus(
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
        let path = super::corpus::safe_join(&dir, &rel)?;
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

/// Makes sure a complete generated corpus is cached in `dir`: unless one
/// is, `generate` writes it into a staging directory beside `dir`, which
/// then takes its place (an interrupted run leaves no half corpus behind).
/// Returns whether it generated.
pub(super) fn ensure_cached(
    dir: &Path,
    generate: impl FnOnce(&Path) -> anyhow::Result<()>,
) -> anyhow::Result<bool> {
    const MARKER: &str = ".moshead-bench-complete";
    if dir.join(MARKER).is_file() {
        return Ok(false);
    }
    let parent = dir.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)
        .with_context(|| format!("{}: cannot create the cache directory", parent.display()))?;
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let staging = parent.join(format!(".{name}.partial-{}", std::process::id()));
    if staging.exists() {
        std::fs::remove_dir_all(&staging)
            .with_context(|| format!("{}: cannot remove", staging.display()))?;
    }
    if let Err(e) = generate(&staging) {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    std::fs::write(staging.join(MARKER), b"")
        .with_context(|| format!("{}: cannot write", staging.display()))?;
    if dir.exists() {
        // An incomplete corpus from an interrupted run.
        std::fs::remove_dir_all(dir)
            .with_context(|| format!("{}: cannot remove", dir.display()))?;
    }
    if let Err(e) = std::fs::rename(&staging, dir) {
        let _ = std::fs::remove_dir_all(&staging);
        // Another bench may have finished the same corpus meanwhile.
        if !dir.join(MARKER).is_file() {
            return Err(e).with_context(|| format!("{}: cannot create", dir.display()));
        }
    }
    Ok(true)
}

/// `repeat` timed ingests of `data` through [`load`], each run's dataset
/// dropped before the next starts.
pub(super) struct Timed<'r> {
    /// The last run's result.
    pub(super) loaded: super::corpus::Loaded<'r>,
    /// The median wall time, seconds.
    pub(super) seconds: f64,
    /// The best wall time, seconds.
    pub(super) seconds_min: f64,
    /// The median CPU time (all threads), seconds.
    pub(super) cpu_seconds: Option<f64>,
    /// The resident set before the first run, bytes.
    pub(super) rss_before: Option<u64>,
    /// Its high-water mark after the first run, bytes.
    pub(super) peak: Option<u64>,
    /// Whether the mark was reset before the first run.
    pub(super) peak_reset: bool,
}

/// Runs [`load`] `repeat` times (at least once) and times it.
pub(super) fn timed_loads<'r>(
    env: &Env,
    reg: &'r Registry,
    data: &DataArgs,
    repeat: u32,
) -> anyhow::Result<Timed<'r>> {
    let peak_reset = reset_peak_rss();
    let before = memory();
    let mut after = None;
    let mut times = Vec::new();
    let mut cpu_times = Vec::new();
    let mut loaded = None;
    for run in 0..repeat.max(1) {
        // The previous run's dataset is dropped before the next starts.
        drop(loaded.take());
        let cpu = cpu_seconds();
        let start = Instant::now();
        let this = load(env, reg, data)?;
        times.push(start.elapsed().as_secs_f64());
        if let (Some(a), Some(b)) = (cpu, cpu_seconds()) {
            cpu_times.push(b - a);
        }
        if run == 0 {
            after = memory();
        }
        loaded = Some(this);
    }
    let Some(loaded) = loaded else {
        bail!("no run of the {} ingest", data.adapter.name);
    };
    Ok(Timed {
        loaded,
        seconds: median(&mut times),
        seconds_min: times.iter().copied().fold(f64::INFINITY, f64::min),
        cpu_seconds: (cpu_times.len() == times.len()).then(|| median(&mut cpu_times)),
        rss_before: before.map(|m| m.rss),
        peak: after.map(|m| m.hwm),
        peak_reset,
    })
}

/// A child `moshead` command that loads plugins the way this process does
/// (its explicit plugin directories, trust flags and pin file).
pub(super) fn child_moshead(env: &Env) -> anyhow::Result<Command> {
    let exe = std::env::current_exe().context("cannot locate the moshead executable")?;
    let mut cmd = Command::new(&exe);
    for d in env.dirs.iter().filter(|d| d.explicit) {
        cmd.arg("--plugin-dir").arg(&d.path);
    }
    if env.trust.allow_insecure {
        cmd.arg("--allow-insecure-plugins");
    }
    if let Some(pins) = &env.trust.pins {
        cmd.arg("--plugin-lock").arg(&pins.source);
    }
    Ok(cmd)
}

/// The median of `v` (sorted in place); `NaN` when empty.
fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// CPU time (user + system, all threads) of this process so far, from
/// `/proc/self/stat` (Linux; clock ticks of 1/100 s, the kernel's fixed
/// `USER_HZ`).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the line, the 12th and 13th after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// Resident-set figures of this process, in bytes.
#[derive(Debug, Clone, Copy)]
struct Memory {
    rss: u64,
    hwm: u64,
}

/// Reads `VmRSS` and `VmHWM` from `/proc/self/status` (Linux only).
fn memory() -> Option<Memory> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kb: u64 = line[name.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kb * 1024)
    };
    Some(Memory {
        rss: field("VmRSS:")?,
        hwm: field("VmHWM:")?,
    })
}

/// Resets the resident-set high-water mark to the current resident set
/// (Linux 4.0 and later); `false` where that is not possible.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", b"5").is_ok()
}

/// Prints the `corpus` line of a figure block: where the corpus is and
/// whether it was generated now.
pub(super) fn print_corpus(dir: &Path, generated: bool) {
    let how = if generated { "generated now" } else { "cached" };
    println!("  corpus      {} ({how})", dir.display());
}

/// Prints the `wall` line of a figure block: the median wall time of
/// `runs`, the best, and the median CPU time.
pub(super) fn print_wall(seconds: f64, runs: u32, best: f64, cpu: Option<f64>) {
    println!(
        "  wall        {seconds:.3} s (median of {runs}, best {best:.3} s), CPU {}",
        cpu.map_or_else(|| "n/a".to_owned(), |c| format!("{c:.2} s"))
    );
}

pub(super) fn mb(bytes: u64) -> String {
    format!("{:.2} MB", bytes as f64 / 1e6)
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "NOT MET"
    }
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

mod train_bench {
    //! `moshead bench train`.
    //!
    //! Each case runs the real `moshead train` as a child process (so its
    //! wall time is end to end: plugin loading, ingest, validation with
    //! baselines, the ship model, and writing the manifest, ONNX, card and
    //! plots) and reads the child's own peak resident set from `wait4`. Then,
    //! in this process, it rebuilds the same folds and fits the same head
    //! with the prior art's recipe ([`crate::training::adamw::AdamW`]:
    //! AdamW, 30 epochs, batch 64, no early stopping) and compares held-out
    //! metrics fold by fold. The recipe is applied to moshead's own network
    //! and standardisation, which isolates the training procedure; the
    //! prior art's per-row LayerNorm, ReLU and dropout are not reproduced.

    use std::path::PathBuf;
    use std::process::Stdio;
    use std::time::Instant;

    use anyhow::{bail, Context as _};
    use serde::Serialize;

    use super::super::corpus::{load, DataArgs};
    use super::super::{f4, print_json, Env, EXIT_OK};
    use super::{cached_corpus, Case, TrainBenchArgs};
    use crate::evaluation::folds::{make_folds, Policy, PolicyKind, DEFAULT_SEED};
    use crate::evaluation::{aggregate, evaluate};
    use crate::registry::Selector;
    use crate::training::adamw::AdamW;
    use crate::training::{HeadKind, HeadSpec};

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
        let mut cmd = super::child_moshead(env)?;
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
        let file = std::fs::File::create(&log)
            .with_context(|| format!("{}: cannot create", log.display()))?;
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
            println!("note: this is a debug build; run `cargo run --release -- bench train` for meaningful figures");
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
            let (seconds, peak, manifest) =
                train_child(env, case.adapter, &inputs, validation, &out)?;
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
                let data = DataArgs {
                    adapter: Selector {
                        name: case.adapter.to_owned(),
                        requirement: None,
                    },
                    inputs: inputs.clone(),
                    demo: false,
                    schema: Some(case.schema.to_owned()),
                    include_references: false,
                    strict: false,
                    unlabelled: false,
                };
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
                    let head =
                        spec.fit_adamw(&recipe, ds.x.view(), &ds.mos, &fold.train, fold.seed)?;
                    let pred = head.predict_rows(ds.x.view(), &fold.eval);
                    let (mos, se) = ds.targets(&fold.eval);
                    metrics.push(evaluate(&pred, &mos, &se));
                }
                let prior = aggregate(&metrics).mean;
                f.prior_art_seconds = Some(start.elapsed().as_secs_f64());
                f.prior_art_plcc = prior.plcc;
                f.prior_art_rmse = prior.rmse;
                f.at_least_as_accurate =
                    match (f.moshead_plcc, f.moshead_rmse, prior.plcc, prior.rmse) {
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
}
