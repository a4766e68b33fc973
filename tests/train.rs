//! Training, manifests, prediction and validation end to end.

use std::path::Path;

use moshead_e2e::*;
use serde_json::Value;

fn manifest(dir: &Path, id: &str) -> Value {
    let text = std::fs::read_to_string(dir.join("out").join(format!("{id}.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Replaces every float by a marker (and the build-dependent fields by
/// fixed text), keeping structure, integers, strings and booleans.
fn skeleton(v: &Value) -> Value {
    match v {
        Value::Number(n) if n.is_f64() => Value::String("<f64>".into()),
        Value::Array(a) if a.len() > 8 && a.iter().all(Value::is_number) => {
            Value::String(format!("<{} numbers>", a.len()))
        }
        Value::Array(a) => Value::Array(a.iter().map(skeleton).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| {
                    let v = match k.as_str() {
                        "sha256" if o.contains_key("api_version") => {
                            Value::String("<library sha256>".into())
                        }
                        // An export's hash depends on the float parameters.
                        "sha256" if o.len() == 2 && o.contains_key("path") => {
                            Value::String("<export sha256>".into())
                        }
                        // A warning's kind is the format; its message
                        // carries the run's figures.
                        "message" if o.contains_key("kind") => Value::String("<message>".into()),
                        "iterations" | "cost_evals" | "gradient_evals" | "best_iteration"
                        | "loss" | "monitor_loss" => Value::String("<solver>".into()),
                        // Its kind and keys are the format; its numbers
                        // depend on the solve.
                        "termination" => match v {
                            Value::Object(t) => Value::Object(
                                t.iter()
                                    .map(|(k, x)| {
                                        let x = if k == "kind" {
                                            x.clone()
                                        } else {
                                            Value::String("<solver>".into())
                                        };
                                        (k.clone(), x)
                                    })
                                    .collect(),
                            ),
                            // The logistic map's reason (argmin's text).
                            _ => Value::String("<solver>".into()),
                        },
                        _ => skeleton(v),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

#[test]
fn manifest_is_byte_identical_across_runs_and_matches_the_golden_skeleton() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for d in [a.path(), b.path()] {
        synth_chug(d, "204", "5");
        train_chug(d, &[]).ok();
    }
    let read = |d: &Path| std::fs::read(d.join("out/chug_hdr_mos_head_v1.json")).unwrap();
    assert_eq!(
        read(a.path()),
        read(b.path()),
        "same inputs and seed, same bytes"
    );
    let text = String::from_utf8(read(a.path())).unwrap();
    assert!(text.ends_with("}\n"));
    let got = skeleton(&serde_json::from_str(&text).unwrap());
    let golden_path = root().join("tests/data/golden_chug_manifest_skeleton.json");
    if std::env::var_os("MOSHEAD_BLESS").is_some() {
        std::fs::write(
            &golden_path,
            serde_json::to_string_pretty(&got).unwrap() + "\n",
        )
        .unwrap();
    }
    let golden: Value =
        serde_json::from_str(&std::fs::read_to_string(&golden_path).unwrap()).unwrap();
    assert_eq!(
        got, golden,
        "manifest skeleton changed; rerun with MOSHEAD_BLESS=1 if intended"
    );
}

#[test]
fn manifest_records_what_produced_the_model() {
    let d = tempfile::tempdir().unwrap();
    synth_chug(d.path(), "204", "3");
    train_chug(
        d.path(),
        &["--model-id", "chug_experiment_7", "--head", "mlp"],
    )
    .ok();
    let m = manifest(d.path(), "chug_experiment_7");
    assert_eq!(m["id"], "chug_experiment_7");
    assert_eq!(m["adapter_model_id"], "chug_hdr_mos_head_v1");
    assert_eq!(m["adapter"]["name"], "chug-hdr");
    assert_eq!(m["feature_schema"], "chug-hdr-wide-v1");
    assert_eq!(m["feature_order"].as_array().unwrap().len(), 34);
    assert_eq!(m["head"]["spec"]["type"], "mlp");
    let n = m["head"]["n_parameters"].as_u64().unwrap();
    assert_eq!(n, 34 * 64 + 64 + 64 * 64 + 64 + 64 + 1 + 34);
    assert_eq!(m["head"]["parameters"].as_array().unwrap().len() as u64, n);
    assert_eq!(m["validation"]["name"], "explicit-corpus-split");
    assert_eq!(m["training"]["trained_on"], "train rows");
    assert_eq!(m["gate"]["kind"], "synthetic");
    assert_eq!(m["data"]["drops"]["reference-row"], 34);
    let lib_sha = m["adapter"]["sha256"].as_str().unwrap();
    assert_eq!(lib_sha.len(), 64);
    for f in m["validation"]["folds"].as_array().unwrap() {
        let baselines = f["baselines"].as_object().unwrap();
        for b in ["mean", "linear", "per-rung-mean"] {
            assert!(baselines.contains_key(b), "{b}");
        }
        let t = &f["solve"]["termination"];
        assert!(
            matches!(
                t["kind"].as_str(),
                Some("early-stop" | "solver" | "evaluation-cap")
            ),
            "an L-BFGS solve's termination: {t}"
        );
        // Small corpora get the capped default decay, min(1e-4, 1/rows).
        assert_eq!(f["solve"]["weight_decay"].as_f64(), Some(1e-4));
    }
    assert_eq!(m["training"]["solve"]["weight_decay"].as_f64(), Some(1e-4));
    // kfold: the ship model is trained on every non-test row; an explicit
    // decay is what every solve records.
    train_chug(
        d.path(),
        &[
            "--validation",
            "kfold",
            "--folds",
            "3",
            "--force",
            "--weight-decay",
            "3e-5",
            "--head",
            "mlp",
        ],
    )
    .ok();
    let m = manifest(d.path(), "chug_hdr_mos_head_v1");
    assert_eq!(m["validation"]["folds"].as_array().unwrap().len(), 3);
    for solve in m["validation"]["folds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| &f["solve"])
        .chain([&m["training"]["solve"]])
    {
        assert_eq!(solve["weight_decay"].as_f64(), Some(3e-5));
    }
    assert_eq!(m["head"]["spec"]["weight_decay"].as_f64(), Some(3e-5));
    assert_eq!(m["training"]["trained_on"], "all non-test rows");
    let test_rows = m["data"]["splits"]["test"].as_u64().unwrap_or(0);
    assert_eq!(m["training"]["n_rows"].as_u64().unwrap(), 204 - test_rows);
}

#[test]
fn an_existing_manifest_needs_force() {
    let d = tempfile::tempdir().unwrap();
    synth_chug(d.path(), "60", "1");
    train_chug(d.path(), &["--head", "linear"]).ok();
    let err = train_chug(d.path(), &["--head", "linear"]);
    assert!(err.fails(1).contains("exists; pass --force"), "{err}");
    train_chug(d.path(), &["--head", "linear", "--force"]).ok();
}

#[test]
fn predict_reproduces_the_validation_predictions_from_the_manifest_alone() {
    let d = tempfile::tempdir().unwrap();
    synth_chug(d.path(), "204", "9");
    train_chug(d.path(), &[]).ok();
    let m = manifest(d.path(), "chug_hdr_mos_head_v1");
    let run = moshead(
        d.path(),
        &[
            "predict",
            "--model",
            "out/chug_hdr_mos_head_v1.json",
            "--input",
            "shards=corpus/shards",
            "--quiet",
        ],
    );
    let (mut p, mut y) = (vec![], vec![]);
    for line in run.ok().lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let pred = v["prediction"].as_f64().unwrap();
        assert!((1.0..=5.0).contains(&pred));
        if v["split"] == "val" {
            p.push(pred);
            y.push(v["mos"].as_f64().unwrap());
        }
    }
    assert_eq!(
        p.len() as u64,
        m["validation"]["folds"][0]["n_eval"].as_u64().unwrap()
    );
    let rmse = (p
        .iter()
        .zip(&y)
        .map(|(a, b)| (a - b) * (a - b))
        .sum::<f64>()
        / p.len() as f64)
        .sqrt();
    let recorded = m["validation"]["folds"][0]["head"]["rmse"]
        .as_f64()
        .unwrap();
    assert!((rmse - recorded).abs() < 1e-12, "{rmse} vs {recorded}");
    // CSV output too.
    let csv = moshead(
        d.path(),
        &[
            "predict",
            "--model",
            "out/chug_hdr_mos_head_v1.json",
            "--input",
            "corpus/shards",
            "--format",
            "csv",
            "--quiet",
        ],
    );
    let out = csv.ok();
    assert!(out.starts_with(
        "id,prediction,prediction_native,mos,mos_native,split,group,lo,hi,lo_native,hi_native\n"
    ));
    assert_eq!(out.lines().count(), 205);
}

#[test]
fn validate_scores_the_held_out_test_split() {
    let d = tempfile::tempdir().unwrap();
    synth_chug(d.path(), "240", "2");
    train_chug(d.path(), &[]).ok();
    let run = moshead(
        d.path(),
        &[
            "validate",
            "--model",
            "out/chug_hdr_mos_head_v1.json",
            "-i",
            "shards=corpus/shards",
            "--json",
            "--quiet",
        ],
    );
    let v = run.json();
    assert!(v["test_rows"].as_u64().unwrap() > 0);
    // The metrics' 95% intervals, over the test rows' contents.
    let ci = &v["intervals"];
    assert_eq!(ci["level"], 0.95);
    assert!(ci["contents"].as_u64().unwrap() >= 2);
    let rmse = v["metrics"]["rmse"].as_f64().unwrap();
    assert!((ci["rmse_native"].as_f64().unwrap() - 25.0 * rmse).abs() < 1e-9);
    for k in ["plcc", "plcc_fisher_z", "srocc", "krocc", "rmse"] {
        let point = v["metrics"][if k == "plcc_fisher_z" { "plcc" } else { k }]
            .as_f64()
            .unwrap();
        let (lo, hi) = (ci[k]["lo"].as_f64().unwrap(), ci[k]["hi"].as_f64().unwrap());
        assert!(lo <= point && point <= hi, "{k}: {point} in [{lo}, {hi}]");
    }
    assert_eq!(v["gate"]["kind"], "synthetic");
    assert_eq!(v["gate"]["passed"], true);
}

/// A baseline's lead is a warning only when the paired cluster bootstrap
/// over contents says it is not noise: the demo's SVR trails ridge and
/// best-input by a few thousandths (no warning); an SVR starved of its
/// budget (`C` = 0.001) trails every fitted baseline by points of RMSE (a
/// warning per baseline, in `--json`, the summary and the card).
#[test]
fn baseline_warnings_respect_noise() {
    let d = tempfile::tempdir().unwrap();
    let train = |out: &str, extra: &[&str]| {
        let mut args = vec!["train", "-a", "chug-hdr", "--demo", "--out", out, "--json"];
        args.extend_from_slice(extra);
        moshead(d.path(), &args).json()
    };
    let kinds = |v: &Value| -> Vec<String> {
        v["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["kind"].as_str().unwrap().to_owned())
            .collect()
    };
    // The demo with the linear head: the point figures of some baselines
    // (ridge, best-input) are ahead, by noise: what used to warn.
    let demo = train("a", &["--head", "linear"]);
    let pooled = &demo["validation"]["pooled"];
    let head = pooled["head"]["plcc"].as_f64().unwrap();
    let ahead = pooled["baselines"]
        .as_object()
        .unwrap()
        .values()
        .any(|b| b["plcc"].as_f64().is_some_and(|p| p > head));
    assert!(ahead, "{pooled}");
    assert!(!kinds(&demo).contains(&"baseline".to_owned()), "{demo}");

    let starved = train("b", &["--head", "svr", "--svr-c", "0.001"]);
    let warned: Vec<&str> = starved["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["kind"] == "baseline")
        .map(|w| w["message"].as_str().unwrap())
        .collect();
    assert!(
        warned.iter().any(|m| m.starts_with(
            "the `ridge` baseline beats the svr head beyond noise: pooled RMSE (0-100 scale)"
        ) && m.contains("95% interval [-")
            && m.contains("paired cluster bootstrap over 10 contents")),
        "{warned:?}"
    );
    let card = std::fs::read_to_string(d.path().join("b/chug_hdr_mos_head_v1_card.md")).unwrap();
    assert!(
        card.contains("the `ridge` baseline beats the svr head beyond noise"),
        "{card}"
    );
    let summary = moshead(
        d.path(),
        &[
            "train", "-a", "chug-hdr", "--demo", "--out", "c", "--head", "svr", "--svr-c", "0.001",
        ],
    );
    assert!(
        summary
            .ok()
            .contains("warning: the `ridge` baseline beats the svr head beyond noise"),
        "{summary}"
    );
}

/// Rows whose MOS has nothing to do with their features.
fn noise_corpus(dir: &Path) {
    let mut text = String::new();
    let mut state = 12345u64;
    for i in 0..200 {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let mos = 1.0 + 4.0 * ((state >> 11) as f64 / (1u64 << 53) as f64);
        text.push_str(&format!(
            "{{\"corpus\":\"konvid-1k\",\"src\":\"c{i}.mp4\",\"mos\":{mos},\"adm2\":{},\"motion2\":{},\"synthetic\":true}}\n",
            (i % 7) as f64 / 7.0,
            (i % 5) as f64
        ));
    }
    std::fs::write(dir.join("noise.jsonl"), text).unwrap();
}

#[test]
fn require_gate_sets_the_documented_exit_code() {
    let d = tempfile::tempdir().unwrap();
    noise_corpus(d.path());
    let base = [
        "train",
        "-a",
        "konvid",
        "-i",
        "konvid-1k=noise.jsonl",
        "--out",
        "out",
        "--quiet",
        "--head",
        "linear",
    ];
    let run = moshead(d.path(), &base);
    // `--quiet`: the one result line says it.
    assert!(run.ok().contains("gate synthetic MISSED"), "{run}");
    let mut args = base.to_vec();
    args.extend(["--force", "--require-gate"]);
    moshead(d.path(), &args).fails(3);
    let m = manifest(d.path(), "konvid_mos_head_v1");
    assert_eq!(m["gate"]["passed"], false);
    // `moshead --help` documents the code.
    assert!(moshead(d.path(), &["--help"])
        .ok()
        .contains("3  the gate was missed"));
}

#[test]
fn degenerate_corpora_get_clear_errors() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let write = |name: &str, text: &str| std::fs::write(p.join(name), text).unwrap();
    write(
        "empty.jsonl",
        "{\"corpus\":\"konvid-1k\",\"src\":\"a\",\"mos\":9}\n",
    );
    write(
        "one.jsonl",
        &(0..20)
            .map(|i| {
                format!(
                    "{{\"corpus\":\"konvid-1k\",\"src\":\"same\",\"mos\":{},\"adm2\":{i}}}\n",
                    1.0 + (i % 4) as f64
                )
            })
            .collect::<String>(),
    );
    write(
        "flat.jsonl",
        &(0..20)
            .map(|i| {
                format!("{{\"corpus\":\"konvid-1k\",\"src\":\"c{i}\",\"mos\":3.5,\"adm2\":{i}}}\n")
            })
            .collect::<String>(),
    );
    for (file, needle) in [
        ("empty.jsonl", "no rows to train on: 1 row(s) were dropped"),
        // KonViD's id is its content: one content is one clip, here
        // listed 20 times with different MOS (see tests/refusals.rs).
        (
            "one.jsonl",
            "one.jsonl:2: id `same` appears twice, with two MOS: 1 at one.jsonl:1, 2 here",
        ),
        ("flat.jsonl", "every MOS equals 3.5"),
    ] {
        let run = moshead(
            p,
            &[
                "train",
                "-a",
                "konvid",
                "-i",
                &format!("konvid-1k={file}"),
                "--out",
                "out",
                "--quiet",
            ],
        );
        assert!(run.fails(1).contains(needle), "{file}: {run}");
    }
}

#[test]
fn a_plugin_that_breaks_the_row_contract_is_caught_with_file_and_line() {
    let d = tempfile::tempdir().unwrap();
    let dir = plugin_dir(&[fixture_lib("liar")]);
    let pdir = dir.path().to_str().unwrap();
    for (lie, needle) in [
        ("nan", "non-finite value in feature column 0"),
        (
            "tag",
            "tagged `konvid-1k`, which slot `rows` does not accept",
        ),
        ("width", "returned 2 features for a 1-column schema"),
        ("mos", "returned MOS 7 outside 1-5"),
    ] {
        std::fs::write(
            d.path().join("rows.jsonl"),
            format!("{{\"ok\":1}}\n{{\"lie\":\"{lie}\"}}\n"),
        )
        .unwrap();
        let run = moshead(
            d.path(),
            &[
                "corpus",
                "-a",
                "liar",
                "-i",
                "rows=rows.jsonl",
                "--plugin-dir",
                pdir,
            ],
        );
        let err = run.fails(1);
        assert!(
            err.contains("rows.jsonl:2: adapter `liar`") && err.contains(needle),
            "{lie}: {run}"
        );
    }
}

#[test]
fn hand_edited_manifests_are_refused_clearly() {
    let d = tempfile::tempdir().unwrap();
    synth_chug(d.path(), "60", "4");
    train_chug(d.path(), &["--head", "linear"]).ok();
    let path = d.path().join("out/chug_hdr_mos_head_v1.json");
    let original = std::fs::read_to_string(&path).unwrap();
    let mut m: Value = serde_json::from_str(&original).unwrap();
    m["head"]["parameters"].as_array_mut().unwrap().pop();
    m["head"]["n_parameters"] = Value::from(34);
    std::fs::write(
        d.path().join("short.json"),
        serde_json::to_string_pretty(&m).unwrap(),
    )
    .unwrap();
    let run = moshead(
        d.path(),
        &[
            "predict",
            "--model",
            "short.json",
            "--input",
            "corpus/shards",
        ],
    );
    assert!(
        run.fails(1)
            .contains("short.json: linear head over 34 features needs 35 parameters, found 34"),
        "{run}"
    );
    let edited = original.replace("\"type\": \"linear\"", "\"type\": \"gbdt\"");
    std::fs::write(d.path().join("gbdt.json"), edited).unwrap();
    let run = moshead(
        d.path(),
        &[
            "predict",
            "--model",
            "gbdt.json",
            "--input",
            "corpus/shards",
        ],
    );
    let err = run.fails(1);
    assert!(
        err.contains("gbdt.json:") && err.contains("unknown variant `gbdt`"),
        "{run}"
    );
}

/// The thread count changes nothing a run writes: `--threads 1`, `2` and
/// `MOSHEAD_THREADS=4` give byte-identical manifests, validation sidecars
/// and ONNX files, for the default `auto` selection in 5 content-grouped
/// folds (folds, candidates and inner folds all run on the pool).
#[test]
fn results_do_not_depend_on_the_thread_count() {
    let d = tempfile::tempdir().unwrap();
    synth_chug(d.path(), "204", "11");
    let id = "chug_hdr_mos_head_v1";
    let mut outputs = Vec::new();
    for (flag, env) in [(Some("1"), None), (Some("2"), None), (None, Some("4"))] {
        // One directory per run: the manifest records `--out`.
        let cwd = d.path().join(format!("run-{}", outputs.len()));
        std::fs::create_dir(&cwd).unwrap();
        let mut c = moshead_cmd(&cwd);
        c.args([
            "train",
            "-a",
            "chug-hdr",
            "-i",
            "shards=../corpus/shards",
            "--out",
            "out",
            "--quiet",
            "--validation",
            "kfold",
            "--folds",
            "5",
        ]);
        if let Some(n) = flag {
            c.args(["--threads", n]);
        }
        if let Some(n) = env {
            c.env("MOSHEAD_THREADS", n);
        } else {
            c.env_remove("MOSHEAD_THREADS");
        }
        run_cmd(c).ok();
        let read = |name: &str| std::fs::read(cwd.join("out").join(name)).unwrap();
        outputs.push((
            read(&format!("{id}.json")),
            read(&format!("{id}_validation.jsonl")),
            read(&format!("{id}.onnx")),
        ));
    }
    for (i, o) in outputs.iter().enumerate().skip(1) {
        assert!(o.0 == outputs[0].0, "run {i}: the manifest differs");
        assert!(
            o.1 == outputs[0].1,
            "run {i}: the validation sidecar differs"
        );
        assert!(o.2 == outputs[0].2, "run {i}: the ONNX differs");
    }
    let bad = {
        let mut c = moshead_cmd(d.path());
        c.args(["adapters"]).env("MOSHEAD_THREADS", "0");
        run_cmd(c)
    };
    assert!(
        bad.fails(1)
            .contains("MOSHEAD_THREADS `0` is not a whole number from 1 to 256"),
        "{bad}"
    );
    let bad = moshead(d.path(), &["adapters", "--threads", "0"]);
    assert!(bad.fails(2).contains("--threads"), "{bad}");
}
