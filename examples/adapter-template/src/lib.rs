//! # my-corpus: a moshead corpus adapter for a generic JSONL corpus
//!
//! The template for your own adapter. Edit the constants and the descriptor:
//! the corpus tag, the feature columns, the MOS column and its scale, the
//! content column. The sdk does everything else the same way for every
//! adapter: JSON parsing, the corpus guard, the MOS rule, splits, value fill
//! (`adm2`, else `adm2_mean`, else filled and counted), panics caught at the
//! boundary. One raw row per line, for example:
//!
//! ```json
//! {"corpus":"my-corpus","clip":"c1_2M.mp4","content":"c1","mos_0_100":62.5,"adm2":0.93,"vif_scale0":0.61,"vif_scale2":0.86,"vif_scale3":0.9,"motion2":6.1}
//! ```

use moshead_sdk::prelude::*;
use serde_json::json;

/// The corpus tag every row carries (`"corpus": "my-corpus"`).
const TAG: &str = "my-corpus";
/// The feature columns, in the order baked into every model trained on them.
const FEATURES: [&str; 5] = ["adm2", "vif_scale0", "vif_scale2", "vif_scale3", "motion2"];
/// The native MOS column, on 0-100 (for a 1-5 `mos` column use `.mos_1_5()`).
const MOS_KEY: &str = "mos_0_100";
/// The source-content column: rows of one content share a split and a fold.
const CONTENT_KEY: &str = "content";

/// Sample rows: `adapters check` projects them and expects these outcomes.
const SAMPLE: &str = r#"{"corpus":"my-corpus","clip":"c1_2M.mp4","content":"c1","mos_0_100":62.5,"adm2":0.93,"vif_scale0":0.61,"vif_scale2":0.86,"vif_scale3":0.9,"motion2":6.1}"#;
const OFF_SCALE: &str =
    r#"{"corpus":"my-corpus","clip":"c2_2M.mp4","content":"c2","mos_0_100":162.5}"#;
const NO_CONTENT: &str = r#"{"corpus":"my-corpus","clip":"c3_2M.mp4","mos_0_100":50}"#;

/// The adapter. Stateless: `open` makes one per projector.
pub struct MyCorpus;

impl CorpusAdapter for MyCorpus {
    fn descriptor() -> Descriptor {
        DescriptorBuilder::new(TAG, env!("CARGO_PKG_VERSION"), "my_corpus_mos_head_v1")
            .description("My corpus: JSONL rows of VMAF features with a 0-100 MOS")
            .jsonl_file("rows", ".corpus/my-corpus/rows.jsonl", &[TAG])
            .env("MY_CORPUS_DIR", Some("rows.jsonl"))
            .about("one JSON object per clip")
            .schema("my-corpus-v1", &FEATURES)
            .mos_0_100(MOS_KEY)
            .content_hash_split("my-corpus-v1", 0.8, 0.1)
            .content_key(CONTENT_KEY)
            .id_keys(&["clip", CONTENT_KEY])
            .licence("State the corpus licence here.")
            .sample("rows", SAMPLE, None)
            .sample("rows", OFF_SCALE, Some(codes::MOS_OUT_OF_RANGE))
            .sample("rows", NO_CONTENT, Some(codes::MISSING_CONTENT))
            .build()
    }

    fn open(_: &Descriptor, _: &str, _: &ProjectorConfig) -> Result<Self, String> {
        Ok(MyCorpus)
    }

    /// `rows` synthetic clips, four encodes per content, in the raw format.
    fn synthesize(request: &SynthRequest) -> Result<SynthOutput, String> {
        if let Some(v) = &request.variant {
            return Err(format!("my-corpus has no synthetic variant `{v}`"));
        }
        if request.rows < 2 {
            return Err("a synthetic my-corpus needs at least two rows".into());
        }
        let mut rng = Rng::new(request.seed);
        let mut text = String::new();
        for i in 0..request.rows {
            let content = format!("content_{:04}", i / 4);
            let (q, motion) = (rng.uniform(0.0, 1.0), rng.uniform(0.0, 30.0));
            let f = synth::base_features(&mut rng, q, motion);
            let mos = (1.0 + 4.0 * q + rng.normal(0.0, 0.2)).clamp(1.0, 5.0); // rises with fidelity
            let mut row = json!({
                "corpus": TAG, "clip": format!("{content}_{i}.mp4"), CONTENT_KEY: content,
                MOS_KEY: synth::round((mos - 1.0) * 25.0, 3), "synthetic": true,
            });
            for (name, v) in f.named().into_iter().filter(|(n, _)| FEATURES.contains(n)) {
                row[name] = json!(synth::round(v, 6));
            }
            text.push_str(&format!("{row}\n"));
        }
        Ok(SynthOutput::one_file("rows", "rows.jsonl", text))
    }
}

moshead_sdk::export_adapter!(MyCorpus);

#[cfg(test)]
mod tests {
    use super::*;
    use moshead_sdk::testing::Probe;

    #[test]
    fn passes_the_conformance_checks() {
        let report = moshead_conformance::check_adapter::<MyCorpus>();
        assert!(report.passed(), "{report}");
    }

    #[test]
    fn projects_the_sample_and_refuses_other_corpora() {
        let probe = Probe::open::<MyCorpus>(&ProjectorConfig::default()).unwrap();
        let row = probe.row("rows", SAMPLE).unwrap();
        assert_eq!(row.features.as_slice(), &[0.93, 0.61, 0.86, 0.9, 6.1]);
        assert_eq!((row.mos, row.group.as_str()), (3.5, "c1")); // 1 + 4 * 62.5 / 100
        assert!(row.filled.is_empty() && !row.synthetic);
        let code = probe
            .code("rows", &SAMPLE.replace(TAG, "konvid-1k"))
            .unwrap();
        assert_eq!(code, codes::FOREIGN_CORPUS);
    }
}
