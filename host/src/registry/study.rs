//! Study files on the plugin search path: `--adapter my-study` finds
//! `my-study.toml` as it finds `libmy_study.so`, `--adapter ./x/study.toml`
//! names one directly. A study file is served by the built-in `study`
//! plugin (loaded, trusted, pinned and hashed as any plugin): the study's
//! text crosses in the projector request, and the adapter carries the
//! descriptor derived from it.

use std::io::Read;
use std::path::{Path, PathBuf};

use moshead_sdk::study::{Study, MAX_STUDY_BYTES};

use super::{PluginError, SearchDir};
use crate::trust::{check_loaded_file, TrustPolicy};

/// The name of the built-in plugin that serves study files.
pub const INTERPRETER: &str = "study";

/// A study file as read: where, its sha256 and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StudySource {
    /// The file.
    pub path: PathBuf,
    /// sha256 of its bytes, hex.
    pub sha256: String,
    /// Its text.
    pub text: String,
}

impl StudySource {
    /// The parsed study, errors naming the file, line and key.
    pub fn study(&self) -> Result<Study, PluginError> {
        Study::parse(&self.text, &self.path.display().to_string()).map_err(|e| {
            PluginError::BadStudy {
                path: self.path.clone(),
                reason: e.to_string(),
            }
        })
    }
}

/// Whether an `--adapter` value names a study file rather than an adapter.
pub fn is_study_path(selector_name: &str) -> bool {
    selector_name.ends_with(".toml")
}

/// Reads the study file at `path`: a regular file (a FIFO or device is
/// named as such), trusted as a plugin file is unless `policy` allows
/// insecure files (permissions, owner, and the directory a symlink points
/// into), at most [`MAX_STUDY_BYTES`], UTF-8.
pub fn read_study(path: &Path, policy: &TrustPolicy) -> Result<StudySource, PluginError> {
    let bad = |reason: String| PluginError::BadStudy {
        path: path.to_path_buf(),
        reason,
    };
    let file = crate::safe_fs::open_read(path).map_err(|e| bad(e.reason))?;
    if !policy.allow_insecure {
        check_loaded_file(path, "study file").map_err(|e| PluginError::Untrusted {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    }
    let mut bytes = Vec::new();
    file.take(MAX_STUDY_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| bad(format!("cannot be read: {e}")))?;
    if bytes.len() as u64 > MAX_STUDY_BYTES {
        return Err(bad(format!(
            "is larger than {MAX_STUDY_BYTES} bytes: not a study file"
        )));
    }
    let sha256 = crate::digest::sha256_hex(&bytes);
    let text = String::from_utf8(bytes).map_err(|e| {
        bad(format!(
            "is not UTF-8 text (byte {})",
            e.utf8_error().valid_up_to()
        ))
    })?;
    Ok(StudySource {
        path: path.to_path_buf(),
        sha256,
        text,
    })
}

/// The study file `NAME.toml` on the search path, if one directory holds
/// it; two directories holding one are an error, as two plugin files are.
pub fn find_study(dirs: &[SearchDir], name: &str) -> Result<Option<PathBuf>, PluginError> {
    let mut found: Option<PathBuf> = None;
    for dir in dirs.iter().filter(|d| d.ignored.is_none()) {
        let p = dir.path.join(format!("{name}.toml"));
        if std::fs::symlink_metadata(&p).is_err() {
            continue;
        }
        if let Some(first) = found {
            return Err(PluginError::Duplicate {
                name: name.to_owned(),
                first,
                second: p,
            });
        }
        found = Some(p);
    }
    Ok(found)
}
