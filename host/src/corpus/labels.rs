//! Labels tables: the clip key -> MOS, content, split and other columns that
//! a slot of libvmaf logs is joined with.
//!
//! A table is CSV (a header row, standard quoting, an empty field is a
//! missing value) or JSONL (one object per line). Every record becomes a
//! JSON object the way a JSONL row would look: a CSV field that reads as an
//! integer or a finite number becomes a number, any other field a string.
//! The slot's [`LabelsJoin`] renames the dataset's columns onto the keys the
//! adapter reads and names the key column. A record without a key, with a
//! key seen before, or that cannot be read is a counted drop at its line.

use std::collections::HashMap;
use std::io::Read;

use moshead_protocol::{Format, LabelsJoin};
use moshead_subjective::SubjectiveModel;
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

/// The bound on a labels table's file (compressed or not): a table holds
/// one record per clip, so 256 MiB is ample for any corpus. Records obey
/// the line bound of row files ([`super::lines::MAX_LINE`]).
pub const MAX_BYTES: u64 = 256 << 20;

/// Reads a labels table in `format` from `reader`; a table the join
/// declares as raw votes becomes one record per clip, its score recovered by
/// `model` under the declared key.
pub fn read(
    reader: impl Read,
    format: Format,
    join: &LabelsJoin,
    slot: &str,
    model: SubjectiveModel,
) -> Result<Table, String> {
    let mut t = Table::default();
    let mut raw: Vec<(u64, Map<String, Value>)> = Vec::new();
    let columns = {
        let mut sink = |t: &mut Table, line: u64, obj: Map<String, Value>| match join.votes {
            None => add(t, line, obj, join),
            Some(_) => raw.push((line, obj)),
        };
        match format {
            Format::Csv => read_csv(reader, join, &mut t, &mut sink)?,
            Format::Jsonl => read_jsonl(reader, &mut t, &mut sink)?,
            other => {
                return Err(format!(
                    "a labels table is CSV or JSONL, not {}",
                    other.as_str()
                ))
            }
        }
    };
    if let Some(decl) = &join.votes {
        super::votes::read(&mut t, raw, &columns, join, decl, slot, model)?;
    }
    Ok(t)
}

/// Where a parsed record goes: the table, or the vote reader.
type Sink<'a> = dyn FnMut(&mut Table, u64, Map<String, Value>) + 'a;

fn read_csv(
    reader: impl Read,
    join: &LabelsJoin,
    t: &mut Table,
    sink: &mut Sink<'_>,
) -> Result<Vec<String>, String> {
    use super::records::{Item, RecordReader};
    let mut r = RecordReader::new(std::io::BufReader::new(reader), b',');
    let mut rec = csv::ByteRecord::new();
    let header_line = loop {
        match r.next(&mut rec, None).map_err(|e| e.to_string())? {
            None => return Err("no header row".into()),
            Some((_, Item::Blank)) => continue,
            Some((line, Item::Record)) => break line,
            Some((line, Item::Oversized(len, _))) => {
                return Err(format!(
                    "line {line}: the header row of {len} bytes exceeds the {} MiB bound",
                    super::lines::MAX_LINE >> 20
                ))
            }
            Some((line, Item::Unterminated(why))) => {
                return Err(format!("line {line}: the header row: {why}"))
            }
        }
    };
    let mut headers: Vec<String> = Vec::with_capacity(rec.len());
    for (i, raw) in rec.iter().enumerate() {
        let h = std::str::from_utf8(raw)
            .map_err(|_| format!("line {header_line}: header column {} is not UTF-8", i + 1))?
            .trim()
            .trim_start_matches('\u{feff}')
            .to_owned();
        if let Some(j) = headers.iter().position(|k| *k == h) {
            return Err(format!(
                "line {header_line}: header columns {} and {} are both named `{h}` (which one holds the values is ambiguous)",
                j + 1,
                i + 1
            ));
        }
        headers.push(h);
    }
    if !join.key.iter().any(|k| headers.contains(k)) {
        return Err(format!(
            "the header has no key column ({}); it has {}",
            join.key.join(" or "),
            headers.join(", ")
        ));
    }
    while let Some((line, item)) = r
        .next(&mut rec, Some(headers.len()))
        .map_err(|e| e.to_string())?
    {
        let drop = |code: &'static str, why: String| (line, code, why);
        match item {
            Item::Blank => continue,
            Item::Oversized(len, _) => {
                t.read += 1;
                t.drops.push(drop(
                    super::codes::LINE_TOO_LONG,
                    format!(
                        "record of {len} bytes exceeds the {} MiB bound",
                        super::lines::MAX_LINE >> 20
                    ),
                ));
            }
            Item::Unterminated(why) => {
                t.read += 1;
                t.drops.push(drop(super::codes::UNTERMINATED_QUOTE, why));
            }
            Item::Record => {
                t.read += 1;
                if rec.len() != headers.len() {
                    t.drops.push(drop(
                        codes::MALFORMED_CSV,
                        format!(
                            "{} fields where the header has {}",
                            rec.len(),
                            headers.len()
                        ),
                    ));
                    continue;
                }
                let Ok(fields) = rec
                    .iter()
                    .map(std::str::from_utf8)
                    .collect::<Result<Vec<&str>, _>>()
                else {
                    t.drops
                        .push(drop(codes::MALFORMED_CSV, "invalid UTF-8".to_owned()));
                    continue;
                };
                let mut obj = Map::new();
                for (h, field) in headers.iter().zip(fields) {
                    // Key columns stay text: `08` must join a log `08.json`.
                    let v = if join.key.contains(h) {
                        Some(field.trim())
                            .filter(|f| !f.is_empty())
                            .map(|f| Value::String(f.to_owned()))
                    } else {
                        csv_value(field)
                    };
                    if let Some(v) = v {
                        obj.insert(h.clone(), v);
                    }
                }
                sink(t, line, obj);
            }
        }
    }
    Ok(headers)
}

/// A CSV field as a JSON value: absent when empty, a number when it reads
/// as one (integers stay integers), a string otherwise.
fn csv_value(field: &str) -> Option<Value> {
    let f = field.trim();
    if f.is_empty() {
        return None;
    }
    if let Ok(i) = f.parse::<i64>() {
        return Some(Value::from(i));
    }
    match f.parse::<f64>() {
        Ok(v) if v.is_finite() => serde_json::Number::from_f64(v).map(Value::Number),
        _ => Some(Value::String(field.to_owned())),
    }
}

/// Reads JSONL records; returns their keys in first-seen order.
fn read_jsonl(
    reader: impl Read,
    t: &mut Table,
    sink: &mut Sink<'_>,
) -> Result<Vec<String>, String> {
    let mut seen: Vec<String> = Vec::new();
    use super::lines::{Chunk, Line, LineReader};
    let mut lines = LineReader::without_hash(reader);
    let mut chunk = Chunk::default();
    while lines
        .next_chunk(&mut chunk)
        .map_err(|e| format!("cannot read: {e}"))?
    {
        for (line, l) in &chunk.lines {
            let line = *line;
            let raw = match l {
                Line::Oversized(len) => {
                    t.read += 1;
                    t.drops.push((
                        line,
                        super::codes::LINE_TOO_LONG,
                        format!(
                            "line of {len} bytes exceeds the {} MiB bound",
                            super::lines::MAX_LINE >> 20
                        ),
                    ));
                    continue;
                }
                Line::Text(range) => &chunk.buf[range.clone()],
            };
            if raw.trim_ascii().is_empty() {
                continue;
            }
            t.read += 1;
            match serde_json::from_slice::<Value>(raw) {
                Ok(Value::Object(obj)) => {
                    for k in obj.keys() {
                        if !seen.contains(k) {
                            seen.push(k.clone());
                        }
                    }
                    sink(t, line, obj)
                }
                Ok(_) => t
                    .drops
                    .push((line, codes::MALFORMED_JSON, "not a JSON object".into())),
                Err(e) => t.drops.push((line, codes::MALFORMED_JSON, e.to_string())),
            }
        }
    }
    Ok(seen)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn join() -> LabelsJoin {
        LabelsJoin {
            slot: "labels".into(),
            key: vec!["flickr_id".into(), "video_id".into()],
            rename: vec![
                ("MOS".into(), "mos".into()),
                ("mos".into(), "mos".into()),
                ("SD".into(), "mos_std_dev".into()),
            ],
            votes: None,
        }
    }

    #[test]
    fn csv_records_become_typed_renamed_objects() {
        let text = "flickr_id,MOS,SD,note\n\
                    3337642103,3.42,0.8,\"a, quoted\"\n\
                    42,,0.5,plain\n\
                    ,3.0,0.1,no key\n\
                    42,4.0,0.2,again\n\
                    7,1.5\n\
                    08,NaN,0.3,x\n";
        let t = read(
            text.as_bytes(),
            Format::Csv,
            &join(),
            "labels",
            SubjectiveModel::Mle,
        )
        .unwrap();
        assert_eq!(t.read, 6);
        assert_eq!(t.records.len(), 3);
        let (_, r) = t.get("3337642103").unwrap();
        assert_eq!(r.line, 2);
        assert_eq!(r.columns["mos"], 3.42);
        assert_eq!(r.columns["mos_std_dev"], 0.8);
        assert_eq!(r.columns["note"], "a, quoted");
        assert!(!r.columns.contains_key("MOS"));
        let (_, r) = t.get("42").unwrap();
        assert!(!r.columns.contains_key("mos"), "an empty field is missing");
        let (_, r) = t.get("08").unwrap();
        assert_eq!(r.columns["mos"], "NaN", "a non-finite token stays visible");
        let codes: Vec<(u64, &str)> = t.drops.iter().map(|(l, c, _)| (*l, *c)).collect();
        assert_eq!(
            codes,
            [
                (4, codes::LABEL_KEY_MISSING),
                (5, codes::LABEL_DUPLICATE),
                (6, codes::MALFORMED_CSV)
            ]
        );
        assert!(t.drops[1].2.contains("line 3"), "{:?}", t.drops[1]);
        assert!(t.drops[2].2.contains("2 fields"), "{:?}", t.drops[2]);
    }

    #[test]
    fn a_header_without_the_key_is_refused() {
        let e = read(
            "id,MOS\n1,3\n".as_bytes(),
            Format::Csv,
            &join(),
            "labels",
            SubjectiveModel::Mle,
        )
        .unwrap_err();
        assert!(
            e.contains("flickr_id or video_id") && e.contains("id, MOS"),
            "{e}"
        );
    }

    #[test]
    fn a_repeated_header_is_refused() {
        let e = read(
            "flickr_id,MOS,SD,n,MOS\n1,3,0.5,20,4\n".as_bytes(),
            Format::Csv,
            &join(),
            "labels",
            SubjectiveModel::Mle,
        )
        .unwrap_err();
        assert_eq!(
            e,
            "line 1: header columns 2 and 5 are both named `MOS` (which one holds the values is ambiguous)"
        );
    }

    #[test]
    fn jsonl_records_and_aliases() {
        let text = "{\"video_id\":\"a\",\"mos\":2.0,\"MOS\":3.0}\n\n[1]\n{\"video_id\":5}\n";
        let t = read(
            text.as_bytes(),
            Format::Jsonl,
            &join(),
            "labels",
            SubjectiveModel::Mle,
        )
        .unwrap();
        assert_eq!(t.read, 3);
        assert_eq!(
            t.get("a").unwrap().1.columns["mos"],
            3.0,
            "MOS is listed first"
        );
        assert!(t.get("5").is_some());
        assert_eq!(t.drops[0].0, 3);
    }
}
