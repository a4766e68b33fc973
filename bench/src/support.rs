//! What the benches share: the generated-corpus cache, timed ingests, child
//! `moshead` processes, the process's CPU time and resident set, and the
//! lines every figure block prints.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context as _};

use moshead::cli::Env;
use moshead::ingest::{IngestRequest, Loaded};
use moshead::progress::Progress;
use moshead::registry::Registry;
use moshead::registry::Selector;

/// The generator seed of benchmark corpora.
pub const BENCH_SEED: u64 = 20260508;
/// The ingest throughput target, in MB (10^6 bytes) of raw input per
/// second (the compressed twins have their own, see
/// [`crate::twins::MIN_GZIP_MB_PER_S`]).
pub const MIN_MB_PER_S: f64 = 150.0;

/// Makes sure a complete generated corpus is cached in `dir`: unless one
/// is, `generate` writes it into a staging directory beside `dir`, which
/// then takes its place (an interrupted run leaves no half corpus behind).
/// Returns whether it generated.
pub(crate) fn ensure_cached(
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
pub(crate) struct Timed<'r> {
    /// The last run's result.
    pub(crate) loaded: moshead::ingest::Loaded<'r>,
    /// The median wall time, seconds.
    pub(crate) seconds: f64,
    /// The best wall time, seconds.
    pub(crate) seconds_min: f64,
    /// The median CPU time (all threads), seconds.
    pub(crate) cpu_seconds: Option<f64>,
    /// The resident set before the first run, bytes.
    pub(crate) rss_before: Option<u64>,
    /// Its high-water mark after the first run, bytes.
    pub(crate) peak: Option<u64>,
    /// Whether the mark was reset before the first run.
    pub(crate) peak_reset: bool,
}

impl Timed<'_> {
    /// How far the first run raised the resident set's high-water mark
    /// above the resident set before it, bytes.
    pub(crate) fn peak_increase(&self) -> Option<u64> {
        Some(self.peak?.saturating_sub(self.rss_before?))
    }
}

/// Runs [`load`] `repeat` times (at least once) and times it.
pub(crate) fn timed_loads<'r>(
    env: &Env,
    reg: &'r Registry,
    data: &Bound,
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

/// A child `moshead` command (the `moshead` executable beside this one, as
/// `cargo build` puts them) that loads plugins the way this process does
/// (its explicit plugin directories, trust flags and pin file).
pub(crate) fn child_moshead(env: &Env) -> anyhow::Result<Command> {
    let me = std::env::current_exe().context("cannot locate the moshead-bench executable")?;
    let exe = me.with_file_name(format!("moshead{}", std::env::consts::EXE_SUFFIX));
    if !exe.is_file() {
        anyhow::bail!(
            "{} does not exist: build moshead beside moshead-bench first (`cargo build --release --workspace`)",
            exe.display()
        );
    }
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
pub(crate) fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// The median and sample SD of `v` (`None` when empty; the SD `None` with
/// one value).
pub(crate) fn median_sd(v: &[f64]) -> (Option<f64>, Option<f64>) {
    if v.is_empty() {
        return (None, None);
    }
    let mut s = v.to_vec();
    let median = median(&mut s);
    let n = s.len();
    let mean = s.iter().sum::<f64>() / n as f64;
    let sd = (n > 1)
        .then(|| (s.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64).sqrt());
    (Some(median), sd)
}

/// CPU time (user + system, all threads) of this process so far, from
/// `/proc/self/stat` (Linux; clock ticks of 1/100 s, the kernel's fixed
/// `USER_HZ`).
pub(crate) fn cpu_seconds() -> Option<f64> {
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
pub(crate) struct Memory {
    pub(crate) rss: u64,
    pub(crate) hwm: u64,
}

/// Reads `VmRSS` and `VmHWM` from `/proc/self/status` (Linux only).
pub(crate) fn memory() -> Option<Memory> {
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
pub(crate) fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", b"5").is_ok()
}

/// Prints the `corpus` line of a figure block: where the corpus is and
/// whether it was generated now.
pub(crate) fn print_corpus(dir: &Path, generated: bool) {
    let how = if generated { "generated now" } else { "cached" };
    println!("  corpus      {} ({how})", dir.display());
}

/// Prints the `wall` line of a figure block: the median wall time of
/// `runs`, the best, and the median CPU time.
pub(crate) fn print_wall(seconds: f64, runs: u32, best: f64, cpu: Option<f64>) {
    println!(
        "  wall        {seconds:.3} s (median of {runs}, best {best:.3} s), CPU {}",
        cpu.map_or_else(|| "n/a".to_owned(), |c| format!("{c:.2} s"))
    );
}

pub(crate) fn mb(bytes: u64) -> String {
    format!("{:.2} MB", bytes as f64 / 1e6)
}

pub(crate) fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "NOT MET"
    }
}

/// What a benchmark reads: files bound to an adapter's slots, on one
/// schema, every other choice at its default.
#[derive(Debug, Clone)]
pub(crate) struct Bound {
    adapter: Selector,
    request: IngestRequest,
}

impl Bound {
    /// `inputs` (`(slot, path)`) read through adapter `adapter` on `schema`.
    pub(crate) fn new(adapter: &str, inputs: Vec<(String, PathBuf)>, schema: &str) -> Bound {
        Bound {
            adapter: Selector {
                name: adapter.to_owned(),
                requirement: None,
            },
            request: IngestRequest {
                inputs,
                schema: Some(schema.to_owned()),
                ..IngestRequest::default()
            },
        }
    }
}

/// Ingests what `b` binds through the library operation, with progress on
/// the terminal unless `--quiet`.
pub(crate) fn load<'r>(env: &Env, reg: &'r Registry, b: &Bound) -> anyhow::Result<Loaded<'r>> {
    let adapter = reg.select(&b.adapter)?;
    let progress = Progress::terminal_only(!env.quiet);
    Ok(moshead::ingest::load(
        adapter,
        &b.request,
        &progress.status(),
    )?)
}
