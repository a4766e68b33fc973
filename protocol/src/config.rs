//! The JSON requests a host sends to a plugin ([`ProjectorConfig`],
//! [`SynthRequest`]) and the Rust view of a synthetic corpus
//! ([`SynthOutput`]).
//!
//! Neither request denies unknown keys: a plugin ignores the keys a newer
//! host sends, as the minor-version policy says ([`crate::version`]).

use std::collections::BTreeMap;

use abi_stable::std_types::{RString, Tuple2};
use serde::{Deserialize, Serialize};

use crate::abi::{FfiSynthFile, FfiSynthOutput};
use crate::descriptor::{is_relative_below, InputSlot, SlotKind};
use crate::ShardGlob;

/// How the host asks for a projector.
///
/// Unknown keys (sent by a newer host) are ignored, as the minor-version
/// policy says.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProjectorConfig {
    /// The schema to project onto; the descriptor's default when `None`.
    #[serde(default)]
    pub schema: Option<String>,
    /// Context documents by slot name (JSON text), e.g. a display profile.
    #[serde(default)]
    pub context: BTreeMap<String, String>,
    /// Keep reference rows instead of rejecting them.
    #[serde(default)]
    pub include_references: bool,
    /// Project rows that carry no MOS instead of rejecting them as
    /// `mos-missing`, for prediction only: such a row crosses with `mos`
    /// NaN (see [`FfiRow::mos`](crate::FfiRow)). Every other rule, the MOS
    /// rule for rows that do carry one included, is unchanged. Hosts never
    /// set it for training. Added in API 1.1.0 ([`crate::version::UNLABELLED_SINCE`]);
    /// a plugin built against 1.0 refuses the key (1.0 denied unknown keys),
    /// so hosts send it only to plugins of 1.1 or later, and omit it when false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub unlabelled: bool,
    /// The text of a study file (TOML), for the built-in study plugin only:
    /// the plugin derives its descriptor and projection rules from it (see
    /// `docs/study-file.md`). Hosts send it only to the study plugin, and
    /// omit it otherwise, so no other plugin ever sees the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub study: Option<String>,
}

fn is_false(v: &bool) -> bool {
    !*v
}

/// A request for a synthetic corpus.
///
/// Unknown keys (sent by a newer host) are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SynthRequest {
    /// Roughly how many distorted rows to generate.
    pub rows: usize,
    /// The generator seed.
    pub seed: u64,
    /// An adapter-specific variant (e.g. `konvid-1k` or `konvid-150k`).
    #[serde(default)]
    pub variant: Option<String>,
}

/// A synthetic corpus, as a plugin returns it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SynthOutput {
    /// `(relative path, content)` per file.
    pub files: Vec<(String, String)>,
    /// `(slot, relative path)` bindings that read the corpus back.
    pub inputs: Vec<(String, String)>,
}

impl SynthOutput {
    /// A corpus of one file at `path`, read back through `slot`.
    pub fn one_file(slot: &str, path: &str, content: String) -> Self {
        SynthOutput {
            files: vec![(path.to_owned(), content)],
            inputs: vec![(slot.to_owned(), path.to_owned())],
        }
    }
}

impl SynthOutput {
    /// The generated files a binding `(slot, rel)` reads, the way the host
    /// reads the written corpus back (`moshead synth` then `--input
    /// SLOT=DIR/REL`): the file `rel` itself; or, for a shard-directory
    /// slot, the files directly under `rel/` whose names match its glob, in
    /// name order. An error says why the binding reads nothing.
    pub fn bound_files(
        &self,
        slot: &InputSlot,
        rel: &str,
    ) -> Result<Vec<&(String, String)>, String> {
        if !is_relative_below(rel) {
            return Err(format!(
                "binds `{}` to `{rel}`, not a relative path of plain names",
                slot.name
            ));
        }
        // `.` components name nothing on disk: `./shards` is `shards`.
        let plain = |p: &str| -> String {
            p.split('/')
                .filter(|c| !c.is_empty() && *c != ".")
                .collect::<Vec<_>>()
                .join("/")
        };
        let rel = plain(rel);
        let exact: Vec<&(String, String)> =
            self.files.iter().filter(|(p, _)| plain(p) == rel).collect();
        if !exact.is_empty() {
            return Ok(exact);
        }
        let glob = match &slot.kind {
            SlotKind::File => {
                return Err(format!(
                    "binds file slot `{}` to `{rel}`, which is no generated file",
                    slot.name
                ))
            }
            SlotKind::ShardDir { glob } => {
                ShardGlob::new(glob).map_err(|e| format!("slot `{}`: {e}", slot.name))?
            }
        };
        let prefix = format!("{rel}/");
        let mut files: Vec<&(String, String)> = self
            .files
            .iter()
            .filter(|(p, _)| {
                plain(p)
                    .strip_prefix(&prefix)
                    .is_some_and(|name| !name.contains('/') && glob.matches(name))
            })
            .collect();
        if files.is_empty() {
            return Err(format!(
                "binds `{}` to `{rel}`, which holds no file the slot reads",
                slot.name
            ));
        }
        files.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(files)
    }
}

impl From<FfiSynthOutput> for SynthOutput {
    fn from(out: FfiSynthOutput) -> Self {
        SynthOutput {
            files: out
                .files
                .into_iter()
                .map(|f| (f.path.into_string(), f.content.into_string()))
                .collect(),
            inputs: out
                .inputs
                .into_iter()
                .map(|t| (t.0.into_string(), t.1.into_string()))
                .collect(),
        }
    }
}

impl From<SynthOutput> for FfiSynthOutput {
    fn from(out: SynthOutput) -> Self {
        FfiSynthOutput {
            files: out
                .files
                .into_iter()
                .map(|(path, content)| FfiSynthFile {
                    path: path.into(),
                    content: content.into(),
                })
                .collect(),
            inputs: out
                .inputs
                .into_iter()
                .map(|(s, p)| Tuple2(RString::from(s), RString::from(p)))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::descriptor::{Format, SlotRole};

    fn slot(kind: SlotKind) -> InputSlot {
        InputSlot {
            name: "rows".into(),
            kind,
            role: SlotRole::Rows,
            formats: vec![Format::Jsonl],
            default_path: None,
            env: None,
            required: false,
            accepts: vec!["x".into()],
            assume_corpus: None,
            description: String::new(),
            mos_scale: None,
            labels: None,
        }
    }

    fn corpus() -> SynthOutput {
        let f = |p: &str| (p.to_owned(), format!("<{p}>"));
        SynthOutput {
            files: vec![
                f("shards/b.jsonl"),
                f("shards/a.jsonl"),
                f("shards/notes.txt"),
                f("shards/deeper/c.jsonl"),
                f("one.jsonl"),
            ],
            inputs: Vec::new(),
        }
    }

    fn names<'a>(files: &[&'a (String, String)]) -> Vec<&'a str> {
        files.iter().map(|(p, _)| p.as_str()).collect()
    }

    #[test]
    fn a_binding_reads_what_the_host_reads_from_disk() {
        let out = corpus();
        let dir = slot(SlotKind::ShardDir {
            glob: "*.jsonl".into(),
        });
        // The directory's own files matching the glob, in name order: not
        // the other file, not a file of a subdirectory.
        let files = out.bound_files(&dir, "shards").unwrap();
        assert_eq!(names(&files), ["shards/a.jsonl", "shards/b.jsonl"]);
        // A file is read as itself, through either kind of slot.
        let file = slot(SlotKind::File);
        assert_eq!(
            names(&out.bound_files(&file, "one.jsonl").unwrap()),
            ["one.jsonl"]
        );
        assert_eq!(
            names(&out.bound_files(&dir, "one.jsonl").unwrap()),
            ["one.jsonl"]
        );
    }

    #[test]
    fn a_binding_that_reads_nothing_says_why() {
        let out = corpus();
        let file = slot(SlotKind::File);
        let dir = slot(SlotKind::ShardDir {
            glob: "*.parquet".into(),
        });
        let e = out.bound_files(&file, "shards").unwrap_err();
        assert!(
            e.contains("file slot `rows`") && e.contains("no generated file"),
            "{e}"
        );
        let e = out.bound_files(&dir, "shards").unwrap_err();
        assert!(e.contains("holds no file the slot reads"), "{e}");
        for bad in ["../one.jsonl", "/abs", ""] {
            let e = out.bound_files(&file, bad).unwrap_err();
            assert!(e.contains("not a relative path"), "{bad}: {e}");
        }
    }
}
