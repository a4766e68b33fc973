//! Safe output files: atomic writes, the output directory's lock, and the
//! adapter's default output directory.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` atomically: a temporary file of moshead's own
/// naming in the same directory (created with `O_EXCL`, never through a
/// link), flushed and synced, then renamed over the final name. A crash
/// leaves either the old file or the new one, never a half-written file
/// under the final name. (A run's output set is committed as a whole by
/// [`crate::commit`].)
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let tmp = dir.join(crate::safe_fs::temp_name(name));
    let result = (|| {
        let mut f = crate::safe_fs::create_new(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// The adapter's default output directory: its environment override when
/// set and non-empty, else its declared directory.
pub fn default_output_dir(d: &moshead_protocol::Descriptor) -> PathBuf {
    d.output_env
        .as_deref()
        .and_then(std::env::var_os)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(&d.output_dir))
}

/// An exclusive lock on an output directory, held for the life of a run, so
/// two runs into one directory cannot interleave their writes.
///
/// The lock is an OS file lock on `<dir>/.moshead.lock` (released by the OS
/// when the process dies, even by SIGKILL), opened without following a
/// link (a symbolic link there is an error naming it). While holding it,
/// a commit interrupted in the directory is completed ([`crate::commit`])
/// and the temporary files of moshead processes that no longer run are
/// removed (only names of moshead's own making, [`crate::safe_fs`]).
///
/// When the lock created the directory and, on release, the directory
/// holds nothing but the lock (the run committed nothing), the lock file
/// and the directories it created are removed: a failed run into a new
/// directory leaves nothing behind.
#[derive(Debug)]
pub struct OutputLock {
    _file: fs::File,
    path: PathBuf,
    /// The directories the lock created, deepest first.
    created: Vec<PathBuf>,
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        let Some(dir) = self.created.first() else {
            return;
        };
        let only_lock = fs::read_dir(dir).is_ok_and(|entries| {
            entries
                .map(|e| e.map(|e| e.file_name()))
                .all(|n| n.is_ok_and(|n| n == LOCK_FILE))
        });
        if only_lock && fs::remove_file(&self.path).is_ok() {
            for d in &self.created {
                // Only an empty directory is removed.
                if fs::remove_dir(d).is_err() {
                    break;
                }
            }
        }
    }
}

/// Why an output directory cannot be locked ([`OutputLock`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LockError {
    /// The directory cannot be created.
    #[error("{}: cannot create: {error}", dir.display())]
    Create {
        /// The directory.
        dir: PathBuf,
        /// The error.
        error: std::io::Error,
    },
    /// The lock file cannot be opened (a link, a directory, ...).
    #[error("{0}")]
    Open(crate::safe_fs::SafeOpenError),
    /// Another run holds the lock.
    #[error("another moshead run is writing to {} (lock {} held by pid {pid}); wait for it or choose another --out", dir.display(), lock.display())]
    Held {
        /// The directory.
        dir: PathBuf,
        /// The lock file.
        lock: PathBuf,
        /// The holder's pid, as it wrote it.
        pid: String,
    },
    /// The lock file cannot be locked.
    #[error("{}: cannot lock: {error}", lock.display())]
    Lock {
        /// The lock file.
        lock: PathBuf,
        /// The error.
        error: std::io::Error,
    },
    /// A commit interrupted in the directory cannot be completed.
    #[error("{0}")]
    Recover(#[from] crate::commit::CommitError),
}

/// The lock file's name.
pub const LOCK_FILE: &str = ".moshead.lock";

impl OutputLock {
    /// Takes the lock on `dir` (created if needed), or fails at once with a
    /// message naming the directory and the holder's pid.
    pub fn acquire(dir: &Path) -> Result<OutputLock, LockError> {
        Self::acquire_within(dir, std::time::Duration::ZERO)
    }

    /// Like [`OutputLock::acquire`], retrying for up to `wait`.
    pub fn acquire_within(dir: &Path, wait: std::time::Duration) -> Result<OutputLock, LockError> {
        let created: Vec<PathBuf> = dir
            .ancestors()
            .filter(|d| !d.as_os_str().is_empty())
            .take_while(|d| fs::symlink_metadata(d).is_err())
            .map(Path::to_path_buf)
            .collect();
        fs::create_dir_all(dir).map_err(|error| LockError::Create {
            dir: dir.to_path_buf(),
            error,
        })?;
        let path = dir.join(LOCK_FILE);
        let file = crate::safe_fs::open_rw(&path, false).map_err(LockError::Open);
        let mut lock = match file {
            Ok(file) => OutputLock {
                _file: file,
                path,
                created,
            },
            Err(e) => {
                for d in &created {
                    let _ = fs::remove_dir(d);
                }
                return Err(e);
            }
        };
        let (file, path) = (&mut lock._file, &lock.path);
        let start = std::time::Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(fs::TryLockError::WouldBlock) if start.elapsed() < wait => {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                Err(fs::TryLockError::WouldBlock) => {
                    let mut holder = String::new();
                    let _ = std::io::Read::read_to_string(
                        &mut std::io::Read::take(&mut *file, 64),
                        &mut holder,
                    );
                    return Err(LockError::Held {
                        dir: dir.to_path_buf(),
                        lock: path.clone(),
                        pid: holder.trim().to_owned(),
                    });
                }
                Err(fs::TryLockError::Error(error)) => {
                    return Err(LockError::Lock {
                        lock: path.clone(),
                        error,
                    })
                }
            }
        }
        let _ = file.set_len(0);
        let _ = std::io::Seek::rewind(file);
        let _ = write!(file, "{}", std::process::id());
        let _ = file.flush();
        // First complete an interrupted commit (its staged files are
        // temporaries of a dead process), then clean the rest.
        crate::commit::recover(dir)?;
        crate::safe_fs::remove_stale_temps(dir);
        Ok(lock)
    }
}

/// For a read-only command (`predict`, `validate`, `ledger`): checks that
/// `dir` holds no commit decided but not applied. A run committing there
/// at this moment is waited for (up to 10 s, through a shared lock on its
/// existing lock file; nothing is created); a journal still there after
/// that is reported with what completes it, and never applied: only a
/// command that writes into the directory applies one.
pub fn settle(dir: &Path) -> Result<(), crate::commit::CommitError> {
    if !crate::commit::pending(dir) {
        return Ok(());
    }
    if let Ok(lock) =
        crate::safe_fs::open_read_with(&dir.join(LOCK_FILE), crate::safe_fs::Links::Refuse)
    {
        let start = std::time::Instant::now();
        while matches!(lock.try_lock_shared(), Err(fs::TryLockError::WouldBlock))
            && start.elapsed() < std::time::Duration::from_secs(10)
        {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
    crate::commit::check_settled(dir)
}
