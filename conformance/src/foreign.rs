//! The foreign-corpus check: rows of another corpus are rejected.

use serde_json::Value;

use moshead_protocol::descriptor::InputSlot;
use moshead_protocol::{codes, FfiOutcome};

use crate::common::{
    base_row, capped, check_schema, config_for, describe_failure, no_schema, plural, row_slots,
};
use crate::{names, Check, Status, Subject};

/// A tag `slot` does not accept, made up from its first accepted one.
fn made_up_tag(slot: &InputSlot) -> String {
    let mut tag = format!(
        "not-{}",
        slot.accepts.first().map_or("this-corpus", String::as_str)
    );
    while slot.accepts.contains(&tag) {
        tag.insert_str(0, "x-");
    }
    tag
}

/// Every row slot rejects rows of another corpus as `foreign-corpus`: the
/// other slots' tags it does not accept, and a made-up one.
pub fn foreign_corpus(s: &Subject<'_>) -> Check {
    let d = s.descriptor;
    let Some(schema) = check_schema(d) else {
        return no_schema(names::FOREIGN_CORPUS);
    };
    let p = match (s.open)(&config_for(schema)) {
        Ok(p) => p,
        Err(e) => {
            return Check::new(
                names::FOREIGN_CORPUS,
                Status::Fail,
                format!("cannot open a projector for `{}`: {e}", schema.name),
            )
        }
    };
    let mut fails = Vec::new();
    let mut tested = Vec::new();
    for slot in row_slots(d) {
        let (base, source) = base_row(d, slot, Some(&p));
        let mut tags: Vec<String> = d
            .corpus_tags()
            .into_iter()
            .filter(|t| !slot.accepts.contains(t))
            .collect();
        tags.push(made_up_tag(slot));
        for tag in &tags {
            let mut row = base.clone();
            row.insert("corpus".into(), Value::from(tag.as_str()));
            let raw = Value::Object(row).to_string();
            let what = format!("slot `{}`: {source} retagged `{tag}`", slot.name);
            match p.project(slot.name.as_str().into(), raw.as_str().into()) {
                FfiOutcome::Rejected(r) if r.code.as_str() == codes::FOREIGN_CORPUS => {}
                FfiOutcome::Rejected(r) => fails.push(format!(
                    "{what} was rejected as {}, not {}: {}",
                    r.code,
                    codes::FOREIGN_CORPUS,
                    r.message
                )),
                FfiOutcome::Row(r) => fails.push(format!(
                    "{what} was accepted (projected as corpus `{}`)",
                    r.corpus
                )),
                FfiOutcome::Failed(e) => fails.push(format!("{what}: {}", describe_failure(&e))),
            }
        }
        tested.push(format!("`{}` ({})", slot.name, tags.join(", ")));
    }
    if fails.is_empty() {
        Check::new(
            names::FOREIGN_CORPUS,
            Status::Pass,
            format!(
                "foreign rows are rejected as {} by {}",
                codes::FOREIGN_CORPUS,
                tested.join("; ")
            ),
        )
    } else {
        Check::new(
            names::FOREIGN_CORPUS,
            Status::Fail,
            format!(
                "{} foreign row{} not rejected as {}",
                fails.len(),
                plural(fails.len()),
                codes::FOREIGN_CORPUS
            ),
        )
        .with_details(capped(fails))
    }
}
