//! How long work (ingestion, fits, selection) reports progress without
//! knowing about terminals: a
//! [`StatusSink`] receives lazily built status lines; [`Status`] is the
//! cheap, clonable handle the work carries. It sits at the bottom of the
//! host, so every layer may report through it. The command line plugs its
//! terminal progress line in (see [`crate::progress::Progress`]).

use std::sync::Arc;

/// Receives status lines of long work.
pub trait StatusSink: Send + Sync {
    /// A new status; `msg` builds the line (call it only to show it).
    fn update(&self, msg: &dyn Fn() -> String);
    /// The work ended: remove any status shown.
    fn clear(&self);
}

/// A shared handle on a [`StatusSink`] (or on nothing).
#[derive(Clone)]
pub struct Status(Option<Arc<dyn StatusSink>>);

impl Status {
    /// Status lines go to `sink`.
    pub fn new(sink: Arc<dyn StatusSink>) -> Self {
        Status(Some(sink))
    }

    /// Status lines go nowhere.
    pub fn silent() -> Self {
        Status(None)
    }

    /// Reports the status built by `msg`.
    pub fn update(&self, msg: impl Fn() -> String) {
        if let Some(s) = &self.0 {
            s.update(&msg);
        }
    }

    /// Clears the status.
    pub fn clear(&self) {
        if let Some(s) = &self.0 {
            s.clear();
        }
    }
}

impl std::fmt::Debug for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Status(sink)"
        } else {
            "Status(silent)"
        })
    }
}
