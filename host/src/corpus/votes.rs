//! Labels tables of raw votes: read wide or long as the slot's
//! [`VotesDecl`] says, one score per clip recovered by the run's
//! subjective model ([`moshead_subjective`]), and one labels record per clip
//! holding it under the declared key. Every vote not used is a counted drop
//! at its line (`vote-*` codes); a table that cannot be modelled is an error.

use std::collections::HashMap;

use moshead_protocol::{Differential, LabelsJoin, VoteLayout, VotesDecl};
use moshead_subjective::{
    recover, Recovered, Scale, SubjectiveModel, VoteIngest, VoteMatrix, VoteTableBuilder,
};
use serde_json::{Map, Value};

use super::label_table::{add, codes, key_of, rename, SubjectiveReport, Table};

/// Raw keys written beside the score: its CI95 half-width, standard error
/// and vote count (absent where undefined).
pub const CI95_KEY: &str = "votes_ci95";
/// The standard error of the recovered score.
pub const STD_ERR_KEY: &str = "votes_std_err";
/// The votes the score rests on.
pub const COUNT_KEY: &str = "votes_n";

/// A cell as the vote reader sees it: numbers as written, text as is,
/// absent as empty.
fn cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// Turns `raw` (the table's records) into one record per scored clip in `t`.
pub(super) fn read(
    t: &mut Table,
    raw: Vec<(u64, Map<String, Value>)>,
    columns: &[String],
    join: &LabelsJoin,
    decl: &VotesDecl,
    slot: &str,
    model: SubjectiveModel,
) -> Result<(), String> {
    let scale = decl
        .scale
        .map(|(lo, hi)| Scale::new(lo, hi))
        .transpose()
        .map_err(|e| e.to_string())?;
    let mut b = VoteTableBuilder::new(scale);
    let wide_subjects = vote_columns(columns, join, decl)?;
    let mut first = collect(t, &mut b, raw, join, decl, &wide_subjects);
    let (matrix, ingest) = b
        .finish()
        .map_err(|e| format!("the votes cannot be modelled: {e}"))?;
    drop_unused_votes(t, &ingest);
    let matrix = match &decl.differential {
        Some(d) => differential(&matrix, &first, d)?,
        None => matrix,
    };
    let rec = recover(&matrix, model);
    write_clips(t, &rec, &mut first, join, decl);
    let mut report = report(&rec, &matrix, &ingest, slot, model);
    report.differential = decl.differential.as_ref().map(|d| d.ref_score);
    t.subjective = Some(report);
    Ok(())
}

/// The first record of each clip (its line and the columns kept from it).
type FirstRecords = HashMap<String, (u64, Map<String, Value>)>;

/// The subject columns of a wide table (empty for a long one); a declared
/// vote column the table lacks is an error naming the table's columns.
fn vote_columns(
    columns: &[String],
    join: &LabelsJoin,
    decl: &VotesDecl,
) -> Result<Vec<String>, String> {
    Ok(match &decl.layout {
        VoteLayout::Wide { subjects } if !subjects.is_empty() => {
            if let Some(missing) = subjects.iter().find(|s| !columns.contains(s)) {
                return Err(format!(
                    "the vote column `{missing}` is not in the table (it has {})",
                    columns.join(", ")
                ));
            }
            subjects.clone()
        }
        VoteLayout::Wide { .. } => columns
            .iter()
            .filter(|c| !join.key.contains(c) && !decl.keep.contains(c))
            .cloned()
            .collect(),
        VoteLayout::Long { subject, score, .. } => {
            for c in [subject, score] {
                if !columns.contains(c) {
                    return Err(format!(
                        "the vote column `{c}` is not in the table (it has {})",
                        columns.join(", ")
                    ));
                }
            }
            Vec::new()
        }
    })
}

/// Feeds each record's votes to `b`, dropping records without a key or
/// subject; returns each clip's first record (its other columns).
fn collect(
    t: &mut Table,
    b: &mut VoteTableBuilder,
    raw: Vec<(u64, Map<String, Value>)>,
    join: &LabelsJoin,
    decl: &VotesDecl,
    wide_subjects: &[String],
) -> FirstRecords {
    // the clip's other columns, from its first record
    let mut first: FirstRecords = HashMap::new();
    for (line, obj) in raw {
        let Some(key) = key_of(&obj, join) else {
            t.drops.push((
                line,
                codes::LABEL_KEY_MISSING,
                format!("no value in the key column ({})", join.key.join(" or ")),
            ));
            continue;
        };
        match &decl.layout {
            VoteLayout::Wide { .. } => {
                let cells: Vec<(&str, String)> = wide_subjects
                    .iter()
                    .map(|s| (s.as_str(), cell(obj.get(s))))
                    .collect();
                b.wide_row(line, &key, cells.iter().map(|(s, c)| (*s, c.as_str())));
            }
            VoteLayout::Long {
                subject,
                score,
                session,
            } => {
                let who = cell(obj.get(subject));
                if who.trim().is_empty() {
                    t.drops.push((
                        line,
                        codes::VOTE_EMPTY,
                        format!("no subject in column `{subject}`"),
                    ));
                    continue;
                }
                let sess = session.as_ref().map(|s| cell(obj.get(s)));
                b.long_record(
                    line,
                    &key,
                    who.trim(),
                    sess.as_deref(),
                    &cell(obj.get(score)),
                );
            }
        }
        first.entry(key).or_insert_with(|| {
            let kept = obj
                .into_iter()
                .filter(|(k, _)| decl.keep.contains(k) || join.key.contains(k))
                .collect();
            (line, kept)
        });
    }
    first
}

/// Counts each vote the builder did not keep as a drop at its line.
fn drop_unused_votes(t: &mut Table, ingest: &VoteIngest) {
    for (reason, ex) in &ingest.every {
        let what = if ex.subject.is_empty() {
            format!("clip `{}` has no vote left", ex.clip)
        } else {
            format!(
                "vote `{}` of subject `{}` on clip `{}`: {}",
                ex.value,
                ex.subject,
                ex.clip,
                reason.as_str()
            )
        };
        t.drops.push((ex.line, codes::of_vote(*reason), what));
    }
}

/// One labels record per scored clip (its kept columns, renamed, with the
/// score and its uncertainty); clips screening left unscored are drops.
fn write_clips(
    t: &mut Table,
    rec: &Recovered,
    first: &mut FirstRecords,
    join: &LabelsJoin,
    decl: &VotesDecl,
) {
    for clip in &rec.unscored {
        let line = first.get(clip).map_or(0, |(l, _)| *l);
        t.drops.push((
            line,
            codes::VOTE_CLIP_NO_VOTES,
            format!("clip `{clip}`: every voter was rejected by BT.500 screening"),
        ));
    }
    for c in &rec.clips {
        let Some((line, mut obj)) = first.remove(&c.clip) else {
            continue;
        };
        let mut put = |k: &str, v: Option<f64>| {
            if let Some(n) = v.and_then(serde_json::Number::from_f64) {
                obj.insert(k.to_owned(), Value::Number(n));
            }
        };
        put(CI95_KEY, c.ci95);
        put(STD_ERR_KEY, c.std_err);
        put(COUNT_KEY, Some(c.votes as f64));
        // the renames apply to the kept columns; the score is written under
        // the adapter's own key
        let mut renamed = rename(obj, join);
        if let Some(n) = serde_json::Number::from_f64(c.score) {
            renamed.insert(decl.score_key.clone(), Value::Number(n));
        }
        add(t, line, renamed, join);
    }
}

/// The subjective model's report for the slot.
fn report(
    rec: &Recovered,
    matrix: &VoteMatrix,
    ingest: &VoteIngest,
    slot: &str,
    model: SubjectiveModel,
) -> SubjectiveReport {
    let mut per_clip: Vec<u64> = rec.clips.iter().map(|c| c.votes as u64).collect();
    per_clip.sort_unstable();
    let (_, n_i, n_r) = matrix.shape();
    SubjectiveReport {
        slot: slot.to_owned(),
        model: model.name().to_owned(),
        votes_read: ingest.read as u64,
        votes_kept: ingest.kept as u64,
        clips: rec.clips.len() as u64,
        subjects: n_i as u64,
        sessions: n_r as u64,
        votes_per_clip: match (per_clip.first(), per_clip.last()) {
            (Some(lo), Some(hi)) => [*lo, per_clip[per_clip.len() / 2], *hi],
            _ => [0; 3],
        },
        ci95_width: moshead_subjective::ci_width_summary(rec).map(|(a, b, c, d)| [a, b, c, d]),
        dropped_subjects: ingest
            .dropped_subjects
            .iter()
            .map(|s| format!("{s}: fewer than two votes"))
            .collect(),
        rejected: rec
            .rejected()
            .into_iter()
            .map(|(s, why)| (s.to_owned(), why))
            .collect(),
        iterations: rec.iterations.map(|i| (i as u64, rec.converged)),
        differential: None,
    }
}

/// The differential-score matrix of `matrix` (SUREAL's DMOS): each clip's
/// content and reference flag are read from its first record in `first`;
/// a flag that is neither `true`/`false` nor a number is an error naming
/// the line.
fn differential(
    matrix: &moshead_subjective::VoteMatrix,
    first: &FirstRecords,
    d: &Differential,
) -> Result<moshead_subjective::VoteMatrix, String> {
    let mut contents = Vec::new();
    let mut references = Vec::new();
    for clip in matrix.clips() {
        let Some((line, obj)) = first.get(clip) else {
            return Err(format!("clip `{clip}` has no record"));
        };
        let content = cell(obj.get(&d.content));
        if content.trim().is_empty() {
            return Err(format!(
                "line {line}: clip `{clip}` has no content in `{}`: differential scores compare each clip with its content's reference",
                d.content
            ));
        }
        let flag = match obj.get(&d.reference) {
            None | Some(Value::Null) => Some(false),
            Some(Value::Bool(b)) => Some(*b),
            Some(Value::Number(n)) => n.as_f64().map(|v| v != 0.0),
            Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "" | "false" | "0" => Some(false),
                "true" | "1" => Some(true),
                _ => None,
            },
            Some(_) => None,
        };
        let Some(flag) = flag else {
            return Err(format!(
                "line {line}: clip `{clip}`: the reference flag `{}` is `{}`, neither true/false nor a number",
                d.reference,
                cell(obj.get(&d.reference))
            ));
        };
        contents.push(content.trim().to_owned());
        references.push(flag);
    }
    moshead_subjective::differential(matrix, &contents, &references, d.ref_score)
        .map_err(|e| format!("the votes cannot be modelled: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::labels::read as read_table;
    use moshead_protocol::Format;

    fn join(layout: VoteLayout) -> LabelsJoin {
        LabelsJoin {
            slot: "votes".into(),
            key: vec!["clip".into()],
            rename: vec![("source".into(), "content".into())],
            votes: Some(VotesDecl {
                layout,
                score_key: "mos".into(),
                scale: Some((1.0, 5.0)),
                keep: vec!["source".into()],
                differential: None,
            }),
        }
    }

    const WIDE: &str = "clip,source,ann,bob,cat,dan\n\
                        c1,s1,4,5,4,\n\
                        c2,s1,2,3,,2\n\
                        c3,s2,x,1,2,9\n\
                        c4,s2,,,,\n\
                        c5,s2,3,4,3,4\n";

    #[test]
    fn a_wide_vote_table_becomes_one_record_per_clip() {
        let j = join(VoteLayout::Wide { subjects: vec![] });
        let t = read_table(
            WIDE.as_bytes(),
            Format::Csv,
            &j,
            "votes",
            SubjectiveModel::Mean,
        )
        .unwrap();
        assert_eq!(t.read, 5);
        let keys: Vec<&str> = t.records.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys, ["c1", "c2", "c3", "c5"]);
        let (_, c1) = t.get("c1").unwrap();
        assert_eq!(c1.line, 2);
        assert!((c1.columns["mos"].as_f64().unwrap() - 13.0 / 3.0).abs() < 1e-12);
        assert_eq!(c1.columns[COUNT_KEY], 3.0);
        assert_eq!(c1.columns["content"], "s1", "kept columns are renamed");
        assert!(!c1.columns.contains_key("ann"), "votes are not carried");
        // c3: `x` not a number, 9 outside 1-5; c4 has no vote
        let codes: Vec<(u64, &str)> = t.drops.iter().map(|(l, c, _)| (*l, *c)).collect();
        assert_eq!(
            codes,
            [
                (4, codes::VOTE_NOT_A_NUMBER),
                (4, codes::VOTE_OUTSIDE_SCALE),
                (5, codes::VOTE_CLIP_NO_VOTES)
            ]
        );
        assert!(
            t.drops[0].2.contains("subject `ann` on clip `c3`"),
            "{:?}",
            t.drops[0]
        );
        let s = t.subjective.as_ref().unwrap();
        assert_eq!((s.model.as_str(), s.clips, s.subjects), ("mean", 4, 4));
        assert_eq!((s.votes_read, s.votes_kept), (14, 12));
        assert_eq!(s.votes_per_clip, [2, 3, 4]);
    }

    #[test]
    fn a_long_vote_table_with_sessions_gives_the_same_model_as_the_crate() {
        let j = join(VoteLayout::Long {
            subject: "who".into(),
            score: "vote".into(),
            session: Some("day".into()),
        });
        let mut text = String::from("clip,source,who,day,vote\n");
        let votes = [
            ("c1", "a", "1", "4"),
            ("c1", "a", "2", "5"),
            ("c1", "b", "1", "3"),
            ("c1", "c", "1", "4"),
            ("c2", "a", "1", "2"),
            ("c2", "b", "2", "1"),
            ("c2", "c", "1", "2"),
            ("c2", "", "1", "2"),
            ("c3", "b", "1", "5"),
            ("c3", "c", "2", "4"),
        ];
        for (c, w, d, v) in votes {
            text.push_str(&format!("{c},src,{w},{d},{v}\n"));
        }
        let t = read_table(
            text.as_bytes(),
            Format::Csv,
            &j,
            "votes",
            SubjectiveModel::Mle,
        )
        .unwrap();
        assert_eq!(t.records.len(), 3);
        assert_eq!(t.drops.len(), 1);
        assert_eq!((t.drops[0].0, t.drops[0].1), (9, codes::VOTE_EMPTY));
        // the crate on the same votes
        let mut b = VoteTableBuilder::new(None);
        for (k, (c, w, d, v)) in votes.iter().enumerate().filter(|(_, v)| !v.1.is_empty()) {
            b.long_record(k as u64 + 2, c, w, Some(d), v);
        }
        let (m, _) = b.finish().unwrap();
        let want = recover(&m, SubjectiveModel::Mle);
        for c in &want.clips {
            let (_, r) = t.get(&c.clip).unwrap();
            assert_eq!(r.columns["mos"].as_f64(), Some(c.score));
            assert_eq!(r.columns[CI95_KEY].as_f64(), c.ci95);
        }
        let s = t.subjective.as_ref().unwrap();
        assert_eq!((s.sessions, s.model.as_str()), (2, "mle"));
        assert!(s.iterations.is_some_and(|(_, converged)| converged));
    }

    #[test]
    fn a_table_that_cannot_be_modelled_is_an_error_naming_why() {
        let text = "clip,source,ann,bob\nc1,s,3,3\nc2,s,4,4\n";
        let err = |subjects: Vec<String>| {
            let j = join(VoteLayout::Wide { subjects });
            read_table(
                text.as_bytes(),
                Format::Csv,
                &j,
                "votes",
                SubjectiveModel::Mle,
            )
            .unwrap_err()
        };
        let e = err(vec![]);
        assert!(
            e.contains("cannot be modelled") && e.contains("same score"),
            "{e}"
        );
        let e = err(vec!["ann".into(), "zed".into()]);
        assert!(e.contains("`zed` is not in the table"), "{e}");
    }
}
