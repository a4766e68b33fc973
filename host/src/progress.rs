//! Progress lines for long work, on a terminal only.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Prints a single, overwritten status line on stderr at most every 200 ms.
/// Disabled when stderr is not a terminal or with `--quiet`.
#[derive(Clone)]
pub struct Progress {
    enabled: bool,
    last: Arc<Mutex<Option<Instant>>>,
}

impl Progress {
    /// A progress line that prints only when `enabled` and stderr is a terminal.
    pub fn new(enabled: bool) -> Self {
        Progress {
            enabled: enabled && std::io::stderr().is_terminal(),
            last: Arc::new(Mutex::new(None)),
        }
    }

    /// A progress line that never prints.
    pub fn hidden() -> Self {
        Progress {
            enabled: false,
            last: Arc::new(Mutex::new(None)),
        }
    }

    /// Shows the message built by `msg`, rate-limited.
    pub fn update(&self, msg: impl FnOnce() -> String) {
        if !self.enabled {
            return;
        }
        let Ok(mut last) = self.last.lock() else {
            return;
        };
        let now = Instant::now();
        if last.is_some_and(|t| now.duration_since(t) < Duration::from_millis(200)) {
            return;
        }
        *last = Some(now);
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{}", msg());
        let _ = err.flush();
    }

    /// Clears the line.
    pub fn clear(&self) {
        if self.enabled {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
        }
    }
}

impl crate::training::StatusSink for Progress {
    fn update(&self, msg: &dyn Fn() -> String) {
        Progress::update(self, msg);
    }

    fn clear(&self) {
        Progress::clear(self);
    }
}

impl Progress {
    /// This progress line as the status handle fits report to.
    pub fn status(&self) -> crate::training::Status {
        crate::training::Status::new(std::sync::Arc::new(self.clone()))
    }
}
