//! `moshead validate`: score a model on its corpus's held-out `test` split
//! and apply its gate, or (`--adapter OTHER`) on another adapter's corpus,
//! marked cross-corpus and without a gate ([`crate::scoring::validate`],
//! [`crate::scoring::validate_cross`]); this module parses and prints.

use std::path::PathBuf;

use clap::Args;

use super::scoring::{drops_and_hints, explain, open_model};
use super::{f4, print_json, Env, EXIT_GATE, EXIT_OK};
use crate::evaluation::gate::GateReport;
use crate::evaluation::intervals::{Interval, MetricIntervals};
use crate::evaluation::Metrics;
use crate::manifest::Manifest;
use crate::registry::{Adapter, Selector};
use crate::scoring::{
    bind_inputs, model_selector, validate, validate_cross, CrossScore, ValidateRequest,
};

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
    let (m, reg) = open_model(env, &args.model, args.allow_plugin_change)?;
    let own = reg.select(&model_selector(&m)?)?;
    let progress = env.progress.clone();
    if let Some(sel) = args.adapter.as_ref().filter(|s| s.name != m.adapter.name) {
        // The other corpus's adapter, loaded by its own name.
        let other_reg = env.registry_for(sel)?;
        let other = other_reg.select(sel)?;
        let req = ValidateRequest {
            manifest: &m,
            adapter: other,
            inputs: bind_inputs(other, &args.inputs)?,
            demo: args.demo,
        };
        let score = validate_cross(&req, own, &progress.status())
            .map_err(|e| explain(env, &other_reg, &args.model, e))?;
        return print_cross(env, &m, own, other, &score, &args);
    }
    let req = ValidateRequest {
        manifest: &m,
        adapter: own,
        inputs: bind_inputs(own, &args.inputs)?,
        demo: args.demo,
    };
    let held =
        validate(&req, &progress.status()).map_err(|e| explain(env, &reg, &args.model, e))?;
    let (metrics, verdict) = (&held.metrics, &held.gate);
    if args.json {
        print_json(
            &serde_json::json!({"model": m.id, "test_rows": held.test_rows, "metrics": metrics, "intervals": held.intervals, "gate": verdict}),
        )?;
    } else if env.quiet {
        println!(
            "{}",
            quiet_line(&m, held.test_rows, metrics, &held.intervals, verdict)
        );
    } else {
        println!(
            "{} on {} held-out test rows: {}",
            m.id,
            held.test_rows,
            metric_line(metrics)
        );
        println!("{}", held.intervals.describe());
        println!("gate ({}): {}", verdict.kind, verdict.outcome().shout());
    }
    // No gate declared: nothing was missed.
    Ok(
        if verdict.outcome() == crate::evaluation::gate::GateOutcome::Missed {
            EXIT_GATE
        } else {
            EXIT_OK
        },
    )
}

/// The one line `validate --quiet` prints: the rows, PLCC and RMSE (native
/// scale too, where the model has one) with their 95% intervals, the gate.
fn quiet_line(
    m: &Manifest,
    rows: usize,
    metrics: &Metrics,
    ci: &MetricIntervals,
    gate: &GateReport,
) -> String {
    let i = |v: Option<Interval>| {
        v.map_or_else(String::new, |v| format!(" [{:.4}, {:.4}]", v.lo, v.hi))
    };
    let mut scales = m.validation.native_rmse.values();
    let native = match (scales.next(), ci.rmse_native) {
        (Some(n), Some(r)) if scales.all(|o| o.per_head_unit == n.per_head_unit) => format!(
            " ({}{} on {})",
            n.show(Some(r)),
            ci.rmse_native_interval
                .map_or_else(String::new, |v| format!(
                    " [{}, {}]",
                    n.show(Some(v.lo)),
                    n.show(Some(v.hi))
                )),
            n.range()
        ),
        _ => String::new(),
    };
    format!(
        "{} on {rows} held-out test rows: PLCC {}{}, RMSE {}{}{native}; gate {} {}",
        m.id,
        f4(metrics.plcc),
        i(ci.plcc),
        f4(metrics.rmse),
        i(ci.rmse),
        gate.kind,
        if gate.passed { "PASSED" } else { "MISSED" }
    )
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

fn print_cross(
    env: &Env,
    m: &Manifest,
    own: &Adapter,
    other: &Adapter,
    score: &CrossScore<'_>,
    args: &ValidateArgs,
) -> anyhow::Result<u8> {
    let (from, to) = (&own.descriptor.mos_scale, &other.descriptor.mos_scale);
    let (loaded, metrics) = (&score.loaded, &score.metrics);
    let rows = loaded.dataset.len();
    if args.json {
        print_json(&serde_json::json!({
            "model": m.id,
            "cross_corpus": true,
            "trained_on": m.adapter.name,
            "scored_on": other.name(),
            "schema": m.feature_schema,
            "rows": rows,
            "splits": loaded.report.splits,
            "dropped": loaded.report.dropped(),
            "scales": {"model": scale_json(own.name(), from), "rows": scale_json(other.name(), to)},
            "metrics": metrics,
            "rmse_native": score.rmse_native,
            "rmse_mapped_native": score.rmse_mapped_native,
            "gate": null,
        }))?;
    } else if env.quiet {
        let dropped = loaded.report.dropped();
        println!(
            "{} scored cross-corpus on {}: {rows} rows{}, PLCC {}, RMSE {} on its {}-{} scale; no gate",
            m.id,
            other.name(),
            if dropped > 0 {
                format!(" ({dropped} dropped)")
            } else {
                String::new()
            },
            f4(metrics.plcc),
            f4(score.rmse_native),
            to.native_min,
            to.native_max,
        );
    } else {
        println!(
            "{} (trained on {}) scored cross-corpus on {} {}: {rows} rows, every split, schema {}",
            m.id,
            m.adapter.name,
            other.name(),
            other.descriptor.version,
            m.feature_schema
        );
        println!("cross-corpus: {}", metric_line(metrics));
        println!(
            "RMSE on the {} native scale ({}-{}): {} (mapped {}); no gate applies to a cross-corpus score",
            other.name(),
            to.native_min,
            to.native_max,
            f4(score.rmse_native),
            f4(score.rmse_mapped_native)
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
