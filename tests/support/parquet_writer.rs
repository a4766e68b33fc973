//! A Parquet writer for the tests' inputs (the product only reads
//! Parquet): flat tables of optional DOUBLE, FLOAT16 and UTF-8 columns.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

/// A column to write with [`write_table`].
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnData {
    /// A DOUBLE column (`None` is null).
    F64(Vec<Option<f64>>),
    /// A UTF-8 string column.
    Str(Vec<Option<String>>),
    /// A FLOAT16 column (half precision; `None` is null).
    F16(Vec<Option<f32>>),
}

/// Writes a flat parquet table of optional DOUBLE and UTF-8 columns.
pub fn write_table(path: &Path, columns: &[(String, ColumnData)]) -> Result<(), String> {
    use parquet::data_type::{
        ByteArray, ByteArrayType, DoubleType, FixedLenByteArray, FixedLenByteArrayType,
    };
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;

    let err =
        |e: parquet::errors::ParquetError| format!("{}: writing parquet: {e}", path.display());
    let fields: Vec<String> = columns
        .iter()
        .map(|(name, data)| match data {
            ColumnData::F64(_) => format!("OPTIONAL DOUBLE {name};"),
            ColumnData::Str(_) => format!("OPTIONAL BYTE_ARRAY {name} (UTF8);"),
            ColumnData::F16(_) => {
                format!("OPTIONAL FIXED_LEN_BYTE_ARRAY (2) {name} (FLOAT16);")
            }
        })
        .collect();
    let schema = Arc::new(
        parse_message_type(&format!("message rows {{ {} }}", fields.join(" "))).map_err(err)?,
    );
    let file = File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut writer =
        SerializedFileWriter::new(file, schema, Arc::new(WriterProperties::builder().build()))
            .map_err(err)?;
    let mut group = writer.next_row_group().map_err(err)?;
    for (_, data) in columns {
        let Some(mut col) = group.next_column().map_err(err)? else {
            break;
        };
        match data {
            ColumnData::F64(values) => {
                let defs: Vec<i16> = values.iter().map(|v| i16::from(v.is_some())).collect();
                let vals: Vec<f64> = values.iter().flatten().copied().collect();
                col.typed::<DoubleType>()
                    .write_batch(&vals, Some(&defs), None)
                    .map_err(err)?;
            }
            ColumnData::Str(values) => {
                let defs: Vec<i16> = values.iter().map(|v| i16::from(v.is_some())).collect();
                let vals: Vec<ByteArray> = values
                    .iter()
                    .flatten()
                    .map(|s| ByteArray::from(s.as_str()))
                    .collect();
                col.typed::<ByteArrayType>()
                    .write_batch(&vals, Some(&defs), None)
                    .map_err(err)?;
            }
            ColumnData::F16(values) => {
                let defs: Vec<i16> = values.iter().map(|v| i16::from(v.is_some())).collect();
                let vals: Vec<FixedLenByteArray> = values
                    .iter()
                    .flatten()
                    .map(|v| {
                        FixedLenByteArray::from(half::f16::from_f32(*v).to_le_bytes().to_vec())
                    })
                    .collect();
                col.typed::<FixedLenByteArrayType>()
                    .write_batch(&vals, Some(&defs), None)
                    .map_err(err)?;
            }
        }
        col.close().map_err(err)?;
    }
    group.close().map_err(err)?;
    writer.close().map_err(err)?;
    Ok(())
}
