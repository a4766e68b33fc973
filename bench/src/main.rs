//! `moshead-bench`: the figures behind moshead's speed, memory and accuracy
//! claims, kept out of the product.
//!
//! - `ingest`: ingest throughput and peak memory on generated corpora of the
//!   real sizes ([`ingest`]);
//! - `train`: end-to-end `moshead train` wall time and memory, and the prior
//!   art's training recipe ([`adamw`]) on the same folds ([`train`]);
//! - `accuracy`: every head and `auto` over 100 content-disjoint splits of
//!   the development set and generated stress corpora ([`accuracy`]);
//! - `smo`: single SVR solves with and without shrinking ([`smo`]).
//!
//! It loads adapters like `moshead` does (the same `--plugin-dir`,
//! `--allow-insecure-plugins` and `--plugin-lock` flags; the executable's
//! directory is searched, so a `cargo build --release` puts the built-in
//! plugins in reach) and times child `moshead` processes from its own
//! directory. Figures are printed, never asserted: a missed target is
//! reported beside the figure and does not change the exit code.

mod accuracy;
mod adamw;
mod corpora;
mod coverage;
mod fused;
mod ingest;
mod logs;
mod recipe;
mod smo;
mod support;
mod train;
mod twins;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use moshead::cli::{render_error, Env, PluginArgs, EXIT_ERROR, EXIT_OK, EXIT_USAGE};

/// Measure moshead's ingest and training speed, peak memory and head accuracy.
#[derive(Debug, Parser)]
#[command(name = "moshead-bench", version, about)]
struct BenchCli {
    /// Where plugins come from and what is trusted.
    #[command(flatten)]
    plugins: PluginArgs,
    /// No progress output.
    #[arg(long, short, global = true)]
    quiet: bool,
    /// The benchmark.
    #[command(subcommand)]
    command: BenchCommand,
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Ingest throughput and peak memory on a KonVid-150k-sized corpus (as JSONL,
    /// CSV and gzipped JSONL) and a CHUG-sized one (targets: >= 150 MB/s of text
    /// on 2 cores, gzip >= 100 MB/s of uncompressed text; memory <= matrix + 64 MB).
    Ingest(ingest::IngestArgs),
    /// End-to-end `moshead train` wall time and peak memory on a CHUG-sized
    /// (explicit split) and a KonVid-150k-sized (grouped 5-fold) corpus, and
    /// held-out accuracy against the prior art's recipe on the same folds
    /// (targets: under 2 s and under 60 s on 2 cores; at least as accurate).
    Train(train::TrainBenchArgs),
    /// Held-out accuracy of every head and of `auto`: median SROCC / PLCC
    /// over 100 content-disjoint 80/20 splits, pooled out-of-fold metrics
    /// and wall time, on the development set (when present) and generated
    /// stress corpora (figures, not tests).
    Accuracy(accuracy::AccuracyArgs),
    /// Single SVR solves with and without libsvm's shrinking: iterations,
    /// active-set sizes, wall time, objective and the largest difference of
    /// their decision values, on the development set (when present).
    Smo(smo::SmoArgs),
    /// The fused-metrics corpus: pooled out-of-fold PLCC of auto, the fixed
    /// SVR, VMAF's recipe and the best single feature on generated coding
    /// studies of collinear full-reference scores (target: auto at least
    /// the best single feature and VMAF's recipe).
    Fused(fused::FusedArgs),
}

fn main() -> ExitCode {
    let cli = match BenchCli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_USAGE } else { EXIT_OK });
        }
    };
    let run = || -> anyhow::Result<u8> {
        moshead::threads::configure(None)?;
        let env = Env::new(&cli.plugins, cli.quiet)?;
        match cli.command {
            BenchCommand::Ingest(a) => ingest::run(&env, a),
            BenchCommand::Train(a) => train::run(&env, a),
            BenchCommand::Accuracy(a) => accuracy::run(&env, a),
            BenchCommand::Smo(a) => smo::run(a),
            BenchCommand::Fused(a) => fused::run(a),
        }
    };
    match run() {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("moshead-bench: error: {}", render_error(&e));
            ExitCode::from(EXIT_ERROR)
        }
    }
}
