//! `moshead validate`: score a model on its corpus's held-out `test` split
//! and apply its gate, or (`--adapter OTHER`) on another adapter's corpus,
//! marked cross-corpus and without a gate.

use std::path::PathBuf;

use anyhow::bail;
use clap::Args;
use moshead_protocol::Split;

use super::corpus::{load, DataArgs};
use super::scoring::{bindings, check_columns, drops_and_hints, manifest_adapter, model_adapter};
use super::{f4, print_json, Env, EXIT_GATE, EXIT_OK};
use crate::evaluation::gate;
use crate::evaluation::{aggregate, evaluate, Metrics};
use crate::manifest::Manifest;
use crate::registry::Selector;
use crate::scoring::{align_scale, check_schema, predict_finite};

/// Arguments of `moshead validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The model manifest.
    #[arg(long)]
    model: PathBuf,
    /// Score on another adapter's corpus (cross-corpus): every row it reads,
    /// whatever its split. That adapter must offer the model's schema.
    #[arg(long, short = 'a', value_name = "NAME[@REQ]")]
    adapter: Option<Selector>,
    /// Inputs (`SLOT=PATH` or `PATH`) of the scoring adapter; default: its defaults.
    #[arg(long = "input", short = 'i')]
    inputs: Vec<String>,
    /// Score the embedded demo corpus (its test split; with --adapter, all of it).
    #[arg(long)]
    demo: bool,
    /// Score even when the model's adapter library is not the one that
    /// trained it (its sha256 differs from the manifest's).
    #[arg(long)]
    allow_plugin_change: bool,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

pub fn run_validate(env: &Env, args: ValidateArgs) -> anyhow::Result<u8> {
    let m = Manifest::load(&args.model)?;
    let reg = env.registry_for(&manifest_adapter(&m)?)?;
    let own = model_adapter(&reg, &m, &args.model, args.allow_plugin_change)?;
    if let Some(sel) = args.adapter.as_ref().filter(|s| s.name != m.adapter.name) {
        // The other corpus's adapter, loaded by its own name.
        let other_reg = env.registry_for(sel)?;
        return cross_corpus(env, &other_reg, &m, own, sel, &args);
    }
    let data = DataArgs {
        adapter: manifest_adapter(&m)?,
        inputs: bindings(own, &args.inputs)?,
        demo: args.demo,
        schema: Some(m.feature_schema.clone()),
        include_references: m.data.include_references,
        strict: false,
        unlabelled: false,
    };
    let loaded = load(env, &reg, &data)?;
    let ds = &loaded.dataset;
    check_columns(&m, ds)?;
    let test = ds.rows_in(Split::Test);
    if test.is_empty() {
        bail!(
            "no rows carry split `test`: there is no held-out set to validate on ({} rows read){}",
            ds.len(),
            drops_and_hints(env, own, &loaded.report, &args.model)
        );
    }
    let pred = predict_finite(&m, ds, &test)?;
    let (mos, se) = ds.targets(&test);
    let metrics = evaluate(&pred, &mos, &se);
    let d = &own.descriptor;
    let (kind, mut t) = gate::for_corpus(&d.gate, ds.synthetic);
    t.spread_max = None; // one held-out set: no spread
    let verdict = gate::apply(kind, &t, &aggregate(std::slice::from_ref(&metrics)));
    if args.json {
        print_json(
            &serde_json::json!({"model": m.id, "test_rows": test.len(), "metrics": metrics, "gate": verdict}),
        )?;
    } else {
        println!(
            "{} on {} held-out test rows: {}",
            m.id,
            test.len(),
            metric_line(&metrics)
        );
        println!(
            "gate ({kind}): {}",
            if verdict.passed { "PASSED" } else { "MISSED" }
        );
    }
    Ok(if verdict.passed { EXIT_OK } else { EXIT_GATE })
}

fn metric_line(m: &Metrics) -> String {
    format!(
        "PLCC {} (mapped {}), SROCC {}, KROCC {}, RMSE {} (mapped {})",
        f4(m.plcc),
        f4(m.plcc_mapped),
        f4(m.srocc),
        f4(m.krocc),
        f4(m.rmse),
        f4(m.rmse_mapped)
    )
}

/// The MOS scale of an adapter, as reported.
fn scale_json(name: &str, s: &moshead_protocol::MosScale) -> serde_json::Value {
    serde_json::json!({
        "adapter": name,
        "native_min": s.native_min,
        "native_max": s.native_max,
        "to_head_scale": s.to_head_scale,
        "to_head_offset": s.to_head_offset,
    })
}

fn cross_corpus(
    env: &Env,
    reg: &crate::registry::Registry,
    m: &Manifest,
    own: &crate::registry::Adapter,
    sel: &Selector,
    args: &ValidateArgs,
) -> anyhow::Result<u8> {
    let other = reg.select(sel)?;
    check_schema(&other.descriptor, m)?;
    let data = DataArgs {
        adapter: sel.clone(),
        inputs: bindings(other, &args.inputs)?,
        demo: args.demo,
        schema: Some(m.feature_schema.clone()),
        include_references: m.data.include_references,
        strict: false,
        unlabelled: false,
    };
    let loaded = load(env, reg, &data)?;
    let ds = &loaded.dataset;
    check_columns(m, ds)?;
    if ds.len() < 2 {
        bail!(
            "adapter `{}` projected {} row(s): too few to score the model on{}",
            other.name(),
            ds.len(),
            drops_and_hints(env, other, &loaded.report, &args.model)
        );
    }
    let rows: Vec<usize> = (0..ds.len()).collect();
    let (from, to) = (&own.descriptor.mos_scale, &other.descriptor.mos_scale);
    let pred: Vec<f64> = predict_finite(m, ds, &rows)?
        .into_iter()
        .map(|p| align_scale(from, to, p))
        .collect();
    let (mos, se) = ds.targets(&rows);
    let metrics = evaluate(&pred, &mos, &se);
    let native = |v: Option<f64>| v.map(|r| r / to.to_head_scale);
    let splits = &loaded.report.splits;
    if args.json {
        print_json(&serde_json::json!({
            "model": m.id,
            "cross_corpus": true,
            "trained_on": m.adapter.name,
            "scored_on": other.name(),
            "schema": m.feature_schema,
            "rows": ds.len(),
            "splits": splits,
            "dropped": loaded.report.dropped(),
            "scales": {"model": scale_json(own.name(), from), "rows": scale_json(other.name(), to)},
            "metrics": metrics,
            "rmse_native": native(metrics.rmse),
            "rmse_mapped_native": native(metrics.rmse_mapped),
            "gate": null,
        }))?;
    } else {
        println!(
            "{} (trained on {}) scored cross-corpus on {} {}: {} rows, every split, schema {}",
            m.id,
            m.adapter.name,
            other.name(),
            other.descriptor.version,
            ds.len(),
            m.feature_schema
        );
        println!("cross-corpus: {}", metric_line(&metrics));
        println!(
            "RMSE on the {} native scale ({}-{}): {} (mapped {}); no gate applies to a cross-corpus score",
            other.name(),
            to.native_min,
            to.native_max,
            f4(native(metrics.rmse)),
            f4(native(metrics.rmse_mapped))
        );
        if loaded.report.dropped() > 0 {
            eprintln!(
                "moshead: {} row(s) dropped{}",
                loaded.report.dropped(),
                drops_and_hints(env, other, &loaded.report, &args.model)
            );
        }
    }
    Ok(EXIT_OK)
}
