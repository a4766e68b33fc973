//! The run ledger: `<out>/ledger.jsonl`, one JSON line per training run.
//!
//! Append-only: the file is opened with `O_APPEND` and each line goes out
//! in a single write, so concurrent runs into one directory cannot
//! interleave inside a line, and nothing ever rewrites earlier lines. A
//! last line left without its newline (a run killed mid-write) is closed
//! before the next line so that line stays parseable.
//!
//! Unlike the manifest, which has no wall-clock field so that the same
//! inputs give the same bytes, a ledger line carries `recorded_at` (UTC,
//! RFC 3339, seconds): the ledger is a log of when runs happened, and the
//! manifest it points to is pinned by `manifest_sha256`.
//!
//! Reading never skips a line silently: a malformed line is returned as a
//! [`Malformed`] with its file and line number.

use std::collections::BTreeMap;
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Bundle;
use crate::evaluation::gate::GateKind;
use crate::manifest::Manifest;

/// The ledger's file name in an output directory.
pub const LEDGER_FILE: &str = "ledger.jsonl";

/// One training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// When the run was recorded (UTC, `YYYY-MM-DDTHH:MM:SSZ`).
    pub recorded_at: String,
    /// The model id.
    pub model_id: String,
    /// The adapter's name.
    pub adapter: String,
    /// The adapter's version.
    pub adapter_version: String,
    /// The feature schema.
    pub feature_schema: String,
    /// The head type (text, not a closed set: a ledger shared with a newer
    /// build may name a head this one does not know).
    pub head: String,
    /// The validation policy's name.
    pub validation: String,
    /// Folds validated.
    pub folds: usize,
    /// The seed.
    pub seed: u64,
    /// Whether the rows were synthetic.
    pub synthetic: bool,
    /// Mean fold PLCC.
    pub mean_plcc: Option<f64>,
    /// Mean fold SROCC.
    pub mean_srocc: Option<f64>,
    /// Mean fold RMSE.
    pub mean_rmse: Option<f64>,
    /// Max - min fold PLCC.
    pub plcc_spread: Option<f64>,
    /// The head's pooled out-of-fold PLCC (absent in lines written before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pooled_plcc: Option<f64>,
    /// The head's RMSE on each row slot's native scale (absent in lines
    /// written before, and for runs without a native scale).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub native_rmse: BTreeMap<String, LedgerNative>,
    /// The gate applied.
    pub gate: GateKind,
    /// Whether it passed.
    pub gate_passed: bool,
    /// Whether the adapter declared a gate (`false`: "no gate declared";
    /// written only then, absent in older lines: `true`).
    #[serde(
        default = "crate::evaluation::gate::declared",
        skip_serializing_if = "crate::evaluation::gate::is_declared"
    )]
    pub gate_declared: bool,
    /// sha256 of the manifest written.
    pub manifest_sha256: String,
    /// Files written, by role, relative to the ledger's directory.
    pub outputs: BTreeMap<String, String>,
}

/// The head's RMSE on one slot's native scale, as the ledger records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerNative {
    /// The scale, `min-max` (`0-100`).
    pub scale: String,
    /// Mean fold RMSE in its units.
    pub mean_rmse: Option<f64>,
    /// Pooled out-of-fold RMSE in its units.
    pub pooled_rmse: Option<f64>,
}

impl LedgerEntry {
    /// The pooled (else mean) RMSE on the native scale, at a precision
    /// that fits it, with the scale (`6.6 on 0-100`), when every slot has
    /// one scale; `-` otherwise.
    pub fn native_rmse_text(&self) -> String {
        let mut scales = self.native_rmse.values();
        match (scales.next(), scales.next()) {
            (Some(n), None) => {
                let width = n
                    .scale
                    .rsplit_once('-')
                    .and_then(|(lo, hi)| Some(hi.parse::<f64>().ok()? - lo.parse::<f64>().ok()?))
                    .unwrap_or(f64::NAN);
                n.pooled_rmse.or(n.mean_rmse).map_or_else(
                    || "-".to_owned(),
                    |r| {
                        format!(
                            "{} on {}",
                            crate::evaluation::native::fixed(r, width),
                            n.scale
                        )
                    },
                )
            }
            _ => "-".to_owned(),
        }
    }

    /// The entry for a run whose files are `bundle`, recorded now.
    pub fn new(m: &Manifest, bundle: &Bundle) -> Self {
        Self::at(m, bundle, utc_now())
    }

    /// The entry with an explicit timestamp.
    pub fn at(m: &Manifest, bundle: &Bundle, recorded_at: String) -> Self {
        let a = &m.validation.aggregate;
        LedgerEntry {
            recorded_at,
            model_id: m.id.clone(),
            adapter: m.adapter.name.clone(),
            adapter_version: m.adapter.version.clone(),
            feature_schema: m.feature_schema.clone(),
            head: m.head.spec.kind.as_str().to_owned(),
            validation: m.validation.name.clone(),
            folds: m.validation.folds.len(),
            seed: m.training.seed,
            synthetic: m.data.synthetic,
            mean_plcc: a.mean.plcc,
            mean_srocc: a.mean.srocc,
            mean_rmse: a.mean.rmse,
            plcc_spread: a.plcc_spread,
            pooled_plcc: m.validation.pooled.as_ref().and_then(|p| p.head.plcc),
            native_rmse: m
                .validation
                .native_rmse
                .iter()
                .map(|(slot, n)| {
                    (
                        slot.clone(),
                        LedgerNative {
                            scale: n.range(),
                            mean_rmse: n.mean,
                            pooled_rmse: n.pooled,
                        },
                    )
                })
                .collect(),
            gate: m.gate.kind,
            gate_passed: m.gate.passed,
            gate_declared: m.gate.declared,
            manifest_sha256: bundle.manifest_sha256.clone(),
            outputs: bundle.outputs(),
        }
    }
}

/// Errors of the ledger.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// The file cannot be read or appended to.
    #[error("{path}: {source}")]
    Io {
        /// The ledger.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The entry cannot be serialised.
    #[error("cannot serialise a ledger line: {0}")]
    Json(#[from] serde_json::Error),
}

/// A ledger line that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Malformed {
    /// The ledger.
    pub path: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: malformed ledger line: {}",
            self.path.display(),
            self.line,
            self.message
        )
    }
}

/// A ledger as read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ledger {
    /// `(1-based line, entry)` for every well-formed line.
    pub entries: Vec<(usize, LedgerEntry)>,
    /// Every malformed line.
    pub malformed: Vec<Malformed>,
}

/// The ledger line of `entry` (JSON, without its newline).
pub fn line(entry: &LedgerEntry) -> Result<String, LedgerError> {
    Ok(serde_json::to_string(entry)?)
}

/// Appends `entry` as one line to the ledger at `path` (created if absent;
/// never through a symbolic link, never to anything but a regular file).
pub fn append(path: &Path, entry: &LedgerEntry) -> Result<(), LedgerError> {
    let io = |source| LedgerError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = crate::safe_fs::open_rw(path, true).map_err(|e| io(e.into()))?;
    append_to(&mut file, line(entry)?.as_bytes()).map_err(io)
}

fn append_to(file: &mut std::fs::File, text: &[u8]) -> std::io::Result<()> {
    let mut line = text.to_vec();
    line.push(b'\n');
    let len = file.seek(SeekFrom::End(0))?;
    if len > 0 {
        file.seek(SeekFrom::Start(len - 1))?;
        let mut last = [0u8; 1];
        file.read_exact(&mut last)?;
        if last[0] != b'\n' {
            line.insert(0, b'\n');
        }
    }
    // O_APPEND: the write lands at the end whatever the position.
    file.write_all(&line)?;
    file.sync_data()
}

/// Appends `text` as one line to the file at `path` unless it was already
/// appended after offset `at` (the file's length when the commit was
/// decided; completing an interrupted commit appends a run's line once,
/// even when an identical line is older). Same safety as [`append`]; the
/// error's message is the reason (the caller names the file).
pub fn append_line_once(path: &Path, text: &str, at: u64) -> Result<(), AppendError> {
    let mut file = crate::safe_fs::open_rw(path, true).map_err(AppendError::Open)?;
    let mut have = Vec::new();
    file.read_to_end(&mut have).map_err(AppendError::Io)?;
    let after = have.get(at as usize..).unwrap_or(&[]);
    if after.split(|b| *b == b'\n').any(|l| l == text.as_bytes()) {
        return Ok(());
    }
    append_to(&mut file, text.as_bytes()).map_err(AppendError::Io)
}

/// Why [`append_line_once`] failed; the message is the reason alone.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppendError {
    /// The file cannot be opened safely for appending.
    #[error("{}", .0.reason)]
    Open(#[source] crate::safe_fs::SafeOpenError),
    /// Reading or appending failed.
    #[error("{0}")]
    Io(#[source] std::io::Error),
}

/// The most of a ledger moshead reads (about a quarter of a million runs).
pub const LEDGER_MAX_BYTES: u64 = 256 << 20;

/// Reads the ledger at `path`; a missing file is an empty ledger. Blank
/// lines are ignored; any other line that does not parse is reported. A
/// FIFO or device there is an error saying what it is (never a wait), and
/// so is a symbolic link (which writes refuse too).
pub fn read(path: &Path) -> Result<Ledger, LedgerError> {
    let io = |source| LedgerError::Io {
        path: path.to_path_buf(),
        source,
    };
    let text =
        match crate::safe_fs::read_bounded(path, LEDGER_MAX_BYTES, crate::safe_fs::Links::Refuse) {
            Ok(t) => t,
            Err(e) if e.kind == std::io::ErrorKind::NotFound => return Ok(Ledger::default()),
            Err(e) => return Err(io(e.into())),
        };
    let mut ledger = Ledger::default();
    for (i, raw) in text.split(|b| *b == b'\n').enumerate() {
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<LedgerEntry>(raw) {
            Ok(e) => ledger.entries.push((i + 1, e)),
            Err(e) => ledger.malformed.push(Malformed {
                path: path.to_path_buf(),
                line: i + 1,
                message: e.to_string(),
            }),
        }
    }
    Ok(ledger)
}

/// The current UTC time as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    rfc3339(secs)
}

/// Seconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ` (proleptic
/// Gregorian; Howard Hinnant's days-to-civil).
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_778_198_400 + 3_723), "2026-05-08T01:02:03Z");
        assert_eq!(utc_now().len(), 20);
    }

    pub(crate) fn entry(id: &str) -> LedgerEntry {
        LedgerEntry {
            recorded_at: rfc3339(0),
            model_id: id.into(),
            adapter: "konvid".into(),
            adapter_version: "1.0.0".into(),
            feature_schema: "konvid-v1".into(),
            head: "mlp".into(),
            validation: "5-fold-grouped".into(),
            folds: 5,
            seed: 1,
            synthetic: true,
            mean_plcc: Some(0.9),
            mean_srocc: None,
            mean_rmse: Some(0.3),
            plcc_spread: Some(0.01),
            pooled_plcc: None,
            native_rmse: BTreeMap::new(),
            gate: GateKind::Synthetic,
            gate_passed: true,
            gate_declared: true,
            manifest_sha256: "ab".into(),
            outputs: BTreeMap::new(),
        }
    }

    #[test]
    fn native_rmse_is_shown_on_its_scale_and_old_lines_read() {
        let mut e = entry("a");
        assert_eq!(e.native_rmse_text(), "-");
        let native = |scale: &str, pooled| LedgerNative {
            scale: scale.into(),
            mean_rmse: Some(12.34),
            pooled_rmse: pooled,
        };
        e.native_rmse
            .insert("shards".into(), native("0-100", Some(11.912)));
        assert_eq!(e.native_rmse_text(), "11.9 on 0-100");
        e.native_rmse.insert("shards".into(), native("1-5", None));
        assert_eq!(e.native_rmse_text(), "12.340 on 1-5");
        // Two scales: no single figure.
        e.native_rmse.insert("other".into(), native("0-100", None));
        assert_eq!(e.native_rmse_text(), "-");
        // A line written before the native fields reads with them empty.
        let mut v = serde_json::to_value(entry("b")).unwrap();
        let o = v.as_object_mut().unwrap();
        assert!(!o.contains_key("native_rmse") && !o.contains_key("pooled_plcc"));
        let back: LedgerEntry = serde_json::from_value(v).unwrap();
        assert_eq!(back, entry("b"));
    }

    #[test]
    fn appends_lines_and_reports_malformed_ones_by_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LEDGER_FILE);
        assert_eq!(read(&path).unwrap(), Ledger::default());
        append(&path, &entry("a")).unwrap();
        // A torn last line: the next append closes it first.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"{\"model_id\":").unwrap();
        drop(f);
        append(&path, &entry("b")).unwrap();
        let l = read(&path).unwrap();
        assert_eq!(l.entries.len(), 2);
        assert_eq!(l.entries[0].0, 1);
        assert_eq!(l.entries[1], (3, entry("b")));
        assert_eq!(l.malformed.len(), 1);
        assert_eq!(l.malformed[0].line, 2);
        assert!(l.malformed[0]
            .to_string()
            .contains("ledger.jsonl:2: malformed ledger line"));
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 3);
        assert!(text.ends_with("}\n"));
    }
}
