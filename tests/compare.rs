//! `moshead compare`, end to end: a model against a copy of itself (no
//! difference in any test), against a model trained on the same corpus
//! with its MOS shuffled (refused on validation predictions, which are not
//! the same rows; on `--input` rows a significant difference in the first
//! model's favour, and the other way round when swapped), and three models
//! Holm-corrected.

use std::path::Path;

use moshead_e2e::*;
use serde_json::Value;

const MODEL: &str = "out/chug_hdr_mos_head_v1.json";
const COPY: &str = "copy/chug_hdr_mos_head_v1.json";
const SHUFFLED: &str = "shuffled/chug_hdr_mos_head_v1.json";

/// A synthetic chug-hdr corpus of `rows` rows in `corpus`, its model in
/// `out`, and an empty `copy`.
fn corpus_and_model(dir: &Path, rows: &str) {
    moshead(
        dir,
        &[
            "synth", "-a", "chug-hdr", "--rows", rows, "--seed", "4", "--out", "corpus",
        ],
    )
    .ok();
    train(dir, "corpus", "out");
    std::fs::create_dir_all(dir.join("copy")).unwrap();
}

/// Trains `corpus` into `out`: a linear head, 5 content-grouped folds.
fn train(dir: &Path, corpus: &str, out: &str) {
    let input = format!("shards={corpus}/shards");
    moshead(
        dir,
        &[
            "train",
            "-a",
            "chug-hdr",
            "-i",
            &input,
            "--head",
            "linear",
            "--validation",
            "kfold",
            "--out",
            out,
            "--quiet",
        ],
    )
    .ok();
}

/// Copies `from/corpus` to `to` with the MOS of the rows (with their
/// native score and SD) shuffled.
fn shuffle_mos(dir: &Path, from: &str, to: &str) {
    let shards = dir.join(from).join("shards");
    let mut files: Vec<_> = std::fs::read_dir(&shards)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut rows: Vec<(usize, Value)> = Vec::new();
    for (k, f) in files.iter().enumerate() {
        for line in std::fs::read_to_string(f).unwrap().lines() {
            rows.push((k, serde_json::from_str(line).unwrap()));
        }
    }
    let keys = ["mos", "mos_raw_0_100", "mos_std_dev"];
    let labels: Vec<Vec<Value>> = rows
        .iter()
        .map(|(_, r)| keys.iter().map(|k| r[*k].clone()).collect())
        .collect();
    // A seeded Fisher-Yates shuffle (a 64-bit LCG): no order of the
    // corpus (contents, rungs) survives it.
    let mut order: Vec<usize> = (0..rows.len()).collect();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in (1..order.len()).rev() {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        order.swap(i, (state >> 33) as usize % (i + 1));
    }
    for (i, (_, r)) in rows.iter_mut().enumerate() {
        for (k, v) in keys.iter().zip(&labels[order[i]]) {
            r[*k] = v.clone();
        }
    }
    let out = dir.join(to).join("shards");
    std::fs::create_dir_all(&out).unwrap();
    for (k, f) in files.iter().enumerate() {
        let text: String = rows
            .iter()
            .filter(|(file, _)| *file == k)
            .map(|(_, r)| format!("{r}\n"))
            .collect();
        std::fs::write(out.join(f.file_name().unwrap()), text).unwrap();
    }
}

/// A model in `out`, its copy in `copy`, and a model trained on the same
/// corpus with shuffled MOS in `shuffled`.
fn models(dir: &Path) {
    corpus_and_model(dir, "200");
    for e in std::fs::read_dir(dir.join("out")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dir.join("copy").join(p.file_name().unwrap())).unwrap();
    }
    shuffle_mos(dir, "corpus", "scorpus");
    train(dir, "scorpus", "shuffled");
}

fn compare(dir: &Path, args: &[&str]) -> Run {
    moshead(dir, &[&["compare"][..], args].concat())
}

const TESTS: [&str; 6] = [
    "plcc",
    "srocc",
    "rmse",
    "p1401_correlation",
    "p1401_rmse",
    "p1401_outlier_ratio",
];

#[test]
fn compare_a_model_with_its_copy_and_with_one_trained_on_shuffled_mos() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    models(dir);

    // Against its copy, on the validation predictions: every difference
    // is 0 and every p-value 1.
    let v = compare(dir, &[MODEL, COPY, "--json"]).json();
    assert_eq!(v["source"], "validation");
    assert_eq!(v["holm"], false);
    assert!(v["rows"].as_u64().unwrap() > 100, "{v}");
    assert!(
        v["rows_with_se"].as_u64().unwrap() > 0,
        "the sidecar carries the SE"
    );
    let pair = &v["pairs"][0];
    assert_eq!(pair["verdict"], "no_difference", "{pair}");
    for t in TESTS {
        assert_eq!(pair[t]["difference"], 0.0, "{t}: {pair}");
        assert_eq!(pair[t]["p"], 1.0, "{t}: {pair}");
    }
    let text = compare(dir, &[MODEL, COPY]).ok().to_owned();
    assert!(
        text.contains(&format!(
            "{MODEL} vs {COPY}: no significant difference at the 5% level"
        )),
        "{text}"
    );

    // Trained on another corpus (the MOS shuffled): its validation rows
    // are not the same; refused, naming what differs.
    let err = compare(dir, &[MODEL, SHUFFLED]).fails(1).to_owned();
    assert!(
        err.contains(&format!(
            "{MODEL} and {SHUFFLED} were not validated on the same rows"
        )),
        "{err}"
    );
    assert!(err.contains("in one and"), "a MOS differs: {err}");
    assert!(err.contains("slot `shards` read other bytes"), "{err}");

    // Both scored on the real corpus's held-out test rows: the model is
    // significantly better, by every bootstrap test.
    let on = ["-i", "shards=corpus/shards", "--split", "test", "--json"];
    let v = compare(dir, &[&[MODEL, SHUFFLED][..], &on].concat()).json();
    assert_eq!(v["source"], "input");
    let pair = &v["pairs"][0];
    assert_eq!(pair["verdict"], "a_better", "{pair}");
    assert!(pair["plcc"]["difference"].as_f64().unwrap() > 0.3, "{pair}");
    assert!(
        pair["plcc"]["interval"]["lo"].as_f64().unwrap() > 0.0,
        "{pair}"
    );
    assert!(pair["plcc"]["p"].as_f64().unwrap() < 0.05, "{pair}");
    assert!(pair["rmse"]["difference"].as_f64().unwrap() < 0.0, "{pair}");
    assert!(pair["rmse"]["p"].as_f64().unwrap() < 0.05, "{pair}");
    // The P.1401 tests ran (each model after its own logistic mapping,
    // which may be decreasing: they judge what a mapping can make of the
    // predictions, not the head's raw output, so they need not agree).
    for t in ["p1401_correlation", "p1401_rmse", "p1401_outlier_ratio"] {
        assert!(pair[t]["p"].as_f64().is_some(), "{t}: {pair}");
    }
    let line = pair["verdict_line"].as_str().unwrap();
    assert!(
        line.starts_with(&format!(
            "{MODEL} vs {SHUFFLED}: {MODEL} is better (plcc, srocc, rmse"
        )),
        "{line}"
    );
    // Swapped: the other model is the better one.
    let v = compare(dir, &[&[SHUFFLED, MODEL][..], &on].concat()).json();
    assert_eq!(v["pairs"][0]["verdict"], "b_better");
    assert!(v["pairs"][0]["plcc"]["difference"].as_f64().unwrap() < -0.3);

    // Three models: Holm-corrected p-values, never below the raw ones.
    let v = compare(dir, &[&[MODEL, SHUFFLED, COPY][..], &on].concat()).json();
    assert_eq!(v["holm"], true);
    let pairs = v["pairs"].as_array().unwrap();
    assert_eq!(pairs.len(), 3);
    for pair in pairs {
        for t in TESTS {
            if let (Some(p), Some(raw)) = (pair[t]["p"].as_f64(), pair[t]["p_raw"].as_f64()) {
                assert!(p >= raw, "{t}: {pair}");
            }
        }
    }
    let verdicts: Vec<&str> = pairs
        .iter()
        .map(|p| p["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts, ["a_better", "no_difference", "b_better"]);
    // --quiet: one verdict line per pair, nothing else.
    let quiet = compare(
        dir,
        &[
            MODEL,
            SHUFFLED,
            COPY,
            "-i",
            "shards=corpus/shards",
            "--quiet",
        ],
    );
    assert_eq!(quiet.ok().lines().count(), 3, "{quiet}");
}

#[test]
fn compare_refuses_what_it_cannot_pair() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    // One model is not a comparison.
    let run = compare(dir, &["a.json"]);
    assert_eq!(run.code, Some(2), "{run}");
    // --split applies to scored rows only.
    let err = compare(dir, &["a.json", "b.json", "--split", "test"])
        .fails(1)
        .to_owned();
    assert!(
        err.contains("--split chooses rows of --input or --demo"),
        "{err}"
    );
    // A model whose sidecar is gone has no validation predictions.
    models_without_sidecar(dir);
    let err = compare(dir, &[MODEL, COPY]).fails(1).to_owned();
    assert!(
        err.contains(&format!("{COPY}: no validation predictions")),
        "{err}"
    );
}

/// A model in `out` and its copy in `copy` without the validation sidecar.
fn models_without_sidecar(dir: &Path) {
    corpus_and_model(dir, "60");
    std::fs::copy(dir.join(MODEL), dir.join(COPY)).unwrap();
}
