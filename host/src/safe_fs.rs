//! Opening files for writing without being steered by the file system.
//!
//! Every file moshead creates, truncates or appends to inside an output
//! directory is opened here: never through a symbolic link (`O_NOFOLLOW`;
//! a link is an error naming it), never blocking on a FIFO (`O_NONBLOCK`),
//! and only when it is a regular file. Temporary files are created with
//! `O_EXCL` under a name of moshead's own, [`temp_name`], which is the
//! only kind of file [`remove_stale_temps`] ever deletes.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileTypeExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The marker in every temporary file name moshead creates.
pub const TEMP_MARK: &str = ".tmp-moshead-";

/// What a file-system object is, for messages (`a FIFO (named pipe)`).
pub fn describe_type(ft: &std::fs::FileType) -> &'static str {
    if ft.is_symlink() {
        "a symbolic link"
    } else if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a FIFO (named pipe)"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_file() {
        "a regular file"
    } else {
        "not a regular file"
    }
}

/// An error opening `path` safely, with its reason in one place (the OS
/// error once).
#[derive(Debug, thiserror::Error)]
#[error("{}: {reason}", path.display())]
pub struct SafeOpenError {
    /// The file.
    pub path: PathBuf,
    /// Why.
    pub reason: String,
    /// The I/O error kind (`Other` for a refused file type).
    pub kind: io::ErrorKind,
}

impl SafeOpenError {
    fn io(path: &Path, e: &io::Error) -> Self {
        let reason = if e.raw_os_error() == Some(libc::ELOOP) {
            "is a symbolic link; moshead does not write through links (remove it)".to_owned()
        } else {
            e.to_string()
        };
        SafeOpenError {
            path: path.to_path_buf(),
            reason,
            kind: e.kind(),
        }
    }
}

/// The reason alone (callers name the path themselves).
impl From<SafeOpenError> for io::Error {
    fn from(e: SafeOpenError) -> io::Error {
        io::Error::new(e.kind, e.reason)
    }
}

fn check_regular(path: &Path, file: &File, verb: &str) -> Result<(), SafeOpenError> {
    let meta = file.metadata().map_err(|e| SafeOpenError::io(path, &e))?;
    if meta.file_type().is_file() {
        Ok(())
    } else {
        Err(not_regular(path, &meta.file_type(), verb))
    }
}

fn not_regular(path: &Path, ft: &std::fs::FileType, verb: &str) -> SafeOpenError {
    SafeOpenError {
        path: path.to_path_buf(),
        reason: format!(
            "is {}, not a regular file; moshead {verb} only regular files",
            describe_type(ft)
        ),
        kind: io::ErrorKind::Other,
    }
}

/// Checks that the name `path` (not followed) is free, a regular file or
/// a symbolic link (a rename replaces the link itself, never its target),
/// so a file moshead writes there may replace it: a directory, a FIFO, a
/// socket or a device there is an error saying what it is.
pub fn check_replaceable(path: &Path) -> Result<(), SafeOpenError> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_file() || m.is_symlink() => Ok(()),
        Ok(m) => Err(not_regular(path, &m.file_type(), "replaces")),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(SafeOpenError::io(path, &e)),
    }
}

fn base_options() -> OpenOptions {
    let mut o = OpenOptions::new();
    o.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC);
    o
}

/// Opens (creating it if absent, never truncating) the regular file at
/// `path` for reading and writing, or appending when `append`.
pub fn open_rw(path: &Path, append: bool) -> Result<File, SafeOpenError> {
    let mut o = base_options();
    o.read(true).create(true);
    if append {
        o.append(true);
    } else {
        o.write(true).truncate(false);
    }
    let file = o.open(path).map_err(|e| SafeOpenError::io(path, &e))?;
    check_regular(path, &file, "writes")?;
    Ok(file)
}

/// Whether a read follows a symbolic link at the path itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    /// Read the link's target (a file given by the user).
    Follow,
    /// A link is an error naming it (a file moshead itself writes in an
    /// output directory, read back: what writes refuse, reads refuse).
    Refuse,
}

/// Opens an existing regular file for reading without blocking on a FIFO
/// (a FIFO or device is an error saying what it is). Links are followed:
/// reading is not writing.
pub fn open_read(path: &Path) -> Result<File, SafeOpenError> {
    open_read_with(path, Links::Follow)
}

/// [`open_read`], following a link at `path` or not as `links` says.
pub fn open_read_with(path: &Path, links: Links) -> Result<File, SafeOpenError> {
    let mut o = OpenOptions::new();
    let nofollow = match links {
        Links::Follow => 0,
        Links::Refuse => libc::O_NOFOLLOW,
    };
    o.read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC | nofollow);
    let file = o.open(path).map_err(|e| {
        let mut err = SafeOpenError::io(path, &e);
        if e.raw_os_error() == Some(libc::ELOOP) {
            "is a symbolic link; moshead reads its own files only as it writes them, never through links (remove it)"
                .clone_into(&mut err.reason);
        }
        err
    })?;
    check_regular(path, &file, "reads")?;
    Ok(file)
}

/// Reads the regular file at `path` whole, refusing a FIFO, a device or a
/// directory (never a wait, never an endless read) and a file of more than
/// `limit` bytes (an error naming the bound, read no further than it).
pub fn read_bounded(path: &Path, limit: u64, links: Links) -> Result<Vec<u8>, SafeOpenError> {
    use std::io::Read as _;
    let file = open_read_with(path, links)?;
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| SafeOpenError::io(path, &e))?;
    if bytes.len() as u64 > limit {
        return Err(SafeOpenError {
            path: path.to_path_buf(),
            reason: format!("is larger than {limit} bytes, the most moshead reads of it"),
            kind: io::ErrorKind::InvalidData,
        });
    }
    Ok(bytes)
}

/// Creates a new file at `path` (`O_EXCL`: an existing file or link there
/// is an error, nothing is followed).
pub fn create_new(path: &Path) -> Result<File, SafeOpenError> {
    let mut o = base_options();
    o.write(true).create_new(true);
    o.open(path).map_err(|e| SafeOpenError::io(path, &e))
}

static SEQ: AtomicU64 = AtomicU64::new(0);

/// A fresh temporary name for `final_name` in the same directory:
/// `.<final_name>.tmp-moshead-<pid>-<n>`.
pub fn temp_name(final_name: &str) -> String {
    format!(
        ".{final_name}{TEMP_MARK}{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

/// The pid in a name made by [`temp_name`], or `None` for any other name.
pub fn temp_owner(name: &str) -> Option<u32> {
    let rest = name.strip_prefix('.')?;
    let at = rest.rfind(TEMP_MARK)?;
    if at == 0 {
        return None;
    }
    let (pid, n) = rest[at + TEMP_MARK.len()..].split_once('-')?;
    if pid.is_empty() || n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok()
}

fn alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks whether the process exists.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Removes the temporary files of moshead processes that no longer run
/// (names made by [`temp_name`] only; nothing else is touched). Returns the
/// names removed.
pub fn remove_stale_temps(dir: &Path) -> Vec<String> {
    let mut removed = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return removed;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(pid) = temp_owner(name) {
            if !alive(pid) && std::fs::remove_file(e.path()).is_ok() {
                removed.push(name.to_owned());
            }
        }
    }
    removed
}

/// Syncs the directory `dir` (so renames in it are durable).
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_own_temporary_names_are_recognised() {
        let t = temp_name("m.json");
        assert_eq!(temp_owner(&t), Some(std::process::id()));
        assert_eq!(temp_owner(".m.json.tmp-moshead-12-0"), Some(12));
        for other in [
            ".thesis.tmp-draft",
            ".m.json.tmp-123",
            "m.json.tmp-moshead-1-2",
            ".tmp-moshead-1-2",
            ".m.tmp-moshead-1-",
            ".m.tmp-moshead-x-1",
        ] {
            assert_eq!(temp_owner(other), None, "{other}");
        }
    }

    #[test]
    fn links_fifos_and_existing_temporaries_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::write(&target, "keep").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let e = open_rw(&link, false).unwrap_err();
        assert!(e.to_string().contains("is a symbolic link"), "{e}");
        let e = open_rw(&link, true).unwrap_err();
        assert!(e.to_string().contains("is a symbolic link"), "{e}");
        assert!(create_new(&link).is_err());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = open_rw(&fifo, true).unwrap_err();
        assert!(e.to_string().contains("is a FIFO (named pipe)"), "{e}");
        let e = open_read(&fifo).unwrap_err();
        assert!(e.to_string().contains("is a FIFO (named pipe)"), "{e}");
    }

    #[test]
    fn stale_temporaries_of_dead_processes_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        for n in [".thesis.tmp-draft", ".m.json.tmp-4194304000-1", "notes.txt"] {
            std::fs::write(dir.path().join(n), "x").unwrap();
        }
        let mine = temp_name("m.json");
        std::fs::write(dir.path().join(&mine), "x").unwrap();
        // pid 2^31-1 is beyond Linux's pid_max: never alive.
        let dead = ".m.onnx.tmp-moshead-2147483647-0";
        std::fs::write(dir.path().join(dead), "x").unwrap();
        assert_eq!(remove_stale_temps(dir.path()), [dead]);
        for n in [".thesis.tmp-draft", "notes.txt", mine.as_str()] {
            assert!(dir.path().join(n).exists(), "{n}");
        }
    }
}
