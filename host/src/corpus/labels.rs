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

use std::io::Read;

use moshead_protocol::{Format, LabelsJoin};
use moshead_subjective::SubjectiveModel;
use serde_json::{Map, Value};

use super::label_table::add;
pub use super::label_table::{codes, dmos_sentence, rename, Record, SubjectiveReport, Table};

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
