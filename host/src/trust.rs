//! Plugin trust: which library files the host is willing to load.
//!
//! Loading a library runs its code, so a plugin is refused *before* it is
//! opened when:
//!
//! - the file, or the directory holding it, is writable by users other than
//!   its owner (group- or world-writable), or is owned by neither the
//!   current user nor root — unless `--allow-insecure-plugins`; for a
//!   symlinked plugin, the directory of its final target is checked the
//!   same way;
//! - a directory above the plugin directory (or above a symlink target's
//!   directory) is writable by others and is not a sticky directory owned
//!   by root (`/tmp` is fine, a mode 0777 parent is not);
//! - a pin file applies and does not list the file's sha256.
//!
//! A pin file (`moshead-plugins.lock`) lists one plugin per line as
//! `name version sha256`; `#` starts a comment. It applies when named with
//! `--plugin-lock FILE` (or `MOSHEAD_PLUGIN_LOCK`), to every plugin, or when
//! it sits in a plugin directory, to the plugins of that directory. After
//! loading, the plugin's declared name and version must match its pin.
//! `moshead adapters lock` prints a pin file for the adapters found.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// The name of a pin file inside a plugin directory.
pub const PIN_FILE: &str = "moshead-plugins.lock";

/// One pinned plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// Adapter name.
    pub name: String,
    /// Plugin version.
    pub version: String,
}

/// A parsed pin file: sha256 -> pin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pins {
    /// The file it came from.
    pub source: PathBuf,
    /// Pins by library sha256.
    pub by_sha: BTreeMap<String, Pin>,
}

/// Errors of reading a pin file.
#[derive(Debug, thiserror::Error)]
#[error("{}{}: {reason}", path.display(), if *line > 0 { format!(":{line}") } else { String::new() })]
pub struct PinError {
    /// The pin file.
    pub path: PathBuf,
    /// 1-based line (0 for the whole file).
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// The most of a pin file moshead reads.
pub const PINS_MAX_BYTES: u64 = 16 << 20;

impl Pins {
    /// Reads a pin file (a regular file of at most [`PINS_MAX_BYTES`]; a
    /// FIFO or a device is refused, never waited on or read endlessly).
    pub fn load(path: &Path) -> Result<Pins, PinError> {
        let whole = |reason: String| PinError {
            path: path.to_path_buf(),
            line: 0,
            reason,
        };
        let bytes =
            crate::safe_fs::read_bounded(path, PINS_MAX_BYTES, crate::safe_fs::Links::Follow)
                .map_err(|e| whole(e.reason))?;
        let text = String::from_utf8(bytes).map_err(|e| whole(format!("not UTF-8 text: {e}")))?;
        Self::parse(path, &text)
    }

    /// Parses pin-file text (`path` is for messages).
    pub fn parse(path: &Path, text: &str) -> Result<Pins, PinError> {
        let mut by_sha = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let err = |reason: String| PinError {
                path: path.to_path_buf(),
                line: i + 1,
                reason,
            };
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [name, version, sha] = fields[..] else {
                return Err(err(format!(
                    "expected `name version sha256`, found {} field(s)",
                    fields.len()
                )));
            };
            if sha.len() != 64 || !sha.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(err(format!("`{sha}` is not a sha256 (64 hex digits)")));
            }
            if semver::Version::parse(version).is_err() {
                return Err(err(format!("`{version}` is not a semantic version")));
            }
            let pin = Pin {
                name: name.to_owned(),
                version: version.to_owned(),
            };
            if by_sha.insert(sha.to_ascii_lowercase(), pin).is_some() {
                return Err(err(format!("sha256 {sha} is pinned twice")));
            }
        }
        Ok(Pins {
            source: path.to_path_buf(),
            by_sha,
        })
    }

    /// Renders pins as a pin file.
    pub fn render(entries: &[(String, String, String)]) -> String {
        let mut out =
            String::from("# moshead-plugins.lock: name version sha256 (one plugin per line)\n");
        for (name, version, sha) in entries {
            out.push_str(&format!("{name} {version} {sha}\n"));
        }
        out
    }
}

/// What the host trusts.
#[derive(Debug, Clone, Default)]
pub struct TrustPolicy {
    /// Load plugins even from files or directories others can write.
    pub allow_insecure: bool,
    /// A pin file applying to every plugin.
    pub pins: Option<Pins>,
}

#[cfg(unix)]
fn current_uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

/// Who may write a file or directory, in the words of a refusal.
fn writers(mode: u32) -> &'static str {
    if mode & 0o002 != 0 {
        "every user"
    } else {
        "its group"
    }
}

/// Why a file or directory whose content decides what runs is not trusted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrustError {
    /// Its metadata cannot be read.
    #[error("{what} {}: {error}", path.display())]
    Unreadable {
        /// What it is (`plugin file`, `study file`, ...).
        what: String,
        /// The path.
        path: PathBuf,
        /// The error.
        error: std::io::Error,
    },
    /// A directory above it cannot be read.
    #[error("{}: {error}", path.display())]
    UnreadableAncestor {
        /// The directory.
        path: PathBuf,
        /// The error.
        error: std::io::Error,
    },
    /// Others may write it.
    #[error("{what} {} is writable by {} (mode {:o}); refusing to load plugins from it (--allow-insecure-plugins overrides)", path.display(), writers(*mode), mode & 0o7777)]
    Writable {
        /// What it is.
        what: String,
        /// The path.
        path: PathBuf,
        /// Its mode.
        mode: u32,
    },
    /// Neither the user nor root owns it.
    #[error("{what} {} is owned by uid {uid}, neither you (uid {me}) nor root; refusing to load it (--allow-insecure-plugins overrides)", path.display())]
    Owner {
        /// What it is.
        what: String,
        /// The path.
        path: PathBuf,
        /// Its owner.
        uid: u32,
        /// The user.
        me: u32,
    },
    /// A directory above it lets others replace it.
    #[error("{what} {} is inside {}, which is writable by {} (mode {:o}) and not a sticky directory owned by root, so others can replace it; refusing to load plugins from it (--allow-insecure-plugins overrides)", path.display(), ancestor.display(), writers(*mode), mode & 0o7777)]
    Ancestor {
        /// What it is.
        what: String,
        /// The path.
        path: PathBuf,
        /// The directory above it.
        ancestor: PathBuf,
        /// That directory's mode.
        mode: u32,
    },
    /// It is a symbolic link whose target cannot be resolved.
    #[error("{what} {}: symlink target: {error}", path.display())]
    Target {
        /// What it is.
        what: String,
        /// The path.
        path: PathBuf,
        /// The error.
        error: std::io::Error,
    },
    /// It is a symbolic link into a directory that is not trusted.
    #[error("{what} {} is a symlink to {}: its {inner}", path.display(), target.display())]
    Link {
        /// What it is.
        what: String,
        /// The path.
        path: PathBuf,
        /// Its final target.
        target: PathBuf,
        /// Why the target's directory is not trusted.
        inner: Box<TrustError>,
    },
}

/// Checks ownership and permissions of `path` (a plugin file or directory).
#[cfg(unix)]
pub fn check_permissions(path: &Path, what: &str) -> Result<(), TrustError> {
    use std::os::unix::fs::MetadataExt;
    let meta = fs::metadata(path).map_err(|error| TrustError::Unreadable {
        what: what.to_owned(),
        path: path.to_path_buf(),
        error,
    })?;
    let mode = meta.mode();
    if mode & 0o022 != 0 {
        return Err(TrustError::Writable {
            what: what.to_owned(),
            path: path.to_path_buf(),
            mode,
        });
    }
    let uid = meta.uid();
    let me = current_uid();
    if uid != me && uid != 0 {
        return Err(TrustError::Owner {
            what: what.to_owned(),
            path: path.to_path_buf(),
            uid,
            me,
        });
    }
    Ok(())
}

/// Permissions are not checked on this platform.
#[cfg(not(unix))]
pub fn check_permissions(_path: &Path, _what: &str) -> Result<(), TrustError> {
    Ok(())
}

/// Checks that no directory above `dir` lets others replace it: every
/// ancestor must be writable by its owner only, unless it is a sticky
/// directory owned by root (`/tmp`), where others cannot rename what they
/// do not own.
#[cfg(unix)]
pub fn check_ancestors(dir: &Path, what: &str) -> Result<(), TrustError> {
    use std::os::unix::fs::MetadataExt;
    let canonical = fs::canonicalize(dir).map_err(|error| TrustError::Unreadable {
        what: what.to_owned(),
        path: dir.to_path_buf(),
        error,
    })?;
    for parent in canonical.ancestors().skip(1) {
        let meta = fs::metadata(parent).map_err(|error| TrustError::UnreadableAncestor {
            path: parent.to_path_buf(),
            error,
        })?;
        let mode = meta.mode();
        let sticky_root = mode & 0o1000 != 0 && meta.uid() == 0;
        if mode & 0o022 != 0 && !sticky_root {
            return Err(TrustError::Ancestor {
                what: what.to_owned(),
                path: dir.to_path_buf(),
                ancestor: parent.to_path_buf(),
                mode,
            });
        }
    }
    Ok(())
}

/// Ancestors are not checked on this platform.
#[cfg(not(unix))]
pub fn check_ancestors(_dir: &Path, _what: &str) -> Result<(), TrustError> {
    Ok(())
}

/// A directory plugins are loaded from: its own permissions and its
/// ancestors'.
pub fn check_directory(dir: &Path, what: &str) -> Result<(), TrustError> {
    check_permissions(dir, what)?;
    check_ancestors(dir, what)
}

/// A plugin file: its own permissions (a symlink's target's), and, when it
/// is a symlink, the directory of its final target and that directory's
/// ancestors, exactly as a plugin directory is checked.
pub fn check_plugin_file(path: &Path) -> Result<(), TrustError> {
    check_loaded_file(path, "plugin file")
}

/// A file whose content decides what runs (a plugin, a study file), named
/// `what` in messages: checked as [`check_plugin_file`] says.
pub fn check_loaded_file(path: &Path, what: &str) -> Result<(), TrustError> {
    check_permissions(path, what)?;
    let is_link = fs::symlink_metadata(path)
        .map(|m| m.file_type().is_symlink())
        .unwrap_or(false);
    if !is_link {
        return Ok(());
    }
    let target = fs::canonicalize(path).map_err(|error| TrustError::Target {
        what: what.to_owned(),
        path: path.to_path_buf(),
        error,
    })?;
    let Some(dir) = target.parent() else {
        return Ok(());
    };
    check_directory(dir, "directory").map_err(|inner| TrustError::Link {
        what: what.to_owned(),
        path: path.to_path_buf(),
        target: target.clone(),
        inner: Box::new(inner),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_files_parse_and_report_lines() {
        let sha = "a".repeat(64);
        let p = Pins::parse(
            Path::new("x.lock"),
            &format!("# c\nkonvid 1.0.0 {sha} # built-in\n\n"),
        )
        .unwrap();
        assert_eq!(p.by_sha[&sha].name, "konvid");
        let e = Pins::parse(Path::new("x.lock"), "\nkonvid 1.0.0 nothex\n").unwrap_err();
        assert_eq!((e.line, e.to_string().contains("not a sha256")), (2, true));
        let e = Pins::parse(Path::new("x.lock"), &format!("konvid one {sha}\n")).unwrap_err();
        assert!(
            e.to_string()
                .contains("x.lock:1: `one` is not a semantic version"),
            "{e}"
        );
        let e = Pins::parse(Path::new("x.lock"), "konvid 1.0.0\n").unwrap_err();
        assert!(e.to_string().contains("found 2 field(s)"));
        let round = Pins::render(&[("a".into(), "1.0.0".into(), sha.clone())]);
        assert_eq!(Pins::parse(Path::new("r"), &round).unwrap().by_sha.len(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn writable_directories_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        assert!(check_permissions(d.path(), "plugin directory").is_ok());
        fs::set_permissions(d.path(), fs::Permissions::from_mode(0o777)).unwrap();
        let err = check_permissions(d.path(), "plugin directory")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("writable by every user") && err.contains("777"),
            "{err}"
        );
        fs::set_permissions(d.path(), fs::Permissions::from_mode(0o775)).unwrap();
        assert!(check_permissions(d.path(), "plugin directory")
            .unwrap_err()
            .to_string()
            .contains("its group"));
    }
}
