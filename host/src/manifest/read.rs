//! Reading a manifest: the current format ([`MANIFEST_SCHEMA`]) directly,
//! with the line and column of what does not parse; a file of the previous
//! format ([`MANIFEST_SCHEMA_V1`]) migrated first ([`migrate_v1`]); any
//! other schema refused by name. Then the checks a hand-edited file could
//! fail (model id, export names, parameter count and shape).

use std::path::Path;

use serde_json::Value;

use super::{files::settle, Manifest, ManifestError, MANIFEST_SCHEMA, MANIFEST_SCHEMA_V1};
use crate::training::FittedHead;

/// Only the schema field, to choose how to read the rest.
#[derive(serde::Deserialize)]
struct Probe {
    manifest_schema: Option<String>,
}

impl Manifest {
    /// The manifest as written: pretty JSON and a trailing newline.
    pub fn to_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        let mut v = serde_json::to_vec_pretty(self)?;
        v.push(b'\n');
        Ok(v)
    }

    /// Reads and checks a manifest, first completing a commit interrupted
    /// in its directory (see [`crate::commit`]).
    pub fn load(path: &Path) -> Result<Manifest, ManifestError> {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        settle(dir).map_err(|message| ManifestError::Invalid {
            path: path.to_path_buf(),
            message,
        })?;
        let file = crate::safe_fs::open_read(path).map_err(|e| ManifestError::Io {
            path: path.to_path_buf(),
            source: e.into(),
        })?;
        let text = std::io::read_to_string(file).map_err(|source| ManifestError::Io {
            path: path.to_path_buf(),
            source,
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
        let schema = serde_json::from_str::<Probe>(text)
            .ok()
            .and_then(|p| p.manifest_schema);
        let refuse = |schema: &str| {
            invalid(format!(
                "manifest schema `{schema}` is not `{MANIFEST_SCHEMA}` (or `{MANIFEST_SCHEMA_V1}`, which is read and migrated)"
            ))
        };
        if let Some(other) = schema
            .as_deref()
            .filter(|s| ![MANIFEST_SCHEMA, MANIFEST_SCHEMA_V1].contains(s))
        {
            return Err(refuse(other));
        }
        let m: Manifest = if schema.as_deref() == Some(MANIFEST_SCHEMA_V1) {
            let mut v: Value = serde_json::from_str(text).map_err(|e| parse_error(path, &e))?;
            migrate_v1(&mut v);
            serde_json::from_value(v)
                .map_err(|e| invalid(format!("as a {MANIFEST_SCHEMA_V1} manifest: {e}")))?
        } else {
            serde_json::from_str(text).map_err(|e| parse_error(path, &e))?
        };
        if m.manifest_schema != MANIFEST_SCHEMA {
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

/// Rewrites a [`MANIFEST_SCHEMA_V1`] document into the current format. The
/// changes from v1 to v2:
///
/// - each solve's `termination` was a sentence; it is a tagged value
///   ([`crate::training::Termination`]), and a v1 sentence becomes
///   `{"kind": "recorded", "text": ...}`;
/// - `data.context` held `[slot, path, sha256]` arrays; it holds objects
///   with those keys.
///
/// Everything else reads as it was written (fields v1 files written before
/// they were recorded lack keep their documented defaults).
pub fn migrate_v1(v: &mut Value) {
    fn solve(s: Option<&mut Value>) {
        if let Some(t) = s.and_then(|s| s.get_mut("termination")) {
            if let Value::String(text) = t {
                *t = serde_json::json!({"kind": "recorded", "text": std::mem::take(text)});
            }
        }
    }
    v["manifest_schema"] = Value::from(MANIFEST_SCHEMA);
    solve(v.pointer_mut("/training/solve"));
    if let Some(Value::Array(folds)) = v.pointer_mut("/validation/folds") {
        for f in folds {
            solve(f.get_mut("solve"));
        }
    }
    if let Some(Value::Array(docs)) = v.pointer_mut("/data/context") {
        for d in docs.iter_mut() {
            if let Value::Array(t) = d {
                if let [slot, path, sha256] = t.as_slice() {
                    *d = serde_json::json!({"slot": slot, "path": path, "sha256": sha256});
                }
            }
        }
    }
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
    fn a_v1_field_of_the_wrong_type_is_an_error_naming_the_format() {
        let mut v: Value = serde_json::from_str(V1_RIDGE).unwrap();
        v["training"]["seed"] = "seven".into();
        let e = Manifest::parse(Path::new("m.json"), &v.to_string())
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("m.json: as a moshead-manifest-v1 manifest:"),
            "{e}"
        );
    }
}
