//! Plugin discovery, loading and selection.
//!
//! Discovery order (first match of a name wins only if no other file claims
//! it; two files with one name are an error):
//!
//! 1. every `--plugin-dir DIR`, in the order given;
//! 2. every entry of `MOSHEAD_PLUGIN_PATH` (`:`-separated on Unix);
//! 3. the directory of the running executable (so `cargo build` / `cargo
//!    run` output works without flags);
//! 4. `<prefix>/lib/moshead/plugins`, where `<prefix>` is the parent of the
//!    executable's directory, and `$XDG_DATA_HOME/moshead/plugins`
//!    (default `~/.local/share/moshead/plugins`).
//!
//! The current directory is never searched implicitly. Each plugin file is
//! read once; its bytes are hashed and checked before any of its code runs,
//! and those bytes are what is loaded ([`crate::loader`]), through its own
//! library header (`init_root_module`, never abi_stable's per-type cache).
//! It stays loaded for the life of the process.

use std::collections::BTreeMap;
use std::env::consts::{DLL_PREFIX, DLL_SUFFIX};
use std::fs;
use std::path::{Path, PathBuf};

mod adapter;
mod search;
mod selector;
mod study;

pub use adapter::Adapter;
pub use search::{adapter_name_of_file, is_library_name, search_dirs, SearchDir};
pub use selector::{SelectError, Selector};
pub use study::{find_study, is_study_path, read_study, StudySource, INTERPRETER};

use crate::trust::{check_directory, check_plugin_file, Pins, TrustPolicy, PIN_FILE};

/// Errors of loading, checking or calling a plugin.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PluginError {
    /// An explicit plugin directory is missing or unreadable.
    #[error("plugin directory {path}: {reason}")]
    Directory {
        /// The directory.
        path: PathBuf,
        /// Why it cannot be read.
        reason: String,
    },
    /// The file could not be loaded as a moshead plugin.
    #[error("{path}: {reason}")]
    Load {
        /// The library file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
        /// Whether the file is a library without a moshead root module (a
        /// warning during discovery rather than a refusal).
        not_a_plugin: bool,
    },
    /// The plugin's API version or ABI is incompatible with the host.
    #[error("{path}: refused: {reason}")]
    Incompatible {
        /// The library file.
        path: PathBuf,
        /// Both versions, or the layout mismatch.
        reason: String,
    },
    /// The plugin's descriptor is malformed.
    #[error("{path}: refused: malformed descriptor: {}", problems.join("; "))]
    BadDescriptor {
        /// The library file.
        path: PathBuf,
        /// Every problem found.
        problems: Vec<String>,
    },
    /// The trust policy refuses the file (permissions, ownership, pins).
    #[error("{path}: refused: {reason}")]
    Untrusted {
        /// The library file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A study file cannot be read or is refused (its reason names the
    /// line and key).
    #[error("{}", if reason.starts_with(&path.display().to_string()) { reason.clone() } else { format!("{}: {reason}", path.display()) })]
    BadStudy {
        /// The study file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A pin file is malformed.
    #[error(transparent)]
    Pins(#[from] crate::trust::PinError),
    /// Two plugin files declare the same adapter name.
    #[error("two plugins are named `{name}`: {} and {}", first.display(), second.display())]
    Duplicate {
        /// The adapter name.
        name: String,
        /// The first file.
        first: PathBuf,
        /// The second file.
        second: PathBuf,
    },
    /// A plugin entry point returned an error (a caught panic included).
    #[error("adapter `{adapter}`: {error}")]
    Call {
        /// The adapter name.
        adapter: String,
        /// The plugin's error.
        error: moshead_protocol::PluginError,
    },
}

/// A problem found during discovery that did not stop it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    /// The file or directory concerned.
    pub path: PathBuf,
    /// What happened.
    pub message: String,
    /// `refused` for plugins that were recognised but not accepted;
    /// `skipped` for files that are not moshead plugins; `missing` for
    /// implicit directories that do not exist are not reported.
    pub kind: &'static str,
}

/// The adapters found on the search path (all of them, or those named for
/// one adapter).
#[derive(Debug, Default)]
pub struct Registry {
    adapters: Vec<Adapter>,
    /// Files skipped or refused, and unreadable implicit directories.
    pub diagnostics: Vec<Diagnostic>,
    /// Only the files named for this adapter were loaded.
    only: Option<String>,
    /// The adapter names of every library file seen, by file name.
    seen: std::collections::BTreeSet<String>,
    /// `--adapter` values naming a study file, mapped to the study's name.
    aliases: BTreeMap<String, String>,
}

/// Loads the plugin `file`, named for adapter `for_name`, checking its
/// permissions (unless `policy` allows insecure plugins) and `pins` before it
/// is mapped and its name and version against them after.
fn load_file(
    file: &Path,
    for_name: &str,
    policy: &TrustPolicy,
    pins: &[&Pins],
) -> Result<Adapter, PluginError> {
    let precheck = |sha: &str| -> Result<(), String> {
        if !policy.allow_insecure {
            check_plugin_file(file).map_err(|e| e.to_string())?;
        }
        for p in pins {
            if !p.by_sha.contains_key(sha) {
                return Err(format!(
                    "sha256 {sha} is not pinned in {}",
                    p.source.display()
                ));
            }
        }
        Ok(())
    };
    Adapter::load_checked(file, &precheck).and_then(|a| {
        if a.name() != for_name {
            return Err(PluginError::Untrusted {
                path: file.to_path_buf(),
                reason: format!(
                    "declares adapter `{}`, but its file is named for `{for_name}` (name the file {DLL_PREFIX}{}{DLL_SUFFIX})",
                    a.name(),
                    a.name().replace('-', "_")
                ),
            });
        }
        for p in pins {
            if let Some(pin) = p.by_sha.get(&a.sha256) {
                if pin.name != a.name() || pin.version != a.descriptor.version {
                    return Err(PluginError::Untrusted {
                        path: file.to_path_buf(),
                        reason: format!(
                            "declares {} {} but {} pins this file as {} {}",
                            a.name(),
                            a.descriptor.version,
                            p.source.display(),
                            pin.name,
                            pin.version
                        ),
                    });
                }
            }
        }
        Ok(a)
    })
}

impl Registry {
    /// Discovers and loads every plugin on `dirs` (`moshead adapters`).
    ///
    /// Fails on an explicit directory that cannot be read and on two plugin
    /// files for one adapter; files that are not moshead plugins, and
    /// plugins refused for their ABI, API version, descriptor or a declared
    /// name other than their file's, become diagnostics.
    pub fn discover(dirs: &[SearchDir], policy: &TrustPolicy) -> Result<Registry, PluginError> {
        Self::discover_only(dirs, policy, None)
    }

    /// Like [`Registry::discover`], but loads only the files named for
    /// adapter `name` (`libchug_hdr.so` for `chug-hdr`): no other plugin's
    /// code runs.
    pub fn discover_named(
        dirs: &[SearchDir],
        policy: &TrustPolicy,
        name: &str,
    ) -> Result<Registry, PluginError> {
        Self::discover_only(dirs, policy, Some(name))
    }

    fn discover_only(
        dirs: &[SearchDir],
        policy: &TrustPolicy,
        only: Option<&str>,
    ) -> Result<Registry, PluginError> {
        let mut reg = Registry {
            only: only.map(str::to_owned),
            ..Registry::default()
        };
        let mut by_name: BTreeMap<String, PathBuf> = BTreeMap::new();
        for dir in dirs {
            if let Some(why) = &dir.ignored {
                reg.diagnostics.push(Diagnostic {
                    path: dir.path.clone(),
                    message: why.clone(),
                    kind: "ignored",
                });
                continue;
            }
            if !dir.path.is_dir() && !dir.explicit {
                continue;
            }
            if dir.path.is_dir() && !policy.allow_insecure {
                if let Err(reason) = check_directory(&dir.path, "plugin directory") {
                    reg.diagnostics.push(Diagnostic {
                        path: dir.path.clone(),
                        message: reason.to_string(),
                        kind: "refused",
                    });
                    continue;
                }
            }
            let pin_path = dir.path.join(PIN_FILE);
            let dir_pins = if pin_path.is_file() {
                Some(Pins::load(&pin_path)?)
            } else {
                None
            };
            let entries = match fs::read_dir(&dir.path) {
                Ok(e) => e,
                Err(e) if dir.explicit => {
                    return Err(PluginError::Directory {
                        path: dir.path.clone(),
                        reason: if e.kind() == std::io::ErrorKind::NotFound {
                            "does not exist".into()
                        } else {
                            e.to_string()
                        },
                    })
                }
                Err(_) => continue,
            };
            let mut files: Vec<PathBuf> = entries
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(is_library_name)
                })
                .collect();
            files.sort();
            for file in files {
                let Some(for_name) = file
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(adapter_name_of_file)
                else {
                    continue;
                };
                reg.seen.insert(for_name.clone());
                if only.is_some_and(|n| n != for_name) {
                    continue;
                }
                // Two files for one adapter: an error before either runs.
                if let Some(first) = by_name.get(&for_name) {
                    return Err(PluginError::Duplicate {
                        name: for_name,
                        first: first.clone(),
                        second: file,
                    });
                }
                by_name.insert(for_name.clone(), file.clone());
                let pins = policy.pins.as_ref().into_iter().chain(dir_pins.as_ref());
                let pins: Vec<&Pins> = pins.collect();
                let loaded = load_file(&file, &for_name, policy, &pins);
                match loaded {
                    Ok(adapter) => reg.adapters.push(adapter),
                    Err(e) => reg.diagnostics.push(Diagnostic {
                        path: file,
                        kind: match &e {
                            PluginError::Load {
                                not_a_plugin: true, ..
                            } => "skipped",
                            _ => "refused",
                        },
                        message: e.to_string(),
                    }),
                }
            }
        }
        reg.adapters.sort_by(|a, b| a.name().cmp(b.name()));
        Ok(reg)
    }

    /// The loaded adapters, sorted by name.
    pub fn adapters(&self) -> &[Adapter] {
        &self.adapters
    }

    /// Loads the study file an adapter selection names, served by the
    /// built-in study plugin: `./path/study.toml` directly (the selection's
    /// text then selects it), or `NAME.toml` on the search path when no
    /// plugin file is named for `NAME`, else `recorded` (the path a model's
    /// manifest records). The registry then holds the study's adapter in
    /// place of the interpreter's.
    pub fn discover_study(
        dirs: &[SearchDir],
        policy: &TrustPolicy,
        selection: &str,
        recorded: Option<&std::path::Path>,
    ) -> Result<Option<Registry>, PluginError> {
        let (path, alias) = if is_study_path(selection) {
            (PathBuf::from(selection), Some(selection.to_owned()))
        } else {
            match find_study(dirs, selection)? {
                Some(p) => (p, None),
                None => match recorded {
                    Some(p) => (p.to_path_buf(), None),
                    None => return Ok(None),
                },
            }
        };
        let source = read_study(&path, policy)?;
        let study = source.study()?;
        if alias.is_none() && study.name != selection {
            return Err(PluginError::BadStudy {
                path,
                reason: format!(
                    "declares study `{}`, but was found for `{selection}` (name the file {}.toml, or pass its path)",
                    study.name, study.name
                ),
            });
        }
        let mut reg = Self::discover_only(dirs, policy, Some(INTERPRETER))?;
        let Some(i) = reg.adapters.iter().position(|a| a.name() == INTERPRETER) else {
            return Err(PluginError::BadStudy {
                path,
                reason: format!(
                    "is served by the built-in `{INTERPRETER}` plugin ({DLL_PREFIX}{INTERPRETER}{DLL_SUFFIX}), which is not on the plugin search path (see `moshead adapters --paths`){}",
                    reg.diagnostics.iter().map(|d| format!("; {}", d.message)).collect::<String>()
                ),
            });
        };
        let interpreter = reg.adapters.remove(i);
        let adapter = interpreter.for_study(source, &study)?;
        if let Some(a) = alias {
            reg.aliases.insert(a, adapter.name().to_owned());
        }
        reg.adapters.push(adapter);
        reg.adapters.sort_by(|a, b| a.name().cmp(b.name()));
        Ok(Some(reg))
    }

    /// Selects an adapter by name and optional version requirement.
    pub fn select(&self, sel: &Selector) -> Result<&Adapter, SelectError> {
        let name = self.aliases.get(&sel.name).unwrap_or(&sel.name);
        let Some(a) = self.adapters.iter().find(|a| a.name() == name) else {
            return Err(SelectError::Unknown {
                name: sel.name.clone(),
                // Only one adapter's files were loaded: name the others by
                // their files, without running them.
                available: match &self.only {
                    Some(_) => self.seen.iter().cloned().collect(),
                    None => self
                        .adapters
                        .iter()
                        .map(|a| format!("{} {}", a.name(), a.descriptor.version))
                        .collect(),
                },
                refused: self
                    .diagnostics
                    .iter()
                    .filter(|d| d.kind == "refused")
                    .map(|d| d.message.clone())
                    .collect(),
            });
        };
        if let Some(req) = &sel.requirement {
            let found = a.version();
            if !req.matches(&found) {
                return Err(SelectError::Version {
                    name: sel.name.clone(),
                    found,
                    requirement: req.clone(),
                    path: a.path.clone(),
                });
            }
        }
        Ok(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn selectors_parse() {
        let s: Selector = "konvid@^1.2".parse().unwrap();
        assert_eq!(s.name, "konvid");
        assert_eq!(s.requirement.unwrap().to_string(), "^1.2");
        assert!("konvid@not-a-req".parse::<Selector>().is_err());
        assert!("@1".parse::<Selector>().is_err());
        assert_eq!("chug-hdr".parse::<Selector>().unwrap().requirement, None);
    }

    #[test]
    fn files_are_named_for_their_adapter() {
        let f = |n: &str| adapter_name_of_file(&format!("{DLL_PREFIX}{n}{DLL_SUFFIX}"));
        assert_eq!(f("chug_hdr").as_deref(), Some("chug-hdr"));
        assert_eq!(f("my_corpus").as_deref(), Some("my-corpus"));
        assert_eq!(adapter_name_of_file("chug_hdr.txt"), None);
    }

    #[test]
    fn library_names() {
        assert!(is_library_name(&format!("{DLL_PREFIX}konvid{DLL_SUFFIX}")));
        assert!(!is_library_name(&format!("{DLL_PREFIX}konvid.rlib")));
        assert!(!is_library_name(&format!("{DLL_PREFIX}{DLL_SUFFIX}")));
    }

    #[test]
    fn search_path_order_and_dedup() {
        let dirs = search_dirs(
            &[PathBuf::from("/a"), PathBuf::from("/a")],
            Some(std::ffi::OsStr::new("/b::/c")),
        );
        let origins: Vec<_> = dirs.iter().map(|d| (d.path.clone(), d.origin)).collect();
        assert_eq!(origins[0], (PathBuf::from("/a"), "--plugin-dir"));
        assert_eq!(origins[1], (PathBuf::from("/b"), "MOSHEAD_PLUGIN_PATH"));
        assert_eq!(origins[2], (PathBuf::from("/c"), "MOSHEAD_PLUGIN_PATH"));
        assert_eq!(origins[3].1, "executable directory");
        assert!(
            !dirs.iter().any(|d| d.path == Path::new(".")),
            "never the current directory"
        );
    }

    #[test]
    fn relative_environment_entries_are_ignored_and_plugin_dirs_resolved() {
        let dirs = search_dirs(
            &[PathBuf::from("rel")],
            Some(std::ffi::OsStr::new(".::./:plugins:/abs")),
        );
        assert!(dirs[0].path.is_absolute() && dirs[0].path.ends_with("rel"));
        let env: Vec<_> = dirs
            .iter()
            .filter(|d| d.origin == "MOSHEAD_PLUGIN_PATH")
            .map(|d| (d.path.display().to_string(), d.ignored.is_some()))
            .collect();
        assert_eq!(
            env,
            [
                (".".to_owned(), true),
                ("./".to_owned(), true),
                ("plugins".to_owned(), true),
                ("/abs".to_owned(), false)
            ]
        );
    }

    #[test]
    fn missing_explicit_directory_is_an_error() {
        let dirs = [SearchDir {
            path: PathBuf::from("/definitely/not/here"),
            origin: "--plugin-dir",
            explicit: true,
            ignored: None,
        }];
        let err = Registry::discover(&dirs, &TrustPolicy::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/definitely/not/here") && err.contains("does not exist"),
            "{err}"
        );
    }
}
