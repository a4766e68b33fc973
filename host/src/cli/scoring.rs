//! What `predict` and `validate` share: the model's adapter and its plugin
//! check, input bindings, the feature-order check, and the message when no
//! row could be scored.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};

use super::Env;
use crate::corpus::{Dataset, IngestReport};
use crate::manifest::Manifest;
use crate::registry::{Adapter, Registry, Selector};

/// The selector of the exact adapter release that trained `m`.
pub fn manifest_adapter(m: &Manifest) -> anyhow::Result<Selector> {
    format!("{}@={}", m.adapter.name, m.adapter.version)
        .parse::<Selector>()
        .map_err(anyhow::Error::msg)
}

/// The adapter that trained `m`, refused when its library is not the one
/// the manifest records, unless `allow_change` (then a warning).
pub fn model_adapter<'r>(
    reg: &'r Registry,
    m: &Manifest,
    model: &std::path::Path,
    allow_change: bool,
) -> anyhow::Result<&'r Adapter> {
    let adapter = reg.select(&manifest_adapter(m)?)?;
    if adapter.sha256 != m.adapter.sha256 {
        let what = format!(
            "adapter `{}` {} changed since the model was trained: {} has sha256 {}, {} records {}",
            adapter.name(),
            adapter.descriptor.version,
            adapter.path.display(),
            adapter.sha256,
            model.display(),
            m.adapter.sha256
        );
        if !allow_change {
            bail!("{what}; pass --allow-plugin-change to score with the changed plugin");
        }
        eprintln!("moshead: warning: {what} (--allow-plugin-change)");
    }
    Ok(adapter)
}

/// `--input` values bound to `adapter`'s slots: `SLOT=PATH` for a declared
/// slot, anything else a path read through the first row slot.
pub fn bindings(adapter: &Adapter, inputs: &[String]) -> anyhow::Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    for i in inputs {
        match crate::corpus::inputs::parse_binding(i) {
            Ok(b) if adapter.descriptor.slot(&b.0).is_some() => out.push(b),
            _ => {
                let slot = adapter
                    .descriptor
                    .inputs
                    .iter()
                    .find(|s| s.role == moshead_protocol::SlotRole::Rows)
                    .context("the adapter has no row slot")?;
                out.push((slot.name.clone(), PathBuf::from(i)));
            }
        }
    }
    Ok(out)
}

/// Refuses a dataset whose columns are not the manifest's feature order.
pub fn check_columns(m: &Manifest, ds: &Dataset) -> anyhow::Result<()> {
    if ds.columns != m.feature_order {
        bail!(
            "the adapter's schema `{}` no longer has the manifest's feature order",
            m.feature_schema
        );
    }
    Ok(())
}

/// The drops of `report` by reason with their first example, then a hint
/// per corpus tag of the `foreign-corpus` drops: which slot of `adapter`
/// reads rows so tagged, or which other installed adapter they belong to
/// and how to score `model` on them there (cross-corpus).
///
/// Commands load only the adapter they name; the other installed adapters
/// are discovered here, and only when a tag needs them for its hint.
pub fn drops_and_hints(
    env: &Env,
    adapter: &Adapter,
    report: &IngestReport,
    model: &Path,
) -> String {
    let mut s = String::new();
    for (code, d) in &report.drops {
        let _ = write!(s, "\n  {code}: {} row(s)", d.count);
        if let Some(e) = d.examples.first() {
            let _ = write!(s, ", e.g. {e}");
        }
    }
    let mut installed: Option<Registry> = None;
    for (tag, n) in &report.foreign_tags {
        let slots = |a: &Adapter| -> Vec<String> {
            a.descriptor
                .inputs
                .iter()
                .filter(|slot| slot.accepts.iter().any(|t| t == tag))
                .map(|slot| slot.name.clone())
                .collect()
        };
        let tag_text = if tag.is_empty() {
            "carry no readable corpus tag".to_owned()
        } else {
            format!("are tagged `{tag}`")
        };
        let own = slots(adapter);
        if let Some(first) = own.first() {
            let _ = write!(
                s,
                "\n  hint: {n} row(s) {tag_text}: read them through slot `{}` of `{}` (--input {first}=PATH)",
                own.join("` or `"),
                adapter.name()
            );
            continue;
        }
        let reg = installed.get_or_insert_with(|| env.registry_quiet());
        let others: Vec<(&Adapter, Vec<String>)> = reg
            .adapters()
            .iter()
            .filter(|a| a.name() != adapter.name())
            .map(|a| (a, slots(a)))
            .filter(|(_, sl)| !sl.is_empty())
            .collect();
        if others.is_empty() {
            let _ = write!(
                s,
                "\n  hint: {n} row(s) {tag_text}, which no slot of `{}` and no installed adapter accepts (see `moshead adapters`)",
                adapter.name()
            );
        }
        for (a, sl) in others {
            let _ = write!(
                s,
                "\n  hint: {n} row(s) {tag_text}: they are rows of adapter `{}` (slot `{}`), not of `{}`; score them with a {} model, or cross-corpus with `moshead validate --model {} --adapter {} --input {}=PATH`",
                a.name(),
                sl.join("` or `"),
                adapter.name(),
                a.name(),
                model.display(),
                a.name(),
                sl[0]
            );
        }
    }
    if let Some(d) = report
        .drops
        .get(moshead_protocol::codes::MISSING_CORPUS_TAG)
    {
        let assuming: Vec<String> = adapter
            .descriptor
            .inputs
            .iter()
            .filter_map(|slot| {
                slot.assume_corpus.as_ref().map(|t| {
                    format!(
                        "`{}` (assumes `{t}`: --input {}=PATH)",
                        slot.name, slot.name
                    )
                })
            })
            .collect();
        let _ = write!(
            s,
            "\n  hint: {} row(s) carry no `corpus` tag; {}",
            d.count,
            if assuming.is_empty() {
                format!("no slot of `{}` assumes one: tag each row", adapter.name())
            } else {
                format!(
                    "add one, or read them through slot {}",
                    assuming.join(" or ")
                )
            }
        );
    }
    for note in &report.notes {
        let _ = write!(s, "\n  note: {note}");
    }
    s
}
