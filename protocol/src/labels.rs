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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// The labels table holds raw votes, not a MOS: how to read them. The
    /// host recovers one score per clip with the run's subjective model and
    /// joins that (API 1.x minor addition: absent for older plugins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub votes: Option<VotesDecl>,
}

/// How a labels table carries raw votes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VotesDecl {
    /// Wide (one column per subject) or long (one record per vote).
    pub layout: VoteLayout,
    /// The raw key the recovered per-clip score is written to (the key the
    /// adapter reads its MOS from, e.g. `mos`).
    pub score_key: String,
    /// The lowest and highest valid vote; a vote outside is a counted drop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<(f64, f64)>,
    /// Columns that are neither key nor vote (content, split, ...): carried
    /// into the clip's record from its first line.
    #[serde(default)]
    pub keep: Vec<String>,
    /// Differential scores (DMOS) against each content's reference clip,
    /// when the study declares them: absent, the votes are modelled as
    /// given. An optional key: a host that does not know it models the
    /// votes as absolute scores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub differential: Option<Differential>,
}

/// Differential scores (DMOS) as SUREAL's `dscore_mode`: every vote on a
/// clip plus `ref_score` minus the plain MOS of the reference clip of the
/// clip's content, before the subjective model runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Differential {
    /// The column holding a clip's content (source); one of `keep`.
    pub content: String,
    /// The column flagging a content's reference clip (`true`, or a
    /// non-zero number); one of `keep`.
    pub reference: String,
    /// The score a reference is worth (VMAF datasets' `ref_score`), on the
    /// votes' scale.
    pub ref_score: f64,
}

/// The shape of a vote table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VoteLayout {
    /// One record per clip, one column per subject, an empty cell where the
    /// subject did not rate the clip. `subjects` lists the vote columns;
    /// empty means every column that is neither a key nor in `keep`.
    Wide {
        /// The subject columns (empty: all the others).
        #[serde(default)]
        subjects: Vec<String>,
    },
    /// One record per vote: the clip key, the subject, the score and
    /// optionally the session (repetition) it was given in.
    Long {
        /// The subject column.
        subject: String,
        /// The score column.
        score: String,
        /// The session column, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session: Option<String>,
    },
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
        if let Some(v) = &self.votes {
            let mut named = vec![("score_key", v.score_key.as_str())];
            if let VoteLayout::Long {
                subject,
                score,
                session,
            } = &v.layout
            {
                named.push(("subject", subject));
                named.push(("score", score));
                if let Some(s) = session {
                    named.push(("session", s));
                }
            }
            for (what, name) in named {
                if name.trim().is_empty() {
                    out.push(format!("slot `{slot}`: votes `{what}` is empty"));
                }
            }
            if let Some((lo, hi)) = v.scale {
                if !(lo.is_finite() && hi.is_finite() && lo < hi) {
                    out.push(format!(
                        "slot `{slot}`: vote scale {lo}..{hi} is not a range"
                    ));
                }
            }
        }
        out
    }
}
