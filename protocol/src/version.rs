//! The plugin API version and the one compatibility rule the host applies.
//!
//! The API version is the version of *this contract* (the root module, the
//! FFI types and the descriptor JSON), independent of any crate version, the
//! way nushell separates its plugin protocol version from its release version.
//!
//! Policy:
//! - **patch**: documentation or behaviour fixes that change no type or field;
//! - **minor**: additions only (an optional descriptor key with a default, a
//!   field a *plugin* appends to the root module after the last prefix
//!   field). A host accepts plugins of any minor within its major, older or
//!   newer:
//!   - descriptor keys the host does not know (a newer minor's optional
//!     keys) are ignored at every level of the descriptor, as is a slot
//!     format value it does not know ([`crate::Format::Unknown`]), and a
//!     slot of a role or kind it does not know is left out
//!     ([`crate::Descriptor::from_json_tolerant`]); a plugin
//!     ignores the keys of [`crate::ProjectorConfig`] and
//!     [`crate::SynthRequest`] that a newer host sends;
//!   - root-module fields a newer plugin appended are not read. abi_stable
//!     refuses a root module with fewer fields than the host's, so the host
//!     itself never appends one (an older plugin would be refused): new
//!     capabilities arrive as optional descriptor keys, or as optional
//!     request keys sent only to the plugins that read them (the study
//!     file's text, [`crate::ProjectorConfig::study`], goes to the built-in
//!     study plugin alone; `docs/study-file.md`);
//! - **major**: anything else. A host refuses every plugin of another major.

use semver::{Version, VersionReq};

/// The API version this build of the sdk implements.
pub const API_VERSION: &str = "1.3.0";

/// The first API version whose projectors accept
/// [`ProjectorConfig::unlabelled`](crate::ProjectorConfig) (rows without a
/// MOS, projected for prediction).
pub const UNLABELLED_SINCE: Version = Version::new(1, 1, 0);

/// Whether a plugin of API version `plugin` can project rows without a MOS
/// (pre-release tags ignored, as in [`check_api_compatible`]).
pub fn supports_unlabelled(plugin: &Version) -> bool {
    plugin.major == UNLABELLED_SINCE.major && plugin.minor >= UNLABELLED_SINCE.minor
}

/// The API version as a parsed [`Version`].
pub fn api_version() -> Version {
    // A literal checked by the `api_version_parses` test.
    Version::parse(API_VERSION).unwrap_or_else(|_| Version::new(0, 0, 0))
}

/// The requirement a host built against this sdk places on plugins.
///
/// It is the caret requirement on the host's major (`^1` for 1.x), which
/// accepts every 1.y.z release, including pre-releases of the same major.
pub fn host_requirement() -> VersionReq {
    let v = api_version();
    VersionReq::parse(&format!("^{}", v.major)).unwrap_or(VersionReq::STAR)
}

/// Why a plugin's API version was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CompatError {
    /// The plugin's version string is not semver.
    #[error("plugin API version `{found}` is not a semantic version: {reason}")]
    Unparsable {
        /// What the plugin reported.
        found: String,
        /// The parser's message.
        reason: String,
    },
    /// The versions are both valid but incompatible.
    #[error("plugin API version {plugin} is incompatible with host API version {host} (host accepts {requirement})")]
    Incompatible {
        /// The plugin's API version.
        plugin: Version,
        /// The host's API version.
        host: Version,
        /// The requirement the host applied.
        requirement: VersionReq,
    },
}

/// Checks a plugin's reported API version against this host's requirement.
///
/// Pre-release tags are ignored for the comparison (a `1.2.0-rc.1` plugin is
/// treated as `1.2.0`), so only the numeric major decides.
pub fn check_api_compatible(plugin: &str) -> Result<Version, CompatError> {
    let parsed = Version::parse(plugin.trim()).map_err(|e| CompatError::Unparsable {
        found: plugin.to_owned(),
        reason: e.to_string(),
    })?;
    let mut numeric = parsed.clone();
    numeric.pre = semver::Prerelease::EMPTY;
    let requirement = host_requirement();
    if requirement.matches(&numeric) {
        Ok(parsed)
    } else {
        Err(CompatError::Incompatible {
            plugin: parsed,
            host: api_version(),
            requirement,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_version_parses() {
        assert_eq!(api_version().to_string(), API_VERSION);
    }

    #[test]
    fn same_major_is_accepted_other_majors_refused() {
        assert!(check_api_compatible("1.0.0").is_ok());
        assert!(check_api_compatible("1.7.3").is_ok());
        assert!(check_api_compatible("1.1.0-rc.1").is_ok());
        assert!(matches!(
            check_api_compatible("2.0.0"),
            Err(CompatError::Incompatible { .. })
        ));
        assert!(matches!(
            check_api_compatible("0.9.0"),
            Err(CompatError::Incompatible { .. })
        ));
        assert!(matches!(
            check_api_compatible("one"),
            Err(CompatError::Unparsable { .. })
        ));
    }

    /// The minor-version promise for JSON: keys added by a newer minor are
    /// ignored at every level, and the rest reads as before.
    #[test]
    fn unknown_optional_keys_of_a_newer_minor_are_ignored() {
        use crate::{Descriptor, ProjectorConfig, SynthRequest};
        let known = r#"{"name":"tiny","version":"0.1.0","description":"","model_id":"tiny_v1",
            "inputs":[{"name":"rows","kind":{"type":"file"},"role":"rows","formats":["jsonl"],
              "default_path":"rows.jsonl","env":{"var":"TINY_DIR","join":"rows.jsonl"},
              "required":false,"accepts":["tiny"],"assume_corpus":null,"description":""}],
            "schemas":[{"name":"tiny-v1","columns":["adm2"],"requires_slot":null,"description":""}],
            "default_schema":"tiny-v1",
            "mos_scale":{"native_min":1.0,"native_max":5.0,"to_head_scale":1.0,"to_head_offset":0.0,"native_key":"mos"},
            "split_policy":{"kind":"explicit-only","aliases":[]},
            "content_group_key":"src","id_keys":["src"],"group_baseline":null,
            "gate":{"real":{"plcc_min":0.85,"srocc_min":null,"rmse_max":null,"spread_max":null},
                    "synthetic":{"plcc_min":0.75,"srocc_min":null,"rmse_max":null,"spread_max":null}},
            "output_dir":"out","output_env":null,"licence":"",
            "samples":[{"slot":"rows","raw":"{}","expect_rejection":null}]}"#;
        let d: Descriptor = serde_json::from_str(known).unwrap();
        let mut v: serde_json::Value = serde_json::from_str(known).unwrap();
        v["intended_use"] = "a key from API 1.9".into();
        v["inputs"][0]["compression"] = serde_json::json!(["zstd"]);
        v["inputs"][0]["env"]["also"] = 1.into();
        v["inputs"][0]["kind"]["recursive"] = true.into();
        v["schemas"][0]["units"] = serde_json::json!({"adm2": "ratio"});
        v["mos_scale"]["per_slot"] = serde_json::json!({});
        v["split_policy"]["note"] = "x".into();
        v["gate"]["real"]["krocc_min"] = 0.6.into();
        v["gate"]["new_kind"] = serde_json::json!({});
        v["samples"][0]["why"] = "x".into();
        let back: Descriptor = serde_json::from_value(v).unwrap();
        assert_eq!(back, d);

        // Slots of a role or kind a newer minor added are left out, with
        // their samples, and named; the rest reads as before.
        let mut v: serde_json::Value = serde_json::from_str(known).unwrap();
        let inputs = v["inputs"].as_array_mut().unwrap();
        let mut odd_role = inputs[0].clone();
        odd_role["name"] = "thumbnails".into();
        odd_role["role"] = "thumbnails".into();
        let mut odd_kind = inputs[0].clone();
        odd_kind["name"] = "archive".into();
        odd_kind["kind"] = serde_json::json!({"type": "tar", "member": "*.jsonl"});
        inputs.extend([odd_role, odd_kind]);
        v["samples"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"slot": "archive", "raw": "{}", "expect_rejection": null}));
        let (back, notes) = Descriptor::from_json_tolerant(&v.to_string()).unwrap();
        assert_eq!(back, d);
        assert_eq!(
            notes,
            [
                "slot `thumbnails` is ignored: its role `thumbnails` is not known to this host (a newer API minor); rebuild moshead to use it",
                "slot `archive` is ignored: its kind `tar` is not known to this host (a newer API minor); rebuild moshead to use it"
            ]
        );
        // A known kind of the wrong shape is still an error.
        let mut bad: serde_json::Value = serde_json::from_str(known).unwrap();
        bad["inputs"][0]["kind"] = serde_json::json!({"type": "shard-dir"});
        assert!(Descriptor::from_json_tolerant(&bad.to_string()).is_err());
        // Every kind this build writes is one it knows.
        for kind in [
            crate::SlotKind::File,
            crate::SlotKind::ShardDir {
                glob: "*.jsonl".into(),
            },
        ] {
            let slot = serde_json::json!({ "kind": kind });
            assert_eq!(
                crate::descriptor::unknown_slot_variant(&slot),
                None,
                "{slot}"
            );
        }

        let c: ProjectorConfig =
            serde_json::from_str(r#"{"schema":"s","batch":64,"context":{}}"#).unwrap();
        assert_eq!(c.schema.as_deref(), Some("s"));
        let r: SynthRequest =
            serde_json::from_str(r#"{"rows":3,"seed":1,"scale":"0-100"}"#).unwrap();
        assert_eq!((r.rows, r.seed, r.variant), (3, 1, None));
    }

    #[test]
    fn unlabelled_projection_needs_api_1_1() {
        let v = |s: &str| Version::parse(s).unwrap();
        assert!(!supports_unlabelled(&v("1.0.0")));
        assert!(!supports_unlabelled(&v("1.0.9")));
        assert!(supports_unlabelled(&v("1.1.0")));
        assert!(supports_unlabelled(&v("1.1.0-rc.1")));
        assert!(supports_unlabelled(&v("1.4.2")));
        assert!(supports_unlabelled(&api_version()));
    }

    #[test]
    fn incompatible_message_names_both_versions() {
        let err = check_api_compatible("2.1.0").unwrap_err().to_string();
        assert!(err.contains("2.1.0") && err.contains(API_VERSION), "{err}");
    }
}
