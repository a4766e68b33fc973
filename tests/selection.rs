//! Pooled out-of-fold metrics, the validation sidecar, small corpora and
//! `--head auto`, end to end.

use std::collections::HashMap;
use std::path::Path;

use moshead_e2e::*;
use serde_json::Value;

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    sab / (saa * sbb).sqrt()
}

#[test]
fn sidecar_rows_and_pooled_metrics_agree_with_the_manifest() {
    let d = tempfile::tempdir().unwrap();
    synth_chug(d.path(), "150", "4");
    let run = train_chug(
        d.path(),
        &[
            "--head",
            "linear",
            "--validation",
            "kfold",
            "--folds",
            "4",
            "--json",
        ],
    );
    let summary = run.json();
    let m = read_json(&d.path().join("out/chug_hdr_mos_head_v1.json"));
    let pooled = &m["validation"]["pooled"];
    assert_eq!(
        summary["validation"]["pooled"], *pooled,
        "--json carries it"
    );
    assert_eq!(pooled["each_row_once"], true);
    let text = std::fs::read_to_string(d.path().join("out/chug_hdr_mos_head_v1_validation.jsonl"))
        .unwrap();
    let mut seen: HashMap<String, u64> = HashMap::new();
    let (mut pred, mut mos) = (vec![], vec![]);
    let mut fold_of_group: HashMap<String, u64> = HashMap::new();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let id = v["id"].as_str().unwrap().to_owned();
        let group = v["group"].as_str().unwrap().to_owned();
        let fold = v["fold"].as_u64().unwrap();
        assert!(!id.is_empty() && !group.is_empty());
        assert_ne!(v["split"], "test", "test rows never enter a fold");
        // A content is evaluated by one fold only.
        assert_eq!(*fold_of_group.entry(group).or_insert(fold), fold);
        *seen.entry(id).or_default() += 1;
        let (p, y) = (
            v["prediction"].as_f64().unwrap(),
            v["mos"].as_f64().unwrap(),
        );
        // CHUG's native scale: head = 1 + 0.04 * native.
        let pn = v["prediction_native"].as_f64().unwrap();
        let yn = v["mos_native"].as_f64().unwrap();
        assert!((pn - (p - 1.0) * 25.0).abs() < 1e-9, "{pn} vs {p}");
        assert!((yn - (y - 1.0) * 25.0).abs() < 1e-9, "{yn} vs {y}");
        pred.push(p);
        mos.push(y);
    }
    assert!(seen.values().all(|&c| c == 1), "every row once");
    assert_eq!(pooled["n"].as_u64().unwrap() as usize, pred.len());
    let test_rows = m["data"]["splits"]["test"].as_u64().unwrap_or(0) as usize;
    assert_eq!(pred.len(), 150 - test_rows);
    let plcc = pearson(&pred, &mos);
    let recorded = pooled["head"]["plcc"].as_f64().unwrap();
    assert!((plcc - recorded).abs() < 1e-12, "{plcc} vs {recorded}");
    // Its 95% intervals: a cluster bootstrap over the contents of the
    // sidecar, and the Fisher-z interval of the recorded PLCC.
    let ci = &pooled["intervals"];
    assert_eq!(ci["level"], 0.95);
    assert_eq!(ci["resamples"], 1000);
    assert_eq!(
        ci["contents"].as_u64().unwrap() as usize,
        fold_of_group.len()
    );
    let z = 1.959963984540054 / ((pred.len() - 3) as f64).sqrt();
    let fz = &ci["plcc_fisher_z"];
    assert!((fz["lo"].as_f64().unwrap() - (recorded.atanh() - z).tanh()).abs() < 1e-12);
    assert!((fz["hi"].as_f64().unwrap() - (recorded.atanh() + z).tanh()).abs() < 1e-12);
    for (k, point) in [
        ("plcc", recorded),
        ("srocc", pooled["head"]["srocc"].as_f64().unwrap()),
        ("rmse", pooled["head"]["rmse"].as_f64().unwrap()),
        ("rmse_native_interval", ci["rmse_native"].as_f64().unwrap()),
    ] {
        let (lo, hi) = (ci[k]["lo"].as_f64().unwrap(), ci[k]["hi"].as_f64().unwrap());
        assert!(lo < point && point < hi, "{k}: {point} in [{lo}, {hi}]");
    }
    // CHUG's native RMSE is 25 times the head's.
    let rn = ci["rmse_native"].as_f64().unwrap();
    assert!((rn - 25.0 * pooled["head"]["rmse"].as_f64().unwrap()).abs() < 1e-9);
    // The mean over folds is a different figure.
    let mean = m["validation"]["aggregate"]["mean"]["plcc"]
        .as_f64()
        .unwrap();
    assert_ne!(mean, recorded);
    for b in ["mean", "per-rung-mean"] {
        assert!(
            pooled["baselines"][b]["rmse"].as_f64().unwrap() > 0.0,
            "{b}"
        );
    }
    let card = std::fs::read_to_string(d.path().join("out/chug_hdr_mos_head_v1_card.md")).unwrap();
    assert!(card.contains("| pooled out-of-fold |"), "{card}");
    assert!(card.contains(&format!("{recorded:.4}")));
    assert!(
        card.contains("The head's pooled 95% CI (cluster bootstrap over"),
        "{card}"
    );
    // The human summary has a pooled row.
    let run = train_chug_summary(
        d.path(),
        &[
            "--head",
            "linear",
            "--validation",
            "kfold",
            "--folds",
            "4",
            "--force",
        ],
    );
    let out = run.ok();
    assert!(
        out.lines()
            .any(|l| l.contains("pooled") && l.contains("out-of-fold, each row once")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("pooled 95% CI (cluster bootstrap over")),
        "{out}"
    );
}

/// 78 synthetic CHUG rows: 13 contents, of which 9 (54 rows) are outside
/// the test split (the split is a hash of the content name).
fn nine_contents(d: &Path) {
    synth_chug(d, "78", "11");
}

#[test]
fn a_nine_content_corpus_stops_and_regularises_by_inner_cv() {
    let d = tempfile::tempdir().unwrap();
    nine_contents(d.path());
    // Leave one content out, with the default head.
    let out = train_chug_summary(d.path(), &["--validation", "kfold", "--folds", "9"]);
    let text = out.ok();
    assert!(
        text.contains("too few for an early-stopping monitor set"),
        "the summary says so:\n{text}"
    );
    let m = read_json(&d.path().join("out/chug_hdr_mos_head_v1.json"));
    assert_eq!(m["data"]["groups"], 13);
    let folds = m["validation"]["folds"].as_array().unwrap();
    assert_eq!(folds.len(), 9);
    for f in folds {
        assert_eq!(f["groups_eval"], 1);
        assert!(f["head"]["rmse"].as_f64().unwrap().is_finite());
        let sel = &f["selection"];
        assert_eq!(sel["requested"], "auto");
        assert_eq!(sel["rows"], f["n_train"]);
        assert_eq!(sel["inner_groups"], 8);
        assert!(sel["note"].as_str().unwrap().contains("monitor set"));
        // Every iterative candidate solves without a monitor set, for a
        // chosen number of iterations; the closed-form heads (ridge, the
        // best single input) and the SVRs (VMAF's recipe among them) need
        // no stopping.
        let chosen = sel["chosen"].as_str().unwrap();
        assert!(
            chosen.contains("decay=")
                || ["ridge", "best-input", "svr", "vmaf-recipe"]
                    .iter()
                    .any(|h| chosen.starts_with(h)),
            "{chosen}"
        );
        for c in sel["table"].as_array().unwrap() {
            let name = c["name"].as_str().unwrap();
            assert!(
                !name.starts_with("mlp") || name.contains("iters="),
                "{name}"
            );
        }
        // The default head beats the mean predictor on every fold.
        let (head, mean) = (
            f["head"]["rmse"].as_f64().unwrap(),
            f["baselines"]["mean"]["rmse"].as_f64().unwrap(),
        );
        assert!(
            head < mean,
            "fold {}: RMSE {head} against the mean's {mean}",
            f["fold"]
        );
    }
    let ship = &m["training"]["selection"];
    assert_eq!(ship["rows"], 54);
    if ship["chosen"].as_str().unwrap().contains("decay=") {
        assert_eq!(m["head"]["spec"]["monitor_fraction"], 0.0);
    }
}

/// A fixed MLP gets its stopping and decay from inner CV too (a test of its
/// own, so the two leave-one-content-out runs go in parallel).
#[test]
fn a_fixed_mlp_on_nine_contents_gets_its_stopping_and_decay_from_inner_cv() {
    let d = tempfile::tempdir().unwrap();
    nine_contents(d.path());
    train_chug(
        d.path(),
        &[
            "--validation",
            "kfold",
            "--folds",
            "9",
            "--head",
            "mlp",
            "--force",
        ],
    )
    .ok();
    let m = read_json(&d.path().join("out/chug_hdr_mos_head_v1.json"));
    for f in m["validation"]["folds"].as_array().unwrap() {
        assert_eq!(f["selection"]["requested"], "mlp");
        assert!(f["selection"]["chosen"]
            .as_str()
            .unwrap()
            .starts_with("mlp(decay="));
        let iters = f["solve"]["iterations"].as_u64().unwrap();
        let cap: u64 = f["selection"]["chosen"]
            .as_str()
            .unwrap()
            .rsplit("iters=")
            .next()
            .unwrap()
            .trim_end_matches(')')
            .parse()
            .unwrap();
        assert!(iters <= cap, "{iters} iterations, cap {cap}");
    }
}

#[test]
fn the_smallest_corpus_the_folds_allow_trains() {
    // 18 rows: 3 contents, none in the test split; 3 folds leave 2
    // training contents, so the inner CV is leave-one-content-out.
    let d = tempfile::tempdir().unwrap();
    synth_chug(d.path(), "18", "3");
    train_chug(d.path(), &["--validation", "kfold", "--folds", "3"]).ok();
    let m = read_json(&d.path().join("out/chug_hdr_mos_head_v1.json"));
    for f in m["validation"]["folds"].as_array().unwrap() {
        assert_eq!(f["groups_train"], 2);
        assert_eq!(f["selection"]["inner_folds"], 2);
        assert!(f["head"]["rmse"].as_f64().unwrap().is_finite());
    }
    assert_eq!(m["training"]["selection"]["inner_folds"], 3);
}

/// Rewrites the MOS of the rows whose id is in `ids` (`mos` and the native
/// `mos_raw_0_100`) to the other end of the scale.
fn poison(shards: &Path, ids: &std::collections::HashSet<String>) -> usize {
    let mut changed = 0;
    for e in std::fs::read_dir(shards).unwrap() {
        let path = e.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let mut out = String::new();
        for line in text.lines() {
            let mut v: Value = serde_json::from_str(line).unwrap();
            if v["chug_video_id"]
                .as_str()
                .is_some_and(|id| ids.contains(id))
            {
                if let Some(raw) = v["mos_raw_0_100"].as_f64() {
                    let flipped = 100.0 - raw;
                    v["mos_raw_0_100"] = flipped.into();
                    v["mos"] = (1.0 + 4.0 * flipped / 100.0).into();
                    changed += 1;
                }
            }
            out.push_str(&serde_json::to_string(&v).unwrap());
            out.push('\n');
        }
        std::fs::write(&path, out).unwrap();
    }
    changed
}

#[test]
fn poisoning_an_outer_folds_evaluation_rows_leaves_its_choice_unchanged() {
    let d = tempfile::tempdir().unwrap();
    synth_chug(d.path(), "200", "8");
    let args = ["--validation", "kfold", "--folds", "3", "--force"];
    train_chug(d.path(), &args).ok();
    let before = read_json(&d.path().join("out/chug_hdr_mos_head_v1.json"));
    let sidecar =
        std::fs::read_to_string(d.path().join("out/chug_hdr_mos_head_v1_validation.jsonl"))
            .unwrap();
    let fold0: std::collections::HashSet<String> = sidecar
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["fold"] == 0)
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(poison(&d.path().join("corpus/shards"), &fold0) == fold0.len());
    train_chug(d.path(), &args).ok();
    let after = read_json(&d.path().join("out/chug_hdr_mos_head_v1.json"));
    let (b, a) = (
        &before["validation"]["folds"][0],
        &after["validation"]["folds"][0],
    );
    assert!(b["selection"]["table"].as_array().unwrap().len() > 1);
    assert!(
        b["selection"].get("svr_rows").is_none(),
        "below the SVR's row cap its candidates see every row"
    );
    assert_eq!(
        a["selection"], b["selection"],
        "fold 0's choice and inner table"
    );
    assert_eq!(a["solve"], b["solve"], "fold 0's refit");
    assert_ne!(a["head"], b["head"], "its evaluation rows did change");
    // The other folds train on the poisoned rows: their inner tables move.
    assert_ne!(
        after["validation"]["folds"][1]["selection"]["table"],
        before["validation"]["folds"][1]["selection"]["table"]
    );
}

#[test]
fn auto_fits_its_svrs_on_one_seeded_sample_above_the_svr_row_cap() {
    // 204 rows; each fold trains on about 130: above a cap of 40, every
    // selection fits its SVR candidates from one sample of 40 of its rows,
    // records it, and refits a chosen SVR on it.
    let d = tempfile::tempdir().unwrap();
    synth_chug(d.path(), "204", "8");
    let args = [
        "--validation",
        "kfold",
        "--folds",
        "3",
        "--svr-max-rows",
        "40",
        "--force",
    ];
    train_chug(d.path(), &args).ok();
    let path = d.path().join("out/chug_hdr_mos_head_v1.json");
    let first = std::fs::read(&path).unwrap();
    let m: Value = serde_json::from_slice(&first).unwrap();
    let mut records: Vec<&Value> = m["validation"]["folds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| &f["selection"])
        .collect();
    records.push(&m["training"]["selection"]);
    for sel in records {
        assert!(sel["rows"].as_u64().unwrap() > 40, "{sel}");
        assert_eq!(sel["svr_rows"], 40, "{sel}");
        let table = sel["table"].as_array().unwrap();
        let svrs: Vec<&Value> = table
            .iter()
            .filter(|c| c["name"].as_str().unwrap().starts_with("svr("))
            .collect();
        assert_eq!(svrs.len(), 12);
        // Fitted on the sample, they predict every held-out inner row, as
        // the other candidates do: the first C of every width is scored.
        for c in svrs
            .iter()
            .filter(|c| c["name"].as_str().unwrap().contains("C=2,"))
        {
            assert!(c["rmse"].as_f64().unwrap().is_finite(), "{c}");
        }
    }
    let (ship, n_fit) = (&m["training"]["selection"], &m["training"]["n_fit"]);
    if ship["chosen"].as_str().unwrap().starts_with("svr") {
        assert_eq!(*n_fit, 40, "a chosen SVR is refitted on the sample");
    } else {
        let monitor = m["training"]["n_monitor"].as_u64().unwrap();
        assert_eq!(
            n_fit.as_u64().unwrap() + monitor,
            ship["rows"].as_u64().unwrap(),
            "the other heads use every row"
        );
    }
    let card = std::fs::read_to_string(d.path().join("out/chug_hdr_mos_head_v1_card.md")).unwrap();
    assert!(card.contains("SVRs on a sample of 40 rows"), "{card}");
    // Seeded: the same bytes again.
    train_chug(d.path(), &args).ok();
    assert!(std::fs::read(&path).unwrap() == first, "manifests differ");
}
