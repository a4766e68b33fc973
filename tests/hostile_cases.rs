//! The hostile-input cases `hostile` runs: each builds one input (broken
//! JSON, oversized lines, bad encodings, hostile numbers, shard and Parquet
//! oddities) and states its exact outcome.

use std::path::{Path, PathBuf};

use moshead_e2e::parquet_writer::{write_table, ColumnData};

pub(crate) const ROW: &str = r#"{"corpus":"konvid-1k","src":"a.mp4","mos":3.0,"adm2":0.9}"#;

#[derive(Debug, Clone, Copy)]
pub(crate) enum Expect {
    /// Exit 0, exactly `n` drops of `code` (and `rows` projected rows).
    Drop {
        code: &'static str,
        n: u64,
        rows: u64,
    },
    /// Exit 0, `rows` rows, column `col` filled `filled` times.
    Fill {
        rows: u64,
        col: &'static str,
        filled: u64,
    },
    /// Exit 0 with `rows` rows and no drops.
    Rows(u64),
    /// Exit 1 with a message containing this text and the input's file name.
    Error(&'static str),
}

pub(crate) struct Case {
    pub(crate) name: &'static str,
    pub(crate) adapter: &'static str,
    pub(crate) slot: &'static str,
    /// Creates the input under the directory; returns its path.
    pub(crate) setup: fn(&Path) -> PathBuf,
    pub(crate) extra: &'static [&'static str],
    pub(crate) expect: Expect,
}

pub(crate) fn file(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

pub(crate) fn rows(dir: &Path, lines: &[&str]) -> PathBuf {
    file(dir, "rows.jsonl", lines.join("\n") + "\n")
}

pub(crate) fn chug_row(extra: &str) -> String {
    format!(r#"{{"corpus":"chug","chug_video_id":"v","chug_content_name":"c","mos":3.0{extra}}}"#)
}

pub(crate) fn shards(dir: &Path) -> PathBuf {
    let d = dir.join("shards");
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub(crate) fn parquet(dir: &Path, cols: Vec<(&str, ColumnData)>) -> PathBuf {
    let p = dir.join("t.parquet");
    let cols: Vec<(String, ColumnData)> =
        cols.into_iter().map(|(n, c)| (n.to_string(), c)).collect();
    write_table(&p, &cols).unwrap();
    p
}

pub(crate) fn f64s(v: &[f64]) -> ColumnData {
    ColumnData::F64(v.iter().map(|x| Some(*x)).collect())
}

pub(crate) fn strs(v: &[&str]) -> ColumnData {
    ColumnData::Str(v.iter().map(|x| Some(x.to_string())).collect())
}

pub(crate) fn cases() -> Vec<Case> {
    use Expect::*;
    vec![
        Case {
            name: "truncated json",
            adapter: "konvid",
            slot: "konvid-1k",
            setup: |d| rows(d, &[ROW, r#"{"corpus":"konvid-1k","src":"a"#]),
            extra: &[],
            expect: Drop {
                code: "malformed-json",
                n: 1,
                rows: 1,
            },
        },
        Case {
            name: "invalid utf-8",
            adapter: "konvid",
            slot: "konvid-1k",
            setup: |d| {
                file(
                    d,
                    "rows.jsonl",
                    [ROW.as_bytes(), b"\n{\"src\":\"\xff\xfe\"}\n"].concat(),
                )
            },
            extra: &[],
            expect: Drop {
                code: "invalid-utf8",
                n: 1,
                rows: 1,
            },
        },
        Case {
            name: "64 MiB single line",
            adapter: "konvid",
            slot: "konvid-1k",
            setup: |d| {
                let mut v = vec![b'x'; 64 << 20];
                v.push(b'\n');
                v.extend_from_slice(ROW.as_bytes());
                file(d, "rows.jsonl", v)
            },
            extra: &[],
            expect: Drop {
                code: "line-too-long",
                n: 1,
                rows: 1,
            },
        },
        Case {
            name: "NaN literal",
            adapter: "konvid",
            slot: "konvid-1k",
            setup: |d| rows(d, &[r#"{"corpus":"konvid-1k","src":"a","mos":NaN}"#]),
            extra: &[],
            // Python's token reads as a non-finite MOS.
            expect: Drop {
                code: "mos-non-finite",
                n: 1,
                rows: 0,
            },
        },
        Case {
            name: "Infinity literal",
            adapter: "konvid",
            slot: "konvid-1k",
            setup: |d| {
                rows(
                    d,
                    &[r#"{"corpus":"konvid-1k","src":"a","mos":3,"adm2":Infinity}"#],
                )
            },
            extra: &[],
            // A non-finite feature is filled and counted like a missing one.
            expect: Rows(1),
        },
        Case {
            name: "1e308 feature is a value",
            adapter: "konvid",
            slot: "konvid-1k",
            setup: |d| rows(d, &[&ROW.replace("0.9", "1e308")]),
            extra: &[],
            expect: Fill {
                rows: 1,
                col: "adm2",
                filled: 0,
            },
        },
        Case {
            name: "1e999 feature overflows to a fill",
            adapter: "konvid",
            slot: "konvid-1k",
            setup: |d| rows(d, &[&ROW.replace("0.9", "1e999")]),
            extra: &[],
            expect: Fill {
                rows: 1,
                col: "adm2",
                filled: 1,
            },
        },
        Case {
            name: "1e308 MOS",
            adapter: "konvid",
            slot: "konvid-1k",
            setup: |d| rows(d, &[&ROW.replace("3.0", "1e308")]),
            extra: &[],
            expect: Drop {
                code: "mos-out-of-range",
                n: 1,
                rows: 0,
            },
        },
        Case {
            name: "1e999 MOS",
            adapter: "konvid",
            slot: "konvid-1k",
            setup: |d| rows(d, &[&ROW.replace("3.0", "1e999")]),
            extra: &[],
            expect: Drop {
                code: "mos-non-finite",
                n: 1,
                rows: 0,
            },
        },
        Case {
            name: "string where a feature belongs",
            adapter: "konvid",
            slot: "konvid-1k",
            setup: |d| rows(d, &[&ROW.replace("0.9", "\"0.9\"")]),
            extra: &[],
            expect: Fill {
                rows: 1,
                col: "adm2",
                filled: 1,
            },
        },
        Case {
            name: "string MOS",
            adapter: "konvid",
            slot: "konvid-1k",
            setup: |d| rows(d, &[&ROW.replace("3.0", "\"3.0\"")]),
            extra: &[],
            expect: Drop {
                code: "mos-invalid",
                n: 1,
                rows: 0,
            },
        },
        Case {
            name: "duplicate keys",
            adapter: "konvid",
            slot: "konvid-1k",
            setup: |d| rows(d, &[r#"{"corpus":"konvid-1k","src":"a","mos":3,"mos":4}"#]),
            extra: &[],
            expect: Drop {
                code: "duplicate-key",
                n: 1,
                rows: 0,
            },
        },
        Case {
            name: "empty file",
            adapter: "konvid",
            slot: "konvid-1k",
            setup: |d| file(d, "rows.jsonl", ""),
            extra: &[],
            expect: Error("empty file (0 bytes)"),
        },
        Case {
            name: "empty shard directory",
            adapter: "chug-hdr",
            slot: "shards",
            setup: shards,
            extra: &[],
            expect: Error("no file matches `shard_*.features.jsonl`"),
        },
        Case {
            name: "symlink loop in a shard directory",
            adapter: "chug-hdr",
            slot: "shards",
            setup: |d| {
                let s = shards(d);
                std::os::unix::fs::symlink(
                    "shard_00.features.jsonl",
                    s.join("shard_00.features.jsonl"),
                )
                .unwrap();
                s
            },
            extra: &[],
            expect: Error("shard_00.features.jsonl"),
        },
        Case {
            name: "shard directory with unrelated files",
            adapter: "chug-hdr",
            slot: "shards",
            setup: |d| {
                let s = shards(d);
                file(&s, "shard_00.features.jsonl", chug_row("") + "\n");
                file(&s, "README.txt", "notes");
                file(&s, "shard_00.features.jsonl.bak", "{");
                s
            },
            extra: &[],
            expect: Rows(1),
        },
        Case {
            name: "parquet without a mos column",
            adapter: "konvid",
            slot: "features-parquet",
            setup: |d| parquet(d, vec![("src", strs(&["a"])), ("adm2", f64s(&[0.9]))]),
            extra: &[],
            expect: Error("no `mos` column"),
        },
        Case {
            name: "parquet with extra columns",
            adapter: "konvid",
            slot: "features-parquet",
            setup: |d| {
                parquet(
                    d,
                    vec![
                        ("src", strs(&["a", "b"])),
                        ("mos", f64s(&[3.0, 4.0])),
                        ("adm2_mean", f64s(&[0.9, 0.8])),
                        ("unrelated", f64s(&[1.0, 2.0])),
                    ],
                )
            },
            extra: &[],
            expect: Fill {
                rows: 2,
                col: "adm2",
                filled: 0,
            },
        },
        Case {
            name: "parquet with a mistyped mos column",
            adapter: "konvid",
            slot: "features-parquet",
            setup: |d| parquet(d, vec![("src", strs(&["a"])), ("mos", strs(&["good"]))]),
            extra: &[],
            expect: Drop {
                code: "mos-invalid",
                n: 1,
                rows: 0,
            },
        },
        Case {
            name: "a file that is not parquet",
            adapter: "konvid",
            slot: "features-parquet",
            setup: |d| file(d, "t.parquet", "PAR1 but not really"),
            extra: &[],
            expect: Error("not a readable parquet file"),
        },
        Case {
            name: "display profile with unknown fields",
            adapter: "chug-hdr",
            slot: "display-profile",
            setup: |d| {
                file(d, "rows.jsonl", chug_row("") + "\n");
                file(d, "p.json", r#"{"peak_nits":1000,"gamut_volume":3}"#)
            },
            extra: &[
                "--input",
                "features=rows.jsonl",
                "--schema",
                "chug-hdr-display-v1",
            ],
            expect: Error("unknown field(s) gamut_volume"),
        },
        Case {
            name: "MOS on the wrong scale",
            adapter: "chug-hdr",
            slot: "features",
            setup: |d| rows(d, &[&chug_row("").replace("\"mos\":3.0", "\"mos\":62.5")]),
            extra: &[],
            expect: Drop {
                code: "mos-out-of-range",
                n: 1,
                rows: 0,
            },
        },
        Case {
            name: "blank lines",
            adapter: "konvid",
            slot: "konvid-1k",
            setup: |d| rows(d, &[ROW, "", "   ", &ROW.replace("a.mp4", "b.mp4")]),
            extra: &[],
            expect: Drop {
                code: "blank-line",
                n: 2,
                rows: 2,
            },
        },
        Case {
            name: "CRLF line endings",
            adapter: "konvid",
            slot: "konvid-1k",
            setup: |d| {
                file(
                    d,
                    "rows.jsonl",
                    format!("{ROW}\r\n{}\r\n", ROW.replace("a.mp4", "b.mp4")),
                )
            },
            extra: &[],
            expect: Rows(2),
        },
        Case {
            name: "byte-order mark",
            adapter: "konvid",
            slot: "konvid-1k",
            setup: |d| file(d, "rows.jsonl", format!("\u{feff}{ROW}\n")),
            extra: &[],
            expect: Rows(1),
        },
        Case {
            name: "deep nesting is skipped, not recursed",
            adapter: "konvid",
            slot: "konvid-1k",
            setup: |d| {
                rows(
                    d,
                    &[&format!(
                        r#"{{"corpus":"konvid-1k","src":"a","mos":3,"x":{}{}}}"#,
                        "[".repeat(100_000),
                        "]".repeat(100_000)
                    )],
                )
            },
            extra: &[],
            // The nesting is skipped without recursion and the row projects.
            expect: Rows(1),
        },
        Case {
            name: "top-level array",
            adapter: "konvid",
            slot: "konvid-1k",
            setup: |d| rows(d, &["[1,2,3]"]),
            extra: &[],
            expect: Drop {
                code: "not-an-object",
                n: 1,
                rows: 0,
            },
        },
        Case {
            name: "null line",
            adapter: "konvid",
            slot: "konvid-1k",
            setup: |d| rows(d, &["null"]),
            extra: &[],
            expect: Drop {
                code: "not-an-object",
                n: 1,
                rows: 0,
            },
        },
        Case {
            name: "unknown split label",
            adapter: "konvid",
            slot: "konvid-1k",
            setup: |d| rows(d, &[&ROW.replace("}", ",\"split\":\"holdout\"}")]),
            extra: &[],
            expect: Drop {
                code: "unknown-split",
                n: 1,
                rows: 0,
            },
        },
        Case {
            name: "raw control character in a string",
            adapter: "konvid",
            slot: "konvid-1k",
            setup: |d| file(d, "rows.jsonl", ROW.replace("a.mp4", "a\u{0}b") + "\n"),
            extra: &[],
            expect: Drop {
                code: "malformed-json",
                n: 1,
                rows: 0,
            },
        },
        Case {
            name: "input path that does not exist",
            adapter: "konvid",
            slot: "konvid-1k",
            setup: |d| d.join("missing.jsonl"),
            extra: &[],
            expect: Error("does not exist"),
        },
        Case {
            name: "a directory given to a file slot",
            adapter: "konvid",
            slot: "konvid-1k",
            setup: |d| {
                let p = d.join("dir.jsonl");
                std::fs::create_dir(&p).unwrap();
                p
            },
            extra: &[],
            expect: Error("takes a file"),
        },
        Case {
            name: "ten thousand keys",
            adapter: "konvid",
            slot: "konvid-1k",
            setup: |d| {
                rows(
                    d,
                    &[&ROW.replace(
                        "}",
                        &((0..10_000)
                            .map(|i| format!(",\"k{i}\":{i}"))
                            .collect::<String>()
                            + "}"),
                    )],
                )
            },
            extra: &[],
            expect: Rows(1),
        },
        Case {
            name: "foreign corpus row",
            adapter: "chug-hdr",
            slot: "features",
            setup: |d| rows(d, &[ROW, &chug_row("")]),
            extra: &[],
            expect: Drop {
                code: "foreign-corpus",
                n: 1,
                rows: 1,
            },
        },
        Case {
            name: "negative geometry becomes a fill",
            adapter: "chug-hdr",
            slot: "features",
            setup: |d| rows(d, &[&chug_row(",\"width\":-1280")]),
            extra: &[],
            expect: Fill {
                rows: 1,
                col: "distorted_width_norm",
                filled: 1,
            },
        },
        Case {
            name: "wrong type for the corpus tag",
            adapter: "konvid",
            slot: "konvid-1k",
            setup: |d| rows(d, &[&ROW.replace("\"konvid-1k\"", "7")]),
            extra: &[],
            expect: Drop {
                code: "missing-corpus-tag",
                n: 1,
                rows: 0,
            },
        },
    ]
}
