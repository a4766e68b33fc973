//! How many worker threads moshead runs on: `--threads N`, else
//! `$MOSHEAD_THREADS`, else every core the process may use. Ingestion,
//! model selection (candidates and inner folds) and the outer validation
//! folds run on this one pool. Results never depend on its size: work is
//! split into tasks whose results are collected in task order and reduced
//! serially, so a manifest is byte-identical for any thread count (and the
//! recorded command line leaves the flag out).

/// The most worker threads moshead starts.
pub const MAX_THREADS: usize = 256;

/// The environment variable read when `--threads` is not given.
pub const ENV: &str = "MOSHEAD_THREADS";

/// A thread count that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ThreadsError {
    /// `$MOSHEAD_THREADS` is not a whole number in range.
    #[error("{ENV} `{value}` is not a whole number from 1 to {MAX_THREADS}")]
    Env {
        /// The variable's value, lossily decoded.
        value: String,
    },
    /// The count given is out of range.
    #[error("{n} worker threads: the count must be from 1 to {MAX_THREADS}")]
    Range {
        /// The count given.
        n: usize,
    },
    /// The pool could not be started.
    #[error("cannot start {n} worker threads: {reason}")]
    Pool {
        /// The count asked for.
        n: usize,
        /// Why.
        reason: String,
    },
}

/// The thread count `flag` or `env` (the value of [`ENV`]) asks for, else
/// the cores available.
pub fn resolve(flag: Option<usize>, env: Option<&std::ffi::OsStr>) -> Result<usize, ThreadsError> {
    let n = match (flag, env) {
        (Some(n), _) => n,
        (None, Some(v)) => {
            let text = v.to_string_lossy();
            text.trim()
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_THREADS).contains(n))
                .ok_or_else(|| ThreadsError::Env {
                    value: text.into_owned(),
                })?
        }
        (None, None) => std::thread::available_parallelism()
            .map_or(1, std::num::NonZeroUsize::get)
            .min(MAX_THREADS),
    };
    if !(1..=MAX_THREADS).contains(&n) {
        return Err(ThreadsError::Range { n });
    }
    Ok(n)
}

/// Starts the process's worker pool with the count [`resolve`] gives for
/// `flag` and the environment; returns the count. Call it once, before any
/// parallel work.
pub fn configure(flag: Option<usize>) -> Result<usize, ThreadsError> {
    let n = resolve(flag, std::env::var_os(ENV).as_deref())?;
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build_global()
        .map_err(|e| ThreadsError::Pool {
            n,
            reason: e.to_string(),
        })?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn the_flag_wins_then_the_environment_then_the_cores() {
        assert_eq!(resolve(Some(3), Some(OsStr::new("5"))).unwrap(), 3);
        assert_eq!(resolve(None, Some(OsStr::new("5"))).unwrap(), 5);
        assert_eq!(resolve(None, Some(OsStr::new(" 2\n"))).unwrap(), 2);
        let cores = resolve(None, None).unwrap();
        assert!((1..=MAX_THREADS).contains(&cores));
    }

    #[test]
    fn counts_out_of_range_are_refused_naming_the_source() {
        for bad in ["0", "-1", "", "two", "1.5", "257"] {
            let e = resolve(None, Some(OsStr::new(bad)))
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("MOSHEAD_THREADS") && e.contains(&format!("`{bad}`")),
                "{e}"
            );
        }
        let e = resolve(Some(0), None).unwrap_err().to_string();
        assert!(e.contains("from 1 to 256"), "{e}");
    }
}
