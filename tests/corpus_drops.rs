//! Every drop reason of both plugins counted with its file and line, and
//! `--strict` stopping at the first, in line order across read chunks.

use std::collections::BTreeMap;
use std::path::Path;

use moshead_e2e::*;
use serde_json::{json, Value};

use crate::corpus::*;

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
