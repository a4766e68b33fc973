//! The table a labels file becomes ([`Table`]: its records by key, its
//! drops) and the rules every reader of one shares: a record's key, the
//! join's renames, the first record of a key kept. The labels reader
//! ([`super::labels`]) and the vote reader ([`super::votes`]) both build
//! tables with them.

use std::collections::HashMap;

use moshead_protocol::LabelsJoin;
use serde_json::{Map, Value};

/// Drop reasons of labels tables and of the join.
pub mod codes {
    /// A labels record has no value in any key column.
    pub const LABEL_KEY_MISSING: &str = "label-key-missing";
    /// A labels record repeats the key of an earlier one (the first is kept).
    pub const LABEL_DUPLICATE: &str = "label-duplicate";
    /// A CSV record that cannot be read (ragged, bad quoting, bad UTF-8).
    pub const MALFORMED_CSV: &str = "malformed-csv";
    /// A JSONL labels line that is not a JSON object.
    pub const MALFORMED_JSON: &str = "malformed-json";
    /// A labels record that no log joined.
    pub const LOG_MISSING: &str = "log-missing";
    /// A log whose file stem is no key of the labels table.
    pub const LABEL_MISSING: &str = "label-missing";
    /// A file in a libvmaf-log slot that is not a libvmaf JSON log.
    pub const NOT_LIBVMAF_LOG: &str = "not-libvmaf-log";
    /// A vote that is not a finite number.
    pub const VOTE_NOT_A_NUMBER: &str = "vote-not-a-number";
    /// A vote outside the declared scale.
    pub const VOTE_OUTSIDE_SCALE: &str = "vote-outside-scale";
    /// A long vote record without a score or a subject.
    pub const VOTE_EMPTY: &str = "vote-empty";
    /// A second vote of a subject on a clip in one session (the first is kept).
    pub const VOTE_DUPLICATE: &str = "vote-duplicate";
    /// The vote of a subject who gave a single vote (no bias or
    /// inconsistency can be estimated).
    pub const VOTE_SUBJECT_ONE_VOTE: &str = "vote-subject-one-vote";
    /// A clip left with no vote (none given, all dropped, or every voter
    /// rejected by BT.500 screening).
    pub const VOTE_CLIP_NO_VOTES: &str = "vote-clip-no-votes";

    /// The code of a vote drop reason.
    pub fn of_vote(reason: moshead_subjective::DropReason) -> &'static str {
        use moshead_subjective::DropReason as R;
        match reason {
            R::NotANumber => VOTE_NOT_A_NUMBER,
            R::OutsideScale => VOTE_OUTSIDE_SCALE,
            R::EmptyScore => VOTE_EMPTY,
            R::Duplicate => VOTE_DUPLICATE,
            R::SubjectOneVote => VOTE_SUBJECT_ONE_VOTE,
            R::ClipNoVotes => VOTE_CLIP_NO_VOTES,
        }
    }
}

/// One readable record.
#[derive(Debug, Clone)]
pub struct Record {
    /// 1-based line (CSV: the record's first line; the header is line 1).
    pub line: u64,
    /// The join key.
    pub key: String,
    /// The renamed columns.
    pub columns: Map<String, Value>,
}

/// A labels table read into memory (one record per clip: small).
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// Readable records with a fresh key, in file order.
    pub records: Vec<Record>,
    /// Record index by key.
    pub index: HashMap<String, usize>,
    /// Records or lines that were dropped while reading: `(line, code, message)`.
    pub drops: Vec<(u64, &'static str, String)>,
    /// Records read (kept or dropped).
    pub read: u64,
    /// For a table of raw votes: what the subjective model recovered.
    pub subjective: Option<SubjectiveReport>,
}

/// The subjective side of a table of raw votes, as `moshead corpus` and the
/// manifest report it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SubjectiveReport {
    /// The labels slot.
    pub slot: String,
    /// The model (`mean`, `bt500`, `mle`).
    pub model: String,
    /// Votes read, and kept.
    pub votes_read: u64,
    /// Votes kept in the model.
    pub votes_kept: u64,
    /// Clips scored.
    pub clips: u64,
    /// Subjects kept in the matrix.
    pub subjects: u64,
    /// Sessions (repetitions).
    pub sessions: u64,
    /// Votes per clip: smallest, median, largest.
    pub votes_per_clip: [u64; 3],
    /// Width of the per-clip CI95 (twice its half-width): smallest, median,
    /// 90th percentile, largest; `None` when no clip has one.
    pub ci95_width: Option<[f64; 4]>,
    /// Subjects dropped whole, with why (a single vote, or none).
    pub dropped_subjects: Vec<String>,
    /// Subjects rejected by BT.500 screening, with why.
    pub rejected: Vec<(String, String)>,
    /// `mle`: the iterations run and whether it converged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iterations: Option<(u64, bool)>,
    /// Differential scores (DMOS): the reference score the votes were
    /// shifted to (SUREAL's `dscore_mode`); absent for absolute scores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub differential: Option<f64>,
}

/// How the card and `moshead corpus` state differential scores.
pub fn dmos_sentence(ref_score: f64) -> String {
    format!(
        "Differential scores (DMOS, as SUREAL's): every vote + {ref_score} - the MOS of its \
         content's reference clip, before the subjective model"
    )
}

impl Table {
    /// The record whose key is `key`.
    pub fn get(&self, key: &str) -> Option<(usize, &Record)> {
        self.index.get(key).map(|&i| (i, &self.records[i]))
    }
}

/// The key of a record: the first key column with a string or integer value.
pub(super) fn key_of(obj: &Map<String, Value>, join: &LabelsJoin) -> Option<String> {
    join.key.iter().find_map(|k| match obj.get(k) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    })
}

/// Applies the renames (first present alias wins; the others are removed).
pub fn rename(mut obj: Map<String, Value>, join: &LabelsJoin) -> Map<String, Value> {
    let mut renamed: Vec<(&str, Value)> = Vec::new();
    for (from, to) in &join.rename {
        if let Some(v) = obj.remove(from) {
            if !renamed.iter().any(|(k, _)| k == to) {
                renamed.push((to, v));
            }
        }
    }
    for (k, v) in renamed {
        obj.insert(k.to_owned(), v);
    }
    obj
}

pub(super) fn add(t: &mut Table, line: u64, obj: Map<String, Value>, join: &LabelsJoin) {
    let Some(key) = key_of(&obj, join) else {
        t.drops.push((
            line,
            codes::LABEL_KEY_MISSING,
            format!("no value in the key column ({})", join.key.join(" or ")),
        ));
        return;
    };
    if let Some(&first) = t.index.get(&key) {
        t.drops.push((
            line,
            codes::LABEL_DUPLICATE,
            format!(
                "key `{key}` repeats line {} (the first is kept)",
                t.records[first].line
            ),
        ));
        return;
    }
    t.index.insert(key.clone(), t.records.len());
    t.records.push(Record {
        line,
        key,
        columns: rename(obj, join),
    });
}
