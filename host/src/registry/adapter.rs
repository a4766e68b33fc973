//! One loaded adapter plugin: loading and checking a file, and the calls
//! into it.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use abi_stable::library::LibraryError;
use abi_stable::std_types::{RResult, RStr};
use moshead_protocol::{
    check_api_compatible, AdapterModRef, Descriptor, ProjectorBox, ProjectorConfig, SynthOutput,
    SynthRequest,
};
use semver::Version;

use super::PluginError;
use crate::loader::{load_root_module, LoadFailure};

/// A loaded adapter plugin.
pub struct Adapter {
    /// The library file.
    pub path: PathBuf,
    /// sha256 of the library file, hex.
    pub sha256: String,
    /// The API version the plugin was built against.
    pub api_version: Version,
    /// The plugin's declaration.
    pub descriptor: Descriptor,
    /// What of the declaration this host left out (slots of a newer API
    /// minor's roles or kinds).
    pub notes: Vec<String>,
    /// The study file this adapter serves, when the library is the built-in
    /// study plugin running one (its descriptor is then the study's).
    pub study: Option<super::StudySource>,
    module: AdapterModRef,
}

impl fmt::Debug for Adapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Adapter")
            .field("name", &self.descriptor.name)
            .field("path", &self.path)
            .finish()
    }
}

fn first_lines(s: &str, n: usize) -> String {
    let mut out: Vec<&str> = s.lines().filter(|l| !l.trim().is_empty()).take(n).collect();
    if s.lines().filter(|l| !l.trim().is_empty()).count() > n {
        out.push("...");
    }
    out.join(" | ")
}

fn describe_library_error(path: &Path, e: LibraryError) -> PluginError {
    let path = path.to_path_buf();
    match e {
        LibraryError::OpenError { err, .. } => PluginError::Load {
            path,
            reason: format!("cannot be loaded as a shared library: {err}"),
            not_a_plugin: true,
        },
        LibraryError::GetSymbolError { .. } => PluginError::Load {
            path,
            reason: "is a shared library without a moshead root module".into(),
            not_a_plugin: true,
        },
        LibraryError::IncompatibleVersionNumber {
            expected_version,
            actual_version,
            ..
        } => PluginError::Incompatible {
            path,
            reason: format!(
                "built against moshead-protocol {actual_version}, host uses {expected_version} (abi_stable interface versions differ)"
            ),
        },
        LibraryError::AbiInstability(err) => PluginError::Incompatible {
            path,
            reason: format!(
                "ABI layout mismatch with host API {}: {}",
                moshead_protocol::API_VERSION,
                first_lines(&err.to_string(), 6)
            ),
        },
        LibraryError::InvalidAbiHeader(h) => PluginError::Incompatible {
            path,
            reason: format!("built with an incompatible abi_stable ({h:?})"),
        },
        other => PluginError::Load {
            path,
            reason: first_lines(&other.to_string(), 6),
            not_a_plugin: false,
        },
    }
}

fn call_err(adapter: &str, error: moshead_protocol::PluginError) -> PluginError {
    PluginError::Call {
        adapter: adapter.to_owned(),
        error,
    }
}

impl Adapter {
    /// Loads and checks one plugin file: ABI header, layout, API version,
    /// descriptor. No trust policy is applied (see [`crate::registry::Registry::discover`]).
    pub fn load(path: &Path) -> Result<Adapter, PluginError> {
        Self::load_checked(path, &|_| Ok(()))
    }

    /// Like [`Adapter::load`], but `precheck` sees the file's sha256 and may
    /// refuse it before any of its code runs.
    pub fn load_checked(
        path: &Path,
        precheck: &dyn Fn(&str) -> Result<(), String>,
    ) -> Result<Adapter, PluginError> {
        let meta = fs::metadata(path).map_err(|e| PluginError::Load {
            path: path.to_path_buf(),
            reason: format!("cannot be read: {e}"),
            not_a_plugin: false,
        })?;
        if !meta.is_file() {
            return Err(PluginError::Load {
                path: path.to_path_buf(),
                reason: "is not a regular file".into(),
                not_a_plugin: true,
            });
        }
        // Read once: the bytes hashed and pinned are the bytes loaded.
        let bytes = fs::read(path).map_err(|e| PluginError::Load {
            path: path.to_path_buf(),
            reason: format!("cannot be read: {e}"),
            not_a_plugin: false,
        })?;
        let sha256 = crate::digest::sha256_hex(&bytes);
        precheck(&sha256).map_err(|reason| PluginError::Untrusted {
            path: path.to_path_buf(),
            reason,
        })?;
        #[cfg(target_os = "linux")]
        crate::loader::check_elf(&bytes).map_err(|e| PluginError::Load {
            path: path.to_path_buf(),
            reason: e.to_string(),
            // Not ELF at all: skipped like any other file; an ELF file that
            // is cut short (a half-copied plugin): refused.
            not_a_plugin: !bytes.starts_with(b"\x7fELF"),
        })?;
        let module = load_root_module(&bytes, path).map_err(|e| match e {
            LoadFailure::Library(e) => describe_library_error(path, e),
            LoadFailure::PrivateCopy(e) => PluginError::Load {
                path: path.to_path_buf(),
                reason: format!("cannot make the private copy it is loaded from: {e}"),
                not_a_plugin: false,
            },
        })?;
        let reported = (module.api_version())();
        let api_version =
            check_api_compatible(reported.as_str()).map_err(|e| PluginError::Incompatible {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        let json = match (module.descriptor())() {
            RResult::ROk(s) => s.into_string(),
            RResult::RErr(e) => {
                return Err(PluginError::BadDescriptor {
                    path: path.to_path_buf(),
                    problems: vec![e.to_string()],
                })
            }
        };
        let (descriptor, notes) =
            Descriptor::from_json_tolerant(&json).map_err(|e| PluginError::BadDescriptor {
                path: path.to_path_buf(),
                problems: vec![format!("descriptor JSON: {e}")],
            })?;
        let problems = descriptor.problems();
        if !problems.is_empty() {
            return Err(PluginError::BadDescriptor {
                path: path.to_path_buf(),
                problems,
            });
        }
        Ok(Adapter {
            path: path.to_path_buf(),
            sha256,
            api_version,
            descriptor,
            notes,
            study: None,
            module,
        })
    }

    /// This library (the built-in study plugin) serving the study file
    /// `source`: the adapter carries the study's descriptor, and the plugin
    /// is asked to open a projector for the study, so that a plugin that
    /// cannot read it refuses it now, not at the first row.
    pub fn for_study(
        self,
        source: super::StudySource,
        study: &moshead_sdk::study::Study,
    ) -> Result<Adapter, PluginError> {
        let descriptor = study.descriptor(source.path.parent());
        let problems = descriptor.problems();
        if !problems.is_empty() {
            return Err(PluginError::BadStudy {
                path: source.path.clone(),
                reason: problems.join("; "),
            });
        }
        let adapter = Adapter {
            descriptor,
            study: Some(source),
            ..self
        };
        adapter.open_projector(&ProjectorConfig::default())?;
        Ok(adapter)
    }

    /// The adapter's name.
    pub fn name(&self) -> &str {
        &self.descriptor.name
    }

    /// The plugin's version.
    pub fn version(&self) -> Version {
        Version::parse(&self.descriptor.version).unwrap_or_else(|_| Version::new(0, 0, 0))
    }

    /// Calls a JSON-request entry point of the plugin.
    fn call_json<T: serde::Serialize, R>(
        &self,
        request: &T,
        entry: impl FnOnce(RStr<'_>) -> RResult<R, moshead_protocol::PluginError>,
    ) -> Result<R, PluginError> {
        let json = serde_json::to_string(request).map_err(|e| {
            call_err(
                self.name(),
                moshead_protocol::PluginError::new(
                    moshead_protocol::PluginErrorKind::InvalidRequest,
                    e.to_string(),
                ),
            )
        })?;
        match entry(RStr::from_str(&json)) {
            RResult::ROk(v) => Ok(v),
            RResult::RErr(e) => Err(call_err(self.name(), e)),
        }
    }

    /// Opens a row projector.
    /// A study adapter's request carries the study's text.
    pub fn open_projector(&self, config: &ProjectorConfig) -> Result<ProjectorBox, PluginError> {
        if let Some(s) = &self.study {
            let config = ProjectorConfig {
                study: Some(s.text.clone()),
                ..config.clone()
            };
            return self.call_json(&config, |j| (self.module.open_projector())(j));
        }
        self.call_json(config, |j| (self.module.open_projector())(j))
    }

    /// Asks the plugin for a synthetic corpus.
    pub fn synthesize(&self, request: &SynthRequest) -> Result<SynthOutput, PluginError> {
        self.call_json(request, |j| (self.module.synthesize())(j))
            .map(SynthOutput::from)
    }
}
