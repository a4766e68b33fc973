//! [`DescriptorBuilder`]: declare an adapter in a few chained calls.
//!
//! Defaults follow the prior art where it is right: the real gate is mean
//! PLCC >= 0.85, SROCC >= 0.82, RMSE <= 0.45 and fold spread <= 0.005; the
//! synthetic gate is PLCC >= 0.75; the output directory is
//! `.workingdir2/<name>/`; rows carry their own split labels.

use crate::descriptor::*;
use crate::Split;

/// The prior art's gate for real corpora.
pub const REAL_GATE: Thresholds = Thresholds {
    plcc_min: Some(0.85),
    srocc_min: Some(0.82),
    rmse_max: Some(0.45),
    spread_max: Some(0.005),
};

/// The prior art's gate for synthetic corpora.
pub const SYNTHETIC_GATE: Thresholds = Thresholds {
    plcc_min: Some(0.75),
    srocc_min: None,
    rmse_max: None,
    spread_max: None,
};

/// Builds a [`Descriptor`]. Slot modifiers (`env`, `required`, ...) apply to
/// the slot declared last.
#[derive(Debug, Clone)]
pub struct DescriptorBuilder {
    d: Descriptor,
}

/// The linear map of `[lo, hi]` onto 1-5.
fn linear_scale(native_key: &str, lo: f64, hi: f64) -> MosScale {
    let scale = 4.0 / (hi - lo);
    MosScale {
        native_min: lo,
        native_max: hi,
        to_head_scale: scale,
        to_head_offset: 1.0 - lo * scale,
        native_key: native_key.to_owned(),
    }
}

fn owned(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

impl DescriptorBuilder {
    /// Starts a descriptor for adapter `name`, plugin `version` and `model_id`.
    pub fn new(name: &str, version: &str, model_id: &str) -> Self {
        DescriptorBuilder {
            d: Descriptor {
                name: name.to_owned(),
                version: version.to_owned(),
                description: String::new(),
                model_id: model_id.to_owned(),
                inputs: Vec::new(),
                schemas: Vec::new(),
                default_schema: String::new(),
                mos_scale: MosScale {
                    native_min: 1.0,
                    native_max: 5.0,
                    to_head_scale: 1.0,
                    to_head_offset: 0.0,
                    native_key: "mos".into(),
                },
                split_policy: SplitPolicy::ExplicitOnly {
                    aliases: Vec::new(),
                },
                content_group_key: String::new(),
                id_keys: Vec::new(),
                group_baseline: None,
                gate: GateSpec {
                    real: REAL_GATE,
                    synthetic: SYNTHETIC_GATE,
                    none_declared: false,
                },
                output_dir: format!(".workingdir2/{name}/"),
                output_env: None,
                licence: String::new(),
                samples: Vec::new(),
                header_aliases: Vec::new(),
                reference: None,
                card: None,
            },
        }
    }

    /// Sets the one-line description.
    pub fn description(mut self, text: &str) -> Self {
        self.d.description = text.to_owned();
        self
    }

    /// Declares a slot.
    pub fn input(mut self, slot: InputSlot) -> Self {
        self.d.inputs.push(slot);
        self
    }

    fn rows_slot(self, name: &str, kind: SlotKind, default: &str, accepts: &[&str]) -> Self {
        self.input(InputSlot {
            name: name.to_owned(),
            kind,
            role: SlotRole::Rows,
            formats: Format::ROWS.to_vec(),
            default_path: (!default.is_empty()).then(|| default.to_owned()),
            env: None,
            required: false,
            accepts: owned(accepts),
            assume_corpus: None,
            description: String::new(),
            mos_scale: None,
            labels: None,
        })
    }

    /// Declares a file of rows with the corpus tags it accepts. Like every
    /// row slot it takes JSONL, CSV, TSV and Parquet ([`Format::ROWS`], told
    /// apart by content), gzip- or zstd-compressed text included. An empty
    /// `default` means the slot has no default path.
    pub fn jsonl_file(self, name: &str, default: &str, accepts: &[&str]) -> Self {
        self.rows_slot(name, SlotKind::File, default, accepts)
    }

    /// Declares a directory of shards matching `glob` (a shard glob also
    /// matches the name with `.gz`, `.zst` or `.zstd` appended).
    pub fn shard_dir(self, name: &str, default: &str, glob: &str, accepts: &[&str]) -> Self {
        let kind = SlotKind::ShardDir {
            glob: glob.to_owned(),
        };
        self.rows_slot(name, kind, default, accepts)
    }

    /// Declares a file of rows meant for a Parquet table (it accepts the
    /// other row formats too).
    pub fn parquet_file(self, name: &str, default: &str, accepts: &[&str]) -> Self {
        self.rows_slot(name, SlotKind::File, default, accepts)
    }

    /// The last slot accepts only `formats`.
    pub fn formats(mut self, formats: &[Format]) -> Self {
        if let Some(s) = self.last() {
            s.formats = formats.to_vec();
        }
        self
    }

    /// The last slot's rows carry their MOS on their own native scale
    /// `[lo, hi]` under `native_key` (see [`Self::mos_range`]), instead of
    /// the adapter's.
    pub fn slot_mos_range(mut self, native_key: &str, lo: f64, hi: f64) -> Self {
        let scale = linear_scale(native_key, lo, hi);
        if let Some(s) = self.last() {
            s.mos_scale = Some(scale);
        }
        self
    }

    /// CSV and TSV headers named `aliases` are read as row key `key`.
    pub fn header_alias(mut self, key: &str, aliases: &[&str]) -> Self {
        self.d.header_aliases.push(HeaderAlias {
            key: key.to_owned(),
            aliases: owned(aliases),
        });
        self
    }

    /// The model card's corpus-specific text: what a head trained on this
    /// corpus is for, and its limits (`{schema}` in either stands for the
    /// model's feature schema). Without it the card says what the
    /// description does.
    pub fn card(mut self, intended_use: &str, limits: &[&str]) -> Self {
        self.d.card = Some(CardText {
            intended_use: intended_use.to_owned(),
            limits: owned(limits),
        });
        self
    }

    /// A row is a reference when flag key `key` reads true. Reference rows
    /// are rejected as `reference-row` by the sdk unless the run asks for
    /// references (`--include-references`).
    pub fn reference_flag(mut self, key: &str) -> Self {
        self.d
            .reference
            .get_or_insert_with(ReferenceRule::default)
            .flags
            .push(key.to_owned());
        self
    }

    /// A row is a reference when the string at `key` equals `value`.
    pub fn reference_value(mut self, key: &str, value: &str) -> Self {
        self.d
            .reference
            .get_or_insert_with(ReferenceRule::default)
            .equals
            .push((key.to_owned(), value.to_owned()));
        self
    }

    /// A file slot of `role` that accepts no corpus tag.
    fn side_slot(self, name: &str, role: SlotRole, formats: Vec<Format>, default: &str) -> Self {
        self.input(InputSlot {
            name: name.to_owned(),
            kind: SlotKind::File,
            role,
            formats,
            default_path: (!default.is_empty()).then(|| default.to_owned()),
            env: None,
            required: false,
            accepts: Vec::new(),
            assume_corpus: None,
            description: String::new(),
            mos_scale: None,
            labels: None,
        })
    }

    /// Declares a context slot holding one JSON document.
    pub fn context_json(self, name: &str) -> Self {
        self.side_slot(name, SlotRole::Context, vec![Format::Json], "")
    }

    /// Declares a directory of libvmaf JSON logs (`*.json`, one per clip)
    /// joined with the labels slot `labels_slot` on the labels column `key`
    /// (aliases tried in order) against each log's file stem; `rename` maps
    /// the labels table's columns onto the raw keys the adapter reads.
    /// Pooled rows without a corpus tag are read as `accepts[0]`.
    pub fn libvmaf_logs(
        self,
        name: &str,
        default: &str,
        accepts: &[&str],
        labels_slot: &str,
        key: &[&str],
        rename: &[(&str, &str)],
    ) -> Self {
        let kind = SlotKind::ShardDir {
            glob: "*.json".to_owned(),
        };
        let mut b = self.rows_slot(name, kind, default, accepts);
        if let Some(s) = b.last() {
            s.formats = vec![Format::LibvmafLog];
            s.assume_corpus = accepts.first().map(|t| (*t).to_owned());
            s.labels = Some(crate::labels::LabelsJoin {
                slot: labels_slot.to_owned(),
                key: owned(key),
                rename: rename
                    .iter()
                    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                    .collect(),
                votes: None,
            });
        }
        b
    }

    /// The last libvmaf-log slot's labels table holds raw votes, read as
    /// `votes` says: the host recovers each clip's score with the run's
    /// subjective model (`--subjective-model`) and joins it under
    /// `votes.score_key`. Without a preceding libvmaf-log slot, nothing.
    pub fn labels_votes(mut self, votes: crate::labels::VotesDecl) -> Self {
        if let Some(join) = self.last().and_then(|s| s.labels.as_mut()) {
            join.votes = Some(votes);
        }
        self
    }

    /// Declares a labels table (CSV or JSONL) joined by a libvmaf-log slot.
    /// An empty `default` means the slot has no default path.
    pub fn labels_file(self, name: &str, default: &str) -> Self {
        let formats = vec![Format::Csv, Format::Jsonl];
        self.side_slot(name, SlotRole::Labels, formats, default)
    }

    fn last(&mut self) -> Option<&mut InputSlot> {
        self.d.inputs.last_mut()
    }

    /// The last slot's default path can be overridden by `var` (joined with
    /// `join` when the variable names a corpus root).
    pub fn env(mut self, var: &str, join: Option<&str>) -> Self {
        if let Some(s) = self.last() {
            s.env = Some(EnvOverride {
                var: var.to_owned(),
                join: join.map(str::to_owned),
            });
        }
        self
    }

    /// The last slot must resolve to at least one file.
    pub fn required(mut self) -> Self {
        if let Some(s) = self.last() {
            s.required = true;
        }
        self
    }

    /// Rows of the last slot without a corpus tag are read as `tag`.
    pub fn assume_corpus(mut self, tag: &str) -> Self {
        if let Some(s) = self.last() {
            s.assume_corpus = Some(tag.to_owned());
        }
        self
    }

    /// Describes the last slot.
    pub fn about(mut self, text: &str) -> Self {
        if let Some(s) = self.last() {
            s.description = text.to_owned();
        }
        self
    }

    /// Declares a schema; the first one declared is the default.
    pub fn schema(self, name: &str, columns: &[&str]) -> Self {
        self.schema_cols(name, owned(columns), None, "")
    }

    /// Declares a schema from owned columns, optionally requiring a context
    /// slot, with a description.
    pub fn schema_cols(
        mut self,
        name: &str,
        columns: Vec<String>,
        requires: Option<&str>,
        about: &str,
    ) -> Self {
        if self.d.schemas.is_empty() {
            self.d.default_schema = name.to_owned();
        }
        self.d.schemas.push(Schema {
            name: name.to_owned(),
            columns,
            requires_slot: requires.map(str::to_owned),
            description: about.to_owned(),
            libvmaf_names: Default::default(),
        });
        self
    }

    /// Names the columns of the schema declared last for libvmaf: every
    /// `(column, libvmaf name)` pair whose column is in that schema
    /// (e.g. [`crate::schemas::LIBVMAF_NAMES`]); a head trained on a schema
    /// whose every column is named can be exported as a libvmaf model.
    pub fn libvmaf_names(mut self, names: &[(&str, &str)]) -> Self {
        if let Some(schema) = self.d.schemas.last_mut() {
            for (column, name) in names {
                if schema.columns.iter().any(|c| c == column) {
                    schema
                        .libvmaf_names
                        .insert((*column).to_owned(), (*name).to_owned());
                }
            }
        }
        self
    }

    /// MOS is already on 1-5 under `mos`.
    pub fn mos_1_5(mut self) -> Self {
        self.d.mos_scale = MosScale {
            native_min: 1.0,
            native_max: 5.0,
            to_head_scale: 1.0,
            to_head_offset: 0.0,
            native_key: "mos".into(),
        };
        self
    }

    /// MOS is native on 0-100 under `native_key`, mapped as `1 + 4x/100`.
    pub fn mos_0_100(mut self, native_key: &str) -> Self {
        self.d.mos_scale = MosScale {
            native_min: 0.0,
            native_max: 100.0,
            to_head_scale: 0.04,
            to_head_offset: 1.0,
            native_key: native_key.to_owned(),
        };
        self
    }

    /// MOS is native on `[lo, hi]` under `native_key`, mapped linearly onto
    /// the head's 1-5 (`lo` -> 1, `hi` -> 5). [`Self::mos_1_5`] and
    /// [`Self::mos_0_100`] are the two common cases; `mos_range("mos10", 0.0,
    /// 10.0)` is a 0-10 scale. A row's own `mos` key, when present, is read
    /// as already on 1-5 and wins.
    pub fn mos_range(mut self, native_key: &str, lo: f64, hi: f64) -> Self {
        self.d.mos_scale = linear_scale(native_key, lo, hi);
        self
    }

    /// Rows without a split get the content-hash split.
    pub fn content_hash_split(mut self, seed: &str, train: f64, val: f64) -> Self {
        self.d.split_policy = SplitPolicy::ContentHash {
            seed: seed.to_owned(),
            train,
            val,
        };
        self
    }

    /// Rows keep explicit splits; `aliases` maps corpus labels onto splits.
    pub fn split_aliases(mut self, aliases: &[(&str, Split)]) -> Self {
        self.d.split_policy = SplitPolicy::ExplicitOnly {
            aliases: aliases.iter().map(|(a, s)| ((*a).to_owned(), *s)).collect(),
        };
        self
    }

    /// The content-group key (also the id key unless [`Self::id_keys`] is set).
    pub fn content_key(mut self, key: &str) -> Self {
        self.d.content_group_key = key.to_owned();
        self
    }

    /// Row keys tried in order for the row id.
    pub fn id_keys(mut self, keys: &[&str]) -> Self {
        self.d.id_keys = owned(keys);
        self
    }

    /// A mean-per-key baseline reported beside the head.
    pub fn group_baseline(mut self, name: &str, key: &str) -> Self {
        self.d.group_baseline = Some(GroupBaseline {
            name: name.to_owned(),
            key: key.to_owned(),
        });
        self
    }

    /// Overrides the gates.
    pub fn gate(mut self, real: Thresholds, synthetic: Thresholds) -> Self {
        self.d.gate = GateSpec {
            real,
            synthetic,
            none_declared: false,
        };
        self
    }

    /// Declares no gate for real corpora (a study that names no threshold):
    /// a run on real rows then ends "no gate declared" rather than passed
    /// or missed. `synthetic` still gates `moshead synth` corpora.
    pub fn no_gate(mut self, synthetic: Thresholds) -> Self {
        self.d.gate = GateSpec {
            real: Thresholds::default(),
            synthetic,
            none_declared: true,
        };
        self
    }

    /// The default output directory and its environment override.
    pub fn output_dir(mut self, dir: &str, env: Option<&str>) -> Self {
        self.d.output_dir = dir.to_owned();
        self.d.output_env = env.map(str::to_owned);
        self
    }

    /// The corpus licence note.
    pub fn licence(mut self, text: &str) -> Self {
        self.d.licence = text.to_owned();
        self
    }

    /// A sample row that must project (`expect_rejection` `None`) or be
    /// rejected with the given code.
    pub fn sample(mut self, slot: &str, raw: &str, expect_rejection: Option<&str>) -> Self {
        self.d.samples.push(SampleRow {
            slot: slot.to_owned(),
            raw: raw.to_owned(),
            expect_rejection: expect_rejection.map(str::to_owned),
        });
        self
    }

    /// Finishes the descriptor. Id keys default to the content key.
    pub fn build(mut self) -> Descriptor {
        if self.d.id_keys.is_empty() && !self.d.content_group_key.is_empty() {
            self.d.id_keys = vec![self.d.content_group_key.clone()];
        }
        self.d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> DescriptorBuilder {
        DescriptorBuilder::new("g", "0.1.0", "g_v1")
            .jsonl_file("rows", "", &["g"])
            .schema("g-v1", &["adm2"])
            .content_key("src")
    }

    #[test]
    fn no_gate_is_declared_round_trips_and_is_checked() {
        let d = base().no_gate(SYNTHETIC_GATE).build();
        assert!(d.gate.none_declared && d.gate.real.is_empty());
        assert!(d.problems().is_empty(), "{:?}", d.problems());
        let json = serde_json::to_string(&d).unwrap_or_default();
        assert!(json.contains("\"none_declared\":true"), "{json}");
        let back: Descriptor = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, d);
        // A host that does not know the key sees a real gate of no metric.
        let mut older = d.clone();
        older.gate.none_declared = false;
        assert_eq!(older.problems(), ["real gate: gates no metric"]);
        // A gated descriptor does not write the key.
        let gated = serde_json::to_string(&base().build()).unwrap_or_default();
        assert!(!gated.contains("none_declared"), "{gated}");
        // Declaring no gate while giving thresholds is a contradiction.
        let mut both = d;
        both.gate.real.plcc_min = Some(0.8);
        assert_eq!(
            both.problems(),
            ["real gate: declares no gate (`none_declared`) but sets thresholds"]
        );
    }

    #[test]
    fn mos_range_maps_onto_1_5() {
        let d = base().mos_range("mos10", 0.0, 10.0).build();
        assert_eq!(d.mos_scale.to_head(0.0), 1.0);
        assert_eq!(d.mos_scale.to_head(10.0), 5.0);
        assert_eq!(d.mos_scale.to_head(5.0), 3.0);
        assert!(d.problems().is_empty(), "{:?}", d.problems());
    }

    #[test]
    fn the_card_text_is_filled_per_schema_and_checked() {
        let d = base()
            .card(
                "Predicts g's MOS from `{schema}`.",
                &["Only g: {schema} rows."],
            )
            .build();
        assert!(d.problems().is_empty(), "{:?}", d.problems());
        let card = d.card.clone().unwrap_or_else(|| panic!("no card"));
        assert_eq!(
            card.for_schema("g-v1"),
            (
                "Predicts g's MOS from `g-v1`.".to_owned(),
                vec!["Only g: g-v1 rows.".to_owned()]
            )
        );
        let json = serde_json::to_string(&d).unwrap_or_default();
        let back: Descriptor = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.card, d.card);
        let empty = base().card(" ", &["ok", ""]).build();
        assert_eq!(
            empty.problems(),
            [
                "the model card's intended use is empty",
                "the model card lists an empty limit"
            ]
        );
    }

    #[test]
    fn libvmaf_names_apply_to_the_last_schema_and_are_checked() {
        let d = base()
            .schema("g-v2", &["adm2", "motion2", "noise"])
            .libvmaf_names(&crate::schemas::LIBVMAF_NAMES)
            .build();
        assert!(d.schema("g-v1").is_some_and(|s| s.libvmaf_names.is_empty()));
        let v2 = d
            .schema("g-v2")
            .map(|s| s.libvmaf_names.clone())
            .unwrap_or_default();
        assert_eq!(v2.len(), 2);
        assert_eq!(v2["motion2"], "VMAF_integer_feature_motion2_score");
        assert!(d.problems().is_empty(), "{:?}", d.problems());
        // The key round-trips, and an older descriptor without it reads.
        let json = serde_json::to_string(&d).unwrap_or_default();
        assert!(json.contains("\"libvmaf_names\""));
        let back: Descriptor = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, d);
        let mut bad = d.clone();
        bad.schemas[1].libvmaf_names.insert(
            "vif_scale0".into(),
            "VMAF_integer_feature_vif_scale0_score".into(),
        );
        bad.schemas[1]
            .libvmaf_names
            .insert("noise".into(), "has space".into());
        let p = bad.problems();
        assert!(
            p.iter()
                .any(|m| m.contains("`vif_scale0`") && m.contains("not one of its columns")),
            "{p:?}"
        );
        assert!(
            p.iter()
                .any(|m| m.contains("`noise`") && m.contains("without whitespace")),
            "{p:?}"
        );
    }
}
