//! Hostile input, third round (issue 29, the input side): each case states
//! its exact outcome (the message, the exit code, the rows and drops) and
//! none may panic, hang or hold a file's worth of memory.

use std::io::Write as _;
use std::os::unix::ffi::OsStrExt as _;
use std::path::Path;

use moshead_e2e::*;
use serde_json::Value;

use super::export::{konvid_corpus, read_json, train_konvid};
use super::hardening::names;
use super::hostile_cases::{chug_row, file, shards};

const HEADER: &str = "corpus,video_id,MOS,adm2";

/// `n` KonViD CSV records, clip ids from 1.
fn csv_rows(n: usize) -> Vec<String> {
    (1..=n)
        .map(|i| format!("konvid-1k,{i},3.{},0.9", i % 10))
        .collect()
}

/// `corpus --json` of the CSV at `path` through the `konvid-1k` slot.
fn corpus_csv(cwd: &Path, path: &str) -> Run {
    let mut c = moshead_cmd(cwd);
    c.args(["corpus", "-a", "konvid", "--json", "-i"])
        .arg(format!("konvid-1k={path}"));
    run_cmd(c)
}

fn drops(v: &Value) -> Vec<(String, u64, String)> {
    v["drops"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, d)| {
            (
                k.clone(),
                d["count"].as_u64().unwrap(),
                d["examples"][0].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[test]
fn an_unterminated_quote_costs_only_its_own_line() {
    // Issue 29, item 15: line 6 of 51 opens a quote that never closes.
    let d = tempfile::tempdir().unwrap();
    let mut lines = vec![HEADER.to_owned()];
    lines.extend(csv_rows(50));
    lines[5] = "konvid-1k,5,\"3.5,0.9".to_owned();
    file(d.path(), "rows.csv", lines.join("\n") + "\n");
    let run = corpus_csv(d.path(), "rows.csv");
    let v = run.json();
    assert_eq!(v["rows"], 49, "{run}");
    let got = drops(&v);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "unterminated-quote");
    assert_eq!(got[0].1, 1);
    assert!(
        got[0]
            .2
            .starts_with("rows.csv:6: a quote opened on this line is never closed"),
        "{got:?}"
    );
}

#[test]
fn a_semicolon_separated_csv_names_its_delimiter() {
    let d = tempfile::tempdir().unwrap();
    let text: String = std::iter::once(HEADER.to_owned())
        .chain(csv_rows(4))
        .map(|l| l.replace(',', ";") + "\n")
        .collect();
    file(d.path(), "rows.csv", text);
    let run = corpus_csv(d.path(), "rows.csv");
    let v = run.json();
    assert_eq!(v["rows"], 0, "{run}");
    let got = drops(&v);
    assert_eq!(got.iter().map(|g| g.1).sum::<u64>(), 4, "{got:?}");
    assert!(
        got[0]
            .2
            .contains("is the file separated by `;` rather than `,`?"),
        "{got:?}"
    );
}

/// Runs `c` and returns the run and the child's peak resident memory in
/// bytes: the largest `VmHWM` of `/proc/<pid>/status` seen while it ran
/// (sampled every millisecond until it exits). Not `wait4`'s `ru_maxrss`:
/// Linux carries the high-water mark of the memory a child had before
/// `execve` into it, and a child spawned through `posix_spawn` (vfork)
/// shares this test process's memory until then, so `ru_maxrss` reported
/// the test harness's own size when other tests ran beside this one.
fn run_with_peak(mut c: std::process::Command) -> (Run, u64) {
    use std::io::Read as _;
    use std::process::Stdio;
    let mut child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status_path = format!("/proc/{}/status", child.id());
    let sampler = std::thread::spawn(move || {
        let mut peak = 0u64;
        // VmHWM is missing once the child is a zombie: the sampling ends.
        while let Some(kib) = std::fs::read_to_string(&status_path).ok().and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        }) {
            peak = peak.max(kib * 1024);
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        peak
    });
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let mut stdout = String::new();
    out.read_to_string(&mut stdout).unwrap();
    let peak = sampler.join().unwrap();
    let status = child.wait().unwrap();
    let run = Run {
        code: status.code(),
        stdout,
        stderr: t.join().unwrap(),
    };
    assert!(peak > 0, "no VmHWM sample of the child");
    (run, peak)
}

#[test]
fn a_gibibyte_quoted_csv_field_in_a_small_gzip_is_a_bounded_drop() {
    // Issue 29, item 7: one quoted field of 1 GiB between two good records,
    // in a gzip file of about a megabyte (1024 gzip members of 1 MiB of
    // `x` each: a multi-member gzip file is one stream).
    let d = tempfile::tempdir().unwrap();
    let mut member = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    member.write_all(&vec![b'x'; 1 << 20]).unwrap();
    let member = member.finish().unwrap();
    let gz = |text: &str| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(text.as_bytes()).unwrap();
        e.finish().unwrap()
    };
    let rows = csv_rows(2);
    let mut bytes = gz(&format!("{HEADER}\n{}\nkonvid-1k,7,3.0,\"", rows[0]));
    for _ in 0..1024 {
        bytes.extend_from_slice(&member);
    }
    bytes.extend(gz(&format!("\"\n{}\n", rows[1])));
    assert!(bytes.len() < 4 << 20, "{} bytes", bytes.len());
    file(d.path(), "rows.csv.gz", &bytes);
    let mut c = moshead_cmd(d.path());
    c.args([
        "corpus",
        "-a",
        "konvid",
        "--json",
        "-i",
        "konvid-1k=rows.csv.gz",
    ]);
    let (run, peak) = run_with_peak(c);
    let v = run.json();
    assert_eq!(v["rows"], 2, "{run}");
    let got = drops(&v);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!((got[0].0.as_str(), got[0].1), ("line-too-long", 1));
    assert!(
        got[0].2.starts_with(&format!(
            "rows.csv.gz:3: line of {} bytes exceeds the 16 MiB bound",
            (1u64 << 30) + 18
        )),
        "{got:?}"
    );
    assert!(peak < 200 << 20, "peak memory {} MB", peak >> 20);
}

/// A KonViD libvmaf-log corpus in `dir`: `logs/a.json` with `metrics` in
/// each of its two frames, and the labels table `labels.csv`.
fn log_corpus(dir: &Path, metrics: &str, labels: &str) -> Run {
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    let frames = format!(
        r#"{{"version":"2.3.1","frames":[{{"frameNum":0,"metrics":{metrics}}},{{"frameNum":1,"metrics":{metrics}}}]}}"#
    );
    std::fs::write(dir.join("logs/a.json"), frames).unwrap();
    std::fs::write(dir.join("labels.csv"), labels).unwrap();
    moshead(
        dir,
        &[
            "corpus",
            "--json",
            "-a",
            "konvid",
            "-i",
            "vmaf-logs=logs",
            "-i",
            "konvid-1k-attributes=labels.csv",
        ],
    )
}

#[test]
fn libvmaf_metrics_never_replace_labels_columns() {
    // Issue 29, item 5: `vmaf --model ...:name=mos` writes a metric `mos`.
    let d = tempfile::tempdir().unwrap();
    let run = log_corpus(
        d.path(),
        r#"{"integer_adm2":0.9,"mos":4.5}"#,
        "flickr_id,MOS\na,3.0\n",
    );
    let e = run.fails(1);
    assert!(!e.contains("panicked"), "{run}");
    assert!(
        e.contains("a.json")
            && e.contains(
                "pooled column `mos` (from frame metric `mos`) has the name of a column of the labels record (line 2)"
            ),
        "{run}"
    );
    // A metric repeated in one frame: the log is a counted drop, as a
    // repeated key in a JSONL row is.
    let d = tempfile::tempdir().unwrap();
    let run = log_corpus(
        d.path(),
        r#"{"integer_adm2":0.9,"integer_adm2":0.1}"#,
        "flickr_id,MOS\na,3.0\n",
    );
    let v = run.json();
    let got = drops(&v);
    let log = got.iter().find(|g| g.0 == "not-libvmaf-log").unwrap();
    assert!(
        log.2.contains("a frame repeats a metric: `integer_adm2`"),
        "{got:?}"
    );
}

#[test]
fn a_labels_table_with_a_repeated_header_is_refused() {
    // Issue 29, item 6.
    let d = tempfile::tempdir().unwrap();
    let run = log_corpus(
        d.path(),
        r#"{"integer_adm2":0.9}"#,
        "flickr_id,MOS,SD,n,MOS\na,3.0,0.5,20,4.0\n",
    );
    let e = run.fails(1);
    assert!(
        e.contains("labels.csv")
            && e.contains(
                "line 1: header columns 2 and 5 are both named `MOS` (which one holds the values is ambiguous)"
            ),
        "{run}"
    );
}

#[test]
fn a_shard_whose_name_is_not_utf8_is_read_and_noted() {
    // Issue 29, item 14.
    let d = tempfile::tempdir().unwrap();
    let s = shards(d.path());
    let name = std::ffi::OsStr::from_bytes(b"shard_\xff.features.jsonl");
    let rows: String = (0..3)
        .map(|i| chug_row("").replace("\"v\"", &format!("\"v{i}\"")) + "\n")
        .collect();
    std::fs::write(s.join(name), rows).unwrap();
    file(&s, "shard_00.features.jsonl", chug_row("") + "\n");
    let run = moshead(
        d.path(),
        &["corpus", "-a", "chug-hdr", "-i", "shards=shards", "--json"],
    );
    let v = run.json();
    assert_eq!(v["rows"], 4, "{run}");
    let notes = v["notes"].to_string();
    assert!(
        notes.contains("1 matching file name is not UTF-8, read and recorded lossily")
            && notes.contains("shard_\u{fffd}.features.jsonl"),
        "{notes}"
    );
}

#[test]
fn a_truncated_copy_of_a_real_plugin_is_refused_before_it_is_mapped() {
    // Issue 29, item 12: the dynamic loader would map past the end of the
    // file and die of SIGBUS.
    let cwd = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let real = std::fs::read(builtin_plugin("konvid")).unwrap();
    // Named apart from the built `konvid` beside the binary, which a
    // second `konvid` in --plugin-dir would clash with.
    let lib = dir.path().join(lib_file("truncated"));
    std::fs::write(&lib, &real[..real.len() / 2]).unwrap();
    let run = moshead(cwd.path(), &["adapters", "check", lib.to_str().unwrap()]);
    // `adapters check` exits 4 when a check fails, and names the file.
    assert_eq!(run.code, Some(4), "not a signal, a failed check: {run}");
    assert!(
        run.stdout.contains(&format!("checking {}", lib.display()))
            && run.stdout.contains(&format!(
                "FAIL  load            is not a complete ELF shared object ({} bytes)",
                real.len() / 2
            ))
            && run.stdout.contains("(truncated?)"),
        "{run}"
    );
    let run = moshead(
        cwd.path(),
        &[
            "adapters",
            "--json",
            "--plugin-dir",
            dir.path().to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, Some(0), "{run}");
    assert!(
        run.stderr.contains("is not a complete ELF shared object"),
        "{run}"
    );
}

#[test]
fn relative_xdg_data_home_and_home_are_never_searched() {
    // Issue 29, item 13.
    let cwd = tempfile::tempdir().unwrap();
    for rel in ["rel/moshead/plugins", "home/.local/share/moshead/plugins"] {
        let p = cwd.path().join(rel);
        std::fs::create_dir_all(&p).unwrap();
        std::fs::copy(fixture_lib("panicky"), p.join(lib_file("panicky"))).unwrap();
    }
    let mut c = moshead_cmd(cwd.path());
    c.args(["adapters", "--json"])
        .env("XDG_DATA_HOME", "rel")
        .env("HOME", "home");
    let run = run_cmd(c);
    assert!(!names(&run).contains(&"panicky".to_owned()), "{run}");
    for var in ["XDG_DATA_HOME `rel`", "HOME `home`"] {
        assert!(
            run.stderr.contains(&format!(
                "{var} is relative: ignored (it must be absolute; the current directory is never searched)"
            )),
            "{run}"
        );
    }
}

#[test]
fn synth_rows_has_a_documented_maximum() {
    // Issue 29, item 16: no panic in the plugin, no corpus built in memory.
    let cwd = tempfile::tempdir().unwrap();
    for rows in ["200001", "18446744073709551615", "100000000"] {
        let run = moshead(
            cwd.path(),
            &["synth", "-a", "konvid", "--rows", rows, "--out", "c"],
        );
        let e = run.fails(2);
        assert!(
            e.contains(&format!("invalid value '{rows}' for '--rows <ROWS>'"))
                && e.contains("200000")
                && !e.contains("panicked"),
            "{run}"
        );
        assert!(!cwd.path().join("c").exists());
    }
}

/// A named edit of a manifest and the message its refusal must carry.
type Edit<'a> = (&'a str, &'a dyn Fn(&mut Value), &'a str);

#[test]
fn hostile_svr_manifests_are_refused_by_name() {
    // Issue 29, item 1, and the doubtful SVR settings: members whose
    // support vectors sum past `usize::MAX` (wrapping to the head's count),
    // a zero or negative RBF width, a nu-SVR without its `nu`.
    let d = tempfile::tempdir().unwrap();
    konvid_corpus(d.path(), 120, 5);
    train_konvid(d.path(), "out", &["--head", "svr"]).ok();
    let m = read_json(&d.path().join("out/konvid_mos_head_v1.json"));
    let k = m["head"]["spec"]["svr"]["n_support"].as_u64().unwrap();
    // Issue 29, item 9: a ledger field of 65,536 characters or more (past
    // `format!`'s width) is listed, not a panic in the table printer.
    let ledger = d.path().join("out/ledger.jsonl");
    let text = std::fs::read_to_string(&ledger).unwrap();
    let mut entry: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let wide = "h".repeat(70_000);
    entry["head"] = wide.clone().into();
    std::fs::write(&ledger, format!("{text}{entry}\n")).unwrap();
    let run = moshead(d.path(), &["ledger", "--out", "out"]);
    let listing = run.ok();
    assert!(
        listing
            .lines()
            .nth(2)
            .is_some_and(|l| l.contains(&format!("  {wide}  "))),
        "{}",
        &listing[..listing.len().min(2000)]
    );
    let edits: [Edit<'_>; 4] = [
        (
            "wrapping member sum",
            &|m| {
                let member = |n: u64| {
                    serde_json::json!({"c": 1.0, "gamma": 0.1, "epsilon": 0.1, "n_support": n})
                };
                m["head"]["spec"]["svr"]["members"] =
                    Value::Array(vec![member(u64::MAX), member(k + 1)]);
            },
            &format!(
                "a mean of SVRs records {k} support vectors but its members more than the largest count"
            ),
        ),
        (
            "zero gamma",
            &|m| m["head"]["spec"]["svr"]["gamma"] = 0.0.into(),
            "SVR gamma 0 must be finite and > 0",
        ),
        (
            "negative gamma",
            &|m| m["head"]["spec"]["svr"]["gamma"] = (-2.0).into(),
            "SVR gamma -2 must be finite and > 0",
        ),
        (
            "nu-SVR without nu",
            &|m| {
                let s = &mut m["head"]["spec"]["svr"];
                s["svm_type"] = "nu".into();
                s.as_object_mut().unwrap().remove("nu");
            },
            "a nu-SVR without its `nu`",
        ),
    ];
    for (i, (name, edit, message)) in edits.iter().enumerate() {
        let mut bad = m.clone();
        edit(&mut bad);
        let dir = format!("bad{i}");
        std::fs::create_dir(d.path().join(&dir)).unwrap();
        let path = format!("{dir}/konvid_mos_head_v1.json");
        std::fs::write(d.path().join(&path), serde_json::to_vec(&bad).unwrap()).unwrap();
        for cmd in [
            ["predict", "--model", &path, "-i", "konvid-1k=rows.jsonl"],
            ["export", "--model", &path, "--out", "x"],
        ] {
            let run = moshead(d.path(), &cmd);
            assert_eq!(run.code, Some(1), "{name}, {}: {run}", cmd[0]);
            assert!(
                !run.stderr.contains("panicked") && run.stderr.contains(message),
                "{name}, {}: {run}",
                cmd[0]
            );
        }
    }
}

#[test]
fn an_svr_tolerance_no_solve_can_meet_is_refused_before_any_work() {
    // The doubtful `--svr-tol 1e-300`: every solve would run to its
    // 10-million-iteration cap.
    let cwd = tempfile::tempdir().unwrap();
    let run = moshead(
        cwd.path(),
        &[
            "train",
            "-a",
            "konvid",
            "-i",
            "konvid-1k=missing.jsonl",
            "--out",
            "out",
            "--head",
            "svr",
            "--svr-tol",
            "1e-300",
        ],
    );
    assert!(
        run.fails(1)
            .contains("SVR tolerance 1e-300 must be finite and at least 1e-9 (a smaller gap is rounding noise in the gradients: no solve meets it, and every one would run to its iteration cap)"),
        "{run}"
    );
    assert!(!cwd.path().join("out").exists());
}
