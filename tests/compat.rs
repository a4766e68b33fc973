//! The minor-version compatibility promise (sdk/README.md, "The API
//! version"), held against plugins built at other minors than this host's
//! (`tests/fixtures/compat`):
//!
//! - `api-next` (API 1.4, newer than this host): two root-module fields appended after the last
//!   prefix field and descriptor keys this host does not know, at every
//!   level: it loads, lists, checks, synthesizes and trains with the new
//!   parts ignored;
//! - `api-1-0` (API 1.0): only the descriptor keys 1.0 required: the absent
//!   optional keys read as absent, no refusal;
//! - a 2.0 plugin beside them is refused as before.

use std::path::Path;

use moshead_e2e::*;

fn pdir() -> tempfile::TempDir {
    plugin_dir(&[
        compat_lib("api-next"),
        compat_lib("api-1-0"),
        fixture_lib("bad-api"),
    ])
}

fn adapter<'a>(v: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    v["adapters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == name)
        .unwrap_or_else(|| panic!("{name} not listed: {v}"))
}

#[test]
fn plugins_of_an_older_and_a_newer_minor_load_and_a_new_major_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = pdir();
    let run = moshead(
        tmp.path(),
        &[
            "adapters",
            "--json",
            "--plugin-dir",
            dir.path().to_str().unwrap(),
        ],
    );
    let v = run.json();
    let next = adapter(&v, "api-next");
    assert_eq!(next["api_version"], "1.4.0", "{next}");
    let old = adapter(&v, "api-1-0");
    assert_eq!(old["api_version"], "1.0.0", "{old}");
    assert!(!v.to_string().contains("future-api"), "{v}");
    assert!(
        run.stderr.contains(&format!(
            "plugin API version 2.0.0 is incompatible with host API version {} (host accepts ^1)",
            moshead_sdk::API_VERSION
        )),
        "{run}"
    );
    assert!(run.stderr.contains(&lib_file("future-api")), "{run}");
    assert!(
        !run.stderr.contains("api_next") && !run.stderr.contains("api_1_0"),
        "{run}"
    );

    // The descriptor's unknown keys are dropped, the rest reads as declared.
    let show = moshead(
        tmp.path(),
        &[
            "adapters",
            "show",
            "api-next",
            "--json",
            "--plugin-dir",
            dir.path().to_str().unwrap(),
        ],
    );
    let d = &show.json()["descriptor"];
    assert_eq!(
        d["schemas"][0]["columns"],
        serde_json::json!(["adm2", "motion2"]),
        "{d}"
    );
    assert!(
        d.get("intended_use").is_none() && d["inputs"][0].get("compression").is_none(),
        "{d}"
    );
    // Slots of a role or kind the host does not know are left out, and said.
    let slots: Vec<&str> = d["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(slots, ["rows"], "{d}");
    let text = moshead(
        tmp.path(),
        &[
            "adapters",
            "show",
            "api-next",
            "--plugin-dir",
            dir.path().to_str().unwrap(),
        ],
    );
    for note in [
        "note         slot `thumbnails` is ignored: its role `thumbnails` is not known to this host",
        "note         slot `archive` is ignored: its kind `tar` is not known to this host",
    ] {
        assert!(text.ok().contains(note), "{text}");
    }
}

#[test]
fn adapters_check_passes_plugins_of_other_minors() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, expected) in [
        (
            "api-next",
            format!("plugin API 1.4.0, host API {}", moshead_sdk::API_VERSION),
        ),
        (
            "api-1-0",
            format!("plugin API 1.0.0, host API {}", moshead_sdk::API_VERSION),
        ),
    ] {
        let mut c = moshead_cmd(tmp.path());
        c.args(["adapters", "check"]).arg(compat_lib(name));
        let run = run_cmd(c);
        let out = run.ok();
        assert!(!out.contains("FAIL"), "{run}");
        let api = out.lines().find(|l| l.contains("api-version")).unwrap();
        assert!(api.starts_with("PASS") && api.contains(&expected), "{run}");
        let descriptor = out.lines().find(|l| l.contains("  descriptor")).unwrap();
        assert!(
            descriptor.starts_with("PASS") && descriptor.contains(&format!("{name} 1.0.0")),
            "{run}"
        );
    }
}

/// synth, corpus and train through each fixture: the unknown descriptor keys
/// are ignored, the requests a newer host sends are read by an older plugin.
fn trains(cwd: &Path, dir: &Path, name: &str, tag: &str) {
    let pdir = dir.to_str().unwrap();
    let run = moshead(
        cwd,
        &[
            "synth",
            "--plugin-dir",
            pdir,
            "-a",
            name,
            "--rows",
            "90",
            "--out",
            name,
        ],
    );
    run.ok();
    let rows = format!("rows={name}/rows.jsonl");
    let run = moshead(
        cwd,
        &[
            "corpus",
            "--plugin-dir",
            pdir,
            "-a",
            name,
            "-i",
            &rows,
            "--json",
        ],
    );
    let v = run.json();
    assert_eq!(v["rows"], 90, "{v}");
    let out = format!("{name}-out");
    let run = moshead(
        cwd,
        &[
            "train",
            "--plugin-dir",
            pdir,
            "-a",
            name,
            "-i",
            &rows,
            "--out",
            &out,
        ],
    );
    let text = run.ok();
    assert!(
        text.contains("90 rows, 30 content groups, synthetic"),
        "{run}"
    );
    let model = std::fs::read_to_string(
        cwd.join(&out)
            .join(format!("{}_v1.json", name.replace('-', "_"))),
    )
    .unwrap();
    let manifest: serde_json::Value = serde_json::from_str(&model).unwrap();
    assert_eq!(manifest["adapter"]["name"], name, "{manifest}");
    assert!(model.contains(tag), "the schema of {name}: {model}");
}

#[test]
fn plugins_of_other_minors_synthesize_read_and_train() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = pdir();
    trains(tmp.path(), dir.path(), "api-next", "compat-next-v1");
    trains(tmp.path(), dir.path(), "api-1-0", "compat-old-v1");
}
