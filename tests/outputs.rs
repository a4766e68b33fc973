//! The output directory: nothing written outside it, nothing written
//! through a link, one run's complete set after any interruption (a kill
//! loop, a full disk), and only moshead's own temporaries cleaned.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use moshead_e2e::*;
use sha2::Digest;

const ID: &str = "konvid_mos_head_v1";

fn sha(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
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

/// A small, fast run (two folds, 20 iterations) with `head`; the same
/// arguments give byte-identical files.
fn train_args(head: &str) -> Vec<String> {
    [
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
        "--folds",
        "2",
        "--max-iters",
        "20",
        "--force",
        "--head",
        head,
    ]
    .map(String::from)
    .to_vec()
}

fn train(cwd: &Path, head: &str) -> Run {
    let mut c = moshead_cmd(cwd);
    c.args(train_args(head));
    run_cmd(c)
}

/// `(name, sha256)` of every file of the set (not hidden files, not the
/// ledger, not `keep`).
fn snapshot(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.') && n != "ledger.jsonl" && n != "keep")
        .map(|n| (n.clone(), sha(&std::fs::read(dir.join(&n)).unwrap())))
        .collect();
    files.sort();
    files
}

fn ledger_lines(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("ledger.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("torn ledger line {l:?}: {e}")))
        .collect()
}

/// The set is one of `sets`, and the ledger's last line is the run that
/// wrote it (its manifest sha256).
fn assert_one_set(dir: &Path, sets: &[&Vec<(String, String)>], when: &str) {
    let now = snapshot(dir);
    assert!(
        sets.iter().any(|s| **s == now),
        "{when}: the directory holds a mix: {now:#?}"
    );
    let manifest = now
        .iter()
        .find(|(n, _)| *n == format!("{ID}.json"))
        .map(|(_, h)| h.clone())
        .unwrap();
    let lines = ledger_lines(dir);
    let last = lines.last().unwrap();
    let tail: Vec<String> = lines
        .iter()
        .rev()
        .take(4)
        .map(|l| {
            format!(
                "{} {} {}",
                l["recorded_at"], l["head"], l["manifest_sha256"]
            )
        })
        .collect();
    assert_eq!(
        last["manifest_sha256"],
        manifest.as_str(),
        "{when}: {tail:#?} {now:#?}"
    );
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Kills that must land inside a run for the SIGKILL loop to count: a
/// tenth of the 200 aimed, which even a machine whose load swings by a
/// factor of ten reaches (half the instants fall uniformly within a run's
/// estimated length, an estimate that shrinks after every miss).
const MIN_LANDED_KILLS: u64 = 20;

#[test]
fn sigkill_at_random_instants_leaves_one_runs_complete_set() {
    let cwd = tempfile::tempdir().unwrap();
    synth(cwd.path(), "200");
    let out = cwd.path().join("out");
    let t0 = Instant::now();
    train(cwd.path(), "linear").ok();
    let linear = snapshot(&out);
    let t_linear = t0.elapsed();
    let t0 = Instant::now();
    train(cwd.path(), "mlp").ok();
    let mlp = snapshot(&out);
    let t_mlp = t0.elapsed();
    assert_ne!(linear, mlp);
    let mut rng = Rng(20260508);
    // A run's length is re-estimated as the loop goes: a run that finished
    // before its instant shortens the estimate, so the instants keep
    // landing inside runs however the machine's load changes.
    let mut span_of = [t_linear.as_micros() as u64, t_mlp.as_micros() as u64];
    // 200 kills are aimed; how many land inside a run depends on how the
    // machine's load changes run lengths, so the assertion below asks only
    // that the loop was not vacuous (every instant, landed or not, is
    // checked to leave one complete set).
    let (mut pending, mut kills) = (0, 0);
    let mut i = 0u64;
    while kills < 200 && i < 400 {
        i += 1;
        let h = (i % 2) as usize;
        let head = ["linear", "mlp"][h];
        // Half the instants anywhere in the run, half in its last fifth
        // (where the files are written and committed).
        let span = span_of[h].max(1);
        let at = if i % 4 < 2 {
            rng.below(span)
        } else {
            span * 4 / 5 + rng.below(span / 4)
        };
        let mut c = moshead_cmd(cwd.path());
        c.args(train_args(head))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let mut child = c.spawn().unwrap();
        std::thread::sleep(Duration::from_micros(at));
        if child.try_wait().unwrap().is_none() {
            kills += 1;
        } else {
            span_of[h] = span_of[h] * 9 / 10;
        }
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let when = format!("run {i} ({head}) killed at {at} us");
        if out.join(".moshead-commit.json").exists() {
            // Decided but not applied: a read-only command reports it and
            // leaves it; the next command writing there completes it.
            pending += 1;
            let run = moshead(cwd.path(), &["ledger", "--out", "out", "--json"]);
            assert!(
                run.fails(1)
                    .contains("holds a commit that was decided but not applied"),
                "{when}: {run}"
            );
            assert!(out.join(".moshead-commit.json").exists(), "{when}");
            let model = format!("out/{ID}.json");
            moshead(cwd.path(), &["export", "--model", &model, "--quiet"]).ok();
            assert!(!out.join(".moshead-commit.json").exists(), "{when}");
        }
        assert_one_set(&out, &[&linear, &mlp], &when);
    }
    eprintln!("{kills} SIGKILLs during a run; {pending} left a decided commit to complete");
    assert!(
        kills >= MIN_LANDED_KILLS,
        "only {kills} of {i} kills landed during a run (at least {MIN_LANDED_KILLS} wanted: half the instants fall uniformly within a run's estimated length, an estimate that shrinks after every miss)"
    );
    // The next run removes the temporaries of the killed ones.
    train(cwd.path(), "mlp").ok();
    let left: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    assert_one_set(&out, &[&mlp], "after a clean run");
}

/// A tmpfs mounted on a directory, unmounted on drop.
pub(crate) struct Tmpfs(PathBuf);

impl Tmpfs {
    pub(crate) fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(dir.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// Fills `dir` with `.filler` until at most `free` bytes are left.
pub(crate) fn fill_to(dir: &Path, free: u64) {
    let filler = dir.join(".filler");
    let _ = std::fs::remove_file(&filler);
    let mut f = std::fs::File::create(&filler).unwrap();
    let block = vec![0u8; 4096];
    // Statvfs-free: write until ENOSPC, then give back `free` bytes.
    use std::io::Write;
    let mut written = 0u64;
    while f.write_all(&block).is_ok() {
        written += block.len() as u64;
    }
    drop(f);
    let keep = written.saturating_sub(free);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&filler)
        .unwrap()
        .set_len(keep)
        .unwrap();
}

#[test]
fn a_full_disk_leaves_the_previous_set_and_says_so_once() {
    let cwd = tempfile::tempdir().unwrap();
    synth(cwd.path(), "200");
    let out = cwd.path().join("out");
    let Some(_fs) = Tmpfs::mount(&out, "2m") else {
        eprintln!("SKIPPED: cannot mount a tmpfs here (needs root); the ENOSPC case is not run");
        return;
    };
    // The reference sets, in a directory with room.
    let roomy = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(roomy.path().join("corpus")).unwrap();
    std::fs::copy(
        cwd.path().join("corpus/konvid-1k.jsonl"),
        roomy.path().join("corpus/konvid-1k.jsonl"),
    )
    .unwrap();
    train(roomy.path(), "mlp").ok();
    let mlp = snapshot(&roomy.path().join("out"));
    train(roomy.path(), "linear").ok();
    let linear = snapshot(&roomy.path().join("out"));

    train(cwd.path(), "mlp").ok();
    assert_eq!(snapshot(&out), mlp);
    let (mut refused, mut done) = (0, 0);
    for free in [
        0u64,
        4 << 10,
        24 << 10,
        64 << 10,
        100 << 10,
        140 << 10,
        1 << 20,
    ] {
        fill_to(&out, free);
        let run = train(cwd.path(), "linear");
        if run.code == Some(0) {
            done += 1;
            assert_eq!(snapshot(&out), linear, "{free} bytes free");
            // Back to the mlp set for the next step.
            std::fs::remove_file(out.join(".filler")).unwrap();
            train(cwd.path(), "mlp").ok();
            continue;
        }
        refused += 1;
        let err = run.fails(1);
        assert_eq!(
            err.matches("No space left on device (os error 28)").count(),
            1,
            "{free} bytes free: {run}"
        );
        assert!(err.contains("nothing in out was changed"), "{run}");
        assert_eq!(snapshot(&out), mlp, "{free} bytes free");
        let hidden: Vec<String> = std::fs::read_dir(&out)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.') && n != ".filler" && n != ".moshead.lock")
            .collect();
        assert!(hidden.is_empty(), "{free} bytes free: {hidden:?}");
    }
    assert!(refused >= 3 && done >= 1, "{refused} refused, {done} done");
}

#[test]
fn links_in_the_output_directory_are_never_written_through() {
    let cwd = tempfile::tempdir().unwrap();
    synth(cwd.path(), "200");
    let out = cwd.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let victim = cwd.path().join("victim");
    let reset = || std::fs::write(&victim, "precious\n").unwrap();
    reset();
    let link = |name: &str| {
        let p = out.join(name);
        let _ = std::fs::remove_file(&p);
        std::os::unix::fs::symlink(&victim, &p).unwrap();
        p
    };
    // The lock and the ledger: refused, naming the link; the target intact.
    for name in [".moshead.lock", "ledger.jsonl"] {
        let p = link(name);
        let run = train(cwd.path(), "linear");
        let err = run.fails(1);
        assert!(
            err.contains(&format!("out/{name}")) && err.contains("is a symbolic link"),
            "{name}: {run}"
        );
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
        std::fs::remove_file(p).unwrap();
    }
    train(cwd.path(), "linear").ok();
    // The journal: a link there is refused, never followed.
    let p = link(".moshead-commit.json");
    let err = train(cwd.path(), "linear").fails(1).to_owned();
    assert!(err.contains("not moshead's commit journal"), "{err}");
    std::fs::remove_file(p).unwrap();
    // Every file of the set: a link there is replaced, its target untouched.
    let names: Vec<String> = snapshot(&out).into_iter().map(|(n, _)| n).collect();
    assert!(names.len() >= 5, "{names:?}");
    for n in &names {
        link(n);
    }
    train(cwd.path(), "linear").ok();
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    for n in &names {
        let m = std::fs::symlink_metadata(out.join(n)).unwrap();
        assert!(m.file_type().is_file(), "{n}");
    }
    // `export` takes the same lock.
    let model = format!("out/{ID}.json");
    let p = link(".moshead.lock");
    let run = moshead(cwd.path(), &["export", "--model", &model]);
    assert!(run.fails(1).contains("is a symbolic link"), "{run}");
    std::fs::remove_file(p).unwrap();
    // `synth` into a directory whose shard file is a link.
    std::fs::remove_file(cwd.path().join("corpus/konvid-1k.jsonl")).unwrap();
    std::os::unix::fs::symlink(&victim, cwd.path().join("corpus/konvid-1k.jsonl")).unwrap();
    let _ = moshead(
        cwd.path(),
        &[
            "synth", "-a", "konvid", "--rows", "20", "--out", "corpus", "--force",
        ],
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
}

#[test]
fn only_moshead_temporaries_are_cleaned() {
    let cwd = tempfile::tempdir().unwrap();
    synth(cwd.path(), "200");
    let out = cwd.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let theirs = [".thesis.tmp-draft", ".notes.md.tmp-123", "keep"];
    for n in theirs {
        std::fs::write(out.join(n), "mine").unwrap();
    }
    // A temporary of a moshead process that no longer runs.
    let stale = format!(".{ID}.onnx.tmp-moshead-2147483647-0");
    std::fs::write(out.join(&stale), "stale").unwrap();
    train(cwd.path(), "linear").ok();
    for n in theirs {
        assert_eq!(std::fs::read_to_string(out.join(n)).unwrap(), "mine", "{n}");
    }
    assert!(!out.join(&stale).exists());
}

fn manifest_with_id(cwd: &Path, id: &str) -> PathBuf {
    let text = std::fs::read_to_string(cwd.join(format!("out/{ID}.json"))).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["id"] = id.into();
    let p = cwd.join("edited.json");
    std::fs::write(&p, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    p
}

#[test]
fn export_writes_only_into_out_and_needs_force_over_another_model() {
    let cwd = tempfile::tempdir().unwrap();
    synth(cwd.path(), "200");
    train(cwd.path(), "linear").ok();
    let outside = cwd.path().join("elsewhere");
    std::fs::create_dir_all(&outside).unwrap();
    for id in [
        outside.join("x").to_str().unwrap().to_owned(),
        "../elsewhere/x".to_owned(),
        "a\nb".to_owned(),
        "x".repeat(300),
    ] {
        let m = manifest_with_id(cwd.path(), &id);
        let run = moshead(
            cwd.path(),
            &["export", "--model", m.to_str().unwrap(), "--out", "exp"],
        );
        let err = run.fails(1);
        assert!(
            err.contains("edited.json") && err.contains("`id`: model id"),
            "{run}"
        );
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0, "{id:?}");
        assert!(!cwd.path().join("exp").join(format!("{ID}.json")).exists());
    }
    // Another model's manifest in --out: refused without --force.
    let model = format!("out/{ID}.json");
    moshead(cwd.path(), &["export", "--model", &model, "--out", "exp"]).ok();
    // Re-exporting the same model there is not "another model".
    moshead(cwd.path(), &["export", "--model", &model, "--out", "exp"]).ok();
    train(cwd.path(), "mlp").ok();
    let before = snapshot(&cwd.path().join("exp"));
    let run = moshead(cwd.path(), &["export", "--model", &model, "--out", "exp"]);
    assert!(
        run.fails(1).contains(
            "holds another model's manifest (not out/konvid_mos_head_v1.json); pass --force"
        ),
        "{run}"
    );
    assert_eq!(snapshot(&cwd.path().join("exp")), before);
    moshead(
        cwd.path(),
        &["export", "--model", &model, "--out", "exp", "--force"],
    )
    .ok();
    assert_eq!(
        snapshot(&cwd.path().join("exp")),
        snapshot(&cwd.path().join("out"))
    );
}
