//! Refusals with exact outcomes: out-of-range hyper-parameters and model
//! ids before any work, duplicate rows and leakage between splits, the
//! same input bound twice, hostile Parquet, and messages that say what a
//! file is.

use std::path::{Path, PathBuf};

use moshead_e2e::parquet_writer::{write_table, ColumnData};
use moshead_e2e::*;

const ROW1: &str = r#"{"corpus":"konvid-1k","src":"a.mp4","mos":3.0,"adm2":0.9}"#;
const ROW2: &str = r#"{"corpus":"konvid-1k","src":"b.mp4","mos":4.0,"adm2":0.8}"#;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn corpus_json(cwd: &Path, inputs: &[String]) -> Run {
    let mut args = vec!["corpus", "-a", "konvid", "--json"];
    for i in inputs {
        args.push("-i");
        args.push(i);
    }
    moshead(cwd, &args)
}

/// Makes a FIFO (named pipe) at `path`.
fn mkfifo(path: &Path) {
    assert!(std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap()
        .success());
}

fn timed(cwd: &Path, args: &[&str]) -> Run {
    let mut c = moshead_cmd(cwd);
    c.args(args);
    // A hang bound (each refusal comes before any work), not a speed test.
    run_cmd_timeout(c, 600)
}

#[test]
fn out_of_range_hyper_parameters_and_model_ids_are_refused_before_any_work() {
    let cwd = tempfile::tempdir().unwrap();
    // The input does not exist: a refusal that names the flag proves no
    // input was read.
    let base = [
        "train",
        "-a",
        "konvid",
        "-i",
        "konvid-1k=missing.jsonl",
        "--out",
        "out",
        "--head",
        "mlp",
    ];
    let long = "m".repeat(300);
    for (extra, needle) in [
        (
            vec!["--weight-decay", "1e308"],
            "--weight-decay 1e308 is out of range: valid values are 0 to 1e3",
        ),
        (
            vec!["--weight-decay=-1"],
            "--weight-decay -1 is out of range",
        ),
        (
            vec!["--max-iters", "0"],
            "--max-iters 0 is out of range: valid values are 1 to 100000",
        ),
        (vec!["--folds", "1"], "--folds 1 is out of range"),
        (vec!["--repeats", "100000"], "--repeats 100000 is out of range"),
        (
            vec!["--model-id", long.as_str()],
            "--model-id: model id `mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm...` is 300 characters long; at most 100",
        ),
        (
            vec!["--model-id", "a\nb"],
            "--model-id: model id `a\\nb` contains `\\n`",
        ),
        (vec!["--model-id", "../x"], "contains `/`"),
    ] {
        let mut args: Vec<&str> = base.to_vec();
        args.extend(extra.iter().copied());
        let run = timed(cwd.path(), &args);
        assert!(run.fails(1).contains(needle), "{extra:?}: {run}");
        assert!(!run.stderr.contains("missing.jsonl"), "{run}");
        assert!(!cwd.path().join("out").exists());
    }
    // With --head auto (the default) the hyper-parameters are chosen, never set.
    let mut args: Vec<&str> = base[..base.len() - 2].to_vec();
    args.extend(["--weight-decay", "1e-3", "--svr-c", "4"]);
    let run = timed(cwd.path(), &args);
    assert!(
        run.fails(1).contains(
            "--weight-decay, --svr-c set one head's hyper-parameters; with --head auto they are chosen by inner cross-validation"
        ),
        "{run}"
    );
    assert!(!cwd.path().join("out").exists());
}

#[test]
fn bad_flag_combinations_are_refused_before_the_corpus_is_opened() {
    // The corpus is a FIFO nobody writes to: reading it would block, and
    // the ingest's own check would refuse it as a FIFO. Each refusal below
    // names the flags and nothing of the FIFO, so the command line was
    // resolved, and refused, before the corpus was opened.
    let cwd = tempfile::tempdir().unwrap();
    mkfifo(&cwd.path().join("pipe.jsonl"));
    let base = [
        "train",
        "-a",
        "konvid",
        "-i",
        "konvid-1k=pipe.jsonl",
        "--out",
        "out",
    ];
    for (extra, needle) in [
        (
            vec!["--export", "vmaf"],
            "--export vmaf with --head auto: auto may choose a head libvmaf cannot evaluate",
        ),
        (
            vec!["--head", "mlp", "--for", "libvmaf"],
            "--export vmaf: libvmaf cannot evaluate the mlp head",
        ),
        (
            vec!["--ridge-alpha", "2", "--svr-nu", "0.3", "--patience", "3"],
            "--patience, --ridge-alpha, --svr-nu set one head's hyper-parameters; with --head auto",
        ),
        (
            vec!["--head", "svr", "--svr-tol", "1e-12", "--svr-max-rows", "9"],
            "SVR tolerance 1e-12 must be finite and at least 1e-9",
        ),
        (
            vec!["--model-id", "../x"],
            "--model-id: model id `../x` contains `/`",
        ),
    ] {
        let mut args: Vec<&str> = base.to_vec();
        args.extend(extra.iter().copied());
        let run = timed(cwd.path(), &args);
        let err = run.fails(1);
        assert!(err.contains(needle), "{extra:?}: {run}");
        assert!(
            !err.contains("pipe.jsonl") && !err.contains("FIFO"),
            "{extra:?}: {run}"
        );
        assert!(!cwd.path().join("out").exists(), "{extra:?}");
    }
}

#[test]
fn the_largest_weight_decay_in_range_ends_within_the_caps() {
    let cwd = tempfile::tempdir().unwrap();
    moshead(
        cwd.path(),
        &[
            "synth", "-a", "konvid", "--rows", "200", "--seed", "3", "--out", "corpus",
        ],
    )
    .ok();
    let run = timed(
        cwd.path(),
        &[
            "train",
            "-a",
            "konvid",
            "-i",
            "konvid-1k=corpus/konvid-1k.jsonl",
            "--out",
            "out",
            "--quiet",
            "--folds",
            "2",
            "--head",
            "mlp",
            "--max-iters",
            "3",
            "--weight-decay",
            "1e3",
        ],
    );
    run.ok();
    let m: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(cwd.path().join("out/konvid_mos_head_v1.json")).unwrap(),
    )
    .unwrap();
    let cap = moshead::training::limits::max_evals(3);
    let mut solves = vec![&m["training"]["solve"]];
    for f in m["validation"]["folds"].as_array().unwrap() {
        solves.push(&f["solve"]);
    }
    for s in solves {
        assert!(s["iterations"].as_u64().unwrap() <= 3, "{s}");
        let evals = s["cost_evals"].as_u64().unwrap() + s["gradient_evals"].as_u64().unwrap();
        assert!(evals <= cap, "{evals} > {cap}: {s}");
        assert_eq!(s["weight_decay"].as_f64(), Some(1e3));
    }
}

#[test]
fn duplicate_rows_are_dropped_and_conflicting_ones_refused_naming_both_places() {
    let cwd = tempfile::tempdir().unwrap();
    let d = cwd.path();
    // An exact duplicate: a counted drop naming both lines.
    let p = write(d, "dup.jsonl", &format!("{ROW1}\n{ROW2}\n{ROW1}\n"));
    let v = corpus_json(d, &[format!("konvid-1k={}", p.display())]).json();
    assert_eq!(v["rows"], 2, "{v}");
    let drop = &v["drops"]["duplicate-row"];
    assert_eq!(drop["count"], 1, "{v}");
    let ex = drop["examples"][0].as_str().unwrap();
    assert!(
        ex.ends_with("dup.jsonl:3: duplicate of ") || ex.contains("dup.jsonl:3: duplicate of"),
        "{ex}"
    );
    assert!(ex.contains("dup.jsonl:1 (id `a.mp4`)"), "{ex}");
    // The same id with another MOS: an error naming both places.
    let other_mos = ROW1.replace("3.0", "3.5");
    let p = write(d, "mos.jsonl", &format!("{ROW1}\n{ROW2}\n{other_mos}\n"));
    let run = corpus_json(d, &[format!("konvid-1k={}", p.display())]);
    let err = run.fails(1);
    assert!(
        err.contains("mos.jsonl:3: id `a.mp4` appears twice, with two MOS: 3 at ")
            && err.contains("mos.jsonl:1, 3.5 here"),
        "{run}"
    );
    // Other features.
    let other_x = ROW1.replace("0.9", "0.7");
    let p = write(d, "x.jsonl", &format!("{ROW1}\n{other_x}\n"));
    let run = corpus_json(d, &[format!("konvid-1k={}", p.display())]);
    assert!(
        run.fails(1)
            .contains("x.jsonl:2: id `a.mp4` appears twice, with different features at "),
        "{run}"
    );
}

/// A CHUG row with `id`, `content`, `split` and MOS.
fn chug(id: &str, content: &str, split: &str, mos: f64) -> String {
    format!(
        r#"{{"corpus":"chug","chug_video_id":"{id}","chug_content_name":"{content}","split":"{split}","mos":{mos},"adm2":0.9}}"#
    )
}

fn chug_corpus(cwd: &Path, lines: &[String]) -> Run {
    let shards = cwd.join("shards");
    std::fs::create_dir_all(&shards).unwrap();
    std::fs::write(
        shards.join("shard_0.features.jsonl"),
        lines.join("\n") + "\n",
    )
    .unwrap();
    moshead(
        cwd,
        &["corpus", "-a", "chug-hdr", "-i", "shards=shards", "--json"],
    )
}

#[test]
fn one_clip_under_two_contents_or_in_two_splits_is_refused() {
    let cwd = tempfile::tempdir().unwrap();
    let ok = chug_corpus(
        cwd.path(),
        &[chug("v1", "c1", "train", 3.0), chug("v2", "c2", "val", 4.0)],
    );
    assert_eq!(ok.json()["rows"], 2, "{ok}");
    for (lines, needle) in [
        (
            vec![
                chug("v1", "c1", "train", 3.0),
                chug("v1", "c2", "train", 3.0),
            ],
            "shard_0.features.jsonl:2: id `v1` appears twice, under two content names: `c1` at ",
        ),
        (
            vec![
                chug("v1", "c1", "train", 3.0),
                chug("v1", "c1", "test", 3.0),
            ],
            "shard_0.features.jsonl:2: id `v1` appears twice, in two splits: train at ",
        ),
        (
            vec![chug("v1", "c1", "train", 3.0), chug("v2", "c1", "val", 4.0)],
            "content `c1` is in two splits: train at ",
        ),
    ] {
        let run = chug_corpus(cwd.path(), &lines);
        let err = run.fails(1);
        assert!(
            err.contains(needle) && err.contains("shard_0.features.jsonl:1"),
            "{run}"
        );
    }
}

#[test]
fn the_same_input_bound_twice_is_refused_by_path_or_by_content() {
    let cwd = tempfile::tempdir().unwrap();
    let d = cwd.path();
    let a = write(d, "a.jsonl", &format!("{ROW1}\n{ROW2}\n"));
    std::fs::copy(&a, d.join("copy.jsonl")).unwrap();
    for second in ["a.jsonl", "copy.jsonl"] {
        let run = corpus_json(
            d,
            &[
                "konvid-1k=a.jsonl".to_owned(),
                format!("konvid-1k={second}"),
            ],
        );
        let err = run.fails(1);
        assert!(
            err.contains(&format!("{second}: has the same content (sha256 "))
                && err.contains("as a.jsonl, bound to slot `konvid-1k`"),
            "{run}"
        );
    }
}

#[test]
fn files_that_are_not_regular_files_say_what_they_are() {
    let cwd = tempfile::tempdir().unwrap();
    mkfifo(&cwd.path().join("pipe.jsonl"));
    let run = timed(
        cwd.path(),
        &["corpus", "-a", "konvid", "-i", "konvid-1k=pipe.jsonl"],
    );
    assert!(
        run.fails(1)
            .contains("pipe.jsonl: slot `konvid-1k`: is a FIFO (named pipe), not a regular file"),
        "{run}"
    );
    let run = timed(
        cwd.path(),
        &["corpus", "-a", "konvid", "-i", "konvid-1k=/dev/zero"],
    );
    assert!(
        run.fails(1)
            .contains("/dev/zero: slot `konvid-1k`: is a character device, not a regular file"),
        "{run}"
    );
    // `moshead ledger` on a FIFO: an error, not a wait.
    std::fs::create_dir_all(cwd.path().join("out")).unwrap();
    mkfifo(&cwd.path().join("out/ledger.jsonl"));
    let run = timed(cwd.path(), &["ledger", "--out", "out"]);
    assert!(
        run.fails(1)
            .contains("out/ledger.jsonl: is a FIFO (named pipe), not a regular file"),
        "{run}"
    );
}

#[test]
fn cr_only_line_endings_are_named() {
    let cwd = tempfile::tempdir().unwrap();
    let p = write(cwd.path(), "mac.jsonl", &format!("{ROW1}\r{ROW2}\r"));
    let v = corpus_json(cwd.path(), &[format!("konvid-1k={}", p.display())]).json();
    let d = &v["drops"]["cr-line-endings"];
    assert_eq!(d["count"], 1, "{v}");
    assert!(
        d["examples"][0].as_str().unwrap().contains(
            "mac.jsonl:1: 1 carriage return(s) inside one line: the file has CR-only line endings"
        ),
        "{v}"
    );
    // CRLF is fine.
    let p = write(cwd.path(), "dos.jsonl", &format!("{ROW1}\r\n{ROW2}\r\n"));
    let v = corpus_json(cwd.path(), &[format!("konvid-1k={}", p.display())]).json();
    assert_eq!(v["rows"], 2, "{v}");
}

#[test]
fn an_empty_plugin_lock_variable_is_reported_as_such() {
    let cwd = tempfile::tempdir().unwrap();
    let mut c = moshead_cmd(cwd.path());
    c.args(["adapters"]).env("MOSHEAD_PLUGIN_LOCK", "");
    let run = run_cmd(c);
    assert!(
        run.fails(1)
            .contains("MOSHEAD_PLUGIN_LOCK is set but empty: set it to a pin file, or unset it"),
        "{run}"
    );
}

fn parquet(dir: &Path, cols: Vec<(&str, ColumnData)>) -> PathBuf {
    let p = dir.join("t.parquet");
    let cols: Vec<(String, ColumnData)> =
        cols.into_iter().map(|(n, c)| (n.to_string(), c)).collect();
    write_table(&p, &cols).unwrap();
    p
}

fn strs(v: &[&str]) -> ColumnData {
    ColumnData::Str(v.iter().map(|x| Some(x.to_string())).collect())
}

fn parquet_corpus(cwd: &Path, p: &Path) -> Run {
    corpus_json(cwd, &[format!("features-parquet={}", p.display())])
}

#[test]
fn parquet_duplicate_columns_nan_and_float16_mos() {
    let cwd = tempfile::tempdir().unwrap();
    let d = cwd.path();
    let base = || vec![("src", strs(&["a.mp4", "b.mp4"]))];
    // Two columns named `mos`: refused, naming both.
    let mut cols = base();
    cols.push(("mos", ColumnData::F64(vec![Some(3.0), Some(4.0)])));
    cols.push(("mos", ColumnData::F64(vec![Some(1.0), Some(1.0)])));
    let run = parquet_corpus(d, &parquet(d, cols));
    assert!(
        run.fails(1)
            .contains("t.parquet: column `mos` appears twice (columns 2 and 3)"),
        "{run}"
    );
    // A NaN MOS: not finite (not "not present").
    let mut cols = base();
    cols.push(("mos", ColumnData::F64(vec![Some(f64::NAN), Some(4.0)])));
    let v = parquet_corpus(d, &parquet(d, cols)).json();
    assert_eq!(v["drops"]["mos-non-finite"]["count"], 1, "{v}");
    assert!(v["drops"]["mos-non-finite"]["examples"][0]
        .as_str()
        .unwrap()
        .contains("is not finite"));
    // A float16 MOS: read as the number it is.
    let mut cols = base();
    cols.push(("mos", ColumnData::F16(vec![Some(3.5), Some(4.25)])));
    let v = parquet_corpus(d, &parquet(d, cols)).json();
    assert_eq!(v["rows"], 2, "{v}");
    assert!(v["drops"].as_object().unwrap().is_empty(), "{v}");
}

/// Rewrites a parquet file (one written by [`write_table`], whose writer
/// records no checksums) with a CRC-32 in every page header, as pyarrow's
/// `write_page_checksum=True` does; returns the bytes and, per column
/// path, the byte range of its first page's body.
fn with_page_checksums(
    old: &[u8],
) -> (
    Vec<u8>,
    std::collections::BTreeMap<String, std::ops::Range<usize>>,
) {
    use parquet::format::{FileMetaData, PageHeader};
    use parquet::thrift::TSerializable;
    use thrift::protocol::{TCompactInputProtocol, TCompactOutputProtocol};

    let n = old.len();
    let mlen = u32::from_le_bytes(old[n - 8..n - 4].try_into().unwrap()) as usize;
    let mut footer_in = std::io::Cursor::new(&old[n - 8 - mlen..n - 8]);
    let mut meta =
        FileMetaData::read_from_in_protocol(&mut TCompactInputProtocol::new(&mut footer_in))
            .unwrap();
    let mut out = b"PAR1".to_vec();
    let mut bodies = std::collections::BTreeMap::new();
    for rg in &mut meta.row_groups {
        let rg_start = out.len() as i64;
        for cc in &mut rg.columns {
            let cm = cc.meta_data.as_mut().unwrap();
            let old_start = cm
                .dictionary_page_offset
                .unwrap_or(cm.data_page_offset)
                .min(cm.data_page_offset) as usize;
            let old_end = old_start + cm.total_compressed_size as usize;
            let new_start = out.len();
            let mut pos = old_start;
            let mut first = true;
            while pos < old_end {
                let mut cur = std::io::Cursor::new(&old[pos..old_end]);
                let mut h =
                    PageHeader::read_from_in_protocol(&mut TCompactInputProtocol::new(&mut cur))
                        .unwrap();
                let body_at = pos + cur.position() as usize;
                let body = &old[body_at..body_at + h.compressed_page_size as usize];
                if pos == cm.data_page_offset as usize {
                    cm.data_page_offset = out.len() as i64;
                }
                if Some(pos as i64) == cm.dictionary_page_offset {
                    cm.dictionary_page_offset = Some(out.len() as i64);
                }
                h.crc = Some(crc32(body) as i32);
                let mut header = Vec::new();
                h.write_to_out_protocol(&mut TCompactOutputProtocol::new(&mut header))
                    .unwrap();
                out.extend_from_slice(&header);
                if first && h.data_page_header.is_some() {
                    first = false;
                    bodies.insert(
                        cm.path_in_schema.join("."),
                        out.len()..out.len() + body.len(),
                    );
                }
                out.extend_from_slice(body);
                pos = body_at + body.len();
            }
            cm.total_compressed_size = (out.len() - new_start) as i64;
            cc.file_offset = out.len() as i64;
            cc.offset_index_offset = None;
            cc.offset_index_length = None;
            cc.column_index_offset = None;
            cc.column_index_length = None;
        }
        rg.file_offset = Some(rg_start);
        rg.total_compressed_size = Some(out.len() as i64 - rg_start);
    }
    let mut footer = Vec::new();
    meta.write_to_out_protocol(&mut TCompactOutputProtocol::new(&mut footer))
        .unwrap();
    out.extend_from_slice(&footer);
    out.extend_from_slice(&(footer.len() as u32).to_le_bytes());
    out.extend_from_slice(b"PAR1");
    (out, bodies)
}

/// CRC-32 (IEEE, reflected), the checksum of parquet page headers.
fn crc32(bytes: &[u8]) -> u32 {
    let mut c = !0u32;
    for b in bytes {
        c ^= u32::from(*b);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0xEDB8_8320
            } else {
                c >> 1
            };
        }
    }
    !c
}

#[test]
fn parquet_page_checksums_are_verified() {
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926, "the standard check value");
    let cwd = tempfile::tempdir().unwrap();
    let d = cwd.path();
    let p = parquet(
        d,
        vec![
            ("src", strs(&["a.mp4", "b.mp4"])),
            ("mos", ColumnData::F64(vec![Some(3.0), Some(4.0)])),
            ("adm2", ColumnData::F64(vec![Some(0.9), Some(0.8)])),
        ],
    );
    let (good, bodies) = with_page_checksums(&std::fs::read(&p).unwrap());
    std::fs::write(&p, &good).unwrap();
    // Intact: read as before.
    let v = parquet_corpus(d, &p).json();
    assert_eq!(v["rows"], 2, "{v}");
    // One byte of the MOS page changed: refused, not read as garbage.
    let mut bad = good.clone();
    let at = bodies["mos"].end - 1;
    bad[at] ^= 0x40;
    std::fs::write(&p, &bad).unwrap();
    let run = parquet_corpus(d, &p);
    assert!(
        run.fails(1).contains("t.parquet") && run.stderr.contains("CRC checksum mismatch"),
        "{run}"
    );
}
