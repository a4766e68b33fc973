//! Selecting an adapter by name and version requirement.

use std::path::PathBuf;

use semver::{Version, VersionReq};

/// An adapter selection: a name and an optional version requirement
/// (`konvid` or `konvid@^1.2`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    /// The adapter name.
    pub name: String,
    /// The version requirement, if any.
    pub requirement: Option<VersionReq>,
}

impl std::str::FromStr for Selector {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (name, req) = match s.split_once('@') {
            Some((n, r)) => (n, Some(r)),
            None => (s, None),
        };
        let name = name.trim();
        if name.is_empty() {
            return Err(format!("`{s}`: empty adapter name"));
        }
        let requirement = req
            .map(|r| {
                VersionReq::parse(r.trim())
                    .map_err(|e| format!("`{s}`: bad version requirement `{r}`: {e}"))
            })
            .transpose()?;
        Ok(Selector {
            name: name.to_owned(),
            requirement,
        })
    }
}

/// Errors of selecting an adapter by name.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SelectError {
    /// No loaded adapter has the name.
    #[error("no adapter named `{name}`; available: {}{}", if available.is_empty() { "none".to_string() } else { available.join(", ") }, refused_note(refused))]
    Unknown {
        /// The requested name.
        name: String,
        /// `name version` of each loaded adapter.
        available: Vec<String>,
        /// Plugins that were refused at load time.
        refused: Vec<String>,
    },
    /// The adapter exists but its version does not satisfy the requirement.
    #[error("adapter `{name}` is version {found}, which does not satisfy `{requirement}` ({})", path.display())]
    Version {
        /// The adapter name.
        name: String,
        /// Its version.
        found: Version,
        /// The requirement.
        requirement: VersionReq,
        /// Its file.
        path: PathBuf,
    },
}

fn refused_note(refused: &[String]) -> String {
    if refused.is_empty() {
        String::new()
    } else {
        format!(" (refused at load: {})", refused.join("; "))
    }
}
