//! Apache Parquet tables as rows: each record becomes one JSON object, so
//! plugins see the same raw rows whatever the file format.

use std::fs::File;
use std::path::Path;

use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;
use serde_json::{Number, Value};

use super::CorpusError;

fn field_to_json(f: &Field) -> Value {
    let num = |v: f64| {
        Number::from_f64(v)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    };
    match f {
        Field::Null => Value::Null,
        Field::Bool(b) => Value::Bool(*b),
        Field::Byte(v) => Value::from(*v),
        Field::Short(v) => Value::from(*v),
        Field::Int(v) => Value::from(*v),
        Field::Long(v) => Value::from(*v),
        Field::UByte(v) => Value::from(*v),
        Field::UShort(v) => Value::from(*v),
        Field::UInt(v) => Value::from(*v),
        Field::ULong(v) => Value::from(*v),
        Field::Float(v) => num(f64::from(*v)),
        Field::Float16(v) => num(f64::from(v.to_f32())),
        Field::Double(v) => num(*v),
        Field::Str(s) => Value::String(s.clone()),
        // Dates, decimals, bytes, lists and maps are not row values moshead
        // knows; they reach the plugin as their display text, which no
        // numeric rule accepts (a counted fill or drop, never a guess).
        other => Value::String(other.to_string()),
    }
}

/// The column names of a parquet file.
pub fn columns(path: &Path) -> Result<Vec<String>, CorpusError> {
    let reader = open(path)?;
    let schema = reader.metadata().file_metadata().schema_descr_ptr();
    Ok(schema.columns().iter().map(|c| c.path().string()).collect())
}

/// Opens a parquet file; a column name that appears twice is refused
/// (a row could only keep one of the values). Page checksums, where the
/// writer recorded them, are verified as pages are read (the crate's
/// `crc` feature): a mismatch is an error naming the row.
fn open(path: &Path) -> Result<SerializedFileReader<File>, CorpusError> {
    let file = crate::safe_fs::open_read(path).map_err(|e| CorpusError::Input {
        path: path.to_path_buf(),
        reason: e.reason,
    })?;
    let reader = SerializedFileReader::new(file).map_err(|e| CorpusError::Input {
        path: path.to_path_buf(),
        reason: format!("not a readable parquet file: {e}"),
    })?;
    let schema = reader.metadata().file_metadata().schema_descr_ptr();
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (i, c) in schema.columns().iter().enumerate() {
        let name = c.path().string();
        if let Some(first) = seen.insert(name.clone(), i + 1) {
            return Err(CorpusError::Input {
                path: path.to_path_buf(),
                reason: format!(
                    "column `{name}` appears twice (columns {first} and {}); a row would keep only one of its values",
                    i + 1
                ),
            });
        }
    }
    Ok(reader)
}

/// JSON text for a non-finite float: the overflow literals `1e999` and
/// `-1e999` (JSON has no NaN), which rules read as non-finite numbers
/// (`mos-non-finite`, a filled feature) rather than as absent values.
fn non_finite(f: &Field) -> Option<&'static str> {
    let v = match f {
        Field::Float(v) => f64::from(*v),
        Field::Double(v) => *v,
        Field::Float16(v) => f64::from(v.to_f32()),
        _ => return None,
    };
    match v {
        v if v.is_finite() => None,
        v if v == f64::NEG_INFINITY => Some("-1e999"),
        _ => Some("1e999"),
    }
}

/// Calls `each` with batches of `(row number, JSON text)`, in file order.
/// A non-finite float becomes an overflowing number (see `non_finite`).
pub fn for_each_batch(
    path: &Path,
    batch: usize,
    mut each: impl FnMut(Vec<(u64, String)>) -> Result<(), CorpusError>,
) -> Result<(), CorpusError> {
    let reader = open(path)?;
    let rows = reader.get_row_iter(None).map_err(|e| CorpusError::Input {
        path: path.to_path_buf(),
        reason: format!("parquet: {e}"),
    })?;
    let mut pending = Vec::with_capacity(batch);
    for (i, row) in rows.enumerate() {
        let row = row.map_err(|e| CorpusError::Input {
            path: path.to_path_buf(),
            reason: format!("row {}: {e}", i + 1),
        })?;
        let mut text = String::from("{");
        for (k, (name, field)) in row.get_column_iter().enumerate() {
            if k > 0 {
                text.push(',');
            }
            text.push_str(&Value::String(name.clone()).to_string());
            text.push(':');
            match non_finite(field) {
                Some(lit) => text.push_str(lit),
                None => text.push_str(&field_to_json(field).to_string()),
            }
        }
        text.push('}');
        pending.push((i as u64 + 1, text));
        if pending.len() == batch {
            each(std::mem::take(&mut pending))?;
        }
    }
    if !pending.is_empty() {
        each(pending)?;
    }
    Ok(())
}
