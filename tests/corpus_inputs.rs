//! Input resolution end to end: declared slots, defaults and their
//! environment overrides, shard directories, parquet tables and display
//! profiles.

use std::path::Path;

use moshead_e2e::parquet_writer::{write_table, ColumnData};
use moshead_e2e::*;
use serde_json::json;

use crate::corpus::*;

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

/// `moshead corpus` on a six-row synthetic CHUG corpus (`cwd/c`) under the
/// display schema, with `extra` flags.
fn display_corpus(cwd: &Path, extra: &[&str]) -> Run {
    synth(
        cwd,
        &["-a", "chug-hdr", "--rows", "6", "--seed", "5", "--out", "c"],
    );
    let mut args = vec![
        "corpus",
        "-a",
        "chug-hdr",
        "--schema",
        "chug-hdr-display-v1",
        "--input",
        "shards=c/shards",
    ];
    args.extend_from_slice(extra);
    moshead(cwd, &args)
}

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
    std::fs::write(
        cwd.join("typo.json"),
        r#"{"peak_nits":1000,"panle_type":"oled"}"#,
    )
    .unwrap();
    let run = display_corpus(cwd, &["--input", "display-profile=typo.json"]);
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
    let run = display_corpus(tmp.path(), &[]);
    assert!(
        run.fails(1)
            .contains("schema `chug-hdr-display-v1` needs the `display-profile` input"),
        "{run}"
    );
}
