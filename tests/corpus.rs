//! Corpus ingestion end to end: `moshead synth` and `moshead corpus` against
//! the real built plugins, from generated shards to hand-written bad rows,
//! input resolution, parquet tables and display profiles.

use std::collections::BTreeMap;
use std::path::Path;

use moshead::corpus::parquet::{write_table, ColumnData};
use moshead_e2e::*;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The seed of the embedded demo corpus (`moshead corpus --demo`).
const DEMO_SEED: &str = "20260508";

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `moshead synth ...` in `cwd`; returns stdout.
fn synth(cwd: &Path, args: &[&str]) -> String {
    let mut all = vec!["synth"];
    all.extend_from_slice(args);
    moshead(cwd, &all).ok().to_owned()
}

/// `moshead corpus ... --json` in `cwd`; returns the report.
fn report(cwd: &Path, args: &[&str]) -> Value {
    let mut all = vec!["corpus"];
    all.extend_from_slice(args);
    all.push("--json");
    moshead(cwd, &all).json()
}

/// The `drops` of a report as `code -> count`.
fn drop_counts(v: &Value) -> BTreeMap<String, u64> {
    v["drops"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, d)| (k.clone(), d["count"].as_u64().unwrap()))
        .collect()
}

/// A `{name: count}` object of a report as a map.
fn counts(v: &Value) -> BTreeMap<String, u64> {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, n)| (k.clone(), n.as_u64().unwrap()))
        .collect()
}

fn map(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, n)| (k.to_string(), *n)).collect()
}

/// The column named `name` of a report.
pub(crate) fn column<'v>(v: &'v Value, name: &str) -> &'v Value {
    v["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no column {name}"))
}

/// Asserts every input's sha256 and size are those of the file's bytes
/// (paths are relative to `cwd`), and returns the input paths in order.
fn assert_input_hashes(cwd: &Path, v: &Value) -> Vec<String> {
    v["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let path = i["path"].as_str().unwrap();
            let bytes = std::fs::read(cwd.join(path)).unwrap();
            assert_eq!(i["sha256"], sha256_hex(&bytes).as_str(), "{path}");
            assert_eq!(i["bytes"], bytes.len() as u64, "{path}");
            path.to_owned()
        })
        .collect()
}

/// Asserts that no column of the report was filled.
fn assert_nothing_filled(v: &Value) {
    for c in v["columns"].as_array().unwrap() {
        assert_eq!(c["filled"], 0, "{c}");
    }
}

/// Parses every line of a JSONL file.
fn jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

// ---------------------------------------------------------------- synth -> corpus

#[test]
fn synthetic_chug_shards_read_back_with_six_rungs_per_content() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let out = synth(
        cwd,
        &[
            "--adapter",
            "chug-hdr",
            "--rows",
            "120",
            "--seed",
            "7",
            "--out",
            "c",
        ],
    );
    assert!(out.contains("--input shards=c/shards"), "{out}");
    let v = report(
        cwd,
        &["--adapter", "chug-hdr", "--input", "shards=c/shards"],
    );
    assert_eq!(v["adapter"], "chug-hdr");
    assert_eq!(v["schema"], "chug-hdr-wide-v1");
    assert_eq!(v["rows"], 120);
    assert_eq!(drop_counts(&v), map(&[("reference-row", 20)]));
    // The reference is the last of a content's seven lines.
    let first = "c/shards/shard_00.features.jsonl";
    let examples: Vec<String> = [7, 14, 21]
        .iter()
        .map(|n| format!("{first}:{n}: reference row (chug_ref = 1), excluded by default; --include-references keeps it"))
        .collect();
    assert_eq!(v["drops"]["reference-row"]["examples"], json!(examples));
    assert_eq!(v["groups"], 20);
    assert_eq!(v["group_sizes"], json!([6, 6, 6]));
    assert_eq!(counts(&v["split_origins"]), map(&[("explicit", 120)]));
    assert_eq!(v["synthetic_rows"], 120);
    assert_eq!(v["columns"].as_array().unwrap().len(), 34);
    assert_nothing_filled(&v);
    // Eight shards, in order, each hashed over its bytes.
    let paths = assert_input_hashes(cwd, &v);
    let expected: Vec<String> = (0..8)
        .map(|i| format!("c/shards/shard_{i:02}.features.jsonl"))
        .collect();
    assert_eq!(paths, expected);
    let lines: u64 = v["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["lines"].as_u64().unwrap())
        .sum();
    assert_eq!(lines, 140);
    // Splits are the rows' own labels: count them in the raw shards.
    let mut labels: BTreeMap<String, u64> = BTreeMap::new();
    let mut groups: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    for p in &paths {
        for row in jsonl(&cwd.join(p)).iter().filter(|r| r["chug_ref"] == 0) {
            let split = row["split"].as_str().unwrap().to_owned();
            *labels.entry(split.clone()).or_default() += 1;
            groups
                .entry(split)
                .or_default()
                .insert(row["chug_content_name"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(counts(&v["splits"]), labels);
    let group_counts: BTreeMap<String, u64> = groups
        .iter()
        .map(|(k, g)| (k.clone(), g.len() as u64))
        .collect();
    assert_eq!(counts(&v["groups_per_split"]), group_counts);
    // A content's six rungs share its split.
    for (split, rows) in &labels {
        assert_eq!(*rows, 6 * group_counts[split], "{split}");
    }
}

#[test]
fn synthetic_konvid_1k_reads_back_without_splits() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let out = synth(
        cwd,
        &[
            "--adapter",
            "konvid",
            "--variant",
            "konvid-1k",
            "--rows",
            "200",
            "--seed",
            "7",
            "--out",
            "k",
        ],
    );
    assert!(out.contains("--input konvid-1k=k/konvid-1k.jsonl"), "{out}");
    let v = report(
        cwd,
        &[
            "--adapter",
            "konvid",
            "--input",
            "konvid-1k=k/konvid-1k.jsonl",
        ],
    );
    assert_eq!(v["schema"], "konvid-v1");
    assert_eq!(v["rows"], 200);
    assert_eq!(drop_counts(&v), BTreeMap::new());
    assert_eq!(counts(&v["splits"]), map(&[("none", 200)]));
    assert_eq!(counts(&v["split_origins"]), map(&[("none", 200)]));
    assert_eq!(v["groups"], 200, "every clip is its own content");
    assert_eq!(v["group_sizes"], json!([1, 1, 1]));
    assert_eq!(v["synthetic_rows"], 200);
    assert_eq!(v["columns"].as_array().unwrap().len(), 11);
    assert_nothing_filled(&v);
    assert_eq!(assert_input_hashes(cwd, &v), ["k/konvid-1k.jsonl"]);
    assert_eq!(v["inputs"][0]["lines"], 200);
}

#[test]
fn synthetic_konvid_150k_maps_set_a_to_train_and_set_b_to_val() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    synth(
        cwd,
        &[
            "--adapter",
            "konvid",
            "--variant",
            "konvid-150k",
            "--rows",
            "300",
            "--seed",
            "7",
            "--out",
            "k",
        ],
    );
    let file = "k/konvid-150k.jsonl";
    let v = report(
        cwd,
        &[
            "--adapter",
            "konvid",
            "--input",
            &format!("konvid-150k={file}"),
        ],
    );
    assert_eq!(v["rows"], 300);
    assert_eq!(drop_counts(&v), BTreeMap::new());
    let rows = jsonl(&cwd.join(file));
    let set = |label: &str| rows.iter().filter(|r| r["split"] == label).count() as u64;
    let (a, b) = (set("k150ka"), set("k150kb"));
    assert!(a > 0 && b > 0 && a + b == 300, "{a} {b}");
    assert_eq!(counts(&v["splits"]), map(&[("train", a), ("val", b)]));
    assert_eq!(
        counts(&v["groups_per_split"]),
        map(&[("train", a), ("val", b)])
    );
    assert_eq!(counts(&v["split_origins"]), map(&[("explicit", 300)]));
    assert_eq!(v["synthetic_rows"], 300);
    assert_nothing_filled(&v);
    assert_eq!(assert_input_hashes(cwd, &v), [file]);
    // A 150k corpus is not a 1k corpus: its rows are foreign there.
    let w = report(
        cwd,
        &[
            "--adapter",
            "konvid",
            "--input",
            &format!("konvid-1k={file}"),
        ],
    );
    assert_eq!(w["rows"], 0);
    assert_eq!(drop_counts(&w), map(&[("foreign-corpus", 300)]));
}

// ---------------------------------------------------------------- drop reasons

/// One hand-written line and what must become of it: `None` projects, else
/// `(code, a fragment of the message)`.
type Case = (&'static [u8], Option<(&'static str, &'static str)>);

const CHUG_CASES: &[Case] = &[
    (
        br#"{"corpus":"chug","chug_video_id":"v1","chug_content_name":"c1","mos":3.2,"adm2":0.9}"#,
        None,
    ),
    (
        br#"{"corpus":"chug","chug_video_id":"v2","#,
        Some(("malformed-json", "EOF while parsing")),
    ),
    (
        b"[1, 2, 3]",
        Some(("not-an-object", "JSON but not an object")),
    ),
    (
        br#"{"corpus":"chug","chug_video_id":"v3","chug_video_id":"v3b","chug_content_name":"c1","mos":3}"#,
        Some(("duplicate-key", "key `chug_video_id` appears twice")),
    ),
    (
        br#"{"corpus":"konvid-1k","src":"3337642103.mp4","mos":3.42,"adm2":0.91}"#,
        Some((
            "foreign-corpus",
            "corpus `konvid-1k` is not accepted by slot `shards` (accepts: chug)",
        )),
    ),
    (
        br#"{"chug_video_id":"v4","chug_content_name":"c1","mos":3}"#,
        Some((
            "missing-corpus-tag",
            "no `corpus` tag and slot `shards` assumes none",
        )),
    ),
    (
        br#"{"corpus":"chug","chug_video_id":"v5","chug_content_name":"c1","adm2":0.9}"#,
        Some(("mos-missing", "neither `mos` nor `mos_raw_0_100` is present")),
    ),
    (
        br#"{"corpus":"chug","chug_video_id":"v6","chug_content_name":"c1","mos":"3.2"}"#,
        Some(("mos-invalid", "`mos` is not a number")),
    ),
    (
        br#"{"corpus":"chug","chug_video_id":"v7","chug_content_name":"c1","mos":62.5}"#,
        Some((
            "mos-out-of-range",
            "MOS 62.5 from `mos` is outside 1-5 (wrong scale?)",
        )),
    ),
    (
        br#"{"corpus":"chug","chug_video_id":"v8","chug_content_name":"c1","mos":1e999}"#,
        Some(("mos-non-finite", "MOS from `mos` is not finite")),
    ),
    (
        br#"{"corpus":"chug","chug_video_id":"v9","chug_content_name":"c1","mos":3,"split":"dev"}"#,
        Some(("unknown-split", "split label `dev` is not train, val, test")),
    ),
    (
        br#"{"corpus":"chug","chug_video_id":"v10","mos":3}"#,
        Some(("missing-content", "`chug_content_name` is missing or empty")),
    ),
    (
        br#"{"corpus":"chug","chug_content_name":"c1","mos":3}"#,
        Some((
            "missing-id",
            "none of chug_video_id, src_sha256, src is present",
        )),
    ),
    (
        br#"{"corpus":"chug","chug_video_id":"v11","chug_content_name":"c1","chug_ref":1,"mos_raw_0_100":62}"#,
        Some(("reference-row", "reference row (chug_ref = 1)")),
    ),
    (
        b"{\"corpus\":\"chug\",\"chug_video_id\":\"v\xff\",\"chug_content_name\":\"c1\",\"mos\":3}",
        Some(("invalid-utf8", "invalid UTF-8 at byte 35")),
    ),
    (b"  \t", Some(("blank-line", "blank line"))),
    (
        br#"{"corpus":"chug","chug_video_id":"v12","chug_content_name":"c2","mos_raw_0_100":50}"#,
        None,
    ),
];

// KonViD has no reference rows, and a clip without a content key is its own
// content, so `reference-row` and `missing-content` cannot happen there.
const KONVID_CASES: &[Case] = &[
    (
        br#"{"corpus":"konvid-1k","src":"a.mp4","mos":3.4,"adm2":0.9}"#,
        None,
    ),
    (
        br#"{"corpus":"konvid-1k","src":"b.mp4","mos":3.4,}"#,
        Some(("malformed-json", "trailing comma")),
    ),
    (
        br#""just a string""#,
        Some(("not-an-object", "JSON but not an object")),
    ),
    (
        br#"{"corpus":"konvid-1k","src":"c.mp4","mos":3.0,"mos":3.1}"#,
        Some(("duplicate-key", "key `mos` appears twice")),
    ),
    (
        br#"{"corpus":"chug","chug_video_id":"v1","chug_content_name":"c1","src":"d.mp4","mos":3.2}"#,
        Some((
            "foreign-corpus",
            "corpus `chug` is not accepted by slot `konvid-1k` (accepts: konvid-1k)",
        )),
    ),
    (
        br#"{"corpus":"konvid-150k","src":"e.mp4","mos":3.2,"split":"k150ka"}"#,
        Some((
            "foreign-corpus",
            "corpus `konvid-150k` is not accepted by slot `konvid-1k`",
        )),
    ),
    (
        br#"{"corpus":7,"src":"f.mp4","mos":3.0}"#,
        Some(("missing-corpus-tag", "`corpus` is not a string")),
    ),
    (
        br#"{"corpus":"konvid-1k","src":"g.mp4","MOS":3.1}"#,
        Some(("mos-missing", "`mos` is not present")),
    ),
    (
        br#"{"corpus":"konvid-1k","src":"h.mp4","mos":true}"#,
        Some(("mos-invalid", "`mos` is not a number")),
    ),
    (
        br#"{"corpus":"konvid-1k","src":"i.mp4","mos":68.2}"#,
        Some((
            "mos-out-of-range",
            "MOS 68.2 from `mos` is outside 1-5 (wrong scale?)",
        )),
    ),
    (
        br#"{"corpus":"konvid-1k","src":"j.mp4","mos":-1e999}"#,
        Some(("mos-non-finite", "MOS from `mos` is not finite")),
    ),
    (
        br#"{"corpus":"konvid-1k","src":"k.mp4","mos":3.0,"split":"k150kc"}"#,
        Some(("unknown-split", "split label `k150kc`")),
    ),
    (
        br#"{"corpus":"konvid-1k","mos":3.0}"#,
        Some((
            "missing-id",
            "none of src, src_sha256, flickr_id, video_name, file_name is present",
        )),
    ),
    (
        b"{\"corpus\":\"konvid-1k\",\"src\":\"\xc3(.mp4\",\"mos\":3.0}",
        Some(("invalid-utf8", "invalid UTF-8 at byte 29")),
    ),
    (b"", Some(("blank-line", "blank line"))),
    (
        br#"{"corpus":"konvid-1k","flickr_id":3337642103,"mos":2.5,"split":"K150KB"}"#,
        None,
    ),
];

/// Writes `cases` as `name` (one line each) in `cwd`.
fn write_cases(cwd: &Path, name: &str, cases: &[Case]) {
    let mut bytes = Vec::new();
    for (line, _) in cases {
        bytes.extend_from_slice(line);
        bytes.push(b'\n');
    }
    std::fs::write(cwd.join(name), bytes).unwrap();
}

/// Asserts the report accounts for every case: the exact drop counts, and
/// for each dropped line an example `file:line: message`.
fn assert_cases(v: &Value, file: &str, cases: &[Case]) {
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for (i, (_, outcome)) in cases.iter().enumerate() {
        let Some((code, fragment)) = outcome else {
            continue;
        };
        *expected.entry(code.to_string()).or_default() += 1;
        let prefix = format!("{file}:{}: ", i + 1);
        let examples = v["drops"][code]["examples"].as_array().unwrap();
        assert!(
            examples.iter().any(|e| {
                let e = e.as_str().unwrap();
                e.starts_with(&prefix) && e.contains(fragment)
            }),
            "no example {prefix}...{fragment} for {code}: {examples:?}"
        );
    }
    assert_eq!(drop_counts(v), expected);
    let projected = cases.iter().filter(|(_, o)| o.is_none()).count() as u64;
    assert_eq!(v["rows"], projected);
    let input = &v["inputs"][0];
    assert_eq!(input["lines"], cases.len() as u64);
    assert_eq!(input["rows"], projected);
    assert_eq!(counts(&input["drops"]), expected);
}

#[test]
fn every_chug_drop_reason_is_counted_with_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    std::fs::create_dir(cwd.join("bad")).unwrap();
    write_cases(cwd, "bad/shard_00.features.jsonl", CHUG_CASES);
    let v = report(cwd, &["--adapter", "chug-hdr", "--input", "shards=bad"]);
    let file = "bad/shard_00.features.jsonl";
    assert_cases(&v, file, CHUG_CASES);
    // The two valid rows projected: the second's MOS came from the 0-100
    // key, and its missing `adm2` was filled and counted.
    let adm2 = column(&v, "adm2");
    assert_eq!((&adm2["min"], &adm2["max"]), (&json!(0.0), &json!(0.9)));
    assert_eq!(adm2["filled"], 1);
    assert_eq!(v["groups"], 2);
    assert_eq!(v["synthetic_rows"], 0);
    assert_eq!(counts(&v["split_origins"]), map(&[("policy", 2)]));
    // People see the same examples.
    let text = moshead(
        cwd,
        &["corpus", "--adapter", "chug-hdr", "--input", "shards=bad"],
    );
    let out = text.ok();
    assert!(
        out.contains(&format!(
            "e.g. {file}:9: MOS 62.5 from `mos` is outside 1-5"
        )),
        "{out}"
    );
    assert!(out.contains("dropped: 15"), "{out}");
}

#[test]
fn every_konvid_drop_reason_is_counted_with_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    write_cases(cwd, "rows.jsonl", KONVID_CASES);
    let v = report(
        cwd,
        &["--adapter", "konvid", "--input", "konvid-1k=rows.jsonl"],
    );
    assert_cases(&v, "rows.jsonl", KONVID_CASES);
    // The second valid row has no `src`: its integer flickr id is its id and
    // its content, and its set-B label is a validation split.
    assert_eq!(v["groups"], 2);
    assert_eq!(counts(&v["splits"]), map(&[("none", 1), ("val", 1)]));
    assert_eq!(
        counts(&v["split_origins"]),
        map(&[("explicit", 1), ("none", 1)])
    );
}

// ---------------------------------------------------------------- --strict

#[test]
fn strict_fails_on_the_first_bad_line_naming_file_line_and_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let good = r#"{"corpus":"konvid-1k","src":"a.mp4","mos":3.4}"#;
    std::fs::write(
        cwd.join("rows.jsonl"),
        format!(
            "{good}\n{}\n{}\n{{bad\n",
            good.replace("a.mp4", "c.mp4"),
            r#"{"corpus":"konvid-1k","src":"b.mp4","mos":62.5}"#
        ),
    )
    .unwrap();
    let args = ["corpus", "-a", "konvid", "--input", "konvid-1k=rows.jsonl"];
    let run = moshead(cwd, &[&args[..], &["--strict"]].concat());
    let err = run.fails(1);
    assert!(
        err.contains(
            "rows.jsonl:3: mos-out-of-range: MOS 62.5 from `mos` is outside 1-5 (wrong scale?) (--strict)"
        ),
        "{run}"
    );
    assert!(!err.contains("rows.jsonl:4"), "only the first: {run}");
    assert!(run.stdout.is_empty(), "{run}");
    // Without --strict the same file is a report with two drops.
    let v = report(cwd, &args[1..]);
    assert_eq!(
        drop_counts(&v),
        map(&[("malformed-json", 1), ("mos-out-of-range", 1)])
    );

    // A host-side reason is strict too.
    std::fs::write(cwd.join("blank.jsonl"), format!("{good}\n\n{{bad\n")).unwrap();
    let run = moshead(
        cwd,
        &[
            "corpus",
            "-a",
            "konvid",
            "--input",
            "konvid-1k=blank.jsonl",
            "--strict",
        ],
    );
    assert!(
        run.fails(1)
            .contains("blank.jsonl:2: blank-line: blank line (--strict)"),
        "{run}"
    );

    // Synthetic CHUG shards hold reference rows: --strict stops at the first,
    // and passes once they are kept.
    synth(
        cwd,
        &[
            "-a", "chug-hdr", "--rows", "12", "--seed", "1", "--out", "c",
        ],
    );
    let run = moshead(
        cwd,
        &[
            "corpus",
            "-a",
            "chug-hdr",
            "--input",
            "shards=c/shards",
            "--strict",
        ],
    );
    assert!(
        run.fails(1).contains(
            "c/shards/shard_00.features.jsonl:7: reference-row: reference row (chug_ref = 1), excluded by default; --include-references keeps it (--strict)"
        ),
        "{run}"
    );
    let v = report(
        cwd,
        &[
            "-a",
            "chug-hdr",
            "--input",
            "shards=c/shards",
            "--strict",
            "--include-references",
        ],
    );
    assert_eq!(v["rows"], 14);
    assert_eq!(column(&v, "chug_ref")["max"], 1.0);
}

// ---------------------------------------------------------------- input resolution

#[test]
fn an_undeclared_slot_lists_the_allowed_slots() {
    let tmp = tempfile::tempdir().unwrap();
    let run = moshead(
        tmp.path(),
        &["corpus", "--adapter", "chug-hdr", "--input", "bogus=x"],
    );
    assert!(
        run.fails(1).contains(
            "adapter `chug-hdr` has no input slot `bogus`; allowed slots: shards, features, vmaf-logs, chug-labels, display-profile"
        ),
        "{run}"
    );
    let run = moshead(
        tmp.path(),
        &["corpus", "--adapter", "chug-hdr", "--input", "nonsense"],
    );
    assert!(
        run.fails(2).contains("`nonsense` is not SLOT=PATH"),
        "{run}"
    );
}

#[test]
fn a_missing_default_names_the_slot_the_path_and_the_flag() {
    let tmp = tempfile::tempdir().unwrap();
    let run = moshead(tmp.path(), &["corpus", "--adapter", "chug-hdr"]);
    let err = run.fails(1);
    for needle in [
        "adapter `chug-hdr` found no input rows",
        "shards=.corpus/chug/training/fr_canonical_shards/output/ (the adapter's default, not found)",
        "--input shards=PATH",
        "--demo",
    ] {
        assert!(err.contains(needle), "missing {needle:?}: {run}");
    }
    assert!(run.stdout.is_empty(), "{run}");
    // A variable pointing nowhere is named as the path's origin.
    let mut c = moshead_cmd(tmp.path());
    c.args(["corpus", "--adapter", "chug-hdr"])
        .env("VMAF_CHUG_DIR", tmp.path().join("nowhere"));
    let run = run_cmd(c);
    let expected = format!(
        "shards={} (from $VMAF_CHUG_DIR, not found)",
        tmp.path()
            .join("nowhere/training/fr_canonical_shards/output")
            .display()
    );
    assert!(run.fails(1).contains(&expected), "{run}");
}

/// Writes a CHUG shard of `contents` synthetic contents (seven lines each)
/// at `path`, from a generated corpus.
fn chug_shard(cwd: &Path, contents: usize, path: &Path) {
    chug_shard_of(cwd, 0..contents, path);
}

/// A shard holding the synthetic contents `range` (distinct ranges give
/// shards without a row in common: rows are keyed by id).
fn chug_shard_of(cwd: &Path, range: std::ops::Range<usize>, path: &Path) {
    let contents = range.end;
    let out = cwd.join(format!(".gen-{contents}"));
    if !out.exists() {
        let rows = (contents * 6).to_string();
        synth(
            cwd,
            &[
                "-a",
                "chug-hdr",
                "--rows",
                &rows,
                "--seed",
                "3",
                "--out",
                out.to_str().unwrap(),
            ],
        );
    }
    // With fewer than eight contents, each shard holds one.
    let mut text = String::new();
    for i in range {
        text.push_str(
            &std::fs::read_to_string(out.join(format!("shards/shard_{i:02}.features.jsonl")))
                .unwrap(),
        );
    }
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn the_default_shard_dir_and_its_environment_override_are_read() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let rel = "training/fr_canonical_shards/output/shard_00.features.jsonl";
    chug_shard(cwd, 1, &cwd.join(".corpus/chug").join(rel));
    let v = report(cwd, &["--adapter", "chug-hdr"]);
    assert_eq!(v["rows"], 6);
    assert_eq!(
        v["inputs"][0]["path"],
        format!(".corpus/chug/{rel}").as_str()
    );
    // VMAF_CHUG_DIR wins over the existing default.
    let root = tempfile::tempdir().unwrap();
    chug_shard(cwd, 2, &root.path().join(rel));
    let mut c = moshead_cmd(cwd);
    c.args(["corpus", "--adapter", "chug-hdr", "--json"])
        .env("VMAF_CHUG_DIR", root.path());
    let v = run_cmd(c).json();
    assert_eq!(v["rows"], 12);
    let inputs = v["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 1);
    assert_eq!(
        inputs[0]["path"],
        root.path().join(rel).display().to_string().as_str()
    );
    // An explicit --input wins over both.
    let v = report(
        cwd,
        &[
            "--adapter",
            "chug-hdr",
            "--input",
            "features=.corpus/chug/training/fr_canonical_shards/output/shard_00.features.jsonl",
        ],
    );
    assert_eq!(v["rows"], 6);
    assert_eq!(v["inputs"][0]["slot"], "features");
}

#[test]
fn a_shard_dir_reads_only_matching_files_in_sorted_order() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let dir = cwd.join("shards");
    // Written out of order; sorted by name they are 02, 10, 9.
    for (name, contents) in [
        ("shard_10.features.jsonl", 3..5),
        ("shard_9.features.jsonl", 5..6),
        ("shard_02.features.jsonl", 0..3),
    ] {
        chug_shard_of(cwd, contents, &dir.join(name));
    }
    std::fs::write(dir.join("README.md"), "not a shard\n").unwrap();
    std::fs::write(dir.join("shard_01.features.jsonl.bak"), "{oops\n").unwrap();
    std::fs::create_dir(dir.join("old")).unwrap();
    let v = report(cwd, &["--adapter", "chug-hdr", "--input", "shards=shards"]);
    let paths = assert_input_hashes(cwd, &v);
    assert_eq!(
        paths,
        [
            "shards/shard_02.features.jsonl",
            "shards/shard_10.features.jsonl",
            "shards/shard_9.features.jsonl"
        ]
    );
    let rows: Vec<u64> = v["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["rows"].as_u64().unwrap())
        .collect();
    assert_eq!(rows, [18, 12, 6]);
    assert_eq!(drop_counts(&v), map(&[("reference-row", 6)]));
    assert_eq!(
        v["notes"],
        json!([
            "slot `shards`: 3 entries in shards not matching `shard_*.features.jsonl` not read"
        ])
    );
    let text = moshead(
        cwd,
        &["corpus", "-a", "chug-hdr", "--input", "shards=shards"],
    );
    assert!(
        text.ok()
            .contains("note: slot `shards`: 3 entries in shards not matching"),
        "{text}"
    );
}

#[test]
fn an_empty_shard_dir_is_an_error_naming_the_glob() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    std::fs::create_dir(cwd.join("empty")).unwrap();
    let run = moshead(
        cwd,
        &["corpus", "-a", "chug-hdr", "--input", "shards=empty"],
    );
    assert!(
        run.fails(1)
            .contains("empty: slot `shards`: no file matches `shard_*.features.jsonl`"),
        "{run}"
    );
    let run = moshead(
        cwd,
        &["corpus", "-a", "chug-hdr", "--input", "shards=absent"],
    );
    assert!(
        run.fails(1)
            .contains("absent: slot `shards`: does not exist"),
        "{run}"
    );
}

// ---------------------------------------------------------------- parquet

/// The raw keys of a synthetic KonViD row written to the parquet table, some
/// under their `_mean` names (the value rule's fallback). The shot columns
/// go in as raw counts, which the adapter derives.
const PARQUET_NUMBERS: [(&str, &str); 15] = [
    ("adm2", "adm2"),
    ("vif_scale0", "vif_scale0_mean"),
    ("vif_scale1", "vif_scale1_mean"),
    ("vif_scale2", "vif_scale2"),
    ("vif_scale3", "vif_scale3"),
    ("motion2", "motion2_mean"),
    ("saliency_mean", "saliency_mean"),
    ("saliency_var", "saliency_var"),
    ("shot_count", "shot_count"),
    ("shot_mean_len_s", "shot_mean_len_s"),
    ("shot_cuts", "shot_cuts"),
    ("n_frames", "n_frames"),
    ("mos", "mos"),
    ("mos_std_dev", "mos_std_dev"),
    ("n_ratings", "n_ratings"),
];

#[test]
fn a_parquet_feature_table_ingests_like_its_jsonl() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    synth(
        cwd,
        &[
            "-a", "konvid", "--rows", "150", "--seed", "11", "--out", "k",
        ],
    );
    let rows = jsonl(&cwd.join("k/konvid-1k.jsonl"));
    let mut table: Vec<(String, ColumnData)> = vec![(
        "src".into(),
        ColumnData::Str(
            rows.iter()
                .map(|r| Some(r["src"].as_str().unwrap().to_owned()))
                .collect(),
        ),
    )];
    for (raw, name) in PARQUET_NUMBERS {
        let values = rows
            .iter()
            .map(|r| Some(r[raw].as_f64().unwrap()))
            .collect();
        table.push((name.into(), ColumnData::F64(values)));
    }
    table.push((
        "synthetic".into(),
        ColumnData::F64(vec![Some(1.0); rows.len()]),
    ));
    write_table(&cwd.join("features.parquet"), &table).unwrap();

    let from_jsonl = report(
        cwd,
        &["-a", "konvid", "--input", "konvid-1k=k/konvid-1k.jsonl"],
    );
    let from_parquet = report(
        cwd,
        &[
            "-a",
            "konvid",
            "--input",
            "features-parquet=features.parquet",
        ],
    );
    assert_eq!(from_parquet["rows"], 150);
    for key in [
        "rows",
        "splits",
        "groups",
        "group_sizes",
        "split_origins",
        "drops",
        "synthetic_rows",
        "columns",
    ] {
        assert_eq!(from_parquet[key], from_jsonl[key], "{key}");
    }
    assert_nothing_filled(&from_parquet);
    let input = &from_parquet["inputs"][0];
    assert_eq!(input["slot"], "features-parquet");
    assert_eq!(
        (&input["lines"], &input["rows"]),
        (&json!(150), &json!(150))
    );
    assert_input_hashes(cwd, &from_parquet);
}

#[test]
fn a_parquet_without_mos_or_not_parquet_at_all_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    write_table(
        &cwd.join("nomos.parquet"),
        &[
            ("src".into(), ColumnData::Str(vec![Some("a.mp4".into())])),
            ("adm2".into(), ColumnData::F64(vec![Some(0.9)])),
        ],
    )
    .unwrap();
    let run = moshead(
        cwd,
        &[
            "corpus",
            "-a",
            "konvid",
            "--input",
            "features-parquet=nomos.parquet",
        ],
    );
    assert!(
        run.fails(1)
            .contains("nomos.parquet: no `mos` column (columns: src, adm2)"),
        "{run}"
    );
    // Content decides: a CSV named .parquet is read as CSV, Parquet's magic
    // without a Parquet file behind it is an error.
    std::fs::write(cwd.join("fake.parquet"), "PAR1src,mos\na.mp4,3.1\n").unwrap();
    let run = moshead(
        cwd,
        &[
            "corpus",
            "-a",
            "konvid",
            "--input",
            "features-parquet=fake.parquet",
        ],
    );
    assert!(
        run.fails(1)
            .contains("fake.parquet: not a readable parquet file"),
        "{run}"
    );
}

// ---------------------------------------------------------------- display profiles

#[test]
fn a_display_profile_fills_only_the_display_values_rows_lack() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    synth(
        cwd,
        &[
            "-a", "chug-hdr", "--rows", "12", "--seed", "5", "--out", "c",
        ],
    );
    // The profile, under aliases, lacks BT.2020 coverage, local dimming and
    // tone mapping; its contrast is derived from peak and black.
    let profile = r#"{"name":"studio OLED","peak_nits":1000,"black_level_nits":0.05,"panel_type":"OLED","ambient_lux":200,"dci_p3_coverage":98}"#;
    std::fs::write(cwd.join("profile.json"), profile).unwrap();
    // One extra row with display values of its own, which win.
    std::fs::write(
        cwd.join("own.jsonl"),
        r#"{"corpus":"chug","chug_video_id":"own","chug_content_name":"own","mos":3,"display_peak_luminance_nits":4000,"display_local_dimming":true}
"#,
    )
    .unwrap();
    let v = report(
        cwd,
        &[
            "-a",
            "chug-hdr",
            "--schema",
            "chug-hdr-display-v1",
            "--input",
            "shards=c/shards",
            "--input",
            "features=own.jsonl",
            "--input",
            "display-profile=profile.json",
        ],
    );
    assert_eq!(v["schema"], "chug-hdr-display-v1");
    let columns = v["columns"].as_array().unwrap();
    assert_eq!(columns.len(), 45);
    assert_eq!(v["rows"], 13);
    assert_eq!(
        v["context"],
        json!([[
            "display-profile",
            "profile.json",
            sha256_hex(profile.as_bytes())
        ]])
    );
    // The synthetic rows have every wide column; the hand-written row none.
    for c in &columns[..34] {
        assert_eq!(c["filled"], 1, "{c}");
    }
    // Contrast is peak / black: the profile's, or the row's own peak.
    let contrast = |peak: f64| ((peak / 0.05).log10() / 7.0).clamp(0.0, 1.0);
    // (column, min, max, filled) over 12 synthetic rows and the own row.
    let expected: [(&str, f64, f64, u64); 11] = [
        ("display_peak_luminance_nits_norm", 0.1, 0.4, 0),
        ("display_black_luminance_nits_norm", 0.05, 0.05, 0),
        (
            "display_contrast_ratio_log_norm",
            contrast(1000.0),
            contrast(4000.0),
            0,
        ),
        ("display_ambient_lux_norm", 0.2, 0.2, 0),
        ("display_bt2020_coverage", 0.0, 0.0, 13),
        ("display_p3_coverage", 0.98, 0.98, 0),
        ("display_panel_oled", 1.0, 1.0, 0),
        ("display_panel_qled", 0.0, 0.0, 0),
        ("display_panel_lcd", 0.0, 0.0, 0),
        ("display_local_dimming", 0.0, 1.0, 12),
        ("display_tone_mapping_dynamic", 0.0, 0.0, 13),
    ];
    for (c, (name, min, max, filled)) in columns[34..].iter().zip(expected) {
        assert_eq!(c["name"], name);
        assert_eq!((&c["min"], &c["max"]), (&json!(min), &json!(max)), "{c}");
        assert_eq!(c["filled"], filled, "{c}");
    }
}

#[test]
fn a_display_profile_with_an_unknown_field_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    synth(
        cwd,
        &["-a", "chug-hdr", "--rows", "6", "--seed", "5", "--out", "c"],
    );
    std::fs::write(
        cwd.join("typo.json"),
        r#"{"peak_nits":1000,"panle_type":"oled"}"#,
    )
    .unwrap();
    let run = moshead(
        cwd,
        &[
            "corpus",
            "-a",
            "chug-hdr",
            "--schema",
            "chug-hdr-display-v1",
            "--input",
            "shards=c/shards",
            "--input",
            "display-profile=typo.json",
        ],
    );
    let err = run.fails(1);
    assert!(
        err.contains("display profile: unknown field(s) panle_type (known: peak_luminance_nits,"),
        "{run}"
    );
    assert!(
        err.contains("cannot project schema `chug-hdr-display-v1` with display-profile = ")
            && err.contains("typo.json"),
        "names the profile file: {run}"
    );
    assert!(run.stdout.is_empty(), "{run}");
}

#[test]
fn the_display_schema_without_a_profile_names_the_input_it_needs() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    synth(
        cwd,
        &["-a", "chug-hdr", "--rows", "6", "--seed", "5", "--out", "c"],
    );
    let run = moshead(
        cwd,
        &[
            "corpus",
            "-a",
            "chug-hdr",
            "--schema",
            "chug-hdr-display-v1",
            "--input",
            "shards=c/shards",
        ],
    );
    assert!(
        run.fails(1)
            .contains("schema `chug-hdr-display-v1` needs the `display-profile` input"),
        "{run}"
    );
}

// ---------------------------------------------------------------- --demo

#[test]
fn the_demo_corpus_is_the_synthetic_corpus_of_the_demo_seed() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    for (adapter, rows, files) in [
        (
            "chug-hdr",
            600,
            (0..8)
                .map(|i| format!("shards/shard_{i:02}.features.jsonl"))
                .collect::<Vec<_>>(),
        ),
        ("konvid", 600, vec!["konvid-1k.jsonl".to_owned()]),
    ] {
        let v = report(cwd, &["--adapter", adapter, "--demo"]);
        assert_eq!(v["rows"], rows, "{adapter}");
        assert_eq!(v["synthetic_rows"], rows, "{adapter}");
        let out = format!("demo-{adapter}");
        synth(
            cwd,
            &[
                "-a", adapter, "--rows", "600", "--seed", DEMO_SEED, "--out", &out,
            ],
        );
        let inputs = v["inputs"].as_array().unwrap();
        let paths: Vec<&str> = inputs.iter().map(|i| i["path"].as_str().unwrap()).collect();
        let expected: Vec<String> = files
            .iter()
            .map(|f| format!("<demo:{adapter}>/{f}"))
            .collect();
        assert_eq!(paths, expected, "{adapter}");
        for (input, file) in inputs.iter().zip(&files) {
            let bytes = std::fs::read(cwd.join(&out).join(file)).unwrap();
            assert_eq!(input["sha256"], sha256_hex(&bytes).as_str(), "{file}");
        }
        let text = moshead(cwd, &["corpus", "--adapter", adapter, "--demo"]);
        assert!(text.ok().contains(&expected[0]), "{text}");
    }
    let run = moshead(
        cwd,
        &[
            "corpus",
            "-a",
            "konvid",
            "--demo",
            "--input",
            "konvid-1k=x.jsonl",
        ],
    );
    assert!(run.fails(2).contains("cannot be used with"), "{run}");
}

// ---------------------------------------------------------------- many chunks

#[test]
fn drops_and_strict_keep_line_order_across_chunks() {
    // About 10 MB: the reader's chunks are 4 MiB, so the bad lines below
    // fall in different chunks, read, projected and recorded in a pipeline.
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let n = 160_000u64;
    let bad: BTreeMap<u64, (&str, &str)> = [
        (40_000, ("{\"corpus\":\"konvid-1k\",", "malformed-json")),
        (
            90_000,
            (
                "{\"corpus\":\"konvid-1k\",\"src\":\"x\",\"mos\":62.5}",
                "mos-out-of-range",
            ),
        ),
        (150_000, ("", "blank-line")),
    ]
    .into_iter()
    .collect();
    let mut text = String::new();
    for i in 1..=n {
        match bad.get(&i) {
            Some((line, _)) => text.push_str(line),
            None => text.push_str(&format!(
                "{{\"corpus\":\"konvid-1k\",\"src\":\"{i:07}.mp4\",\"mos\":{},\"adm2\":0.9}}",
                1.0 + (i % 400) as f64 / 100.0
            )),
        }
        text.push('\n');
    }
    assert!(text.len() > 9 << 20, "{}", text.len());
    std::fs::write(cwd.join("big.jsonl"), &text).unwrap();
    let args = ["-a", "konvid", "--input", "konvid-1k=big.jsonl"];
    let v = report(cwd, &args);
    assert_eq!(v["rows"], n - 3);
    assert_eq!(v["groups"], n - 3);
    assert_eq!(v["inputs"][0]["lines"], n);
    assert_eq!(
        v["inputs"][0]["sha256"],
        sha256_hex(text.as_bytes()).as_str()
    );
    let expected: BTreeMap<String, u64> = bad.values().map(|(_, c)| (c.to_string(), 1)).collect();
    assert_eq!(drop_counts(&v), expected);
    for (line, (_, code)) in &bad {
        let example = v["drops"][code]["examples"][0].as_str().unwrap();
        assert!(
            example.starts_with(&format!("big.jsonl:{line}: ")),
            "{example}"
        );
    }
    let adm2 = column(&v, "adm2");
    assert_eq!((&adm2["min"], &adm2["max"]), (&json!(0.9), &json!(0.9)));
    assert_eq!(adm2["filled"], 0);
    let mut strict = vec!["corpus"];
    strict.extend_from_slice(&args);
    strict.push("--strict");
    let run = moshead(cwd, &strict);
    let err = run.fails(1);
    assert!(err.contains("big.jsonl:40000: malformed-json: "), "{run}");
    assert!(!err.contains("big.jsonl:90000"), "{run}");
}

// ---------------------------------------------------------------- bench

#[test]
fn bench_ingest_generates_once_then_reuses_and_reports_sizes() {
    // Figures only: no timing is asserted.
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let plugins = builtin_plugin("konvid").parent().unwrap().to_owned();
    let args = [
        "bench",
        "ingest",
        "--rows-konvid",
        "200",
        "--rows-chug",
        "12",
        "--dir",
        "cache",
        "--repeat",
        "2",
        "--logs",
        "5",
        "--log-frames",
        "30",
        "--json",
        "--plugin-dir",
        plugins.to_str().unwrap(),
    ];
    let first = moshead(cwd, &args).json();
    let second = moshead(cwd, &args).json();
    for (v, generated) in [(&first, true), (&second, false)] {
        let figures = v["ingest"].as_array().unwrap();
        let got: Vec<(&str, &str, u64, u64, bool)> = figures
            .iter()
            .map(|f| {
                (
                    f["adapter"].as_str().unwrap(),
                    f["form"].as_str().unwrap(),
                    f["rows"].as_u64().unwrap(),
                    f["lines"].as_u64().unwrap(),
                    f["generated"].as_bool().unwrap(),
                )
            })
            .collect();
        // The KonViD corpus is generated once, then read as JSONL, as its
        // CSV twin and as its gzipped twin: the same rows each time.
        assert_eq!(
            got,
            [
                ("chug-hdr", "jsonl", 12, 14, generated),
                ("konvid", "jsonl", 200, 200, generated),
                ("konvid", "csv", 200, 200, false),
                ("konvid", "jsonl-gz", 200, 200, false)
            ]
        );
        for f in figures {
            let (rows, cols) = (f["rows"].as_u64().unwrap(), f["columns"].as_u64().unwrap());
            assert_eq!(f["matrix_bytes"], rows * cols * 8, "{f}");
            assert_eq!(f["runs"], 2, "{f}");
            // The input is the cached corpus, byte for byte.
            let dir = Path::new(f["corpus_dir"].as_str().unwrap());
            assert!(dir.starts_with("cache"), "{f}");
            let mut bytes = 0;
            let mut stack = vec![cwd.join(dir)];
            while let Some(d) = stack.pop() {
                for e in std::fs::read_dir(d).unwrap() {
                    let e = e.unwrap();
                    if e.file_type().unwrap().is_dir() {
                        stack.push(e.path());
                    } else if e.file_name().to_str().unwrap().ends_with(".jsonl") {
                        bytes += e.metadata().unwrap().len();
                    }
                }
            }
            if f["form"] == "jsonl" {
                assert_eq!(f["input_bytes"], bytes, "{f}");
            } else {
                // A twin of the JSONL: its own size, read from the cache.
                assert!(f["input_bytes"].as_u64().unwrap() > 0, "{f}");
            }
        }
    }
    // The libvmaf logs: generated once, every log pooled into one row, the
    // bytes those of the cached logs.
    for (v, generated) in [(&first, true), (&second, false)] {
        let f = &v["libvmaf_logs"];
        assert_eq!(
            (
                &f["logs"],
                &f["rows"],
                &f["frames_per_log"],
                &f["generated"]
            ),
            (&json!(5), &json!(5), &json!(30), &json!(generated)),
            "{f}"
        );
        let logs = cwd.join(f["corpus_dir"].as_str().unwrap()).join("logs");
        let bytes: u64 = std::fs::read_dir(logs)
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum();
        assert_eq!(f["input_bytes"], bytes, "{f}");
    }
    assert_eq!(first["ingest"][0]["schema"], "chug-hdr-wide-v1");
    assert_eq!(first["ingest"][1]["schema"], "konvid-v1");
    assert_eq!(first["ingest"][1]["variant"], "konvid-150k");
    let text = moshead(cwd, &args[..args.len() - 3]);
    let out = text.ok();
    for needle in [
        "(cached)",
        "[target >= 150 MB/s:",
        "[target <= 64 MB:",
        "rows x 11 columns x 8 bytes",
        "konvid from libvmaf logs (5 logs x 30 frames, 12 metrics per frame)",
        "logs/s",
    ] {
        assert!(out.contains(needle), "missing {needle:?}:\n{out}");
    }
}
