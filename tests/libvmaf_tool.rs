//! Stock libvmaf for the tests: the `vmaf` tool built from libvmaf 2.3.1's
//! C sources, once per machine, cached under `target/libvmaf-2.3.1/`.
//!
//! The sources come from the registry package `libvmaf-sys` 0.4.4 (which
//! vendors them): `cargo fetch` on `tests/libvmaf-src/Cargo.toml` downloads
//! it without building it, and only its `vmaf/libvmaf` directory (C,
//! BSD-2-Clause-Patent) is used. meson and ninja are taken from `PATH`
//! (Debian: `meson`, `ninja-build`) or, where missing, installed from PyPI
//! into a private virtual environment beside the build; nasm is optional
//! (the asm paths are disabled without it). A machine with no C compiler or
//! no Python gets one message naming what is missing. Concurrent test
//! processes build under a file lock; a finished build is marked by a stamp
//! file, so a warm run only checks that the tool is there.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::{root, target_dir};

/// The libvmaf version the tests build.
pub const VERSION: &str = "2.3.1";

/// meson and ninja from PyPI, where the machine has none.
const PYPI: [&str; 2] = ["meson==1.12.1", "ninja==1.13.2"];

/// The `vmaf` tool, built on first use. Panics with a clear message when it
/// cannot be built (what is missing, or the build log's tail).
pub fn vmaf_tool() -> &'static Path {
    static TOOL: OnceLock<PathBuf> = OnceLock::new();
    TOOL.get_or_init(|| build().unwrap_or_else(|e| panic!("stock libvmaf {VERSION}: {e}")))
}

/// The directory of libvmaf's own models (`vmaf_v0.6.1.json`, ...).
pub fn model_dir() -> PathBuf {
    sources().unwrap().parent().unwrap().join("model")
}

fn work_dir() -> PathBuf {
    target_dir().join(format!("libvmaf-{VERSION}"))
}

fn build() -> Result<PathBuf, String> {
    let dir = work_dir();
    let tool = dir.join("build").join("tools").join("vmaf");
    let stamp = dir.join("built.stamp");
    if stamp.exists() && tool.exists() {
        return Ok(tool);
    }
    fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let lock = File::create(dir.join(".lock")).map_err(|e| format!("lock file: {e}"))?;
    lock.lock()
        .map_err(|e| format!("cannot lock {}: {e}", dir.display()))?;
    // Another process may have built it while this one waited.
    if stamp.exists() && tool.exists() {
        return Ok(tool);
    }
    let missing = missing_tools();
    if !missing.is_empty() {
        return Err(format!(
            "building it for the tests needs {}, which this machine lacks (Debian: apt-get install {})",
            missing.iter().map(|(what, _)| *what).collect::<Vec<_>>().join(" and "),
            missing.iter().map(|(_, pkg)| *pkg).collect::<Vec<_>>().join(" ")
        ));
    }
    let src = sources()?;
    let (meson, ninja) = meson_ninja(&dir)?;
    let build = dir.join("build");
    if build.exists() {
        // A half-finished build of an interrupted run: start over.
        fs::remove_dir_all(&build).map_err(|e| format!("{}: {e}", build.display()))?;
    }
    let mut setup = Command::new(&meson);
    setup.arg("setup").arg(&build).arg(&src).args([
        "--buildtype",
        "release",
        "-Denable_tests=false",
        "-Denable_docs=false",
    ]);
    if !works("nasm", &["-v"]) {
        setup.arg("-Denable_asm=false");
    }
    if let Some(bin) = ninja.parent() {
        setup.env("PATH", prepend_path(bin));
    }
    run(setup, &dir.join("meson-setup.log"), "meson setup")?;
    let mut compile = Command::new(&ninja);
    compile.arg("-C").arg(&build);
    run(compile, &dir.join("ninja.log"), "ninja")?;
    if !tool.exists() {
        return Err(format!("the build finished without {}", tool.display()));
    }
    fs::write(
        &stamp,
        format!("libvmaf {VERSION} from {}\n", src.display()),
    )
    .map_err(|e| format!("{}: {e}", stamp.display()))?;
    Ok(tool)
}

/// The C compiler and Python, when absent, with their Debian packages.
fn missing_tools() -> Vec<(&'static str, &'static str)> {
    let mut out = Vec::new();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    if !works(&cc, &["--version"]) {
        out.push(("a C compiler (`cc`)", "gcc"));
    }
    if !has_meson_ninja() && !works("python3", &["-m", "venv", "--help"]) {
        out.push((
            "Python 3 with venv (for meson and ninja from PyPI)",
            "python3-venv",
        ));
    }
    out
}

fn works(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

fn has_meson_ninja() -> bool {
    works("meson", &["--version"]) && works("ninja", &["--version"])
}

fn prepend_path(dir: &Path) -> std::ffi::OsString {
    let mut paths = vec![dir.to_path_buf()];
    if let Some(p) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&p));
    }
    std::env::join_paths(paths).unwrap_or_default()
}

/// meson and ninja: from `PATH`, else from a private venv under `dir`.
fn meson_ninja(dir: &Path) -> Result<(PathBuf, PathBuf), String> {
    if has_meson_ninja() {
        return Ok(("meson".into(), "ninja".into()));
    }
    let venv = dir.join("venv");
    let bin = venv.join("bin");
    let (meson, ninja) = (bin.join("meson"), bin.join("ninja"));
    if works(meson.to_str().unwrap_or(""), &["--version"])
        && works(ninja.to_str().unwrap_or(""), &["--version"])
    {
        return Ok((meson, ninja));
    }
    let mut mk = Command::new("python3");
    mk.args(["-m", "venv"]).arg(&venv);
    run(mk, &dir.join("venv.log"), "python3 -m venv")?;
    let mut pip = Command::new(bin.join("pip"));
    pip.args(["install", "--disable-pip-version-check", "--quiet"])
        .args(PYPI);
    run(pip, &dir.join("pip.log"), "pip install meson ninja")?;
    Ok((meson, ninja))
}

/// libvmaf's source directory inside the fetched `libvmaf-sys` package.
fn sources() -> Result<PathBuf, String> {
    static SRC: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    SRC.get_or_init(|| {
        let manifest = root().join("tests").join("libvmaf-src").join("Cargo.toml");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut fetch = Command::new(&cargo);
        fetch
            .arg("fetch")
            .arg("--locked")
            .arg("--manifest-path")
            .arg(&manifest);
        run(
            fetch,
            &work_dir().join("fetch.log"),
            "cargo fetch (libvmaf-sys 0.4.4)",
        )?;
        let out = Command::new(&cargo)
            .args(["metadata", "--format-version", "1", "--locked", "--offline"])
            .arg("--manifest-path")
            .arg(&manifest)
            .output()
            .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "cargo metadata failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let meta: serde_json::Value = serde_json::from_slice(&out.stdout)
            .map_err(|e| format!("cargo metadata is not JSON: {e}"))?;
        let pkg = meta["packages"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == "libvmaf-sys"))
            .and_then(|p| p["manifest_path"].as_str())
            .ok_or("cargo metadata lists no libvmaf-sys package")?;
        let src = Path::new(pkg)
            .parent()
            .unwrap()
            .join("vmaf")
            .join("libvmaf");
        if !src.join("meson.build").exists() {
            return Err(format!("{} has no meson.build", src.display()));
        }
        Ok(src)
    })
    .clone()
}

/// Runs `c`, writing its output to `log`; an error carries the log's tail.
fn run(mut c: Command, log: &Path, what: &str) -> Result<(), String> {
    if let Some(parent) = log.parent() {
        fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    let out = c
        .output()
        .map_err(|e| format!("{what}: cannot run {:?}: {e}", c.get_program()))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = fs::write(log, &text);
    if out.status.success() {
        return Ok(());
    }
    let tail: Vec<&str> = text.lines().rev().take(30).collect();
    Err(format!(
        "{what} failed ({}); last lines of {}:\n{}",
        out.status,
        log.display(),
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    ))
}
