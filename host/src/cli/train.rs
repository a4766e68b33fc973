//! `moshead train`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use clap::Args;

use super::corpus::{load, DataArgs};
use super::{f4, print_json, Env, EXIT_GATE, EXIT_OK};
use crate::evaluation::folds::{self, Policy, PolicyKind, DEFAULT_SEED};
use crate::evaluation::gate::GateReport;
use crate::ingest::Loaded;
use crate::manifest::{Manifest, ValidationRecord};
use crate::pipeline::TrainRequest;
use crate::selection::HeadChoice;

/// Arguments of `moshead train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    head: super::head::HeadArgs,
    /// Validation policy (default: explicit when rows carry train and val, else kfold):
    /// `explicit` trains on the `train` rows and evaluates on the `val` rows (one fold),
    /// `kfold` uses k content-grouped folds over the non-test rows, `repeated` N
    /// content-disjoint random 80/20 splits of them.
    #[arg(long, value_parser = policy_kind())]
    validation: Option<PolicyKind>,
    /// Folds for kfold.
    #[arg(long, default_value_t = 5)]
    folds: usize,
    /// Splits for repeated (the field reports 100; each is a full fit).
    #[arg(long, default_value_t = 10)]
    repeats: usize,
    /// The seed; fold i uses seed + i; the ship model uses seed.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    seed: u64,
    /// The nominal coverage of the per-clip prediction intervals `predict`
    /// writes (`lo`, `hi`), calibrated on the out-of-fold residuals.
    #[arg(long, default_value_t = crate::evaluation::conformal::DEFAULT_COVERAGE, value_parser = coverage)]
    coverage: f64,
    /// Override the adapter's model id (recorded beside the adapter's).
    #[arg(long)]
    model_id: Option<String>,
    /// Output directory (default: the adapter's, or its environment override).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Overwrite an existing manifest.
    #[arg(long)]
    force: bool,
    /// Exit 3 when the gate is missed, or when the adapter declares no gate
    /// (nothing can pass).
    #[arg(long)]
    require_gate: bool,
    /// Print the run summary as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    formats: super::export::FormatArgs,
    /// With `--export vmaf-bootstrap`: the heads refitted on resamples of
    /// contents (libvmaf's models 1..N of the collection).
    #[arg(long, default_value_t = crate::export::vmaf_bootstrap::DEFAULT_MODELS, value_parser = bootstrap_models)]
    bootstrap_models: usize,
    /// Train for a consumer: `libvmaf` lets `auto` choose only among the
    /// heads libvmaf can evaluate (ridge, SVR) and requires the libvmaf
    /// model. Stated in the summary, the manifest and the card.
    #[arg(long = "for", value_enum, value_name = "CONSUMER")]
    trained_for: Option<Consumer>,
}

/// `--bootstrap-models`: 1 to [`crate::export::vmaf_bootstrap::MAX_MODELS`].
fn bootstrap_models(s: &str) -> Result<usize, String> {
    let max = crate::export::vmaf_bootstrap::MAX_MODELS;
    match s.parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(format!("`{s}` is not a count from 1 to {max}")),
    }
}

/// `--for`: who will evaluate the head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Consumer {
    /// libvmaf (`vmaf --model`, ffmpeg's libvmaf filter).
    Libvmaf,
}

/// `--validation`: one of [`PolicyKind::NAMES`] (listed in `--help` and in
/// the error for any other value).
fn policy_kind() -> impl clap::builder::TypedValueParser<Value = PolicyKind> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(PolicyKind::NAMES)
        .try_map(|s: String| s.parse::<PolicyKind>())
}

fn output_dir(loaded: &Loaded<'_>, out: &Option<PathBuf>) -> PathBuf {
    if let Some(o) = out {
        return o.clone();
    }
    crate::manifest::default_output_dir(&loaded.adapter.descriptor)
}

/// The run's JSON summary.
#[derive(serde::Serialize)]
struct Summary<'a> {
    model_id: &'a str,
    manifest: PathBuf,
    validation: &'a ValidationRecord,
    gate: &'a GateReport,
    outputs: BTreeMap<String, String>,
    /// What the reader should know (the manifest's warnings).
    warnings: &'a [crate::manifest::warnings::Warning],
    /// The consumer the head was trained for (`--for`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    trained_for: Option<&'a crate::manifest::TrainedFor>,
}

/// The run `moshead train`'s flags ask for, resolved and checked from the
/// command line alone, before any data is read (ripgrep's `HiArgs`): a bad
/// combination of flags is refused here, never after an ingest.
struct RunConfig {
    /// The head or `auto`'s candidates (narrowed by `--for`).
    choice: HeadChoice,
    /// The exports asked for (`--export`, and what `--for` requires).
    formats: super::export::FormatArgs,
    /// What `--for` records in the manifest.
    trained_for: Option<crate::manifest::TrainedFor>,
}

impl RunConfig {
    /// Resolves `args`: the model id given, the head and its settings, the
    /// exports and the consumer, the validation policy's limits.
    fn resolve(args: &TrainArgs) -> anyhow::Result<RunConfig> {
        if let Some(id) = &args.model_id {
            crate::model_id::check(id).map_err(|e| anyhow::anyhow!("--model-id: {e}"))?;
        }
        let mut choice = args.head.choice()?;
        let for_libvmaf = args.trained_for == Some(Consumer::Libvmaf);
        let mut formats = args.formats.clone();
        if for_libvmaf {
            formats.require(crate::export::vmaf::EXPORT_VMAF);
        }
        let mut trained_for = for_libvmaf.then(|| crate::manifest::TrainedFor {
            target: "libvmaf".into(),
            rule: "heads libvmaf can evaluate: ridge, SVR (one RBF width)".into(),
            excluded: Vec::new(),
        });
        match &mut choice {
            HeadChoice::Fixed(spec) => super::export::check_head(&formats, spec.kind)?,
            // Trained for libvmaf: auto chooses among the heads libvmaf can
            // evaluate, and the manifest says which it left out.
            HeadChoice::Auto(cfg) if for_libvmaf => {
                let (kept, left) = std::mem::take(&mut cfg.candidates)
                    .into_iter()
                    .partition(|c| {
                        crate::export::vmaf::head_refusal(c.spec.kind).is_none()
                            && !c.mean_of_widths
                    });
                cfg.candidates = kept;
                if let Some(t) = trained_for.as_mut() {
                    t.excluded = left.into_iter().map(|c| c.name).collect();
                }
            }
            // A libvmaf model alone does not change what auto may choose
            // (the validation figures must not depend on an output flag).
            HeadChoice::Auto(_) if formats.head_bound().is_some() => bail!(
                "--export {} with --head auto: auto may choose a head libvmaf cannot evaluate; \
                 pass --for libvmaf to choose among the heads libvmaf can evaluate (stated in the \
                 manifest), or a fixed --head ridge / --head svr",
                formats
                    .head_bound()
                    .and_then(|e| e.flag())
                    .unwrap_or_default()
            ),
            HeadChoice::Auto(_) => {}
        }
        crate::training::limits::check_policy(args.folds, args.repeats)?;
        Ok(RunConfig {
            choice,
            formats,
            trained_for,
        })
    }
}

/// Where a run writes, resolved once the corpus is read (the adapter gives
/// the defaults) and before any work: the model id, the output directory
/// (locked for the run) and its manifest, which `--force` alone overwrites.
struct Destination {
    model_id: String,
    out_dir: PathBuf,
    manifest_path: PathBuf,
    _lock: crate::manifest::OutputLock,
}

impl Destination {
    fn resolve(args: &TrainArgs, loaded: &Loaded<'_>) -> anyhow::Result<Destination> {
        let d = &loaded.adapter.descriptor;
        let model_id = args.model_id.clone().unwrap_or_else(|| d.model_id.clone());
        crate::model_id::check(&model_id).map_err(|e| {
            anyhow::anyhow!("adapter `{}` declares an unusable model id: {e}", d.name)
        })?;
        let out_dir = output_dir(loaded, &args.out);
        let lock = crate::manifest::OutputLock::acquire(&out_dir)?;
        let manifest_path = out_dir.join(format!("{model_id}.json"));
        if manifest_path.exists() && !args.force {
            bail!(
                "{} exists; pass --force to overwrite it",
                manifest_path.display()
            );
        }
        Ok(Destination {
            model_id,
            out_dir,
            manifest_path,
            _lock: lock,
        })
    }
}

pub fn run_train(env: &Env, args: TrainArgs) -> anyhow::Result<u8> {
    // Everything the command line alone decides is checked before any work.
    let RunConfig {
        choice,
        formats,
        trained_for,
    } = RunConfig::resolve(&args)?;
    let reg = env.registry_for(&args.data.adapter)?;
    let loaded = load(env, &reg, &args.data)?;
    let ds = &loaded.dataset;
    // Refused before the output directory is created or locked.
    crate::pipeline::check_corpus(ds, &loaded.report)?;
    let d = &loaded.adapter.descriptor;
    let libvmaf_names = d
        .schema(&ds.schema)
        .map(|s| s.libvmaf_names.clone())
        .unwrap_or_default();
    if let Some(flag) = formats.head_bound().and_then(|e| e.flag()) {
        crate::export::vmaf::feature_names(&d.name, &ds.schema, &ds.columns, &libvmaf_names)
            .map_err(|r| anyhow::anyhow!("--export {flag}: {r}"))?;
    }
    let dest = Destination::resolve(&args, &loaded)?;
    let (model_id, out_dir, manifest_path) = (&dest.model_id, &dest.out_dir, &dest.manifest_path);

    let policy = Policy {
        kind: args.validation.unwrap_or_else(|| folds::default_kind(ds)),
        k: args.folds,
        repeats: args.repeats,
        eval_fraction: 0.2,
        seed: args.seed,
    };
    let progress = env.progress.clone();
    let request = TrainRequest {
        adapter: loaded.adapter,
        dataset: ds,
        report: &loaded.report,
        choice: &choice,
        policy,
        model_id: model_id.clone(),
        include_references: args.data.include_references,
        command_line: command_line(),
        coverage: args.coverage,
    };
    let mut trained = crate::pipeline::train(&request, &progress.status())?;
    trained.manifest.training.trained_for = trained_for;
    // What the exports asked for need from the rows (the bootstrap
    // collection's refitted heads), recorded in the manifest.
    let status = progress.status();
    let cx = crate::export::TrainContext {
        dataset: ds,
        bootstrap_models: args.bootstrap_models,
        status: &status,
    };
    for e in formats.exports() {
        e.train(&mut trained.manifest, &cx)
            .with_context(|| format!("--export {}", e.flag().unwrap_or_default()))?;
    }
    progress.update(|| "write outputs".into());
    std::fs::create_dir_all(out_dir)
        .with_context(|| format!("{}: cannot create", out_dir.display()))?;
    // The ONNX model, the validation sidecar, the card, the plots, the
    // manifest and the ledger line: one commit, all or nothing.
    let (manifest, bundle) =
        crate::export::write_bundle_with_ledger(&trained.manifest, &trained.predictions, out_dir)?;
    progress.finish();
    let ledger_path = out_dir.join(crate::export::ledger::LEDGER_FILE);
    if !env.quiet {
        super::export::refusal_notes(&bundle);
    }
    if args.json {
        print_json(&Summary {
            model_id,
            manifest: manifest_path.clone(),
            validation: &manifest.validation,
            gate: &manifest.gate,
            outputs: bundle.outputs(),
            warnings: &manifest.warnings,
            trained_for: manifest.training.trained_for.as_ref(),
        })?;
    } else if env.quiet {
        println!("{}", result_line(&manifest, manifest_path));
    } else {
        print_summary(&manifest, manifest_path);
        super::export::report_bundle(&manifest, &bundle, false)?;
        println!("ledger: {}", ledger_path.display());
    }
    Ok(if args.require_gate && !manifest.gate.passed {
        if !manifest.gate.declared {
            eprintln!(
                "moshead: --require-gate: {} declares no gate, so no head can pass one",
                manifest.adapter.name
            );
        }
        EXIT_GATE
    } else {
        EXIT_OK
    })
}

/// The RMSE figures on each slot's native scale, one line per slot.
fn native_lines(m: &Manifest) -> Vec<String> {
    let v = &m.validation;
    v.native_rmse
        .iter()
        .map(|(slot, n)| {
            let bases: Vec<String> = n
                .baselines
                .iter()
                .map(|(b, r)| format!("{b} {}", n.show(*r)))
                .collect();
            format!(
                "RMSE on the native {} scale of `{slot}`: mean {}, median {}{}; baselines' mean: {}",
                n.range(),
                n.show(n.mean),
                n.show(n.median),
                n.pooled
                    .map_or_else(String::new, |p| format!(", pooled {}", n.show(Some(p)))),
                bases.join(", ")
            )
        })
        .collect()
}

/// The one line `--quiet` prints: the head, its validation's headline
/// figures, the gate and the manifest written.
fn result_line(m: &Manifest, path: &Path) -> String {
    let v = &m.validation;
    let (what, plcc, rmse) = match &v.pooled {
        Some(p) => ("pooled", p.head.plcc, p.head.rmse),
        None => ("mean", v.aggregate.mean.plcc, v.aggregate.mean.rmse),
    };
    // The native RMSE when every slot shares one scale.
    let mut scales = v.native_rmse.values();
    let native = match (scales.next(), rmse) {
        (Some(n), Some(r)) if scales.all(|o| o.per_head_unit == n.per_head_unit) => {
            format!(" ({} on {})", n.show(n.of(Some(r))), n.range())
        }
        _ => String::new(),
    };
    format!(
        "{}: {} head, {what} PLCC {}, RMSE {}{native}; gate {} {}; wrote {}",
        m.id,
        m.head.spec.kind.as_str(),
        f4(plcc),
        f4(rmse),
        m.gate.kind,
        m.gate.outcome().shout(),
        path.display()
    )
}

/// The command line, with the program reduced to its file name so the
/// manifest does not depend on where moshead is installed, and without
/// `--threads` (the count changes no result). An argument
/// that is not UTF-8 (a path) is recorded lossily (U+FFFD for each
/// invalid sequence), never a panic.
fn command_line() -> Vec<String> {
    let mut args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    // The thread count changes no result: the manifest leaves it out.
    let mut i = 0;
    while i < args.len() {
        if args[i] == "--threads" {
            let end = (i + 2).min(args.len());
            args.drain(i..end);
        } else if args[i].starts_with("--threads=") {
            args.remove(i);
        } else {
            i += 1;
        }
    }
    if let Some(first) = args.first_mut() {
        if let Some(name) = Path::new(first.as_str())
            .file_name()
            .and_then(|n| n.to_str())
        {
            *first = name.to_owned();
        }
    }
    args
}

fn print_summary(m: &Manifest, path: &Path) {
    let v = &m.validation;
    println!(
        "{}: {} head on {} {} ({}, {} features); {} rows, {} content groups{}",
        m.id,
        m.head.spec.kind.as_str(),
        m.adapter.name,
        m.adapter.version,
        m.feature_schema,
        m.feature_order.len(),
        m.data.rows,
        m.data.groups,
        if m.data.synthetic { ", synthetic" } else { "" }
    );
    if let Some(each) = &m.data.each_row_content {
        println!("contents: {each}");
    }
    println!(
        "validation: {} ({} fold(s)), seed {}",
        v.name,
        v.folds.len(),
        v.policy.seed
    );
    print_fold_table(v);
    if let Some(p) = &v.pooled {
        if let Some(ci) = &p.intervals {
            println!("pooled {}", ci.describe());
        }
        for (name, ci) in &p.baseline_intervals {
            println!("pooled baseline {name} 95% CI: {}", ci.brief());
        }
    }
    if let Some(line) = v.pooled.as_ref().and_then(|p| p.head.p1401_line()) {
        println!("pooled {line}");
    }
    if let Some(pi) = &m.prediction_intervals {
        println!("{}", pi.describe());
    }
    for line in native_lines(m) {
        println!("{line}");
    }
    print_selection(m);
    print_verdict(m);
    println!("wrote {}", path.display());
}

/// The summary table: one row per fold, the mean (and median) over folds,
/// the pooled row, each baseline beside the head.
fn print_fold_table(v: &ValidationRecord) {
    let mut rows = Vec::new();
    for f in &v.folds {
        let mut row = vec![
            format!("{}", f.fold),
            f.n_train.to_string(),
            f.n_eval.to_string(),
        ];
        row.extend(metric_cells(v, &f.head, &f.baselines));
        row.push(format!(
            "{} it, {}",
            f.solve.iterations,
            f.solve.termination.short()
        ));
        rows.push(row);
    }
    let a = &v.aggregate;
    let stat_row = |label: &str,
                    pick: fn(&crate::evaluation::Aggregate) -> &crate::evaluation::MetricSet,
                    note: String| {
        let s = pick(a);
        let mut row = vec![
            label.to_owned(),
            String::new(),
            String::new(),
            f4(s.plcc),
            f4(s.plcc_mapped),
            f4(s.srocc),
            f4(s.krocc),
            f4(s.rmse),
        ];
        for b in v.baselines.values() {
            let bs = pick(b);
            row.push(format!("{}/{}", f4(bs.plcc), f4(bs.rmse)));
        }
        row.push(note);
        row
    };
    rows.push(stat_row(
        "mean",
        |g| &g.mean,
        format!("PLCC spread {}", f4(a.plcc_spread)),
    ));
    if v.folds.len() > 2 {
        rows.push(stat_row(
            "median",
            |g| &g.median,
            format!("SD of PLCC {}", f4(a.sd.plcc)),
        ));
    }
    if let Some(p) = &v.pooled {
        rows.push(pooled_row(v, p));
    }
    let mut header: Vec<String> = [
        "FOLD",
        "TRAIN",
        "EVAL",
        "PLCC",
        "PLCC(log)",
        "SROCC",
        "KROCC",
        "RMSE",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for b in v.baselines.keys() {
        header.push(format!("{b} PLCC/RMSE"));
    }
    header.push("SOLVE".into());
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    super::table::print_table(&header, &rows);
}

/// The head's metrics, then each baseline's PLCC/RMSE, of one row of the
/// summary table.
fn metric_cells(
    v: &ValidationRecord,
    head: &crate::evaluation::Metrics,
    baselines: &BTreeMap<String, crate::evaluation::Metrics>,
) -> Vec<String> {
    let mut row = vec![
        f4(head.plcc),
        f4(head.plcc_mapped),
        f4(head.srocc),
        f4(head.krocc),
        f4(head.rmse),
    ];
    for b in v.baselines.keys() {
        let bm = baselines.get(b);
        row.push(format!(
            "{}/{}",
            f4(bm.and_then(|m| m.plcc)),
            f4(bm.and_then(|m| m.rmse))
        ));
    }
    row
}

/// The pooled out-of-fold row of the summary table.
fn pooled_row(v: &ValidationRecord, p: &crate::validation::oof::Pooled) -> Vec<String> {
    let mut row = vec!["pooled".to_owned(), String::new(), p.n.to_string()];
    row.extend(metric_cells(v, &p.head, &p.baselines));
    row.push(if p.each_row_once {
        "out-of-fold, each row once".into()
    } else {
        "out-of-fold, rows once per split".into()
    });
    row
}

/// The gate's verdict, the ship model and the warnings.
fn print_verdict(m: &Manifest) {
    let g = &m.gate;
    let checks: Vec<String> = g
        .checks
        .iter()
        .map(|c| {
            let mark = match c.passed {
                Some(true) => "ok",
                Some(false) => "MISS",
                None => "n/a",
            };
            format!("{} {} {} [{mark}]", c.metric, f4(c.value), c.rule)
        })
        .collect();
    if g.declared {
        println!(
            "gate ({}): {} — {}",
            g.kind,
            g.outcome().shout(),
            checks.join("; ")
        );
    } else {
        println!(
            "gate ({}): no gate declared — the adapter names no threshold, so nothing accepted or refused this head",
            g.kind
        );
    }
    println!("ship model: trained on {}", m.training.describe());
    if !m.training.solve.converged {
        println!(
            "warning: the ship model's solve did not converge ({})",
            m.training.solve.termination
        );
    }
    if let Some(t) = &m.training.trained_for {
        println!("candidates: {}", t.describe());
    }
    for w in &m.warnings {
        println!("warning: {}", w.message);
    }
}

/// Which head inner CV chose in each fold and for the ship model.
fn print_selection(m: &Manifest) {
    let v = &m.validation;
    let line = |what: String, s: &crate::selection::SelectionRecord| {
        let best = s.table.iter().find(|c| c.name == s.chosen);
        println!(
            "  {what}: {} (inner RMSE {}, {}-fold inner CV on {} rows of {} contents{}){}",
            s.chosen,
            f4(best.and_then(|b| b.rmse)),
            s.inner_folds,
            s.inner_rows,
            s.inner_groups,
            s.svr_rows
                .map_or_else(String::new, |n| format!("; SVRs on a sample of {n} rows")),
            s.note
                .as_ref()
                .map_or_else(String::new, |n| format!("; {n}"))
        );
    };
    let any = v.folds.iter().any(|f| f.selection.is_some()) || m.training.selection.is_some();
    if !any {
        return;
    }
    println!("selection ({}):", crate::selection::CRITERION);
    for f in &v.folds {
        if let Some(s) = &f.selection {
            line(format!("fold {} [{}]", f.fold, s.requested), s);
        }
    }
    if let Some(s) = &m.training.selection {
        line(format!("ship model [{}]", s.requested), s);
    }
}

/// Parses `--coverage`: a fraction strictly between 0 and 1.
fn coverage(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(c) if c > 0.0 && c < 1.0 => Ok(c),
        _ => Err(format!(
            "`{s}` is not a coverage: give a fraction strictly between 0 and 1 (e.g. 0.9)"
        )),
    }
}
