//! The samples check: the descriptor's sample rows project as declared.

use std::collections::BTreeMap;

use moshead_protocol::descriptor::SlotRole;
use moshead_protocol::{row_contract, FfiOutcome};

use crate::common::{capped, config_for, describe_failure, no_schema, plain_schemas, plural};
use crate::{names, Check, Status, Subject};

/// The sample rows project as declared under every schema that needs no
/// context slot.
pub fn samples(s: &Subject<'_>) -> Check {
    let d = s.descriptor;
    if d.samples.is_empty() {
        return Check::new(
            names::SAMPLES,
            Status::Warn,
            "declares no sample rows: add a few with DescriptorBuilder::sample so projection can be checked",
        );
    }
    let schemas = plain_schemas(d);
    if schemas.is_empty() {
        return no_schema(names::SAMPLES);
    }
    let mut fails = Vec::new();
    let (mut projected, mut rejected) = (0usize, BTreeMap::<String, usize>::new());
    for (k, schema) in schemas.iter().enumerate() {
        let width = schema.columns.len();
        let p = match (s.open)(&config_for(schema)) {
            Ok(p) => p,
            Err(e) => {
                fails.push(format!(
                    "schema `{}`: cannot open a projector: {e}",
                    schema.name
                ));
                continue;
            }
        };
        for (i, sample) in d.samples.iter().enumerate() {
            let Some(slot) = d.slot(&sample.slot).filter(|sl| sl.role == SlotRole::Rows) else {
                if k == 0 {
                    fails.push(format!("sample {i}: `{}` is not a row slot", sample.slot));
                }
                continue;
            };
            let what = format!(
                "sample {i} (slot `{}`, schema `{}`)",
                slot.name, schema.name
            );
            let out = p.project(sample.slot.as_str().into(), sample.raw.as_str().into());
            match (&sample.expect_rejection, out) {
                (None, FfiOutcome::Row(r)) => {
                    match row_contract(&slot.name, &slot.accepts, width, &r) {
                        Ok(()) => projected += 1,
                        Err(m) => fails.push(format!("{what} {m}")),
                    }
                }
                (None, FfiOutcome::Rejected(r)) => fails.push(format!(
                    "{what} must project but was rejected as {}: {}",
                    r.code, r.message
                )),
                (Some(code), FfiOutcome::Rejected(r)) if r.code.as_str() == code => {
                    *rejected.entry(code.clone()).or_default() += 1;
                }
                (Some(code), FfiOutcome::Rejected(r)) => fails.push(format!(
                    "{what} must be rejected as {code} but was rejected as {}: {}",
                    r.code, r.message
                )),
                (Some(code), FfiOutcome::Row(_)) => {
                    fails.push(format!("{what} must be rejected as {code} but projected"))
                }
                (_, FfiOutcome::Failed(e)) => {
                    fails.push(format!("{what} {}", describe_failure(&e)))
                }
            }
        }
    }
    let total = d.samples.len() * schemas.len();
    if !fails.is_empty() {
        return Check::new(
            names::SAMPLES,
            Status::Fail,
            format!(
                "{} of {total} sample projection{} not as declared",
                fails.len().min(total),
                plural(total)
            ),
        )
        .with_details(capped(fails));
    }
    let codes: Vec<String> = rejected
        .iter()
        .map(|(c, n)| format!("{n} as {c}"))
        .collect();
    let names: Vec<&str> = schemas.iter().map(|s| s.name.as_str()).collect();
    let message = format!(
        "{} sample row{} as declared under {} schema{} ({}): {projected} projection{}{}{}",
        d.samples.len(),
        plural(d.samples.len()),
        schemas.len(),
        plural(schemas.len()),
        names.join(", "),
        plural(projected),
        if codes.is_empty() { "" } else { ", rejected " },
        codes.join(", ")
    );
    if projected == 0 {
        Check::new(names::SAMPLES, Status::Warn, message)
            .with_details(vec!["no sample row must project: add one that does".into()])
    } else {
        Check::new(names::SAMPLES, Status::Pass, message)
    }
}
