//! Manifests written by an earlier build still work: the committed
//! `moshead-manifest-v1` fixtures (`tests/data/manifests-v1/`, one model per
//! head, written by `generate.sh` with the predictions that build made) load
//! for `predict`, `validate` and `export`, and predict what they predicted
//! then; `export` writes them again as `moshead-manifest-v2`, migrated.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::export::read_json;
use moshead_e2e::*;

const HEADS: [&str; 5] = ["ridge", "linear", "svr", "mlp", "auto"];

fn fixture(head: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/manifests-v1")
        .join(head)
}

/// `id -> (prediction, mos, split)` from a fixture's `predictions.csv`.
fn committed(head: &str) -> BTreeMap<String, (f64, f64, String)> {
    let text = std::fs::read_to_string(fixture(head).join("predictions.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("id,prediction,mos,split"));
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let num = |s: &str| s.parse::<f64>().unwrap();
            (f[0].to_owned(), (num(f[1]), num(f[2]), f[3].to_owned()))
        })
        .collect()
}

/// Pearson's correlation.
fn plcc(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

#[test]
fn committed_v1_manifests_still_predict_validate_and_export() {
    for head in HEADS {
        let tmp = tempfile::tempdir().unwrap();
        let cwd = tmp.path();
        let model = fixture(head).join(format!("v1_{head}.json"));
        let m = read_json(&model);
        assert_eq!(m["manifest_schema"], "moshead-manifest-v1", "{head}");
        let model = model.to_str().unwrap();
        let want = committed(head);

        // predict: the same rows, the same predictions. The plugin is this
        // build's, not the one that trained the model.
        let run = moshead(
            cwd,
            &[
                "predict",
                "--model",
                model,
                "--demo",
                "--quiet",
                "--allow-plugin-change",
            ],
        );
        let got: Vec<Value> = run
            .ok()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(got.len(), want.len(), "{head}: {run}");
        for r in &got {
            let (p, mos, split) = &want[r["id"].as_str().unwrap()];
            let diff = (r["prediction"].as_f64().unwrap() - p).abs();
            assert!(diff < 1e-9, "{head}: {r} predicted {p} before");
            assert_eq!(
                (&r["mos"], &r["split"]),
                (&Value::from(*mos), &Value::from(split.as_str()))
            );
        }

        // validate: its metrics are those of the committed test predictions.
        let v = moshead(
            cwd,
            &[
                "validate",
                "--model",
                model,
                "--demo",
                "--json",
                "--allow-plugin-change",
            ],
        )
        .json();
        let (p, y): (Vec<f64>, Vec<f64>) = want
            .values()
            .filter(|(_, _, s)| s == "test")
            .map(|(p, y, _)| (*p, *y))
            .unzip();
        assert_eq!(v["test_rows"], p.len(), "{head}: {v}");
        let got = v["metrics"]["plcc"].as_f64().unwrap();
        assert!(
            (got - plcc(&p, &y)).abs() < 1e-9,
            "{head}: {got} vs {}",
            plcc(&p, &y)
        );
        assert_eq!(v["model"], format!("v1_{head}"));

        // export: every artefact again, into a directory of its own; the
        // manifest written there records them.
        moshead(
            cwd,
            &["export", "--model", model, "--out", "out", "--quiet"],
        )
        .ok();
        let again = read_json(&cwd.join(format!("out/v1_{head}.json")));
        let exports = again["exports"].as_object().unwrap();
        assert!(exports.contains_key("onnx"), "{head}: {again:?}");
        for (name, file) in exports {
            let path = cwd.join("out").join(file["path"].as_str().unwrap());
            assert_eq!(
                crate::export::sha256(&path),
                file["sha256"].as_str().unwrap(),
                "{head}: export {name}"
            );
        }
        // Written in the current format, migrated: the schema is v2, each
        // solve's termination sentence is kept as a `recorded` value, and
        // everything else but the export list is the committed manifest's.
        assert_eq!(again["manifest_schema"], "moshead-manifest-v2");
        let (mut a, mut b) = (m.clone(), again.clone());
        let recorded = |t: &Value| {
            assert!(t.is_string(), "{head}: a v1 termination is a sentence: {t}");
            serde_json::json!({"kind": "recorded", "text": t})
        };
        a["manifest_schema"] = again["manifest_schema"].clone();
        a["training"]["solve"]["termination"] = recorded(&a["training"]["solve"]["termination"]);
        for f in a["validation"]["folds"].as_array_mut().unwrap() {
            f["solve"]["termination"] = recorded(&f["solve"]["termination"]);
        }
        assert_eq!(a["data"]["context"], serde_json::json!([]), "{head}");
        a.as_object_mut().unwrap().remove("exports");
        b.as_object_mut().unwrap().remove("exports");
        assert_eq!(a, b, "{head}");
    }
}
