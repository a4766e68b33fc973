//! Loading a plugin library so that what was hashed is exactly what runs.
//!
//! The caller reads the library's bytes once, hashes them and checks the
//! hash against the pins; [`load_root_module`] then loads *those bytes*,
//! never the file again. On Linux they are copied into an anonymous,
//! sealed memory file (`memfd_create`) that the dynamic loader maps through
//! `/proc/self/fd/N`: renaming, replacing or rewriting the file on disk
//! after the hash cannot change the code that runs. Elsewhere the library
//! is loaded from its path after the check (a window remains there).

use std::path::Path;

use abi_stable::library::{lib_header_from_path, LibraryError};
use moshead_protocol::AdapterModRef;

/// Why the root module of a plugin could not be obtained.
#[derive(Debug)]
pub enum LoadFailure {
    /// The dynamic loader or abi_stable refused the library.
    Library(LibraryError),
    /// The private copy to load from could not be made.
    PrivateCopy(std::io::Error),
}

/// Loads `bytes` (read from `path`, already hashed and checked) and returns
/// its moshead root module.
#[cfg(target_os = "linux")]
pub fn load_root_module(bytes: &[u8], _path: &Path) -> Result<AdapterModRef, LoadFailure> {
    let fd = memfd::sealed_copy(bytes).map_err(LoadFailure::PrivateCopy)?;
    // The descriptor stays open for the life of the process, like the
    // library: the dynamic loader recognises loaded libraries by path, so a
    // reused `/proc/self/fd/N` would alias an earlier plugin.
    let at = format!("/proc/self/fd/{fd}");
    lib_header_from_path(Path::new(&at))
        .and_then(|h| h.init_root_module::<AdapterModRef>())
        .map_err(LoadFailure::Library)
}

/// Loads the library at `path` (already hashed and checked).
#[cfg(not(target_os = "linux"))]
pub fn load_root_module(_bytes: &[u8], path: &Path) -> Result<AdapterModRef, LoadFailure> {
    lib_header_from_path(path)
        .and_then(|h| h.init_root_module::<AdapterModRef>())
        .map_err(LoadFailure::Library)
}

#[cfg(target_os = "linux")]
mod memfd {
    use std::fs::File;
    use std::io::Write;
    use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, RawFd};

    fn create(flags: libc::c_uint) -> std::io::Result<File> {
        // SAFETY: a valid NUL-terminated name and plain flags; the result is
        // checked before use.
        let fd = unsafe { libc::memfd_create(c"moshead-plugin".as_ptr(), flags) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `fd` is a fresh descriptor that nothing else owns.
        Ok(unsafe { File::from_raw_fd(fd) })
    }

    /// `bytes` in a new memory file, sealed against any further change;
    /// returns its descriptor, which is never closed.
    pub fn sealed_copy(bytes: &[u8]) -> std::io::Result<RawFd> {
        const MFD_EXEC: libc::c_uint = 0x0010;
        let base = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
        // Kernels with `vm.memfd_noexec` want MFD_EXEC; older ones refuse
        // the unknown flag with EINVAL.
        let mut file = match create(base | MFD_EXEC) {
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => create(base)?,
            other => other?,
        };
        file.write_all(bytes)?;
        let seals =
            libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
        // The write seal fails with EBUSY while the kernel still holds
        // transient references to the freshly written pages (its per-CPU
        // page batches; it waits only about 150 ms for them itself): on a
        // loaded machine that happens, so it is retried, with growing
        // pauses, for about 3 s before it is an error.
        let mut attempt = 0u64;
        loop {
            // SAFETY: fcntl on a descriptor we own, with a valid command.
            if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_ADD_SEALS, seals) } == 0 {
                return Ok(file.into_raw_fd());
            }
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EBUSY) || attempt == 15 {
                return Err(e);
            }
            attempt += 1;
            std::thread::sleep(std::time::Duration::from_millis(25 * attempt));
        }
    }
}
