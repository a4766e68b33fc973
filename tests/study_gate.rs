//! A study file without `[gate]`: the team declares no gate. Training,
//! validation and the exports run; the outcome is "no gate declared"
//! (neither PASSED / Accepted nor MISSED / Proposed), stated in the summary,
//! the manifest, the card, the report and the ledger; `validate` exits 0 and
//! `train --require-gate` exits 3 saying why. The same study with a gate is
//! judged as before. Also: the manifest records that every row is its own
//! content when no two rows share one, beside the summary's line.

use std::path::Path;

use moshead_e2e::{assert_contains, moshead};
use serde_json::Value;

use crate::export::read_json;
use crate::votes::{clip, quality, write_log, CLIPS};

/// The study file over `labels.csv` and `logs/`; `content` a `[columns]`
/// line or nothing, `gate` a `[gate]` table or nothing.
fn study_file(content: &str, gate: &str) -> String {
    format!(
        r#"name = "ungated"
description = "a study that declares no gate"
licence = "Test-suite study."
[scale]
min = 0
max = 100
[columns]
id = "clip"
mos = "mos"
{content}
[split]
test_contents = ["src5"]
[logs]
path = "logs"
[labels]
path = "labels.csv"
{gate}"#
    )
}

/// The logs and a labels table whose MOS follows each clip's quality.
fn corpus(cwd: &Path) {
    std::fs::create_dir_all(cwd.join("logs")).unwrap();
    let mut csv = String::from("clip,src,mos\n");
    for j in 0..CLIPS {
        write_log(&cwd.join("logs"), j);
        let mos = 20.0 + 60.0 * quality(j) + ((j * 5) % 7) as f64;
        csv.push_str(&format!("{},src{},{mos:.2}\n", clip(j), j / 4));
    }
    std::fs::write(cwd.join("labels.csv"), csv).unwrap();
}

fn train<'a>(extra: &[&'a str], out: &'a str) -> Vec<&'a str> {
    let mut a = vec![
        "train",
        "--adapter",
        "./study.toml",
        "--head",
        "linear",
        "--validation",
        "kfold",
        "--folds",
        "3",
        "--out",
        out,
        "--force",
    ];
    a.extend_from_slice(extra);
    a
}

#[test]
fn a_study_without_a_gate_trains_validates_and_says_no_gate_declared() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    corpus(cwd);
    std::fs::write(cwd.join("study.toml"), study_file("content = \"src\"", "")).unwrap();

    let summary = moshead(cwd, &train(&[], "out")).ok().to_owned();
    assert!(
        summary.contains("gate (real): no gate declared — the adapter names no threshold"),
        "{summary}"
    );
    assert!(
        !summary.contains("MISSED") && !summary.contains("PASSED"),
        "{summary}"
    );
    assert!(
        !summary.contains("every row is its own content"),
        "{summary}"
    );

    let out = cwd.join("out");
    let m = read_json(&out.join("ungated_mos_head_v1.json"));
    let g = &m["gate"];
    assert_eq!(g["declared"], false, "{g}");
    assert_eq!(g["passed"], false, "{g}");
    assert_eq!(g["kind"], "real", "{g}");
    assert_eq!(g["checks"], serde_json::json!([]), "{g}");
    assert!(m["data"].get("each_row_content").is_none(), "{}", m["data"]);

    let card = std::fs::read_to_string(out.join("ungated_mos_head_v1_card.md")).unwrap();
    assert_contains(
        &card,
        &[
            "Status: No gate declared\n",
            "Gate (real): no gate declared.",
            "Verdict: **no gate declared**",
            "- The adapter declares no gate: no threshold accepted or refused this head",
        ],
    );
    for never in ["Proposed", "Accepted", "gate was missed", "**miss**"] {
        assert!(!card.contains(never), "{never:?} in:\n{card}");
    }
    let report = std::fs::read_to_string(out.join("ungated_mos_head_v1_report.html")).unwrap();
    assert!(
        report.contains("<span class=\"none\">no gate declared</span>")
            && report.contains("<p>No gate declared: the adapter names no threshold"),
        "{report}"
    );

    let ledger = std::fs::read_to_string(out.join("ledger.jsonl")).unwrap();
    let line: Value = serde_json::from_str(ledger.lines().next().unwrap()).unwrap();
    assert_eq!(
        (&line["gate_declared"], &line["gate_passed"]),
        (&Value::Bool(false), &Value::Bool(false)),
        "{line}"
    );
    let listed = moshead(cwd, &["ledger", "--out", "out"]).ok().to_owned();
    assert!(listed.contains("real none declared"), "{listed}");

    // The quiet result line.
    let quiet = moshead(cwd, &train(&["--quiet"], "out")).ok().to_owned();
    assert!(
        quiet.contains("gate real no gate declared; wrote"),
        "{quiet}"
    );

    // Held-out validation: nothing was missed, exit 0.
    let model = "out/ungated_mos_head_v1.json";
    let v = moshead(cwd, &["validate", "--model", model])
        .ok()
        .to_owned();
    assert!(v.contains("gate (real): no gate declared"), "{v}");
    let vj = moshead(cwd, &["validate", "--model", model, "--json"]).json();
    assert_eq!(vj["gate"]["declared"], false, "{vj}");

    // --require-gate: nothing can pass, exit 3, saying why; the set is written.
    let required = moshead(cwd, &train(&["--require-gate"], "out2"));
    let err = required.fails(3);
    assert!(
        err.contains("--require-gate: ungated declares no gate, so no head can pass one"),
        "{required}"
    );
    assert!(cwd.join("out2/ungated_mos_head_v1.json").is_file());

    // `adapters show` says so too.
    let show = moshead(cwd, &["adapters", "show", "./study.toml"])
        .ok()
        .to_owned();
    assert!(show.contains("no gate declared"), "{show}");

    // The same study with a gate is judged: its checks, PASSED or MISSED.
    std::fs::write(
        cwd.join("study.toml"),
        study_file("content = \"src\"", "[gate]\nplcc_min = 0.5\n"),
    )
    .unwrap();
    let gated = moshead(cwd, &train(&[], "out3")).ok().to_owned();
    assert!(
        gated.contains("gate (real): PASSED — mean_plcc "),
        "{gated}"
    );
    let m = read_json(&cwd.join("out3/ungated_mos_head_v1.json"));
    assert!(m["gate"].get("declared").is_none(), "{}", m["gate"]);
    assert_eq!(m["gate"]["passed"], true);
}

#[test]
fn the_manifest_records_that_every_row_is_its_own_content() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    corpus(cwd);
    // No content column and no id pattern: every clip is its own content.
    let text = study_file("", "[gate]\nplcc_min = 0.5\n")
        .replace("[split]\ntest_contents = [\"src5\"]\n", "");
    std::fs::write(cwd.join("study.toml"), text).unwrap();
    let summary = moshead(cwd, &train(&[], "out")).ok().to_owned();
    let m = read_json(&cwd.join("out/ungated_mos_head_v1.json"));
    let each = m["data"]["each_row_content"].as_str().unwrap_or_else(|| {
        panic!("no data.each_row_content: {}", m["data"]);
    });
    assert!(
        each.starts_with("every row is its own content (no two rows share one)"),
        "{each}"
    );
    assert_eq!(m["data"]["groups"], m["data"]["rows"]);
    // The summary's line is the manifest's statement.
    assert!(
        summary.contains(&format!("contents: {each}\n")),
        "{summary}"
    );
    let card = std::fs::read_to_string(cwd.join("out/ungated_mos_head_v1_card.md")).unwrap();
    assert!(card.contains(&format!("- Contents: {each}.")), "{card}");
}
