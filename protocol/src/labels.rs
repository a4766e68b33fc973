//! How a slot of libvmaf logs is joined with a labels table.
//!
//! A libvmaf log (the `vmaf` tool's `--json` output, or ffmpeg's
//! `libvmaf=log_fmt=json`) carries per-frame features and nothing about the
//! clip's subjective score. The host pools each log into one raw row and
//! joins it with one record of a labels table (CSV or JSONL: clip key ->
//! MOS, content, split, other columns) declared here; the joined row is
//! projected by the plugin like any JSONL row.

use serde::{Deserialize, Serialize};

/// The join of a libvmaf-log slot with its labels table.
/// Unknown keys (a newer minor's) are ignored, like every descriptor type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelsJoin {
    /// The labels slot (role [`crate::SlotRole::Labels`]) whose table is joined.
    pub slot: String,
    /// Labels-table columns tried in order for the clip key (header aliases:
    /// `flickr_id`, `video_id`). A log joins the record whose key equals the
    /// log's file stem (the file name without `.json`).
    pub key: Vec<String>,
    /// Renames applied to every labels record, `(column, raw key)`: the
    /// dataset's headers become the keys the plugin reads (`mos_j` ->
    /// `mos_raw_0_100`). Several columns may rename to one key (aliases such
    /// as `MOS` and `mos`): the first one present wins. Other columns keep
    /// their names.
    #[serde(default)]
    pub rename: Vec<(String, String)>,
}

impl LabelsJoin {
    /// Problems with the join itself (the slot it names is checked by
    /// [`crate::Descriptor::problems`]).
    pub fn problems(&self, slot: &str) -> Vec<String> {
        let mut out = Vec::new();
        if self.key.is_empty() || self.key.iter().any(|k| k.trim().is_empty()) {
            out.push(format!(
                "slot `{slot}` joins its labels on no (or an empty) key column"
            ));
        }
        for (from, to) in &self.rename {
            if from.trim().is_empty() || to.trim().is_empty() {
                out.push(format!(
                    "slot `{slot}` renames `{from}` to `{to}`: both must be non-empty"
                ));
            }
        }
        out
    }
}
