//! The report model: a status per check, details, a summary line.

use std::fmt;

use serde::Serialize;

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The check passed.
    Pass,
    /// The check passed with something the author should know.
    Warn,
    /// The check failed: the host would refuse the plugin or misread rows.
    Fail,
    /// The check could not run because an earlier one failed.
    Skip,
}

impl Status {
    /// The upper-case label (`PASS`, `WARN`, `FAIL`, `SKIP`).
    pub fn label(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
            Status::Skip => "SKIP",
        }
    }
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// The check's name (see [`crate::names`]).
    pub name: String,
    /// Its outcome.
    pub status: Status,
    /// One line saying what was found.
    pub message: String,
    /// Further lines: every failure (capped), or what a warning is about.
    pub details: Vec<String>,
}

impl Check {
    /// A check result without details.
    pub fn new(name: &str, status: Status, message: impl Into<String>) -> Self {
        Check {
            name: name.to_owned(),
            status,
            message: message.into(),
            details: Vec::new(),
        }
    }

    /// Adds detail lines.
    pub fn with_details(mut self, details: Vec<String>) -> Self {
        self.details = details;
        self
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}  {:<15} {}",
            self.status.label(),
            self.name,
            self.message
        )?;
        for d in &self.details {
            write!(f, "\n      - {d}")?;
        }
        Ok(())
    }
}

/// Every check's result, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The checks.
    pub checks: Vec<Check>,
}

impl Report {
    /// No check failed (warnings and skips do not fail a report).
    pub fn passed(&self) -> bool {
        !self.checks.iter().any(|c| c.status == Status::Fail)
    }

    /// The check named `name`, if it ran.
    pub fn get(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }

    /// How many checks have `status`.
    pub fn count(&self, status: Status) -> usize {
        self.checks.iter().filter(|c| c.status == status).count()
    }

    /// One line: `8 checks: 7 passed, 1 warning, 0 failed, 0 skipped`.
    pub fn summary(&self) -> String {
        let warn = self.count(Status::Warn);
        format!(
            "{} checks: {} passed, {warn} warning{}, {} failed, {} skipped",
            self.checks.len(),
            self.count(Status::Pass),
            if warn == 1 { "" } else { "s" },
            self.count(Status::Fail),
            self.count(Status::Skip)
        )
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in &self.checks {
            writeln!(f, "{c}")?;
        }
        write!(f, "{}", self.summary())
    }
}
