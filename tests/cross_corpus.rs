//! `validate --adapter OTHER`, end to end: a chug-hdr model scored on
//! KoNViD rows against golden metrics (`tests/data/cross_corpus/generate.py`),
//! and refused when the other adapter lacks the model's schema.

use std::path::Path;

use crate::predict::{chug_model, f, read_json, write_json, CHUG_MODEL};
use moshead_e2e::*;
use serde_json::Value;

/// A chug-hdr model on the konvid-v1 schema with the hand-set linear head of
/// `tests/data/cross_corpus/generate.py`.
fn cross_model(dir: &Path) -> Value {
    chug_model(dir, &["--schema", "konvid-v1"]);
    let expected = read_json(&root().join("tests/data/cross_corpus/expected.json"));
    let mut m = read_json(&dir.join(CHUG_MODEL));
    assert_eq!(m["feature_schema"], "konvid-v1");
    let order: Vec<String> = m["feature_order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    let w = &expected["model"]["weights"];
    let mut params: Vec<Value> = order
        .iter()
        .map(|c| w.get(c).cloned().unwrap_or(Value::from(0.0)))
        .collect();
    params.push(expected["model"]["bias"].clone());
    m["head"]["parameters"] = Value::Array(params);
    m["standardization"]["mean"] = Value::Array(vec![Value::from(0.0); order.len()]);
    m["standardization"]["std"] = Value::Array(vec![Value::from(1.0); order.len()]);
    write_json(&dir.join("out/cross.json"), &m);
    expected
}

#[test]
fn cross_corpus_validation_of_a_chug_model_on_konvid_rows_matches_the_golden_metrics() {
    let d = tempfile::tempdir().unwrap();
    let expected = cross_model(d.path());
    let rows = root().join("tests/data/cross_corpus/konvid_rows.jsonl");
    let rows = rows.to_str().unwrap();
    let binding = format!("konvid-1k={rows}");
    let base = [
        "validate",
        "--model",
        "out/cross.json",
        "--adapter",
        "konvid",
        "-i",
        &binding,
    ];
    let validate = |extra: &[&str]| moshead(d.path(), &[&base[..], &["--quiet"], extra].concat());
    let v = validate(&["--json"]).json();
    assert_eq!(v["cross_corpus"], true, "{v}");
    assert_eq!(v["trained_on"], "chug-hdr");
    assert_eq!(v["scored_on"], "konvid");
    assert_eq!(v["rows"], expected["rows"]);
    assert_eq!(v["gate"], Value::Null);
    assert_eq!(v["scales"]["model"]["native_max"], 100.0);
    assert_eq!(v["scales"]["rows"]["native_max"], 5.0);
    let got = &v["metrics"];
    for (key, tol) in [
        ("plcc", 1e-9),
        ("srocc", 1e-12),
        ("krocc", 1e-12),
        ("rmse", 1e-9),
        // The VQEG logistic: argmin's L-BFGS against the reference's
        // Levenberg-Marquardt, both at their minimum.
        ("plcc_mapped", 1e-4),
        ("rmse_mapped", 1e-4),
    ] {
        let (g, e) = (f(got, key), f(&expected, key));
        assert!((g - e).abs() <= tol, "{key}: {g} vs golden {e}");
    }
    assert!(f(got, "plcc_mapped") > f(got, "plcc"));
    // KonViD's native scale is 1-5: the native RMSE is the head's.
    assert!((f(&v, "rmse_native") - f(got, "rmse")).abs() < 1e-12);
    // `--quiet`: one line, marked cross-corpus, without a gate.
    let quiet = validate(&[]);
    let out = quiet.ok();
    assert_eq!(out.lines().count(), 1, "{quiet}");
    assert!(
        out.starts_with("chug_hdr_mos_head_v1 scored cross-corpus on konvid: 40 rows, ")
            && out.contains(&format!("PLCC {:.4}", f(got, "plcc")))
            && out.trim_end().ends_with("on its 1-5 scale; no gate"),
        "{out}"
    );
    // The text report is marked cross-corpus.
    let text = moshead(d.path(), &base);
    let out = text.ok();
    assert!(
        out.contains("scored cross-corpus on konvid")
            && out.contains("cross-corpus: PLCC ")
            && out.contains("no gate applies"),
        "{out}"
    );
}

#[test]
fn cross_corpus_validation_needs_the_models_schema() {
    let d = tempfile::tempdir().unwrap();
    chug_model(d.path(), &[]);
    let rows = root().join("tests/data/cross_corpus/konvid_rows.jsonl");
    let binding = format!("konvid-1k={}", rows.display());
    let run = moshead(
        d.path(),
        &[
            "validate",
            "--model",
            CHUG_MODEL,
            "--adapter",
            "konvid",
            "-i",
            &binding,
        ],
    );
    let err = run.fails(1);
    assert!(
        err.contains(
            "adapter `konvid` does not offer the model's feature schema `chug-hdr-wide-v1`; its schemas: konvid-v1 (11 columns)"
        ),
        "{run}"
    );
    // Training's corpus guard is unchanged: a chug-hdr run refuses the rows.
    let run = moshead(
        d.path(),
        &[
            "train",
            "-a",
            "chug-hdr",
            "-i",
            &format!("shards={}", rows.display()),
            "--schema",
            "konvid-v1",
            "--out",
            "never",
        ],
    );
    assert!(run.fails(1).contains("no rows to train on"), "{run}");
}
