//! Plugin discovery, loading, compatibility and selection.

use moshead_e2e::*;

#[test]
fn builtin_adapters_load_in_one_process_with_distinct_identities() {
    let tmp = tempfile::tempdir().unwrap();
    let v = moshead(tmp.path(), &["adapters", "--json"]).json();
    let list = v["adapters"].as_array().unwrap();
    let names: Vec<&str> = list.iter().map(|a| a["name"].as_str().unwrap()).collect();
    // `study` is the study-file interpreter, listed with its example study.
    assert_eq!(names, ["chug-hdr", "konvid", "study"]);
    let ids: Vec<&str> = list
        .iter()
        .map(|a| a["model_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "chug_hdr_mos_head_v1",
            "konvid_mos_head_v1",
            "study_mos_head_v1"
        ]
    );
    let files: Vec<&str> = list.iter().map(|a| a["file"].as_str().unwrap()).collect();
    assert_ne!(files[0], files[1]);
    assert_ne!(files[1], files[2]);
    let table = moshead(tmp.path(), &["adapters"]);
    assert!(table.ok().contains("chug_hdr_mos_head_v1"), "{table}");
}

#[test]
fn show_prints_the_whole_descriptor() {
    let tmp = tempfile::tempdir().unwrap();
    let run = moshead(tmp.path(), &["adapters", "show", "chug-hdr"]);
    let out = run.ok();
    for needle in [
        "shard_*.features.jsonl",
        "$VMAF_CHUG_DIR/training/fr_canonical_shards/output",
        "  chug-hdr-wide-v1 (default)  34",
        "  chug-hdr-display-v1         45",
        "PLCC >= 0.85",
        ".workingdir2/chug/",
    ] {
        assert!(out.contains(needle), "missing {needle:?}:\n{out}");
    }
    let v = moshead(tmp.path(), &["adapters", "show", "konvid", "--json"]).json();
    assert_eq!(v["descriptor"]["model_id"], "konvid_mos_head_v1");
    let slots: Vec<&str> = v["descriptor"]["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        slots,
        [
            "konvid-1k",
            "konvid-150k",
            "features-parquet",
            "vmaf-logs",
            "konvid-1k-attributes"
        ]
    );
}

#[test]
fn no_chug_slot_accepts_konvid_data() {
    let tmp = tempfile::tempdir().unwrap();
    let v = moshead(tmp.path(), &["adapters", "show", "chug-hdr", "--json"]).json();
    for slot in v["descriptor"]["inputs"].as_array().unwrap() {
        for tag in slot["accepts"].as_array().unwrap() {
            assert!(!tag.as_str().unwrap().contains("konvid"), "{slot}");
        }
    }
}

#[test]
fn incompatible_api_is_refused_and_the_others_still_load() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = plugin_dir(&[fixture_lib("bad-api")]);
    let run = moshead(
        tmp.path(),
        &["adapters", "--plugin-dir", dir.path().to_str().unwrap()],
    );
    let out = run.ok();
    assert!(out.contains("chug-hdr") && out.contains("konvid"), "{run}");
    assert!(!out.contains("future-api"), "{run}");
    let err = &run.stderr;
    assert!(
        err.contains("2.0.0") && err.contains(moshead_sdk::API_VERSION),
        "both versions: {err}"
    );
    assert!(err.contains(&lib_file("future-api")), "the file: {err}");
    // Selecting it names why it is missing.
    let sel = moshead(
        tmp.path(),
        &[
            "adapters",
            "show",
            "future-api",
            "--plugin-dir",
            dir.path().to_str().unwrap(),
        ],
    );
    assert!(sel.fails(1).contains("refused at load"), "{sel}");
}

#[test]
fn a_panicking_entry_point_is_an_error_not_an_abort() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = plugin_dir(&[fixture_lib("panicky")]);
    let pdir = dir.path().to_str().unwrap();
    // Panic while describing itself: refused with a warning, others load.
    let mut c = moshead_cmd(tmp.path());
    c.args(["adapters", "--plugin-dir", pdir])
        .env("MOSHEAD_FIXTURE_PANIC", "descriptor");
    let run = run_cmd(c);
    assert!(run.ok().contains("konvid"), "{run}");
    assert!(
        run.stderr
            .contains("plugin panicked: fixture panic in descriptor"),
        "{run}"
    );
    // Panic while projecting a row: an error naming file and line.
    std::fs::write(
        tmp.path().join("rows.jsonl"),
        "{\"corpus\":\"panicky\",\"src\":\"a\",\"mos\":3}\n",
    )
    .unwrap();
    let mut c = moshead_cmd(tmp.path());
    c.args([
        "corpus",
        "-a",
        "panicky",
        "--input",
        "rows=rows.jsonl",
        "--plugin-dir",
        pdir,
    ])
    .env("MOSHEAD_FIXTURE_PANIC", "project");
    let run = run_cmd(c);
    let err = run.fails(1);
    assert!(
        err.contains("rows.jsonl:1") && err.contains("fixture panic in project"),
        "{run}"
    );
    // Panic while opening the projector.
    let mut c = moshead_cmd(tmp.path());
    c.args([
        "corpus",
        "-a",
        "panicky",
        "--input",
        "rows=rows.jsonl",
        "--plugin-dir",
        pdir,
    ])
    .env("MOSHEAD_FIXTURE_PANIC", "open");
    assert!(run_cmd(c).fails(1).contains("fixture panic in open"));
    // Panic while synthesizing.
    let mut c = moshead_cmd(tmp.path());
    c.args([
        "synth",
        "-a",
        "panicky",
        "--rows",
        "3",
        "--out",
        "x",
        "--plugin-dir",
        pdir,
    ])
    .env("MOSHEAD_FIXTURE_PANIC", "synthesize");
    assert!(run_cmd(c).fails(1).contains("fixture panic in synthesize"));
}

#[test]
fn selection_errors_are_clear() {
    let tmp = tempfile::tempdir().unwrap();
    let run = moshead(tmp.path(), &["corpus", "--adapter", "kondiv", "--demo"]);
    let err = run.fails(1);
    assert!(
        err.contains("no adapter named `kondiv`") && err.contains("available: chug-hdr, konvid"),
        "{run}"
    );
    let run = moshead(
        tmp.path(),
        &["corpus", "--adapter", "konvid@^1.2", "--demo"],
    );
    assert!(run.fails(1).contains("does not satisfy `^1.2`"), "{run}");
    let run = moshead(
        tmp.path(),
        &["corpus", "--adapter", "konvid@>=1.0, <2", "--demo"],
    );
    run.ok();
    let run = moshead(
        tmp.path(),
        &["corpus", "--adapter", "konvid@bogus", "--demo"],
    );
    assert!(run.fails(2).contains("bad version requirement"), "{run}");
}

#[test]
fn bad_plugin_files_and_directories_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    // A directory that does not exist.
    let run = moshead(tmp.path(), &["adapters", "--plugin-dir", "/no/such/dir"]);
    assert!(
        run.fails(1).contains("/no/such/dir: does not exist"),
        "{run}"
    );
    // A text file with a library name, a library without the root module,
    // and an unreadable file: warnings naming the path; the rest loads.
    let dir = plugin_dir(&[fixture_lib("not-plugin")]);
    std::fs::write(dir.path().join(lib_file("fake")), "not a library").unwrap();
    let unreadable = dir.path().join(lib_file("locked"));
    std::fs::copy(fixture_lib("not-plugin"), &unreadable).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&unreadable, std::fs::Permissions::from_mode(0o000)).unwrap();
    let can_read_anyway = std::fs::read(&unreadable).is_ok(); // root ignores modes
    let run = moshead(
        tmp.path(),
        &["adapters", "--plugin-dir", dir.path().to_str().unwrap()],
    );
    assert!(run.ok().contains("chug-hdr"), "{run}");
    assert!(
        run.stderr.contains(&format!(
            "{}: is not an ELF shared object (no ELF magic number)",
            dir.path().join(lib_file("fake")).display()
        )),
        "{run}"
    );
    assert!(
        run.stderr.contains("without a moshead root module"),
        "{run}"
    );
    if !can_read_anyway {
        assert!(
            run.stderr.contains("cannot be read: permission denied"),
            "{run}"
        );
    }
}

#[test]
fn two_plugins_with_one_name_are_an_error_naming_both() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = plugin_dir(&[fixture_lib("dup-name")]);
    let run = moshead(
        tmp.path(),
        &["adapters", "--plugin-dir", dir.path().to_str().unwrap()],
    );
    let err = run.fails(1);
    assert!(err.contains("two plugins are named `konvid`"), "{run}");
    assert!(
        err.contains(&dir.path().join(lib_file("konvid")).display().to_string())
            && err.contains(&builtin_plugin("konvid").display().to_string()),
        "{run}"
    );
}

#[test]
fn search_path_is_listed_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    let mut c = moshead_cmd(tmp.path());
    c.args(["adapters", "--paths", "--json", "--plugin-dir", "/first"])
        .env("MOSHEAD_PLUGIN_PATH", "/second");
    let v = run_cmd(c).json();
    let origins: Vec<&str> = v["search_path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["origin"].as_str().unwrap())
        .collect();
    assert_eq!(
        origins[..3],
        [
            "--plugin-dir",
            "MOSHEAD_PLUGIN_PATH",
            "executable directory"
        ]
    );
    assert!(
        !v.to_string()
            .contains(&format!("\"{}\"", tmp.path().display())),
        "never the cwd"
    );
}
