//! Support for the end-to-end tests: builds the real `moshead` binary and
//! plugins (a plain `cargo test` does not produce cdylib files), builds the
//! deliberately broken fixture plugins, and runs the CLI.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/parquet_writer.rs"]
pub mod parquet_writer;

use std::env::consts::{DLL_PREFIX, DLL_SUFFIX};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The target directory cargo uses for this workspace.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| if p.is_absolute() { p } else { root().join(p) })
        .unwrap_or_else(|| root().join("target"))
}

fn cargo() -> Command {
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    c.current_dir(root());
    c
}

fn run_cargo(mut c: Command, what: &str) {
    let out = c
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run cargo: {e}"));
    assert!(
        out.status.success(),
        "{what} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The profile directory the tests themselves were built in (`debug`).
fn profile() -> &'static str {
    if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    }
}

/// Builds `moshead` and the built-in plugins once per test process; returns
/// the binary.
pub fn moshead_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let mut c = cargo();
        c.args([
            "build", "-p", "moshead", "-p", "chug-hdr", "-p", "konvid", "-p", "study",
        ]);
        if profile() == "release" {
            c.arg("--release");
        }
        run_cargo(c, "building moshead and its plugins");
        target_dir()
            .join(profile())
            .join(format!("moshead{}", std::env::consts::EXE_SUFFIX))
    })
}

/// Builds `moshead-bench` (beside `moshead`, whose plugins it finds there)
/// once per test process; returns the binary.
pub fn bench_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let moshead = moshead_bin();
        let mut c = cargo();
        c.args(["build", "-p", "moshead-bench"]);
        if profile() == "release" {
            c.arg("--release");
        }
        run_cargo(c, "building moshead-bench");
        moshead.with_file_name(format!("moshead-bench{}", std::env::consts::EXE_SUFFIX))
    })
}

/// The file name of a library `name` on this platform.
pub fn lib_file(name: &str) -> String {
    format!("{DLL_PREFIX}{}{DLL_SUFFIX}", name.replace('-', "_"))
}

/// The directory holding the built-in plugins (beside the binary).
pub fn builtin_plugin(name: &str) -> PathBuf {
    moshead_bin().parent().unwrap().join(lib_file(name))
}

/// Builds the fixture plugins once; returns the path of fixture `name`
/// (e.g. `bad-api`).
pub fn fixture_lib(name: &str) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| build_fixtures("tests/fixtures/Cargo.toml", "fixture plugins"));
    let file = match name {
        // Named for the adapter it declares (plugins are found by file name).
        "bad-api" => "future-api",
        "dup-name" => "konvid",
        "not-plugin" => "fixture-not-plugin",
        other => other,
    };
    dir.join(lib_file(file))
}

/// Builds the compatibility fixtures (plugins of other API minors,
/// `tests/fixtures/compat`, a workspace of its own) once; returns the
/// library of adapter `name` (`api-next`, `api-1-0`).
pub fn compat_lib(name: &str) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        build_fixtures(
            "tests/fixtures/compat/Cargo.toml",
            "the compatibility fixture plugins",
        )
    });
    dir.join(lib_file(name))
}

/// Builds the separate workspace `manifest` (fixture plugins, compatibility
/// fixtures, the adapter template) into `target/fixtures`, one target
/// directory for all of them, so the dependencies they share are built
/// once; returns the directory of its libraries.
pub fn build_fixtures(manifest: &str, what: &str) -> PathBuf {
    let target = target_dir().join("fixtures");
    let mut c = cargo();
    c.args(["build", "--manifest-path", manifest, "--target-dir"])
        .arg(&target);
    run_cargo(c, &format!("building {what}"));
    target.join("debug")
}

/// A fresh directory holding copies of the given plugin files.
pub fn plugin_dir(libs: &[PathBuf]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for lib in libs {
        std::fs::copy(lib, dir.path().join(lib.file_name().unwrap())).unwrap();
    }
    dir
}

/// The result of one CLI run.
#[derive(Debug)]
pub struct Run {
    /// Exit code (`None` if killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Asserts success and returns stdout.
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, Some(0), "expected success:\n{self}");
        &self.stdout
    }

    /// Asserts exit code `code` and returns stderr.
    pub fn fails(&self, code: i32) -> &str {
        assert_eq!(self.code, Some(code), "expected exit {code}:\n{self}");
        &self.stderr
    }

    /// Parses stdout as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.ok())
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{self}"))
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// A `moshead` command with a hermetic environment (no user plugin
/// directories, no corpus overrides), run in `cwd`.
pub fn moshead_cmd(cwd: &Path) -> Command {
    moshead_cmd_of(moshead_bin(), cwd)
}

/// [`moshead_cmd`] with the binary at `bin` (a copy elsewhere finds the
/// plugins beside that copy instead of the built ones).
pub fn moshead_cmd_of(bin: &Path, cwd: &Path) -> Command {
    let mut c = Command::new(bin);
    c.current_dir(cwd);
    for var in [
        "MOSHEAD_PLUGIN_PATH",
        "VMAF_CHUG_DIR",
        "VMAF_CHUG_OUTPUT_DIR",
        "VMAF_KONVID_1K_DIR",
        "VMAF_KONVID_150K_DIR",
        "VMAF_KONVID_OUTPUT_DIR",
        "MOSHEAD_FIXTURE_PANIC",
    ] {
        c.env_remove(var);
    }
    c.env("XDG_DATA_HOME", cwd.join(".no-user-plugins"));
    c
}

/// Runs a prepared command.
pub fn run_cmd(mut c: Command) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = c.output().unwrap();
    Run {
        code: status.code(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// Runs `moshead args...` in `cwd`.
pub fn moshead(cwd: &Path, args: &[&str]) -> Run {
    let mut c = moshead_cmd(cwd);
    c.args(args);
    run_cmd(c)
}

/// How much longer than nominal the hang bounds of [`run_cmd_timeout`] are:
/// `MOSHEAD_TEST_TIME_SCALE` (a whole number, default 1) for a machine
/// slower or busier than any the nominal bounds allow for.
pub fn time_scale() -> u64 {
    std::env::var("MOSHEAD_TEST_TIME_SCALE")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|v| *v > 0)
        .unwrap_or(1)
}

/// Runs a prepared command, killing it and failing if it has not exited
/// after `secs` seconds (times [`time_scale`]): a hang is a failure, not a
/// stuck test run. The bound is a hang detector, never a speed test: pass
/// one many times what the command needs on a busy 2-core machine (a
/// command over small inputs that takes seconds gets minutes); its failure
/// names the command and what it waited for.
pub fn run_cmd_timeout(c: Command, secs: u64) -> Run {
    let what = format!("{c:?}");
    run_cmd_within(c, secs, &what)
}

/// [`run_cmd_timeout`], naming the case as `what` if it hangs.
pub fn run_cmd_within(mut c: Command, secs: u64, what: &str) -> Run {
    let secs = secs.saturating_mul(time_scale());
    use std::io::Read;
    use std::process::Stdio;
    let mut child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed().as_secs() >= secs {
            let _ = child.kill();
            panic!(
                "{what}: waited {secs} s for the command to exit, and it had not (a hang, or a machine slower than the bound allows: set MOSHEAD_TEST_TIME_SCALE to scale every bound): {c:?}"
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    Run {
        code: status.code(),
        stdout: String::from_utf8_lossy(&t_out.join().unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&t_err.join().unwrap()).into_owned(),
    }
}

/// Synthesises a chug-hdr corpus under `dir/corpus` with the CLI.
pub fn synth_chug(dir: &Path, rows: &str, seed: &str) {
    moshead(
        dir,
        &[
            "synth", "-a", "chug-hdr", "--rows", rows, "--seed", seed, "--out", "corpus",
        ],
    )
    .ok();
}

/// Trains chug-hdr on `dir/corpus/shards` into `dir/out`, with `extra`
/// flags, `--quiet` (one result line).
pub fn train_chug(dir: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["--quiet"];
    args.extend_from_slice(extra);
    train_chug_summary(dir, &args)
}

/// [`train_chug`] without `--quiet`: the whole summary, and progress.
pub fn train_chug_summary(dir: &Path, extra: &[&str]) -> Run {
    let mut args = vec![
        "train",
        "-a",
        "chug-hdr",
        "-i",
        "shards=corpus/shards",
        "--out",
        "out",
    ];
    args.extend_from_slice(extra);
    moshead(dir, &args)
}
pub mod libvmaf_tool;

/// Asserts that `text` contains every one of `needles`, naming the first
/// missing one and showing the text.
pub fn assert_contains(text: &str, needles: &[&str]) {
    for needle in needles {
        assert!(text.contains(needle), "missing {needle:?}:\n{text}");
    }
}
