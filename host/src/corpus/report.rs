//! What an ingestion reports: per input, per reason and per column.

use std::collections::BTreeMap;

use moshead_protocol::Descriptor;
use serde::{Deserialize, Serialize};

/// How many rows had one feature column filled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnFill {
    /// The feature column.
    pub column: String,
    /// Rows whose value was filled with 0.0.
    pub filled: u64,
}

/// Drops of one reason.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct DropSummary {
    /// How many rows.
    pub count: u64,
    /// The first few, as `file:line: message`.
    pub examples: Vec<String>,
}

/// What one input contributed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct InputReport {
    /// The slot.
    pub slot: String,
    /// The path (or demo name).
    pub path: String,
    /// sha256 of the bytes read, hex.
    pub sha256: String,
    /// Bytes read.
    pub bytes: u64,
    /// Lines (or parquet rows) read.
    pub lines: u64,
    /// Rows projected.
    pub rows: u64,
    /// Drops by reason.
    pub drops: BTreeMap<String, u64>,
    /// The compression the file was read through (`gzip`, `zstd`), if any;
    /// `bytes` and `sha256` are the file's own (compressed) bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<String>,
}

impl InputReport {
    /// The report of an input not read yet: slot and path, nothing counted.
    pub fn new(slot: &str, path: &str) -> Self {
        InputReport {
            slot: slot.to_owned(),
            path: path.to_owned(),
            sha256: String::new(),
            bytes: 0,
            lines: 0,
            rows: 0,
            drops: BTreeMap::new(),
            compression: None,
        }
    }
}

/// Range and fill count of one feature column.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ColumnReport {
    /// The column.
    pub name: String,
    /// Minimum over rows.
    pub min: Option<f64>,
    /// Maximum over rows.
    pub max: Option<f64>,
    /// Mean over rows.
    pub mean: Option<f64>,
    /// Rows in which the value was filled.
    pub filled: u64,
}

/// Everything a trainer should see before it trusts the data.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct IngestReport {
    /// The adapter.
    pub adapter: String,
    /// The schema.
    pub schema: String,
    /// Per input.
    pub inputs: Vec<InputReport>,
    /// Context documents `(slot, path, sha256)`.
    pub context: Vec<(String, String, String)>,
    /// Rows projected in total.
    pub rows: u64,
    /// Rows per split (`train`, `val`, `test`, `none`).
    pub splits: BTreeMap<String, u64>,
    /// Content groups per split.
    pub groups_per_split: BTreeMap<String, u64>,
    /// Distinct content groups.
    pub groups: u64,
    /// Smallest, median and largest group size.
    pub group_sizes: Option<[u64; 3]>,
    /// Where splits came from: `explicit`, `policy`, `none`.
    pub split_origins: BTreeMap<String, u64>,
    /// Drops by reason, with examples.
    pub drops: BTreeMap<String, DropSummary>,
    /// Synthetic rows among the projected rows.
    pub synthetic_rows: u64,
    /// Corpus tags of the rows dropped as `foreign-corpus`, with counts (to
    /// say which slot or adapter would accept them).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub foreign_tags: BTreeMap<String, u64>,
    /// Per feature column.
    pub columns: Vec<ColumnReport>,
    /// Notes (defaults not found, unrelated files).
    pub notes: Vec<String>,
    /// Per labels table of raw votes: the subjective model's account
    /// (votes per clip, subjects, rejections, CI95 widths).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subjective: Vec<super::labels::SubjectiveReport>,
}

impl IngestReport {
    /// Total dropped rows.
    pub fn dropped(&self) -> u64 {
        self.drops.values().map(|d| d.count).sum()
    }

    /// Per feature column, in feature order, the rows whose value was filled.
    pub fn fills(&self) -> Vec<ColumnFill> {
        self.columns
            .iter()
            .map(|c| ColumnFill {
                column: c.name.clone(),
                filled: c.filled,
            })
            .collect()
    }

    /// The MOS scale of each row slot read (the slot's own, else the
    /// adapter's), by slot.
    pub fn mos_scales(&self, d: &Descriptor) -> BTreeMap<String, moshead_protocol::MosScale> {
        self.inputs
            .iter()
            .filter_map(|i| {
                d.slot(&i.slot)
                    .map(|s| (i.slot.clone(), s.scale(d).clone()))
            })
            .collect()
    }
}
