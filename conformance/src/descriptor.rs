//! The descriptor check: no problem, and a lossless trip through JSON.

use moshead_protocol::Descriptor;

use crate::common::plural;
use crate::{names, Check, Status};

/// A one-line summary of a descriptor.
pub fn describe(d: &Descriptor) -> String {
    let schema = d
        .schema(&d.default_schema)
        .map(|s| format!("`{}`, {} columns", s.name, s.columns.len()))
        .unwrap_or_else(|| format!("`{}`", d.default_schema));
    let m = &d.mos_scale;
    format!(
        "{} {}: {} slot{}, {} schema{} (default {schema}), MOS {}-{} under `{}`, {} sample row{}",
        d.name,
        d.version,
        d.inputs.len(),
        plural(d.inputs.len()),
        d.schemas.len(),
        plural(d.schemas.len()),
        m.native_min,
        m.native_max,
        m.native_key,
        d.samples.len(),
        plural(d.samples.len())
    )
}

/// The failing descriptor check for `problems` (non-empty).
pub fn descriptor_refused(problems: Vec<String>) -> Check {
    Check::new(
        names::DESCRIPTOR,
        Status::Fail,
        format!(
            "{} problem{}: the host refuses this plugin",
            problems.len(),
            plural(problems.len())
        ),
    )
    .with_details(problems)
}

/// The descriptor check: [`Descriptor::problems`] is empty and the
/// descriptor survives its trip through JSON.
pub fn descriptor_check(d: &Descriptor) -> Check {
    let mut problems = d.problems();
    for n in d.non_finite_numbers() {
        problems.push(format!("{n} cannot cross as JSON"));
    }
    match serde_json::to_string(d).map(|j| serde_json::from_str::<Descriptor>(&j)) {
        Ok(Ok(back)) if back == *d => {}
        Ok(Ok(_)) if !d.non_finite_numbers().is_empty() => {}
        Ok(Ok(_)) => problems.push("the descriptor changes on its trip through JSON".into()),
        Ok(Err(e)) | Err(e) => problems.push(format!("descriptor JSON: {e}")),
    }
    problems.dedup();
    if problems.is_empty() {
        Check::new(names::DESCRIPTOR, Status::Pass, describe(d))
    } else {
        descriptor_refused(problems)
    }
}
