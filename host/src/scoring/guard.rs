//! Keeping `predict --output` off the files a run reads and the model's
//! own files.
//!
//! The output may not be an input of the run, the model manifest, or any
//! file of the model's output set (every export of
//! [`crate::export::EXPORTS`] under its own name, every recorded export,
//! the directory's ledger and lock). Two paths are the
//! same file when both exist and share device and inode (hard links and
//! symlinks included), or when their resolved locations are equal (a file
//! of the set not written yet, or an output that does not exist yet).

use std::path::{Path, PathBuf};

use crate::export::ledger::LEDGER_FILE;
use crate::export::{Names, EXPORTS};
use crate::manifest::{Manifest, LOCK_FILE};

/// A file the output may not replace, with what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protected {
    /// The file.
    pub path: PathBuf,
    /// What it is, for the message (`the model manifest`, `input shards`).
    pub what: String,
}

impl Protected {
    /// `path`, described as `what`.
    pub fn new(path: impl Into<PathBuf>, what: impl Into<String>) -> Self {
        Protected {
            path: path.into(),
            what: what.into(),
        }
    }
}

/// An output path that would overwrite a protected file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GuardError {
    /// The output is a protected file.
    #[error("--output {output} is {what} ({path}); write the predictions elsewhere")]
    Overwrites {
        /// The output given.
        output: String,
        /// The protected file it resolves to.
        path: String,
        /// What that file is.
        what: String,
    },
}

/// The manifest at `manifest_path` and every file of its output set, each
/// described.
pub fn model_files(manifest_path: &Path, m: &Manifest) -> Vec<Protected> {
    let dir = manifest_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let names = Names::new(&m.id);
    let mut out = vec![
        Protected::new(manifest_path, "the model manifest"),
        Protected::new(dir.join(names.manifest()), "the model manifest"),
    ];
    for e in EXPORTS {
        out.push(Protected::new(dir.join(names.of(*e)), e.what()));
    }
    for (name, what) in [
        (LEDGER_FILE, "the output directory's ledger"),
        (LOCK_FILE, "the output directory's lock file"),
    ] {
        out.push(Protected::new(dir.join(name), what));
    }
    for (key, rec) in &m.exports {
        out.push(Protected::new(
            dir.join(&rec.path),
            format!("the model's `{key}` export"),
        ));
    }
    out
}

/// Where `p` resolves to: the canonical path when it exists; for a
/// dangling symlink, where the link points; else its canonical parent
/// joined with its name.
fn resolve(p: &Path) -> PathBuf {
    if let Ok(c) = std::fs::canonicalize(p) {
        return c;
    }
    let parent = p
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let base = std::fs::canonicalize(parent).unwrap_or_else(|_| parent.to_path_buf());
    match std::fs::read_link(p) {
        // One level: a chain of dangling links ends at a file that does
        // not exist, which the name comparison below still catches.
        Ok(target) => {
            let t = base.join(target);
            let tp = t
                .parent()
                .and_then(|d| std::fs::canonicalize(d).ok())
                .zip(t.file_name())
                .map(|(d, n)| d.join(n));
            tp.unwrap_or(t)
        }
        Err(_) => match p.file_name() {
            Some(n) => base.join(n),
            None => base,
        },
    }
}

#[cfg(unix)]
fn same_inode(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_inode(_: &Path, _: &Path) -> bool {
    false
}

/// Refuses `output` when it is one of `protected`.
pub fn check_output(output: &Path, protected: &[Protected]) -> Result<(), GuardError> {
    let out = resolve(output);
    for p in protected {
        if same_inode(output, &p.path) || resolve(&p.path) == out {
            return Err(GuardError::Overwrites {
                output: output.display().to_string(),
                path: p.path.display().to_string(),
                what: p.what.clone(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn same_file_by_name_link_or_inode() {
        let d = tempfile::tempdir().unwrap();
        let input = d.path().join("in.jsonl");
        std::fs::write(&input, "x").unwrap();
        let prot = [
            Protected::new(&input, "an input"),
            Protected::new(d.path().join("m.onnx"), "the ONNX"),
        ];
        let refused = |p: &Path| check_output(p, &prot).is_err();
        assert!(refused(&input));
        assert!(refused(&d.path().join("./in.jsonl")));
        // Not written yet: refused by name.
        assert!(refused(&d.path().join("m.onnx")));
        #[cfg(unix)]
        {
            let link = d.path().join("link");
            std::os::unix::fs::symlink(&input, &link).unwrap();
            assert!(refused(&link));
            let dangling = d.path().join("dangling");
            std::os::unix::fs::symlink("m.onnx", &dangling).unwrap();
            assert!(refused(&dangling));
            let hard = d.path().join("hard");
            std::fs::hard_link(&input, &hard).unwrap();
            assert!(refused(&hard));
        }
        assert!(!refused(&d.path().join("predictions.jsonl")));
        let err = check_output(&input, &prot).unwrap_err().to_string();
        assert!(err.contains("is an input"), "{err}");
    }
}
