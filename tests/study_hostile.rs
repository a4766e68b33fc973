//! Hostile study files, end to end: each refused before anything is read,
//! with the file as the user named it, the line and the dotted key (a FIFO
//! and a symlink into a directory others can write name the file and what
//! is wrong with it).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use moshead_e2e::moshead;

/// A valid study file; the cases below break one line of it.
const BASE: &str = r#"name = "hostile"
description = "a study file under attack"
[scale]
min = 0
max = 100
[columns]
id = "clip"
mos = "mos"
content = "src"
[labels]
path = "labels.csv"
[gate]
plcc_min = 0.5
"#;

/// `moshead corpus --adapter ./FILE` in `cwd`: its stderr (exit 1).
fn refused(cwd: &Path, file: &str) -> String {
    let adapter = format!("./{file}");
    let run = moshead(cwd, &["corpus", "--adapter", &adapter]);
    run.fails(1).to_owned()
}

#[test]
fn each_hostile_study_file_is_refused_naming_file_line_and_key() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    std::fs::write(cwd.join("labels.csv"), "clip,src,mos,adm2\na_1,a,50,0.9\n").unwrap();
    // The base itself is read (no refusal of the study).
    std::fs::write(cwd.join("base.toml"), BASE).unwrap();
    let run = moshead(cwd, &["adapters", "show", "./base.toml"]);
    assert!(run.ok().contains("hostile"), "{run}");

    let cases: [(&str, String, &str, &str); 9] = [
        (
            "invalid.toml",
            BASE.replace("\"a study file under attack\"", "\"unterminated"),
            "./invalid.toml:2: ",
            "",
        ),
        (
            "unknown.toml",
            BASE.replace(
                "content = \"src\"\n",
                "content = \"src\"\ncolour = \"red\"\n",
            ),
            "./unknown.toml:10: key `columns.colour`: ",
            "unknown field `colour`",
        ),
        (
            "model-id.toml",
            BASE.replace("description", "model_id = \"../../x\"\ndescription"),
            "./model-id.toml:2: key `model_id`: ",
            "is a path",
        ),
        (
            "inverted.toml",
            BASE.replace("max = 100", "max = -5"),
            "./inverted.toml:5: key `scale.max`: ",
            "inverted",
        ),
        (
            "empty.toml",
            BASE.replace("max = 100", "max = 0"),
            "./empty.toml:5: key `scale.max`: ",
            "empty",
        ),
        (
            "two-roles.toml",
            BASE.replace("content = \"src\"", "content = \"mos\""),
            "./two-roles.toml:9: key `columns.content`: ",
            "two roles: columns.mos and columns.content",
        ),
        (
            "format.toml",
            BASE.replace(
                "path = \"labels.csv\"",
                "path = \"labels.csv\"\nformats = [\"xlsx\"]",
            ),
            "./format.toml:12: key `labels.formats`: ",
            "cannot read format `xlsx`",
        ),
        (
            "gate.toml",
            BASE.replace("plcc_min = 0.5", "plcc_min = -0.5"),
            "./gate.toml:13: key `gate.plcc_min`: ",
            "negative",
        ),
        (
            "votes.toml",
            BASE.replace("[gate]", "[votes]\nlayout = \"tall\"\n[gate]"),
            "./votes.toml:13: key `votes.layout`: ",
            "no vote layout",
        ),
    ];
    for (file, text, prefix, reason) in cases {
        std::fs::write(cwd.join(file), &text).unwrap();
        let e = refused(cwd, file);
        let line = e
            .lines()
            .find(|l| l.contains(prefix))
            .unwrap_or_else(|| panic!("{file}: no {prefix:?} in:\n{e}"));
        assert!(line.contains(reason), "{file}: {reason:?} not in {line:?}");
        assert!(!e.contains("panicked"), "{e}");
    }
}

#[test]
fn a_fifo_and_a_symlink_into_a_shared_directory_are_refused_without_blocking() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path().join("work");
    std::fs::create_dir(&cwd).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(cwd.join("fifo.toml"))
        .status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo");
    let e = refused(&cwd, "fifo.toml");
    assert!(e.contains("./fifo.toml") && e.contains("FIFO"), "{e}");

    // A study file symlinked into a directory every user can write.
    let shared = tmp.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::write(shared.join("study.toml"), BASE).unwrap();
    std::fs::set_permissions(
        shared.join("study.toml"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::os::unix::fs::symlink(shared.join("study.toml"), cwd.join("linked.toml")).unwrap();
    let e = refused(&cwd, "linked.toml");
    assert!(
        e.contains("./linked.toml")
            && e.contains(&format!(
                "its directory {} is writable by every user (mode 777)",
                shared.display()
            )),
        "{e}"
    );
    // Made safe, the same link is read.
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o755)).unwrap();
    let run = moshead(&cwd, &["adapters", "show", "./linked.toml"]);
    assert!(run.ok().contains("hostile"), "{run}");
}
