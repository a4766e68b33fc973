//! The host's import graph runs one way: each top-level module (a file or
//! a folder of `host/src`, a folder counting as one layer) imports only
//! modules below it in [`LAYERS`], and no two files of one folder import
//! each other, directly or through others. The same holds for the bench's
//! files. Read from the sources, not from a build: `crate::x` paths outside
//! comments and test modules, and `super::x` paths between the files of a
//! folder.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use moshead_e2e::root;

/// The host's modules, bottom first: a module may import only modules
/// listed before it. `lib` and `main` (the crate roots) and `cli` (the
/// binary's edge) sit on top.
const LAYERS: &[&str] = &[
    "safe_fs",
    "status",
    "threads",
    "model_id",
    "digest",
    "trust",
    "loader",
    "registry",
    "training",
    "corpus",
    "evaluation",
    "selection",
    "validation",
    "manifest",
    "commit",
    "export",
    "ingest",
    "progress",
    "check",
    "scoring",
    "pipeline",
    "study_new",
    "cli",
    "lib",
    "main",
];

/// Imports from a lower layer to a higher one that remain, each with why;
/// a new one fails the test, and so does one listed here that is gone.
const KNOWN_UPWARD: &[(&str, &str)] = &[
    // The commit journal checks what it may replace against the names the
    // export list derives from the model id, and appends the ledger line.
    ("commit", "export"),
    // Opening a model directory reports (never applies) a pending commit.
    ("manifest", "commit"),
];

/// The Rust files under `dir`, relative to it, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// The source without comments, string literals and `#[cfg(test)]`
/// modules (tests may reach anywhere).
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    let mut out = String::with_capacity(text.len());
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            while i < b.len() && !b[i..].starts_with(b"*/") {
                i += 1;
            }
            i += 2;
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

/// The identifiers following each `prefix` (`crate::` or `super::`) in
/// `code`, with the identifier after them if the path goes on.
fn paths_after<'a>(code: &'a str, prefix: &str) -> Vec<(&'a str, Option<&'a str>)> {
    let ident = |s: &'a str| -> &'a str {
        let end = s
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(s.len());
        &s[..end]
    };
    let mut out = Vec::new();
    for (at, _) in code.match_indices(prefix) {
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let rest = &code[at + prefix.len()..];
        let first = ident(rest);
        if first.is_empty() {
            continue;
        }
        let second = rest[first.len()..]
            .strip_prefix("::")
            .map(ident)
            .filter(|s| !s.is_empty());
        out.push((first, second));
    }
    out
}

/// The module path of a file (`corpus/mod.rs` is `corpus`).
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .with_extension("")
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// Edges between top-level modules, and between the files of each folder.
struct Graph {
    modules: BTreeMap<String, BTreeSet<String>>,
    files: BTreeMap<String, BTreeSet<String>>,
}

fn graph(src: &Path) -> Graph {
    let files = rust_files(src);
    let tops: BTreeSet<String> = files.iter().map(|f| module_path(f)[0].clone()).collect();
    let mut g = Graph {
        modules: BTreeMap::new(),
        files: BTreeMap::new(),
    };
    for rel in &files {
        let code = code_of(&std::fs::read_to_string(src.join(rel)).unwrap());
        let me = module_path(rel);
        for (first, second) in paths_after(&code, "crate::") {
            if !tops.contains(first) {
                continue;
            }
            if first != me[0] {
                g.modules
                    .entry(me[0].clone())
                    .or_default()
                    .insert(first.to_owned());
            } else if let (Some(second), true) = (second, me.len() > 1) {
                let to = format!("{first}/{second}");
                if to != me.join("/") {
                    g.files.entry(me.join("/")).or_default().insert(to);
                }
            }
        }
        if me.len() > 1 {
            let parent = me[..me.len() - 1].join("/");
            for (first, _) in paths_after(&code, "super::") {
                let to = format!("{parent}/{first}");
                if first != "super" && to != me.join("/") {
                    g.files.entry(me.join("/")).or_default().insert(to);
                }
            }
        }
    }
    g
}

/// The cycles of `edges` (strongly connected components of more than one
/// node), each sorted.
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    // Reachability by repeated search: the graphs are tens of nodes.
    let reach = |from: &str| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.to_owned()];
        while let Some(n) = stack.pop() {
            for m in edges.get(&n).into_iter().flatten() {
                if seen.insert(m.clone()) {
                    stack.push(m.clone());
                }
            }
        }
        seen
    };
    let nodes: BTreeSet<String> = edges
        .iter()
        .flat_map(|(k, v)| std::iter::once(k.clone()).chain(v.iter().cloned()))
        .collect();
    let mut out: Vec<Vec<String>> = Vec::new();
    for n in &nodes {
        let r = reach(n);
        if !r.contains(n) {
            continue;
        }
        let comp: Vec<String> = r.iter().filter(|m| reach(m).contains(n)).cloned().collect();
        if !out.contains(&comp) {
            out.push(comp);
        }
    }
    out
}

#[test]
fn host_modules_import_only_the_layers_below_them() {
    let g = graph(&root().join("host/src"));
    let rank = |m: &str| LAYERS.iter().position(|l| *l == m);
    let mut upward = Vec::new();
    let mut unranked = Vec::new();
    for (from, tos) in &g.modules {
        for to in tos {
            match (rank(from), rank(to)) {
                (Some(a), Some(b)) if b >= a => upward.push((from.clone(), to.clone())),
                (Some(_), Some(_)) => {}
                _ => unranked.push((from.clone(), to.clone())),
            }
        }
    }
    assert!(
        unranked.is_empty(),
        "modules missing from LAYERS (add each where it belongs): {unranked:?}"
    );
    let known: Vec<(String, String)> = KNOWN_UPWARD
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect();
    assert_eq!(
        upward, known,
        "imports from a lower layer to a higher one (left: found, right: KNOWN_UPWARD)"
    );
}

/// Circles between the files of a folder that remain, each with why; a
/// new one fails the test, and so does one listed here that is gone.
const KNOWN_FILE_CIRCLES: &[&[&str]] = &[];

#[test]
fn no_file_imports_a_file_that_imports_it_back() {
    for src in ["host/src", "bench/src"] {
        let g = graph(&root().join(src));
        let known: Vec<Vec<String>> = if src == "host/src" {
            KNOWN_FILE_CIRCLES
                .iter()
                .map(|c| c.iter().map(|s| (*s).to_owned()).collect())
                .collect()
        } else {
            Vec::new()
        };
        assert_eq!(
            cycles(&g.files),
            known,
            "import circles between the files of {src} (left: found, right: KNOWN_FILE_CIRCLES)"
        );
        if src == "bench/src" {
            assert_eq!(
                cycles(&g.modules),
                Vec::<Vec<String>>::new(),
                "import circles between the bench's files"
            );
        }
    }
}

#[test]
fn the_graph_reader_sees_imports_and_circles() {
    // The reader itself: a path in code counts, one in a comment, a string
    // or a test module does not; a circle is found, a chain is not.
    let code = code_of(
        "use crate::a::X;\n// crate::b\nlet s = \"crate::c\";\nfn f() { super::d::g(); }\n#[cfg(test)]\nmod tests { use crate::e; }\n",
    );
    assert_eq!(paths_after(&code, "crate::"), [("a", Some("X"))]);
    assert_eq!(paths_after(&code, "super::"), [("d", Some("g"))]);
    let mut e: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let add = |e: &mut BTreeMap<String, BTreeSet<String>>, a: &str, b: &str| {
        e.entry(a.to_owned()).or_default().insert(b.to_owned());
    };
    add(&mut e, "x", "y");
    add(&mut e, "y", "z");
    assert!(cycles(&e).is_empty());
    add(&mut e, "z", "x");
    assert_eq!(cycles(&e), [["x", "y", "z"]]);
}
