//! All-or-nothing commit of a run's output set (manifest, ONNX, sidecar,
//! card, plots, any further export, and the run's ledger line).
//!
//! POSIX cannot rename several files at once, so the set is committed with
//! a journal, the way a database commits a transaction:
//!
//! 1. **Stage**: every final name is checked first (a directory, a FIFO or
//!    a device at one is refused now, before anything is decided); then
//!    every file is written under a temporary name of its own
//!    ([`crate::safe_fs::temp_name`], created with `O_EXCL`, never through
//!    a link) in the output directory and synced. A failure here (ENOSPC,
//!    EIO, a kill) changes no final file; the staged files are removed (by
//!    this run, or as stale temporaries by the next).
//! 2. **Decide**: the journal [`JOURNAL`] (the model id; staged name,
//!    final name and sha256 of every file; the previous set's files this
//!    set does not replace; the ledger line) is written to a temporary
//!    file, synced and renamed into place. The rename is the commit point:
//!    before it the previous set is the directory's set, after it the new
//!    one is.
//! 3. **Apply**: each staged file is renamed over its final name (the
//!    manifest last), the previous set's leftovers are removed, the ledger
//!    line is appended (unless already there), and the journal is removed.
//!
//! An interruption during step 3 leaves the journal; the next command that
//! writes into the directory (`train`, `export`) completes step 3 first,
//! under the output lock. Step 3 is idempotent: a file already renamed is
//! recognised by its sha256. Read-only commands (`predict`, `validate`,
//! `ledger`) never apply a journal: they report it ([`check_settled`]).
//!
//! A journal is obeyed only when moshead can tell it wrote it: every name
//! in it is one moshead derives from the journal's model id by its own
//! rule ([`crate::export::Names`]; never a name read from a manifest),
//! every staged name is a temporary of moshead's own making for that name,
//! all by one process; the manifest it stages is the journal's last file,
//! and the ledger line it appends records that manifest's id and sha256.
//! Anything else is refused, naming the journal, and nothing is changed.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::safe_fs;

/// The journal's file name in an output directory.
pub const JOURNAL: &str = ".moshead-commit.json";

/// The journal format.
const JOURNAL_SCHEMA: &str = "moshead-commit-v2";

/// The most of a journal moshead reads (a real one is a few kilobytes).
const JOURNAL_MAX_BYTES: u64 = 1 << 20;

/// What completes a decided commit, for messages.
const COMPLETES: &str =
    "the next `moshead train` or `moshead export` writing into it completes the commit";

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
    /// the next command writing into the directory completes it.
    #[error("{}: {reason}; the new files are committed in {} (journal {JOURNAL}) and {COMPLETES}", path.display(), dir.display())]
    Unfinished {
        /// The output directory.
        dir: PathBuf,
        /// The file that failed.
        path: PathBuf,
        /// The OS error or the refusal.
        reason: String,
    },
    /// A read-only command found a decided commit it does not apply.
    #[error("{} holds a commit that was decided but not applied (journal {JOURNAL}); read-only commands (predict, validate, ledger) never apply one: {COMPLETES} (`moshead export --model` its manifest), or remove {JOURNAL} if the files there are not moshead's", dir.display())]
    Pending {
        /// The output directory.
        dir: PathBuf,
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
    /// The model id every name is derived from.
    id: String,
    files: Vec<Entry>,
    remove: Vec<String>,
    append: Vec<Append>,
}

/// What to commit into a directory: one model id's set. Every name must
/// be one of the id's ([`crate::export::Names::owns`]); the manifest
/// `<id>.json` comes last.
#[derive(Debug, Clone, Default)]
pub struct Set {
    /// The model id.
    pub id: String,
    /// `(final file name, bytes)`, in the order they are renamed into
    /// place (the manifest last).
    pub files: Vec<(String, Vec<u8>)>,
    /// Files of the previous set that this one does not replace, removed
    /// so the directory holds one run's set (names in `files` are ignored).
    pub remove: Vec<String>,
    /// `(file name, line)`: a ledger line (without its newline) appended
    /// to [`crate::export::ledger::LEDGER_FILE`], unless it already holds
    /// it.
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

/// Checks `j` against moshead's own rule (see the module documentation):
/// the reason it is not a journal moshead wrote, if it is not.
fn check_rule(j: &Journal) -> Result<(), String> {
    use crate::export::{ledger, Names};
    if j.journal != JOURNAL_SCHEMA {
        return Err(format!(
            "its schema `{}` is not `{JOURNAL_SCHEMA}`",
            j.journal.escape_debug()
        ));
    }
    crate::model_id::check(&j.id).map_err(|e| format!("its model id: {e}"))?;
    let names = Names::new(&j.id);
    let not_ours = |what: &str, name: &str| {
        Err(format!(
            "{what} `{}` is not a file moshead writes for model `{}`",
            name.escape_debug(),
            j.id
        ))
    };
    let Some(manifest) = j.files.last().filter(|f| f.name == names.manifest()) else {
        return Err(format!(
            "its last file is not the manifest `{}`",
            names.manifest()
        ));
    };
    let mut pid = None;
    for (i, f) in j.files.iter().enumerate() {
        if !names.owns(&f.name) || j.files[..i].iter().any(|g| g.name == f.name) {
            return not_ours("file", &f.name);
        }
        let owner = f
            .staged
            .strip_prefix(&format!(".{}{}", f.name, safe_fs::TEMP_MARK))
            .and_then(|_| safe_fs::temp_owner(&f.staged))
            .filter(|_| is_plain_name(&f.staged));
        let Some(owner) = owner else {
            return not_ours("staged file", &f.staged);
        };
        if *pid.get_or_insert(owner) != owner {
            return Err("its files were staged by more than one process".into());
        }
        if f.sha256.len() != 64 || !f.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("`{}` has no sha256", f.name.escape_debug()));
        }
    }
    for r in &j.remove {
        if !names.owns(r) || *r == names.manifest() {
            return not_ours("removed file", r);
        }
    }
    for a in &j.append {
        if a.file != ledger::LEDGER_FILE {
            return not_ours("appended-to file", &a.file);
        }
        let entry: ledger::LedgerEntry = serde_json::from_str(&a.line)
            .map_err(|e| format!("its ledger line is not a moshead ledger entry: {e}"))?;
        if a.line.contains('\n')
            || entry.model_id != j.id
            || entry.manifest_sha256 != manifest.sha256
        {
            return Err("its ledger line does not record the manifest it stages".into());
        }
    }
    Ok(())
}

/// Commits `set` into `dir` (which must exist and be locked by the
/// caller with [`crate::manifest::OutputLock`]). See the module
/// documentation for the protocol.
pub fn commit(dir: &Path, set: &Set) -> Result<(), CommitError> {
    let not_committed = |path: &Path, reason: String| CommitError::NotCommitted {
        dir: dir.to_path_buf(),
        path: path.to_path_buf(),
        reason,
    };
    for (name, _) in &set.files {
        if !is_plain_name(name) {
            return Err(not_committed(
                &dir.join(name),
                format!("`{name}` is not a plain file name"),
            ));
        }
    }
    // Every name the commit replaces or removes must be free, a regular
    // file or a link (replaced, never followed): a directory, a FIFO or a
    // device there is refused now, before the commit point, not after.
    for name in set.files.iter().map(|(n, _)| n).chain(&set.remove) {
        if is_plain_name(name) {
            safe_fs::check_replaceable(&dir.join(name))
                .map_err(|e| not_committed(&e.path, e.reason))?;
        }
    }
    // The files lines are appended to must be usable before anything is
    // decided (a link or a FIFO there is refused now, not after the
    // commit); one that does not exist is created only when the line is
    // appended.
    let mut lengths = Vec::new();
    for (file, _) in &set.append {
        let p = dir.join(file);
        let len = match std::fs::symlink_metadata(&p) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            _ => safe_fs::open_rw(&p, true)
                .map_err(|e| not_committed(&p, e.reason))?
                .metadata()
                .map_or(0, |m| m.len()),
        };
        lengths.push(len);
    }
    let mut staged: Vec<PathBuf> = Vec::new();
    let cleanup = |staged: &[PathBuf]| {
        for p in staged {
            let _ = std::fs::remove_file(p);
        }
    };
    let mut journal = Journal {
        journal: JOURNAL_SCHEMA.into(),
        id: set.id.clone(),
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
    // The journal written must be one the next command would obey.
    let text = check_rule(&journal)
        .and_then(|()| serde_json::to_vec_pretty(&journal).map_err(|e| e.to_string()));
    let text = match text {
        Ok(t) => t,
        Err(e) => {
            cleanup(&staged);
            return Err(not_committed(&dir.join(JOURNAL), e));
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
                let found = sha256_of(&fin).unwrap_or_default();
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
            .and_then(|()| {
                crate::export::ledger::append_line_once(&p, &a.line, a.at)
                    .map_err(|e| e.to_string())
            })
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

/// The most of one file of a set moshead reads back to check its sha256.
const FILE_MAX_BYTES: u64 = 4 << 30;

/// The sha256 of the regular file at `path` (not through a link).
fn sha256_of(path: &Path) -> Result<String, String> {
    safe_fs::read_bounded(path, FILE_MAX_BYTES, safe_fs::Links::Refuse)
        .map(|b| crate::digest::sha256_hex(&b))
        .map_err(|e| e.reason)
}

/// Whether `dir` holds a commit that was decided but not applied.
pub fn pending(dir: &Path) -> bool {
    std::fs::symlink_metadata(dir.join(JOURNAL)).is_ok()
}

/// For a read-only command: an error when `dir` holds a decided commit
/// (never applied here; [`CommitError::Pending`] says what completes it).
pub fn check_settled(dir: &Path) -> Result<(), CommitError> {
    if pending(dir) {
        Err(CommitError::Pending {
            dir: dir.to_path_buf(),
        })
    } else {
        Ok(())
    }
}

/// Checks that the files a journal stages are the ones it records and
/// that its manifest is the model it names, before anything is applied:
/// each file's bytes (staged, or already renamed into place) have the
/// recorded sha256, and the staged manifest has the journal's id and
/// records the same sha256 for every export the journal stages.
fn check_staged(dir: &Path, j: &Journal) -> Result<(), String> {
    let mut sums = std::collections::BTreeMap::new();
    for f in &j.files {
        let staged = dir.join(&f.staged);
        let path = if std::fs::symlink_metadata(&staged).is_ok() {
            staged
        } else {
            dir.join(&f.name)
        };
        let found = sha256_of(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        if found != f.sha256 {
            return Err(format!(
                "{} does not have the sha256 {} it records",
                path.display(),
                f.sha256
            ));
        }
        sums.insert(f.name.as_str(), path);
    }
    let names = crate::export::Names::new(&j.id);
    let Some(path) = sums.get(names.manifest().as_str()) else {
        return Err("it stages no manifest".into());
    };
    let bytes = safe_fs::read_bounded(path, FILE_MAX_BYTES, safe_fs::Links::Refuse)
        .map_err(|e| e.to_string())?;
    let m = std::str::from_utf8(&bytes)
        .map_err(|e| e.to_string())
        .and_then(|t| crate::manifest::Manifest::parse(path, t).map_err(|e| e.to_string()))?;
    if m.id != j.id {
        return Err(format!("its manifest is model `{}`, not `{}`", m.id, j.id));
    }
    for r in m.exports.values() {
        if let Some(f) = j.files.iter().find(|f| f.name == r.path) {
            if f.sha256 != r.sha256 {
                return Err(format!(
                    "its manifest records another sha256 for `{}`",
                    r.path.escape_debug()
                ));
            }
        }
    }
    Ok(())
}

/// Completes a commit interrupted in `dir` (the caller holds the output
/// lock, so only commands that write into `dir` call this). Returns
/// whether there was one. A journal moshead cannot tell it wrote (see the
/// module documentation: malformed, a name not derived from its id, a
/// staged file that is not the one it records) is an error naming it, and
/// nothing is changed.
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
    let text = safe_fs::read_bounded(&jp, JOURNAL_MAX_BYTES, safe_fs::Links::Refuse)
        .map_err(|e| foreign(e.reason))?;
    let j: Journal = serde_json::from_slice(&text)
        .map_err(|e| foreign(format!("not a moshead commit journal: {e}")))?;
    check_rule(&j)
        .and_then(|()| check_staged(dir, &j))
        .map_err(|e| foreign(format!("not a moshead commit journal: {e}")))?;
    apply(dir, &j)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1_RIDGE: &str = include_str!("../../tests/data/manifests-v1/ridge/v1_ridge.json");

    /// A manifest of model `m`, told apart by `tag`.
    fn manifest(tag: &str) -> Vec<u8> {
        let mut m = crate::manifest::Manifest::parse(Path::new("v1.json"), V1_RIDGE).unwrap();
        m.id = "m".into();
        m.exports.clear();
        m.training.seed = u64::from(tag == "new");
        m.to_bytes().unwrap()
    }

    fn ledger_line(manifest: &[u8]) -> String {
        let mut e = crate::export::ledger::tests::entry("m");
        e.manifest_sha256 = crate::digest::sha256_hex(manifest);
        serde_json::to_string(&e).unwrap()
    }

    fn set(tag: &str, with_extra: bool) -> Set {
        let mut files = vec![
            ("m.onnx".to_owned(), format!("onnx {tag}").into_bytes()),
            ("m_card.md".to_owned(), format!("card {tag}").into_bytes()),
        ];
        if with_extra {
            files.push(("m_loss.svg".into(), format!("svg {tag}").into_bytes()));
        }
        let m = manifest(tag);
        let line = ledger_line(&m);
        files.push(("m.json".into(), m));
        Set {
            id: "m".into(),
            files,
            remove: vec!["m_loss.svg".into()],
            append: vec![("ledger.jsonl".into(), line)],
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
        let (l_old, l_new) = (ledger_line(&manifest("old")), ledger_line(&manifest("new")));
        let old = reference("old", true, &[&l_old]);
        let new = reference("new", false, &[&l_old, &l_new]);
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

    /// A journal naming anything but model `m`'s own files, or staging a
    /// file that is not the one it records, is refused and nothing changes.
    #[test]
    fn a_journal_is_obeyed_only_when_it_follows_the_rule() {
        let d = tempfile::tempdir().unwrap();
        commit(d.path(), &set("old", true)).unwrap();
        std::fs::write(d.path().join("notes.txt"), "mine").unwrap();
        let before = state(d.path());
        let m = manifest("new");
        let staged = ".m.json.tmp-moshead-2147483647-0";
        std::fs::write(d.path().join(staged), &m).unwrap();
        let good = serde_json::json!({"journal": JOURNAL_SCHEMA, "id": "m",
            "files": [{"name": "m.json", "staged": staged, "sha256": crate::digest::sha256_hex(&m)}],
            "remove": ["m_loss.svg"], "append": [{"file": "ledger.jsonl", "line": ledger_line(&m), "at": 0}]});
        let cases: Vec<(&str, serde_json::Value)> = vec![
            (
                "removed file `notes.txt`",
                serde_json::json!({"remove": ["notes.txt"]}),
            ),
            (
                "removed file `ledger.jsonl`",
                serde_json::json!({"remove": ["ledger.jsonl"]}),
            ),
            (
                "removed file `m.json`",
                serde_json::json!({"remove": ["m.json"]}),
            ),
            (
                "appended-to file `notes.txt`",
                serde_json::json!({"append": [{"file": "notes.txt", "line": ledger_line(&m), "at": 0}]}),
            ),
            (
                "does not record the manifest",
                serde_json::json!({"append": [{"file": "ledger.jsonl", "line": ledger_line(b"other"), "at": 0}]}),
            ),
            ("model id", serde_json::json!({"id": "../m"})),
            (
                "last file is not the manifest",
                serde_json::json!({"id": "n"}),
            ),
            (
                "staged file `notes.txt`",
                serde_json::json!({"files": [{"name": "m.json", "staged": "notes.txt", "sha256": crate::digest::sha256_hex(&m)}]}),
            ),
            (
                "staged file `.m_card.md.tmp-moshead-1-0`",
                serde_json::json!({"files": [{"name": "m.json", "staged": ".m_card.md.tmp-moshead-1-0", "sha256": crate::digest::sha256_hex(&m)}]}),
            ),
            (
                "does not have the sha256",
                serde_json::json!({"files": [{"name": "m.json", "staged": staged, "sha256": "0".repeat(64)}], "append": []}),
            ),
            (
                "schema `moshead-commit-v1`",
                serde_json::json!({"journal": "moshead-commit-v1"}),
            ),
        ];
        for (why, patch) in cases {
            let mut j = good.clone();
            for (k, v) in patch.as_object().unwrap() {
                j[k] = v.clone();
            }
            std::fs::write(d.path().join(JOURNAL), j.to_string()).unwrap();
            let e = recover(d.path()).unwrap_err();
            assert!(matches!(e, CommitError::Foreign { .. }), "{why}: {e}");
            let e = e.to_string();
            assert!(
                e.contains("not a moshead commit journal") && e.contains(why),
                "{why}: {e}"
            );
            assert_eq!(state(d.path()), before, "{why}");
            assert!(d.path().join(staged).exists(), "{why}");
        }
        // The same journal, following the rule, is completed.
        std::fs::write(d.path().join(JOURNAL), good.to_string()).unwrap();
        assert!(recover(d.path()).unwrap());
        assert_eq!(std::fs::read(d.path().join("m.json")).unwrap(), m);
        assert!(!d.path().join("m_loss.svg").exists());
        assert_eq!(
            std::fs::read_to_string(d.path().join("notes.txt")).unwrap(),
            "mine"
        );
        assert!(!pending(d.path()));
    }

    /// A directory, a FIFO or a device at a name the commit replaces or
    /// removes is found before the commit point.
    #[test]
    fn a_wrong_file_type_at_an_output_name_is_refused_before_the_commit_point() {
        for name in ["m.onnx", "m_card.md", "m_loss.svg", "m.json"] {
            let d = tempfile::tempdir().unwrap();
            commit(d.path(), &set("old", false)).unwrap();
            let _ = std::fs::remove_file(d.path().join(name));
            std::fs::create_dir(d.path().join(name)).unwrap();
            let e = commit(d.path(), &set("new", true)).unwrap_err();
            assert!(matches!(e, CommitError::NotCommitted { .. }), "{name}: {e}");
            assert!(e.to_string().contains(&format!("{name}: is a directory, not a regular file; moshead replaces only regular files")), "{e}");
            assert!(!pending(d.path()), "{name}");
            let hidden = std::fs::read_dir(d.path())
                .unwrap()
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
                .count();
            assert_eq!(hidden, 0, "{name}");
        }
    }
}
