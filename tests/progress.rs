//! Progress and `--quiet` of the real binary on a non-terminal (the tests'
//! standard error is a pipe, as in CI or under `nohup`).

use moshead_e2e::*;

/// The seconds a `moshead: [  12.3 s] stage` line carries, if it is one.
fn seconds(line: &str) -> Option<f64> {
    let rest = line.strip_prefix("moshead: [")?;
    rest.split(" s]").next()?.trim().parse().ok()
}

#[test]
fn quiet_prints_only_the_result_line() {
    let d = tempfile::tempdir().unwrap();
    synth_chug(d.path(), "204", "5");
    let run = train_chug(d.path(), &["--head", "ridge"]);
    let out = run.ok();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "{run}");
    assert!(
        lines[0].starts_with("chug_hdr_mos_head_v1: ridge head, pooled PLCC "),
        "{run}"
    );
    assert!(lines[0].contains("gate synthetic"), "{run}");
    assert!(lines[0].ends_with("chug_hdr_mos_head_v1.json"), "{run}");
    assert_eq!(run.stderr, "", "{run}");
}

#[test]
fn validate_quiet_prints_one_line() {
    let d = tempfile::tempdir().unwrap();
    synth_chug(d.path(), "240", "2");
    train_chug(d.path(), &["--head", "ridge"]).ok();
    let validate = |flag: &str| {
        let model = "out/chug_hdr_mos_head_v1.json";
        let args = [
            "validate",
            "--model",
            model,
            "-i",
            "shards=corpus/shards",
            flag,
        ];
        moshead(d.path(), &args)
    };
    let run = validate("--quiet");
    assert_eq!(run.code, Some(0), "{run}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{run}");
    // The rows, PLCC and RMSE with their intervals, the native RMSE on
    // the corpus's 0-100 scale, the gate.
    let line = lines[0];
    assert!(
        line.starts_with("chug_hdr_mos_head_v1 on ")
            && line.contains(" held-out test rows: PLCC 0.")
            && line.contains("], RMSE 0.")
            && line.contains(" on 0-100); gate synthetic PASSED"),
        "{run}"
    );
    assert_eq!(run.stderr, "", "{run}");
    // The same figures as the full report.
    let full = validate("--json").json();
    let plcc = full["metrics"]["plcc"].as_f64().unwrap();
    assert!(line.contains(&format!("PLCC {plcc:.4} [")), "{line} {full}");
}

#[test]
fn without_a_terminal_each_stage_gets_a_dated_line_and_none_is_far_apart() {
    let d = tempfile::tempdir().unwrap();
    synth_chug(d.path(), "600", "7");
    let run = train_chug_summary(d.path(), &["--validation", "kfold", "--folds", "3"]);
    run.ok();
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| seconds(l).is_some())
        .collect();
    // One line per stage: each shard read, each fold, the ship model, the
    // outputs.
    for stage in [
        "ingest ",
        "fold 1/3",
        "fold 2/3",
        "fold 3/3",
        "ship model",
        "write outputs",
    ] {
        assert!(
            lines.iter().any(|l| l.contains(stage)),
            "no line for `{stage}`:\n{run}"
        );
    }
    // Step lines (auto's inner CV beside its fold) are rate-limited, so
    // whether one shows depends on how long a fold takes on this machine:
    // the unit tests of `progress` check their rule, not this run.
    assert!(
        !run.stderr.contains('\x1b'),
        "terminal codes in a log:\n{run}"
    );
    // The lines' own timestamps: in order, and never more than the stated
    // 10 s apart (with a generous allowance for a busy machine).
    let t: Vec<f64> = lines.iter().filter_map(|l| seconds(l)).collect();
    assert!(t.windows(2).all(|w| w[0] <= w[1]), "{run}");
    assert!(t.windows(2).all(|w| w[1] - w[0] <= 20.0), "{run}");
}

#[test]
fn progress_json_writes_one_event_object_per_line() {
    let d = tempfile::tempdir().unwrap();
    synth_chug(d.path(), "204", "5");
    let run = train_chug_summary(
        d.path(),
        &["--head", "ridge", "--progress", "json", "--json"],
    );
    run.json();
    let events: Vec<serde_json::Value> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(events.len() >= 3, "{run}");
    assert!(events
        .iter()
        .all(|e| e["event"] == "progress" && e["elapsed_s"].is_number() && e["stage"].is_string()));
    assert!(events.iter().any(|e| e["stage"] == "fold 1/1"), "{run}");
    assert!(
        events.last().is_some_and(|e| e["stage"] == "write outputs"),
        "{run}"
    );
}
