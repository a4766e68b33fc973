//! The command line: argument parsing, dispatch and exit codes.
//!
//! `anyhow` lives here and only here; the library modules return typed
//! errors.

mod adapters;
mod compare;
mod corpus;
mod export;
mod head;
mod predict;
mod scoring;
pub mod table;
mod train;
mod validate;

pub use corpus::safe_join;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::progress::{Progress, ProgressMode};
use crate::registry::{search_dirs, Registry, SearchDir};

/// Exit code: success (also when a gate is missed without `--require-gate`).
pub const EXIT_OK: u8 = 0;
/// Exit code: an error (bad input, plugin failure, I/O).
pub const EXIT_ERROR: u8 = 1;
/// Exit code: usage error (unknown flag, bad value), as clap reports it.
pub const EXIT_USAGE: u8 = 2;
/// Exit code: `--require-gate` and the gate was missed.
pub const EXIT_GATE: u8 = 3;
/// Exit code: `adapters check` found a failing check.
pub const EXIT_CHECK: u8 = 4;

const AFTER_HELP: &str = "\
Exit codes:
  0  success (a missed gate is reported but still exits 0 unless --require-gate)
  1  error: bad input, a plugin failure, an I/O problem
  2  usage error
  3  the gate was missed: `train --require-gate` (also when no gate is declared), or `validate`
  4  `adapters check` found a failing check

Plugins are searched in --plugin-dir (in order), then MOSHEAD_PLUGIN_PATH (absolute
entries only), then the executable's directory, then <prefix>/lib/moshead/plugins and
$XDG_DATA_HOME/moshead/plugins; never the current directory. See `moshead adapters --paths`.";

/// Train MOS heads from objective video-quality features, one corpus adapter per corpus.
#[derive(Debug, Parser)]
#[command(name = "moshead", version, about, after_help = AFTER_HELP)]
pub struct Cli {
    /// Where plugins come from and what is trusted.
    #[command(flatten)]
    pub plugins: PluginArgs,
    /// Print only errors and the final result line (no progress, no summary).
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Progress on standard error: `auto` (a line on a terminal, a dated line
    /// per stage and at least every 10 s otherwise), `lines`, `json` (one
    /// event object per line), `off`.
    #[arg(long, global = true, value_enum, default_value_t = ProgressMode::Auto)]
    pub progress: ProgressMode,
    /// Worker threads (default: $MOSHEAD_THREADS, else every core). Results
    /// and manifests are the same for any count.
    #[arg(long, global = true, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=crate::threads::MAX_THREADS as i64))]
    pub threads: Option<u16>,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The plugin flags every binary that loads adapters takes (`moshead`,
/// `moshead-bench`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct PluginArgs {
    /// A directory to load adapter plugins from (repeatable; searched first).
    #[arg(long = "plugin-dir", global = true, value_name = "DIR")]
    pub plugin_dirs: Vec<PathBuf>,
    /// Load plugins even from files or directories other users can write, or
    /// owned by someone else.
    #[arg(long, global = true)]
    pub allow_insecure_plugins: bool,
    /// A pin file (`name version sha256` per line): refuse any plugin not
    /// listed. Default: $MOSHEAD_PLUGIN_LOCK when set (set but empty is an
    /// error).
    #[arg(long, global = true, value_name = "FILE")]
    pub plugin_lock: Option<PathBuf>,
}

/// The commands.
// Parsed once per run: the size of the largest variant (train's flags)
// does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the corpus adapters found, or show one.
    Adapters(adapters::AdaptersArgs),
    /// Read an adapter's inputs and report what a trainer would get.
    Corpus(corpus::CorpusArgs),
    /// Write a synthetic corpus in an adapter's own raw row format.
    Synth(corpus::SynthArgs),
    /// Train a MOS head, validate it, apply the gate and write the manifest.
    Train(train::TrainArgs),
    /// Predict MOS for rows with a trained model manifest.
    Predict(predict::PredictArgs),
    /// Score a model on the held-out test split and apply its gate, or on
    /// another adapter's corpus (`--adapter OTHER`, cross-corpus).
    Validate(validate::ValidateArgs),
    /// Re-export a manifest's ONNX model, model card and plots.
    Export(export::ExportArgs),
    /// List the training runs recorded in an output directory's ledger.
    Ledger(export::LedgerArgs),
    /// Test whether two or more models differ, on the same rows: their
    /// validation predictions (same folds of the same corpus), or `--input`.
    Compare(compare::CompareArgs),
}

/// The process entry point.
pub fn main() -> ExitCode {
    // Like other Unix filters, stop quietly when the reader of our output
    // goes away (`moshead predict ... | head`) instead of failing a write.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE at start-up,
    // before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_USAGE } else { EXIT_OK });
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("moshead: error: {}", render_error(&e));
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// An error and its causes, `: `-separated, each cause shown once: a cause
/// whose text the message already holds (an I/O error a library error
/// prints beside its path) is not repeated.
pub fn render_error(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.is_empty() {
            out = text;
        } else if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
    }
    out
}

/// The pin file: `--plugin-lock`, else `$MOSHEAD_PLUGIN_LOCK`; the variable
/// set to an empty value is an error saying so.
fn plugin_lock(flag: Option<&std::path::Path>) -> anyhow::Result<Option<PathBuf>> {
    if let Some(p) = flag {
        return Ok(Some(p.to_path_buf()));
    }
    match std::env::var_os("MOSHEAD_PLUGIN_LOCK") {
        Some(v) if v.is_empty() => anyhow::bail!(
            "MOSHEAD_PLUGIN_LOCK is set but empty: set it to a pin file, or unset it to use no pin file"
        ),
        Some(v) => Ok(Some(PathBuf::from(v))),
        None => Ok(None),
    }
}

/// Global context shared by commands.
pub struct Env {
    /// The plugin search path.
    pub dirs: Vec<SearchDir>,
    /// Only errors and the final result line.
    pub quiet: bool,
    /// Where progress goes (shared by every stage of the run).
    pub progress: Progress,
    /// What plugins are trusted.
    pub trust: crate::trust::TrustPolicy,
}

impl Env {
    /// The search path and trust policy `plugins` ask for (with
    /// `MOSHEAD_PLUGIN_PATH` and `MOSHEAD_PLUGIN_LOCK` from the environment).
    pub fn new(plugins: &PluginArgs, quiet: bool) -> anyhow::Result<Env> {
        Env::with_progress(plugins, quiet, ProgressMode::Auto)
    }

    /// [`Env::new`] with progress in `mode` (`--progress`).
    pub fn with_progress(
        plugins: &PluginArgs,
        quiet: bool,
        mode: ProgressMode,
    ) -> anyhow::Result<Env> {
        Ok(Env {
            dirs: search_dirs(
                &plugins.plugin_dirs,
                std::env::var_os("MOSHEAD_PLUGIN_PATH").as_deref(),
            ),
            quiet,
            progress: Progress::new(mode, quiet),
            trust: crate::trust::TrustPolicy {
                allow_insecure: plugins.allow_insecure_plugins,
                pins: plugin_lock(plugins.plugin_lock.as_deref())?
                    .as_deref()
                    .map(crate::trust::Pins::load)
                    .transpose()?,
            },
        })
    }

    /// Discovers and loads every plugin, printing discovery warnings to
    /// stderr (`moshead adapters`, `adapters lock`, `moshead-bench`).
    pub fn registry(&self) -> anyhow::Result<Registry> {
        let reg = Registry::discover(&self.dirs, &self.trust)?;
        Self::warn(&reg);
        Ok(reg)
    }

    /// Discovers and loads every plugin without printing its warnings (the
    /// command already printed those of the adapter it loaded); a failed
    /// discovery is an empty registry. For hints about other adapters only.
    pub fn registry_quiet(&self) -> Registry {
        Registry::discover(&self.dirs, &self.trust).unwrap_or_default()
    }

    /// Discovers the plugin files named for the selected adapter and loads
    /// only those: no other plugin's code runs.
    ///
    /// A study file (`--adapter ./study.toml`, or `NAME.toml` on the search
    /// path when no plugin file is named for `NAME`) loads the built-in
    /// study plugin serving it.
    pub fn registry_for(&self, sel: &crate::registry::Selector) -> anyhow::Result<Registry> {
        self.registry_for_model(sel, None)
    }

    /// Like [`Env::registry_for`], with the study file a model's manifest
    /// records as the last place its study is looked for.
    pub fn registry_for_model(
        &self,
        sel: &crate::registry::Selector,
        recorded_study: Option<&std::path::Path>,
    ) -> anyhow::Result<Registry> {
        if !crate::registry::is_study_path(&sel.name) {
            let reg = Registry::discover_named(&self.dirs, &self.trust, &sel.name)?;
            if !reg.adapters().is_empty() {
                Self::warn(&reg);
                return Ok(reg);
            }
            if recorded_study.is_none()
                && crate::registry::find_study(&self.dirs, &sel.name)?.is_none()
            {
                Self::warn(&reg);
                return Ok(reg);
            }
        }
        match Registry::discover_study(&self.dirs, &self.trust, &sel.name, recorded_study)? {
            Some(reg) => {
                Self::warn(&reg);
                Ok(reg)
            }
            None => Ok(Registry::discover_named(
                &self.dirs,
                &self.trust,
                &sel.name,
            )?),
        }
    }

    fn warn(reg: &Registry) {
        for d in &reg.diagnostics {
            eprintln!("moshead: warning: {} ({})", d.message, d.kind);
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    crate::threads::configure(cli.threads.map(usize::from))?;
    let env = Env::with_progress(&cli.plugins, cli.quiet, cli.progress)?;
    match cli.command {
        Command::Adapters(a) => adapters::run(&env, a),
        Command::Corpus(a) => corpus::run_corpus(&env, a),
        Command::Synth(a) => corpus::run_synth(&env, a),
        Command::Train(a) => train::run_train(&env, a),
        Command::Predict(a) => predict::run_predict(&env, a),
        Command::Validate(a) => validate::run_validate(&env, a),
        Command::Export(a) => export::run_export(&env, a),
        Command::Ledger(a) => export::run_ledger(&env, a),
        Command::Compare(a) => compare::run_compare(&env, a),
    }
}

/// A metric to 4 decimals, or `-` when undefined (tables of every command).
pub fn f4(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.4}"))
}

/// Prints `value` as pretty JSON with a trailing newline.
pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
