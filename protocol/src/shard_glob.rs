//! The one file-name matcher for shard directories.
//!
//! A [`SlotKind::ShardDir`](crate::SlotKind::ShardDir) reads the files whose
//! names match its glob. Ingestion, `moshead adapters check` and the
//! descriptor check all match through [`ShardGlob`] (the `glob` crate's
//! [`glob::Pattern`]: `*`, `?`, `[a-z]`, `[!0-9]`), so a pattern means the
//! same everywhere.

use std::fmt;

/// A compiled shard-file pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardGlob(glob::Pattern);

/// A shard glob that does not compile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("glob `{pattern}` is not a valid pattern: {reason}")]
pub struct GlobError {
    /// The pattern as declared.
    pub pattern: String,
    /// What the parser said.
    pub reason: String,
}

impl ShardGlob {
    /// Compiles `pattern` (a file-name pattern, no `/`).
    pub fn new(pattern: &str) -> Result<ShardGlob, GlobError> {
        glob::Pattern::new(pattern)
            .map(ShardGlob)
            .map_err(|e| GlobError {
                pattern: pattern.to_owned(),
                reason: e.to_string(),
            })
    }

    /// Whether the file name `name` matches (case-sensitive; `*` matches a
    /// leading `.`, as the host has always read shard directories).
    pub fn matches(&self, name: &str) -> bool {
        self.0.matches(name)
    }
}

impl fmt::Display for ShardGlob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.as_str().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_patterns() {
        let g = |p: &str| ShardGlob::new(p).unwrap();
        assert!(g("shard_*.features.jsonl").matches("shard_00.features.jsonl"));
        assert!(!g("shard_*.features.jsonl").matches("shard_00.jsonl"));
        assert!(g("*").matches(""));
        assert!(g("a?c*").matches("abcdef"));
        assert!(!g("a?c").matches("ac"));
        assert!(g("part-[0-9].jsonl").matches("part-7.jsonl"));
        assert!(!g("part-[0-9].jsonl").matches("part-x.jsonl"));
        let e = ShardGlob::new("part-[0-9.jsonl").unwrap_err().to_string();
        assert!(e.contains("part-[0-9.jsonl"), "{e}");
    }
}
