//! Plugin trust, output locking and interrupted runs.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use moshead_e2e::*;
use sha2::Digest;

pub(crate) fn names(run: &Run) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(run.ok()).unwrap();
    v["adapters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_owned())
        .collect()
}

fn sha(path: &Path) -> String {
    sha2::Sha256::digest(std::fs::read(path).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn writable_plugin_directories_and_files_are_refused_unless_allowed() {
    let cwd = tempfile::tempdir().unwrap();
    let dir = plugin_dir(&[fixture_lib("panicky")]);
    let p = dir.path().to_str().unwrap();
    assert!(names(&moshead(
        cwd.path(),
        &["adapters", "--json", "--plugin-dir", p]
    ))
    .contains(&"panicky".to_owned()));

    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let run = moshead(cwd.path(), &["adapters", "--json", "--plugin-dir", p]);
    assert!(!names(&run).contains(&"panicky".to_owned()), "{run}");
    assert!(
        run.stderr.contains("writable by every user") && run.stderr.contains(p),
        "{run}"
    );
    let run = moshead(
        cwd.path(),
        &[
            "adapters",
            "--json",
            "--plugin-dir",
            p,
            "--allow-insecure-plugins",
        ],
    );
    assert!(names(&run).contains(&"panicky".to_owned()), "{run}");

    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let lib = dir.path().join(lib_file("panicky"));
    std::fs::set_permissions(&lib, std::fs::Permissions::from_mode(0o664)).unwrap();
    let run = moshead(cwd.path(), &["adapters", "--json", "--plugin-dir", p]);
    assert!(!names(&run).contains(&"panicky".to_owned()), "{run}");
    assert!(run.stderr.contains("writable by its group"), "{run}");
    std::fs::set_permissions(&lib, std::fs::Permissions::from_mode(0o644)).unwrap();

    // A file owned by another user (needs root to arrange).
    let chowned = std::process::Command::new("chown")
        .args(["12345", lib.to_str().unwrap()])
        .status();
    if chowned.is_ok_and(|s| s.success()) {
        let run = moshead(cwd.path(), &["adapters", "--json", "--plugin-dir", p]);
        assert!(run.stderr.contains("owned by uid 12345"), "{run}");
    }
}

#[test]
fn a_pin_file_refuses_plugins_whose_hash_differs() {
    let cwd = tempfile::tempdir().unwrap();
    let dir = plugin_dir(&[fixture_lib("panicky")]);
    let p = dir.path().to_str().unwrap();
    let lib = dir.path().join(lib_file("panicky"));
    // Pinned correctly: loads.
    std::fs::write(
        dir.path().join("moshead-plugins.lock"),
        format!("panicky 0.1.0 {}\n", sha(&lib)),
    )
    .unwrap();
    assert!(names(&moshead(
        cwd.path(),
        &["adapters", "--json", "--plugin-dir", p]
    ))
    .contains(&"panicky".to_owned()));
    // Pinned under another version: refused after loading the descriptor.
    std::fs::write(
        dir.path().join("moshead-plugins.lock"),
        format!("panicky 0.2.0 {}\n", sha(&lib)),
    )
    .unwrap();
    let run = moshead(cwd.path(), &["adapters", "--json", "--plugin-dir", p]);
    assert!(
        run.stderr.contains("pins this file as panicky 0.2.0"),
        "{run}"
    );
    // Not pinned (another hash): refused before loading.
    std::fs::write(
        dir.path().join("moshead-plugins.lock"),
        format!("panicky 0.1.0 {}\n", "0".repeat(64)),
    )
    .unwrap();
    let run = moshead(cwd.path(), &["adapters", "--json", "--plugin-dir", p]);
    assert!(!names(&run).contains(&"panicky".to_owned()));
    assert!(
        run.stderr.contains("is not pinned in") && run.stderr.contains("moshead-plugins.lock"),
        "{run}"
    );
    // A named pin file applies everywhere: the built-ins are refused too.
    let lock = cwd.path().join("only-konvid.lock");
    std::fs::write(
        &lock,
        format!("konvid 1.0.0 {}\n", sha(&builtin_plugin("konvid"))),
    )
    .unwrap();
    let run = moshead(
        cwd.path(),
        &[
            "adapters",
            "--json",
            "--plugin-lock",
            lock.to_str().unwrap(),
        ],
    );
    assert_eq!(names(&run), ["konvid"], "{run}");
    // A malformed pin file is an error with file and line.
    std::fs::write(&lock, "konvid 1.0.0\n").unwrap();
    let run = moshead(
        cwd.path(),
        &["adapters", "--plugin-lock", lock.to_str().unwrap()],
    );
    assert!(
        run.fails(1)
            .contains("only-konvid.lock:1: expected `name version sha256`"),
        "{run}"
    );
}

fn synth(cwd: &Path, rows: &str) {
    moshead(
        cwd,
        &[
            "synth", "-a", "konvid", "--rows", rows, "--seed", "3", "--out", "corpus",
        ],
    )
    .ok();
}

/// One command line for every run, so a run that finishes rewrites
/// byte-identical files (the manifest records its command line).
const TRAIN: [&str; 11] = [
    "train",
    "-a",
    "konvid",
    "-i",
    "konvid-1k=corpus/konvid-1k.jsonl",
    "--out",
    "out",
    "--quiet",
    "--validation",
    "kfold",
    "--force",
];

#[test]
fn a_second_run_into_a_locked_output_directory_is_refused() {
    let cwd = tempfile::tempdir().unwrap();
    synth(cwd.path(), "200");
    std::fs::create_dir_all(cwd.path().join("out")).unwrap();
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(cwd.path().join("out/.moshead.lock"))
        .unwrap();
    f.try_lock().unwrap();
    let run = moshead(cwd.path(), &TRAIN);
    assert!(
        run.fails(1)
            .contains("another moshead run is writing to out"),
        "{run}"
    );
    assert!(!cwd.path().join("out/konvid_mos_head_v1.json").exists());
    drop(f);
    moshead(cwd.path(), &TRAIN).ok();
    // `export` rewrites the manifest in place: it takes the same lock.
    let manifest = cwd.path().join("out/konvid_mos_head_v1.json");
    let before = std::fs::read(&manifest).unwrap();
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(cwd.path().join("out/.moshead.lock"))
        .unwrap();
    f.try_lock().unwrap();
    let export = ["export", "--model", "out/konvid_mos_head_v1.json"];
    let run = moshead(cwd.path(), &export);
    assert!(
        run.fails(1)
            .contains("another moshead run is writing to out"),
        "{run}"
    );
    assert_eq!(std::fs::read(&manifest).unwrap(), before);
    drop(f);
    moshead(cwd.path(), &export).ok();
}

/// `(name, sha256)` of every final file (not the ledger, not hidden files).
fn snapshot(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.') && n != "ledger.jsonl")
        .map(|n| (n.clone(), sha(&dir.join(&n))))
        .collect();
    files.sort();
    files
}

#[test]
fn killed_runs_leave_the_previous_outputs_intact() {
    let cwd = tempfile::tempdir().unwrap();
    synth(cwd.path(), "300");
    moshead(cwd.path(), &TRAIN).ok();
    let out = cwd.path().join("out");
    let before = snapshot(&out);
    assert!(before.iter().any(|(n, _)| n == "konvid_mos_head_v1.json"));
    for (i, delay_ms) in [0u64, 40, 120, 300, 600, 900, 1300, 2000]
        .into_iter()
        .enumerate()
    {
        let mut c = moshead_cmd(cwd.path());
        c.args(TRAIN);
        let mut child = c
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        if i % 2 == 0 {
            let _ = child.kill(); // SIGKILL
        } else {
            let _ = std::process::Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status();
        }
        let _ = child.wait();
        // Same inputs and seed: a finished run rewrites identical bytes, an
        // interrupted one leaves the previous files; never a partial file.
        assert_eq!(
            snapshot(&out),
            before,
            "after interrupting at {delay_ms} ms"
        );
        if let Ok(ledger) = std::fs::read_to_string(out.join("ledger.jsonl")) {
            for line in ledger.lines() {
                serde_json::from_str::<serde_json::Value>(line)
                    .unwrap_or_else(|e| panic!("torn ledger line {line:?}: {e}"));
            }
        }
    }
    // The next run cleans up temporaries of killed runs.
    moshead(cwd.path(), &TRAIN).ok();
    let leftovers: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_malformed_descriptor_is_refused_at_discovery_with_every_problem() {
    let cwd = tempfile::tempdir().unwrap();
    let dir = plugin_dir(&[fixture_lib("bad-descriptor")]);
    let p = dir.path().to_str().unwrap();
    let run = moshead(cwd.path(), &["adapters", "--json", "--plugin-dir", p]);
    assert!(!names(&run).contains(&"bad-descriptor".to_owned()), "{run}");
    for needle in [
        "refused: malformed descriptor",
        "version `1.0` is not semver",
        "input slot `rows` is declared twice",
        "schema `bad-v1` repeats column `adm2`",
    ] {
        assert!(run.stderr.contains(needle), "{needle}: {run}");
    }
    // A NaN threshold is refused by the plugin's own entry point (JSON cannot
    // carry it), and reported the same way.
    let mut c = moshead_cmd(cwd.path());
    c.args(["adapters", "--json", "--plugin-dir", p])
        .env("MOSHEAD_FIXTURE_BAD", "nan-gate");
    let run = run_cmd(c);
    assert!(!names(&run).contains(&"bad-descriptor".to_owned()), "{run}");
    assert!(run.stderr.contains(&lib_file("bad-descriptor")), "{run}");
    assert!(
        run.stderr.to_lowercase().contains("nan") || run.stderr.contains("not finite"),
        "{run}"
    );
}
