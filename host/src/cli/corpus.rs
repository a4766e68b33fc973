//! `moshead corpus` and `moshead synth`, and the input handling shared with
//! training.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;
use moshead_protocol::SynthRequest;

use super::table::print_table;
use super::{f4, print_json, Env, EXIT_OK};
use crate::corpus::inputs::parse_binding;
use crate::corpus::IngestReport;
use crate::ingest::IngestRequest;
use crate::registry::{Adapter, Registry, Selector};

use crate::ingest::{Loaded, DEMO_SEED};

/// Where a run's rows come from (shared by `corpus`, `train`, `validate`).
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// The corpus adapter, by name, optionally with a version requirement (`konvid@^1`).
    #[arg(long, short = 'a', value_name = "NAME[@REQ]")]
    pub adapter: Selector,
    /// Bind an input slot to a file or shard directory (repeatable). Without any
    /// row slot given, the adapter's defaults (and their environment overrides) are read.
    #[arg(long = "input", short = 'i', value_name = "SLOT=PATH", value_parser = parse_binding)]
    pub inputs: Vec<(String, PathBuf)>,
    /// Use the embedded demo corpus (synthetic, generated in memory) instead of files.
    #[arg(long, conflicts_with = "inputs")]
    pub demo: bool,
    /// The feature schema (default: the adapter's default schema).
    #[arg(long)]
    pub schema: Option<String>,
    /// Keep reference (undistorted) rows, which are excluded by default.
    #[arg(long)]
    pub include_references: bool,
    /// Fail on the first dropped row, naming file, line and reason.
    #[arg(long)]
    pub strict: bool,
    /// Project rows without a MOS too (set by `predict` only; never for
    /// training).
    #[arg(skip)]
    pub unlabelled: bool,
    /// How a labels table of raw votes becomes one score per clip: `mle`
    /// (P.910 / SUREAL maximum likelihood with subject bias and
    /// inconsistency), `bt500` (BT.500 subject screening, then the mean) or
    /// `mean`. Only used where the adapter declares votes.
    #[arg(long, value_name = "MODEL", default_value_t = moshead_subjective::SubjectiveModel::default())]
    pub subjective_model: moshead_subjective::SubjectiveModel,
}

/// Arguments of `moshead corpus`.
#[derive(Debug, Args)]
pub struct CorpusArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

/// Arguments of `moshead synth`.
#[derive(Debug, Args)]
pub struct SynthArgs {
    /// The corpus adapter.
    #[arg(long, short = 'a', value_name = "NAME[@REQ]")]
    adapter: Selector,
    /// Roughly how many (distorted) rows to generate: at most 200000
    /// (KoNViD-150k's size with room to spare; the plugin builds the corpus
    /// in memory, up to about 2 KB a row).
    #[arg(long, value_parser = clap::value_parser!(u64).range(..=SYNTH_MAX_ROWS as u64))]
    rows: u64,
    /// The generator seed.
    #[arg(long, default_value_t = DEMO_SEED)]
    seed: u64,
    /// An adapter-specific variant (konvid: konvid-1k, konvid-150k).
    #[arg(long)]
    variant: Option<String>,
    /// The output directory (created; existing files are not overwritten without --force).
    #[arg(long)]
    out: PathBuf,
    /// Overwrite existing files.
    #[arg(long)]
    force: bool,
}

impl DataArgs {
    /// The library request these flags make.
    pub fn request(&self) -> IngestRequest {
        IngestRequest {
            inputs: self.inputs.clone(),
            demo: self.demo,
            schema: self.schema.clone(),
            include_references: self.include_references,
            strict: self.strict,
            unlabelled: self.unlabelled,
            subjective_model: self.subjective_model,
        }
    }
}

/// Selects the adapter and ingests what `args` binds, with progress on the
/// terminal unless `--quiet`.
pub fn load<'r>(env: &Env, reg: &'r Registry, args: &DataArgs) -> anyhow::Result<Loaded<'r>> {
    let adapter = reg.select(&args.adapter)?;
    let progress = env.progress.clone();
    Ok(crate::ingest::load(
        adapter,
        &args.request(),
        &progress.status(),
    )?)
}

pub fn run_corpus(env: &Env, args: CorpusArgs) -> anyhow::Result<u8> {
    let reg = env.registry_for(&args.data.adapter)?;
    let loaded = load(env, &reg, &args.data)?;
    if args.json {
        print_json(&loaded.report)?;
    } else {
        print_report(loaded.adapter, &loaded.report);
        let (n, f) = loaded.dataset.x.dim();
        println!(
            "training matrix: {n} rows x {f} features ({:.2} MB)",
            (n * f * 8) as f64 / 1e6
        );
    }
    Ok(EXIT_OK)
}

/// Prints an ingestion report for people.
pub fn print_report(adapter: &Adapter, r: &IngestReport) {
    println!(
        "adapter {} {}, schema {} ({} columns)",
        adapter.name(),
        adapter.descriptor.version,
        r.schema,
        r.columns.len()
    );
    println!("inputs:");
    let rows: Vec<Vec<String>> = r
        .inputs
        .iter()
        .map(|i| {
            vec![
                format!("  {}", i.slot),
                i.path.clone(),
                i.sha256.clone(),
                format!("{:.2} MB", i.bytes as f64 / 1e6),
                i.lines.to_string(),
                i.rows.to_string(),
                i.drops.values().sum::<u64>().to_string(),
            ]
        })
        .collect();
    print_table(
        &[
            "  SLOT", "PATH", "SHA256", "SIZE", "LINES", "ROWS", "DROPPED",
        ],
        &rows,
    );
    for (slot, path, sha) in &r.context {
        println!("  {slot} (context) {path} sha256 {sha}");
    }
    let join = |m: &std::collections::BTreeMap<String, u64>| {
        m.iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!("rows: {} ({})", r.rows, join(&r.splits));
    println!("split origin: {}", join(&r.split_origins));
    match r.group_sizes {
        Some([lo, med, hi]) => println!(
            "content groups: {} ({}); rows per group min {lo}, median {med}, max {hi}",
            r.groups,
            join(&r.groups_per_split)
        ),
        None => println!("content groups: 0"),
    }
    if r.synthetic_rows > 0 {
        println!("synthetic rows: {} of {}", r.synthetic_rows, r.rows);
    }
    println!("dropped: {}", r.dropped());
    for (code, d) in &r.drops {
        println!("  {code:<20} {}", d.count);
        for e in &d.examples {
            println!("      e.g. {e}");
        }
    }
    for s in &r.subjective {
        print_subjective(s);
    }
    println!("columns:");
    let rows: Vec<Vec<String>> = r
        .columns
        .iter()
        .map(|c| {
            vec![
                format!("  {}", c.name),
                f4(c.min),
                f4(c.mean),
                f4(c.max),
                c.filled.to_string(),
            ]
        })
        .collect();
    print_table(&["  COLUMN", "MIN", "MEAN", "MAX", "FILLED"], &rows);
    for n in &r.notes {
        println!("note: {n}");
    }
}

/// The largest `synth --rows`: KoNViD-150k's 154,000 clips with room to
/// spare. The plugin returns the corpus as text in one piece, about 2 KB a
/// row at most (chug-hdr's wide rows), so the bound keeps it near 400 MB.
pub const SYNTH_MAX_ROWS: usize = 200_000;
/// Prints the subjective side of a labels table of raw votes.
fn print_subjective(s: &crate::corpus::labels::SubjectiveReport) {
    let [lo, med, hi] = s.votes_per_clip;
    println!(
        "votes ({}): model {}; {} of {} votes kept; {} clips, {} subjects, {} session(s); votes per clip min {lo}, median {med}, max {hi}",
        s.slot, s.model, s.votes_kept, s.votes_read, s.clips, s.subjects, s.sessions
    );
    if let Some(r) = s.differential {
        println!("  {}", crate::corpus::labels::dmos_sentence(r));
    }
    match s.ci95_width {
        Some([a, b, c, d]) => println!(
            "  CI95 width per clip: min {}, median {}, p90 {}, max {}",
            f4(Some(a)),
            f4(Some(b)),
            f4(Some(c)),
            f4(Some(d))
        ),
        None => println!("  CI95 width per clip: none (a single vote per clip)"),
    }
    if let Some((n, converged)) = s.iterations {
        let how = if converged {
            "converged"
        } else {
            "did NOT converge (cap reached)"
        };
        println!("  maximum likelihood: {n} iterations, {how}");
    }
    for d in &s.dropped_subjects {
        println!("  subject dropped: {d}");
    }
    for (who, why) in &s.rejected {
        println!("  subject rejected: {who}: {why}");
    }
}

pub fn run_synth(env: &Env, args: SynthArgs) -> anyhow::Result<u8> {
    let reg = env.registry_for(&args.adapter)?;
    let adapter = reg.select(&args.adapter)?;
    let out = adapter.synthesize(&SynthRequest {
        rows: usize::try_from(args.rows)?,
        seed: args.seed,
        variant: args.variant.clone(),
    })?;
    for (rel, _) in &out.files {
        let path = safe_join(&args.out, rel)?;
        if path.exists() && !args.force {
            anyhow::bail!("{} exists; pass --force to overwrite", path.display());
        }
    }
    for (rel, text) in &out.files {
        let path = safe_join(&args.out, rel)?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("{}: cannot create", parent.display()))?;
        }
        crate::manifest::write_atomic(&path, text.as_bytes())?;
    }
    let flags: Vec<String> = out
        .inputs
        .iter()
        .map(|(slot, rel)| format!("--input {slot}={}", args.out.join(rel).display()))
        .collect();
    println!(
        "wrote {} file(s) under {}; read them with: moshead corpus --adapter {} {}",
        out.files.len(),
        args.out.display(),
        adapter.name(),
        flags.join(" ")
    );
    Ok(EXIT_OK)
}

/// Joins a plugin-supplied relative path under `base`, refusing absolute
/// paths and `..` (a plugin must not write outside the output directory).
pub fn safe_join(base: &Path, rel: &str) -> anyhow::Result<PathBuf> {
    let p = Path::new(rel);
    if !moshead_protocol::descriptor::is_relative_below(rel) {
        anyhow::bail!("refusing to write `{rel}` outside {}", base.display());
    }
    // A directory on the way that is a symbolic link would lead outside.
    let mut at = base.to_path_buf();
    let parts: Vec<_> = p.components().collect();
    for c in parts.iter().take(parts.len().saturating_sub(1)) {
        at.push(c);
        if std::fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink()) {
            anyhow::bail!(
                "{}: is a symbolic link; refusing to write `{rel}` through it",
                at.display()
            );
        }
    }
    Ok(base.join(p))
}
