//! The libvmaf model export in the real runtime: heads trained on
//! `vmaf-canonical-v1` are exported as `<id>_vmaf.json`, loaded by stock
//! libvmaf 2.3.1's `vmaf` tool (`--model path=...`) on generated YUV clips,
//! and every frame's libvmaf score is checked against `moshead predict` on
//! that frame's features, read from the same libvmaf log.
//!
//! The bound: the log prints features and scores to 6 decimals, so each
//! feature libvmaf evaluated lies within 5e-7 of the printed one and its
//! score within 5e-7 of the printed score. The difference is then at most
//! `5e-7 + sum_j |d score / d x_j| * 5e-7`, with the gradient of the head
//! (on the native scale) computed here from the manifest at the printed
//! features; a factor 2 on the gradient term covers its variation over that
//! 5e-7 box, and 1e-9 the two evaluations' floating-point order.

use std::collections::BTreeMap;

use moshead_e2e::{fixture_lib, moshead, plugin_dir};
use moshead_sdk::schemas::CANONICAL;
use serde_json::Value;

use crate::export::{read_json, sha256};
use crate::libvmaf::{run_vmaf, scored_clips, KONVID_LOGS};

pub fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// The gradient of a manifest's head on the native scale, at raw features
/// `x` (before the clip, which only flattens it).
pub fn native_gradient(m: &Value, x: &[f64]) -> Vec<f64> {
    let mean = floats(&m["standardization"]["mean"]);
    let sd = floats(&m["standardization"]["std"]);
    let p = floats(&m["head"]["parameters"]);
    let to_head = m["adapter"]["mos_scale"]["to_head_scale"].as_f64().unwrap();
    let f = x.len();
    let xs: Vec<f64> = (0..f).map(|j| (x[j] - mean[j]) / sd[j]).collect();
    let dz: Vec<f64> = match m["head"]["spec"]["type"].as_str().unwrap() {
        "ridge" => p[..f].to_vec(),
        "svr" => {
            let svr = &m["head"]["spec"]["svr"];
            let gamma = svr["gamma"].as_f64().unwrap();
            let n = (p.len() - 1) / (f + 1);
            let (coef, sv) = p[1..].split_at(n);
            let mut g = vec![0.0; f];
            for (i, c) in coef.iter().enumerate() {
                let s = &sv[i * f..(i + 1) * f];
                match svr["kernel"].as_str().unwrap() {
                    "rbf" => {
                        let d2: f64 = (0..f).map(|j| (xs[j] - s[j]).powi(2)).sum();
                        let k = (-gamma * d2).exp();
                        for j in 0..f {
                            g[j] += c * k * -2.0 * gamma * (xs[j] - s[j]);
                        }
                    }
                    "linear" => {
                        for j in 0..f {
                            g[j] += c * s[j];
                        }
                    }
                    k => panic!("kernel {k}"),
                }
            }
            g
        }
        h => panic!("head {h}"),
    };
    (0..f).map(|j| dz[j] / sd[j] / to_head).collect()
}

/// A frame: its row id, its six features and each model's libvmaf score.
type Frame = (
    String,
    BTreeMap<&'static str, f64>,
    BTreeMap<&'static str, f64>,
);

/// One trained model under test.
pub struct Trained {
    /// The model's name in libvmaf's log.
    pub name: &'static str,
    /// Its manifest.
    pub manifest: std::path::PathBuf,
    /// Its libvmaf model.
    pub vmaf: std::path::PathBuf,
    /// The adapter's row slot for per-frame rows and how to write one.
    pub slot: &'static str,
    /// A raw row of the adapter from a frame's id and features.
    pub row: fn(&str, &BTreeMap<&str, f64>) -> String,
}

/// The raw row `o` with the features `x` added.
pub fn with_features(mut o: Value, x: &BTreeMap<&str, f64>) -> String {
    for (k, v) in x {
        o[*k] = (*v).into();
    }
    o.to_string()
}

fn konvid_row(id: &str, x: &BTreeMap<&str, f64>) -> String {
    with_features(serde_json::json!({"corpus": "konvid-1k", "src": id}), x)
}

pub fn chug_row(id: &str, x: &BTreeMap<&str, f64>) -> String {
    let o = serde_json::json!({
        "corpus": "chug", "chug_video_id": id, "chug_content_name": "frames",
        "chug_bitladder": "720p_2M_", "chug_bitrate_label": "2M",
        "chug_orientation": "landscape", "chug_ref": 0,
    });
    with_features(o, x)
}

#[test]
fn exported_vmaf_models_score_every_frame_in_libvmaf_as_moshead_predicts() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let clips = scored_clips(dir, false);
    // KonViD labels: libvmaf's own score of each clip mapped onto 1-5.
    let mut csv = String::from("flickr_id,MOS,SD,n\n");
    for c in &clips {
        let log = read_json(&c.log);
        let v = log["pooled_metrics"]["vmaf"]["mean"].as_f64().unwrap();
        csv.push_str(&format!(
            "{},{:.4},0.5,40\n",
            c.name,
            (1.0 + 4.0 * v / 100.0).clamp(1.0, 5.0)
        ));
    }
    std::fs::write(dir.join("attributes.csv"), &csv).unwrap();
    let mut konvid = KONVID_LOGS.to_vec();
    konvid.extend(["--validation", "kfold", "--folds", "4"]);
    let train = |out: &str, base: &[&str], head: &[&str]| {
        let mut args = vec!["train", "--quiet", "--export", "vmaf", "--out", out];
        args.extend(base);
        args.extend(head);
        moshead(dir, &args).ok();
    };
    // The (epsilon, RBF) SVR on CHUG's 0-100 scale (the label's rescale and
    // the clip are not the identity), the ridge head, an RBF nu-SVR and a
    // linear-kernel nu-SVR on KonViD's 1-5.
    train(
        "svr",
        &["-a", "chug-hdr", "--demo", "--schema", "vmaf-canonical-v1"],
        &["--head", "svr"],
    );
    train("ridge", &konvid, &["--head", "ridge"]);
    train(
        "linsvr",
        &konvid,
        &[
            "--head",
            "svr",
            "--svr-kernel",
            "linear",
            "--svr-type",
            "nu",
        ],
    );
    train("nusvr", &konvid, &["--head", "svr", "--svr-type", "nu"]);
    let models = [
        Trained {
            name: "svr",
            manifest: dir.join("svr/chug_hdr_mos_head_v1.json"),
            vmaf: dir.join("svr/chug_hdr_mos_head_v1_vmaf.json"),
            slot: "features",
            row: chug_row,
        },
        Trained {
            name: "ridge",
            manifest: dir.join("ridge/konvid_mos_head_v1.json"),
            vmaf: dir.join("ridge/konvid_mos_head_v1_vmaf.json"),
            slot: "konvid-1k",
            row: konvid_row,
        },
        Trained {
            name: "nusvr",
            manifest: dir.join("nusvr/konvid_mos_head_v1.json"),
            vmaf: dir.join("nusvr/konvid_mos_head_v1_vmaf.json"),
            slot: "konvid-1k",
            row: konvid_row,
        },
        Trained {
            name: "linsvr",
            manifest: dir.join("linsvr/konvid_mos_head_v1.json"),
            vmaf: dir.join("linsvr/konvid_mos_head_v1_vmaf.json"),
            slot: "konvid-1k",
            row: konvid_row,
        },
    ];
    for t in &models {
        let m = read_json(&t.manifest);
        assert_eq!(
            m["exports"]["vmaf"]["path"],
            t.vmaf.file_name().unwrap().to_str().unwrap()
        );
        assert_eq!(
            m["exports"]["vmaf"]["sha256"],
            sha256(&t.vmaf),
            "{}",
            t.name
        );
        let v = read_json(&t.vmaf);
        let names: Vec<&str> = v["model_dict"]["feature_names"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap())
            .collect();
        assert_eq!(names.len(), CANONICAL.len());
        assert_eq!(names[0], "VMAF_integer_feature_adm2_score");
    }

    // libvmaf scores four clips with all four models at once.
    let picked = ["c0_blur2", "c0_noise20", "c1_down2", "c1_noise6"];
    frames_score_as_predicted(dir, &clips, &picked, &models);
}

/// libvmaf scores the `picked` clips with every model at once (`vmaf
/// --model path=...`), and every frame's score equals `moshead predict` on
/// that frame's features read from the same log, within the log's printed
/// precision (see the module's bound).
pub fn frames_score_as_predicted(
    dir: &std::path::Path,
    clips: &[crate::libvmaf::Scored],
    picked: &[&str],
    models: &[Trained],
) {
    let mut frames: Vec<Frame> = Vec::new();
    for &name in picked {
        let clip = clips.iter().find(|c| c.name == name).unwrap();
        let reference = dir.join(format!("yuv/ref{}.yuv", clip.content));
        let distorted = dir.join(format!("yuv/{name}.yuv"));
        let log = dir.join(format!("{name}_models.json"));
        let specs: Vec<String> = models
            .iter()
            .map(|t| format!("path={}:name={}", t.vmaf.display(), t.name))
            .collect();
        let mut extra = Vec::new();
        for s in &specs {
            extra.extend(["--model", s.as_str()]);
        }
        run_vmaf(&reference, &distorted, &log, &extra);
        let log = read_json(&log);
        for f in log["frames"].as_array().unwrap() {
            let metrics = &f["metrics"];
            let features: BTreeMap<&str, f64> = CANONICAL
                .iter()
                .map(|c| {
                    let v = metrics[format!("integer_{c}")].as_f64();
                    (
                        *c,
                        v.unwrap_or_else(|| panic!("{name}: no integer_{c} in {f}")),
                    )
                })
                .collect();
            let scores: BTreeMap<&str, f64> = models
                .iter()
                .map(|t| {
                    let v = metrics[t.name].as_f64();
                    (
                        t.name,
                        v.unwrap_or_else(|| {
                            panic!("{name}: libvmaf wrote no {} score: {f}", t.name)
                        }),
                    )
                })
                .collect();
            frames.push((format!("{name}#{}", f["frameNum"]), features, scores));
        }
    }
    assert_eq!(frames.len(), picked.len() * 10);

    for t in models {
        let rows: String = frames
            .iter()
            .map(|(id, x, _)| (t.row)(id, x) + "\n")
            .collect();
        let input = dir.join(format!("{}_frames.jsonl", t.name));
        std::fs::write(&input, rows).unwrap();
        let manifest = t.manifest.to_str().unwrap();
        let binding = format!("{}={}", t.slot, input.display());
        let out = moshead(dir, &["predict", "--model", manifest, "-i", &binding]);
        let predicted: BTreeMap<String, f64> = out
            .ok()
            .lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                (
                    v["id"].as_str().unwrap().to_owned(),
                    v["prediction_native"].as_f64().unwrap(),
                )
            })
            .collect();
        assert_eq!(predicted.len(), frames.len(), "{}: {out}", t.name);
        let m = read_json(&t.manifest);
        let clip = floats(&read_json(&t.vmaf)["model_dict"]["score_clip"]);
        let (mut worst, mut worst_bound, mut inside) = (0.0f64, 0.0f64, 0);
        for (id, x, scores) in &frames {
            let xv: Vec<f64> = CANONICAL.iter().map(|c| x[c]).collect();
            let g = native_gradient(&m, &xv);
            let bound = 5e-7 + 2.0 * 5e-7 * g.iter().map(|v| v.abs()).sum::<f64>() + 1e-9;
            let (lib, ours) = (scores[t.name], predicted[id]);
            assert!(
                (lib - ours).abs() <= bound,
                "{} {id}: libvmaf {lib} vs moshead predict {ours} (bound {bound:e}, gradient {g:?})",
                t.name
            );
            worst = worst.max((lib - ours).abs());
            worst_bound = worst_bound.max(bound);
            if ours > clip[0] && ours < clip[1] {
                inside += 1;
            }
        }
        // The bound is the precision of the log, not a loose tolerance: at
        // most 2e-5 of the native range (about 1e-3 on 0-100 is expected).
        assert!(
            worst_bound <= 2e-5 * (clip[1] - clip[0]),
            "{}: bound {worst_bound:e} on [{}, {}]",
            t.name,
            clip[0],
            clip[1]
        );
        // Most frames are scored inside the clip, so the comparison is of
        // the model, not of the clip.
        assert!(
            inside * 2 > frames.len(),
            "{}: {inside} of {} inside",
            t.name,
            frames.len()
        );
        eprintln!(
            "{}: {} frames, largest |libvmaf - predict| {worst:.3e}, largest bound {worst_bound:.3e}",
            t.name,
            frames.len()
        );
    }
}

#[test]
fn heads_and_schemas_libvmaf_cannot_express_are_refused_or_noted() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // Not `--quiet`: the notes on standard error are part of what is tested.
    let demo = ["train", "-a", "chug-hdr", "--demo", "--out"];
    let run = |out: &str, extra: &[&str]| {
        let mut args = demo.to_vec();
        args.push(out);
        args.extend(extra);
        moshead(dir, &args)
    };
    // `adapters show` tells which schemas libvmaf can take.
    let show = moshead(dir, &["adapters", "show", "chug-hdr"])
        .ok()
        .to_owned();
    let line = |name: &str| {
        show.lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("no {name}: {show}"))
            .to_owned()
    };
    assert!(line("vmaf-canonical-v1").contains(" yes "), "{show}");
    assert!(line("chug-hdr-wide-v1").contains(" 6/34 named "), "{show}");
    // Asked for: an error before any work, saying why.
    for (head, why) in [("mlp", "tanh"), ("linear", "sigmoid")] {
        let r = run(
            head,
            &[
                "--head",
                head,
                "--export",
                "vmaf",
                "--schema",
                "vmaf-canonical-v1",
            ],
        );
        let e = r.fails(1);
        assert!(
            e.contains("--export vmaf")
                && e.contains(&format!("the {head} head"))
                && e.contains(why),
            "{e}"
        );
        assert!(!dir.join(head).exists(), "{head}: wrote output");
    }
    let r = run("wide", &["--head", "svr", "--export", "vmaf"]);
    let e = r.fails(1);
    assert!(
        e.contains("chug-hdr-wide-v1") && e.contains("adm2_p10") && e.contains("vmaf-canonical-v1"),
        "{e}"
    );
    // Not asked for: the run goes on and says in one line why there is no
    // libvmaf model; nothing records one.
    let r = run("noted", &["--head", "mlp", "--schema", "vmaf-canonical-v1"]);
    r.ok();
    let notes: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.contains("_vmaf.json"))
        .collect();
    assert_eq!(notes.len(), 1, "{r}");
    assert!(
        notes[0].contains("no chug_hdr_mos_head_v1_vmaf.json") && notes[0].contains("mlp"),
        "{r}"
    );
    assert!(!dir.join("noted/chug_hdr_mos_head_v1_vmaf.json").exists());
    let m = read_json(&dir.join("noted/chug_hdr_mos_head_v1.json"));
    assert!(m["exports"].get("vmaf").is_none(), "{:#}", m["exports"]);
    let card = std::fs::read_to_string(dir.join("noted/chug_hdr_mos_head_v1_card.md")).unwrap();
    assert!(
        card.contains("| libvmaf model | not exported: libvmaf cannot evaluate the mlp head"),
        "{card}"
    );

    // `export --export vmaf` regenerates the same file from the manifest,
    // and refuses a manifest whose head libvmaf cannot evaluate.
    run(
        "ridge",
        &["--head", "ridge", "--schema", "vmaf-canonical-v1"],
    )
    .ok();
    let vmaf = dir.join("ridge/chug_hdr_mos_head_v1_vmaf.json");
    let before = sha256(&vmaf);
    std::fs::remove_file(&vmaf).unwrap();
    moshead(
        dir,
        &[
            "export",
            "--model",
            "ridge/chug_hdr_mos_head_v1.json",
            "--export",
            "vmaf",
        ],
    )
    .ok();
    assert_eq!(sha256(&vmaf), before);
    let card = std::fs::read_to_string(dir.join("ridge/chug_hdr_mos_head_v1_card.md")).unwrap();
    assert!(
        card.contains(&format!(
            "sha256 `{before}`: `vmaf --model path=chug_hdr_mos_head_v1_vmaf.json`"
        )),
        "{card}"
    );
    let e = moshead(
        dir,
        &[
            "export",
            "--model",
            "noted/chug_hdr_mos_head_v1.json",
            "--export",
            "vmaf",
        ],
    )
    .fails(1)
    .to_owned();
    assert!(
        e.contains("--export vmaf") && e.contains("the mlp head"),
        "{e}"
    );
    // An adapter that names no column for libvmaf (a plugin of API 1.0,
    // before the `libvmaf_names` key) cannot be exported, and says so.
    let plugins = plugin_dir(&[fixture_lib("old-api")]);
    let rows: String = (0..40)
        .map(|i| {
            let adm2 = 0.2 + 0.02 * f64::from(i);
            format!(
                "{{\"corpus\":\"old\",\"src\":\"c{i}\",\"mos\":{},\"adm2\":{adm2},\"motion2\":{}}}\n",
                1.5 + 3.0 * adm2,
                i % 9
            )
        })
        .collect();
    std::fs::write(dir.join("old.jsonl"), rows).unwrap();
    let plugin_args = [
        "--plugin-dir",
        plugins.path().to_str().unwrap(),
        "train",
        "-a",
        "old-api",
    ];
    let mut args = plugin_args.to_vec();
    args.extend(["-i", "rows=old.jsonl", "--head", "ridge", "--out", "old"]);
    let r = moshead(dir, &args);
    r.ok();
    assert!(
        r.stderr
            .contains("adapter `old-api` declares no libvmaf feature names for schema `s`"),
        "{r}"
    );
    args.extend(["--force", "--export", "vmaf"]);
    let e = moshead(dir, &args).fails(1).to_owned();
    assert!(
        e.contains("--export vmaf: adapter `old-api` declares no libvmaf"),
        "{e}"
    );

    // A run whose head has no libvmaf form, over a set that had a libvmaf
    // model, removes the old file in the same commit.
    run(
        "ridge",
        &["--head", "mlp", "--schema", "vmaf-canonical-v1", "--force"],
    )
    .ok();
    assert!(
        !vmaf.exists(),
        "the previous set's libvmaf model was left behind"
    );
}
