//! Reading a study file: TOML into checked [`Study`] values, every refusal
//! naming the line and the key.

use serde::Deserialize;
use toml::Spanned;

use super::{Columns, ContentRule, HashSplit, SlotDecl, Study, StudyError, FORMAT};
use crate::descriptor::{Format, Thresholds};
use crate::labels::{Differential, VoteLayout, VotesDecl};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    format: Option<Spanned<i64>>,
    name: Spanned<String>,
    version: Option<Spanned<String>>,
    model_id: Option<Spanned<String>>,
    description: Spanned<String>,
    #[serde(default)]
    licence: String,
    card: Option<RawCard>,
    scale: Spanned<RawScale>,
    columns: Spanned<RawColumns>,
    contents: Option<RawContents>,
    split: Option<RawSplit>,
    labels: Option<Spanned<RawSlot>>,
    logs: Option<Spanned<RawSlot>>,
    features: Option<Spanned<RawSlot>>,
    schema: Option<RawSchema>,
    gate: Option<Spanned<RawGate>>,
    votes: Option<Spanned<RawVotes>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVotes {
    layout: Spanned<String>,
    subjects: Option<Spanned<Vec<Spanned<String>>>>,
    subject: Option<Spanned<String>>,
    score: Option<Spanned<String>>,
    session: Option<Spanned<String>>,
    dmos: Option<Spanned<bool>>,
    ref_score: Option<Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCard {
    intended_use: Option<Spanned<String>>,
    #[serde(default)]
    limits: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScale {
    min: Spanned<f64>,
    max: Spanned<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawColumns {
    id: Spanned<String>,
    mos: Option<Spanned<String>>,
    content: Option<Spanned<String>>,
    sd: Option<Spanned<String>>,
    votes: Option<Spanned<String>>,
    ci95: Option<Spanned<String>>,
    split: Option<Spanned<String>>,
    reference: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawContents {
    id_before_last: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSplit {
    test_contents: Option<Spanned<Vec<Spanned<String>>>>,
    seed: Option<Spanned<String>>,
    train: Option<Spanned<f64>>,
    val: Option<Spanned<f64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSlot {
    path: Option<Spanned<String>>,
    formats: Option<Vec<Spanned<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchema {
    name: Option<Spanned<String>>,
    columns: Option<Spanned<Vec<Spanned<String>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGate {
    plcc_min: Option<Spanned<f64>>,
    srocc_min: Option<Spanned<f64>>,
    rmse_max: Option<Spanned<f64>>,
    spread_max: Option<Spanned<f64>>,
}

/// Errors at positions of one file.
struct At<'a> {
    text: &'a str,
    file: &'a str,
}

impl At<'_> {
    fn line(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text
            .as_bytes()
            .get(..end)
            .map_or(0, |b| b.iter().filter(|c| **c == b'\n').count())
            + 1
    }

    fn err(
        &self,
        span: std::ops::Range<usize>,
        key: &str,
        reason: impl Into<String>,
    ) -> StudyError {
        StudyError {
            file: self.file.to_owned(),
            line: self.line(span.start),
            key: Some(key.to_owned()),
            reason: reason.into(),
        }
    }
}

/// Adapter names: lowercase ASCII letters and digits in `-`-separated words.
fn is_kebab(s: &str) -> bool {
    !s.is_empty()
        && s.split('-').all(|w| {
            !w.is_empty()
                && w.bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
}

fn is_semver(s: &str) -> bool {
    let core = s.split(['-', '+']).next().unwrap_or_default();
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()))
}

/// Why a model id is not a plain file name, if it is not.
fn model_id_problem(id: &str) -> Option<String> {
    if id.contains('/') || id.contains('\\') {
        return Some(format!(
            "`{id}` is a path: a model id is a plain name (letters, digits, `_`, `-`, `.`), the output names its files after it"
        ));
    }
    if id.is_empty() || id.starts_with('.') || id.contains("..") {
        return Some(format!(
            "`{id}` is empty, hidden or contains `..`: a model id is a plain name"
        ));
    }
    if !id
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
    {
        return Some(format!(
            "`{id}` has characters other than letters, digits, `_`, `-` and `.`"
        ));
    }
    None
}

fn formats(
    at: &At<'_>,
    slot: &str,
    raw: &RawSlot,
    readable: &[Format],
    span: std::ops::Range<usize>,
) -> Result<Vec<Format>, StudyError> {
    let Some(list) = &raw.formats else {
        return Ok(readable.to_vec());
    };
    if list.is_empty() {
        return Err(at.err(span, &format!("{slot}.formats"), "lists no format"));
    }
    let mut out = Vec::new();
    for f in list {
        let name = f.get_ref().trim().to_ascii_lowercase();
        match readable.iter().find(|r| r.as_str() == name) {
            Some(r) => out.push(*r),
            None => {
                let names: Vec<&str> = readable.iter().map(|r| r.as_str()).collect();
                return Err(at.err(
                    f.span(),
                    &format!("{slot}.formats"),
                    format!(
                        "cannot read format `{}` here: `{slot}` reads {}",
                        f.get_ref(),
                        names.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(out)
}

fn non_empty(at: &At<'_>, v: &Spanned<String>, key: &str) -> Result<String, StudyError> {
    let s = v.get_ref().trim();
    if s.is_empty() {
        return Err(at.err(v.span(), key, "is empty"));
    }
    Ok(s.to_owned())
}

/// The field an unknown-field or missing-field message names.
fn field_of(message: &str) -> Option<&str> {
    let rest = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("missing field `"))?;
    rest.split_once('`').map(|(f, _)| f)
}

/// The `[table]` whose header is at or above `line` (1-based), if any.
fn table_at(text: &str, line: usize) -> Option<String> {
    text.lines()
        .take(line)
        .filter_map(|l| {
            let l = l.trim();
            let inner = l.strip_prefix('[')?.split_once(']')?.0;
            (!inner.starts_with('[')).then(|| inner.trim().to_owned())
        })
        .last()
}

pub(super) fn parse(text: &str, file: &str) -> Result<Study, StudyError> {
    let at = At { text, file };
    let raw: Raw = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(1, |s| at.line(s.start));
        let reason = e.message().trim().to_owned();
        StudyError {
            file: file.to_owned(),
            line,
            key: field_of(&reason).map(|f| match table_at(text, line) {
                Some(t) => format!("{t}.{f}"),
                None => f.to_owned(),
            }),
            reason,
        }
    })?;
    if let Some(f) = &raw.format {
        if *f.get_ref() != FORMAT {
            return Err(at.err(
                f.span(),
                "format",
                format!(
                    "study format {} is not the format this moshead reads ({FORMAT})",
                    f.get_ref()
                ),
            ));
        }
    }
    let name = non_empty(&at, &raw.name, "name")?;
    if !is_kebab(&name) {
        return Err(at.err(
            raw.name.span(),
            "name",
            format!("`{name}` is not an adapter name: lowercase letters and digits in `-`-separated words"),
        ));
    }
    let version = match &raw.version {
        Some(v) => {
            let s = non_empty(&at, v, "version")?;
            if !is_semver(&s) {
                return Err(at.err(
                    v.span(),
                    "version",
                    format!("`{s}` is not a semantic version (MAJOR.MINOR.PATCH)"),
                ));
            }
            s
        }
        None => "1.0.0".to_owned(),
    };
    let model_id = match &raw.model_id {
        Some(v) => {
            let s = v.get_ref().trim().to_owned();
            if let Some(why) = model_id_problem(&s) {
                return Err(at.err(v.span(), "model_id", why));
            }
            s
        }
        None => format!("{}_mos_head_v1", name.replace('-', "_")),
    };
    let description = non_empty(&at, &raw.description, "description")?;
    let (intended_use, limits) = match &raw.card {
        Some(c) => {
            let intended = c
                .intended_use
                .as_ref()
                .map(|v| non_empty(&at, v, "card.intended_use"))
                .transpose()?;
            let limits = c
                .limits
                .iter()
                .map(|l| non_empty(&at, l, "card.limits"))
                .collect::<Result<Vec<_>, _>>()?;
            (intended, limits)
        }
        None => (None, Vec::new()),
    };

    // The native scale.
    let sc = raw.scale.get_ref();
    let (lo, hi) = (*sc.min.get_ref(), *sc.max.get_ref());
    for (v, key) in [(&sc.min, "scale.min"), (&sc.max, "scale.max")] {
        if !v.get_ref().is_finite() {
            return Err(at.err(v.span(), key, "is not a finite number"));
        }
    }
    if lo > hi {
        return Err(at.err(
            sc.max.span(),
            "scale.max",
            format!("the scale is inverted: max {hi} is below min {lo}"),
        ));
    }
    if lo == hi {
        return Err(at.err(
            sc.max.span(),
            "scale.max",
            format!("the scale is empty: min and max are both {lo}"),
        ));
    }

    // The role columns: each names one column, and no column has two roles.
    let c = raw.columns.get_ref();
    let mut roles: Vec<(&str, &Spanned<String>)> = vec![("columns.id", &c.id)];
    for (key, v) in [
        ("columns.mos", &c.mos),
        ("columns.content", &c.content),
        ("columns.sd", &c.sd),
        ("columns.votes", &c.votes),
        ("columns.ci95", &c.ci95),
        ("columns.split", &c.split),
        ("columns.reference", &c.reference),
    ] {
        if let Some(v) = v {
            roles.push((key, v));
        }
    }
    for (i, (key, v)) in roles.iter().enumerate() {
        let name = non_empty(&at, v, key)?;
        if let Some((first, _)) = roles[..i].iter().find(|(_, w)| w.get_ref().trim() == name) {
            return Err(at.err(
                v.span(),
                key,
                format!("column `{name}` is given two roles: {first} and {key}"),
            ));
        }
    }
    let col = |v: &Option<Spanned<String>>| v.as_ref().map(|s| s.get_ref().trim().to_owned());
    let columns = Columns {
        id: c.id.get_ref().trim().to_owned(),
        mos: col(&c.mos).unwrap_or_else(|| "mos".to_owned()),
        sd: col(&c.sd),
        votes: col(&c.votes),
        ci95: col(&c.ci95),
        split: col(&c.split),
        reference: col(&c.reference),
    };

    // Contents.
    let pattern = raw
        .contents
        .as_ref()
        .and_then(|c| c.id_before_last.as_ref());
    let contents = match (&c.content, pattern) {
        (Some(_), Some(p)) => {
            return Err(at.err(
                p.span(),
                "contents.id_before_last",
                "the contents are given twice: by `columns.content` and by this id pattern",
            ))
        }
        (Some(c), None) => ContentRule::Column(c.get_ref().trim().to_owned()),
        (None, Some(p)) => {
            if p.get_ref().is_empty() {
                return Err(at.err(p.span(), "contents.id_before_last", "is empty"));
            }
            ContentRule::IdBeforeLast(p.get_ref().clone())
        }
        (None, None) => ContentRule::EachRow,
    };

    let votes = match &raw.votes {
        Some(v) => {
            let decl = votes(&at, v, &roles, &columns, &contents)?;
            Some(VotesDecl {
                scale: Some((lo, hi)),
                differential: differential(&at, v, &columns, &contents, (lo, hi))?,
                ..decl
            })
        }
        None => None,
    };
    if votes.is_none() && c.mos.is_none() {
        return Err(at.err(
            raw.columns.span(),
            "columns.mos",
            "is missing: name the MOS column, or declare raw votes in `[votes]`",
        ));
    }

    // Splits.
    let mut test_contents = Vec::new();
    let mut hash_split = None;
    if let Some(s) = &raw.split {
        if let Some(list) = &s.test_contents {
            for t in list.get_ref() {
                test_contents.push(non_empty(&at, t, "split.test_contents")?);
            }
        }
        let fraction = |v: &Option<Spanned<f64>>, key: &str| -> Result<Option<f64>, StudyError> {
            match v {
                Some(v) if !(0.0..=1.0).contains(v.get_ref()) => Err(at.err(
                    v.span(),
                    key,
                    format!("{} is not a fraction in [0, 1]", v.get_ref()),
                )),
                Some(v) => Ok(Some(*v.get_ref())),
                None => Ok(None),
            }
        };
        match (
            fraction(&s.train, "split.train")?,
            fraction(&s.val, "split.val")?,
        ) {
            (Some(train), Some(val)) => {
                if train + val > 1.0 {
                    let span = s.val.as_ref().map_or(0..0, |v| v.span());
                    return Err(at.err(
                        span,
                        "split.val",
                        format!("train {train} + val {val} exceed 1"),
                    ));
                }
                let seed = match &s.seed {
                    Some(v) => non_empty(&at, v, "split.seed")?,
                    None => format!("{name}-v1"),
                };
                hash_split = Some(HashSplit { seed, train, val });
            }
            (None, None) => {
                if let Some(seed) = &s.seed {
                    return Err(at.err(
                        seed.span(),
                        "split.seed",
                        "a seed without `train` and `val` fractions splits nothing",
                    ));
                }
            }
            _ => {
                let span = s
                    .train
                    .as_ref()
                    .or(s.val.as_ref())
                    .map_or(0..0, |v| v.span());
                return Err(at.err(
                    span,
                    "split",
                    "a content-hash split needs both `train` and `val`",
                ));
            }
        }
    }

    // Slots.
    let rows_formats = [Format::Csv, Format::Tsv, Format::Jsonl, Format::Parquet];
    let joined_formats = [Format::Csv, Format::Jsonl];
    let slot = |s: &Option<Spanned<RawSlot>>,
                name: &str,
                readable: &[Format]|
     -> Result<Option<SlotDecl>, StudyError> {
        s.as_ref()
            .map(|s| {
                let r = s.get_ref();
                Ok(SlotDecl {
                    path: r
                        .path
                        .as_ref()
                        .map(|p| non_empty(&at, p, &format!("{name}.path")))
                        .transpose()?,
                    formats: formats(&at, name, r, readable, s.span())?,
                })
            })
            .transpose()
    };
    let logs = slot(&raw.logs, "logs", &[Format::LibvmafLog])?;
    let labels = slot(
        &raw.labels,
        "labels",
        if logs.is_some() {
            &joined_formats
        } else {
            &rows_formats
        },
    )?;
    let features = slot(&raw.features, "features", &rows_formats)?;
    if let (Some(v), None) = (&raw.votes, &logs) {
        return Err(at.err(
            v.span(),
            "votes",
            "votes are read from the labels table joined with libvmaf logs: declare `[logs]` too",
        ));
    }
    if labels.is_none() && features.is_none() && logs.is_none() {
        return Err(StudyError {
            file: file.to_owned(),
            line: 1,
            key: None,
            reason: "declares no input: give `[labels]` (a table), `[logs]` (libvmaf logs joined with the labels) or `[features]`".into(),
        });
    }

    // The feature schema.
    let mut schema_columns = None;
    if let Some(s) = &raw.schema {
        match (&s.name, &s.columns) {
            (Some(n), None) => {
                if n.get_ref() != "vmaf-canonical-v1" {
                    return Err(at.err(
                        n.span(),
                        "schema.name",
                        format!("`{}` is no built-in schema (built in: vmaf-canonical-v1); list `columns` instead", n.get_ref()),
                    ));
                }
            }
            (None, Some(cols)) => {
                let mut out: Vec<String> = Vec::new();
                for col in cols.get_ref() {
                    let name = non_empty(&at, col, "schema.columns")?;
                    if out.contains(&name) {
                        return Err(at.err(
                            col.span(),
                            "schema.columns",
                            format!("column `{name}` is listed twice"),
                        ));
                    }
                    if let Some((role, _)) = roles.iter().find(|(_, v)| v.get_ref().trim() == name)
                    {
                        return Err(at.err(
                            col.span(),
                            "schema.columns",
                            format!("column `{name}` is given two roles: {role} and a feature"),
                        ));
                    }
                    out.push(name);
                }
                if out.is_empty() {
                    return Err(at.err(cols.span(), "schema.columns", "lists no column"));
                }
                schema_columns = Some(out);
            }
            (Some(n), Some(_)) => {
                return Err(at.err(
                    n.span(),
                    "schema.name",
                    "give either a built-in schema `name` or `columns`, not both",
                ))
            }
            (None, None) => {}
        }
    }

    // The gate, declared on the native scale (RMSE) and kept on 1-5. No
    // `[gate]`: the study declares none (the run says so); an empty
    // `[gate]` table is refused, as a gate of no metric.
    let gate = match &raw.gate {
        Some(gate) => Some(gate_thresholds(&at, gate, (lo, hi))?),
        None => None,
    };

    Ok(Study {
        name,
        version,
        model_id,
        description,
        licence: raw.licence.trim().to_owned(),
        intended_use,
        limits,
        scale: (lo, hi),
        columns,
        contents,
        test_contents,
        hash_split,
        labels,
        logs,
        features,
        schema_columns,
        gate,
        votes,
    })
}

/// The `[gate]` table's thresholds on the head's 1-5 scale (RMSE converted
/// from the native scale `lo..hi`), each checked for meaning.
fn gate_thresholds(
    at: &At<'_>,
    gate: &Spanned<RawGate>,
    (lo, hi): (f64, f64),
) -> Result<Thresholds, StudyError> {
    let g = gate.get_ref();
    let to_head = 4.0 / (hi - lo);
    for (v, key) in [
        (&g.plcc_min, "gate.plcc_min"),
        (&g.srocc_min, "gate.srocc_min"),
        (&g.rmse_max, "gate.rmse_max"),
        (&g.spread_max, "gate.spread_max"),
    ] {
        let Some(v) = v else { continue };
        let x = *v.get_ref();
        if !x.is_finite() || x < 0.0 {
            return Err(at.err(
                v.span(),
                key,
                format!("{x} is a negative or non-finite threshold"),
            ));
        }
        let bad = match key {
            "gate.plcc_min" | "gate.srocc_min" => {
                (x == 0.0 || x > 1.0).then(|| format!("{x} is not a correlation in (0, 1]"))
            }
            "gate.rmse_max" => (x == 0.0 || x * to_head > 4.0)
                .then(|| format!("{x} is not an RMSE within the scale's width ({})", hi - lo)),
            _ => None,
        };
        if let Some(why) = bad {
            return Err(at.err(v.span(), key, why));
        }
    }
    if g.plcc_min.is_none() && g.srocc_min.is_none() && g.rmse_max.is_none() {
        return Err(at.err(
            gate.span(),
            "gate",
            "gates no metric: give at least one of plcc_min, srocc_min, rmse_max (or leave `[gate]` out: no gate declared)",
        ));
    }
    let val = |v: &Option<Spanned<f64>>| v.as_ref().map(|v| *v.get_ref());
    Ok(Thresholds {
        plcc_min: val(&g.plcc_min),
        srocc_min: val(&g.srocc_min),
        rmse_max: val(&g.rmse_max).map(|r| r * to_head),
        spread_max: val(&g.spread_max),
    })
}

/// The `[votes]` table: the layout of a table of raw votes.
fn votes(
    at: &At<'_>,
    raw: &Spanned<RawVotes>,
    roles: &[(&str, &Spanned<String>)],
    columns: &Columns,
    contents: &ContentRule,
) -> Result<VotesDecl, StudyError> {
    let v = raw.get_ref();
    // The confidence comes from the votes: a column for it is a mistake.
    for (key, col) in [
        ("columns.sd", &columns.sd),
        ("columns.votes", &columns.votes),
        ("columns.ci95", &columns.ci95),
    ] {
        if col.is_some() {
            let span = roles
                .iter()
                .find(|(k, _)| *k == key)
                .map_or(0..0, |(_, s)| s.span());
            return Err(at.err(
                span,
                key,
                "a study with raw votes recovers each clip's confidence and vote count from them: remove this column",
            ));
        }
    }
    // A vote column must not be a role column, nor two vote roles one column.
    let mut taken: Vec<(String, String)> = roles
        .iter()
        .filter(|(k, _)| *k != "columns.mos")
        .map(|(k, s)| (s.get_ref().trim().to_owned(), (*k).to_owned()))
        .collect();
    let mut claim = |s: &Spanned<String>, key: &str| -> Result<String, StudyError> {
        let name = non_empty(at, s, key)?;
        if let Some((_, first)) = taken.iter().find(|(c, _)| *c == name) {
            return Err(at.err(
                s.span(),
                key,
                format!("column `{name}` is given two roles: {first} and {key}"),
            ));
        }
        taken.push((name.clone(), key.to_owned()));
        Ok(name)
    };
    let misplaced = |s: Option<std::ops::Range<usize>>, key: &str, layout: &str| match s {
        Some(span) => Err(at.err(span, key, format!("is not read for a {layout} vote table"))),
        None => Ok(()),
    };
    let layout = match v.layout.get_ref().trim() {
        "wide" => {
            misplaced(v.subject.as_ref().map(|s| s.span()), "votes.subject", "wide")?;
            misplaced(v.score.as_ref().map(|s| s.span()), "votes.score", "wide")?;
            misplaced(v.session.as_ref().map(|s| s.span()), "votes.session", "wide")?;
            let mut subjects = Vec::new();
            if let Some(list) = &v.subjects {
                for s in list.get_ref() {
                    subjects.push(claim(s, "votes.subjects")?);
                }
                if subjects.is_empty() {
                    return Err(at.err(
                        list.span(),
                        "votes.subjects",
                        "lists no subject column (leave it out to read every other column as a subject)",
                    ));
                }
            }
            VoteLayout::Wide { subjects }
        }
        "long" => {
            misplaced(v.subjects.as_ref().map(|s| s.span()), "votes.subjects", "long")?;
            let missing = |key: &str| {
                at.err(
                    raw.span(),
                    key,
                    "is missing: a long vote table names its subject and score columns",
                )
            };
            let subject = v.subject.as_ref().ok_or_else(|| missing("votes.subject"))?;
            let score = v.score.as_ref().ok_or_else(|| missing("votes.score"))?;
            VoteLayout::Long {
                subject: claim(subject, "votes.subject")?,
                score: claim(score, "votes.score")?,
                session: v
                    .session
                    .as_ref()
                    .map(|s| claim(s, "votes.session"))
                    .transpose()?,
            }
        }
        other => {
            return Err(at.err(
                v.layout.span(),
                "votes.layout",
                format!("`{other}` is no vote layout: `wide` (one column per subject) or `long` (one record per vote)"),
            ))
        }
    };
    // Per-clip columns carried from a clip's first line.
    let mut keep: Vec<String> = Vec::new();
    if let ContentRule::Column(c) = contents {
        keep.push(c.clone());
    }
    keep.extend(columns.split.iter().cloned());
    keep.extend(columns.reference.iter().cloned());
    Ok(VotesDecl {
        layout,
        score_key: columns.mos.clone(),
        scale: None,
        keep,
        differential: None,
    })
}

/// `votes.dmos` and `votes.ref_score`: differential scores against each
/// content's reference clip, which need the content column, the reference
/// flag column and a reference score on the study's scale.
fn differential(
    at: &At<'_>,
    raw: &Spanned<RawVotes>,
    columns: &Columns,
    contents: &ContentRule,
    (lo, hi): (f64, f64),
) -> Result<Option<Differential>, StudyError> {
    let v = raw.get_ref();
    let on = v.dmos.as_ref().is_some_and(|d| *d.get_ref());
    if !on {
        return match &v.ref_score {
            Some(r) => Err(at.err(
                r.span(),
                "votes.ref_score",
                "is read only for differential scores: add `dmos = true`",
            )),
            None => Ok(None),
        };
    }
    let span = v.dmos.as_ref().map_or(raw.span(), |d| d.span());
    let ContentRule::Column(content) = contents else {
        return Err(at.err(
            span,
            "votes.dmos",
            "differential scores compare each clip with its content's reference: name the content column (`columns.content`)",
        ));
    };
    let Some(reference) = &columns.reference else {
        return Err(at.err(
            span,
            "votes.dmos",
            "differential scores need the reference clips: name their flag column (`columns.reference`)",
        ));
    };
    let Some(r) = &v.ref_score else {
        return Err(at.err(
            span,
            "votes.ref_score",
            "is missing: differential scores need the score a reference is worth (e.g. the scale's top)",
        ));
    };
    let ref_score = *r.get_ref();
    if !ref_score.is_finite() || ref_score < lo || ref_score > hi {
        return Err(at.err(
            r.span(),
            "votes.ref_score",
            format!("{ref_score} is not on the study's scale {lo}-{hi}"),
        ));
    }
    Ok(Some(Differential {
        content: content.clone(),
        reference: reference.clone(),
        ref_score,
    }))
}
