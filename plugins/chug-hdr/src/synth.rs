//! Synthetic CHUG shards: contents x (6 distorted rungs + a reference), with
//! the real ladder, plausible correlated features and MOS on 0-100.

use moshead_sdk::prelude::*;
use serde_json::{json, Map, Value};

/// `(bitladder, resolution, height, bitrate label, Mbps)`; the last is the
/// reference.
const LADDER: [(&str, &str, u32, &str, f64); 7] = [
    ("360p_0.2M_", "360p", 360, "0.2M", 0.2),
    ("1080p_0.5M_", "1080p", 1080, "0.5M", 0.5),
    ("720p_0.5M_", "720p", 720, "0.5M", 0.5),
    ("720p_2M_", "720p", 720, "2M", 2.0),
    ("1080p_1M_", "1080p", 1080, "1M", 1.0),
    ("1080p_3M_", "1080p", 1080, "3M", 3.0),
    ("1080p_ref_", "ref", 1080, "ref", f64::NAN),
];

const SHARDS: usize = 8;

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Generates `ceil(rows / 6)` contents in eight shard files.
pub fn corpus(request: &SynthRequest) -> Result<SynthOutput, String> {
    if request.rows == 0 {
        return Err("synthetic CHUG needs at least one row".into());
    }
    if let Some(v) = &request.variant {
        return Err(format!("chug-hdr has no synthetic variant `{v}`"));
    }
    let mut rng = Rng::new(request.seed);
    let contents = request.rows.div_ceil(6);
    let mut shards = vec![String::new(); SHARDS.min(contents)];
    for c in 0..contents {
        let name = format!("synth_content_{c:04}");
        let complexity = rng.uniform(0.0, 1.0);
        let appeal = rng.normal(0.0, 5.0);
        let motion = (4.0 + 20.0 * complexity + rng.normal(0.0, 4.0)).clamp(0.0, 30.0);
        let portrait = rng.index(2) == 1;
        let fps = [29.97, 30.0, 59.94][rng.index(3)];
        let duration = rng.uniform(6.0, 10.0);
        let split = rules::content_hash_split("chug-hdr-v1", &name, 0.8, 0.1);
        let ref_sha = rng.hex(32);
        let shard = &mut shards[c % SHARDS.min(contents)];
        for (r, (ladder, res, height, label, mbps)) in LADDER.iter().enumerate() {
            let is_ref = *res == "ref";
            let res_penalty = match *height {
                360 => -0.8,
                720 => -0.2,
                _ => 0.0,
            };
            let q = if is_ref {
                1.0
            } else {
                sigmoid(1.3 * mbps.ln() + 0.9 - 2.0 * (complexity - 0.5) + res_penalty)
            };
            let mos_raw = (30.0 + 36.0 * q + appeal - 0.15 * motion * (1.0 - q)
                + rng.normal(0.0, 4.0))
            .clamp(0.0, 100.0);
            let f = synth::base_features(&mut rng, q, motion);
            let (h, w) = (*height, height * 16 / 9);
            let (width, height) = if portrait { (h, w) } else { (w, h) };
            let mut row = Map::new();
            for (feature, v) in f.named() {
                let (p10, p90, std) = synth::frame_stats(&mut rng, v);
                row.insert(feature.into(), json!(synth::round(v, 6)));
                row.insert(format!("{feature}_mean"), json!(synth::round(v, 6)));
                row.insert(format!("{feature}_p10"), json!(synth::round(p10, 6)));
                row.insert(format!("{feature}_p90"), json!(synth::round(p90, 6)));
                row.insert(format!("{feature}_std"), json!(synth::round(std, 6)));
            }
            let id = format!("{}{r}", rng.hex(6));
            let fields = json!({
                "corpus": "chug",
                "corpus_version": "chug-icip-2025",
                "src": format!("{id}.mp4"),
                "src_sha256": rng.hex(32),
                "width": width,
                "height": height,
                "framerate": fps,
                "duration_s": synth::round(duration, 3),
                "pix_fmt": "yuv420p10le",
                "mos": synth::round(1.0 + 4.0 * mos_raw / 100.0, 6),
                "mos_raw_0_100": synth::round(mos_raw, 4),
                "mos_std_dev": synth::round(rng.uniform(1.4, 4.7), 4),
                "n_ratings": 0,
                "chug_video_id": id,
                "chug_ref": u8::from(is_ref),
                "chug_name": format!("{ladder}#{name}"),
                "chug_bitladder": ladder,
                "chug_resolution": res,
                "chug_bitrate_label": label,
                "chug_orientation": if portrait { "portrait" } else { "landscape" },
                "chug_framerate_manifest": fps,
                "chug_content_name": name,
                "chug_width_manifest": width,
                "chug_height_manifest": height,
                "feature_width": if portrait { 1080 } else { 1920 },
                "feature_height": if portrait { 1920 } else { 1080 },
                "feature_bitdepth": 10,
                "feature_alignment": "distorted_scaled_to_reference",
                "feature_ref_sha256": ref_sha,
                "n_feature_frames": (fps * duration).round(),
                "split": split.as_str(),
                "chug_split_key": name,
                "chug_split_policy": "content-name-blake2s-80-10-10",
                "synthetic": true,
            });
            if let Value::Object(extra) = fields {
                row.extend(extra);
            }
            shard.push_str(&Value::Object(row).to_string());
            shard.push('\n');
        }
    }
    let files = shards
        .into_iter()
        .enumerate()
        .map(|(i, text)| (format!("shards/shard_{i:02}.features.jsonl"), text))
        .collect();
    Ok(SynthOutput {
        files,
        inputs: vec![("shards".into(), "shards".into())],
    })
}
