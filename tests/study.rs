//! Bring your own study: a study file (TOML, served by the built-in `study`
//! plugin) over real libvmaf logs. Six generated sources, four distortions
//! each, scored by stock libvmaf 2.3.1; a labels CSV with a MOS on 0-100
//! and the source of every encode, from which `moshead adapters new` writes
//! the study file (then completed as a team would). Training groups encodes by source,
//! applies the study's own gate, writes a card with the study's name, scale
//! and licence, records the study file, and exports a libvmaf model that
//! stock libvmaf scores frame by frame as `moshead predict` does; `predict`
//! scores unlabelled logs without a labels table, and refuses a changed
//! study file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use moshead_e2e::{builtin_plugin, moshead};
use serde_json::Value;

use crate::export::{read_json, sha256};
use crate::libvmaf::{apply, reference, run_vmaf, write_yuv, Distortion, Scored};
use crate::vmaf::{frames_score_as_predicted, with_features, Trained};

/// Scores `contents` sources x four distortions into `dir/<logs>`, the YUV
/// in `dir/yuv`.
fn clips(dir: &Path, logs: &str, contents: std::ops::Range<u32>) -> Vec<Scored> {
    let yuv = dir.join("yuv");
    let logs = dir.join(logs);
    std::fs::create_dir_all(&yuv).unwrap();
    std::fs::create_dir_all(&logs).unwrap();
    let distortions = [
        ("blur1", Distortion::Blur(1)),
        ("blur4", Distortion::Blur(4)),
        ("noise20", Distortion::Noise(20.0)),
        ("down4", Distortion::Downscale(4)),
    ];
    let mut out = Vec::new();
    for content in contents {
        let r = reference(content);
        let ref_path = yuv.join(format!("ref{content}.yuv"));
        write_yuv(&ref_path, &r);
        for (i, (label, d)) in distortions.iter().enumerate() {
            let name = format!("s{content}_{label}");
            let path = yuv.join(format!("{name}.yuv"));
            write_yuv(&path, &apply(&r, *d, 100 * u64::from(content) + i as u64));
            let log = logs.join(format!("{name}.json"));
            run_vmaf(&ref_path, &path, &log, &[]);
            out.push(Scored {
                name,
                content,
                reference: false,
                log,
            });
        }
    }
    out
}

fn study_row(id: &str, x: &BTreeMap<&str, f64>) -> String {
    with_features(serde_json::json!({ "clip": id }), x)
}

#[test]
fn a_study_file_trains_on_libvmaf_logs_exports_for_libvmaf_and_predicts_logs_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let scored = clips(dir, "logs", 0..6);
    // The MOS: libvmaf's own score of the clip (0-100), with an SD and votes.
    let mut csv = String::from("clip,src,mos,sd,n\n");
    for c in &scored {
        let v = read_json(&c.log)["pooled_metrics"]["vmaf"]["mean"]
            .as_f64()
            .unwrap();
        csv.push_str(&format!(
            "{},src{},{:.3},12,20\n",
            c.name,
            c.content,
            v.clamp(0.0, 100.0)
        ));
    }
    std::fs::write(dir.join("labels.csv"), &csv).unwrap();

    // `adapters new` writes the study file from the labels and the logs.
    let new = [
        "adapters",
        "new",
        "my-study",
        "--labels",
        "labels.csv",
        "--logs",
        "logs",
    ];
    let out = moshead(dir, &new).ok().to_owned();
    for guessed in [
        "guessed  read 24 records, 24 clips; clip id: `clip`",
        "guessed  MOS: `mos`",
        "guessed  sd: `sd`",
        "guessed  votes: `n`",
        "guessed  content (source): `src`",
        "guessed  scale: 0-100",
        "guessed  libvmaf logs: 24 in logs, 24 of 24 clips have one",
        "check    the scale and the gate",
    ] {
        assert!(out.contains(guessed), "missing {guessed:?}:\n{out}");
    }
    let written = std::fs::read_to_string(dir.join("my-study.toml")).unwrap();
    for line in [
        "name = \"my-study\"\n",
        "[scale]",
        "min = 0.0\nmax = 100.0\n",
        "[columns]\nid = \"clip\"\nmos = \"mos\"\ncontent = \"src\"",
        "sd = \"sd\"\n",
        "votes = \"n\"\n",
        "[labels]\npath = \"labels.csv\"\nformats = [\"csv\"]\n",
        "[logs]",
        "path = \"logs\"\n",
        "# [gate]\n# plcc_min = 0.7\n",
    ] {
        assert!(written.contains(line), "missing {line:?}:\n{written}");
    }
    assert!(!written.contains("[votes]"), "{written}");
    // Never over a file without --force.
    let run = moshead(dir, &new);
    assert!(
        run.fails(1)
            .contains("my-study.toml: exists; moshead never overwrites it without --force"),
        "{run}"
    );
    let mut forced = new.to_vec();
    forced.push("--force");
    moshead(dir, &forced).ok();
    assert_eq!(
        std::fs::read_to_string(dir.join("my-study.toml")).unwrap(),
        written
    );
    // The team then fills in what only it knows (the lines marked CHECK).
    let edited: String = written
        .lines()
        .map(|l| {
            if l.starts_with("description = ") {
                "description = \"Six sources, four distortions each, MOS 0-100\"".to_owned()
            } else if l.starts_with("licence = ") {
                "licence = \"Test-suite study: use it for nothing else.\"".to_owned()
            } else if l == "# [gate]" {
                "[gate]".to_owned()
            } else if l.starts_with("# plcc_min = ") {
                "plcc_min = 0.7\nsrocc_min = 0.6".to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n[features]\n\n[card]\nintended_use = \"Predicts the 0-100 MOS of my-study's encodes from the `{schema}` features.\"\nlimits = [\"Six generated sources only.\"]\n";
    std::fs::write(dir.join("my-study.toml"), &edited).unwrap();

    let run = moshead(
        dir,
        &[
            "train",
            "--quiet",
            "--adapter",
            "./my-study.toml",
            "--head",
            "ridge",
            "--export",
            "vmaf",
            "--out",
            "out",
        ],
    );
    run.ok();
    let manifest = dir.join("out/my_study_mos_head_v1.json");
    let m = read_json(&manifest);
    // The study's identity, recorded with the interpreter's library.
    let a = &m["adapter"];
    assert_eq!(a["name"], "my-study", "{a}");
    assert_eq!(a["licence"], "Test-suite study: use it for nothing else.");
    assert_eq!(a["sha256"], sha256(&builtin_plugin("study")));
    assert_eq!(a["study"]["sha256"], sha256(&dir.join("my-study.toml")));
    assert_eq!(a["study"]["text"], edited.as_str());
    assert_eq!(a["mos_scale"]["native_max"], 100.0);
    // The study's own gate, applied.
    let g = &m["gate"];
    assert_eq!(g["thresholds"]["plcc_min"], 0.7, "{g}");
    assert_eq!(g["thresholds"]["srocc_min"], 0.6, "{g}");
    assert!(g["thresholds"]["spread_max"].is_null(), "{g}");
    assert_eq!(g["checks"].as_array().unwrap().len(), 2, "{g}");
    assert_eq!(m["data"]["rows"], 24, "{}", m["data"]);
    // Encodes are grouped by source: no source on both sides of a fold.
    let sidecar =
        std::fs::read_to_string(dir.join("out/my_study_mos_head_v1_validation.jsonl")).unwrap();
    let mut folds_of: BTreeMap<String, BTreeSet<i64>> = BTreeMap::new();
    for l in sidecar.lines() {
        let v: Value = serde_json::from_str(l).unwrap();
        let group = v["group"].as_str().unwrap().to_owned();
        let id = v["id"].as_str().unwrap();
        assert!(id.starts_with(&format!("s{}_", &group[3..])), "{l}");
        folds_of
            .entry(group)
            .or_default()
            .insert(v["fold"].as_i64().unwrap());
    }
    assert_eq!(folds_of.len(), 6, "{folds_of:?}");
    assert!(folds_of.values().all(|f| f.len() == 1), "{folds_of:?}");
    // The card speaks for the study: its name, scale, intended use, licence.
    let card = std::fs::read_to_string(dir.join("out/my_study_mos_head_v1_card.md")).unwrap();
    for needle in [
        "Adapter `my-study` 1.0.0",
        "Predicts the 0-100 MOS of my-study's encodes from the `vmaf-canonical-v1` features.",
        "Six generated sources only.",
        "Test-suite study: use it for nothing else.",
    ] {
        assert!(card.contains(needle), "missing {needle:?}:\n{card}");
    }
    assert!(!card.contains("CHUG") && !card.contains("KonViD"), "{card}");

    // Stock libvmaf loads the export and scores every frame as predict does.
    let models = [Trained {
        name: "study",
        manifest: manifest.clone(),
        vmaf: dir.join("out/my_study_mos_head_v1_vmaf.json"),
        slot: "features",
        row: study_row,
    }];
    frames_score_as_predicted(dir, &scored, &["s0_blur4", "s5_noise20"], &models);

    // New, unlabelled clips: predict from their logs alone.
    let new = clips(dir, "new", 6..7);
    let model = manifest.to_str().unwrap();
    let run = moshead(dir, &["predict", "--model", model, "-i", "logs=new"]);
    let out = run.ok();
    let rows: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), new.len(), "{out}");
    for r in &rows {
        let id = r["id"].as_str().unwrap();
        assert!(new.iter().any(|c| c.name == id), "{r}");
        assert_eq!(r["group"], id, "a log alone is its own content: {r}");
        let p = r["prediction_native"].as_f64().unwrap();
        assert!((0.0..=100.0).contains(&p), "{r}");
        assert!(r["mos"].is_null(), "{r}");
    }
    // Training still needs labels: the study's own labels table labels
    // none of the new logs, so every row is dropped.
    let run = moshead(
        dir,
        &[
            "train",
            "--adapter",
            "./my-study.toml",
            "-i",
            "logs=new",
            "--out",
            "o2",
        ],
    );
    assert!(
        run.stderr
            .contains("no rows to train on: 28 row(s) were dropped"),
        "{run}"
    );

    // No test rows were held out: `validate` says how to hold some out.
    let run = moshead(dir, &["validate", "--model", model]);
    assert_ne!(run.code, Some(0), "{run}");
    assert!(
        run.stderr.contains("no rows carry split `test`")
            && run.stderr.contains("`split.test_contents`")
            && run.stderr.contains("`columns.split`"),
        "{run}"
    );

    // A changed study file is refused as a changed plugin is.
    std::fs::write(dir.join("my-study.toml"), edited.replace("0.7", "0.8")).unwrap();
    let run = moshead(dir, &["predict", "--model", model, "-i", "logs=new"]);
    assert_ne!(run.code, Some(0), "{run}");
    assert!(
        run.stderr.contains("my-study.toml has sha256")
            && run.stderr.contains("--allow-plugin-change"),
        "{run}"
    );
}
