//! `predict` on new clips and `validate` on a changed plugin, end to end: rows
//! without a MOS are scored, an all-dropped run fails with its reasons and
//! the slot that would accept the rows, non-finite predictions are errors
//! naming the row, `--output` never replaces an input or a model file, a
//! changed plugin is refused (cross-corpus validation: `cross_corpus`).

use std::path::Path;

use moshead_e2e::*;
use serde_json::Value;

pub(crate) const CHUG_MODEL: &str = "out/chug_hdr_mos_head_v1.json";
const KONVID_MODEL: &str = "kout/konvid_mos_head_v1.json";

pub(crate) fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

pub(crate) fn write_json(path: &Path, v: &Value) {
    std::fs::write(path, serde_json::to_string_pretty(v).unwrap()).unwrap();
}

/// A linear chug-hdr model in `dir/out`, trained on a synthetic corpus in
/// `dir/corpus`, with `extra` training flags.
pub(crate) fn chug_model(dir: &Path, extra: &[&str]) {
    synth_chug(dir, "60", "4");
    let mut flags = vec!["--head", "linear"];
    flags.extend_from_slice(extra);
    train_chug(dir, &flags).ok();
}

/// A linear konvid model in `dir/kout`, trained on `dir/kcorpus`.
fn konvid_model(dir: &Path) {
    moshead(
        dir,
        &[
            "synth", "-a", "konvid", "--rows", "60", "--seed", "5", "--out", "kcorpus",
        ],
    )
    .ok();
    moshead(
        dir,
        &[
            "train",
            "-a",
            "konvid",
            "-i",
            "konvid-1k=kcorpus/konvid-1k.jsonl",
            "--head",
            "linear",
            "--out",
            "kout",
            "--quiet",
        ],
    )
    .ok();
}

/// The lines of `text` with the keys `keys` removed from every other row
/// (`keep_every` = 2: rows 0, 2, 4, ... keep their MOS).
fn strip_mos(text: &str, keys: &[&str], keep_every: usize) -> String {
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        let mut v: Value = serde_json::from_str(line).unwrap();
        if i % keep_every != 0 {
            for k in keys {
                v.as_object_mut().unwrap().remove(*k);
            }
        }
        out.push_str(&v.to_string());
        out.push('\n');
    }
    out
}

/// Runs `moshead predict --model MODEL -i INPUT EXTRA...` in `dir`.
fn predict(dir: &Path, model: &str, input: &str, extra: &[&str]) -> Run {
    moshead(
        dir,
        &[&["predict", "--model", model, "-i", input][..], extra].concat(),
    )
}

fn jsonl(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

pub(crate) fn f(v: &Value, k: &str) -> f64 {
    v[k].as_f64()
        .unwrap_or_else(|| panic!("`{k}` is not a number in {v}"))
}

#[test]
fn predict_scores_chug_rows_without_a_mos_on_both_scales() {
    let d = tempfile::tempdir().unwrap();
    chug_model(d.path(), &[]);
    let shard = d.path().join("corpus/shards/shard_00.features.jsonl");
    let text = std::fs::read_to_string(&shard).unwrap();
    std::fs::write(
        d.path().join("new.jsonl"),
        strip_mos(&text, &["mos", "mos_raw_0_100"], 2),
    )
    .unwrap();
    let args = |input: &str| {
        vec![
            "predict".to_owned(),
            "--model".into(),
            CHUG_MODEL.into(),
            "-i".into(),
            input.into(),
            "--quiet".into(),
        ]
    };
    let run = |a: Vec<String>| moshead(d.path(), &a.iter().map(String::as_str).collect::<Vec<_>>());
    let unl = run(args("new.jsonl"));
    let out = unl.ok();
    assert!(!out.contains("null") && !out.contains("NaN"), "{out}");
    let rows = jsonl(out);
    let labelled = jsonl(run(args(shard.to_str().unwrap())).ok());
    // Every distorted row of the shard is scored, MOS or not, with the
    // same prediction as when it carries its MOS.
    assert_eq!(rows.len(), labelled.len());
    assert!(rows.len() > 4);
    let mut without = 0;
    // 60 rows have too few validated contents to calibrate 90% intervals
    // (coverage * (G + 1) / G > 1): none are recorded, none written (the
    // konvid CSV test below has them).
    let m = read_json(&d.path().join(CHUG_MODEL));
    let contents: std::collections::BTreeSet<&str> = labelled
        .iter()
        .filter(|l| l["split"] != "test")
        .map(|l| l["group"].as_str().unwrap())
        .collect();
    assert!(contents.len() < 10, "{}", contents.len());
    assert!(m.get("prediction_intervals").is_none(), "{m}");
    assert!(labelled.iter().all(|l| l.get("lo").is_none()));
    for (r, l) in rows.iter().zip(&labelled) {
        assert_eq!(r["id"], l["id"]);
        assert_eq!(f(r, "prediction"), f(l, "prediction"));
        let p = f(r, "prediction");
        assert!((1.0..=5.0).contains(&p));
        // CHUG's native scale is 0-100: head = 1 + 0.04 native.
        assert!(
            (f(r, "prediction_native") - (p - 1.0) / 0.04).abs() < 1e-9,
            "{r}"
        );
        if r.get("mos").is_none() {
            without += 1;
            assert!(r.get("mos_native").is_none(), "{r}");
        } else {
            assert_eq!(r["mos"], l["mos"]);
            assert!((f(r, "mos_native") - (f(r, "mos") - 1.0) / 0.04).abs() < 1e-9);
        }
    }
    assert!(without >= 2, "{without}");
    // The summary on stderr counts them.
    let loud = predict(d.path(), CHUG_MODEL, "new.jsonl", &[]);
    assert!(
        loud.stderr.contains(&format!(
            "scored {} row(s) ({without} without a MOS)",
            rows.len()
        )),
        "{loud}"
    );
    // Training still drops rows without a MOS.
    let corpus = moshead(
        d.path(),
        &[
            "corpus",
            "-a",
            "chug-hdr",
            "-i",
            "shards=new.jsonl",
            "--json",
            "--quiet",
        ],
    );
    let rep = corpus.json();
    assert_eq!(
        rep["drops"]["mos-missing"]["count"], without as u64,
        "{rep}"
    );
}

#[test]
fn predict_scores_konvid_rows_without_a_mos_as_csv() {
    let d = tempfile::tempdir().unwrap();
    konvid_model(d.path());
    let text = std::fs::read_to_string(d.path().join("kcorpus/konvid-1k.jsonl")).unwrap();
    std::fs::write(d.path().join("new.jsonl"), strip_mos(&text, &["mos"], 3)).unwrap();
    let run = predict(
        d.path(),
        KONVID_MODEL,
        "konvid-1k=new.jsonl",
        &["--format", "csv", "--quiet"],
    );
    let out = run.ok();
    let mut lines = out.lines();
    assert_eq!(
        lines.next(),
        Some(
            "id,prediction,prediction_native,mos,mos_native,split,group,lo,hi,lo_native,hi_native"
        )
    );
    let hw = read_json(&d.path().join(KONVID_MODEL))["prediction_intervals"]["half_width"]
        .as_f64()
        .unwrap();
    let body: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(body.len(), text.lines().count());
    for (i, cells) in body.iter().enumerate() {
        assert_eq!(cells.len(), 11, "{cells:?}");
        let p: f64 = cells[1].parse().unwrap();
        let native: f64 = cells[2].parse().unwrap();
        let bounds: Vec<f64> = cells[7..].iter().map(|c| c.parse().unwrap()).collect();
        assert_eq!(bounds, [p - hw, p + hw, p - hw, p + hw], "{cells:?}");
        // KonViD's native scale is the head's 1-5.
        assert_eq!(p, native);
        if i % 3 == 0 {
            let y: f64 = cells[3].parse().unwrap();
            assert!((1.0..=5.0).contains(&y));
            assert_eq!(cells[3], cells[4]);
        } else {
            assert_eq!((cells[3], cells[4]), ("", ""), "row {i}: {cells:?}");
        }
    }
    assert!(!out.contains("NaN") && !out.contains("null"));
}

#[test]
fn predict_with_every_row_dropped_fails_with_reasons_and_the_accepting_slot() {
    let d = tempfile::tempdir().unwrap();
    chug_model(d.path(), &[]);
    konvid_model(d.path());
    // KoNViD rows through the chug-hdr model: nothing scored, exit 1, the
    // reason and the adapter and slot that read such rows.
    let run = predict(d.path(), CHUG_MODEL, "kcorpus/konvid-1k.jsonl", &[]);
    let err = run.fails(1);
    assert!(run.stdout.is_empty(), "{run}");
    assert!(err.contains("no row could be scored"), "{run}");
    assert!(err.contains("foreign-corpus: 60 row(s)"), "{run}");
    assert!(
        err.contains("are tagged `konvid-1k`: they are rows of adapter `konvid` (slot `konvid-1k`"),
        "{run}"
    );
    assert!(
        err.contains("--adapter konvid --input konvid-1k=PATH"),
        "{run}"
    );
    // KonVid-150k rows through the konvid model's KoNViD-1k slot: the slot
    // of the same adapter that reads them.
    moshead(
        d.path(),
        &[
            "synth",
            "-a",
            "konvid",
            "--variant",
            "konvid-150k",
            "--rows",
            "20",
            "--out",
            "k150k",
        ],
    )
    .ok();
    let run = predict(
        d.path(),
        KONVID_MODEL,
        "konvid-1k=k150k/konvid-150k.jsonl",
        &[],
    );
    let err = run.fails(1);
    assert!(
        err.contains(
            "are tagged `konvid-150k`: read them through slot `konvid-150k` or `features-parquet` of `konvid` (--input konvid-150k=PATH)"
        ),
        "{run}"
    );
    // Rows without a corpus tag: the slot that assumes one.
    std::fs::write(
        d.path().join("untagged.jsonl"),
        "{\"src\":\"a.mp4\",\"mos\":3.0}\n",
    )
    .unwrap();
    let run = predict(d.path(), KONVID_MODEL, "konvid-1k=untagged.jsonl", &[]);
    assert!(
        run.fails(1).contains(
            "hint: 1 row(s) carry no `corpus` tag; add one, or read them through slot `features-parquet` (assumes `konvid`: --input features-parquet=PATH)"
        ),
        "{run}"
    );
    // Every row malformed: the reason, and no hint that does not apply.
    std::fs::write(d.path().join("junk.jsonl"), "{not json\n[1]\n").unwrap();
    let run = predict(d.path(), CHUG_MODEL, "junk.jsonl", &[]);
    let err = run.fails(1);
    assert!(
        err.contains("malformed-json: 1 row(s), e.g. junk.jsonl:1:")
            && err.contains("not-an-object: 1 row(s)"),
        "{run}"
    );
    assert!(!err.contains("hint"), "{run}");
}

#[test]
fn a_non_finite_prediction_is_an_error_naming_the_row() {
    let d = tempfile::tempdir().unwrap();
    chug_model(d.path(), &[]);
    let mut m = read_json(&d.path().join(CHUG_MODEL));
    // Weights that overflow: +-1e308 alternating, so w.x is inf - inf.
    let n = m["head"]["parameters"].as_array().unwrap().len();
    m["head"]["parameters"] = (0..n)
        .map(|i| Value::from(if i % 2 == 0 { 1e308 } else { -1e308 }))
        .collect();
    write_json(&d.path().join("overflow.json"), &m);
    for format in ["jsonl", "csv"] {
        let base = [
            "predict",
            "--model",
            "overflow.json",
            "-i",
            "corpus/shards",
            "--format",
            format,
        ];
        let run = moshead(d.path(), &[&base[..], &["--output", "pred.out"]].concat());
        let err = run.fails(1);
        assert!(
            err.contains("corpus/shards/shard_0")
                && err.contains("the model's prediction is NaN, not a finite number")
                && err.contains("the manifest's head parameters overflow"),
            "{run}"
        );
        assert!(!d.path().join("pred.out").exists(), "nothing is written");
        let stdout = moshead(d.path(), &base);
        stdout.fails(1);
        assert!(stdout.stdout.is_empty(), "{stdout}");
    }
    // validate refuses the same head the same way.
    let run = moshead(
        d.path(),
        &[
            "validate",
            "--model",
            "overflow.json",
            "-i",
            "corpus/shards",
        ],
    );
    assert!(run.fails(1).contains("not a finite number"), "{run}");
}

fn sha(path: &Path) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

#[test]
fn predict_output_may_not_be_an_input_the_model_or_a_model_file() {
    let d = tempfile::tempdir().unwrap();
    chug_model(d.path(), &[]);
    std::fs::copy(
        d.path().join("corpus/shards/shard_01.features.jsonl"),
        d.path().join("one.jsonl"),
    )
    .unwrap();
    std::os::unix::fs::symlink("out/chug_hdr_mos_head_v1.json", d.path().join("link.json"))
        .unwrap();
    std::os::unix::fs::symlink(
        "out/chug_hdr_mos_head_v1_card.md",
        d.path().join("card.link"),
    )
    .unwrap();
    let mut m = read_json(&d.path().join(CHUG_MODEL));
    m["exports"]["extra"] = serde_json::json!({"path": "extra_export.bin", "sha256": "00"});
    write_json(&d.path().join("out/with_export.json"), &m);
    let before: Vec<(String, String)> = std::fs::read_dir(d.path().join("out"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .chain([d.path().join("one.jsonl")])
        .filter(|p| p.is_file())
        .map(|p| (p.display().to_string(), sha(&p)))
        .collect();
    for (model, input, output, what) in [
        (
            CHUG_MODEL,
            "one.jsonl",
            "one.jsonl",
            "an input (slot `shards`)",
        ),
        (CHUG_MODEL, "one.jsonl", "./one.jsonl", "an input"),
        (
            CHUG_MODEL,
            "shards=corpus/shards",
            "corpus/shards/shard_00.features.jsonl",
            "an input (slot `shards`)",
        ),
        (CHUG_MODEL, "one.jsonl", CHUG_MODEL, "the model manifest"),
        (CHUG_MODEL, "one.jsonl", "link.json", "the model manifest"),
        (
            CHUG_MODEL,
            "one.jsonl",
            "out/../out/chug_hdr_mos_head_v1.onnx",
            "the model's ONNX export",
        ),
        (CHUG_MODEL, "one.jsonl", "card.link", "the model card"),
        (
            CHUG_MODEL,
            "one.jsonl",
            "out/chug_hdr_mos_head_v1_validation.jsonl",
            "the model's validation predictions",
        ),
        (
            CHUG_MODEL,
            "one.jsonl",
            "out/ledger.jsonl",
            "the output directory's ledger",
        ),
        (
            CHUG_MODEL,
            "one.jsonl",
            "out/.moshead.lock",
            "the output directory's lock file",
        ),
        (
            "out/with_export.json",
            "one.jsonl",
            "out/extra_export.bin",
            "the model's `extra` export",
        ),
    ] {
        let run = predict(d.path(), model, input, &["--output", output]);
        let err = run.fails(1);
        assert!(
            err.contains(&format!("--output {output} is {what}")),
            "{output}: {run}"
        );
    }
    assert!(!d.path().join("out/extra_export.bin").exists());
    for (path, hash) in &before {
        assert_eq!(&sha(Path::new(path)), hash, "{path} changed");
    }
    // Beside them, a new file is fine, and holds what stdout would.
    let run = predict(
        d.path(),
        CHUG_MODEL,
        "one.jsonl",
        &["--output", "out/pred.jsonl", "--quiet"],
    );
    assert!(run.ok().is_empty());
    let stdout = predict(d.path(), CHUG_MODEL, "one.jsonl", &["--quiet"]);
    assert_eq!(
        std::fs::read_to_string(d.path().join("out/pred.jsonl")).unwrap(),
        stdout.ok()
    );
}

/// The plugin file itself changes after training: a private copy of the
/// binary finds the chug-hdr plugin beside it (a copy), which is trained
/// with, then changed (bytes appended: still a loadable library, with
/// another sha256).
#[test]
fn predict_and_validate_refuse_a_changed_plugin_unless_allowed() {
    let d = tempfile::tempdir().unwrap();
    let bin = tempfile::tempdir().unwrap();
    let exe = bin.path().join(moshead_bin().file_name().unwrap());
    std::fs::copy(moshead_bin(), &exe).unwrap();
    let plugin = bin.path().join(lib_file("chug-hdr"));
    std::fs::copy(builtin_plugin("chug-hdr"), &plugin).unwrap();
    let run_here = |args: &[&str]| {
        let mut c = moshead_cmd_of(&exe, d.path());
        c.args(args);
        run_cmd(c)
    };
    let adapters = run_here(&["adapters", "--json"]).json().to_string();
    assert!(adapters.contains(plugin.to_str().unwrap()), "{adapters}");
    run_here(&[
        "synth", "-a", "chug-hdr", "--rows", "60", "--seed", "4", "--out", "corpus",
    ])
    .ok();
    let train = "train -a chug-hdr -i shards=corpus/shards --head linear --out out --quiet";
    run_here(&train.split(' ').collect::<Vec<_>>()).ok();
    let recorded = sha(&plugin);
    assert_eq!(
        read_json(&d.path().join(CHUG_MODEL))["adapter"]["sha256"],
        recorded.as_str()
    );
    {
        use std::io::Write as _;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&plugin)
            .unwrap();
        f.write_all(b"\0a changed build\0").unwrap();
    }
    let actual = sha(&plugin);
    assert_ne!(actual, recorded);
    for cmd in ["predict", "validate"] {
        let run = run_here(&[cmd, "--model", CHUG_MODEL, "-i", "corpus/shards"]);
        let err = run.fails(1);
        assert!(
            err.contains("adapter `chug-hdr` 1.0.0 changed since the model was trained")
                && err.contains(&format!("{} has sha256 {actual}", plugin.display()))
                && err.contains(&format!("{CHUG_MODEL} records {recorded}"))
                && err.contains("pass --allow-plugin-change"),
            "{cmd}: {run}"
        );
        assert!(run.stdout.is_empty(), "{run}");
        let run = run_here(&[
            cmd,
            "--model",
            CHUG_MODEL,
            "-i",
            "corpus/shards",
            "--allow-plugin-change",
        ]);
        assert!(
            run.code == Some(0) || (cmd == "validate" && run.code == Some(3)),
            "{run}"
        );
        assert!(!run.stdout.is_empty(), "{run}");
        assert!(
            run.stderr
                .contains("warning: adapter `chug-hdr` 1.0.0 changed")
                && run.stderr.contains("(--allow-plugin-change)"),
            "{run}"
        );
    }
}

/// A plugin of API 1.0 cannot project rows without a MOS: the host never
/// sends it the key it would refuse, scores the rows that carry a MOS, and
/// says why the others were dropped.
#[test]
fn a_plugin_of_api_1_0_gets_no_unlabelled_request_and_the_reason_is_given() {
    let d = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(&[fixture_lib("old-api")]);
    let dir = plugins.path().to_str().unwrap();
    let mut rows = String::new();
    for i in 0..40 {
        let adm2 = 0.2 + 0.02 * i as f64;
        let mos = 1.5 + 3.0 * adm2 - 0.4 * ((i * 7) % 5) as f64 / 5.0;
        rows.push_str(&format!(
            "{{\"corpus\":\"old\",\"src\":\"c{i}\",\"mos\":{mos},\"adm2\":{adm2},\"motion2\":{}}}\n",
            (i % 9) as f64
        ));
    }
    std::fs::write(d.path().join("rows.jsonl"), &rows).unwrap();
    moshead(
        d.path(),
        &[
            "--plugin-dir",
            dir,
            "train",
            "-a",
            "old-api",
            "-i",
            "rows=rows.jsonl",
            "--head",
            "linear",
            "--out",
            "out",
            "--quiet",
        ],
    )
    .ok();
    let text = strip_mos(&rows, &["mos"], 2);
    std::fs::write(d.path().join("new.jsonl"), text).unwrap();
    let run = moshead(
        d.path(),
        &[
            "--plugin-dir",
            dir,
            "predict",
            "--model",
            "out/old_api_v1.json",
            "-i",
            "new.jsonl",
        ],
    );
    let out = run.ok();
    assert_eq!(out.lines().count(), 20, "{run}");
    assert!(
        run.stderr.contains("scored 20 row(s) (0 without a MOS); 20 dropped")
            && run.stderr.contains("mos-missing: 20 row(s)")
            && run.stderr.contains(
                "adapter `old-api` is built against sdk API 1.0.0, which cannot project rows without a MOS"
            ),
        "{run}"
    );
}
