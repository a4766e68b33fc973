//! The third-party adapter kit: the template builds as a separate crate,
//! passes `moshead adapters check`, loads, synthesizes and trains; it is
//! discovered when installed in the user's plugin directory; broken plugins
//! fail the matching checks with clear messages.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use moshead_e2e::*;
use serde_json::Value;

/// Builds `examples/adapter-template` as its own crate, once (into the
/// fixtures' target directory); returns the plugin library.
fn template_lib() -> &'static Path {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    LIB.get_or_init(|| {
        let dir = build_fixtures(
            "examples/adapter-template/Cargo.toml",
            "the adapter template",
        );
        let lib = dir.join(lib_file("my-corpus"));
        assert!(lib.is_file(), "{} was not built", lib.display());
        lib
    })
}

/// `moshead adapters check PATH` in `cwd`, with `env` set.
fn check(cwd: &Path, lib: &Path, env: &[(&str, &str)], json: bool) -> Run {
    let mut c = moshead_cmd(cwd);
    c.args(["adapters", "check"]).arg(lib);
    if json {
        c.arg("--json");
    }
    c.env_remove("MOSHEAD_FIXTURE_BAD");
    for (k, v) in env {
        c.env(k, v);
    }
    run_cmd(c)
}

/// The line of check `name` and its indented details.
fn block<'a>(out: &'a str, name: &str) -> Vec<&'a str> {
    let mut lines = out.lines().skip_while(|l| {
        l.get(6..)
            .and_then(|rest| rest.strip_prefix(name))
            .is_none_or(|after| !after.starts_with(' '))
    });
    let mut block: Vec<&str> = lines.next().into_iter().collect();
    block.extend(lines.take_while(|l| l.starts_with("      ")));
    assert!(!block.is_empty(), "no `{name}` check in:\n{out}");
    block
}

/// Asserts check `name` has `status` and that its block mentions every
/// needle.
fn assert_check(out: &str, name: &str, status: &str, needles: &[&str]) {
    let b = block(out, name).join("\n");
    assert!(b.starts_with(status), "`{name}` is not {status}:\n{out}");
    for n in needles {
        assert!(b.contains(n), "`{name}` does not mention {n:?}:\n{b}");
    }
}

/// The `{name: status}` of a `--json` report.
fn statuses(v: &Value) -> Vec<(String, String)> {
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn template_builds_as_a_separate_crate_and_passes_adapters_check() {
    let tmp = tempfile::tempdir().unwrap();
    let run = check(tmp.path(), template_lib(), &[], false);
    let out = run.ok();
    assert!(out.starts_with("checking "), "{run}");
    assert_check(out, "load", "PASS", &["a moshead plugin (sha256 "]);
    assert_check(
        out,
        "api-version",
        "PASS",
        &[&format!(
            "plugin API {v}, host API {v}",
            v = moshead_sdk::API_VERSION
        )],
    );
    assert_check(
        out,
        "descriptor",
        "PASS",
        &[
            "my-corpus 0.1.0",
            "`my-corpus-v1`, 5 columns",
            "MOS 0-100 under `mos_0_100`",
        ],
    );
    // The default corpus path does not exist in a fresh directory: a warning.
    assert_check(
        out,
        "defaults",
        "WARN",
        &[
            ".corpus/my-corpus/rows.jsonl (default) not found here",
            "$MY_CORPUS_DIR",
        ],
    );
    assert_check(
        out,
        "samples",
        "PASS",
        &["3 sample rows as declared", "1 as mos-out-of-range"],
    );
    assert_check(out, "foreign-corpus", "PASS", &["not-my-corpus"]);
    assert_check(
        out,
        "garbage",
        "PASS",
        &["no panic, no failure, no contract-breaking row"],
    );
    assert_check(
        out,
        "synthesize",
        "PASS",
        &[
            "rows=12: 1 file, 12 lines -> 12 rows",
            "rows=1: clean error",
        ],
    );
    assert!(
        out.trim_end()
            .ends_with("8 checks: 7 passed, 1 warning, 0 failed, 0 skipped"),
        "{run}"
    );

    // With the default path present (through its environment override), no warning.
    std::fs::write(tmp.path().join("rows.jsonl"), "").unwrap();
    let dir = tmp.path().to_str().unwrap();
    let run = check(tmp.path(), template_lib(), &[("MY_CORPUS_DIR", dir)], true);
    let v = run.json();
    assert_eq!(v["passed"], true);
    assert!(statuses(&v).iter().all(|(_, s)| s == "pass"), "{run}");
}

#[test]
fn the_builtin_adapters_pass_adapters_check() {
    let tmp = tempfile::tempdir().unwrap();
    for name in ["chug-hdr", "konvid", "study"] {
        let run = check(tmp.path(), &builtin_plugin(name), &[], false);
        let out = run.ok();
        assert!(!out.contains("FAIL"), "{run}");
        assert_check(out, "samples", "PASS", &[]);
    }
}

#[test]
fn template_loads_synthesizes_and_trains_from_a_plugin_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let plugins = plugin_dir(&[template_lib().to_path_buf()]);
    let pdir = plugins.path().to_str().unwrap();
    let v = moshead(cwd, &["adapters", "--plugin-dir", pdir, "--json"]).json();
    let names: Vec<&str> = v["adapters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["chug-hdr", "konvid", "my-corpus", "study"]);
    let run = moshead(
        cwd,
        &[
            "synth",
            "--plugin-dir",
            pdir,
            "-a",
            "my-corpus",
            "--rows",
            "400",
            "--seed",
            "3",
            "--out",
            "corpus",
        ],
    );
    assert!(run.ok().contains("--input rows=corpus/rows.jsonl"), "{run}");
    let run = moshead(
        cwd,
        &[
            "train",
            "--plugin-dir",
            pdir,
            "-a",
            "my-corpus",
            "-i",
            "rows=corpus/rows.jsonl",
            "--out",
            "out",
            "--require-gate",
        ],
    );
    let out = run.ok();
    assert!(
        out.contains("400 rows, 100 content groups, synthetic"),
        "{run}"
    );
    assert!(out.contains("gate (synthetic): PASSED"), "{run}");
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(cwd.join("out").join("my_corpus_mos_head_v1.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["adapter"]["name"], "my-corpus", "{manifest}");
}

#[test]
fn a_plugin_installed_in_the_user_data_dir_is_discovered() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("xdg-data");
    let installed = data.join("moshead").join("plugins");
    std::fs::create_dir_all(&installed).unwrap();
    std::fs::copy(template_lib(), installed.join(lib_file("my-corpus"))).unwrap();

    let mut c = moshead_cmd(tmp.path());
    c.args(["adapters", "--json"]).env("XDG_DATA_HOME", &data);
    let v = run_cmd(c).json();
    let mine = v["adapters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "my-corpus")
        .unwrap_or_else(|| panic!("my-corpus not discovered: {v}"));
    assert!(
        mine["file"]
            .as_str()
            .unwrap()
            .starts_with(installed.to_str().unwrap()),
        "{mine}"
    );

    let mut c = moshead_cmd(tmp.path());
    c.args(["adapters", "--paths", "--json"])
        .env("XDG_DATA_HOME", &data);
    let v = run_cmd(c).json();
    let dirs = v["search_path"].as_array().unwrap();
    let origins: Vec<&str> = dirs.iter().map(|d| d["origin"].as_str().unwrap()).collect();
    assert_eq!(
        origins,
        ["executable directory", "install prefix", "user data"],
        "{v}"
    );
    let user = dirs.last().unwrap();
    assert_eq!(user["path"], installed.to_str().unwrap());
    assert_eq!(user["exists"], true);

    // The table says the same, in order, with a column saying it exists.
    let mut c = moshead_cmd(tmp.path());
    c.args(["adapters", "--paths"]).env("XDG_DATA_HOME", &data);
    let run = run_cmd(c);
    let last = run.ok().lines().last().unwrap().to_owned();
    assert!(
        last.starts_with("3 ") && last.contains("user data") && last.ends_with("yes"),
        "{run}"
    );
}

#[test]
fn a_broken_descriptor_fails_the_matching_checks_with_clear_messages() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = fixture_lib("bad-descriptor");
    let run = check(tmp.path(), &lib, &[], false);
    assert_eq!(run.code, Some(4), "exit 4 on a failing check:\n{run}");
    let out = &run.stdout;
    assert_check(out, "load", "PASS", &[]);
    assert_check(out, "api-version", "PASS", &[]);
    assert_check(
        out,
        "descriptor",
        "FAIL",
        &[
            "the host refuses this plugin",
            "version `1.0` is not semver",
            "input slot `rows` is declared twice",
            "schema `bad-v1` repeats column `adm2`",
            "real gate: plcc_min -0.5 passes a head that does not track MOS (inverted threshold?)",
            "real gate: rmse_max -1 must be finite and positive",
        ],
    );
    assert_check(
        out,
        "samples",
        "FAIL",
        &[
            "sample 0 (slot `rows`, schema `bad-v1`) must project but was rejected as mos-out-of-range",
            "sample 1 (slot `rows`, schema `bad-v1`) must be rejected as reference-row but projected",
        ],
    );
    assert_check(
        out,
        "foreign-corpus",
        "FAIL",
        &["slot `rows`: sample 1 retagged `not-bad` was accepted (projected as corpus `bad`)"],
    );
    // Garbage is handled honestly: only the broken parts fail.
    assert_check(out, "garbage", "PASS", &[]);
    assert_check(
        out,
        "synthesize",
        "FAIL",
        &["rows=12: file `../outside.jsonl` is not a relative path of plain names"],
    );
    assert!(
        out.contains("8 checks: 4 passed, 0 warnings, 4 failed, 0 skipped"),
        "{run}"
    );

    // The same as JSON, still exiting 4.
    let run = check(tmp.path(), &lib, &[], true);
    assert_eq!(run.code, Some(4), "{run}");
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["passed"], false);
    let failed: Vec<String> = statuses(&v)
        .into_iter()
        .filter(|(_, s)| s == "fail")
        .map(|(n, _)| n)
        .collect();
    assert_eq!(
        failed,
        ["descriptor", "samples", "foreign-corpus", "synthesize"]
    );

    // A NaN gate threshold cannot cross as JSON: the plugin refuses to
    // describe itself, and nothing after the descriptor can run.
    let run = check(
        tmp.path(),
        &lib,
        &[("MOSHEAD_FIXTURE_BAD", "nan-gate")],
        false,
    );
    assert_eq!(run.code, Some(4), "{run}");
    assert_check(
        &run.stdout,
        "descriptor",
        "FAIL",
        &["gate.real.plcc_min = NaN"],
    );
    for name in [
        "defaults",
        "samples",
        "foreign-corpus",
        "garbage",
        "synthesize",
    ] {
        assert_check(&run.stdout, name, "SKIP", &["the descriptor is unusable"]);
    }
    // And the registry refuses it as it refuses every descriptor problem.
    let dir = plugin_dir(&[lib]);
    let run = moshead(
        tmp.path(),
        &["adapters", "--plugin-dir", dir.path().to_str().unwrap()],
    );
    assert!(!run.ok().contains("bad-descriptor"), "{run}");
    assert!(
        run.stderr.contains("input slot `rows` is declared twice"),
        "{run}"
    );
}

#[test]
fn other_broken_plugins_fail_where_they_break() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();

    let run = check(cwd, &fixture_lib("not-plugin"), &[], false);
    assert_eq!(run.code, Some(4), "{run}");
    assert_check(
        &run.stdout,
        "load",
        "FAIL",
        &["without a moshead root module"],
    );
    assert_check(
        &run.stdout,
        "api-version",
        "SKIP",
        &["the file did not load"],
    );

    let text = cwd.join(lib_file("text"));
    std::fs::write(&text, "not a library").unwrap();
    let run = check(cwd, &text, &[], false);
    assert_check(
        &run.stdout,
        "load",
        "FAIL",
        &["is not an ELF shared object"],
    );

    let run = check(cwd, &fixture_lib("bad-api"), &[], false);
    assert_eq!(run.code, Some(4), "{run}");
    assert_check(&run.stdout, "load", "PASS", &[]);
    assert_check(
        &run.stdout,
        "api-version",
        "FAIL",
        &["2.0.0", moshead_sdk::API_VERSION, "^1"],
    );
    assert_check(&run.stdout, "descriptor", "SKIP", &[]);

    let run = check(cwd, &fixture_lib("liar"), &[], false);
    assert_eq!(run.code, Some(4), "{run}");
    assert_check(&run.stdout, "samples", "WARN", &["declares no sample rows"]);
    assert_check(
        &run.stdout,
        "foreign-corpus",
        "FAIL",
        &["retagged `not-liar` was accepted"],
    );
    assert_check(
        &run.stdout,
        "garbage",
        "FAIL",
        &["slot `rows`, text: projected to a row (MOS 3), but it can never be a training row"],
    );

    let run = check(
        cwd,
        &fixture_lib("panicky"),
        &[("MOSHEAD_FIXTURE_PANIC", "project")],
        false,
    );
    assert_eq!(run.code, Some(4), "{run}");
    assert_check(
        &run.stdout,
        "garbage",
        "FAIL",
        &[
            "panicked: fixture panic in project",
            "stopped after 3 panics",
        ],
    );

    let run = check(
        cwd,
        &fixture_lib("panicky"),
        &[("MOSHEAD_FIXTURE_PANIC", "synthesize")],
        false,
    );
    assert_check(
        &run.stdout,
        "synthesize",
        "FAIL",
        &["rows=12: panicked: fixture panic in synthesize"],
    );

    let run = check(
        cwd,
        &fixture_lib("panicky"),
        &[("MOSHEAD_FIXTURE_PANIC", "descriptor")],
        false,
    );
    assert_check(
        &run.stdout,
        "descriptor",
        "FAIL",
        &["plugin panicked: fixture panic in descriptor"],
    );
}

/// `adapters new NAME --rust` scaffolds a plugin crate from the template
/// with a libvmaf-log slot: it builds (into the fixtures' target directory,
/// with the template's lock file), passes `adapters check`, loads by name
/// and trains on the labels and logs it was written from.
#[test]
fn adapters_new_rust_scaffolds_a_crate_that_builds_checks_and_trains() {
    use crate::votes::{clip, quality, write_log, CLIPS};
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    std::fs::create_dir_all(cwd.join("logs")).unwrap();
    let mut labels = String::from("clip,source,mos,sd,n\n");
    for j in 0..CLIPS {
        write_log(&cwd.join("logs"), j);
        let mos = 10.0 + 80.0 * quality(j) + (j % 3) as f64;
        labels.push_str(&format!("{},src{},{mos:.2},11,24\n", clip(j), j / 4));
    }
    std::fs::write(cwd.join("labels.csv"), labels).unwrap();
    let new = [
        "adapters",
        "new",
        "scaffolded-study",
        "--labels",
        "labels.csv",
        "--logs",
        "logs",
        "--rust",
    ];
    let out = moshead(cwd, &new).ok().to_owned();
    assert!(out.contains("guessed  content (source): `source`"), "{out}");
    let dir = cwd.join("scaffolded-study");
    let lib_rs = std::fs::read_to_string(dir.join("src/lib.rs")).unwrap();
    for needle in [
        ".libvmaf_logs(\"logs\", LOGS, &[TAG], \"labels\", &[ID_KEY], &[])",
        "const CONTENT_KEY: &str = \"source\";",
        "const SCALE: (f64, f64) = (0.0, 100.0);",
        "rules::positive(row, \"sd\")",
    ] {
        assert!(lib_rs.contains(needle), "missing {needle:?}:\n{lib_rs}");
    }
    // Never over the crate's files without --force.
    let e = moshead(cwd, &new).fails(1).to_owned();
    assert!(
        e.contains("exists; moshead never overwrites it without --force"),
        "{e}"
    );

    let built = build_fixtures(
        dir.join("Cargo.toml").to_str().unwrap(),
        "the scaffolded crate",
    );
    let lib = built.join(lib_file("scaffolded-study"));
    let run = check(cwd, &lib, &[], false);
    let out = run.ok();
    assert_check(out, "descriptor", "PASS", &["scaffolded-study 0.1.0"]);
    assert_check(out, "samples", "PASS", &[]);
    let plugins = plugin_dir(&[lib]);
    let pdir = plugins.path().to_str().unwrap();
    let train = [
        "train",
        "--quiet",
        "--plugin-dir",
        pdir,
        "-a",
        "scaffolded-study",
        "--head",
        "linear",
        "--validation",
        "kfold",
        "--folds",
        "3",
        "--out",
        "out",
    ];
    moshead(cwd, &train).ok();
    let m: Value = serde_json::from_str(
        &std::fs::read_to_string(cwd.join("out/scaffolded_study_mos_head_v1.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(m["adapter"]["name"], "scaffolded-study");
    assert_eq!(m["data"]["rows"], CLIPS as u64, "{}", m["data"]);
    assert_eq!(m["gate"]["thresholds"]["plcc_min"], 0.7, "{}", m["gate"]);
}
