//! `moshead adapters check PATH`: load one plugin file and check it the way
//! the host would use it.
//!
//! The checks, in order (names from [`moshead_conformance::names`]):
//!
//! 1. `load`: the file is a shared library with a moshead root module whose
//!    abi_stable header and layout match the host's;
//! 2. `api-version`: the plugin's API version is one this host accepts
//!    (both versions are printed);
//! 3. `descriptor`: the descriptor parses and [`Descriptor::problems`] is
//!    empty (semver, unique slots and schema columns, a sane gate, usable
//!    environment overrides, ...);
//! 4. `defaults`: which default input paths (with their environment
//!    overrides applied) exist here. A missing default is a **warning**, not
//!    a failure: corpora live elsewhere, and `--input` binds them;
//! 5. the row-level checks of [`moshead_conformance`]: `samples`,
//!    `foreign-corpus`, `garbage` and `synthesize`.
//!
//! Steps 1-3 are [`Adapter::load`] itself, so a plugin passes them exactly
//! when the registry would accept it. When only the descriptor is refused,
//! the row-level checks still run against the plugin's entry points, so an
//! author sees every problem at once. A plugin that fails to load, or
//! reports an API version the host refuses, is never called further.

use std::ffi::OsString;
use std::fs;
use std::path::Path;

use abi_stable::std_types::{RResult, RStr};
use moshead_conformance::{self as conformance, names, Check, Report, Status, Subject};
use moshead_protocol::{
    AdapterModRef, Descriptor, PluginErrorKind, ProjectorBox, ProjectorConfig, SlotKind,
    SynthOutput, SynthRequest,
};

use crate::corpus::inputs::{default_path, Origin};
use crate::registry::{Adapter, PluginError};

/// Checks the plugin file at `path`, calling `on_check` as each check
/// completes (so a plugin that takes the process down still leaves the
/// earlier lines on screen).
pub fn check_plugin(path: &Path, on_check: &mut dyn FnMut(&Check)) -> Report {
    let mut checks = Vec::new();
    run_checks(path, &mut |c: Check| {
        on_check(&c);
        checks.push(c);
    });
    Report { checks }
}

fn run_checks(path: &Path, push: &mut dyn FnMut(Check)) {
    let env = |v: &str| std::env::var_os(v);
    match Adapter::load(path) {
        Ok(a) => {
            push(Check::new(
                names::LOAD,
                Status::Pass,
                format!(
                    "a moshead plugin (sha256 {})",
                    a.sha256.get(..16).unwrap_or(&a.sha256)
                ),
            ));
            push(api_pass(&a.api_version.to_string()));
            push(conformance::descriptor_check(&a.descriptor));
            push(defaults(&a.descriptor, &env));
            let open = |c: &ProjectorConfig| a.open_projector(c).map_err(sdk_error);
            let synth = |r: &SynthRequest| a.synthesize(r).map_err(sdk_error);
            let subject = Subject {
                descriptor: &a.descriptor,
                open: &open,
                synthesize: &synth,
            };
            for c in conformance::run(&subject) {
                push(c);
            }
        }
        Err(PluginError::Incompatible { reason, .. }) => match open_module(path) {
            None => {
                push(Check::new(names::LOAD, Status::Fail, reason));
                skip_rest(push, names::API_VERSION, "the file did not load");
            }
            Some(_) => {
                push(Check::new(names::LOAD, Status::Pass, "a moshead plugin"));
                push(Check::new(names::API_VERSION, Status::Fail, reason));
                skip_rest(
                    push,
                    names::DESCRIPTOR,
                    "the host never calls a plugin of an incompatible API",
                );
            }
        },
        Err(PluginError::BadDescriptor { problems, .. }) => {
            let Some(module) = open_module(path) else {
                push(Check::new(
                    names::LOAD,
                    Status::Fail,
                    "the library loaded once but not twice",
                ));
                skip_rest(push, names::API_VERSION, "the file did not load");
                return;
            };
            push(Check::new(names::LOAD, Status::Pass, "a moshead plugin"));
            push(api_pass((module.api_version())().as_str()));
            push(moshead_conformance::descriptor_refused(problems));
            let descriptor = match (module.descriptor())() {
                RResult::ROk(json) => Descriptor::from_json_tolerant(json.as_str())
                    .ok()
                    .map(|(d, _)| d),
                RResult::RErr(_) => None,
            };
            let Some(d) = descriptor else {
                skip_rest(push, names::DEFAULTS, "the descriptor is unusable");
                return;
            };
            push(defaults(&d, &env));
            let open = |c: &ProjectorConfig| module_open(module, c);
            let synth = |r: &SynthRequest| module_synth(module, r);
            let subject = Subject {
                descriptor: &d,
                open: &open,
                synthesize: &synth,
            };
            for c in conformance::run(&subject) {
                push(c);
            }
        }
        Err(PluginError::Load { reason, .. }) => {
            push(Check::new(names::LOAD, Status::Fail, reason));
            skip_rest(push, names::API_VERSION, "the file did not load");
        }
        Err(other) => {
            push(Check::new(names::LOAD, Status::Fail, other.to_string()));
            skip_rest(push, names::API_VERSION, "the file did not load");
        }
    }
}

/// Every check name, in order.
const ORDER: [&str; 8] = [
    names::LOAD,
    names::API_VERSION,
    names::DESCRIPTOR,
    names::DEFAULTS,
    names::SAMPLES,
    names::FOREIGN_CORPUS,
    names::GARBAGE,
    names::SYNTHESIZE,
];

/// Marks `from` and every later check skipped.
fn skip_rest(push: &mut dyn FnMut(Check), from: &str, why: &str) {
    let start = ORDER.iter().position(|n| *n == from).unwrap_or(ORDER.len());
    for name in &ORDER[start..] {
        push(Check::new(name, Status::Skip, why));
    }
}

fn api_pass(plugin: &str) -> Check {
    Check::new(
        names::API_VERSION,
        Status::Pass,
        format!(
            "plugin API {plugin}, host API {} (the host accepts {})",
            moshead_protocol::API_VERSION,
            moshead_protocol::version::host_requirement()
        ),
    )
}

/// The root module, when the file loads (already loaded by
/// [`Adapter::load`]: this reaches the same library header).
fn open_module(path: &Path) -> Option<AdapterModRef> {
    let bytes = fs::read(path).ok()?;
    crate::loader::load_root_module(&bytes, path).ok()
}

fn sdk_error(e: PluginError) -> moshead_protocol::PluginError {
    match e {
        PluginError::Call { error, .. } => error,
        other => moshead_protocol::PluginError::new(PluginErrorKind::Failed, other.to_string()),
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String, moshead_protocol::PluginError> {
    serde_json::to_string(v).map_err(|e| {
        moshead_protocol::PluginError::new(PluginErrorKind::InvalidRequest, e.to_string())
    })
}

fn module_open(
    module: AdapterModRef,
    config: &ProjectorConfig,
) -> Result<ProjectorBox, moshead_protocol::PluginError> {
    let json = to_json(config)?;
    match (module.open_projector())(RStr::from_str(&json)) {
        RResult::ROk(p) => Ok(p),
        RResult::RErr(e) => Err(e),
    }
}

fn module_synth(
    module: AdapterModRef,
    request: &SynthRequest,
) -> Result<SynthOutput, moshead_protocol::PluginError> {
    let json = to_json(request)?;
    match (module.synthesize())(RStr::from_str(&json)) {
        RResult::ROk(out) => Ok(out.into()),
        RResult::RErr(e) => Err(e),
    }
}

/// Which default input paths (environment overrides applied, relative paths
/// against the working directory) exist here. Never fails: a missing default
/// is a warning.
pub fn defaults(d: &Descriptor, env: &dyn Fn(&str) -> Option<OsString>) -> Check {
    let mut lines = Vec::new();
    let (mut with_default, mut found) = (0usize, 0usize);
    for slot in &d.inputs {
        let Some((path, origin)) = default_path(slot, env) else {
            lines.push(format!(
                "slot `{}`: no default; bind it with --input {}=PATH",
                slot.name, slot.name
            ));
            continue;
        };
        with_default += 1;
        let from = match &origin {
            Origin::Env(v) => format!("from ${v}"),
            _ => "default".to_owned(),
        };
        let shown = format!("slot `{}`: {} ({from})", slot.name, path.display());
        let hint = match &slot.env {
            Some(e) => format!("; pass --input {}=PATH or set ${}", slot.name, e.var),
            None => format!("; pass --input {}=PATH", slot.name),
        };
        let meta = fs::metadata(&path);
        match (&slot.kind, meta) {
            (_, Err(_)) => lines.push(format!("{shown} not found here{hint}")),
            (SlotKind::File, Ok(m)) if m.is_file() => {
                found += 1;
                lines.push(format!("{shown} found"));
            }
            (SlotKind::ShardDir { glob }, Ok(m)) if m.is_dir() => {
                let matching = count_matching(&path, glob);
                if matching > 0 {
                    found += 1;
                    lines.push(format!("{shown} found, {matching} file(s) match `{glob}`"));
                } else {
                    lines.push(format!("{shown} holds no file matching `{glob}`{hint}"));
                }
            }
            (SlotKind::File, Ok(_)) => lines.push(format!("{shown} is not a file{hint}")),
            (SlotKind::ShardDir { .. }, Ok(_)) => {
                lines.push(format!("{shown} is not a directory{hint}"))
            }
        }
    }
    let out_dir = d
        .output_env
        .as_deref()
        .and_then(|v| env(v).filter(|x| !x.is_empty()).map(|x| (v, x)))
        .map(|(v, x)| format!("{} (from ${v})", Path::new(&x).display()))
        .unwrap_or_else(|| d.output_dir.clone());
    lines.push(format!("output directory: {out_dir}"));
    let message = if with_default == 0 {
        "no slot has a default path; every input is bound with --input".to_owned()
    } else {
        format!(
            "{found} of {with_default} default input path{} found here (corpora usually live elsewhere)",
            if with_default == 1 { "" } else { "s" }
        )
    };
    let status = if found < with_default {
        Status::Warn
    } else {
        Status::Pass
    };
    Check::new(names::DEFAULTS, status, message).with_details(lines)
}

fn count_matching(dir: &Path, glob: &str) -> usize {
    let Ok(pattern) = moshead_protocol::ShardGlob::new(glob) else {
        return 0;
    };
    fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.file_name().to_str().is_some_and(|n| pattern.matches(n)))
                .count()
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_fails_to_load_and_skips_the_rest() {
        let mut seen = Vec::new();
        let report = check_plugin(Path::new("/no/such/libplugin.so"), &mut |c| {
            seen.push(c.name.clone())
        });
        assert!(!report.passed());
        assert_eq!(report.checks.len(), ORDER.len());
        assert_eq!(seen, ORDER.map(str::to_owned));
        assert_eq!(report.checks[0].status, Status::Fail);
        assert!(report.checks[1..].iter().all(|c| c.status == Status::Skip));
    }

    #[test]
    fn missing_defaults_warn_and_env_overrides_apply() {
        let d = moshead_sdk::DescriptorBuilder::new("x", "0.1.0", "x_v1")
            .jsonl_file("rows", "/no/such/rows.jsonl", &["x"])
            .env("X_DIR", Some("rows.jsonl"))
            .jsonl_file("more", "", &["x"])
            .schema("x-v1", &["adm2"])
            .content_key("src")
            .build();
        let c = defaults(&d, &|_| None);
        assert_eq!(c.status, Status::Warn, "{c}");
        assert!(c.details[0].contains("/no/such/rows.jsonl (default) not found here; pass --input rows=PATH or set $X_DIR"), "{c}");
        assert!(c.details[1].contains("no default"), "{c}");
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("rows.jsonl"), "").unwrap();
        let dir = tmp.path().as_os_str().to_owned();
        let c = defaults(&d, &|v| (v == "X_DIR").then(|| dir.clone()));
        assert_eq!(c.status, Status::Pass, "{c}");
        assert!(c.details[0].contains("(from $X_DIR) found"), "{c}");
    }
}
