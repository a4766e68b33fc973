//! Reading a manifest: the current format ([`MANIFEST_SCHEMA`]) and the
//! previous one ([`MANIFEST_SCHEMA_V1`]) through the same typed parse, so
//! that what does not parse is reported with its line and column, and a
//! key given twice is refused; any other schema is refused by name. Then
//! the checks a hand-edited file could fail (model id, export names,
//! parameter count and shape).
//!
//! What changed from v1 to v2, and how a v1 file reads:
//!
//! - each solve's `termination` was a sentence; it is a tagged value
//!   ([`crate::training::Termination`]), and a v1 sentence reads as
//!   `{"kind": "recorded", "text": ...}` ([`termination`]);
//! - `data.context` held `[slot, path, sha256]` arrays; it holds objects
//!   with those keys ([`context`]).
//!
//! Everything else reads as it was written (fields that v1 files written
//! before they were recorded lack keep their documented defaults). A v1
//! file reads as a v2 manifest, and is written as one.

use std::path::Path;

use serde::Deserialize as _;
use serde_json::Value;

use super::{
    files::settle, ContextRecord, Manifest, ManifestError, MANIFEST_SCHEMA, MANIFEST_SCHEMA_V1,
};
use crate::training::{FittedHead, Termination};

/// The most of a manifest moshead reads (a large SVR head's is a few
/// megabytes).
pub const MANIFEST_MAX_BYTES: u64 = 256 << 20;

impl Manifest {
    /// The manifest as written: pretty JSON and a trailing newline.
    pub fn to_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        let mut v = serde_json::to_vec_pretty(self)?;
        v.push(b'\n');
        Ok(v)
    }

    /// Reads and checks a manifest (a regular file of at most
    /// [`MANIFEST_MAX_BYTES`]). A commit decided but not applied in its
    /// directory is an error saying what completes it (see
    /// [`crate::commit`]); reading never applies one.
    pub fn load(path: &Path) -> Result<Manifest, ManifestError> {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        settle(dir).map_err(|e| ManifestError::Invalid {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let bytes =
            crate::safe_fs::read_bounded(path, MANIFEST_MAX_BYTES, crate::safe_fs::Links::Follow)
                .map_err(|e| ManifestError::Io {
                path: path.to_path_buf(),
                source: e.into(),
            })?;
        let text = String::from_utf8(bytes).map_err(|e| ManifestError::Invalid {
            path: path.to_path_buf(),
            message: format!("not UTF-8 text: {e}"),
        })?;
        Self::parse(path, &text)
    }

    /// Parses and checks manifest text (`path` is for messages); a
    /// [`MANIFEST_SCHEMA_V1`] text is migrated to the current format.
    pub fn parse(path: &Path, text: &str) -> Result<Manifest, ManifestError> {
        let invalid = |message: String| ManifestError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        if text.starts_with('\u{feff}') {
            return Err(invalid(
                "starts with a UTF-8 byte-order mark (BOM), which JSON does not allow; save the file without it".into(),
            ));
        }
        let refuse = |schema: &str| {
            invalid(format!(
                "manifest schema `{schema}` is not `{MANIFEST_SCHEMA}` (or `{MANIFEST_SCHEMA_V1}`, which is read and migrated)"
            ))
        };
        // One typed parse. Only when it fails is the text read again, for
        // its schema: a file of another format is refused by name rather
        // than by its first unknown field.
        let mut m: Manifest = serde_json::from_str(text).map_err(|e| {
            let schema = serde_json::from_str::<Value>(text).ok().and_then(|v| {
                v.get("manifest_schema")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            });
            match schema.filter(|s| ![MANIFEST_SCHEMA, MANIFEST_SCHEMA_V1].contains(&s.as_str())) {
                Some(other) => refuse(&other),
                None => parse_error(path, &e),
            }
        })?;
        if m.manifest_schema == MANIFEST_SCHEMA_V1 {
            m.manifest_schema = MANIFEST_SCHEMA.into();
        } else if m.manifest_schema != MANIFEST_SCHEMA {
            return Err(refuse(&m.manifest_schema));
        }
        crate::model_id::check(&m.id).map_err(|e| invalid(format!("`id`: {e}")))?;
        for (key, r) in &m.exports {
            if !crate::commit::is_plain_name(&r.path) || r.path.starts_with('.') {
                return Err(invalid(format!(
                    "export `{key}` names `{}`, which is not a plain file name beside the manifest",
                    r.path.escape_debug()
                )));
            }
        }
        if m.head.n_parameters != m.head.parameters.len() {
            return Err(invalid(format!(
                "n_parameters says {} but {} parameters are stored",
                m.head.n_parameters,
                m.head.parameters.len()
            )));
        }
        m.fitted()
            .check_shape(m.feature_order.len())
            .map_err(invalid)?;
        Ok(m)
    }

    /// The ship model as a [`FittedHead`].
    pub fn fitted(&self) -> FittedHead {
        FittedHead {
            spec: (&self.head.spec).into(),
            standardizer: (&self.standardization).into(),
            params: self.head.parameters.clone(),
            solve: (&self.training.solve).into(),
            n_fit: self.training.n_fit,
            n_monitor: self.training.n_monitor,
        }
    }
}

fn parse_error(path: &Path, e: &serde_json::Error) -> ManifestError {
    ManifestError::Parse {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    }
}

/// A solve's termination as either format wrote it: v2's tagged value, or
/// v1's sentence, read as [`Termination::Recorded`].
pub fn termination<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Termination, D::Error> {
    use serde::de::Error as _;
    match Value::deserialize(d)? {
        Value::String(text) => Ok(Termination::Recorded { text }),
        v => Termination::deserialize(v).map_err(D::Error::custom),
    }
}

/// The context documents as either format wrote them: v2's objects, or
/// v1's `[slot, path, sha256]` arrays.
pub fn context<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<ContextRecord>, D::Error> {
    use serde::de::Error as _;
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Either {
        Triple(String, String, String),
        Record(ContextRecord),
    }
    Ok(Vec::<Either>::deserialize(d)
        .map_err(|e| D::Error::custom(format!("`data.context`: {e}")))?
        .into_iter()
        .map(|e| match e {
            Either::Triple(slot, path, sha256) => ContextRecord { slot, path, sha256 },
            Either::Record(r) => r,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::ContextRecord;
    use crate::training::Termination;

    /// A manifest the v1 build wrote (`tests/data/manifests-v1/`).
    const V1_RIDGE: &str = include_str!("../../../tests/data/manifests-v1/ridge/v1_ridge.json");

    fn v1_with_context() -> (Value, String) {
        let mut v: Value = serde_json::from_str(V1_RIDGE).unwrap();
        assert_eq!(v["manifest_schema"], MANIFEST_SCHEMA_V1);
        v["data"]["context"] = serde_json::json!([["ladder", "ladder.json", "ab12"]]);
        let sentence = v["training"]["solve"]["termination"]
            .as_str()
            .unwrap()
            .to_owned();
        (v, sentence)
    }

    #[test]
    fn a_v1_manifest_is_migrated_context_and_terminations_included() {
        let (v, sentence) = v1_with_context();
        let m = Manifest::parse(Path::new("v1.json"), &v.to_string()).unwrap();
        assert_eq!(m.manifest_schema, MANIFEST_SCHEMA);
        assert_eq!(
            m.data.context,
            [ContextRecord {
                slot: "ladder".into(),
                path: "ladder.json".into(),
                sha256: "ab12".into(),
            }]
        );
        assert_eq!(
            m.training.solve.termination,
            Termination::Recorded {
                text: sentence.clone()
            }
        );
        assert_eq!(m.training.solve.termination.to_string(), sentence);
        for f in &m.validation.folds {
            assert!(matches!(f.solve.termination, Termination::Recorded { .. }));
        }
    }

    #[test]
    fn the_current_format_reads_back_what_it_wrote() {
        let (v, _) = v1_with_context();
        let m = Manifest::parse(Path::new("v1.json"), &v.to_string()).unwrap();
        let bytes = m.to_bytes().unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        let again = Manifest::parse(Path::new("v2.json"), &text).unwrap();
        assert_eq!(again, m);
        assert_eq!(again.to_bytes().unwrap(), bytes);
        let written: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(written["manifest_schema"], MANIFEST_SCHEMA);
        assert_eq!(written["data"]["context"][0]["slot"], "ladder");
        assert_eq!(
            written["training"]["solve"]["termination"]["kind"],
            "recorded"
        );
    }

    #[test]
    fn an_unknown_schema_is_refused_by_name() {
        let mut v: Value = serde_json::from_str(V1_RIDGE).unwrap();
        v["manifest_schema"] = "moshead-manifest-v9".into();
        let e = Manifest::parse(Path::new("m.json"), &v.to_string())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`moshead-manifest-v9`")
                && e.contains(MANIFEST_SCHEMA)
                && e.contains(MANIFEST_SCHEMA_V1),
            "{e}"
        );
    }

    #[test]
    fn a_v1_file_is_held_to_the_typed_parse() {
        // A field of the wrong type: named with its line and column.
        let mut v: Value = serde_json::from_str(V1_RIDGE).unwrap();
        v["training"]["seed"] = "seven".into();
        let text = serde_json::to_string_pretty(&v).unwrap();
        let e = Manifest::parse(Path::new("m.json"), &text).unwrap_err();
        match &e {
            ManifestError::Parse { line, message, .. } => {
                assert!(*line > 1 && message.contains("invalid type"), "{e}")
            }
            other => panic!("{other}"),
        }
        // A key given twice is refused, not read as its last value.
        let twice = V1_RIDGE.replacen("\"id\":", "\"id\": \"other\", \"id\":", 1);
        let e = Manifest::parse(Path::new("m.json"), &twice)
            .unwrap_err()
            .to_string();
        assert!(e.contains("duplicate field `id`"), "{e}");
        // Documents that are not objects are errors, never a panic.
        for text in ["[\"moshead-manifest-v1\"]", "\"moshead-manifest-v1\"", "7"] {
            assert!(
                Manifest::parse(Path::new("m.json"), text).is_err(),
                "{text}"
            );
        }
    }

    #[test]
    fn a_recorded_termination_is_written_and_read_back_as_v2() {
        let m = Manifest::parse(Path::new("v1.json"), V1_RIDGE).unwrap();
        let text = String::from_utf8(m.to_bytes().unwrap()).unwrap();
        let again = Manifest::parse(Path::new("v2.json"), &text).unwrap();
        assert!(matches!(
            again.training.solve.termination,
            Termination::Recorded { .. }
        ));
        assert_eq!(again, m);
    }
}
