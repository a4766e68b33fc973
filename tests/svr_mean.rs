//! The mean of SVRs (`--head auto`'s `svr-mean` candidate) end to end: a
//! manifest holding one predicts through the real binary, exports to ONNX
//! that tract runs within 1e-5 of `predict`, with the allowed operators
//! only, and the libvmaf export refuses it by name.

use moshead_e2e::*;
use serde_json::Value;

use super::export::{checked_onnx, konvid_corpus, read_json, run_onnx, train_konvid};

#[test]
fn a_mean_of_svrs_predicts_and_exports_to_onnx_within_1e_5() {
    let d = tempfile::tempdir().unwrap();
    let features = konvid_corpus(d.path(), 300, 11);
    train_konvid(d.path(), "out", &["--head", "svr", "--svr-c", "4"]).ok();
    let single = d.path().join("out/konvid_mos_head_v1.json");
    let mut m = read_json(&single);
    // The same support vectors at a second, wider kernel: a mean of two
    // SVRs, written as the selection writes one.
    let f = m["feature_order"].as_array().unwrap().len();
    let p: Vec<f64> = m["head"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let k = (p.len() - 1) / (f + 1);
    assert!(k > 10, "{k} support vectors");
    let (coef, sv) = p[1..].split_at(k);
    let mut mean = vec![p[0]];
    mean.extend(coef.iter().chain(coef).map(|c| c / 2.0));
    mean.extend(sv.iter().chain(sv));
    let svr = &mut m["head"]["spec"]["svr"];
    let gamma = svr["gamma"].as_f64().unwrap();
    let member = |g: f64| serde_json::json!({"c": 4.0, "gamma": g, "epsilon": 0.1, "n_support": k});
    svr["members"] = Value::Array(vec![member(gamma), member(gamma * 3.0)]);
    svr["n_support"] = (2 * k).into();
    m["head"]["n_parameters"] = mean.len().into();
    m["head"]["parameters"] = mean.into();
    std::fs::create_dir(d.path().join("mean")).unwrap();
    std::fs::write(
        d.path().join("mean/konvid_mos_head_v1.json"),
        serde_json::to_string_pretty(&m).unwrap(),
    )
    .unwrap();
    let refused = moshead(
        d.path(),
        &[
            "export",
            "--model",
            "mean/konvid_mos_head_v1.json",
            "--out",
            "refused",
            "--export",
            "vmaf",
        ],
    );
    assert!(
        refused
            .fails(1)
            .contains("mean of SVRs of different RBF widths"),
        "{refused}"
    );
    moshead(
        d.path(),
        &[
            "export",
            "--model",
            "mean/konvid_mos_head_v1.json",
            "--out",
            "exp",
            "--quiet",
        ],
    )
    .ok();
    assert!(!d.path().join("exp/konvid_mos_head_v1_vmaf.json").exists());
    let predict = |model: &str| -> Vec<(String, f64)> {
        let run = moshead(
            d.path(),
            &[
                "predict",
                "--model",
                model,
                "--input",
                "konvid-1k=rows.jsonl",
                "--quiet",
            ],
        );
        run.ok()
            .lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                (
                    v["id"].as_str().unwrap().to_owned(),
                    v["prediction"].as_f64().unwrap(),
                )
            })
            .collect()
    };
    let got = predict("exp/konvid_mos_head_v1.json");
    let base = predict("out/konvid_mos_head_v1.json");
    assert_eq!(got.len(), 300);
    let moved = got
        .iter()
        .zip(&base)
        .map(|(a, b)| (a.1 - b.1).abs())
        .fold(0.0, f64::max);
    assert!(moved > 1e-3, "the second width changes the predictions");
    let rows: Vec<Vec<f64>> = got.iter().map(|(id, _)| features[id].clone()).collect();
    let want: Vec<f64> = got.iter().map(|(_, p)| *p).collect();
    let onnx = d.path().join("exp/konvid_mos_head_v1.onnx");
    let model = checked_onnx(&onnx, "svr-mean");
    for batch in [300, 7] {
        let worst = run_onnx(&model, &rows, batch)
            .iter()
            .zip(&want)
            .map(|(g, w)| (f64::from(*g) - w).abs())
            .fold(0.0, f64::max);
        eprintln!("svr-mean, batch {batch}: worst |ONNX - predict| = {worst:.2e}");
        assert!(worst < 1e-5, "batch {batch}: ONNX differs by {worst}");
    }
}
