//! `moshead compare A.json B.json [C.json ...]`: are the models' figures
//! different? On their validation predictions when they were validated on
//! the same folds of the same corpus, or on `--input` rows scored by every
//! model ([`crate::scoring::compare`]); the statistics are
//! [`crate::evaluation::compare`]'s. This module parses and prints.

use std::path::PathBuf;

use clap::Args;
use moshead_protocol::Split;

use super::scoring::{explain, open_model};
use super::{f4, print_json, Env, EXIT_OK};
use crate::evaluation::compare::{compare, Comparison, PairComparison, Test, Verdict, ALPHA};
use crate::evaluation::intervals::RESAMPLES;
use crate::export::load_predictions;
use crate::manifest::Manifest;
use crate::scoring::compare::{
    input_rows, score_labelled, validation_rows, CompareError, CompareInputs, Rows,
};
use crate::scoring::{bind_inputs, model_selector};

/// Arguments of `moshead compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Two or more model manifests.
    #[arg(required = true, num_args = 2.., value_name = "MODEL.json")]
    models: Vec<PathBuf>,
    /// Score every model on these rows (`SLOT=PATH` or `PATH`, read by
    /// each model's own adapter) instead of comparing their validation
    /// predictions.
    #[arg(long = "input", short = 'i')]
    inputs: Vec<String>,
    /// Score every model on the embedded demo corpus.
    #[arg(long)]
    demo: bool,
    /// With --input or --demo: only rows of this split (`train`, `val`,
    /// `test`); default every labelled row.
    #[arg(long, value_parser = parse_split)]
    split: Option<Split>,
    /// The bootstrap's seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Score even when a model's adapter library is not the one that
    /// trained it (--input and --demo).
    #[arg(long)]
    allow_plugin_change: bool,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

fn parse_split(s: &str) -> Result<Split, String> {
    match s {
        "train" => Ok(Split::Train),
        "val" => Ok(Split::Val),
        "test" => Ok(Split::Test),
        other => Err(format!("`{other}` is not a split: train, val or test")),
    }
}

pub fn run_compare(env: &Env, args: CompareArgs) -> anyhow::Result<u8> {
    let names: Vec<String> = args
        .models
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let scored = !args.inputs.is_empty() || args.demo;
    if args.split.is_some() && !scored {
        anyhow::bail!("--split chooses rows of --input or --demo; validation predictions are compared as the folds hold them");
    }
    let mut manifests = Vec::with_capacity(args.models.len());
    let rows = if scored {
        let status = env.progress.status();
        let mut per_model = Vec::with_capacity(args.models.len());
        for (path, name) in args.models.iter().zip(&names) {
            let (m, reg) = open_model(env, path, args.allow_plugin_change)
                .map_err(|e| e.context(name.clone()))?;
            let adapter = reg.select(&model_selector(&m)?)?;
            let on = CompareInputs {
                inputs: bind_inputs(adapter, &args.inputs)?,
                demo: args.demo,
                split: args.split,
                adapter,
            };
            let got = score_labelled(name, &m, &on, &status)
                .map_err(|e| explain(env, &reg, path, e).context(name.clone()))?;
            per_model.push(got);
            manifests.push(m);
        }
        env.progress.finish();
        input_rows(&per_model)?
    } else {
        let mut preds = Vec::with_capacity(args.models.len());
        for path in &args.models {
            let m = Manifest::load(path)?;
            let dir = path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            preds.push(load_predictions(&m, dir)?);
            manifests.push(m);
        }
        let models: Vec<(String, &Manifest, Option<_>)> = names
            .iter()
            .zip(&manifests)
            .zip(&preds)
            .map(|((n, m), p)| (n.clone(), m, p.as_ref()))
            .collect();
        validation_rows(&models)?
    };
    if rows.mos.len() < 4 {
        return Err(CompareError::TooFewRows(format!(
            "{} row(s) in common; at least 4 are needed",
            rows.mos.len()
        ))
        .into());
    }
    let preds: Vec<&[f64]> = rows.predictions.iter().map(Vec::as_slice).collect();
    let c = compare(
        &preds,
        &rows.mos,
        &rows.se,
        &rows.groups,
        args.seed,
        RESAMPLES,
    );
    let source = if scored { "input" } else { "validation" };
    if args.json {
        print_json(&to_json(&c, &names, &manifests, source)?)?;
    } else if env.quiet {
        for pair in &c.pairs {
            println!("{}", verdict_line(pair, &names));
        }
    } else {
        print_text(&c, &rows, &names, &manifests, scored);
    }
    Ok(EXIT_OK)
}

/// `model [i]` labels as the text report uses them.
fn label(i: usize) -> String {
    format!("[{}]", i + 1)
}

/// A p-value as printed: `<0.001` below it.
fn p_text(p: Option<f64>) -> String {
    match p {
        None => "-".into(),
        Some(p) if p < 0.001 => "<0.001".into(),
        Some(p) => format!("{p:.3}"),
    }
}

/// A signed difference to 4 decimals.
fn signed(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:+.4}"))
}

/// The one-line verdict of a pair.
pub fn verdict_line(pair: &PairComparison, names: &[String]) -> String {
    let (a, b) = (&names[pair.a], &names[pair.b]);
    let sig = pair.significant().join(", ");
    let level = format!("{:.0}%", ALPHA * 100.0);
    match pair.verdict {
        Verdict::NoDifference => {
            format!("{a} vs {b}: no significant difference at the {level} level")
        }
        Verdict::ABetter => format!("{a} vs {b}: {a} is better ({sig} at the {level} level)"),
        Verdict::BBetter => format!("{a} vs {b}: {b} is better ({sig} at the {level} level)"),
        Verdict::Mixed => format!(
            "{a} vs {b}: mixed: the tests disagree on which is better ({sig} at the {level} level)"
        ),
    }
}

fn print_text(c: &Comparison, rows: &Rows, names: &[String], ms: &[Manifest], scored: bool) {
    let what = if scored {
        "rows scored by every model"
    } else {
        "out-of-fold validation rows (same folds, same MOS)"
    };
    let folds = rows
        .keys
        .iter()
        .map(|k| k.0)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    println!(
        "compare {} models on {} {what} of {} contents{}",
        names.len(),
        c.rows,
        c.contents,
        if scored {
            String::new()
        } else {
            format!(", {folds} fold(s)")
        }
    );
    for (i, (n, m)) in names.iter().zip(ms).enumerate() {
        println!("  {} {n} ({})", label(i), m.id);
    }
    println!(
        "differences are first minus second; {:.0}% paired cluster-bootstrap intervals over contents \
         ({} resamples, seed {}); P.1401 tests after each model's logistic mapping (d = 4){}",
        c.level * 100.0,
        c.resamples,
        c.seed,
        if c.holm {
            format!("; p-values Holm-corrected over {} pairs", c.pairs.len())
        } else {
            String::new()
        }
    );
    let labels: Vec<String> = (0..names.len()).map(label).collect();
    for pair in &c.pairs {
        println!("{} vs {}:", labels[pair.a], labels[pair.b]);
        let boot = |name: &str, t: &Test| {
            println!(
                "  {name:<7} {} vs {}  difference {} {}  p {}",
                f4(t.a),
                f4(t.b),
                signed(t.difference),
                t.interval
                    .map_or("[-]".into(), |i| format!("[{:+.4}, {:+.4}]", i.lo, i.hi)),
                p_text(t.p)
            );
        };
        boot("PLCC", &pair.plcc);
        boot("SROCC", &pair.srocc);
        boot("RMSE", &pair.rmse);
        let t = &pair.p1401_correlation;
        println!(
            "  P.1401 PLCC (mapped) {} vs {}: dependent correlations, Steiger Z {}  p {}",
            f4(t.a),
            f4(t.b),
            t.statistic.map_or("-".into(), |z| format!("{z:.3}")),
            p_text(t.p)
        );
        let t = &pair.p1401_rmse;
        println!(
            "  P.1401 RMSE (mapped, N - d) {} vs {}: F {} on {} df  p {}",
            f4(t.a),
            f4(t.b),
            t.statistic.map_or("-".into(), |f| format!("{f:.3}")),
            t.df.map_or("-".into(), |d| d.to_string()),
            p_text(t.p)
        );
        let t = &pair.p1401_outlier_ratio;
        match t.rows {
            Some(n) if n > 0 => println!(
                "  P.1401 outlier ratio {} vs {} over {n} rows with a MOS SE: Z {}  p {}",
                f4(t.a),
                f4(t.b),
                t.statistic.map_or("-".into(), |z| format!("{z:.3}")),
                p_text(t.p)
            ),
            _ => println!("  P.1401 outlier ratio: no row has a known MOS standard error"),
        }
        println!("  {}", verdict_line(pair, &labels));
    }
    for pair in &c.pairs {
        println!("{}", verdict_line(pair, names));
    }
}

fn to_json(
    c: &Comparison,
    names: &[String],
    ms: &[Manifest],
    source: &str,
) -> anyhow::Result<serde_json::Value> {
    let mut v = serde_json::to_value(c)?;
    v["source"] = source.into();
    v["models"] = names
        .iter()
        .zip(ms)
        .map(|(n, m)| serde_json::json!({"path": n, "id": m.id}))
        .collect();
    if let Some(pairs) = v["pairs"].as_array_mut() {
        for (j, pair) in pairs.iter_mut().zip(&c.pairs) {
            j["a_model"] = names[pair.a].clone().into();
            j["b_model"] = names[pair.b].clone().into();
            j["verdict_line"] = verdict_line(pair, names).into();
        }
    }
    Ok(v)
}
