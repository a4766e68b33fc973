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
    dirs.extend(user_data_dir(
        std::env::var_os("XDG_DATA_HOME").as_deref(),
        std::env::var_os("HOME").as_deref(),
    ));
    // A directory reached twice is searched once, at its first position.
    let mut seen = std::collections::HashSet::new();
    dirs.retain(|d| {
        d.ignored.is_some()
            || seen.insert(fs::canonicalize(&d.path).unwrap_or_else(|_| d.path.clone()))
    });
    dirs
}

/// `$XDG_DATA_HOME/moshead/plugins`, else `$HOME/.local/share/moshead/plugins`.
/// As the XDG base directory specification says, a variable that is empty
/// or relative is invalid and ignored (a relative one is listed as ignored,
/// never searched: it would name a directory under the current one).
fn user_data_dir(
    xdg_data_home: Option<&std::ffi::OsStr>,
    home: Option<&std::ffi::OsStr>,
) -> Vec<SearchDir> {
    let entry = |path: PathBuf, ignored: Option<String>| SearchDir {
        path,
        origin: "user data",
        explicit: false,
        ignored,
    };
    let mut out = Vec::new();
    for (var, value, sub) in [
        ("XDG_DATA_HOME", xdg_data_home, Path::new("")),
        ("HOME", home, Path::new(".local/share")),
    ] {
        let Some(v) = value.filter(|v| !v.is_empty()) else {
            continue;
        };
        let path = Path::new(v).join(sub).join("moshead").join("plugins");
        if Path::new(v).is_absolute() {
            out.push(entry(path, None));
            return out;
        }
        let reason = format!(
            "{var} `{}` is relative: ignored (it must be absolute; the current directory is never searched)",
            Path::new(v).display()
        );
        out.push(entry(path, Some(reason)));
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    fn dirs(xdg: Option<&str>, home: Option<&str>) -> Vec<(String, bool)> {
        user_data_dir(xdg.map(OsStr::new), home.map(OsStr::new))
            .into_iter()
            .map(|d| (d.path.display().to_string(), d.ignored.is_some()))
            .collect()
    }

    #[test]
    fn user_data_comes_only_from_absolute_variables() {
        let p = |s: &str| (s.to_owned(), false);
        let ign = |s: &str| (s.to_owned(), true);
        assert_eq!(dirs(Some("/x"), Some("/h")), [p("/x/moshead/plugins")]);
        assert_eq!(
            dirs(None, Some("/h")),
            [p("/h/.local/share/moshead/plugins")]
        );
        assert_eq!(
            dirs(Some(""), Some("/h")),
            [p("/h/.local/share/moshead/plugins")]
        );
        assert_eq!(
            dirs(Some("."), Some("/h")),
            [
                ign("./moshead/plugins"),
                p("/h/.local/share/moshead/plugins")
            ]
        );
        assert_eq!(
            dirs(Some("rel"), Some("home")),
            [
                ign("rel/moshead/plugins"),
                ign("home/.local/share/moshead/plugins")
            ]
        );
        assert!(dirs(None, None).is_empty());
    }
}
