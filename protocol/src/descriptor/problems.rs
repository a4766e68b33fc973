//! The consistency checks of a descriptor ([`Descriptor::problems`]).

use super::*;

impl Descriptor {
    /// Checks the descriptor's internal consistency. Returns every problem
    /// found, so a plugin author sees them all at once.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !is_identifier(&self.name) {
            out.push(format!(
                "name `{}` must be non-empty lowercase ascii letters, digits and `-`",
                self.name
            ));
        }
        if let Err(e) = semver::Version::parse(&self.version) {
            out.push(format!("version `{}` is not semver: {e}", self.version));
        }
        if self.model_id.trim().is_empty()
            || !self
                .model_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
        {
            out.push(format!(
                "model id `{}` must be non-empty ascii letters, digits, `_`, `-` or `.`",
                self.model_id
            ));
        }
        if self.inputs.is_empty() {
            out.push("declares no input slots".into());
        }
        if let Some(card) = &self.card {
            if card.intended_use.trim().is_empty() {
                out.push("the model card's intended use is empty".into());
            }
            if card.limits.iter().any(|l| l.trim().is_empty()) {
                out.push("the model card lists an empty limit".into());
            }
        }
        dupes(
            self.inputs.iter().map(|s| s.name.as_str()),
            "input slot",
            &mut out,
        );
        for slot in &self.inputs {
            if slot.formats.is_empty() {
                out.push(format!("slot `{}` accepts no format", slot.name));
            }
            if slot.role == SlotRole::Rows && slot.accepts.is_empty() {
                out.push(format!("slot `{}` accepts no corpus tag", slot.name));
            }
            if let SlotKind::ShardDir { glob } = &slot.kind {
                if glob.is_empty() || glob.contains('/') {
                    out.push(format!(
                        "slot `{}` glob `{glob}` must be a non-empty file-name pattern",
                        slot.name
                    ));
                } else if let Err(e) = crate::ShardGlob::new(glob) {
                    out.push(format!("slot `{}` {e}", slot.name));
                }
            }
            if let Some(m) = &slot.mos_scale {
                if let Some(p) = m.problem() {
                    out.push(format!("slot `{}`: {p}", slot.name));
                }
            }
            if let Some(tag) = &slot.assume_corpus {
                if !slot.accepts.contains(tag) {
                    out.push(format!(
                        "slot `{}` assumes corpus `{tag}` that it does not accept",
                        slot.name
                    ));
                }
            }
            if slot
                .default_path
                .as_deref()
                .is_some_and(|p| p.trim().is_empty())
            {
                out.push(format!(
                    "slot `{}` has an empty default path (omit it instead)",
                    slot.name
                ));
            }
            if let Some(env) = &slot.env {
                if let Some(p) = env_var_problem(&env.var) {
                    out.push(format!("slot `{}` environment override {p}", slot.name));
                }
                if let Some(join) = &env.join {
                    if !is_relative_below(join) {
                        out.push(format!(
                            "slot `{}` joins `{join}` onto ${}: it must be a relative path without `..`",
                            slot.name, env.var
                        ));
                    }
                }
            }
        }
        self.labels_problems(&mut out);
        if self.schemas.is_empty() {
            out.push("declares no feature schema".into());
        }
        dupes(
            self.schemas.iter().map(|s| s.name.as_str()),
            "schema",
            &mut out,
        );
        for schema in &self.schemas {
            if schema.columns.is_empty() {
                out.push(format!("schema `{}` has no columns", schema.name));
            }
            let mut seen = BTreeSet::new();
            for c in &schema.columns {
                if !seen.insert(c.as_str()) {
                    out.push(format!("schema `{}` repeats column `{c}`", schema.name));
                }
            }
            for (column, name) in &schema.libvmaf_names {
                if !seen.contains(column.as_str()) {
                    out.push(format!(
                        "schema `{}` names `{column}` for libvmaf, which is not one of its columns",
                        schema.name
                    ));
                }
                if name.is_empty() || name.chars().any(char::is_whitespace) {
                    out.push(format!(
                        "schema `{}` gives column `{column}` the libvmaf name `{name}`: it must be non-empty without whitespace",
                        schema.name
                    ));
                }
            }
            if let Some(slot) = &schema.requires_slot {
                match self.slot(slot) {
                    Some(s) if s.role == SlotRole::Context => {}
                    _ => out.push(format!(
                        "schema `{}` requires `{slot}`, which is not a context slot",
                        schema.name
                    )),
                }
            }
        }
        if self.schema(&self.default_schema).is_none() {
            out.push(format!(
                "default schema `{}` is not declared",
                self.default_schema
            ));
        }
        if let Some(p) = self.mos_scale.problem() {
            out.push(p);
        }
        let mut aliased = BTreeSet::new();
        for a in &self.header_aliases {
            if a.key.trim().is_empty() || a.aliases.is_empty() {
                out.push(format!(
                    "header alias of `{}` names no key or no alias",
                    a.key
                ));
            }
            for name in &a.aliases {
                if !aliased.insert(name.as_str()) {
                    out.push(format!("header `{name}` is aliased twice"));
                }
            }
        }
        if let Some(r) = &self.reference {
            let empty = |k: &String| k.trim().is_empty();
            if (r.flags.is_empty() && r.equals.is_empty())
                || r.flags.iter().any(empty)
                || r.equals.iter().any(|(k, _)| empty(k))
            {
                out.push("the reference rule tests no key, or an empty one".into());
            }
        }
        if let SplitPolicy::ContentHash { seed, train, val } = &self.split_policy {
            let ok = !seed.is_empty()
                && train.is_finite()
                && val.is_finite()
                && *train > 0.0
                && *val >= 0.0
                && train + val <= 1.0;
            if !ok {
                out.push(format!(
                    "content-hash split (seed `{seed}`, train {train}, val {val}) is not a valid partition"
                ));
            }
        }
        if self.content_group_key.trim().is_empty() {
            out.push("content group key is empty".into());
        }
        if self.id_keys.is_empty() {
            out.push("declares no id keys".into());
        }
        if self.gate.none_declared && !self.gate.real.is_empty() {
            out.push("real gate: declares no gate (`none_declared`) but sets thresholds".into());
        }
        for (label, t) in [
            ("real", &self.gate.real),
            ("synthetic", &self.gate.synthetic),
        ] {
            if label == "real" && self.gate.none_declared {
                continue;
            }
            for p in t.problems() {
                out.push(format!("{label} gate: {p}"));
            }
        }
        if self.output_dir.trim().is_empty() {
            out.push("output directory is empty".into());
        }
        if let Some(p) = self.output_env.as_deref().and_then(env_var_problem) {
            out.push(format!("output directory override {p}"));
        }
        for (i, s) in self.samples.iter().enumerate() {
            match self.slot(&s.slot) {
                None => out.push(format!("sample {i} names unknown slot `{}`", s.slot)),
                Some(slot) if slot.role != SlotRole::Rows => out.push(format!(
                    "sample {i} names `{}`, which is not a row slot",
                    s.slot
                )),
                Some(_) => {}
            }
            if let Some(code) = &s.expect_rejection {
                if !is_reason_code(code) {
                    out.push(format!(
                        "sample {i} expects rejection code `{code}`, which is not kebab-case"
                    ));
                }
            }
        }
        out
    }

    /// The numbers of the descriptor that are NaN or infinite, by path
    /// (`gate.real.plcc_min = NaN`).
    ///
    /// JSON cannot carry them (serde_json writes `null`, which would read
    /// back as "not gated"), so the exported descriptor entry point refuses
    /// a descriptor with any; [`Descriptor::problems`] reports them too.
    pub fn non_finite_numbers(&self) -> Vec<String> {
        let scales = std::iter::once(("mos_scale".to_owned(), &self.mos_scale)).chain(
            self.inputs.iter().filter_map(|s| {
                s.mos_scale
                    .as_ref()
                    .map(|m| (format!("inputs.{}.mos_scale", s.name), m))
            }),
        );
        let mut named: Vec<(String, f64)> = Vec::new();
        for (path, m) in scales {
            named.push((format!("{path}.native_min"), m.native_min));
            named.push((format!("{path}.native_max"), m.native_max));
            named.push((format!("{path}.to_head_scale"), m.to_head_scale));
            named.push((format!("{path}.to_head_offset"), m.to_head_offset));
        }
        if let SplitPolicy::ContentHash { train, val, .. } = &self.split_policy {
            named.push(("split_policy.train".into(), *train));
            named.push(("split_policy.val".into(), *val));
        }
        for (label, t) in [
            ("real", &self.gate.real),
            ("synthetic", &self.gate.synthetic),
        ] {
            for (name, v) in [
                ("plcc_min", t.plcc_min),
                ("srocc_min", t.srocc_min),
                ("rmse_max", t.rmse_max),
                ("spread_max", t.spread_max),
            ] {
                if let Some(v) = v {
                    named.push((format!("gate.{label}.{name}"), v));
                }
            }
        }
        named
            .into_iter()
            .filter(|(_, v)| !v.is_finite())
            .map(|(n, v)| format!("{n} = {v}"))
            .collect()
    }

    /// Problems with libvmaf-log slots and labels slots: a log slot must be
    /// a row slot reading only libvmaf logs and name a labels slot; a labels
    /// slot must be a CSV or JSONL file that some log slot joins.
    fn labels_problems(&self, out: &mut Vec<String>) {
        for slot in &self.inputs {
            let logs = slot.formats.contains(&Format::LibvmafLog);
            match (&slot.labels, logs) {
                (Some(join), true) => {
                    out.extend(join.problems(&slot.name));
                    if slot.role != SlotRole::Rows || slot.formats.len() != 1 {
                        out.push(format!(
                            "slot `{}` reads libvmaf logs: it must be a row slot of that format alone",
                            slot.name
                        ));
                    }
                    if self.slot(&join.slot).map(|s| s.role) != Some(SlotRole::Labels) {
                        out.push(format!(
                            "slot `{}` joins labels slot `{}`, which is not a declared labels slot",
                            slot.name, join.slot
                        ));
                    }
                }
                (None, true) => out.push(format!(
                    "slot `{}` reads libvmaf logs but names no labels table to join",
                    slot.name
                )),
                (Some(_), false) => out.push(format!(
                    "slot `{}` names a labels table but does not read libvmaf logs",
                    slot.name
                )),
                (None, false) => {}
            }
            if slot.role == SlotRole::Labels {
                if slot
                    .formats
                    .iter()
                    .any(|f| !matches!(f, Format::Csv | Format::Jsonl))
                {
                    out.push(format!(
                        "labels slot `{}` must read CSV or JSONL only",
                        slot.name
                    ));
                }
                let joined = self
                    .inputs
                    .iter()
                    .any(|s| s.labels.as_ref().is_some_and(|j| j.slot == slot.name));
                if !joined {
                    out.push(format!(
                        "labels slot `{}` is joined by no libvmaf-log slot",
                        slot.name
                    ));
                }
            }
        }
    }
}

impl Thresholds {
    /// Problems with the thresholds: non-finite values, correlation minimums
    /// outside (0, 1] (a minimum of zero or below passes a head that does not
    /// track MOS, usually an inverted threshold), an RMSE maximum outside
    /// (0, 4] (4 is the width of the 1-5 scale: more gates nothing), a
    /// negative spread, or a gate that checks nothing.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (name, v) in [("plcc_min", self.plcc_min), ("srocc_min", self.srocc_min)] {
            if let Some(v) = v {
                if !v.is_finite() || !(-1.0..=1.0).contains(&v) {
                    out.push(format!("{name} {v} is not a correlation in [-1, 1]"));
                } else if v <= 0.0 {
                    out.push(format!(
                        "{name} {v} passes a head that does not track MOS (inverted threshold?)"
                    ));
                }
            }
        }
        if let Some(v) = self.rmse_max {
            if !v.is_finite() || v <= 0.0 {
                out.push(format!("rmse_max {v} must be finite and positive"));
            } else if v > 4.0 {
                out.push(format!(
                    "rmse_max {v} exceeds the width of the 1-5 scale (4): it gates nothing"
                ));
            }
        }
        if let Some(v) = self.spread_max {
            if !v.is_finite() || v < 0.0 {
                out.push(format!("spread_max {v} must be finite and non-negative"));
            }
        }
        if self.plcc_min.is_none() && self.srocc_min.is_none() && self.rmse_max.is_none() {
            out.push("gates no metric".into());
        }
        out
    }
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
}

/// Whether `code` is a usable rejection reason code: non-empty kebab-case
/// (lowercase ascii letters, digits, single `-` between words).
pub fn is_reason_code(code: &str) -> bool {
    !code.is_empty()
        && code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !code.starts_with('-')
        && !code.ends_with('-')
        && !code.contains("--")
}

/// Why `var` cannot name an environment variable, if it cannot.
fn env_var_problem(var: &str) -> Option<String> {
    if var.is_empty() {
        Some("names an empty variable".into())
    } else if var.contains(['=', '\0']) || var.chars().any(char::is_whitespace) {
        Some(format!("`{var}` is not a usable variable name"))
    } else {
        None
    }
}

/// A non-empty relative path that stays below where it is joined: every
/// component a plain name or `.` (no root, no `..`). Plugin-declared paths
/// and the host's writes under an output directory are held to it.
pub fn is_relative_below(path: &str) -> bool {
    let p = std::path::Path::new(path);
    !path.trim().is_empty()
        && p.components().all(|c| {
            matches!(
                c,
                std::path::Component::Normal(_) | std::path::Component::CurDir
            )
        })
}

fn dupes<'a>(names: impl Iterator<Item = &'a str>, what: &str, out: &mut Vec<String>) {
    let mut seen = BTreeSet::new();
    for n in names {
        if !seen.insert(n) {
            out.push(format!("{what} `{n}` is declared twice"));
        }
    }
}
