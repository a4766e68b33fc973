//! The synthesize check: small requests give a corpus that reads back
//! cleanly (bound the way `moshead synth` binds it) or a clean error.

use std::collections::BTreeMap;

use moshead_protocol::descriptor::{is_relative_below, InputSlot, SlotRole};
use moshead_protocol::{
    row_contract, FfiOutcome, PluginErrorKind, ProjectorConfig, SynthOutput, SynthRequest,
};

use crate::common::{capped, check_schema, describe_failure, plural};
use crate::{names, Check, Status, Subject};

/// What one synthesized corpus gave.
#[derive(Default)]
struct SynthStats {
    files: usize,
    lines: usize,
    rows: usize,
    not_synthetic: usize,
    rejected: BTreeMap<String, usize>,
}

/// Reads a synthesized corpus back through the projector, as `moshead
/// synth` + `moshead corpus` would.
fn read_back(s: &Subject<'_>, out: &SynthOutput) -> Result<SynthStats, Vec<String>> {
    let d = s.descriptor;
    let mut fails = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (path, _) in &out.files {
        if !is_relative_below(path) {
            fails.push(format!(
                "file `{path}` is not a relative path of plain names (moshead synth refuses it)"
            ));
        }
        if !seen.insert(path.as_str()) {
            fails.push(format!("file `{path}` is generated twice"));
        }
    }
    let mut bound: Vec<(&InputSlot, Vec<&(String, String)>)> = Vec::new();
    for (slot_name, rel) in &out.inputs {
        let Some(slot) = d.slot(slot_name) else {
            fails.push(format!("binds unknown slot `{slot_name}`"));
            continue;
        };
        match out.bound_files(slot, rel) {
            Ok(files) => bound.push((slot, files)),
            Err(e) => fails.push(e),
        }
    }
    let mut config = ProjectorConfig::default();
    for (slot, files) in &bound {
        if slot.role == SlotRole::Context {
            if let Some((_, text)) = files.first() {
                config.context.insert(slot.name.clone(), text.clone());
            }
        }
    }
    let schema = d
        .schema(&d.default_schema)
        .filter(|sc| {
            sc.requires_slot
                .as_ref()
                .is_none_or(|r| config.context.contains_key(r))
        })
        .or_else(|| check_schema(d));
    let Some(schema) = schema else {
        fails.push("no schema can be opened".into());
        return Err(fails);
    };
    config.schema = Some(schema.name.clone());
    let p = match (s.open)(&config) {
        Ok(p) => p,
        Err(e) => {
            fails.push(format!(
                "cannot open a projector for `{}` on the generated context: {e}",
                schema.name
            ));
            return Err(fails);
        }
    };
    let width = schema.columns.len();
    let mut stats = SynthStats {
        files: out.files.len(),
        ..SynthStats::default()
    };
    for (slot, files) in bound.iter().filter(|(sl, _)| sl.role == SlotRole::Rows) {
        for (path, text) in files {
            if path.ends_with(".parquet") || path.ends_with(".pq") {
                continue;
            }
            for (n, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                stats.lines += 1;
                let at = format!("{path}:{}", n + 1);
                match p.project(slot.name.as_str().into(), line.into()) {
                    FfiOutcome::Row(r) => {
                        match row_contract(&slot.name, &slot.accepts, width, &r) {
                            Ok(()) => {
                                stats.rows += 1;
                                stats.not_synthetic += usize::from(!r.synthetic);
                            }
                            Err(m) => fails.push(format!("{at}: {m}")),
                        }
                    }
                    FfiOutcome::Rejected(r) => {
                        *stats.rejected.entry(r.code.into_string()).or_default() += 1;
                    }
                    FfiOutcome::Failed(e) => fails.push(format!("{at}: {}", describe_failure(&e))),
                }
            }
        }
    }
    if fails.is_empty() {
        Ok(stats)
    } else {
        Err(fails)
    }
}

/// Small synthesis requests (12 rows, 1 row, 0 rows, an unknown variant)
/// return either a corpus whose rows project cleanly or a clean error.
pub fn synthesize(s: &Subject<'_>) -> Check {
    let requests = [
        (12usize, None),
        (1, None),
        (0, None),
        (3, Some("moshead-check-no-such-variant")),
    ];
    let mut fails = Vec::new();
    let mut notes = Vec::new();
    let mut warns = Vec::new();
    let mut main_rows = None;
    for (i, (rows, variant)) in requests.iter().enumerate() {
        let request = SynthRequest {
            rows: *rows,
            seed: 7,
            variant: variant.map(str::to_owned),
        };
        let what = match variant {
            Some(v) => format!("rows={rows}, variant `{v}`"),
            None => format!("rows={rows}"),
        };
        match (s.synthesize)(&request) {
            Err(e) if e.kind == PluginErrorKind::Panic => {
                fails.push(format!("{what}: panicked: {}", e.message))
            }
            Err(e) => notes.push(format!("{what}: clean error: {}", e.message)),
            Ok(out) => match read_back(s, &out) {
                Err(f) => fails.extend(f.into_iter().map(|m| format!("{what}: {m}"))),
                Ok(st) => {
                    let rejected: Vec<String> = st
                        .rejected
                        .iter()
                        .map(|(c, n)| format!("{n} {c}"))
                        .collect();
                    notes.push(format!(
                        "{what}: {} file{}, {} line{} -> {} row{}{}",
                        st.files,
                        plural(st.files),
                        st.lines,
                        plural(st.lines),
                        st.rows,
                        plural(st.rows),
                        if rejected.is_empty() {
                            String::new()
                        } else {
                            format!(" (rejected: {})", rejected.join(", "))
                        }
                    ));
                    if i == 0 {
                        main_rows = Some(st.rows);
                        if st.rows == 0 && *rows > 0 {
                            warns.push(format!(
                                "{what} gave no training row: return an error when the adapter cannot synthesize"
                            ));
                        }
                    }
                    if st.not_synthetic > 0 {
                        warns.push(format!(
                            "{what}: {} row{} not marked \"synthetic\": true (the real gate would apply)",
                            st.not_synthetic,
                            plural(st.not_synthetic)
                        ));
                    }
                }
            },
        }
    }
    if !fails.is_empty() {
        return Check::new(
            names::SYNTHESIZE,
            Status::Fail,
            format!(
                "{} problem{} with synthetic corpora",
                fails.len(),
                plural(fails.len())
            ),
        )
        .with_details(capped(fails));
    }
    let message = match main_rows {
        Some(0) => "rows=12 gives an empty corpus".to_owned(),
        Some(n) => format!(
            "rows=12 gives a corpus that projects cleanly ({n} rows); small and bad requests give clean corpora or clean errors"
        ),
        None => "rows=12 gives a clean error (no synthetic corpus); the others give clean corpora or clean errors".to_owned(),
    };
    if warns.is_empty() {
        Check::new(names::SYNTHESIZE, Status::Pass, message).with_details(notes)
    } else {
        warns.extend(notes);
        Check::new(names::SYNTHESIZE, Status::Warn, message).with_details(warns)
    }
}
