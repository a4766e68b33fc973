//! Hostile input: every case ends in an exact, asserted outcome — a counted
//! drop with its reason, rows with counted fills, or a clear error naming the
//! file — and never a panic, a hang or a silent skip.

use crate::hostile_cases::{cases, chug_row, file, shards, Expect};
use moshead_e2e::*;
use serde_json::Value;

#[test]
fn hostile_inputs_have_exact_outcomes() {
    let all = cases();
    assert!(all.len() >= 30, "{} cases", all.len());
    for case in all {
        let d = tempfile::tempdir().unwrap();
        let input = (case.setup)(d.path());
        let binding = format!("{}={}", case.slot, input.display());
        let mut c = moshead_cmd(d.path());
        c.args(["corpus", "-a", case.adapter, "--input", &binding, "--json"])
            .args(case.extra);
        // A hang bound: each case reads a few lines and takes well under a
        // second on an idle machine; ten minutes allow for any load.
        let run = run_cmd_within(c, 600, &format!("hostile case `{}`", case.name));
        let ctx = format!("case `{}`:\n{run}", case.name);
        assert!(!run.stderr.contains("panicked"), "{ctx}");
        match case.expect {
            Expect::Error(text) => {
                assert_eq!(run.code, Some(1), "{ctx}");
                assert!(run.stderr.contains(text), "{ctx}");
                let name = input.file_name().unwrap().to_string_lossy().into_owned();
                assert!(run.stderr.contains(&name), "names the input: {ctx}");
            }
            Expect::Drop { code, n, rows } => {
                let v: Value = serde_json::from_str(run.ok()).unwrap();
                assert_eq!(v["drops"][code]["count"].as_u64(), Some(n), "{ctx}");
                assert_eq!(v["rows"].as_u64(), Some(rows), "{ctx}");
                let total: u64 = v["drops"]
                    .as_object()
                    .unwrap()
                    .values()
                    .map(|d| d["count"].as_u64().unwrap())
                    .sum();
                assert_eq!(total, n, "no other drops: {ctx}");
                let example = v["drops"][code]["examples"][0].as_str().unwrap();
                assert!(
                    example.contains(&format!("{}:", input.display())),
                    "file:line in {example}"
                );
            }
            Expect::Fill { rows, col, filled } => {
                let v: Value = serde_json::from_str(run.ok()).unwrap();
                assert_eq!(v["rows"].as_u64(), Some(rows), "{ctx}");
                let c = v["columns"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|c| c["name"] == col)
                    .unwrap();
                assert_eq!(c["filled"].as_u64(), Some(filled), "{ctx}");
            }
            Expect::Rows(n) => {
                let v: Value = serde_json::from_str(run.ok()).unwrap();
                assert_eq!(v["rows"].as_u64(), Some(n), "{ctx}");
                assert!(v["drops"].as_object().unwrap().is_empty(), "{ctx}");
            }
        }
    }
}

#[test]
fn unrelated_files_in_a_shard_directory_are_reported() {
    let d = tempfile::tempdir().unwrap();
    let s = shards(d.path());
    file(&s, "shard_00.features.jsonl", chug_row("") + "\n");
    file(&s, "notes.txt", "x");
    let run = moshead(
        d.path(),
        &["corpus", "-a", "chug-hdr", "-i", "shards=shards", "--json"],
    );
    let v = run.json();
    let notes = v["notes"].to_string();
    assert!(
        notes.contains("1 entry") && notes.contains("not matching"),
        "{notes}"
    );
}

#[test]
fn manifests_that_are_not_manifests_are_refused_with_line_and_column() {
    let d = tempfile::tempdir().unwrap();
    for (name, text, needle) in [
        ("empty.json", "", "empty.json:1:0"),
        (
            "trunc.json",
            "{\n  \"manifest_schema\": \"moshead-manifest-v1\",\n  \"id\": ",
            "trunc.json:3:",
        ),
        ("array.json", "[]", "array.json:1:2: invalid length 0"),
        (
            "schema-array.json",
            "[\"moshead-manifest-v1\"]",
            "schema-array.json:1:23: invalid length 1",
        ),
        (
            "extra.json",
            "{\"surprise\": 1}",
            "unknown field `surprise`",
        ),
    ] {
        file(d.path(), name, text);
        let run = moshead(
            d.path(),
            &["predict", "--model", name, "--input", "x.jsonl"],
        );
        let err = run.fails(1);
        assert!(err.contains(needle), "{name}: {run}");
    }
}
