//! The output directory is moshead's only where it wrote: names read from a
//! manifest are never removed, a journal it did not write is never obeyed
//! (and read-only commands apply none), a wrong file type at an output
//! name is refused before the commit point, every file read by name is
//! checked for its type first (a FIFO or `/dev/zero` is an error, never a
//! hang or an endless read), and `predict --output` streams to special
//! files instead of replacing them.
//!
//! Every command runs under a generous timeout (600 s) that names the
//! case: a hang fails the test with its case, a slow machine does not.

use std::os::unix::ffi::OsStrExt as _;
use std::path::Path;

use moshead_e2e::*;

const ID: &str = "konvid_mos_head_v1";
const JOURNAL: &str = ".moshead-commit.json";
/// Far above any case's time on a busy 2-core machine; only a hang reaches it.
const HANG_SECS: u64 = 600;

fn synth(cwd: &Path) {
    moshead(
        cwd,
        &[
            "synth", "-a", "konvid", "--rows", "120", "--seed", "3", "--out", "corpus",
        ],
    )
    .ok();
}

const TRAIN: [&str; 14] = [
    "train",
    "-a",
    "konvid",
    "-i",
    "konvid-1k=corpus/konvid-1k.jsonl",
    "--quiet",
    "--validation",
    "kfold",
    "--folds",
    "2",
    "--max-iters",
    "20",
    "--head",
    "linear",
];

/// Runs `moshead args...` in `cwd` under [`HANG_SECS`], naming `case`.
fn run(cwd: &Path, case: &str, args: &[&str]) -> Run {
    let mut c = moshead_cmd(cwd);
    c.args(args);
    eprintln!("case: {case}");
    run_cmd_timeout(c, HANG_SECS)
}

fn train(cwd: &Path, case: &str, out: &str) -> Run {
    run(
        cwd,
        case,
        &[&TRAIN[..], &["--out", out, "--force"]].concat(),
    )
}

/// A trained model in `cwd/out`.
fn trained() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    synth(d.path());
    train(d.path(), "the first run", "out").ok();
    d
}

/// `(name, bytes)` of every entry of `dir` (directories as `dir/`; the
/// lock's content, the pid of its last holder, left out).
fn listing(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            let ft = e.file_type().unwrap();
            if n == ".moshead.lock" {
                (n, Vec::new())
            } else if ft.is_file() {
                (n, std::fs::read(e.path()).unwrap())
            } else {
                (format!("{n}/"), Vec::new())
            }
        })
        .collect();
    v.sort();
    v
}

fn mkfifo(p: &Path) {
    let made = std::process::Command::new("mkfifo").arg(p).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo {p:?}");
}

fn predict_args(model: &str) -> Vec<String> {
    [
        "predict",
        "--model",
        model,
        "-i",
        "konvid-1k=corpus/konvid-1k.jsonl",
        "--quiet",
    ]
    .map(String::from)
    .to_vec()
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn names_in_a_manifest_exports_are_never_removed() {
    let d = trained();
    let out = d.path().join("out");
    std::fs::write(out.join("notes.txt"), "mine\n").unwrap();
    std::fs::create_dir(out.join("figures")).unwrap();
    let ledger = std::fs::read(out.join("ledger.jsonl")).unwrap();
    let path = out.join(format!("{ID}.json"));
    let mut m: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    for (key, name) in [
        ("notes", "notes.txt"),
        ("ledger", "ledger.jsonl"),
        ("figures", "figures"),
    ] {
        m["exports"][key] = serde_json::json!({"path": name, "sha256": "00"});
    }
    std::fs::write(&path, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
    let model = format!("out/{ID}.json");
    run(
        d.path(),
        "export of a hostile manifest",
        &["export", "--model", &model, "--quiet"],
    )
    .ok();
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let keys: Vec<&String> = written["exports"].as_object().unwrap().keys().collect();
    assert!(
        keys.iter()
            .all(|k| ["onnx", "vmaf", "validation_predictions"].contains(&k.as_str())),
        "{keys:?}"
    );
    // And the next run, over that manifest's directory.
    std::fs::write(&path, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
    train(d.path(), "train --force over a hostile manifest", "out").ok();
    assert_eq!(
        std::fs::read_to_string(out.join("notes.txt")).unwrap(),
        "mine\n"
    );
    assert!(out.join("figures").is_dir());
    let now = std::fs::read(out.join("ledger.jsonl")).unwrap();
    assert!(now.starts_with(&ledger), "the ledger kept its lines");
    assert_eq!(
        String::from_utf8_lossy(&now).lines().count(),
        String::from_utf8_lossy(&ledger).lines().count() + 1
    );
}

#[test]
fn a_directory_at_any_output_name_is_refused_before_the_commit_point() {
    let d = trained();
    let out = d.path().join("out");
    let names: Vec<String> = listing(&out)
        .into_iter()
        .map(|(n, _)| n)
        .filter(|n| n.starts_with(ID))
        .collect();
    assert!(names.len() >= 5, "{names:?}");
    for name in &names {
        std::fs::remove_file(out.join(name)).unwrap();
        std::fs::create_dir(out.join(name)).unwrap();
        let before = listing(&out);
        let case = format!("a directory at {name}");
        let r = train(d.path(), &case, "out");
        let err = r.fails(1);
        assert!(
            err.contains(&format!(
                "out/{name}: is a directory, not a regular file; moshead replaces only regular files; nothing in out was changed"
            )),
            "{case}: {r}"
        );
        assert_eq!(listing(&out), before, "{case}");
        assert!(!out.join(JOURNAL).exists(), "{case}");
        // The directory stays usable by every command.
        if name != &format!("{ID}.json") {
            let model = format!("out/{ID}.json");
            run(d.path(), &case, &strs(&predict_args(&model))).ok();
        }
        run(d.path(), &case, &["ledger", "--out", "out"]).ok();
        std::fs::remove_dir(out.join(name)).unwrap();
        train(d.path(), &case, "out").ok();
    }
}

/// A journal written by someone else, in a directory a read-only command
/// opens, and then in one `train` writes into.
#[test]
fn a_planted_journal_is_never_obeyed() {
    let d = trained();
    let out = d.path().join("out");
    std::fs::write(out.join("notes.txt"), "mine\n").unwrap();
    let model = format!("out/{ID}.json");
    let journals = [
        serde_json::json!({"journal": "moshead-commit-v1", "files": [],
            "remove": ["notes.txt", "ledger.jsonl"],
            "append": [{"file": "notes.txt", "line": "owned", "at": 0}]}),
        serde_json::json!({"journal": "moshead-commit-v2", "id": ID,
            "files": [{"name": format!("{ID}.json"), "staged": format!(".{ID}.json.tmp-moshead-1-0"), "sha256": "0".repeat(64)}],
            "remove": ["notes.txt"], "append": []}),
    ];
    for (i, j) in journals.iter().enumerate() {
        std::fs::write(out.join(JOURNAL), j.to_string()).unwrap();
        let before = listing(&out);
        let pm = predict_args(&model);
        let validate = [
            "validate",
            "--model",
            &model,
            "-i",
            "konvid-1k=corpus/konvid-1k.jsonl",
            "--quiet",
        ];
        for (what, args) in [
            ("predict", strs(&pm)),
            ("validate", validate.to_vec()),
            ("ledger", vec!["ledger", "--out", "out"]),
        ] {
            let case = format!("journal {i}, {what}");
            let r = run(d.path(), &case, &args);
            let err = r.fails(1);
            assert!(
                err.contains("out holds a commit that was decided but not applied (journal .moshead-commit.json); read-only commands (predict, validate, ledger) never apply one: the next `moshead train` or `moshead export` writing into it completes the commit"),
                "{case}: {r}"
            );
            assert_eq!(listing(&out), before, "{case}");
        }
        let case = format!("journal {i}, train");
        let r = train(d.path(), &case, "out");
        let err = r.fails(1);
        assert!(
            err.contains("out/.moshead-commit.json: not a moshead commit journal")
                && err.contains(
                    "nothing in out was changed (remove the file if it is not moshead's)"
                ),
            "{case}: {r}"
        );
        assert_eq!(listing(&out), before, "{case}");
    }
}

#[test]
fn special_files_at_paths_read_are_refused_without_a_wait() {
    let d = trained();
    let out = d.path().join("out");
    let model = format!("out/{ID}.json");
    let exported = |case: &str| {
        run(
            d.path(),
            case,
            &["export", "--model", &model, "--out", "exp"],
        )
    };
    let sidecar = out.join(format!("{ID}_validation.jsonl"));
    let saved = std::fs::read(&sidecar).unwrap();
    let fifo_msg = "is a FIFO (named pipe), not a regular file; moshead reads only regular files";
    let dev_msg = "is a character device, not a regular file; moshead reads only regular files";
    // The validation sidecar read by `export`.
    std::fs::remove_file(&sidecar).unwrap();
    mkfifo(&sidecar);
    let r = exported("the sidecar as a FIFO");
    assert!(
        r.fails(1)
            .contains(&format!("{ID}_validation.jsonl: {fifo_msg}")),
        "{r}"
    );
    std::fs::remove_file(&sidecar).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &sidecar).unwrap();
    let r = exported("the sidecar as a link to /dev/zero");
    assert!(
        r.fails(1)
            .contains(&format!("{ID}_validation.jsonl: {dev_msg}")),
        "{r}"
    );
    std::fs::remove_file(&sidecar).unwrap();
    std::fs::write(&sidecar, &saved).unwrap();
    // `--model` itself.
    mkfifo(&d.path().join("model.fifo"));
    let r = run(
        d.path(),
        "--model a FIFO",
        &strs(&predict_args("model.fifo")),
    );
    assert!(
        r.fails(1).contains(&format!("model.fifo: {fifo_msg}")),
        "{r}"
    );
    let r = run(
        d.path(),
        "--model /dev/zero",
        &strs(&predict_args("/dev/zero")),
    );
    assert!(r.fails(1).contains(&format!("/dev/zero: {dev_msg}")), "{r}");
    // The plugin lock.
    for (case, lock, msg) in [
        ("--plugin-lock a FIFO", "model.fifo", fifo_msg),
        ("--plugin-lock /dev/zero", "/dev/zero", dev_msg),
    ] {
        let r = run(d.path(), case, &["--plugin-lock", lock, "adapters"]);
        assert!(
            r.fails(1).contains(&format!("{lock}: {msg}")),
            "{case}: {r}"
        );
    }
    // The manifest a `train --force` replaces: refused, the lock released.
    let manifest = out.join(format!("{ID}.json"));
    let saved = std::fs::read(&manifest).unwrap();
    std::fs::remove_file(&manifest).unwrap();
    mkfifo(&manifest);
    let r = train(d.path(), "the manifest as a FIFO", "out");
    assert!(
        r.fails(1).contains(&format!(
            "out/{ID}.json: is a FIFO (named pipe), not a regular file; moshead replaces only regular files; nothing in out was changed"
        )),
        "{r}"
    );
    std::fs::remove_file(&manifest).unwrap();
    std::fs::write(&manifest, &saved).unwrap();
    // The ledger: a FIFO, and a link (which writes refuse too).
    let ledger = out.join("ledger.jsonl");
    let saved = std::fs::read(&ledger).unwrap();
    std::fs::remove_file(&ledger).unwrap();
    mkfifo(&ledger);
    let r = run(
        d.path(),
        "the ledger as a FIFO",
        &["ledger", "--out", "out"],
    );
    assert!(
        r.fails(1)
            .contains(&format!("out/ledger.jsonl: {fifo_msg}")),
        "{r}"
    );
    std::fs::remove_file(&ledger).unwrap();
    std::fs::write(d.path().join("elsewhere.jsonl"), &saved).unwrap();
    std::os::unix::fs::symlink("../elsewhere.jsonl", &ledger).unwrap();
    let r = run(
        d.path(),
        "the ledger as a link",
        &["ledger", "--out", "out"],
    );
    assert!(
        r.fails(1).contains("out/ledger.jsonl: is a symbolic link; moshead reads its own files only as it writes them, never through links (remove it)"),
        "{r}"
    );
    std::fs::remove_file(&ledger).unwrap();
    std::fs::write(&ledger, &saved).unwrap();
    // The journal.
    mkfifo(&out.join(JOURNAL));
    let r = train(d.path(), "the journal as a FIFO", "out");
    assert!(
        r.fails(1)
            .contains("is a FIFO (named pipe), not moshead's commit journal"),
        "{r}"
    );
    std::fs::remove_file(out.join(JOURNAL)).unwrap();
    train(d.path(), "after the special files", "out").ok();
}

#[test]
fn a_manifest_with_a_byte_order_mark_is_refused_naming_it() {
    let d = trained();
    let mut bytes = "\u{feff}".as_bytes().to_vec();
    bytes.extend(std::fs::read(d.path().join(format!("out/{ID}.json"))).unwrap());
    std::fs::write(d.path().join("bom.json"), bytes).unwrap();
    let r = run(d.path(), "a BOM", &strs(&predict_args("bom.json")));
    assert!(
        r.fails(1).contains("bom.json: starts with a UTF-8 byte-order mark (BOM), which JSON does not allow; save the file without it"),
        "{r}"
    );
}

#[test]
fn a_non_utf8_out_is_recorded_lossily() {
    let d = tempfile::tempdir().unwrap();
    synth(d.path());
    let out = std::ffi::OsStr::from_bytes(b"out-\xff");
    let mut c = moshead_cmd(d.path());
    c.args(TRAIN).arg("--out").arg(out);
    eprintln!("case: a non-UTF-8 --out");
    let r = run_cmd_timeout(c, HANG_SECS);
    assert!(!r.stderr.contains("panicked"), "{r}");
    r.ok();
    let dir = d.path().join(out);
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join(format!("{ID}.json"))).unwrap()).unwrap();
    let line: Vec<&str> = m["command_line"]
        .as_array()
        .unwrap_or_else(|| panic!("no command line in {m}"))
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(line.contains(&"out-\u{fffd}"), "{line:?}");
}

/// `--output`: `-` is standard output; a FIFO, a character device and
/// `/dev/stdout` are written as streams and stay what they were; a link
/// to a regular file, a directory are refused and left alone.
#[test]
fn predict_output_streams_to_special_files_and_never_replaces_them() {
    let d = trained();
    let model = format!("out/{ID}.json");
    let base = predict_args(&model);
    let expected = run(d.path(), "stdout", &strs(&base)).ok().to_owned();
    assert!(!expected.is_empty());
    let with = |out: &str| -> Vec<String> {
        let mut v = base.clone();
        v.extend(["--output".to_owned(), out.to_owned()]);
        v
    };
    assert_eq!(
        run(d.path(), "--output -", &strs(&with("-"))).ok(),
        expected
    );
    assert!(!d.path().join("-").exists());
    // /dev/null: written to, still the device.
    run(d.path(), "--output /dev/null", &strs(&with("/dev/null"))).ok();
    use std::os::unix::fs::FileTypeExt as _;
    let ft = std::fs::symlink_metadata("/dev/null").unwrap().file_type();
    assert!(ft.is_char_device());
    // /dev/stdout, a pipe here.
    assert_eq!(
        run(
            d.path(),
            "--output /dev/stdout",
            &strs(&with("/dev/stdout"))
        )
        .ok(),
        expected
    );
    // A FIFO, read by another thread.
    let fifo = d.path().join("preds.fifo");
    mkfifo(&fifo);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    run(d.path(), "--output a FIFO", &strs(&with("preds.fifo"))).ok();
    assert_eq!(reader.join().unwrap(), expected);
    let ft = std::fs::symlink_metadata(&fifo).unwrap().file_type();
    assert!(ft.is_fifo());
    // `>(cmd)`: a descriptor path to a pipe.
    let bin = moshead_bin().to_str().unwrap().to_owned();
    let script = format!(
        "'{bin}' {} --output >(cat > got.jsonl); wait $!",
        strs(&base).join(" ")
    );
    let mut c = std::process::Command::new("bash");
    c.current_dir(d.path())
        .env("XDG_DATA_HOME", d.path().join(".no-user-plugins"))
        .args(["-c", &script]);
    eprintln!("case: --output >(cat)");
    run_cmd_timeout(c, HANG_SECS).ok();
    assert_eq!(
        std::fs::read_to_string(d.path().join("got.jsonl")).unwrap(),
        expected
    );
    // Refused, nothing changed: a link to a regular file, a directory.
    std::fs::write(d.path().join("target.txt"), "keep").unwrap();
    std::os::unix::fs::symlink("target.txt", d.path().join("link.txt")).unwrap();
    let r = run(d.path(), "--output a link", &strs(&with("link.txt")));
    assert!(
        r.fails(1).contains("--output link.txt is a symbolic link to a regular file; moshead writes predictions to a regular file"),
        "{r}"
    );
    assert_eq!(
        std::fs::read_to_string(d.path().join("target.txt")).unwrap(),
        "keep"
    );
    assert!(std::fs::symlink_metadata(d.path().join("link.txt"))
        .unwrap()
        .is_symlink());
    std::fs::create_dir(d.path().join("dir.out")).unwrap();
    let r = run(d.path(), "--output a directory", &strs(&with("dir.out")));
    assert!(
        r.fails(1).contains("--output dir.out is a directory;"),
        "{r}"
    );
}

/// A run that fails for a full disk, into a directory it created, leaves
/// nothing behind (no empty ledger, no lock, no directory), as its message
/// says.
#[test]
fn a_full_disk_on_a_new_out_leaves_nothing() {
    let d = tempfile::tempdir().unwrap();
    synth(d.path());
    let Some(_fs) = crate::outputs::Tmpfs::mount(&d.path().join("fs"), "1m") else {
        eprintln!("SKIPPED: cannot mount a tmpfs here (needs root); the ENOSPC case is not run");
        return;
    };
    crate::outputs::fill_to(&d.path().join("fs"), 0);
    let r = train(d.path(), "a full disk, a new --out", "fs/new/out");
    let err = r.fails(1);
    assert!(
        err.contains("No space left on device")
            && err.contains("nothing in fs/new/out was changed"),
        "{r}"
    );
    assert!(!d.path().join("fs/new").exists(), "{r}");
}
