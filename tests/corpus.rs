//! Corpus ingestion end to end: `moshead synth` read back by `moshead
//! corpus` against the real built plugins, the embedded demo corpus and the
//! ingest bench; and the helpers that `corpus_drops` (drop reasons) and
//! `corpus_inputs` (input resolution, parquet, display profiles) share.

use std::collections::BTreeMap;
use std::path::Path;

use moshead_e2e::*;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The seed of the embedded demo corpus (`moshead corpus --demo`).
pub(crate) const DEMO_SEED: &str = "20260508";

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `moshead synth ...` in `cwd`; returns stdout.
pub(crate) fn synth(cwd: &Path, args: &[&str]) -> String {
    let mut all = vec!["synth"];
    all.extend_from_slice(args);
    moshead(cwd, &all).ok().to_owned()
}

/// `moshead corpus ... --json` in `cwd`; returns the report.
pub(crate) fn report(cwd: &Path, args: &[&str]) -> Value {
    let mut all = vec!["corpus"];
    all.extend_from_slice(args);
    all.push("--json");
    moshead(cwd, &all).json()
}

/// The `drops` of a report as `code -> count`.
pub(crate) fn drop_counts(v: &Value) -> BTreeMap<String, u64> {
    v["drops"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, d)| (k.clone(), d["count"].as_u64().unwrap()))
        .collect()
}

/// A `{name: count}` object of a report as a map.
pub(crate) fn counts(v: &Value) -> BTreeMap<String, u64> {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, n)| (k.clone(), n.as_u64().unwrap()))
        .collect()
}

pub(crate) fn map(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
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
pub(crate) fn assert_input_hashes(cwd: &Path, v: &Value) -> Vec<String> {
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
pub(crate) fn assert_nothing_filled(v: &Value) {
    for c in v["columns"].as_array().unwrap() {
        assert_eq!(c["filled"], 0, "{c}");
    }
}

/// Parses every line of a JSONL file.
pub(crate) fn jsonl(path: &Path) -> Vec<Value> {
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

// ---------------------------------------------------------------- bench

/// Runs `moshead-bench args...` in `cwd`, hermetic like `moshead`.
fn bench(cwd: &Path, args: &[&str]) -> Run {
    let mut c = moshead_cmd_of(bench_bin(), cwd);
    c.args(args);
    run_cmd(c)
}

#[test]
fn bench_accuracy_runs_the_recipe_on_the_same_splits_and_pairs_every_head_with_it() {
    // A development-set-shaped CSV (its columns, a NaN) of 40 clips.
    let tmp = tempfile::tempdir().unwrap();
    let mut csv = String::from("video_id,mos,videval_00,videval_01,videval_02\n");
    for i in 0..40u32 {
        let (a, b) = (f64::from(i % 7) / 7.0, f64::from(i % 5) / 5.0);
        let mos = 1.5 + 2.0 * a + b + 0.1 * f64::from(i % 3);
        let c = if i == 4 {
            "nan".to_owned()
        } else {
            format!("{}", a * b)
        };
        csv.push_str(&format!("clip{i},{mos},{a},{b},{c}\n"));
    }
    std::fs::write(tmp.path().join("dev.csv"), csv).unwrap();
    let args = [
        "accuracy",
        "--only",
        "dev-set",
        "--dev-set",
        "dev.csv",
        "--splits",
        "3",
        "--heads",
        "ridge,recipe",
        "--json",
        "--splits-out",
        "splits.json",
    ];
    let v = bench(tmp.path(), &args).json();
    // The splits, for another tool to run on: each a partition of the 40
    // rows, 8 held out, the recipe's order a permutation of the training rows.
    let text = std::fs::read_to_string(tmp.path().join("splits.json")).unwrap();
    let written: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (&written[0]["corpus"], &written[0]["rows"]),
        (&json!("dev-set"), &json!(40))
    );
    let splits = written[0]["splits"].as_array().unwrap();
    assert_eq!(splits.len(), 3);
    let ids = |v: &Value| -> Vec<u64> {
        let mut r: Vec<u64> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i.as_u64().unwrap())
            .collect();
        r.sort_unstable();
        r
    };
    for s in splits {
        let (train, eval) = (ids(&s["train"]), ids(&s["eval"]));
        assert_eq!(eval.len(), 8, "{s}");
        let mut all: Vec<u64> = train.iter().chain(&eval).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..40).collect::<Vec<u64>>(), "{s}");
        assert_eq!(ids(&s["recipe_order"]), train, "{s}");
        assert_ne!(s["recipe_order"], s["train"], "shuffled: {s}");
    }
    let c = &v["accuracy"][0];
    assert_eq!(
        (&c["corpus"], &c["filled_non_finite"]),
        (&json!("dev-set"), &json!(1))
    );
    let heads = c["heads"].as_array().unwrap();
    let per_split = |h: &Value| -> Vec<f64> {
        h["per_split_srocc"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_f64().unwrap())
            .collect()
    };
    let (ridge, recipe) = (per_split(&heads[0]), per_split(&heads[1]));
    assert_eq!(
        (&heads[0]["head"], &heads[1]["head"]),
        (&json!("ridge"), &json!("recipe"))
    );
    assert_eq!((ridge.len(), recipe.len()), (3, 3));
    // One grid-search winner per split, named on the 4 x 4 grid.
    let chose = heads[1]["choices"].as_object().unwrap();
    assert_eq!(chose.values().map(|n| n.as_u64().unwrap()).sum::<u64>(), 3);
    for name in chose.keys() {
        let ok = ["2^1", "2^4", "2^7", "2^10"].iter().any(|c| {
            ["2^-8", "2^-5", "2^-2", "2^1"]
                .iter()
                .any(|g| name == &format!("svr(C={c},gamma={g})"))
        });
        assert!(ok, "{name}");
    }
    // The pairing, by hand: ridge minus the recipe, split by split.
    let mut d: Vec<f64> = ridge.iter().zip(&recipe).map(|(a, b)| a - b).collect();
    let p = &c["paired"][0];
    assert_eq!(
        (&p["head"], &p["against"], &p["splits"]),
        (&json!("ridge"), &json!("recipe"), &json!(3))
    );
    let mean = d.iter().sum::<f64>() / 3.0;
    d.sort_by(f64::total_cmp);
    assert!(
        (p["median_diff"].as_f64().unwrap() - d[1]).abs() < 1e-12,
        "{p}"
    );
    assert!(
        (p["mean_diff"].as_f64().unwrap() - mean).abs() < 1e-12,
        "{p}"
    );
    assert_eq!(p["higher"], d.iter().filter(|x| **x > 0.0).count());
    assert_eq!(
        c["paired"].as_array().unwrap().len(),
        1,
        "the recipe is not paired with itself"
    );
}

#[test]
fn bench_ingest_generates_once_then_reuses_and_reports_sizes() {
    // Figures only: no timing is asserted.
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let plugins = builtin_plugin("konvid").parent().unwrap().to_owned();
    let args = [
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
    let first = bench(cwd, &args).json();
    let second = bench(cwd, &args).json();
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
    let text = bench(cwd, &args[..args.len() - 3]);
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
