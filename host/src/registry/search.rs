//! The plugin search path and how a library's file name names its adapter.

use std::env::consts::{DLL_PREFIX, DLL_SUFFIX};
use std::fs;
use std::path::{Path, PathBuf};

/// Where plugins are looked for, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SearchDir {
    /// The directory.
    pub path: PathBuf,
    /// Which rule put it on the list (`--plugin-dir`, `MOSHEAD_PLUGIN_PATH`,
    /// `executable directory`, `install prefix`, `user data`).
    pub origin: &'static str,
    /// Explicit directories must exist; implicit ones may be absent.
    pub explicit: bool,
    /// Why the entry is not searched (a relative `MOSHEAD_PLUGIN_PATH`
    /// entry), if it is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignored: Option<String>,
}

/// The ordered plugin search path.
///
/// A relative `--plugin-dir` is resolved against the working directory (the
/// operator named it on the command line). `MOSHEAD_PLUGIN_PATH` takes
/// absolute directories only: an empty entry is dropped and a relative one
/// (`.`, `./`, `plugins`) is listed as ignored and never searched, so the
/// current directory is never searched through the environment.
pub fn search_dirs(plugin_dirs: &[PathBuf], env_path: Option<&std::ffi::OsStr>) -> Vec<SearchDir> {
    let mut dirs = Vec::new();
    for d in plugin_dirs {
        dirs.push(SearchDir {
            path: std::path::absolute(d).unwrap_or_else(|_| d.clone()),
            origin: "--plugin-dir",
            explicit: true,
            ignored: None,
        });
    }
    if let Some(p) = env_path {
        for d in std::env::split_paths(p).filter(|d| !d.as_os_str().is_empty()) {
            let ignored = d.is_relative().then(|| {
                format!(
                    "MOSHEAD_PLUGIN_PATH entry `{}` is relative: ignored (the entries must be absolute; the current directory is never searched)",
                    d.display()
                )
            });
            dirs.push(SearchDir {
                path: d,
                origin: "MOSHEAD_PLUGIN_PATH",
                explicit: true,
                ignored,
            });
        }
    }
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        if let Some(prefix) = exe_dir.parent() {
            dirs.push(SearchDir {
                path: exe_dir.clone(),
                origin: "executable directory",
                explicit: false,
                ignored: None,
            });
            dirs.push(SearchDir {
                path: prefix.join("lib").join("moshead").join("plugins"),
                origin: "install prefix",
                explicit: false,
                ignored: None,
            });
        }
    }
    let data_home = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".local").join("share")));
    if let Some(d) = data_home {
        dirs.push(SearchDir {
            path: d.join("moshead").join("plugins"),
            origin: "user data",
            explicit: false,
            ignored: None,
        });
    }
    // A directory reached twice is searched once, at its first position.
    let mut seen = std::collections::HashSet::new();
    dirs.retain(|d| {
        d.ignored.is_some()
            || seen.insert(fs::canonicalize(&d.path).unwrap_or_else(|_| d.path.clone()))
    });
    dirs
}

/// Whether a file name looks like a shared library on this platform.
pub fn is_library_name(name: &str) -> bool {
    name.starts_with(DLL_PREFIX)
        && name.ends_with(DLL_SUFFIX)
        && name.len() > DLL_PREFIX.len() + DLL_SUFFIX.len()
}

/// The adapter a library file is for, by its name: `libchug_hdr.so` is
/// `chug-hdr` (`_` for `-`, as cargo names a cdylib). A command that names
/// an adapter loads only the files named for it.
pub fn adapter_name_of_file(file_name: &str) -> Option<String> {
    let stem = file_name
        .strip_prefix(DLL_PREFIX)?
        .strip_suffix(DLL_SUFFIX)?;
    (!stem.is_empty()).then(|| stem.replace('_', "-"))
}
