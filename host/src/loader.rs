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

/// Why bytes are not a complete ELF shared object ([`check_elf`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ElfError {
    /// No ELF magic number: not an ELF file at all.
    #[error("is not an ELF shared object (no ELF magic number)")]
    Magic,
    /// An ELF class other than 32 or 64 bits.
    #[error("is not an ELF shared object (unknown ELF class)")]
    Class,
    /// A byte order other than little or big endian.
    #[error("is not an ELF shared object (unknown byte order)")]
    ByteOrder,
    /// An ELF file of another type (an executable, an object file).
    #[error("is an ELF file but not a shared object (type {e_type}, a shared library is 3)")]
    NotShared {
        /// Its `e_type`.
        e_type: u64,
    },
    /// No program headers.
    #[error("is an ELF file without program headers: nothing to load")]
    NoProgramHeaders,
    /// A table or segment the headers name lies past the end of the bytes.
    #[error("is not a complete ELF shared object ({len} bytes): {cut} (truncated?)")]
    Truncated {
        /// The length of the bytes.
        len: usize,
        /// What lies past their end.
        cut: Cut,
    },
}

/// What of an ELF file lies past the end of its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Cut {
    /// The ELF header itself.
    Header,
    /// The program headers.
    ProgramHeaders,
    /// The section headers.
    SectionHeaders,
    /// A loadable segment.
    Segment {
        /// Its index among the program headers.
        index: u64,
        /// The byte it ends at.
        end: u64,
    },
}

impl std::fmt::Display for Cut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cut::Header => f.write_str("the ELF header is cut"),
            Cut::ProgramHeaders => f.write_str("its program headers lie past the end of the file"),
            Cut::SectionHeaders => f.write_str("its section headers lie past the end of the file"),
            Cut::Segment { index, end } => write!(
                f,
                "loadable segment {index} ends at byte {end}, past the end of the file"
            ),
        }
    }
}

/// Checks that `bytes` are a complete ELF shared object before the dynamic
/// loader maps them: a truncated copy (a half-finished download or copy)
/// would be mapped past its end, and the first touch of a missing page
/// kills the process with SIGBUS and no message. Every table and loadable
/// segment the headers name must lie inside the bytes; all arithmetic on
/// the header's counts and offsets is checked.
pub fn check_elf(bytes: &[u8]) -> Result<(), ElfError> {
    let too_short = |cut: Cut| ElfError::Truncated {
        len: bytes.len(),
        cut,
    };
    if bytes.get(..4) != Some(b"\x7fELF") {
        return Err(ElfError::Magic);
    }
    let wide = match bytes.get(4) {
        Some(1) => false,
        Some(2) => true,
        _ => return Err(ElfError::Class),
    };
    let little = match bytes.get(5) {
        Some(1) => true,
        Some(2) => false,
        _ => return Err(ElfError::ByteOrder),
    };
    let int = |at: usize, n: usize| -> Option<u64> {
        let b = bytes.get(at..at.checked_add(n)?)?;
        let mut v = 0u64;
        for i in 0..n {
            let byte = if little { b[n - 1 - i] } else { b[i] };
            v = (v << 8) | u64::from(byte);
        }
        Some(v)
    };
    let word = if wide { 8 } else { 4 };
    // e_type, then e_phoff/e_shoff and the table sizes (ELF32 and ELF64
    // differ only in the width of the addresses and offsets).
    let e_type = int(16, 2).ok_or_else(|| too_short(Cut::Header))?;
    if e_type != 3 {
        return Err(ElfError::NotShared { e_type });
    }
    let after_entry = 24 + word;
    let header = || too_short(Cut::Header);
    let phoff = int(after_entry, word).ok_or_else(header)?;
    let shoff = int(after_entry + word, word).ok_or_else(header)?;
    let rest = after_entry + 2 * word + 4 + 2;
    let phentsize = int(rest, 2).ok_or_else(header)?;
    let phnum = int(rest + 2, 2).ok_or_else(header)?;
    let shentsize = int(rest + 4, 2).ok_or_else(header)?;
    let shnum = int(rest + 6, 2).ok_or_else(header)?;
    let len = bytes.len() as u64;
    let table_end =
        |off: u64, size: u64, n: u64| size.checked_mul(n).and_then(|t| t.checked_add(off));
    if phnum == 0 {
        return Err(ElfError::NoProgramHeaders);
    }
    if table_end(phoff, phentsize, phnum).is_none_or(|end| end > len) {
        return Err(too_short(Cut::ProgramHeaders));
    }
    if shnum > 0 && table_end(shoff, shentsize, shnum).is_none_or(|end| end > len) {
        return Err(too_short(Cut::SectionHeaders));
    }
    for i in 0..phnum {
        let at = table_end(phoff, phentsize, i)
            .and_then(|a| usize::try_from(a).ok())
            .ok_or_else(header)?;
        let p_type = int(at, 4).ok_or_else(header)?;
        // PT_LOAD: p_offset and p_filesz must lie in the file.
        if p_type != 1 {
            continue;
        }
        let (offset, filesz) = if wide {
            (int(at + 8, 8), int(at + 32, 8))
        } else {
            (int(at + 4, 4), int(at + 16, 4))
        };
        let (Some(offset), Some(filesz)) = (offset, filesz) else {
            return Err(header());
        };
        if offset.checked_add(filesz).is_none_or(|end| end > len) {
            return Err(too_short(Cut::Segment {
                index: i,
                end: offset.saturating_add(filesz),
            }));
        }
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_complete_shared_objects_pass() {
        // The C library is a real shared object on any Linux machine.
        let mut so = None;
        for dir in [
            "/lib/x86_64-linux-gnu",
            "/usr/lib/x86_64-linux-gnu",
            "/lib64",
            "/usr/lib",
        ] {
            let p = std::path::Path::new(dir).join("libc.so.6");
            if let Ok(b) = std::fs::read(&p) {
                so = Some(b);
                break;
            }
        }
        let so = so.expect("libc.so.6 in a system library directory");
        assert_eq!(check_elf(&so), Ok(()));
        for cut in [so.len() - 1, so.len() / 2, 64, 10] {
            let e = check_elf(&so[..cut]).unwrap_err().to_string();
            assert!(
                e.contains("not a complete ELF shared object") && e.contains("truncated"),
                "{cut}: {e}"
            );
        }
        assert!(check_elf(b"\x7fELF")
            .unwrap_err()
            .to_string()
            .contains("unknown ELF class"));
        assert!(check_elf(b"#!/bin/sh\n")
            .unwrap_err()
            .to_string()
            .contains("no ELF magic"));
        // Counts and offsets past any size are refused, not overflowed.
        let mut hostile = so[..64].to_vec();
        hostile[32..40].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(check_elf(&hostile).is_err());
    }
}
