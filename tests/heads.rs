//! The ridge and SVR heads end to end: `train --head ridge|svr` on the
//! demo corpus and on synthetic corpora, byte-identical manifests, the
//! fitted state in the manifest, and `predict` / `validate` / `export`
//! reading it back.

use std::path::Path;

use moshead_e2e::*;
use serde_json::Value;

fn manifest(dir: &Path, out: &str) -> (Vec<u8>, Value) {
    let bytes = std::fs::read(dir.join(out).join("chug_hdr_mos_head_v1.json")).unwrap();
    let v = serde_json::from_slice(&bytes).unwrap();
    (bytes, v)
}

#[test]
fn ridge_and_svr_train_on_the_demo_corpus() {
    let d = tempfile::tempdir().unwrap();
    for head in ["ridge", "svr"] {
        let out = format!("demo-{head}");
        moshead(
            d.path(),
            &[
                "train", "-a", "chug-hdr", "--demo", "--head", head, "--out", &out, "--quiet",
            ],
        )
        .ok();
        let (_, m) = manifest(d.path(), &out);
        assert_eq!(m["head"]["spec"]["type"], head);
        let plcc = m["validation"]["aggregate"]["mean"]["plcc"]
            .as_f64()
            .unwrap();
        assert!(plcc > 0.8, "{head}: demo PLCC {plcc}");
        assert!(m["training"]["solve"]["converged"].as_bool().unwrap());
    }
}

#[test]
fn each_new_head_gives_byte_identical_manifests_and_records_its_fitted_state() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for d in [a.path(), b.path()] {
        synth_chug(d, "120", "4");
    }
    let cases: [(&str, &[&str]); 3] = [
        ("ridge", &["--head", "ridge"]),
        (
            "svr",
            &["--head", "svr", "--svr-c", "2", "--svr-epsilon", "0.05"],
        ),
        (
            "svr-nu-linear",
            &[
                "--head",
                "svr",
                "--svr-type",
                "nu",
                "--svr-kernel",
                "linear",
            ],
        ),
    ];
    for (name, flags) in cases {
        let out = format!("out-{name}");
        let mut args = vec![
            "train",
            "-a",
            "chug-hdr",
            "-i",
            "shards=corpus/shards",
            "--out",
            &out,
            "--quiet",
        ];
        args.extend_from_slice(flags);
        for d in [a.path(), b.path()] {
            moshead(d, &args).ok();
        }
        let (bytes_a, m) = manifest(a.path(), &out);
        let (bytes_b, _) = manifest(b.path(), &out);
        assert!(
            bytes_a == bytes_b,
            "{name}: same inputs and seed, same bytes"
        );
        let spec = &m["head"]["spec"];
        let f = m["feature_order"].as_array().unwrap().len();
        let params = m["head"]["parameters"].as_array().unwrap();
        if name == "ridge" {
            let r = &spec["ridge"];
            let alpha = r["alpha"].as_f64().unwrap();
            assert!(alpha > 0.0);
            assert_eq!(r["grid"].as_array().unwrap().len(), 33);
            assert_eq!(r["cv_mse"].as_array().unwrap().len(), 33);
            assert_eq!(r["selection"]["grouped-folds"]["k"], 5, "{r}");
            assert_eq!(params.len(), f + 1);
            let rows = m["training"]["n_rows"].as_f64().unwrap();
            assert!((spec["weight_decay"].as_f64().unwrap() - alpha / rows).abs() < 1e-15);
            assert!(spec.get("svr").is_none());
        } else {
            let s = &spec["svr"];
            let n_sv = s["n_support"].as_u64().unwrap() as usize;
            assert!(n_sv > 0);
            assert_eq!(
                params.len(),
                1 + n_sv * (f + 1),
                "rho, coefs, support vectors"
            );
            assert_eq!(s["scaling"], "minmax");
            // Every fit shrinks (libsvm's default), and says so.
            assert_eq!(s["shrinking"], true, "{s}");
            let solver = m["training"]["solve"]["solver"].as_str().unwrap();
            assert!(solver.contains("(WSS3, shrinking)"), "{solver}");
            if name == "svr" {
                assert_eq!(s["svm_type"], "epsilon");
                assert_eq!(s["kernel"], "rbf");
                assert_eq!(s["c"], 2.0);
                assert_eq!(s["epsilon"], 0.05);
                assert!((s["gamma"].as_f64().unwrap() - 1.0 / f as f64).abs() < 1e-15);
            } else {
                assert_eq!(s["svm_type"], "nu");
                assert_eq!(s["kernel"], "linear");
                assert_eq!(s["nu"], 0.5);
            }
            // Min-max scaling: the standardisation is (x - min) / range.
            let std = m["standardization"]["std"].as_array().unwrap();
            assert!(std.iter().all(|v| v.as_f64().unwrap() > 0.0));
            assert!(spec.get("ridge").is_none());
        }
        // The manifest alone reproduces the validation predictions.
        let model = format!("{out}/chug_hdr_mos_head_v1.json");
        let run = moshead(
            a.path(),
            &[
                "predict",
                "--model",
                &model,
                "-i",
                "shards=corpus/shards",
                "--quiet",
            ],
        );
        let mut se = 0.0;
        let mut n = 0;
        for line in run.ok().lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            let p = v["prediction"].as_f64().unwrap();
            assert!((1.0..=5.0).contains(&p), "{name}: {p}");
            if v["split"] == "val" {
                se += (p - v["mos"].as_f64().unwrap()).powi(2);
                n += 1;
            }
        }
        let rmse = (se / n as f64).sqrt();
        let recorded = m["validation"]["folds"][0]["head"]["rmse"]
            .as_f64()
            .unwrap();
        assert!(
            (rmse - recorded).abs() < 1e-12,
            "{name}: {rmse} vs {recorded}"
        );
        let validate = moshead(
            a.path(),
            &[
                "validate",
                "--model",
                &model,
                "-i",
                "shards=corpus/shards",
                "--json",
                "--quiet",
            ],
        );
        assert!(matches!(validate.code, Some(0 | 3)), "{name}: {validate}");
        let v: Value = serde_json::from_str(&validate.stdout).unwrap();
        assert!(v["test_rows"].as_u64().unwrap() > 0, "{name}");
        let export = moshead(a.path(), &["export", "--model", &model, "--quiet"]);
        export.ok();
    }
}

#[test]
fn out_of_range_head_parameters_are_refused_before_any_work() {
    let d = tempfile::tempdir().unwrap();
    synth_chug(d.path(), "60", "1");
    for (flags, says) in [
        (
            &["--head", "svr", "--svr-c", "0"][..],
            "SVR C 0 must be finite and > 0",
        ),
        (
            &["--head", "svr", "--svr-nu", "1.5"][..],
            "nu 1.5 must be in (0, 1]",
        ),
        (&["--head", "svr", "--svr-gamma=-2"][..], "gamma -2 must be"),
        (
            &["--head", "ridge", "--ridge-alpha=-1"][..],
            "ridge penalty -1",
        ),
    ] {
        let run = train_chug(d.path(), flags);
        let err = run.fails(1);
        assert!(err.contains(says), "{flags:?}: {err}");
        assert!(!d
            .path()
            .join("out")
            .join("chug_hdr_mos_head_v1.json")
            .exists());
    }
}
