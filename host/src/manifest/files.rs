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
#[derive(Debug)]
pub struct OutputLock {
    _file: fs::File,
}

/// The lock file's name.
pub const LOCK_FILE: &str = ".moshead.lock";

impl OutputLock {
    /// Takes the lock on `dir` (created if needed), or fails at once with a
    /// message naming the directory and the holder's pid.
    pub fn acquire(dir: &Path) -> Result<OutputLock, String> {
        Self::acquire_within(dir, std::time::Duration::ZERO)
    }

    /// Like [`OutputLock::acquire`], retrying for up to `wait`.
    pub fn acquire_within(dir: &Path, wait: std::time::Duration) -> Result<OutputLock, String> {
        fs::create_dir_all(dir).map_err(|e| format!("{}: cannot create: {e}", dir.display()))?;
        let path = dir.join(LOCK_FILE);
        let mut file = crate::safe_fs::open_rw(&path, false).map_err(|e| e.to_string())?;
        let start = std::time::Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(fs::TryLockError::WouldBlock) if start.elapsed() < wait => {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                Err(fs::TryLockError::WouldBlock) => {
                    let mut holder = String::new();
                    let _ = std::io::Read::read_to_string(&mut file, &mut holder);
                    return Err(format!(
                        "another moshead run is writing to {} (lock {} held by pid {}); wait for it or choose another --out",
                        dir.display(),
                        path.display(),
                        holder.trim()
                    ));
                }
                Err(fs::TryLockError::Error(e)) => {
                    return Err(format!("{}: cannot lock: {e}", path.display()))
                }
            }
        }
        let _ = file.set_len(0);
        let _ = std::io::Seek::rewind(&mut file);
        let _ = write!(file, "{}", std::process::id());
        let _ = file.flush();
        // First complete an interrupted commit (its staged files are
        // temporaries of a dead process), then clean the rest.
        crate::commit::recover(dir).map_err(|e| e.to_string())?;
        crate::safe_fs::remove_stale_temps(dir);
        Ok(OutputLock { _file: file })
    }
}

/// Completes a commit interrupted in `dir`, if any (taking the output lock
/// for it, waiting up to 10 s for a run that is committing there). A
/// directory without one is not touched.
pub fn settle(dir: &Path) -> Result<(), String> {
    if crate::commit::pending(dir) {
        OutputLock::acquire_within(dir, std::time::Duration::from_secs(10))?;
    }
    Ok(())
}
