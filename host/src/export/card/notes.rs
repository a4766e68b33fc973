//! The card's notes: what the reader must know before the tables (the
//! run's warnings, the consumer the head was trained for, how libvmaf pools
//! frames).

use std::fmt::Write as _;

use crate::manifest::Manifest;

/// The `## Before you use it` section, or nothing when there is nothing to
/// say.
pub(super) fn section(o: &mut String, m: &Manifest) {
    let lines = lines(m);
    if lines.is_empty() {
        return;
    }
    o.push_str("## Before you use it\n\n");
    for l in lines {
        let _ = writeln!(o, "- {l}");
    }
    o.push('\n');
}

/// The notes, one sentence each (shared with the HTML report).
pub(crate) fn lines(m: &Manifest) -> Vec<String> {
    let mut out: Vec<String> = m
        .warnings
        .iter()
        .map(|w| format!("**Warning** ({}): {}.", w.kind, w.message))
        .collect();
    for (slot, n) in &m.validation.native_rmse {
        out.push(format!(
            "On the native {} scale of `{slot}` (the tables below are on the head's 1-5 scale; \
             one head unit is {} native units): RMSE mean {}, median {}{}.",
            n.range(),
            crate::evaluation::native::num(n.per_head_unit),
            n.show(n.mean),
            n.show(n.median),
            n.pooled
                .map_or_else(String::new, |p| format!(", pooled {}", n.show(Some(p))))
        ));
    }
    if let Some(t) = &m.training.trained_for {
        out.push(format!(
            "Candidates: {}. The validation figures are those of this restricted choice.",
            t.describe()
        ));
    }
    if let Some(p) = frame_pooling(m) {
        out.push(p);
    }
    if let Some(each) = &m.data.each_row_content {
        out.push(format!("Contents: {each}."));
    }
    out
}

/// For a model trained on libvmaf logs: what its validation figures describe
/// and what libvmaf computes instead.
pub(crate) fn frame_pooling(m: &Manifest) -> Option<String> {
    m.data
        .frame_pooling
        .as_ref()
        .map(|p| format!("Frame pooling: this head was {p}."))
}
