//! What a plugin declares about itself: the [`Descriptor`].
//!
//! The descriptor crosses the boundary as JSON, so adding an optional key
//! (with `#[serde(default)]`) is a minor API change. No struct here denies
//! unknown keys: a host ignores the keys a newer minor added, at every level
//! (see [`crate::version`]).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

mod problems;

pub use problems::{is_reason_code, is_relative_below};

/// Everything a corpus adapter declares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Descriptor {
    /// The adapter's name, as operators type it (`chug-hdr`).
    pub name: String,
    /// The plugin's own version (semver).
    pub version: String,
    /// One line saying what the adapter is for.
    pub description: String,
    /// The model id a training run writes by default (`chug_hdr_mos_head_v1`).
    pub model_id: String,
    /// Named input slots.
    pub inputs: Vec<InputSlot>,
    /// Feature schemas, in declaration order.
    pub schemas: Vec<Schema>,
    /// The name of the default schema.
    pub default_schema: String,
    /// The corpus's native MOS scale and its mapping to the head's 1-5 range.
    pub mos_scale: MosScale,
    /// How rows get their split.
    pub split_policy: SplitPolicy,
    /// The row key whose value is the content group.
    pub content_group_key: String,
    /// Row keys tried in order for the row identifier.
    pub id_keys: Vec<String>,
    /// A per-key mean baseline reported beside the head, if any.
    #[serde(default)]
    pub group_baseline: Option<GroupBaseline>,
    /// Gate thresholds for real and for synthetic corpora.
    pub gate: GateSpec,
    /// Default output directory (relative paths resolve against the working directory).
    pub output_dir: String,
    /// Environment variable that overrides `output_dir`, if any.
    #[serde(default)]
    pub output_env: Option<String>,
    /// The corpus licence, as operators must read it.
    pub licence: String,
    /// A few raw rows with their expected outcome, used by `adapters check`.
    #[serde(default)]
    pub samples: Vec<SampleRow>,
    /// Header names of CSV and TSV inputs read as another row key (`MOS` as
    /// `mos`), where datasets disagree on a column's name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub header_aliases: Vec<HeaderAlias>,
    /// How a reference (undistorted) row is recognised. The sdk rejects such
    /// rows as `reference-row` unless the run asks for references.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<ReferenceRule>,
    /// What the model card of a head trained on this corpus says it is for
    /// and where it stops (API 1.3); without it the card says only what the
    /// description does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<CardText>,
}

/// The corpus-specific text of a model card. `{schema}` in either part is
/// replaced by the model's feature schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardText {
    /// What a head trained on this corpus predicts and what it is for.
    pub intended_use: String,
    /// Where it must not be used, one limit per entry.
    #[serde(default)]
    pub limits: Vec<String>,
}

impl CardText {
    /// The text with `{schema}` replaced: `(intended use, limits)`.
    pub fn for_schema(&self, schema: &str) -> (String, Vec<String>) {
        let fill = |t: &str| t.replace("{schema}", schema);
        (
            fill(&self.intended_use),
            self.limits.iter().map(|l| fill(l)).collect(),
        )
    }
}

/// Header names read as one row key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeaderAlias {
    /// The row key the plugin reads (`mos`).
    pub key: String,
    /// Header names that mean it (`MOS`), matched exactly after trimming.
    pub aliases: Vec<String>,
}

/// How a reference row is recognised: any one test that holds makes it one.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ReferenceRule {
    /// Keys whose value reads as true (`true`, or a non-zero number).
    #[serde(default)]
    pub flags: Vec<String>,
    /// `(key, value)`: the key's string value equals `value`.
    #[serde(default)]
    pub equals: Vec<(String, String)>,
}

/// One named input of an adapter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputSlot {
    /// The slot name used in `--input SLOT=PATH`.
    pub name: String,
    /// What the slot holds.
    pub kind: SlotKind,
    /// What the slot's content is used for.
    #[serde(default)]
    pub role: SlotRole,
    /// Accepted file formats.
    pub formats: Vec<Format>,
    /// The default path, if the slot has one.
    #[serde(default)]
    pub default_path: Option<String>,
    /// An environment override of the default path.
    #[serde(default)]
    pub env: Option<EnvOverride>,
    /// Whether a run fails when the slot resolves to nothing.
    pub required: bool,
    /// Corpus tags rows of this slot may carry. A row with another tag is
    /// rejected as `foreign-corpus`.
    pub accepts: Vec<String>,
    /// The tag assumed for rows that carry none (e.g. parquet feature tables).
    #[serde(default)]
    pub assume_corpus: Option<String>,
    /// One line on what belongs in the slot.
    pub description: String,
    /// The slot's own native MOS scale, when it differs from the adapter's
    /// (one adapter holding a 1-5 set and a 0-100 set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mos_scale: Option<MosScale>,
    /// For a slot of libvmaf logs: the labels table each pooled log is
    /// joined with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<crate::labels::LabelsJoin>,
}

impl InputSlot {
    /// The MOS scale of rows read through this slot: its own, else the
    /// adapter's.
    pub fn scale<'a>(&'a self, descriptor: &'a Descriptor) -> &'a MosScale {
        self.mos_scale.as_ref().unwrap_or(&descriptor.mos_scale)
    }
}

/// Whether a slot is one file or a directory of shards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "type")]
pub enum SlotKind {
    /// A single file.
    File,
    /// A directory whose files matching `glob` are read in sorted order.
    ShardDir {
        /// A file-name glob such as `shard_*.features.jsonl`.
        glob: String,
    },
}

/// What a slot's content is for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SlotRole {
    /// Corpus rows, projected one by one.
    #[default]
    Rows,
    /// A single JSON document handed to the projector as context (for
    /// example a display profile).
    Context,
    /// A labels table (CSV or JSONL) that the host joins with the pooled
    /// logs of a libvmaf-log slot; it is read only when such a slot is.
    Labels,
}

/// The `type` names of [`SlotKind`]'s variants.
const SLOT_KINDS: [&str; 2] = ["file", "shard-dir"];

/// `role `x`` or `kind `x`` when a slot's role or kind is a name this build
/// does not know; a value of the wrong shape is left to the strict read.
pub(crate) fn unknown_slot_variant(slot: &serde_json::Value) -> Option<String> {
    if let Some(role) = slot.get("role").and_then(|r| r.as_str()) {
        if serde_json::from_value::<SlotRole>(serde_json::Value::from(role)).is_err() {
            return Some(format!("role `{role}`"));
        }
    }
    let kind = slot.get("kind")?.get("type")?.as_str()?;
    (!SLOT_KINDS.contains(&kind)).then(|| format!("kind `{kind}`"))
}

/// A file format a slot accepts. Text formats may also be gzip- or
/// zstd-compressed; the host recognises formats by content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// One JSON object per line.
    Jsonl,
    /// One JSON document.
    Json,
    /// Apache Parquet.
    Parquet,
    /// Comma-separated values with a header row.
    Csv,
    /// Tab-separated values with a header row.
    Tsv,
    /// A libvmaf JSON log (`vmaf --json`, ffmpeg `libvmaf=log_fmt=json`):
    /// one clip per file, pooled by the host into one raw row.
    LibvmafLog,
    /// A format a newer minor added that this build does not know. It is
    /// read from a descriptor (so the plugin still loads, as the minor
    /// version rule promises) and never matches an input: the slot reads
    /// the formats this host knows.
    #[serde(other)]
    Unknown,
}

impl Format {
    /// The formats a row slot declared with `DescriptorBuilder` (moshead-sdk)
    /// accepts: every record of each becomes the same raw row.
    pub const ROWS: [Format; 4] = [Format::Jsonl, Format::Csv, Format::Tsv, Format::Parquet];

    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Json => "json",
            Format::Parquet => "parquet",
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::LibvmafLog => "libvmaf-log",
            Format::Unknown => "unknown",
        }
    }
}

/// An environment variable that overrides a slot's default path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvOverride {
    /// The variable name.
    pub var: String,
    /// A relative path joined onto the variable's value (the variable names a
    /// corpus root rather than the slot path itself).
    #[serde(default)]
    pub join: Option<String>,
}

/// A named, ordered feature schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    /// The schema name (`chug-hdr-wide-v1`).
    pub name: String,
    /// The columns, in the order baked into the model.
    pub columns: Vec<String>,
    /// A context slot the schema needs (e.g. a display profile), if any.
    #[serde(default)]
    pub requires_slot: Option<String>,
    /// One line on what the schema is for.
    #[serde(default)]
    pub description: String,
    /// libvmaf's model feature name of each column that has one (`adm2` ->
    /// `VMAF_integer_feature_adm2_score`), for exporting a head as a
    /// libvmaf model. Optional (added in API 1.2.0); a schema with a column
    /// not named here cannot be exported to libvmaf.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub libvmaf_names: BTreeMap<String, String>,
}

/// The corpus's native MOS scale and the affine map onto 1-5.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MosScale {
    /// Lower end of the native scale.
    pub native_min: f64,
    /// Upper end of the native scale.
    pub native_max: f64,
    /// `head = offset + scale * native`.
    pub to_head_scale: f64,
    /// See `to_head_scale`.
    pub to_head_offset: f64,
    /// The native MOS key in raw rows.
    pub native_key: String,
}

impl MosScale {
    /// Maps a native value onto the head's 1-5 scale.
    pub fn to_head(&self, native: f64) -> f64 {
        self.to_head_offset + self.to_head_scale * native
    }

    /// Why the scale is unusable, if it is: not a finite increasing map, or
    /// one that leaves the head's 1-5 range.
    pub fn problem(&self) -> Option<String> {
        let m = self;
        let finite = [
            m.native_min,
            m.native_max,
            m.to_head_scale,
            m.to_head_offset,
        ]
        .iter()
        .all(|v| v.is_finite());
        if !finite || m.native_min >= m.native_max || m.to_head_scale <= 0.0 {
            return Some(format!(
                "MOS scale [{}, {}] -> {} + {}*x is not a finite increasing map",
                m.native_min, m.native_max, m.to_head_offset, m.to_head_scale
            ));
        }
        let (lo, hi) = (m.to_head(m.native_min), m.to_head(m.native_max));
        (lo < 1.0 - 1e-9 || hi > 5.0 + 1e-9).then(|| {
            format!(
                "MOS scale maps [{}, {}] to [{lo}, {hi}], outside the head's 1-5 range",
                m.native_min, m.native_max
            )
        })
    }

    /// Maps a value on the head's 1-5 scale back onto the native scale (the
    /// inverse of [`MosScale::to_head`]).
    pub fn to_native(&self, head: f64) -> f64 {
        (head - self.to_head_offset) / self.to_head_scale
    }
}

/// How rows without an explicit split get one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum SplitPolicy {
    /// Rows keep their explicit split; rows without one get none, and the
    /// host validates with grouped folds.
    ExplicitOnly {
        /// Corpus-specific labels mapped onto splits (`k150ka` -> train).
        #[serde(default)]
        aliases: Vec<(String, crate::Split)>,
    },
    /// BLAKE2s-64 of `seed \0 content`, cut at `train` and `train + val`.
    ContentHash {
        /// The hash seed (`chug-hdr-v1`).
        seed: String,
        /// Fraction of contents in train.
        train: f64,
        /// Fraction of contents in val.
        val: f64,
    },
}

/// A baseline that predicts the mean training MOS of rows sharing a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupBaseline {
    /// The baseline's name in reports (`per-rung-mean`).
    pub name: String,
    /// The raw key it groups by (`chug_bitladder`).
    pub key: String,
}

/// Gate thresholds. `None` means the metric is not gated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// Minimum mean PLCC.
    #[serde(default)]
    pub plcc_min: Option<f64>,
    /// Minimum mean SROCC.
    #[serde(default)]
    pub srocc_min: Option<f64>,
    /// Maximum mean RMSE (1-5 scale).
    #[serde(default)]
    pub rmse_max: Option<f64>,
    /// Maximum spread (max - min) of fold PLCC.
    #[serde(default)]
    pub spread_max: Option<f64>,
}

/// The gate for real corpora and the one for synthetic corpora.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GateSpec {
    /// Applied to real corpora.
    pub real: Thresholds,
    /// Applied to corpora generated by `moshead synth`.
    pub synthetic: Thresholds,
    /// The adapter declares no gate for real corpora (a study file without
    /// `[gate]`): `real` then gates nothing, and a run on real rows ends
    /// "no gate declared", neither passed nor missed. An optional key
    /// (absent: `false`); a host that does not know it sees a real gate of
    /// no metric and refuses the descriptor, never runs it ungated.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub none_declared: bool,
}

impl Thresholds {
    /// Whether no metric is gated (every threshold `None`).
    pub fn is_empty(&self) -> bool {
        self.plcc_min.is_none()
            && self.srocc_min.is_none()
            && self.rmse_max.is_none()
            && self.spread_max.is_none()
    }
}

/// A raw sample row and what projecting it must give.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampleRow {
    /// The slot the row is read from.
    pub slot: String,
    /// The raw JSON row.
    pub raw: String,
    /// `None` when the row must project; the rejection code otherwise.
    #[serde(default)]
    pub expect_rejection: Option<String>,
}

impl Descriptor {
    /// Looks up a slot by name.
    pub fn slot(&self, name: &str) -> Option<&InputSlot> {
        self.inputs.iter().find(|s| s.name == name)
    }

    /// Looks up a schema by name.
    pub fn schema(&self, name: &str) -> Option<&Schema> {
        self.schemas.iter().find(|s| s.name == name)
    }

    /// Every corpus tag any slot accepts, sorted and deduplicated.
    pub fn corpus_tags(&self) -> Vec<String> {
        let set: BTreeSet<&String> = self.inputs.iter().flat_map(|s| &s.accepts).collect();
        set.into_iter().cloned().collect()
    }

    /// Reads a plugin's descriptor JSON as a host does. A slot whose role or
    /// kind this build does not know (one a newer minor added) is left out,
    /// with its sample rows, and named in the returned notes; the plugin
    /// still loads and its other slots work. Anything else reads as with
    /// `serde_json::from_str`.
    pub fn from_json_tolerant(json: &str) -> Result<(Descriptor, Vec<String>), serde_json::Error> {
        let mut v: serde_json::Value = serde_json::from_str(json)?;
        let mut notes = Vec::new();
        let mut dropped = Vec::new();
        if let Some(inputs) = v.get_mut("inputs").and_then(|i| i.as_array_mut()) {
            inputs.retain(|slot| match unknown_slot_variant(slot) {
                Some(what) => {
                    let name = slot.get("name").and_then(|n| n.as_str()).unwrap_or("?");
                    notes.push(format!(
                        "slot `{name}` is ignored: its {what} is not known to this host (a newer API minor); rebuild moshead to use it"
                    ));
                    dropped.push(name.to_owned());
                    false
                }
                None => true,
            });
        }
        if let Some(samples) = v.get_mut("samples").and_then(|s| s.as_array_mut()) {
            samples.retain(|s| {
                !s.get("slot")
                    .and_then(|n| n.as_str())
                    .is_some_and(|n| dropped.iter().any(|d| d == n))
            });
        }
        Ok((serde_json::from_value(v)?, notes))
    }
}

impl Descriptor {
    /// The libvmaf-log slots that join the labels slot `labels`.
    pub fn slots_joining(&self, labels: &str) -> impl Iterator<Item = &InputSlot> + '_ {
        let labels = labels.to_owned();
        self.inputs
            .iter()
            .filter(move |s| s.labels.as_ref().is_some_and(|j| j.slot == labels))
    }
}
