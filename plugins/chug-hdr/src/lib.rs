//! # chug-hdr: the moshead adapter for CHUG
//!
//! CHUG (Saini et al., ICIP 2025) is HDR user-generated video rated on a
//! 0-100 slider: 856 contents, each a reference plus six distorted ladder
//! rungs. Its MOS is an HDR subjective signal: this adapter never accepts
//! KonViD rows, and a head trained on it is not an HDR VMAF.
//!
//! Rows are the feature shards of the CHUG extractor
//! (`shard_*.features.jsonl`). Splits are content-level: explicit labels are
//! kept, and unlabelled rows get the prior art's BLAKE2s 80/10/10 rule on the
//! content name (seed `chug-hdr-v1`), so every rung of a content shares a
//! split. Reference rows (`chug_ref` = 1 or `chug_resolution` = `ref`) are
//! excluded unless asked for: the descriptor declares the rule, the sdk
//! applies it.

mod display;
mod synth;

use moshead_sdk::prelude::*;

use display::DisplayProfile;

/// The per-feature statistics columns 7-24 of the wide schema.
const STATS: [&str; 3] = ["p10", "p90", "std"];

/// Columns 25-34 of the wide schema: ladder and geometry metadata.
const METADATA: [&str; 10] = [
    "chug_bitrate_mbps",
    "chug_orientation_portrait",
    "chug_ref",
    "distorted_width_norm",
    "distorted_height_norm",
    "reference_width_norm",
    "reference_height_norm",
    "duration_s_norm",
    "n_feature_frames_norm",
    "feature_bitdepth_norm",
];

/// The columns of the released `chug.csv`, renamed to the keys of the CHUG
/// ingest row (the prior art's names); `width` and `height` keep theirs
/// (the distorted clip's geometry).
const CHUG_CSV: [(&str, &str); 11] = [
    ("Video", "chug_video_id"),
    ("mos_j", "mos_raw_0_100"),
    ("sos_j", "mos_std_dev"),
    ("ref", "chug_ref"),
    ("name", "chug_name"),
    ("bitladder", "chug_bitladder"),
    ("resolution", "chug_resolution"),
    ("bitrate", "chug_bitrate_label"),
    ("orientation", "chug_orientation"),
    ("framerate", "chug_framerate_manifest"),
    ("content_name", "chug_content_name"),
];

fn wide_columns() -> Vec<String> {
    let mut cols: Vec<String> = schemas::CANONICAL.iter().map(|s| s.to_string()).collect();
    for f in schemas::CANONICAL {
        cols.extend(STATS.iter().map(|s| format!("{f}_{s}")));
    }
    cols.extend(METADATA.iter().map(|s| s.to_string()));
    cols
}

/// The CHUG adapter, opened for one schema.
pub struct ChugHdr {
    display: Option<DisplayProfile>,
}

impl CorpusAdapter for ChugHdr {
    fn descriptor() -> Descriptor {
        let wide = wide_columns();
        let mut display = wide.clone();
        display.extend(display::COLUMNS.iter().map(|s| s.to_string()));
        DescriptorBuilder::new("chug-hdr", env!("CARGO_PKG_VERSION"), "chug_hdr_mos_head_v1")
            .description("CHUG HDR user-generated video: subjective MOS 0-100, content-level splits")
            .shard_dir(
                "shards",
                ".corpus/chug/training/fr_canonical_shards/output/",
                "shard_*.features.jsonl",
                &["chug"],
            )
            .env("VMAF_CHUG_DIR", Some("training/fr_canonical_shards/output"))
            .about("CHUG feature shards written by the fork's extractor")
            .jsonl_file("features", "", &["chug"])
            .about("explicit CHUG feature JSONL files (repeatable)")
            .libvmaf_logs("vmaf-logs", ".corpus/chug/vmaf_logs/", &["chug"], "chug-labels", &["Video"], &CHUG_CSV)
            .env("VMAF_CHUG_DIR", Some("vmaf_logs"))
            .about("libvmaf JSON logs, one per clip (<Video>.json), pooled and joined with chug-labels")
            .labels_file("chug-labels", ".corpus/chug/chug.csv")
            .env("VMAF_CHUG_DIR", Some("chug.csv"))
            .about("CHUG's released chug.csv (Video, mos_j 0-100, sos_j, ref, bitladder, content_name, ...)")
            .context_json("display-profile")
            .about("display profile JSON for chug-hdr-display-v1")
            .schema_cols("chug-hdr-wide-v1", wide, None, "canonical VMAF features, frame statistics, ladder and geometry")
            .libvmaf_names(&schemas::LIBVMAF_NAMES)
            .schema_cols("chug-hdr-display-v1", display, Some("display-profile"), "wide plus 11 display-profile columns")
            .libvmaf_names(&schemas::LIBVMAF_NAMES)
            .schema_cols("vmaf-canonical-v1", schemas::CANONICAL.iter().map(|s| s.to_string()).collect(), None, "the six features of libvmaf's own models, for a head libvmaf can load")
            .libvmaf_names(&schemas::LIBVMAF_NAMES)
            .schema_cols("konvid-v1", moshead_plugin_common::KONVID_V1.iter().map(|s| s.to_string()).collect(), None, "the KonViD schema, for ablations")
            .libvmaf_names(&schemas::LIBVMAF_NAMES)
            .mos_0_100("mos_raw_0_100")
            .content_hash_split("chug-hdr-v1", 0.8, 0.1)
            .content_key("chug_content_name")
            .id_keys(&["chug_video_id", "src_sha256", "src"])
            .group_baseline("per-rung-mean", "chug_bitladder")
            .reference_flag("chug_ref")
            .reference_value("chug_resolution", "ref")
            .output_dir(".workingdir2/chug/", Some("VMAF_CHUG_OUTPUT_DIR"))
            .card(
                "Predicts the subjective MOS of HDR user-generated video, as CHUG's crowd \
                 workers rated it (0-100, rescaled to 1-5), from the objective features of \
                 the `{schema}` schema. It is an interim HDR quality signal for ladder and \
                 encoding decisions on HDR UGC.",
                &[
                    "It is not an HDR VMAF: it maps VMAF's elementary features (designed and \
                     validated for SDR) to CHUG's HDR crowd MOS; do not report it as HDR VMAF, \
                     nor use it as HDR ground truth or a full-reference fidelity score.",
                    "CHUG is HDR user-generated video on a 360p-1080p, 0.2-3 Mbps ladder: \
                     outside that range (professional content, SDR, other ladders) it \
                     extrapolates.",
                ],
            )
            .licence("CHUG is CC BY-NC-SA 4.0 (README says CC BY-NC 4.0): non-commercial, share-alike. Do not redistribute CHUG media, features or heads without checking it.")
            .sample("shards", SAMPLE, None)
            .sample("shards", SAMPLE_REF, Some(codes::REFERENCE_ROW))
            .build()
    }

    fn open(_: &Descriptor, schema: &str, config: &ProjectorConfig) -> Result<Self, String> {
        let display = match config.context.get("display-profile") {
            Some(text) => Some(DisplayProfile::parse(text)?),
            None => None,
        };
        if schema == "chug-hdr-display-v1" && display.is_none() {
            return Err("chug-hdr-display-v1 needs a display profile".into());
        }
        Ok(ChugHdr { display })
    }

    fn synthesize(request: &SynthRequest) -> Result<SynthOutput, String> {
        synth::corpus(request)
    }

    fn column(&self, row: &Row<'_>, column: &str) -> Option<f64> {
        if let Some(v) = rules::feature_value(row, column) {
            return Some(v);
        }
        let ratio = |key: &str, div: f64| row.number(key).filter(|v| *v >= 0.0).map(|v| v / div);
        match column {
            "chug_bitrate_mbps" => bitrate_mbps(row),
            "chug_orientation_portrait" => {
                let o = row.string("chug_orientation")?.trim().to_ascii_lowercase();
                if o.starts_with("portrait") {
                    Some(1.0)
                } else if o.starts_with("landscape") {
                    Some(0.0)
                } else {
                    None
                }
            }
            "chug_ref" => row.number("chug_ref"),
            "distorted_width_norm" => ratio("width", 3840.0),
            "distorted_height_norm" => ratio("height", 2160.0),
            "reference_width_norm" => ratio("feature_width", 3840.0),
            "reference_height_norm" => ratio("feature_height", 2160.0),
            "duration_s_norm" => ratio("duration_s", 60.0),
            "n_feature_frames_norm" => ratio("n_feature_frames", 1800.0),
            "feature_bitdepth_norm" => row
                .number("feature_bitdepth")
                .map(|b| (b - 8.0) / 4.0)
                .filter(|v| *v >= 0.0),
            c if c.starts_with("display_") => display::column(row, self.display.as_ref(), c),
            c => moshead_plugin_common::konvid_v1_column(row, c),
        }
    }

    fn mos_se(&self, row: &Row<'_>) -> Option<f64> {
        // `mos_std_dev` (CHUG's `sos_j`) is on the 0-100 axis.
        rules::positive(row, "mos_std_dev").map(|v| v / 25.0)
    }
}

/// `chug_bitrate_label` when the key exists ("0.2M" -> 0.2, "500K" -> 0.5,
/// "ref" -> none); otherwise `bitrate_mbps`, then `bitrate_kbps` / 1000.
fn bitrate_mbps(row: &Row<'_>) -> Option<f64> {
    if row.has("chug_bitrate_label") {
        let label = row.string("chug_bitrate_label")?;
        let label = label.trim().to_ascii_lowercase();
        let (num, div) = if let Some(n) = label.strip_suffix('m') {
            (n, 1.0)
        } else if let Some(n) = label.strip_suffix('k') {
            (n, 1000.0)
        } else {
            (label.as_str(), 1.0)
        };
        return num
            .parse::<f64>()
            .ok()
            .map(|v| v / div)
            .filter(|v| *v >= 0.0);
    }
    row.number("bitrate_mbps")
        .or_else(|| row.number("bitrate_kbps").map(|k| k / 1000.0))
        .filter(|v| *v >= 0.0)
}

const SAMPLE: &str = r#"{"corpus":"chug","chug_video_id":"v001","chug_content_name":"content_1","chug_bitladder":"720p_2M_","chug_bitrate_label":"2M","chug_orientation":"landscape","chug_ref":0,"mos":3.2,"mos_raw_0_100":55.0,"mos_std_dev":2.5,"adm2":0.93,"vif_scale0_mean":0.61,"vif_scale1":0.8,"vif_scale2":0.86,"vif_scale3":0.9,"motion2":6.1,"width":1280,"height":720,"feature_width":1920,"feature_height":1080,"duration_s":9.8,"n_feature_frames":294,"feature_bitdepth":10}"#;
const SAMPLE_REF: &str = r#"{"corpus":"chug","chug_video_id":"v000","chug_content_name":"content_1","chug_bitladder":"1080p_ref_","chug_ref":1,"mos_raw_0_100":62.0}"#;

moshead_sdk::export_adapter!(ChugHdr);

#[cfg(test)]
mod tests;
