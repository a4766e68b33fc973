//! # konvid: the moshead adapter for KoNViD-1k and KonVid-150k
//!
//! KonViD is SDR user-generated video from Flickr, rated on 1-5 by crowd
//! workers: KoNViD-1k (1,200 clips, about 50+ ratings each) and KonVid-150k
//! (set A: 153,841 clips with 5 ratings; set B: 1,596 clips with 89+). Each
//! clip is its own content. Set labels `k150ka` and `k150kb` map to train and
//! val, the KonVid-150k paper's protocol; rows without a split are validated
//! with grouped folds. Research use only.
//!
//! Every slot takes JSONL, CSV, TSV or Parquet (compressed text included);
//! the attribute files' `MOS` and `video_id` headers read as `mos` and
//! `flickr_id`.

mod synth;

use moshead_sdk::prelude::*;

/// The columns of KoNViD-1k's attributes CSV renamed to the keys of a
/// KonViD row (aliases: the first present wins).
const KONVID_ATTRIBUTES: [(&str, &str); 8] = [
    ("MOS", "mos"),
    ("mos", "mos"),
    ("SD", "mos_std_dev"),
    ("sd", "mos_std_dev"),
    ("n", "n_ratings"),
    ("ratings", "n_ratings"),
    ("num_ratings", "n_ratings"),
    ("n_ratings", "n_ratings"),
];

/// The KonViD adapter.
pub struct Konvid;

impl CorpusAdapter for Konvid {
    fn descriptor() -> Descriptor {
        DescriptorBuilder::new("konvid", env!("CARGO_PKG_VERSION"), "konvid_mos_head_v1")
            .description("KoNViD-1k and KonVid-150k SDR user-generated video: subjective MOS 1-5")
            .jsonl_file("konvid-1k", ".corpus/konvid-1k/konvid_1k.jsonl", &["konvid-1k"])
            .env("VMAF_KONVID_1K_DIR", Some("konvid_1k.jsonl"))
            .about("KoNViD-1k rows with features (one JSON object per clip)")
            .jsonl_file("konvid-150k", ".corpus/konvid-150k/konvid_150k.jsonl", &["konvid-150k"])
            .env("VMAF_KONVID_150K_DIR", Some("konvid_150k.jsonl"))
            .about("KonVid-150k rows; split k150ka (set A) or k150kb (set B)")
            .parquet_file("features-parquet", "", &["konvid-1k", "konvid-150k", "konvid"])
            .assume_corpus("konvid")
            .about("a feature table: <feature> or <feature>_mean, mos, optional split and src columns")
            .libvmaf_logs("vmaf-logs", ".corpus/konvid-1k/vmaf_logs/", &["konvid-1k"], "konvid-1k-attributes", &["flickr_id", "video_id"], &KONVID_ATTRIBUTES)
            .env("VMAF_KONVID_1K_DIR", Some("vmaf_logs"))
            .about("libvmaf JSON logs of KoNViD-1k clips (<flickr_id>.json), pooled and joined with konvid-1k-attributes")
            .labels_file("konvid-1k-attributes", ".corpus/konvid-1k/KoNViD_1k_attributes.csv")
            .env("VMAF_KONVID_1K_DIR", Some("KoNViD_1k_attributes.csv"))
            .about("KoNViD-1k's attributes CSV (flickr_id, MOS or mos, optional SD and rating count)")
            .schema_cols("konvid-v1", moshead_plugin_common::KONVID_V1.iter().map(|s| s.to_string()).collect(), None, "canonical VMAF features, saliency and shot statistics")
            .libvmaf_names(&schemas::LIBVMAF_NAMES)
            .schema_cols("vmaf-canonical-v1", schemas::CANONICAL.iter().map(|s| s.to_string()).collect(), None, "the six features of libvmaf's own models, for a head libvmaf can load")
            .libvmaf_names(&schemas::LIBVMAF_NAMES)
            .mos_1_5()
            .split_aliases(&[("k150ka", Split::Train), ("k150kb", Split::Val)])
            .content_key("src")
            .id_keys(&["src", "src_sha256", "flickr_id", "video_name", "file_name"])
            .header_alias("mos", &["MOS"])
            .header_alias("flickr_id", &["video_id"])
            .output_dir(".workingdir2/konvid/", Some("VMAF_KONVID_OUTPUT_DIR"))
            .card(
                "Predicts the subjective MOS (1-5) of SDR user-generated video, as \
                 KoNViD-1k / KonVid-150k crowd workers rated Flickr clips, from the \
                 objective features of the `{schema}` schema.",
                &[
                    "SDR only: not for HDR (PQ or HLG) content; a CHUG head covers HDR UGC.",
                    "User-generated content in the wild: not calibrated for professional or \
                     studio content, nor for a compression ladder of one source.",
                ],
            )
            .licence("KoNViD-1k and KonVid-150k are for research use only; the videos are Flickr (YFCC100m) content.")
            .sample("konvid-1k", SAMPLE, None)
            .sample("konvid-1k", SAMPLE_150K, Some(codes::FOREIGN_CORPUS))
            .build()
    }

    fn open(_: &Descriptor, _: &str, _: &ProjectorConfig) -> Result<Self, String> {
        Ok(Konvid)
    }

    fn synthesize(request: &SynthRequest) -> Result<SynthOutput, String> {
        synth::corpus(request)
    }

    fn column(&self, row: &Row<'_>, column: &str) -> Option<f64> {
        moshead_plugin_common::konvid_v1_column(row, column)
    }

    fn mos_se(&self, row: &Row<'_>) -> Option<f64> {
        // `mos_std_dev` is the per-rating SD on 1-5; the standard error
        // needs the rating count (0 means unknown).
        let sd = rules::positive(row, "mos_std_dev")?;
        let n = rules::positive(row, "n_ratings")?;
        Some(sd / n.sqrt())
    }

    fn group(&self, row: &Row<'_>, d: &Descriptor, id: &str) -> Result<String, Rejection> {
        // Every KonViD clip is its own content.
        Ok(row
            .text_or_int(&d.content_group_key)
            .map(|s| s.into_owned())
            .unwrap_or_else(|| id.to_owned()))
    }
}

const SAMPLE: &str = r#"{"corpus":"konvid-1k","src":"3337642103.mp4","mos":3.42,"mos_std_dev":0.8,"n_ratings":64,"adm2":0.91,"vif_scale0":0.55,"vif_scale1":0.74,"vif_scale2":0.81,"vif_scale3":0.86,"motion2_mean":4.2,"saliency_mean":0.3,"saliency_var":0.01,"shot_count":2,"shot_mean_len_s":4,"shot_cuts":1,"n_frames":240}"#;
const SAMPLE_150K: &str = r#"{"corpus":"konvid-150k","src":"a.mp4","mos":3.0,"split":"k150ka"}"#;

moshead_sdk::export_adapter!(Konvid);

#[cfg(test)]
mod tests {
    use super::*;
    use moshead_sdk::testing::Probe;
    use moshead_sdk::{FfiOutcome, FfiRow};

    fn probe() -> Probe {
        Probe::open::<Konvid>(&ProjectorConfig::default()).unwrap()
    }

    fn outcome(slot: &str, raw: &str) -> FfiOutcome {
        probe().outcome(slot, raw)
    }

    fn row(slot: &str, raw: &str) -> FfiRow {
        probe().row(slot, raw).unwrap()
    }

    fn code(slot: &str, raw: &str) -> String {
        probe().code(slot, raw).unwrap()
    }

    #[test]
    fn passes_the_conformance_checks() {
        let report = moshead_conformance::check_adapter::<Konvid>();
        assert!(report.passed(), "{report}");
    }

    #[test]
    fn descriptor_is_valid() {
        let d = Konvid::descriptor();
        assert_eq!(d.problems(), Vec::<String>::new());
        assert_eq!(d.schema("konvid-v1").unwrap().columns.len(), 11);
        assert!(!d.corpus_tags().iter().any(|t| t.contains("chug")));
    }

    #[test]
    fn golden_konvid_v1_projection() {
        let r = row("konvid-1k", SAMPLE);
        let expected = [
            0.91,
            0.55,
            0.74,
            0.81,
            0.86,
            4.2,
            0.3,
            0.01,
            3f64.log10() / 3.0,
            4.0 / 30.0,
            1.0 / 240.0,
        ];
        assert_eq!(r.features.as_slice(), &expected);
        assert!(r.filled.is_empty());
        assert_eq!(r.mos, 3.42);
        assert_eq!(r.mos_se.into_option(), Some(0.1), "0.8 / sqrt(64)");
        assert_eq!(r.group.as_str(), "3337642103.mp4");
        assert_eq!(r.split.into_option(), None);
    }

    #[test]
    fn set_labels_map_to_splits() {
        let a = row("konvid-150k", SAMPLE_150K);
        assert_eq!(a.split.into_option(), Some(Split::Train));
        assert_eq!(
            a.filled.len(),
            11,
            "every missing feature is filled and counted"
        );
        let b = row("konvid-150k", &SAMPLE_150K.replace("k150ka", "K150KB"));
        assert_eq!(b.split.into_option(), Some(Split::Val));
    }

    #[test]
    fn guards() {
        let chug = r#"{"corpus":"chug","src":"a.mp4","mos":3.0}"#;
        assert_eq!(code("konvid-1k", chug), codes::FOREIGN_CORPUS);
        assert_eq!(code("features-parquet", chug), codes::FOREIGN_CORPUS);
        assert_eq!(code("konvid-1k", SAMPLE_150K), codes::FOREIGN_CORPUS);
        let untagged = r#"{"src":"a.mp4","mos":3.0}"#;
        assert_eq!(code("konvid-1k", untagged), codes::MISSING_CORPUS_TAG);
        assert_eq!(row("features-parquet", untagged).corpus.as_str(), "konvid");
        assert_eq!(
            code("konvid-1k", r#"{"corpus":"konvid-1k","mos":3}"#),
            codes::MISSING_ID
        );
        assert_eq!(
            code(
                "konvid-1k",
                r#"{"corpus":"konvid-1k","src":"a","mos":3,"split":"k150kc"}"#
            ),
            codes::UNKNOWN_SPLIT
        );
        assert!(matches!(outcome("nope", untagged), FfiOutcome::Failed(_)));
    }

    #[test]
    fn synthetic_variants_project_cleanly() {
        for variant in ["konvid-1k", "konvid-150k"] {
            let out = Konvid::synthesize(&SynthRequest {
                rows: 300,
                seed: 9,
                variant: Some(variant.into()),
            })
            .unwrap();
            let (slot, _) = &out.inputs[0];
            let mut splits = std::collections::BTreeMap::new();
            for line in out.files[0].1.lines() {
                let r = row(slot, line);
                assert!(r.filled.is_empty());
                *splits
                    .entry(format!("{:?}", r.split.into_option()))
                    .or_insert(0) += 1;
            }
            assert_eq!(splits.values().sum::<usize>(), 300, "{variant}");
            if variant == "konvid-150k" {
                assert_eq!(splits.len(), 2, "{splits:?}");
            }
        }
    }
}
