//! Synthetic KonViD rows: KoNViD-1k-like (many ratings per clip) or
//! KonVid-150k-like (set A with 5 noisy ratings, set B with 89+).

use moshead_sdk::prelude::*;
use serde_json::json;

/// Generates `request.rows` clips of the requested variant (default
/// `konvid-1k`).
pub fn corpus(request: &SynthRequest) -> Result<SynthOutput, String> {
    let variant = request.variant.as_deref().unwrap_or("konvid-1k");
    let big = match variant {
        "konvid-1k" => false,
        "konvid-150k" => true,
        other => {
            return Err(format!(
                "konvid has no synthetic variant `{other}` (konvid-1k, konvid-150k)"
            ))
        }
    };
    if request.rows < 2 {
        return Err("synthetic KonViD needs at least two rows".into());
    }
    let n = request.rows;
    // Set B is about 1 % of KonVid-150k; keep it usable on small corpora.
    let set_b = ((n as f64 * 0.0104).round() as usize)
        .max((n / 5).min(100))
        .min(n - 1);
    let mut rng = Rng::new(request.seed);
    let mut text = String::with_capacity(n * 520);
    for i in 0..n {
        let in_b = big && i >= n - set_b;
        let q = rng.uniform(0.0, 1.0);
        let motion = rng.uniform(0.0, 30.0);
        let f = synth::base_features(&mut rng, q, motion);
        let saliency_mean = rng.uniform(0.0, 0.6);
        let clean = moshead_plugin_common::smoke_mos(&mut rng, &f, saliency_mean);
        // Set A's 5 ratings make its MOS much noisier than set B's 89+.
        let (ratings, noise) = match (big, in_b) {
            (false, _) => (50 + rng.index(65), 0.0),
            (true, false) => (5, 0.30),
            (true, true) => (89 + rng.index(30), 0.05),
        };
        let mos = (clean + rng.normal(0.0, noise)).clamp(1.0, 5.0);
        let n_frames = 240 + rng.index(60);
        let shots = 1 + rng.index(5);
        let mut row = json!({
            "corpus": variant,
            "corpus_version": if big { "konvid-150k-2019" } else { "konvid-1k-2017" },
            "src": format!("{}{:07}.mp4", if big { "k150k_" } else { "" }, 3_000_000 + i),
            "src_sha256": rng.hex(32),
            "src_size_bytes": 400_000 + rng.index(4_000_000),
            "width": 960,
            "height": 540,
            "framerate": 29.97,
            "duration_s": 8.0,
            "pix_fmt": "yuv420p",
            "encoder_upstream": "ugc-mixed",
            "mos": synth::round(mos, 4),
            "mos_std_dev": if big { 0.0 } else { synth::round(rng.uniform(0.5, 0.95), 4) },
            "n_ratings": if big { 0 } else { ratings },
            "saliency_mean": synth::round(saliency_mean, 6),
            "saliency_var": synth::round(rng.uniform(0.0, 0.05), 6),
            "shot_count": shots,
            "shot_mean_len_s": synth::round(8.0 / shots as f64, 4),
            "shot_cuts": shots - 1,
            "n_frames": n_frames,
            "synthetic": true,
        });
        for (name, v) in f.named() {
            row[name] = json!(synth::round(v, 6));
        }
        if big {
            row["split"] = json!(if in_b { "k150kb" } else { "k150ka" });
        }
        text.push_str(&row.to_string());
        text.push('\n');
    }
    Ok(SynthOutput::one_file(
        variant,
        &format!("{variant}.jsonl"),
        text,
    ))
}
