//! Resolving an adapter's input slots to files.
//!
//! A slot gets its path from `--input SLOT=PATH` (repeatable, also for one
//! slot), else from its environment override, else from its default. When
//! the operator names any row slot, only the named row slots are read.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use moshead_protocol::{Descriptor, Format, InputSlot, SlotKind, SlotRole};

pub use super::sniff::io_reason;
use super::CorpusError;

/// Where a binding's path came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// `--input SLOT=PATH`.
    Flag,
    /// The slot's environment override (the variable's name).
    Env(String),
    /// The slot's default path.
    Default,
    /// The embedded demo corpus.
    Demo,
}

/// One file to read for one slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// The slot name.
    pub slot: String,
    /// The file.
    pub path: PathBuf,
    /// Its format.
    pub format: Format,
    /// Where its slot binding came from.
    pub origin: Origin,
}

/// The resolved inputs of a run.
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    /// Row files, in slot-declaration order, shards sorted.
    pub rows: Vec<SourceFile>,
    /// Context documents by slot.
    pub context: Vec<SourceFile>,
    /// Labels tables joined by libvmaf-log slots (only those whose log
    /// slot is read).
    pub labels: Vec<SourceFile>,
    /// Things the operator should know (optional defaults not found,
    /// unrelated files in shard directories).
    pub notes: Vec<String>,
}

/// A value that is not `SLOT=PATH` (it carries the value).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not SLOT=PATH")]
pub struct NotBinding(pub String);

/// Parses `SLOT=PATH`.
pub fn parse_binding(s: &str) -> Result<(String, PathBuf), NotBinding> {
    match s.split_once('=') {
        Some((slot, path)) if !slot.trim().is_empty() && !path.is_empty() => {
            Ok((slot.trim().to_owned(), PathBuf::from(path)))
        }
        _ => Err(NotBinding(s.to_owned())),
    }
}

fn slot_names(d: &Descriptor) -> String {
    d.inputs
        .iter()
        .map(|s| s.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The slot's default path with its environment override applied.
pub fn default_path(
    slot: &InputSlot,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> Option<(PathBuf, Origin)> {
    if let Some(o) = &slot.env {
        if let Some(v) = env(&o.var).filter(|v| !v.is_empty()) {
            let base = PathBuf::from(v);
            let path = match &o.join {
                Some(j) => base.join(j),
                None => base,
            };
            return Some((path, Origin::Env(o.var.clone())));
        }
    }
    slot.default_path
        .as_ref()
        .map(|p| (PathBuf::from(p), Origin::Default))
}

/// Resolves `flags` against the descriptor. `env` reads environment
/// variables (injected for tests).
pub fn resolve(
    d: &Descriptor,
    flags: &[(String, PathBuf)],
    env: &dyn Fn(&str) -> Option<OsString>,
) -> Result<Resolved, CorpusError> {
    resolve_for(d, flags, env, false)
}

/// [`resolve`] for a run that scores rows without a MOS (`unlabelled`,
/// `predict`): a slot of libvmaf logs may then be read without its labels
/// table, each log a row of its own.
pub fn resolve_for(
    d: &Descriptor,
    flags: &[(String, PathBuf)],
    env: &dyn Fn(&str) -> Option<OsString>,
    unlabelled: bool,
) -> Result<Resolved, CorpusError> {
    for (slot, _) in flags {
        if d.slot(slot).is_none() {
            return Err(CorpusError::UnknownSlot {
                adapter: d.name.clone(),
                slot: slot.clone(),
                allowed: slot_names(d),
            });
        }
    }
    let named_rows = flags
        .iter()
        .any(|(s, _)| d.slot(s).is_some_and(|s| s.role == SlotRole::Rows));
    let mut out = Resolved::default();
    for slot in d.inputs.iter().filter(|s| s.role != SlotRole::Labels) {
        let bindings = bindings_of(slot, flags, named_rows, env, &mut out.notes)?;
        push_files(slot, bindings, &mut out)?;
    }
    // A labels table is read when a slot of libvmaf logs that joins it is.
    for slot in d.inputs.iter().filter(|s| s.role == SlotRole::Labels) {
        let joined: Vec<&str> = d
            .slots_joining(&slot.name)
            .filter(|l| out.rows.iter().any(|r| r.slot == l.name))
            .map(|l| l.name.as_str())
            .collect();
        let flagged = flags.iter().any(|(s, _)| *s == slot.name);
        if joined.is_empty() {
            if flagged {
                let logs: Vec<String> = d
                    .slots_joining(&slot.name)
                    .map(|l| format!("--input {}=DIR", l.name))
                    .collect();
                return Err(CorpusError::Input {
                    path: PathBuf::from(&slot.name),
                    reason: format!(
                        "labels slot `{}` is only read with the libvmaf logs it labels; pass {}",
                        slot.name,
                        logs.join(" or ")
                    ),
                });
            }
            continue;
        }
        // Scoring logs named on the command line, a default labels table
        // is not joined: the logs given are new clips, scored alone.
        let logs_flagged = joined.iter().any(|l| flags.iter().any(|(s, _)| s == l));
        if unlabelled && logs_flagged && !flagged {
            out.notes.push(format!(
                "labels slot `{}`: its default is not read, the logs given are scored alone (pass --input {}=PATH to join labels)",
                slot.name, slot.name
            ));
            continue;
        }
        let bindings = bindings_of(slot, flags, false, env, &mut out.notes)?;
        if bindings.is_empty() && unlabelled {
            continue;
        }
        if bindings.is_empty() {
            return Err(CorpusError::Input {
                path: PathBuf::from(joined.join(", ")),
                reason: format!(
                    "slot `{}` joins its logs with labels slot `{}`, which has no file; pass --input {}=PATH",
                    joined.join("`, `"),
                    slot.name,
                    slot.name
                ),
            });
        }
        push_files(slot, bindings, &mut out)?;
        if out.labels.iter().filter(|c| c.slot == slot.name).count() > 1 {
            return Err(CorpusError::Input {
                path: PathBuf::from(&slot.name),
                reason: format!("labels slot `{}` takes one file", slot.name),
            });
        }
    }
    for slot in d.inputs.iter().filter(|s| s.role == SlotRole::Context) {
        if out.context.iter().filter(|c| c.slot == slot.name).count() > 1 {
            return Err(CorpusError::Input {
                path: PathBuf::from(&slot.name),
                reason: format!("context slot `{}` takes one file", slot.name),
            });
        }
    }
    if out.rows.is_empty() {
        let tried: Vec<String> = d
            .inputs
            .iter()
            .filter(|s| s.role == SlotRole::Rows)
            .filter_map(|s| {
                default_path(s, env).map(|(p, origin)| {
                    format!(
                        "{}={} ({}, not found)",
                        s.name,
                        p.display(),
                        describe_origin(&origin)
                    )
                })
            })
            .collect();
        let flags: Vec<String> = d
            .inputs
            .iter()
            .filter(|s| s.role == SlotRole::Rows)
            .map(|s| format!("--input {}=PATH", s.name))
            .collect();
        let slots = match flags.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => flags.join(""),
        };
        return Err(CorpusError::NoRows {
            adapter: d.name.clone(),
            tried: if tried.is_empty() {
                "none".into()
            } else {
                tried.join(", ")
            },
            slots,
        });
    }
    Ok(out)
}

/// The paths bound to `slot`: the flags naming it, else (unless another row
/// slot was named) its default with its environment override.
fn bindings_of(
    slot: &InputSlot,
    flags: &[(String, PathBuf)],
    named_rows: bool,
    env: &dyn Fn(&str) -> Option<OsString>,
    notes: &mut Vec<String>,
) -> Result<Vec<(PathBuf, Origin)>, CorpusError> {
    let given: Vec<(PathBuf, Origin)> = flags
        .iter()
        .filter(|(s, _)| *s == slot.name)
        .map(|(_, p)| (p.clone(), Origin::Flag))
        .collect();
    if !given.is_empty() {
        return Ok(given);
    }
    if slot.role == SlotRole::Rows && named_rows {
        return Ok(Vec::new());
    }
    let Some((path, origin)) = default_path(slot, env) else {
        return Ok(Vec::new());
    };
    if path.exists() {
        return Ok(vec![(path, origin)]);
    }
    if slot.required {
        return Err(CorpusError::MissingDefault {
            slot: slot.name.clone(),
            path,
            origin: describe_origin(&origin),
        });
    }
    notes.push(format!(
        "slot `{}`: default {} ({}) not found, not read",
        slot.name,
        path.display(),
        describe_origin(&origin)
    ));
    Ok(Vec::new())
}

/// Expands the bindings of `slot` into files of the list its role reads.
fn push_files(
    slot: &InputSlot,
    bindings: Vec<(PathBuf, Origin)>,
    out: &mut Resolved,
) -> Result<(), CorpusError> {
    for (path, origin) in bindings {
        let files = expand(slot, &path, &mut out.notes)?;
        let target = match slot.role {
            SlotRole::Context => &mut out.context,
            SlotRole::Labels => &mut out.labels,
            SlotRole::Rows => &mut out.rows,
        };
        for file in files {
            let format = format_of(slot, &file)?;
            target.push(SourceFile {
                slot: slot.name.clone(),
                path: file,
                format,
                origin: origin.clone(),
            });
        }
    }
    Ok(())
}

fn describe_origin(o: &Origin) -> String {
    match o {
        Origin::Flag => "from --input".into(),
        Origin::Env(v) => format!("from ${v}"),
        Origin::Default => "the adapter's default".into(),
        Origin::Demo => "the embedded demo".into(),
    }
}

/// A row file's format by its content (see [`super::sniff`]); a context
/// document is JSON.
fn format_of(slot: &InputSlot, file: &Path) -> Result<Format, CorpusError> {
    let wanted = if slot.role == SlotRole::Context {
        Format::Json
    } else if slot.formats == [Format::LibvmafLog] {
        // One JSON document per clip, pooled by the host (see `logs`).
        Format::LibvmafLog
    } else {
        super::sniff::row_format(file)
            .map_err(|reason| CorpusError::Input {
                path: file.to_path_buf(),
                reason: format!("slot `{}`: {reason}", slot.name),
            })?
            .0
    };
    if slot.formats.contains(&wanted) {
        Ok(wanted)
    } else {
        let accepted: Vec<&str> = slot.formats.iter().map(|f| f.as_str()).collect();
        Err(CorpusError::Input {
            path: file.to_path_buf(),
            reason: format!(
                "slot `{}` accepts {}, not {}",
                slot.name,
                accepted.join(", "),
                wanted.as_str()
            ),
        })
    }
}

/// Expands a binding: a shard directory into its matching files (sorted), a
/// file into itself.
fn expand(
    slot: &InputSlot,
    path: &Path,
    notes: &mut Vec<String>,
) -> Result<Vec<PathBuf>, CorpusError> {
    let meta = fs::metadata(path).map_err(|e| CorpusError::Input {
        path: path.to_path_buf(),
        reason: format!("slot `{}`: {}", slot.name, io_reason(&e)),
    })?;
    if meta.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    if !meta.is_dir() {
        return Err(CorpusError::Input {
            path: path.to_path_buf(),
            reason: format!(
                "slot `{}`: is {}, not a regular file",
                slot.name,
                crate::safe_fs::describe_type(&meta.file_type())
            ),
        });
    }
    let SlotKind::ShardDir { glob } = &slot.kind else {
        return Err(CorpusError::Input {
            path: path.to_path_buf(),
            reason: format!("slot `{}` takes a file, and this is a directory", slot.name),
        });
    };
    let pattern = moshead_protocol::ShardGlob::new(glob).map_err(|e| CorpusError::Input {
        path: path.to_path_buf(),
        reason: format!("slot `{}` has a bad glob `{glob}`: {}", slot.name, e.reason),
    })?;
    let mut files = Vec::new();
    let mut not_utf8 = Vec::new();
    let mut unrelated = 0usize;
    let entries = fs::read_dir(path).map_err(|e| CorpusError::Input {
        path: path.to_path_buf(),
        reason: io_reason(&e),
    })?;
    for entry in entries {
        let entry = entry.map_err(|e| CorpusError::Input {
            path: path.to_path_buf(),
            reason: io_reason(&e),
        })?;
        let raw_name = entry.file_name();
        // A name that is not UTF-8 is matched as its lossy form (each bad
        // byte a U+FFFD); a match is read like any shard, under its real
        // path, and noted by its lossy name.
        let name = raw_name.to_string_lossy();
        let name: &str = &name;
        // A compressed shard matches as its plain name does.
        let plain = [".gz", ".zst", ".zstd"]
            .iter()
            .find_map(|c| name.strip_suffix(c))
            .unwrap_or(name);
        if !pattern.matches(name) && !pattern.matches(plain) {
            unrelated += 1;
            continue;
        }
        let p = entry.path();
        // Follows symlinks; a loop or dangling link is an error, not a skip.
        let m = fs::metadata(&p).map_err(|e| CorpusError::Input {
            path: p.clone(),
            reason: io_reason(&e),
        })?;
        if !m.is_file() {
            return Err(CorpusError::Input {
                path: p,
                reason: format!(
                    "matches `{glob}` but is {}, not a regular file",
                    crate::safe_fs::describe_type(&m.file_type())
                ),
            });
        }
        if raw_name.to_str().is_none() {
            not_utf8.push(p.display().to_string());
        }
        files.push(p);
    }
    files.sort();
    if !not_utf8.is_empty() {
        not_utf8.sort();
        notes.push(format!(
            "slot `{}`: {} matching file name{} not UTF-8, read and recorded lossily (each bad byte as U+FFFD): {}",
            slot.name,
            not_utf8.len(),
            if not_utf8.len() == 1 { " is" } else { "s are" },
            not_utf8.join(", ")
        ));
    }
    if unrelated > 0 {
        notes.push(format!(
            "slot `{}`: {unrelated} entr{} in {} not matching `{glob}` not read",
            slot.name,
            if unrelated == 1 { "y" } else { "ies" },
            path.display()
        ));
    }
    if files.is_empty() {
        return Err(CorpusError::Input {
            path: path.to_path_buf(),
            reason: format!("slot `{}`: no file matches `{glob}`", slot.name),
        });
    }
    Ok(files)
}
