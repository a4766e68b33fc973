//! Which plugin code runs, and plugin trust beyond the plugin's own file
//! and directory (issue 15, item 7): a command that names an adapter loads
//! only the files named for it; the directory a symlinked plugin points
//! into, relative and empty `MOSHEAD_PLUGIN_PATH` entries, and parents
//! others can write are checked. Each case has its exact outcome.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use moshead_e2e::*;

fn names(run: &Run) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(run.ok()).unwrap();
    v["adapters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_owned())
        .collect()
}

fn adapters(cwd: &Path, extra: &[&str], env: Option<&str>) -> Run {
    let mut c = moshead_cmd(cwd);
    c.args(["adapters", "--json"]).args(extra);
    if let Some(p) = env {
        c.env("MOSHEAD_PLUGIN_PATH", p);
    }
    run_cmd(c)
}

fn mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn a_symlink_into_a_world_writable_directory_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let safe = tmp.path().join("safe");
    let open = tmp.path().join("open");
    std::fs::create_dir(&safe).unwrap();
    std::fs::create_dir(&open).unwrap();
    let target = open.join(lib_file("panicky"));
    std::fs::copy(fixture_lib("panicky"), &target).unwrap();
    mode(&target, 0o644);
    std::os::unix::fs::symlink(&target, safe.join(lib_file("panicky"))).unwrap();
    let p = safe.to_str().unwrap();

    // The target's directory is safe: the link loads.
    mode(&open, 0o755);
    let run = adapters(tmp.path(), &["--plugin-dir", p], None);
    assert!(names(&run).contains(&"panicky".to_owned()), "{run}");

    // World-writable: refused, naming the link, the target and its directory.
    mode(&open, 0o777);
    let run = adapters(tmp.path(), &["--plugin-dir", p], None);
    assert!(!names(&run).contains(&"panicky".to_owned()), "{run}");
    let expected = format!(
        "is a symlink to {}: its directory {} is writable by every user (mode 777)",
        target.display(),
        open.display()
    );
    assert!(run.stderr.contains(&expected), "{run}");
    // A group-writable target directory too.
    mode(&open, 0o775);
    let run = adapters(tmp.path(), &["--plugin-dir", p], None);
    assert!(
        run.stderr.contains("writable by its group (mode 775)"),
        "{run}"
    );
    // --allow-insecure-plugins overrides.
    let run = adapters(
        tmp.path(),
        &["--plugin-dir", p, "--allow-insecure-plugins"],
        None,
    );
    assert!(names(&run).contains(&"panicky".to_owned()), "{run}");
    mode(&open, 0o755);
}

#[test]
fn relative_and_empty_plugin_path_entries_never_search_the_current_directory() {
    let cwd = tempfile::tempdir().unwrap();
    std::fs::copy(fixture_lib("panicky"), cwd.path().join(lib_file("panicky"))).unwrap();
    std::fs::create_dir(cwd.path().join("plugins")).unwrap();
    std::fs::copy(
        fixture_lib("panicky"),
        cwd.path().join("plugins").join(lib_file("panicky")),
    )
    .unwrap();
    for entry in [".", ":.:", "./", "", "::", "plugins", "./plugins"] {
        let run = adapters(cwd.path(), &[], Some(entry));
        assert!(
            !names(&run).contains(&"panicky".to_owned()),
            "{entry:?}: {run}"
        );
        let relative: Vec<&str> = entry.split(':').filter(|e| !e.is_empty()).collect();
        for e in &relative {
            let warning = format!("MOSHEAD_PLUGIN_PATH entry `{e}` is relative: ignored");
            assert!(run.stderr.contains(&warning), "{entry:?}: {run}");
        }
        if relative.is_empty() {
            assert!(
                !run.stderr.contains("MOSHEAD_PLUGIN_PATH"),
                "{entry:?}: {run}"
            );
        }
        let mut c = moshead_cmd(cwd.path());
        c.args(["adapters", "--paths", "--json"])
            .env("MOSHEAD_PLUGIN_PATH", entry);
        let v = run_cmd(c).json();
        for d in v["search_path"].as_array().unwrap() {
            if d["origin"] == "MOSHEAD_PLUGIN_PATH" {
                assert!(d["ignored"].is_string(), "{entry:?}: {v}");
            }
        }
    }
    // An absolute entry naming the same directory is searched: the operator
    // named it.
    let abs = cwd.path().join("plugins");
    let run = adapters(cwd.path(), &[], Some(abs.to_str().unwrap()));
    assert!(names(&run).contains(&"panicky".to_owned()), "{run}");
    // A relative --plugin-dir is resolved against the working directory.
    let run = adapters(cwd.path(), &["--plugin-dir", "plugins"], None);
    assert!(names(&run).contains(&"panicky".to_owned()), "{run}");
    let mut c = moshead_cmd(cwd.path());
    c.args(["adapters", "--paths", "--json", "--plugin-dir", "plugins"]);
    let v = run_cmd(c).json();
    assert_eq!(v["search_path"][0]["path"], abs.to_str().unwrap(), "{v}");
}

#[test]
fn a_plugin_directory_inside_a_parent_others_can_write_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let parent = tmp.path().join("shared");
    let dir = parent.join("plugins");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(fixture_lib("panicky"), dir.join(lib_file("panicky"))).unwrap();
    let p = dir.to_str().unwrap();

    mode(&parent, 0o755);
    let run = adapters(tmp.path(), &["--plugin-dir", p], None);
    assert!(names(&run).contains(&"panicky".to_owned()), "{run}");

    // Writable by every user, not sticky: anyone can rename `plugins` away.
    mode(&parent, 0o777);
    let run = adapters(tmp.path(), &["--plugin-dir", p], None);
    assert!(!names(&run).contains(&"panicky".to_owned()), "{run}");
    let expected = format!(
        "plugin directory {p} is inside {}, which is writable by every user (mode 777) and not a sticky directory owned by root",
        parent.display()
    );
    assert!(run.stderr.contains(&expected), "{run}");

    // Group-writable: refused too.
    mode(&parent, 0o775);
    let run = adapters(tmp.path(), &["--plugin-dir", p], None);
    assert!(
        run.stderr.contains("writable by its group (mode 775)"),
        "{run}"
    );

    // Sticky and world-writable: safe only when root owns it (like /tmp).
    mode(&parent, 0o1777);
    let run = adapters(tmp.path(), &["--plugin-dir", p], None);
    let root_owned = std::fs::metadata(&parent).unwrap().uid() == 0;
    assert_eq!(
        names(&run).contains(&"panicky".to_owned()),
        root_owned,
        "sticky parent owned by uid {}: {run}",
        std::fs::metadata(&parent).unwrap().uid()
    );
    if !root_owned {
        assert!(run.stderr.contains("(mode 1777)"), "{run}");
    }

    let run = adapters(
        tmp.path(),
        &["--plugin-dir", p, "--allow-insecure-plugins"],
        None,
    );
    assert!(names(&run).contains(&"panicky".to_owned()), "{run}");
    mode(&parent, 0o755);
}

#[test]
fn a_command_naming_an_adapter_runs_no_other_plugin() {
    let cwd = tempfile::tempdir().unwrap();
    let dir = plugin_dir(&[fixture_lib("panicky")]);
    let p = dir.path().to_str().unwrap();
    let panics = |args: &[&str]| {
        let mut c = moshead_cmd(cwd.path());
        c.args(args).env("MOSHEAD_FIXTURE_PANIC", "descriptor");
        let run = run_cmd(c);
        (run.stderr.contains("fixture panic in descriptor"), run)
    };
    // Listing every adapter runs every descriptor: the panic is reported.
    let (ran, run) = panics(&["adapters", "--plugin-dir", p]);
    assert!(ran, "{run}");
    // Commands that name another adapter never load the panicky library.
    for args in [
        &["adapters", "--plugin-dir", p, "show", "konvid"][..],
        &["adapters", "--plugin-dir", p, "--paths"][..],
        &["corpus", "--plugin-dir", p, "-a", "chug-hdr", "--demo"][..],
        &[
            "synth",
            "--plugin-dir",
            p,
            "-a",
            "konvid",
            "--rows",
            "30",
            "--out",
            "k",
        ][..],
    ] {
        let (ran, run) = panics(args);
        assert!(!ran, "{args:?}: {run}");
        assert_eq!(run.code, Some(0), "{args:?}: {run}");
    }
    // An unknown name lists the others by their files, without loading them.
    let (ran, run) = panics(&["corpus", "--plugin-dir", p, "-a", "nope", "--demo"]);
    assert!(!ran, "{run}");
    assert!(
        run.fails(1)
            .contains("no adapter named `nope`; available: chug-hdr, konvid, panicky"),
        "{run}"
    );
}

#[test]
fn a_plugin_whose_file_is_named_for_another_adapter_is_refused() {
    let cwd = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture_lib("panicky"), dir.path().join(lib_file("quiet"))).unwrap();
    let p = dir.path().to_str().unwrap();
    let run = adapters(cwd.path(), &["--plugin-dir", p], None);
    assert!(!names(&run).contains(&"panicky".to_owned()), "{run}");
    assert!(
        run.stderr.contains(&format!(
            "declares adapter `panicky`, but its file is named for `quiet` (name the file {})",
            lib_file("panicky")
        )),
        "{run}"
    );
}
