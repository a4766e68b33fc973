//! All-or-nothing commit of a run's output set (manifest, ONNX, sidecar,
//! card, plots, any further export, and the run's ledger line).
//!
//! POSIX cannot rename several files at once, so the set is committed with
//! a journal, the way a database commits a transaction:
//!
//! 1. **Stage**: every file is written under a temporary name of its own
//!    ([`crate::safe_fs::temp_name`], created with `O_EXCL`, never through
//!    a link) in the output directory and synced. A failure here (ENOSPC,
//!    EIO, a kill) changes no final file; the staged files are removed (by
//!    this run, or as stale temporaries by the next).
//! 2. **Decide**: the journal [`JOURNAL`] (staged name, final name and
//!    sha256 of every file; the previous set's files this set does not
//!    replace; the ledger line) is written to a temporary file, synced and
//!    renamed into place. The rename is the commit point: before it the
//!    previous set is the directory's set, after it the new one is.
//! 3. **Apply**: each staged file is renamed over its final name (the
//!    manifest last), the previous set's leftovers are removed, the ledger
//!    line is appended (unless already there), and the journal is removed.
//!
//! An interruption during step 3 leaves the journal; the next moshead
//! command that opens the directory (`train`, `export`, `predict`,
//! `validate`, `ledger`) completes step 3 first, under the output lock.
//! Step 3 is idempotent: a file already renamed is recognised by its
//! sha256.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::safe_fs;

/// The journal's file name in an output directory.
pub const JOURNAL: &str = ".moshead-commit.json";

/// The journal format.
const JOURNAL_SCHEMA: &str = "moshead-commit-v1";

/// Errors of a commit or of completing one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CommitError {
    /// Staging or deciding failed: no final file changed.
    #[error("{}: {reason}; nothing in {} was changed", path.display(), dir.display())]
    NotCommitted {
        /// The output directory.
        dir: PathBuf,
        /// The file that failed.
        path: PathBuf,
        /// The OS error or the refusal.
        reason: String,
    },
    /// A journal in the directory is not one moshead can complete
    /// (malformed, foreign, a link): nothing was changed.
    #[error("{}: {reason}; nothing in {} was changed (remove the file if it is not moshead's)", path.display(), dir.display())]
    Foreign {
        /// The output directory.
        dir: PathBuf,
        /// The journal.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The set is committed but applying it failed; the journal stays and
    /// the next moshead command in the directory completes it.
    #[error("{}: {reason}; the new files are committed in {} (journal {JOURNAL}) and the next moshead command there completes the commit", path.display(), dir.display())]
    Unfinished {
        /// The output directory.
        dir: PathBuf,
        /// The file that failed.
        path: PathBuf,
        /// The OS error or the refusal.
        reason: String,
    },
}

/// One file of the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    staged: String,
    sha256: String,
}

/// A line to append to a file (the ledger) unless it is already there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Append {
    file: String,
    line: String,
    /// The file's length when the commit was decided: the line is
    /// appended once, at or after this offset.
    at: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Journal {
    journal: String,
    files: Vec<Entry>,
    remove: Vec<String>,
    append: Vec<Append>,
}

/// What to commit into a directory.
#[derive(Debug, Clone, Default)]
pub struct Set {
    /// `(final file name, bytes)`, in the order they are renamed into
    /// place (put the manifest last).
    pub files: Vec<(String, Vec<u8>)>,
    /// Files of the previous set that this one does not replace, removed
    /// so the directory holds one run's set (names in `files` are ignored).
    pub remove: Vec<String>,
    /// `(file name, line)`: a line (without its newline) appended to the
    /// file, unless the file already holds it.
    pub append: Vec<(String, String)>,
}

/// Whether `name` is a plain file name in the directory (no separator, not
/// `.` or `..`, not empty).
pub fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\', '\0'])
}

#[cfg(test)]
thread_local! {
    /// Fault injection: fail the n-th fallible step (counted down).
    static FAIL_AT: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
}

fn step(path: &Path) -> std::io::Result<()> {
    #[cfg(test)]
    {
        let hit = FAIL_AT.with(|f| match f.get() {
            Some(0) => {
                f.set(None);
                true
            }
            Some(n) => {
                f.set(Some(n - 1));
                false
            }
            None => false,
        });
        if hit {
            return Err(std::io::Error::from_raw_os_error(libc::EIO));
        }
    }
    let _ = path;
    Ok(())
}

fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    step(path)?;
    let mut f = safe_fs::create_new(path)?;
    f.write_all(bytes)?;
    step(path)?;
    f.sync_all()
}

/// Commits `set` into `dir` (which must exist and be locked by the
/// caller with [`crate::manifest::OutputLock`]). See the module
/// documentation for the protocol.
pub fn commit(dir: &Path, set: &Set) -> Result<(), CommitError> {
    for (name, _) in &set.files {
        if !is_plain_name(name) {
            return Err(CommitError::NotCommitted {
                dir: dir.to_path_buf(),
                path: dir.join(name),
                reason: format!("`{name}` is not a plain file name"),
            });
        }
    }
    let not_committed = |path: &Path, reason: String| CommitError::NotCommitted {
        dir: dir.to_path_buf(),
        path: path.to_path_buf(),
        reason,
    };
    // The files lines are appended to must be usable before anything is
    // decided (a link or a FIFO there is refused now, not after the commit).
    let mut lengths = Vec::new();
    for (file, _) in &set.append {
        let p = dir.join(file);
        let f = safe_fs::open_rw(&p, true).map_err(|e| not_committed(&p, e.reason))?;
        lengths.push(f.metadata().map_or(0, |m| m.len()));
    }
    let mut staged: Vec<PathBuf> = Vec::new();
    let cleanup = |staged: &[PathBuf]| {
        for p in staged {
            let _ = std::fs::remove_file(p);
        }
    };
    let mut journal = Journal {
        journal: JOURNAL_SCHEMA.into(),
        files: Vec::new(),
        remove: set
            .remove
            .iter()
            .filter(|r| is_plain_name(r) && !set.files.iter().any(|(n, _)| n == *r))
            .cloned()
            .collect(),
        append: set
            .append
            .iter()
            .zip(&lengths)
            .map(|((file, line), at)| Append {
                file: file.clone(),
                line: line.clone(),
                at: *at,
            })
            .collect(),
    };
    for (name, bytes) in &set.files {
        let tmp = safe_fs::temp_name(name);
        let path = dir.join(&tmp);
        if let Err(e) = write_new(&path, bytes) {
            // A file created but not written is removed with the rest.
            if e.kind() != std::io::ErrorKind::AlreadyExists {
                staged.push(path.clone());
            }
            cleanup(&staged);
            return Err(not_committed(&dir.join(name), e.to_string()));
        }
        staged.push(path);
        journal.files.push(Entry {
            name: name.clone(),
            staged: tmp,
            sha256: crate::digest::sha256_hex(bytes),
        });
    }
    let text = match serde_json::to_vec_pretty(&journal) {
        Ok(t) => t,
        Err(e) => {
            cleanup(&staged);
            return Err(not_committed(&dir.join(JOURNAL), e.to_string()));
        }
    };
    let jtmp = dir.join(safe_fs::temp_name(JOURNAL));
    let decided = write_new(&jtmp, &text).and_then(|()| {
        step(&jtmp)?;
        std::fs::rename(&jtmp, dir.join(JOURNAL))
    });
    if let Err(e) = decided {
        staged.push(jtmp);
        cleanup(&staged);
        return Err(not_committed(&dir.join(JOURNAL), e.to_string()));
    }
    // The commit point is passed; a failed directory sync only weakens
    // durability against a power loss, not the protocol.
    let _ = safe_fs::sync_dir(dir);
    apply(dir, &journal)
}

fn unfinished(dir: &Path, path: &Path, reason: String) -> CommitError {
    CommitError::Unfinished {
        dir: dir.to_path_buf(),
        path: path.to_path_buf(),
        reason,
    }
}

fn apply(dir: &Path, j: &Journal) -> Result<(), CommitError> {
    for f in &j.files {
        let staged = dir.join(&f.staged);
        let fin = dir.join(&f.name);
        match std::fs::symlink_metadata(&staged) {
            Ok(m) if m.is_file() => {
                step(&fin)
                    .and_then(|()| std::fs::rename(&staged, &fin))
                    .map_err(|e| unfinished(dir, &fin, e.to_string()))?;
            }
            Ok(_) => {
                return Err(unfinished(
                    dir,
                    &staged,
                    "the staged file is not a regular file".into(),
                ))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let found = std::fs::read(&fin)
                    .map(|b| crate::digest::sha256_hex(&b))
                    .unwrap_or_default();
                if found != f.sha256 {
                    return Err(unfinished(
                        dir,
                        &fin,
                        format!(
                            "neither the staged file {} nor a final file with sha256 {} is present",
                            f.staged, f.sha256
                        ),
                    ));
                }
            }
            Err(e) => return Err(unfinished(dir, &staged, e.to_string())),
        }
    }
    for r in &j.remove {
        let p = dir.join(r);
        match step(&p).and_then(|()| std::fs::remove_file(&p)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(unfinished(dir, &p, e.to_string())),
        }
    }
    for a in &j.append {
        let p = dir.join(&a.file);
        step(&p)
            .map_err(|e| e.to_string())
            .and_then(|()| crate::export::ledger::append_line_once(&p, &a.line, a.at))
            .map_err(|reason| unfinished(dir, &p, reason))?;
    }
    let _ = safe_fs::sync_dir(dir);
    let jp = dir.join(JOURNAL);
    step(&jp)
        .and_then(|()| std::fs::remove_file(&jp))
        .map_err(|e| unfinished(dir, &jp, e.to_string()))?;
    let _ = safe_fs::sync_dir(dir);
    Ok(())
}

/// Whether `dir` holds a commit that was decided but not applied.
pub fn pending(dir: &Path) -> bool {
    std::fs::symlink_metadata(dir.join(JOURNAL)).is_ok()
}

/// Completes a commit interrupted in `dir` (the caller holds the output
/// lock). Returns whether there was one. A journal that is not moshead's
/// (malformed, naming paths outside the directory or files that are not
/// moshead's temporaries) is an error naming it, and nothing is changed.
pub fn recover(dir: &Path) -> Result<bool, CommitError> {
    let jp = dir.join(JOURNAL);
    let meta = match std::fs::symlink_metadata(&jp) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(unfinished(dir, &jp, e.to_string())),
    };
    let foreign = |reason: String| CommitError::Foreign {
        dir: dir.to_path_buf(),
        path: jp.clone(),
        reason,
    };
    if !meta.is_file() {
        return Err(foreign(format!(
            "is {}, not moshead's commit journal",
            safe_fs::describe_type(&meta.file_type())
        )));
    }
    let text = std::fs::read(&jp).map_err(|e| foreign(e.to_string()))?;
    let j: Journal = serde_json::from_slice(&text)
        .map_err(|e| foreign(format!("not a moshead commit journal: {e}")))?;
    let own = |s: &str| is_plain_name(s) && safe_fs::temp_owner(s).is_some();
    let bad = j.journal != JOURNAL_SCHEMA
        || j.files
            .iter()
            .any(|f| !is_plain_name(&f.name) || !own(&f.staged))
        || j.remove.iter().any(|r| !is_plain_name(r))
        || j.append.iter().any(|a| !is_plain_name(&a.file));
    if bad {
        return Err(foreign(
            "not a moshead commit journal (foreign schema or a path that is not a plain file name)"
                .into(),
        ));
    }
    apply(dir, &j)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(tag: &str, with_extra: bool) -> Set {
        let mut files = vec![
            ("m.onnx".to_owned(), format!("onnx {tag}").into_bytes()),
            ("m_card.md".to_owned(), format!("card {tag}").into_bytes()),
        ];
        if with_extra {
            files.push(("m_extra.svg".into(), format!("svg {tag}").into_bytes()));
        }
        files.push(("m.json".into(), format!("manifest {tag}").into_bytes()));
        Set {
            files,
            remove: vec!["m_extra.svg".into()],
            append: vec![("ledger.jsonl".into(), format!("{{\"run\":\"{tag}\"}}"))],
        }
    }

    /// The final files (not hidden ones) and the ledger's lines.
    fn state(dir: &Path) -> (Vec<(String, String)>, Vec<String>) {
        let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.') && n != "ledger.jsonl")
            .map(|n| (n.clone(), std::fs::read_to_string(dir.join(&n)).unwrap()))
            .collect();
        files.sort();
        let ledger = std::fs::read_to_string(dir.join("ledger.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect();
        (files, ledger)
    }

    #[test]
    fn an_io_error_at_any_step_leaves_the_old_set_or_the_new_one() {
        let reference = |tag: &str, extra: bool, ledger: &[&str]| {
            let d = tempfile::tempdir().unwrap();
            for (name, bytes) in set(tag, extra).files {
                std::fs::write(d.path().join(name), bytes).unwrap();
            }
            let (files, _) = state(d.path());
            (
                files,
                ledger.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            )
        };
        let old = reference("old", true, &["{\"run\":\"old\"}"]);
        let new = reference("new", false, &["{\"run\":\"old\"}", "{\"run\":\"new\"}"]);
        let mut outcomes = (0, 0);
        for k in 0..40 {
            let d = tempfile::tempdir().unwrap();
            commit(d.path(), &set("old", true)).unwrap();
            assert_eq!(state(d.path()), old);
            FAIL_AT.with(|f| f.set(Some(k)));
            let r = commit(d.path(), &set("new", false));
            let injected = FAIL_AT.with(|f| f.get()).is_none();
            FAIL_AT.with(|f| f.set(None));
            if !injected {
                assert!(r.is_ok());
                assert_eq!(state(d.path()), new);
                assert!(k > 10, "every step was reached: {k}");
                break;
            }
            match r {
                Err(CommitError::NotCommitted { .. }) => {
                    outcomes.0 += 1;
                    assert!(!pending(d.path()));
                    assert_eq!(state(d.path()), old, "step {k}");
                }
                Err(CommitError::Unfinished { .. }) => {
                    outcomes.1 += 1;
                    assert!(pending(d.path()));
                    assert!(recover(d.path()).unwrap());
                    assert_eq!(state(d.path()), new, "step {k}");
                }
                Err(e) => panic!("step {k}: {e}"),
                Ok(()) => panic!("step {k}: an injected failure was not reported"),
            }
            assert!(!pending(d.path()));
            let leftovers = safe_fs::remove_stale_temps(d.path());
            assert!(leftovers.is_empty(), "{leftovers:?}");
            let hidden: Vec<String> = std::fs::read_dir(d.path())
                .unwrap()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with('.'))
                .collect();
            // Temporaries of this (live) process: cleaned by this commit.
            assert!(hidden.is_empty(), "step {k}: {hidden:?}");
        }
        assert!(outcomes.0 >= 5 && outcomes.1 >= 5, "{outcomes:?}");
    }

    #[test]
    fn a_journal_naming_paths_outside_the_directory_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let victim = d.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        let out = d.path().join("out");
        std::fs::create_dir(&out).unwrap();
        let j = serde_json::json!({"journal": JOURNAL_SCHEMA, "files": [],
            "remove": ["../victim"], "append": []});
        std::fs::write(out.join(JOURNAL), j.to_string()).unwrap();
        let e = recover(&out).unwrap_err().to_string();
        assert!(e.contains("not a moshead commit journal"), "{e}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
    }
}
