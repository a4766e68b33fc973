//! Study files: a corpus adapter that is data, not code.
//!
//! A study file is TOML describing one subjective study (name, version,
//! model id, card text and licence, the native MOS scale, which columns
//! hold the clip id, content, MOS, its SD and vote count or CI95 and an
//! explicit split, the held-out test contents or a content-hash split, the
//! input slots, the feature schema and the gate). [`Study::parse`] reads and
//! checks it, every error naming the file, line and key; [`Study::descriptor`]
//! derives the adapter's [`Descriptor`] with the [`DescriptorBuilder`], and
//! [`StudyAdapter`] projects rows under it. The built-in `study` plugin is
//! [`StudyAdapter`] exported as a dynamic library: the host hands it the
//! study's text in [`crate::ProjectorConfig::study`].
//!
//! Compatibility rule: a key this build does not know is an error (a
//! misspelt key would otherwise change the model silently); a study file
//! written for a later study format says so with `format = N`, and is
//! refused with the format this build reads. The `[votes]` table declares
//! raw opinion scores (wide or long) in the labels table joined with the logs.
//! The long form is `docs/study-file.md`.

mod adapter;
mod parse;

pub use adapter::StudyAdapter;

use crate::builder::{DescriptorBuilder, SYNTHETIC_GATE};
use crate::descriptor::{Descriptor, Format, Thresholds};
use crate::schemas;

/// The study-file format this build reads.
pub const FORMAT: i64 = 1;

/// The built-in example study: the study plugin's own descriptor.
pub const EXAMPLE: &str = include_str!("example.toml");

/// The largest study file read (a study file is a page of TOML).
pub const MAX_STUDY_BYTES: u64 = 1 << 20;

/// Why a study file was refused: the file, the line and the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {}{reason}", key.as_ref().map(|k| format!("key `{k}`: ")).unwrap_or_default())]
pub struct StudyError {
    /// The study file, as the caller named it.
    pub file: String,
    /// The 1-based line of the offending key or value.
    pub line: usize,
    /// The dotted key (`columns.mos`), when one is at fault.
    pub key: Option<String>,
    /// What is wrong.
    pub reason: String,
}

/// How rows are grouped into contents (sources).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentRule {
    /// The value of this column.
    Column(String),
    /// The part of the clip id before the last occurrence of the separator
    /// (`src01_crf28` -> `src01` with `_`); the whole id without it.
    IdBeforeLast(String),
    /// Every row is its own content: encodes of one source can fall on both
    /// sides of a fold.
    EachRow,
}

/// The columns that play a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns {
    /// The clip id (and the key a libvmaf log's file stem joins).
    pub id: String,
    /// The MOS, on the study's native scale.
    pub mos: String,
    /// The per-vote standard deviation of the MOS (native scale).
    pub sd: Option<String>,
    /// The number of votes.
    pub votes: Option<String>,
    /// The half-width of the MOS's 95% confidence interval (native scale).
    pub ci95: Option<String>,
    /// An explicit `train` / `val` / `test` label.
    pub split: Option<String>,
    /// A flag marking reference (undistorted) rows.
    pub reference: Option<String>,
}

/// A declared input slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotDecl {
    /// The default path, as written (relative to the study file's directory).
    pub path: Option<String>,
    /// The formats the slot reads.
    pub formats: Vec<Format>,
}

/// The content-hash split of rows without an explicit split.
#[derive(Debug, Clone, PartialEq)]
pub struct HashSplit {
    /// The hash seed.
    pub seed: String,
    /// Fraction of contents in train.
    pub train: f64,
    /// Fraction of contents in val.
    pub val: f64,
}

/// A parsed, checked study file.
#[derive(Debug, Clone, PartialEq)]
pub struct Study {
    /// The adapter name.
    pub name: String,
    /// The study's version (semver).
    pub version: String,
    /// The model id a training run writes.
    pub model_id: String,
    /// One line saying what the study is.
    pub description: String,
    /// The licence text the card carries.
    pub licence: String,
    /// The card's intended use, if the study states one.
    pub intended_use: Option<String>,
    /// The card's limits.
    pub limits: Vec<String>,
    /// The native MOS scale `(min, max)`.
    pub scale: (f64, f64),
    /// The role columns.
    pub columns: Columns,
    /// How rows are grouped into contents.
    pub contents: ContentRule,
    /// Contents held out as the test split.
    pub test_contents: Vec<String>,
    /// The content-hash split, if declared.
    pub hash_split: Option<HashSplit>,
    /// The labels table.
    pub labels: Option<SlotDecl>,
    /// A directory of libvmaf JSON logs joined with the labels by file stem.
    pub logs: Option<SlotDecl>,
    /// A feature table (features and labels in one table).
    pub features: Option<SlotDecl>,
    /// The feature columns (`None`: libvmaf's `vmaf-canonical-v1`).
    pub schema_columns: Option<Vec<String>>,
    /// The gate, on the head's 1-5 scale (RMSE converted from native);
    /// `None` when the study declares no gate (no `[gate]` table).
    pub gate: Option<Thresholds>,
    /// Raw votes in the labels table, when the study has them instead of a
    /// MOS column: the recovered score is written under `columns.mos`.
    pub votes: Option<crate::labels::VotesDecl>,
}

/// The statement the card and summary carry when every row is its own content.
pub const EACH_ROW_NOTE: &str =
    "Every row is its own content: the study names no content column or \
     id pattern, so encodes of one source can fall on both sides of a fold and the validation \
     figures can be optimistic.";

impl Study {
    /// Parses and checks a study file's text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Study, StudyError> {
        parse::parse(text, file)
    }

    /// The factor from the native scale to the head's 1-5 scale.
    pub fn to_head_scale(&self) -> f64 {
        4.0 / (self.scale.1 - self.scale.0)
    }

    /// The slot rows are read through first (`logs`, else `labels`, else
    /// `features`).
    pub fn first_row_slot(&self) -> &'static str {
        if self.logs.is_some() {
            "logs"
        } else if self.labels.is_some() {
            "labels"
        } else {
            "features"
        }
    }

    /// The adapter's descriptor. Default paths are joined to `base` (the
    /// study file's directory) when given.
    pub fn descriptor(&self, base: Option<&std::path::Path>) -> Descriptor {
        let tag = [self.name.as_str()];
        let path = |s: &SlotDecl| -> String {
            match (&s.path, base) {
                (Some(p), Some(b)) => b.join(p).to_string_lossy().into_owned(),
                (Some(p), None) => p.clone(),
                (None, _) => String::new(),
            }
        };
        let mut b = DescriptorBuilder::new(&self.name, &self.version, &self.model_id)
            .description(&self.description);
        if let Some(logs) = &self.logs {
            b = b.libvmaf_logs(
                "logs",
                &path(logs),
                &tag,
                "labels",
                &[&self.columns.id],
                &[],
            );
            if let Some(v) = &self.votes {
                b = b.labels_votes(v.clone());
            }
            b = b.about("libvmaf JSON logs (`vmaf --json`), one per clip named <clip id>.json, pooled and joined with `labels` by file stem; without `labels`, for prediction only");
            let labels = self.labels.clone().unwrap_or(SlotDecl {
                path: None,
                formats: vec![Format::Csv, Format::Jsonl],
            });
            b = b
                .labels_file("labels", &path(&labels))
                .formats(&labels.formats)
                .about(if self.votes.is_some() {
                    "the study's vote table: clip id, the role columns and raw votes"
                } else {
                    "the study's labels table: clip id, MOS and the other role columns"
                });
        } else if let Some(labels) = &self.labels {
            b = b
                .jsonl_file("labels", &path(labels), &tag)
                .assume_corpus(&self.name)
                .formats(&labels.formats)
                .about("the study's table: clip id, MOS, role columns and feature columns");
        }
        if let Some(f) = &self.features {
            b = b
                .jsonl_file("features", &path(f), &tag)
                .assume_corpus(&self.name)
                .formats(&f.formats)
                .about("a feature table: clip id, feature columns and the role columns");
        }
        b = match &self.schema_columns {
            None => b.schema_cols(
                "vmaf-canonical-v1",
                schemas::CANONICAL.iter().map(|s| s.to_string()).collect(),
                None,
                "the six features of libvmaf's own models, for a head libvmaf can load",
            ),
            Some(cols) => b.schema_cols(
                &format!("{}-v1", self.name),
                cols.clone(),
                None,
                "the study's own feature columns",
            ),
        }
        .libvmaf_names(&schemas::LIBVMAF_NAMES)
        .mos_range(&self.columns.mos, self.scale.0, self.scale.1)
        .content_key(match &self.contents {
            ContentRule::Column(c) => c,
            _ => &self.columns.id,
        })
        .id_keys(&[&self.columns.id]);
        if let Some(h) = &self.hash_split {
            b = b.content_hash_split(&h.seed, h.train, h.val);
        }
        if let Some(r) = &self.columns.reference {
            b = b.reference_flag(r);
        }
        let (lo, hi) = self.scale;
        let intended = self.intended_use.clone().unwrap_or_else(|| {
            format!(
                "Predicts the MOS ({lo}-{hi}) of the {} study from the objective features of the `{{schema}}` schema.",
                self.name
            )
        });
        let mut limits: Vec<String> = self.limits.clone();
        if self.contents == ContentRule::EachRow {
            limits.push(EACH_ROW_NOTE.to_owned());
        }
        let limits: Vec<&str> = limits.iter().map(String::as_str).collect();
        let b = match self.gate {
            Some(real) => b.gate(real, SYNTHETIC_GATE),
            None => b.no_gate(SYNTHETIC_GATE),
        };
        b.output_dir(&format!(".workingdir2/{}/", self.name), None)
            .licence(&self.licence)
            .card(&intended, &limits)
            .sample(self.first_row_slot(), &self.sample_row(), None)
            .build()
    }

    /// A well-formed raw row of the study (the descriptor's sample).
    fn sample_row(&self) -> String {
        let mut row = serde_json::Map::new();
        row.insert("corpus".into(), self.name.clone().into());
        row.insert(self.columns.id.clone(), "sample_1".into());
        if let ContentRule::Column(c) = &self.contents {
            row.insert(c.clone(), "sample".into());
        }
        row.insert(
            self.columns.mos.clone(),
            serde_json::json!((self.scale.0 + self.scale.1) / 2.0),
        );
        let cols: Vec<String> = match &self.schema_columns {
            Some(c) => c.clone(),
            None => schemas::CANONICAL.iter().map(|s| s.to_string()).collect(),
        };
        for c in cols {
            row.insert(c, serde_json::json!(0.5));
        }
        serde_json::Value::Object(row).to_string()
    }
}

#[cfg(test)]
mod tests;
