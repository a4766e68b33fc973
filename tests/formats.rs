//! Input formats end to end: CSV and TSV with header aliases, gzip and zstd
//! (files and shard directories), Python's non-finite tokens, and binary
//! files named for what they are.

use std::io::Write;
use std::path::Path;

use moshead_e2e::*;
use serde_json::Value;

use crate::corpus::{column, sha256_hex};
use crate::export::{read_json, train_konvid};

/// `moshead corpus -a ADAPTER -i BINDING... --json` in `cwd`.
fn report(cwd: &Path, adapter: &str, bindings: &[&str]) -> Value {
    let mut args = vec!["corpus", "-a", adapter, "--json"];
    for b in bindings {
        args.extend(["-i", b]);
    }
    moshead(cwd, &args).json()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Header `corpus,video_id,MOS,...` (aliases of `flickr_id` and `mos`), a
/// quoted field with a comma, doubled quotes and a line break, empty fields,
/// non-finite tokens, a ragged record, a blank line and a non-finite MOS.
const CSV: &str = "corpus,video_id,MOS,adm2,vif_scale0,note,motion2_mean\n\
konvid-1k,3337642103,3.42,0.91,,\"a, \"\"quoted\"\" note\nover two lines\",4.2\n\
konvid-1k,42,2.5,0.5,0.25,plain,1.5\n\
konvid-1k,43,2.0,0.5\n\
\n\
konvid-1k,44,2.0,NaN,0.5,x,Infinity\n\
konvid-1k,45,NaN,0.5,0.5,x,1\n";

/// The same rows as JSONL, as Python's `json.dumps` writes them (the ragged
/// CSV record's twin is a row with a NaN and a missing feature).
const JSONL: &str = r#"{"corpus":"konvid-1k","flickr_id":3337642103,"mos":3.42,"adm2":0.91,"note":"a, \"quoted\" note\nover two lines","motion2_mean":4.2}
{"corpus":"konvid-1k","flickr_id":42,"mos":2.5,"adm2":0.5,"vif_scale0":0.25,"note":"plain","motion2_mean":1.5}
{"corpus":"konvid-1k","flickr_id":43,"mos":2.0,"adm2":0.5,"vif_scale0":NaN,"note":"ragged"}
{"corpus":"konvid-1k","flickr_id":44,"mos":2.0,"adm2":NaN,"vif_scale0":0.5,"note":"x","motion2_mean":Infinity}
{"corpus":"konvid-1k","flickr_id":45,"mos":NaN,"adm2":0.5,"vif_scale0":0.5,"note":"x","motion2_mean":1}
"#;

fn drop_examples(v: &Value, code: &str) -> Vec<String> {
    v["drops"][code]["examples"]
        .as_array()
        .unwrap_or_else(|| panic!("no {code} drops in {v}"))
        .iter()
        .map(|e| e.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn csv_and_tsv_records_project_like_json_objects() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    std::fs::write(cwd.join("rows.csv"), CSV).unwrap();
    let tsv = CSV
        .replace("a, \"\"quoted\"\" note", "a\t \"\"quoted\"\" note")
        .replace(',', "\t")
        .replace("a\t \"\"quoted", "a, \"\"quoted");
    std::fs::write(cwd.join("rows.tsv"), &tsv).unwrap();
    // The JSONL twin without the record that is ragged in CSV.
    let twin: String = JSONL
        .lines()
        .filter(|l| !l.contains("\"ragged\""))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(cwd.join("rows.jsonl"), twin).unwrap();

    let csv = report(cwd, "konvid", &["konvid-1k=rows.csv"]);
    assert_eq!(csv["rows"], 3, "{csv}");
    // Golden projection (konvid-v1): the filled values hold 0.0 and are counted.
    let adm2 = column(&csv, "adm2");
    assert_eq!(
        (&adm2["min"], &adm2["max"], &adm2["filled"]),
        (&Value::from(0.0), &Value::from(0.91), &Value::from(1))
    );
    assert!((adm2["mean"].as_f64().unwrap() - (0.91 + 0.5) / 3.0).abs() < 1e-15);
    let vif0 = column(&csv, "vif_scale0");
    assert_eq!(
        (&vif0["max"], &vif0["filled"]),
        (&Value::from(0.5), &Value::from(1))
    );
    let motion = column(&csv, "motion2");
    assert_eq!(
        (&motion["max"], &motion["filled"]),
        (&Value::from(4.2), &Value::from(1))
    );
    assert_eq!(csv["groups"], 3, "each clip is its own content (flickr_id)");
    // Every record is a row or a counted drop with file:line.
    assert_eq!(csv["inputs"][0]["lines"], 6, "{csv}");
    assert_eq!(
        drop_examples(&csv, "ragged-record"),
        ["rows.csv:5: the record has 4 fields, the header 7"]
    );
    assert_eq!(
        drop_examples(&csv, "blank-line"),
        ["rows.csv:6: blank line"]
    );
    let nan_mos = drop_examples(&csv, "mos-non-finite");
    assert!(nan_mos[0].starts_with("rows.csv:8: "), "{nan_mos:?}");

    let tsv = report(cwd, "konvid", &["konvid-1k=rows.tsv"]);
    let jsonl = report(cwd, "konvid", &["konvid-1k=rows.jsonl"]);
    for key in ["rows", "splits", "groups", "columns"] {
        assert_eq!(tsv[key], csv[key], "tsv {key}");
        assert_eq!(jsonl[key], csv[key], "jsonl {key}");
    }
    assert_eq!(
        tsv["drops"],
        csv["drops"]
            .to_string()
            .replace("rows.csv", "rows.tsv")
            .parse::<Value>()
            .unwrap()
    );
    assert_eq!(jsonl["drops"]["mos-non-finite"]["count"], 1);
}

#[test]
fn a_csv_header_read_twice_as_one_key_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    std::fs::write(cwd.join("a.csv"), "flickr_id,MOS,mos\n1,3,3\n").unwrap();
    let run = moshead(cwd, &["corpus", "-a", "konvid", "-i", "konvid-1k=a.csv"]);
    assert!(
        run.fails(1).contains(
            "a.csv: line 1: header columns 2 and 3 are both read as `mos` (names or declared aliases repeat)"
        ),
        "{run}"
    );
}

#[test]
fn gzip_and_zstd_shards_equal_their_plain_twins_row_for_row() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    synth_chug(cwd, "240", "5");
    train_chug(cwd, &[]).ok();
    let plain = cwd.join("corpus/shards");
    let mut shards: Vec<_> = std::fs::read_dir(&plain)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    shards.sort();
    assert!(shards.len() > 1, "{shards:?}");
    for (dir, ext) in [("gz", "gz"), ("zst", "zst")] {
        std::fs::create_dir(cwd.join(dir)).unwrap();
        for s in &shards {
            let bytes = std::fs::read(s).unwrap();
            let packed = match ext {
                "gz" => gzip(&bytes),
                _ => zstd::encode_all(&bytes[..], 3).unwrap(),
            };
            let name = format!("{}.{ext}", s.file_name().unwrap().to_str().unwrap());
            std::fs::write(cwd.join(dir).join(name), packed).unwrap();
        }
    }
    let predict = |dir: &str| {
        moshead(
            cwd,
            &[
                "predict",
                "--model",
                "out/chug_hdr_mos_head_v1.json",
                "--input",
                &format!("shards={dir}"),
                "--quiet",
            ],
        )
        .ok()
        .to_owned()
    };
    let want = predict("corpus/shards");
    assert_eq!(want.lines().count(), 240, "{want}");
    let want_report = report(cwd, "chug-hdr", &["shards=corpus/shards"]);
    for (dir, name) in [("gz", "gzip"), ("zst", "zstd")] {
        assert_eq!(predict(dir), want, "{dir}: predictions differ");
        let got = report(cwd, "chug-hdr", &[&format!("shards={dir}")]);
        for key in ["rows", "splits", "groups", "split_origins", "columns"] {
            assert_eq!(got[key], want_report[key], "{dir} {key}");
        }
        assert_eq!(
            got["drops"]["reference-row"]["count"],
            want_report["drops"]["reference-row"]["count"]
        );
        for input in got["inputs"].as_array().unwrap() {
            let bytes = std::fs::read(cwd.join(input["path"].as_str().unwrap())).unwrap();
            assert_eq!(input["compression"], name);
            assert_eq!(
                input["sha256"],
                sha256_hex(&bytes).as_str(),
                "the file's own bytes"
            );
            assert_eq!(input["bytes"], bytes.len() as u64);
        }
        assert!(
            got["notes"].as_array().unwrap().is_empty(),
            "{}",
            got["notes"]
        );
    }
    // A compressed CSV in a file slot too.
    std::fs::write(cwd.join("rows.csv.gz"), gzip(CSV.as_bytes())).unwrap();
    let csv = report(cwd, "konvid", &["konvid-1k=rows.csv.gz"]);
    assert_eq!(
        (&csv["rows"], &csv["inputs"][0]["compression"]),
        (&Value::from(3), &Value::from("gzip"))
    );
}

#[test]
fn python_nan_and_infinity_are_filled_and_counted() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    std::fs::write(cwd.join("rows.jsonl"), JSONL).unwrap();
    let v = report(cwd, "konvid", &["konvid-1k=rows.jsonl"]);
    assert_eq!(v["rows"], 4, "{v}");
    assert!(v["drops"].get("malformed-json").is_none(), "{}", v["drops"]);
    assert_eq!(
        column(&v, "vif_scale0")["filled"],
        2,
        "missing and NaN alike"
    );
    assert_eq!(
        column(&v, "motion2")["filled"],
        2,
        "missing and Infinity alike"
    );
    assert_eq!(column(&v, "adm2")["filled"], 1);
    let nan = drop_examples(&v, "mos-non-finite");
    assert_eq!(nan, ["rows.jsonl:5: MOS from `mos` is not finite"]);
}

#[test]
fn a_binary_file_is_named_for_what_it_looks_like() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let cases: [(&str, Vec<u8>, &str); 5] = [
        (
            "a.zip",
            b"PK\x03\x04\x14\x00rest of a zip".to_vec(),
            "looks like a ZIP archive",
        ),
        (
            "a.png",
            b"\x89PNG\r\n\x1a\n\x00\x00".to_vec(),
            "looks like a PNG image",
        ),
        (
            "a.so",
            b"\x7fELF\x02\x01\x01".to_vec(),
            "looks like an ELF executable",
        ),
        (
            "a.jsonl.gz",
            gzip(b"\xfd7zXZ\x00\x00 inside"),
            "is gzip-compressed xz archive",
        ),
        ("a.bin", vec![0xde, 0xad, 0, 0xbe, 0xef], "binary data"),
    ];
    for (name, bytes, want) in cases {
        std::fs::write(cwd.join(name), bytes).unwrap();
        let run = moshead(
            cwd,
            &["corpus", "-a", "konvid", "-i", &format!("konvid-1k={name}")],
        );
        let err = run.fails(1);
        assert!(
            err.contains(&format!("{name}: slot `konvid-1k`: ")) && err.contains(want),
            "{name}: {run}"
        );
    }
}

/// Rows of the two-scale fixture: `n` per lab, each its own content, the
/// same features-to-quality relation on both labs' scales, and one reference
/// row per lab.
fn two_scale_rows(cwd: &Path, n: usize) -> (Vec<f64>, Vec<f64>) {
    let (mut a, mut b) = (String::new(), String::new());
    let (mut mos_a, mut mos_b) = (Vec::new(), Vec::new());
    for i in 0..n {
        let q = (i as f64 + 0.5) / n as f64;
        let (adm2, motion2) = (0.5 + 0.5 * q, 10.0 * (1.0 - q) + (i % 3) as f64);
        let m = 1.0 + 4.0 * q;
        mos_a.push(m);
        a.push_str(&format!(
            "{{\"corpus\":\"lab-a\",\"clip\":\"a{i}\",\"content\":\"a{i}\",\"mos\":{m},\"adm2\":{adm2},\"motion2\":{motion2}}}\n"
        ));
        let score = 100.0 * q;
        mos_b.push(1.0 + 0.04 * score);
        b.push_str(&format!(
            "{{\"corpus\":\"lab-b\",\"clip\":\"b{i}\",\"content\":\"b{i}\",\"score\":{score},\"adm2\":{adm2},\"motion2\":{motion2}}}\n"
        ));
    }
    a.push_str("{\"corpus\":\"lab-a\",\"clip\":\"ra\",\"content\":\"ra\",\"mos\":5,\"is_ref\":true,\"adm2\":1,\"motion2\":0}\n");
    b.push_str("{\"corpus\":\"lab-b\",\"clip\":\"rb\",\"content\":\"rb\",\"score\":100,\"is_ref\":1,\"adm2\":1,\"motion2\":0}\n");
    std::fs::write(cwd.join("a.jsonl"), a).unwrap();
    std::fs::write(cwd.join("b.jsonl"), b).unwrap();
    (mos_a, mos_b)
}

#[test]
fn one_adapter_holds_two_mos_scales_and_the_sdk_applies_the_reference_rule() {
    let plugins = plugin_dir(&[fixture_lib("two-scale")]);
    let pdir = plugins.path().to_str().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let (mos_a, mos_b) = two_scale_rows(cwd, 30);
    let base = [
        "--plugin-dir",
        pdir,
        "-a",
        "two-scale",
        "-i",
        "lab-a=a.jsonl",
        "-i",
        "lab-b=b.jsonl",
    ];
    let corpus = |extra: &[&str]| {
        let mut args = vec!["corpus"];
        args.extend_from_slice(&base);
        args.extend_from_slice(extra);
        args.push("--json");
        moshead(cwd, &args).json()
    };
    let v = corpus(&[]);
    assert_eq!(v["rows"], 60, "{v}");
    assert_eq!(
        drop_examples(&v, "reference-row"),
        [
            "a.jsonl:31: reference row (is_ref = true), excluded by default; --include-references keeps it",
            "b.jsonl:31: reference row (is_ref = 1), excluded by default; --include-references keeps it",
        ]
    );
    // The adapter never reads the config; the sdk honours the flag.
    let with_refs = corpus(&["--include-references"]);
    assert_eq!(
        (&with_refs["rows"], &with_refs["drops"]),
        (&Value::from(62), &serde_json::json!({}))
    );

    let show = moshead(
        cwd,
        &["--plugin-dir", pdir, "adapters", "show", "two-scale"],
    );
    assert!(
        show.ok().contains("MOS of lab-b  native 0..100 (`score`)"),
        "{show}"
    );
    assert!(show.ok().contains("references   `is_ref` set"), "{show}");

    let mut args = vec!["train"];
    args.extend_from_slice(&base);
    args.extend([
        "--out",
        "out",
        "--quiet",
        "--validation",
        "kfold",
        "--head",
        "linear",
    ]);
    moshead(cwd, &args).ok();
    let m = read_json(&cwd.join("out/two_scale_v1.json"));
    let scales = &m["data"]["mos_scales"];
    assert_eq!(scales["lab-a"]["native_key"], "mos");
    assert_eq!(
        (
            &scales["lab-b"]["native_key"],
            &scales["lab-b"]["native_max"]
        ),
        (&Value::from("score"), &Value::from(100.0))
    );
    assert_eq!(scales["lab-b"]["to_head_scale"], 0.04);
    // Every validation row's MOS is its lab's value mapped onto 1-5, and its
    // native MOS and prediction are on its own lab's scale.
    let sidecar: Vec<Value> =
        std::fs::read_to_string(cwd.join("out/two_scale_v1_validation.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .collect();
    // A row's native MOS and prediction are its head-scale ones on its lab's scale.
    let on_own_scale = |r: &Value| {
        let native_of = |head: f64| match r["id"].as_str().unwrap().starts_with('b') {
            true => (head - 1.0) / 0.04,
            false => head,
        };
        let f = |k: &str| r[k].as_f64().unwrap();
        assert!((f("mos_native") - native_of(f("mos"))).abs() < 1e-9, "{r}");
        assert!(
            (f("prediction_native") - native_of(f("prediction"))).abs() < 1e-9,
            "{r}"
        );
    };
    sidecar.iter().for_each(on_own_scale);
    // `predict` reports each row on its own lab's scale too.
    let scored = moshead(
        cwd,
        &[
            "predict",
            "--plugin-dir",
            pdir,
            "--model",
            "out/two_scale_v1.json",
            "-i",
            "lab-a=a.jsonl",
            "-i",
            "lab-b=b.jsonl",
            "--quiet",
        ],
    );
    for l in scored.ok().lines() {
        on_own_scale(&serde_json::from_str(l).unwrap());
    }
    let mut got: Vec<f64> = sidecar.iter().map(|r| r["mos"].as_f64().unwrap()).collect();
    let mut want: Vec<f64> = mos_a.into_iter().chain(mos_b).collect();
    got.sort_by(f64::total_cmp);
    want.sort_by(f64::total_cmp);
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() < 1e-12, "{g} vs {w}");
    }
    let card = std::fs::read_to_string(cwd.join("out/two_scale_v1_card.md")).unwrap();
    assert!(
        card.contains("| `lab-b` | `score` | 0-100 | 1 + 0.04 x |"),
        "{card}"
    );
    // The card's intended use is the adapter's own text.
    assert!(
        card.contains("Predicts the MOS of lab A and lab B clips from the `two-v1` features.")
            && card.contains("- Only for clips rated in labs A and B."),
        "{card}"
    );
}

#[test]
fn fill_counts_per_column_reach_the_manifest_and_the_card() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    // 40 konvid clips; NaN for `adm2` in every 4th, `vif_scale0` missing in every 5th.
    let mut text = String::new();
    for i in 0..40 {
        let q = (i as f64 + 0.5) / 40.0;
        let adm2 = if i % 4 == 0 {
            "NaN".to_owned()
        } else {
            format!("{}", 0.5 + 0.5 * q)
        };
        let vif0 = if i % 5 == 0 {
            String::new()
        } else {
            format!(",\"vif_scale0\":{}", 0.3 + 0.6 * q)
        };
        text.push_str(&format!(
            "{{\"corpus\":\"konvid-1k\",\"src\":\"c{i}.mp4\",\"mos\":{},\"adm2\":{adm2}{vif0},\"motion2\":{}}}\n",
            1.0 + 4.0 * q,
            (i % 7) as f64
        ));
    }
    std::fs::write(cwd.join("rows.jsonl"), text).unwrap();
    train_konvid(cwd, "out", &["--head", "linear"]).ok();
    let m = read_json(&cwd.join("out/konvid_mos_head_v1.json"));
    let filled: Vec<(String, u64)> = m["data"]["filled"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["column"].as_str().unwrap().to_owned(),
                f["filled"].as_u64().unwrap(),
            )
        })
        .collect();
    let order: Vec<String> = m["feature_order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        filled.iter().map(|f| f.0.clone()).collect::<Vec<_>>(),
        order
    );
    let count = |c: &str| filled.iter().find(|f| f.0 == c).unwrap().1;
    assert_eq!(
        (count("adm2"), count("vif_scale0"), count("motion2")),
        (10, 8, 0)
    );
    assert_eq!(count("vif_scale1"), 40, "never present");
    let card = std::fs::read_to_string(cwd.join("out/konvid_mos_head_v1_card.md")).unwrap();
    assert!(
        card.contains("| `adm2` | 10 |") && card.contains("| `vif_scale0` | 8 |"),
        "{card}"
    );
    assert!(!card.contains("| `motion2` | 0 |"), "{card}");
}
