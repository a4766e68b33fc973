//! What the row-level checks share: which slots and schemas they use, the
//! base row they vary, and how failures are worded and capped.

use serde_json::{Map, Value};

use moshead_protocol::descriptor::{Descriptor, InputSlot, Schema, SlotRole};
use moshead_protocol::{FfiOutcome, PluginError, PluginErrorKind, ProjectorBox, ProjectorConfig};

use crate::{Check, Status};

/// How many failure details a check keeps.
pub(crate) const MAX_DETAILS: usize = 12;

pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// The row slots, each name once (the projector reads the first of a
/// duplicated name).
pub(crate) fn row_slots(d: &Descriptor) -> Vec<&InputSlot> {
    let mut seen = std::collections::BTreeSet::new();
    d.inputs
        .iter()
        .filter(|s| s.role == SlotRole::Rows && seen.insert(s.name.as_str()))
        .collect()
}

/// Schemas a projector can be opened for without context documents.
pub(crate) fn plain_schemas(d: &Descriptor) -> Vec<&Schema> {
    d.schemas
        .iter()
        .filter(|s| s.requires_slot.is_none())
        .collect()
}

/// The schema rows are checked under: the default when it needs no context,
/// else the first that needs none.
pub(crate) fn check_schema(d: &Descriptor) -> Option<&Schema> {
    d.schema(&d.default_schema)
        .filter(|s| s.requires_slot.is_none())
        .or_else(|| plain_schemas(d).into_iter().next())
}

pub(crate) fn config_for(schema: &Schema) -> ProjectorConfig {
    ProjectorConfig {
        schema: Some(schema.name.clone()),
        ..ProjectorConfig::default()
    }
}

pub(crate) fn describe_failure(e: &PluginError) -> String {
    match e.kind {
        PluginErrorKind::Panic => format!("panicked: {}", e.message),
        _ => format!("failed (the host would stop ingesting): {}", e.message),
    }
}

pub(crate) fn capped(mut details: Vec<String>) -> Vec<String> {
    if details.len() > MAX_DETAILS {
        let more = details.len() - MAX_DETAILS;
        details.truncate(MAX_DETAILS);
        details.push(format!("... and {more} more"));
    }
    details
}

pub(crate) fn no_schema(name: &str) -> Check {
    Check::new(
        name,
        Status::Skip,
        "every schema needs a context slot; no projector can be opened without one",
    )
}

/// A well-formed raw row for `slot`: the first of its samples (those that
/// must project first) that `projector` projects, else the first of them,
/// else one built from the descriptor's keys. Returns the row and where it
/// came from.
pub(crate) fn base_row(
    d: &Descriptor,
    slot: &InputSlot,
    projector: Option<&ProjectorBox>,
) -> (Map<String, Value>, String) {
    let parsed = |raw: &str| match serde_json::from_str::<Value>(raw) {
        Ok(Value::Object(m)) => Some(m),
        _ => None,
    };
    let mine = || {
        d.samples
            .iter()
            .enumerate()
            .filter(|(_, s)| s.slot == slot.name)
    };
    let mut candidates: Vec<(Map<String, Value>, String, &str)> = mine()
        .filter(|(_, s)| s.expect_rejection.is_none())
        .chain(mine().filter(|(_, s)| s.expect_rejection.is_some()))
        .filter_map(|(i, s)| parsed(&s.raw).map(|m| (m, format!("sample {i}"), s.raw.as_str())))
        .collect();
    let projects = |raw: &str| {
        projector.is_some_and(|p| {
            matches!(
                p.project(slot.name.as_str().into(), raw.into()),
                FfiOutcome::Row(_)
            )
        })
    };
    let chosen = candidates
        .iter()
        .position(|(_, _, raw)| projects(raw))
        .or(if candidates.is_empty() { None } else { Some(0) });
    if let Some(i) = chosen {
        let (m, source, _) = candidates.swap_remove(i);
        return (m, source);
    }
    let mut m = Map::new();
    if let Some(tag) = slot.accepts.first() {
        m.insert("corpus".into(), Value::from(tag.as_str()));
    }
    for key in &d.id_keys {
        m.insert(key.clone(), Value::from("moshead-check-id"));
    }
    m.insert(
        d.content_group_key.clone(),
        Value::from("moshead-check-content"),
    );
    m.insert("mos".into(), Value::from(3.0));
    if let Some(schema) = check_schema(d) {
        for c in &schema.columns {
            m.insert(c.clone(), Value::from(0.5));
        }
    }
    (m, "a row built from the descriptor".into())
}
