//! What `predict` and `validate` share on the command line: opening the
//! model with its adapter, and the message when too few rows could be
//! scored (every drop with its reason, and where foreign rows belong).

use std::fmt::Write as _;
use std::path::Path;

use super::Env;
use crate::corpus::IngestReport;
use crate::manifest::Manifest;
use crate::registry::{Adapter, Registry};
use crate::scoring::{check_plugin, model_selector, ScoringError};

/// The model at `path`, the registry holding only its adapter, and that
/// adapter once its library is checked ([`check_plugin`]; a change allowed
/// by `--allow-plugin-change` is a warning).
pub fn open_model(
    env: &Env,
    path: &Path,
    allow_change: bool,
) -> anyhow::Result<(Manifest, Registry)> {
    let m = Manifest::load(path)?;
    let sel = model_selector(&m)?;
    let recorded = m.adapter.study.as_ref().map(|s| s.path.as_path());
    let reg = env.registry_for_model(&sel, recorded)?;
    match check_plugin(reg.select(&sel)?, &m, path, allow_change) {
        Ok(None) => {}
        Ok(Some(change)) => eprintln!("moshead: warning: {change} (--allow-plugin-change)"),
        Err(ScoringError::PluginChanged(change)) => {
            anyhow::bail!("{change}; pass --allow-plugin-change to score with the changed plugin")
        }
        Err(e) => return Err(e.into()),
    }
    Ok((m, reg))
}

/// A scoring error for people: too few rows gets every drop with its
/// reason and the hints of [`drops_and_hints`].
pub fn explain(env: &Env, reg: &Registry, model: &Path, e: ScoringError) -> anyhow::Error {
    match e {
        ScoringError::TooFewRows {
            what,
            adapter,
            report,
        } => match reg.adapters().iter().find(|a| a.name() == adapter) {
            Some(a) => anyhow::anyhow!("{what}{}", drops_and_hints(env, a, &report, model)),
            None => anyhow::anyhow!("{what}"),
        },
        other => other.into(),
    }
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
