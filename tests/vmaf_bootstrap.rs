//! The libvmaf bootstrap collection (`--export vmaf-bootstrap`) in the real
//! runtime: stock libvmaf 2.3.1 loads `<id>_vmaf_b.json` as shipped
//! (`vmaf --model path=...:name=NAME`), and its four per-frame values
//! (`NAME_bagging`, `NAME_stddev`, `NAME_ci_p95_lo`, `NAME_ci_p95_hi`)
//! equal `moshead predict`'s (`bagging`, `stddev`, `ci_p95_lo`,
//! `ci_p95_hi`) on that frame's features read from the same log; model 0
//! (`NAME`) equals `prediction_native`.
//!
//! The bound is the one of `tests/vmaf.rs` taken over the refitted heads:
//! each head's score moves by at most `2 * 5e-7 * sum_j |d score / d x_j|`
//! within the log's printed precision of the features, and the mean, the
//! population standard deviation and every order statistic move by at
//! most the largest of those (each is 1-Lipschitz in the largest change);
//! the printed value adds 5e-7. The standard deviation's clip slope jumps
//! where the mean is within 0.01 of the clip's ends: such frames are
//! checked for the other three values only (and counted).

use std::collections::BTreeMap;

use moshead_e2e::moshead;
use moshead_sdk::schemas::CANONICAL;
use serde_json::Value;

use crate::export::{read_json, sha256};
use crate::libvmaf::{run_vmaf, scored_clips};
use crate::vmaf::{chug_row, floats, native_gradient};

const ID: &str = "chug_hdr_mos_head_v1";
const VALUES: [&str; 4] = ["bagging", "stddev", "ci_p95_lo", "ci_p95_hi"];

/// Trains the demo head `head` into `out` with the collection of `n`
/// refitted heads.
fn train(dir: &std::path::Path, out: &str, head: &str, n: &str) {
    moshead(
        dir,
        &[
            "train",
            "--quiet",
            "-a",
            "chug-hdr",
            "--demo",
            "--schema",
            "vmaf-canonical-v1",
            "--head",
            head,
            "--export",
            "vmaf-bootstrap",
            "--bootstrap-models",
            n,
            "--out",
            out,
            "--force",
        ],
    )
    .ok();
}

#[test]
fn stock_libvmaf_loads_the_bootstrap_collection_and_scores_as_moshead_predicts() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let clips = scored_clips(dir, false);
    train(dir, "rb", "ridge", "20");
    train(dir, "sb", "svr", "6");

    // The manifest and every file of the set are byte-identical across two
    // runs (the resamples and the refits are seeded).
    let set = |sub: &str| -> BTreeMap<String, String> {
        ["", ".onnx", "_vmaf.json", "_vmaf_b.json", "_card.md"]
            .iter()
            .map(|s| {
                let name = if s.is_empty() {
                    format!("{ID}.json")
                } else {
                    format!("{ID}{s}")
                };
                (name.clone(), sha256(&dir.join(sub).join(name)))
            })
            .collect()
    };
    let first = set("rb");
    train(dir, "rb", "ridge", "20");
    assert_eq!(set("rb"), first);

    for (sub, n) in [("rb", 20), ("sb", 6)] {
        let m = read_json(&dir.join(format!("{sub}/{ID}.json")));
        let file = format!("{ID}_vmaf_b.json");
        assert_eq!(m["exports"]["vmaf-bootstrap"]["path"], file.as_str());
        let collection = dir.join(sub).join(&file);
        assert_eq!(
            m["exports"]["vmaf-bootstrap"]["sha256"],
            sha256(&collection)
        );
        assert_eq!(m["bootstrap"]["models"].as_array().unwrap().len(), n);
        // libvmaf's layout: "0".."N" in order, model 0 the shipped head
        // (the same libsvm model as `<id>_vmaf.json`).
        let text = std::fs::read_to_string(&collection).unwrap();
        let c: Value = serde_json::from_str(&text).unwrap();
        let single = read_json(&dir.join(sub).join(format!("{ID}_vmaf.json")));
        assert_eq!(c["0"]["model_dict"]["model"], single["model_dict"]["model"]);
        let mut at = 0;
        for k in 0..=n {
            let key = format!("\"{k}\": {{");
            let pos = text.find(&key).unwrap_or_else(|| panic!("no key {k}"));
            assert!(pos > at, "key {k} out of order");
            at = pos;
            assert_eq!(
                c[k.to_string()]["model_dict"]["model_type"],
                "BOOTSTRAP_LIBSVMNUSVR"
            );
        }
        assert!(c.get((n + 1).to_string()).is_none());
        // The refitted heads differ from the shipped one.
        assert_ne!(c["1"]["model_dict"]["model"], c["0"]["model_dict"]["model"]);
    }

    // `export` writes the same collection again from the manifest alone.
    let collection = dir.join(format!("rb/{ID}_vmaf_b.json"));
    std::fs::remove_file(&collection).unwrap();
    let manifest = format!("rb/{ID}.json");
    let args = ["export", "--model", &manifest, "--export", "vmaf-bootstrap"];
    moshead(dir, &args).ok();
    assert_eq!(sha256(&collection), first[&format!("{ID}_vmaf_b.json")]);

    let picked = ["c0_blur2", "c0_noise20", "c1_down2", "c1_noise6"];
    for (sub, name) in [("rb", "rb"), ("sb", "sb")] {
        frames_match(dir, &clips, &picked, sub, name);
    }
}

/// A frame: its row id, its six features and libvmaf's values by name.
type Frame = (String, BTreeMap<&'static str, f64>, BTreeMap<String, f64>);

/// libvmaf scores the `picked` clips with the collection of `sub`, and
/// every frame's four values and model 0's score equal `moshead predict`'s
/// within the bound of the module documentation.
fn frames_match(
    dir: &std::path::Path,
    clips: &[crate::libvmaf::Scored],
    picked: &[&str],
    sub: &str,
    name: &str,
) {
    let manifest_path = dir.join(format!("{sub}/{ID}.json"));
    let m = read_json(&manifest_path);
    let collection = dir.join(format!("{sub}/{ID}_vmaf_b.json"));
    let members: Vec<Value> = m["bootstrap"]["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            serde_json::json!({"standardization": b["standardization"], "head": b["head"],
                "adapter": m["adapter"]})
        })
        .collect();
    let spec = format!("path={}:name={name}", collection.display());
    let mut frames: Vec<Frame> = Vec::new();
    for &clip_name in picked {
        let clip = clips.iter().find(|c| c.name == clip_name).unwrap();
        let reference = dir.join(format!("yuv/ref{}.yuv", clip.content));
        let distorted = dir.join(format!("yuv/{clip_name}.yuv"));
        let log = dir.join(format!("{clip_name}_{sub}.json"));
        run_vmaf(&reference, &distorted, &log, &["--model", &spec]);
        let log = read_json(&log);
        for f in log["frames"].as_array().unwrap() {
            let metrics = &f["metrics"];
            let x: BTreeMap<&str, f64> = CANONICAL
                .iter()
                .map(|c| (*c, metrics[format!("integer_{c}")].as_f64().unwrap()))
                .collect();
            let mut lib = BTreeMap::new();
            let keys = std::iter::once(name.to_owned())
                .chain(VALUES.iter().map(|v| format!("{name}_{v}")))
                .chain([format!("{name}_0001")]);
            for k in keys {
                let v = metrics[&k].as_f64();
                lib.insert(
                    k.clone(),
                    v.unwrap_or_else(|| panic!("libvmaf wrote no {k}: {f}")),
                );
            }
            frames.push((format!("{clip_name}#{}", f["frameNum"]), x, lib));
        }
    }
    assert_eq!(frames.len(), picked.len() * 10);

    let rows: String = frames
        .iter()
        .map(|(id, x, _)| chug_row(id, x) + "\n")
        .collect();
    let input = dir.join(format!("{sub}_frames.jsonl"));
    std::fs::write(&input, rows).unwrap();
    let binding = format!("features={}", input.display());
    let model = manifest_path.to_str().unwrap();
    let out = moshead(dir, &["predict", "--model", model, "-i", &binding]);
    let predicted: BTreeMap<String, Value> = out
        .ok()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["id"].as_str().unwrap().to_owned(), v)
        })
        .collect();
    assert_eq!(predicted.len(), frames.len(), "{sub}");
    let clip = floats(&read_json(&collection)["0"]["model_dict"]["score_clip"]);
    let (mut worst, mut near_edge, mut inside) = (0.0f64, 0, 0);
    for (id, x, lib) in &frames {
        let xv: Vec<f64> = CANONICAL.iter().map(|c| x[c]).collect();
        let sum_abs = |g: Vec<f64>| g.iter().map(|v| v.abs()).sum::<f64>();
        let moved = members
            .iter()
            .map(|b| 2.0 * 5e-7 * sum_abs(native_gradient(b, &xv)))
            .fold(0.0f64, f64::max);
        let p = &predicted[id];
        let bound = 5e-7 + moved + 1e-9;
        let bagging = p["bagging"].as_f64().unwrap();
        let edge = (bagging - clip[0]).abs() < 0.02 || (clip[1] - bagging).abs() < 0.02;
        near_edge += usize::from(edge);
        for v in VALUES {
            if v == "stddev" && edge {
                continue;
            }
            let (theirs, ours) = (lib[&format!("{name}_{v}")], p[v].as_f64().unwrap());
            assert!(
                (theirs - ours).abs() <= bound,
                "{sub} {id} {v}: libvmaf {theirs} vs moshead predict {ours} (bound {bound:e})"
            );
            worst = worst.max((theirs - ours).abs());
        }
        // Model 0 is the shipped head (the bound of tests/vmaf.rs).
        let g0 = 2.0 * 5e-7 * sum_abs(native_gradient(&m, &xv));
        let (theirs, ours) = (lib[name], p["prediction_native"].as_f64().unwrap());
        assert!(
            (theirs - ours).abs() <= 5e-7 + g0 + 1e-9,
            "{sub} {id}: libvmaf {theirs} vs moshead predict {ours}"
        );
        if bagging > clip[0] && bagging < clip[1] {
            inside += 1;
        }
        // The interval holds the bagged score, and the spread is real.
        assert!(p["ci_p95_lo"].as_f64().unwrap() <= bagging + 1e-12);
        assert!(p["ci_p95_hi"].as_f64().unwrap() >= bagging - 1e-12);
    }
    // The comparison is of the models, not of the clip.
    assert!(
        inside * 2 > frames.len(),
        "{sub}: {inside} of {} inside",
        frames.len()
    );
    assert!(
        near_edge * 2 < frames.len(),
        "{sub}: {near_edge} near the clip's ends"
    );
    let spread: f64 = predicted
        .values()
        .map(|p| p["stddev"].as_f64().unwrap())
        .sum();
    assert!(spread > 0.0, "{sub}: every stddev is 0");
    eprintln!(
        "{sub}: {} frames, largest |libvmaf - predict| over the four values {worst:.3e}, {near_edge} near the clip's ends",
        frames.len()
    );
}

#[test]
fn the_collection_is_refused_for_heads_libvmaf_cannot_evaluate_and_without_refits() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let base = [
        "train",
        "-a",
        "chug-hdr",
        "--demo",
        "--schema",
        "vmaf-canonical-v1",
    ];
    // Asked for with a head libvmaf cannot evaluate: the usual refusal,
    // before any work.
    let mut args = base.to_vec();
    args.extend([
        "--head",
        "mlp",
        "--export",
        "vmaf-bootstrap",
        "--out",
        "mlp",
    ]);
    let e = moshead(dir, &args).fails(1).to_owned();
    assert!(
        e.contains("--export vmaf-bootstrap") && e.contains("the mlp head") && e.contains("tanh"),
        "{e}"
    );
    assert!(!dir.join("mlp").exists());
    let mut args = base.to_vec();
    args.extend(["--export", "vmaf-bootstrap", "--out", "auto"]);
    let e = moshead(dir, &args).fails(1).to_owned();
    assert!(
        e.contains("--export vmaf-bootstrap with --head auto"),
        "{e}"
    );
    let mut args = base.to_vec();
    args.extend([
        "--head",
        "ridge",
        "--bootstrap-models",
        "0",
        "--out",
        "zero",
    ]);
    moshead(dir, &args).fails(2);
    // Without the export, the set has no collection and the manifest no
    // refitted heads; exporting it on demand says what is missing.
    let mut args = base.to_vec();
    args.extend(["--head", "ridge", "--out", "plain"]);
    moshead(dir, &args).ok();
    let m = read_json(&dir.join(format!("plain/{ID}.json")));
    assert!(m.get("bootstrap").is_none() && m["exports"].get("vmaf-bootstrap").is_none());
    assert!(!dir.join(format!("plain/{ID}_vmaf_b.json")).exists());
    let manifest = format!("plain/{ID}.json");
    let args = ["export", "--model", &manifest, "--export", "vmaf-bootstrap"];
    let e = moshead(dir, &args).fails(1).to_owned();
    assert!(
        e.contains("--export vmaf-bootstrap: the manifest records no bootstrap models"),
        "{e}"
    );
    // Predictions of a model without refitted heads carry none of the four.
    let out = moshead(dir, &["predict", "--model", &manifest, "--demo"])
        .ok()
        .to_owned();
    let first: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert!(first.get("bagging").is_none(), "{first}");
}
