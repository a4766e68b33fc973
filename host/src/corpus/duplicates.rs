//! Duplicate rows and leakage between splits.
//!
//! Rows are keyed by their id (interned once, in a hash map, as they are
//! recorded; see `Builder` in the parent module):
//!
//! - the same id with the same MOS, standard error, features, split and
//!   content is an exact duplicate: a counted `duplicate-row` drop naming
//!   both places;
//! - the same id with another MOS or other features, under another content
//!   name, or in another split is an error naming both `file:line` places
//!   (one clip scored twice, or trained on and then validated on);
//! - the same content in two of `train`, `val` and `test` is an error
//!   naming a row of each (content-level splits would leak);
//! - the same input bound twice, by path or as a copy with the same
//!   sha256, is refused (see [`same_input`]).

use moshead_protocol::Split;

use super::{Builder, CorpusError, InputReport};

/// The drop code of an exact duplicate.
pub const DUPLICATE_ROW: &str = "duplicate-row";

/// Where each kept row came from.
#[derive(Default)]
pub(super) struct Places {
    files: Vec<String>,
    at: Vec<(u32, u64)>,
}

impl Places {
    /// Records that the next kept row is `file:line`.
    pub(super) fn push(&mut self, file: &str, line: u64) {
        if self.files.last().map(String::as_str) != Some(file) {
            self.files.push(file.to_owned());
        }
        self.at.push((self.files.len() as u32 - 1, line));
    }

    /// `file:line` of kept row `row`.
    pub(super) fn show(&self, row: usize) -> String {
        let (f, line) = self.at[row];
        format!("{}:{line}", self.files[f as usize])
    }
}

/// A new row, as [`compare`] sees it.
pub(super) struct Candidate<'a> {
    pub id: &'a str,
    pub features: &'a [f64],
    pub mos: f64,
    pub se: Option<f64>,
    pub split: Option<Split>,
    pub group: &'a str,
}

/// What to do with a row whose id was seen at row `k`.
pub(super) enum Verdict {
    /// An exact duplicate: drop it with this message.
    Drop(String),
    /// A conflict.
    Error(CorpusError),
}

fn split_name(s: Option<Split>) -> &'static str {
    s.map_or("no split", Split::as_str)
}

/// Compares the new row at `file:line` with kept row `k` of the same id.
pub(super) fn compare(
    b: &Builder,
    k: usize,
    new: &Candidate<'_>,
    file: &str,
    line: u64,
) -> Verdict {
    let width = new.features.len();
    let first = b.places.show(k);
    let here = format!("{file}:{line}");
    let group = &b.group_names[b.group[k] as usize];
    let conflict = |what: String| {
        Verdict::Error(CorpusError::Duplicate {
            place: here.clone(),
            first: first.clone(),
            id: new.id.to_owned(),
            what,
        })
    };
    if group != new.group {
        return conflict(format!(
            "under two content names: `{group}` at {first}, `{}` here",
            new.group
        ));
    }
    if b.split[k] != new.split {
        return conflict(format!(
            "in two splits: {} at {first}, {} here (a clip trained on and scored)",
            split_name(b.split[k]),
            split_name(new.split)
        ));
    }
    if b.mos[k] != new.mos || b.se[k] != new.se {
        return conflict(format!(
            "with two MOS: {} at {first}, {} here",
            b.mos[k], new.mos
        ));
    }
    if b.x[k * width..(k + 1) * width] != *new.features {
        return conflict(format!("with different features at {first} and here"));
    }
    Verdict::Drop(format!("duplicate of {first} (id `{}`)", new.id))
}

/// The same content in two of `train`, `val`, `test`: an error naming a
/// row of each.
pub(super) fn check_split_leakage(b: &Builder) -> Result<(), CorpusError> {
    let index = |s: Option<Split>| match s {
        Some(Split::Train) => Some(0usize),
        Some(Split::Val) => Some(1),
        Some(Split::Test) => Some(2),
        None => None,
    };
    let mut first: Vec<[Option<u32>; 3]> = vec![[None; 3]; b.group_names.len()];
    for (row, (s, g)) in b.split.iter().zip(&b.group).enumerate() {
        let Some(k) = index(*s) else { continue };
        let slots = &mut first[*g as usize];
        if slots[k].is_some() {
            continue;
        }
        slots[k] = Some(row as u32);
        if let Some((j, other)) = slots
            .iter()
            .enumerate()
            .find_map(|(j, r)| r.filter(|_| j != k).map(|r| (j, r)))
        {
            let names = ["train", "val", "test"];
            return Err(CorpusError::Leak {
                content: b.group_names[*g as usize].to_owned(),
                first: format!("{} at {}", names[j], b.places.show(other as usize)),
                second: format!("{} at {}", names[k], b.places.show(row)),
            });
        }
    }
    Ok(())
}

/// Refuses an input whose bytes (sha256) are those of an earlier input:
/// the same file bound twice, or a copy of it.
pub fn same_input(reports: &[InputReport], new: &InputReport) -> Result<(), CorpusError> {
    match reports.iter().find(|r| r.sha256 == new.sha256) {
        Some(r) => Err(CorpusError::Input {
            path: new.path.clone().into(),
            reason: format!(
                "has the same content (sha256 {}) as {}, bound to slot `{}`: the same input is bound twice",
                new.sha256, r.path, r.slot
            ),
        }),
        None => Ok(()),
    }
}
