//! `moshead adapters`: list, show and locate adapters.

use clap::{Args, Subcommand};
use serde_json::json;

use super::table::print_table;
use super::{print_json, Env, EXIT_OK};
use crate::registry::Adapter;

/// Arguments of `moshead adapters`.
#[derive(Debug, Args)]
pub struct AdaptersArgs {
    /// Machine-readable output.
    #[arg(long, global = true)]
    json: bool,
    /// Show the plugin search path, in order, instead of the adapters.
    #[arg(long)]
    paths: bool,
    #[command(subcommand)]
    cmd: Option<AdaptersCmd>,
}

#[derive(Debug, Subcommand)]
enum AdaptersCmd {
    /// Show one adapter's whole descriptor.
    Show {
        /// The adapter name, optionally with a version requirement (`konvid@^1`).
        name: crate::registry::Selector,
    },
    /// Check one plugin file as the host would use it: load, API version,
    /// descriptor, defaults, sample rows, foreign rows, garbage rows and
    /// synthesis. Prints PASS/WARN/FAIL/SKIP per check; exits 4 on any FAIL.
    Check {
        /// The plugin library file (e.g. `target/debug/libmy_corpus.so`).
        path: std::path::PathBuf,
    },
    /// Write a study file (`OUT/NAME.toml`) from a labels table: guesses the
    /// clip id, MOS, content, SD, vote-count, CI95 and split columns (or a
    /// wide or long table of raw votes), the native scale and the libvmaf
    /// logs, and prints what it guessed and what to check.
    New(NewArgs),
}

/// Arguments of `moshead adapters new`.
#[derive(Debug, Args)]
struct NewArgs {
    /// The adapter name (lowercase words joined by `-`).
    name: String,
    /// The labels table (CSV, TSV or JSONL): MOS per clip, or raw votes.
    #[arg(long, value_name = "FILE")]
    labels: std::path::PathBuf,
    /// The directory of libvmaf JSON logs, one per clip named after it.
    #[arg(long, value_name = "DIR")]
    logs: Option<std::path::PathBuf>,
    /// Where to write the study file.
    #[arg(long, value_name = "DIR", default_value = ".")]
    out: std::path::PathBuf,
    /// Replace an existing study file (or the crate's files).
    #[arg(long)]
    force: bool,
    /// Write a compiled plugin crate (`OUT/NAME/`, from the adapter
    /// template, with a libvmaf-log slot) instead of a study file; needs
    /// `--logs`. `cargo build --release` in it builds the plugin.
    #[arg(long, requires = "logs")]
    rust: bool,
    /// The moshead sdk directory the crate depends on (default: the sdk
    /// of the checkout this moshead was built from, if it is still there).
    #[arg(long, value_name = "DIR", requires = "rust")]
    sdk: Option<std::path::PathBuf>,
}

pub fn run(env: &Env, args: AdaptersArgs) -> anyhow::Result<u8> {
    if args.paths {
        return paths(env, args.json);
    }
    if let Some(AdaptersCmd::Check { path }) = &args.cmd {
        return check(path, args.json);
    }
    if let Some(AdaptersCmd::New(new)) = &args.cmd {
        return new_study(new, args.json);
    }
    let reg = match &args.cmd {
        Some(AdaptersCmd::Show { name }) => env.registry_for(name)?,
        _ => env.registry()?,
    };
    match args.cmd {
        None => {
            if args.json {
                let list: Vec<_> = reg.adapters().iter().map(summary).collect();
                print_json(&json!({ "adapters": list, "diagnostics": reg.diagnostics }))?;
            } else {
                let rows: Vec<Vec<String>> = reg
                    .adapters()
                    .iter()
                    .map(|a| {
                        vec![
                            a.name().to_owned(),
                            a.descriptor.version.clone(),
                            a.api_version.to_string(),
                            a.descriptor.model_id.clone(),
                            a.path.display().to_string(),
                        ]
                    })
                    .collect();
                print_table(&["NAME", "VERSION", "API", "MODEL ID", "FILE"], &rows);
                if rows.is_empty() {
                    println!("(no adapters found; see `moshead adapters --paths`)");
                }
            }
        }
        Some(AdaptersCmd::Show { name }) => {
            let a = reg.select(&name)?;
            if args.json {
                print_json(&json!({ "adapter": summary(a), "descriptor": a.descriptor }))?;
            } else {
                show(a);
            }
        }
        Some(AdaptersCmd::Check { path }) => return check(&path, args.json),
        Some(AdaptersCmd::New(new)) => return new_study(&new, args.json),
    }
    Ok(EXIT_OK)
}

/// `moshead adapters new NAME --labels FILE`: guess, write, say what to check.
fn new_study(a: &NewArgs, as_json: bool) -> anyhow::Result<u8> {
    use crate::study_new::{describe, guess, relative_to, render, Inputs, Table};
    let table = Table::read(&a.labels)?;
    let g = guess(&table, &a.labels.display().to_string(), a.logs.is_some())?;
    let mut notes = describe(&g);
    let mut logs = None;
    if let Some(dir) = &a.logs {
        let (found, matched) = log_stems(dir, &table, &g.id)?;
        notes.push(format!(
            "libvmaf logs: {found} in {}, {matched} of {} clips have one",
            dir.display(),
            g.clips
        ));
        logs = Some(relative_to(&a.out, dir));
    }
    let inputs = Inputs {
        labels: relative_to(&a.out, &a.labels),
        format: table.format,
        logs,
    };
    let text = render(&a.name, &g, &inputs)?;
    if !a.out.is_dir() {
        anyhow::bail!(
            "{}: is not a directory (give an existing --out)",
            a.out.display()
        );
    }
    if a.rust {
        return new_crate(a, &g, notes, as_json);
    }
    let path = a.out.join(format!("{}.toml", a.name));
    write_new(&path, &text, a.force)?;
    let check = [
        "the description and licence (the model card carries them)",
        "the scale and the gate",
        "the content: encodes of one source must share a content",
    ];
    if as_json {
        print_json(&json!({ "study": path, "guessed": notes, "check": check, "text": text }))?;
    } else {
        println!("wrote {}", path.display());
        for n in &notes {
            println!("  guessed  {n}");
        }
        for c in check {
            println!("  check    {c}");
        }
        let shown = path.display().to_string();
        let shown = if shown.contains('/') {
            shown
        } else {
            format!("./{shown}")
        };
        println!("then: moshead corpus --adapter {shown}");
    }
    Ok(EXIT_OK)
}

/// `adapters new --rust`: the crate `OUT/NAME/`.
fn new_crate(
    a: &NewArgs,
    g: &crate::study_new::Guess,
    notes: Vec<String>,
    as_json: bool,
) -> anyhow::Result<u8> {
    let absolute = |p: &std::path::Path| {
        std::fs::canonicalize(p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))
    };
    let sdk = match &a.sdk {
        Some(dir) => absolute(dir)?,
        None => {
            let built = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk");
            absolute(&built).map_err(|_| {
                anyhow::anyhow!(
                    "the moshead sdk this binary was built from ({}) is gone: name a checkout's sdk with --sdk DIR",
                    built.display()
                )
            })?
        }
    };
    if !sdk.join("Cargo.toml").is_file() {
        anyhow::bail!(
            "{}: holds no Cargo.toml (give the moshead checkout's `sdk` directory)",
            sdk.display()
        );
    }
    let logs = a
        .logs
        .as_deref()
        .map(absolute)
        .transpose()?
        .unwrap_or_default();
    let labels = absolute(&a.labels)?;
    let dir = a.out.join(&a.name);
    std::fs::create_dir_all(dir.join("src"))
        .map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
    let files = crate::study_new::rust::crate_files(&a.name, g, &labels, &logs, &sdk);
    // Check every name first: nothing is written unless all can be.
    if !a.force {
        if let Some((f, _)) = files
            .iter()
            .find(|(f, _)| std::fs::symlink_metadata(dir.join(f)).is_ok())
        {
            anyhow::bail!(
                "{}: exists; moshead never overwrites it without --force",
                dir.join(f).display()
            );
        }
    }
    for (f, text) in &files {
        write_new(&dir.join(f), text, a.force)?;
    }
    let lib = format!("lib{}.so", a.name.replace('-', "_"));
    if as_json {
        print_json(
            &json!({ "crate": dir, "guessed": notes, "files": files.iter().map(|(f, _)| f).collect::<Vec<_>>() }),
        )?;
    } else {
        println!("wrote the crate {}", dir.display());
        for n in &notes {
            println!("  guessed  {n}");
        }
        println!("  check    the lines marked CHECK in src/lib.rs (scale, gate, licence)");
        println!(
            "then: cargo build --release --manifest-path {}/Cargo.toml && moshead adapters check {}/target/release/{lib}",
            dir.display(),
            dir.display()
        );
    }
    Ok(EXIT_OK)
}

/// The `.json` files in `dir`, and how many of the table's ids have one.
fn log_stems(
    dir: &std::path::Path,
    table: &crate::study_new::Table,
    id: &str,
) -> anyhow::Result<(usize, usize)> {
    let mut stems = std::collections::BTreeSet::new();
    for e in std::fs::read_dir(dir).map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))? {
        let e = e.map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
        let p = e.path();
        if p.extension().is_some_and(|x| x == "json") {
            if let Some(s) = p.file_stem().and_then(|s| s.to_str()) {
                stems.insert(s.to_owned());
            }
        }
    }
    let col = table.columns.iter().position(|c| c == id);
    let ids: std::collections::BTreeSet<&str> = table
        .rows
        .iter()
        .filter_map(|r| col.and_then(|c| r.get(c)?.as_deref()))
        .collect();
    let matched = ids.iter().filter(|i| stems.contains(**i)).count();
    if stems.is_empty() {
        anyhow::bail!("{}: holds no libvmaf log (`*.json`)", dir.display());
    }
    Ok((stems.len(), matched))
}

/// Writes `text` to `path`: a new file, or with `force` a replacement
/// (renamed into place; never through a link or over a special file).
fn write_new(path: &std::path::Path, text: &str, force: bool) -> anyhow::Result<()> {
    use crate::safe_fs::{check_replaceable, create_new, temp_name};
    use std::io::Write as _;
    let exists = std::fs::symlink_metadata(path).is_ok();
    if exists && !force {
        anyhow::bail!(
            "{}: exists; moshead never overwrites it without --force",
            path.display()
        );
    }
    check_replaceable(path)?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| anyhow::anyhow!("{}: no file name", path.display()))?;
    let tmp = path.with_file_name(temp_name(name));
    let mut f = create_new(&tmp)?;
    let written = f.write_all(text.as_bytes()).and_then(|()| f.sync_all());
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path)) {
        // The temporary file is ours: created with O_EXCL just above.
        let _ = std::fs::remove_file(&tmp);
        anyhow::bail!("{}: {e}", path.display());
    }
    Ok(())
}

/// `moshead adapters check PATH`: one line per check as it completes.
fn check(path: &std::path::Path, as_json: bool) -> anyhow::Result<u8> {
    if !as_json {
        println!("checking {}", path.display());
    }
    let report = crate::check::check_plugin(path, &mut |c| {
        if !as_json {
            println!("{c}");
        }
    });
    if as_json {
        print_json(&json!({
            "file": path,
            "passed": report.passed(),
            "summary": report.summary(),
            "checks": report.checks,
        }))?;
    } else {
        println!("{}", report.summary());
    }
    Ok(if report.passed() {
        EXIT_OK
    } else {
        super::EXIT_CHECK
    })
}

fn summary(a: &Adapter) -> serde_json::Value {
    json!({
        "name": a.name(),
        "version": a.descriptor.version,
        "api_version": a.api_version.to_string(),
        "model_id": a.descriptor.model_id,
        "file": a.path,
        "sha256": a.sha256,
    })
}

fn paths(env: &Env, as_json: bool) -> anyhow::Result<u8> {
    if as_json {
        let list: Vec<_> = env
            .dirs
            .iter()
            .map(|d| {
                let mut v = json!({"path": d.path, "origin": d.origin, "exists": d.path.is_dir()});
                if let Some(why) = &d.ignored {
                    v["ignored"] = json!(why);
                }
                v
            })
            .collect();
        print_json(&json!({ "search_path": list }))?;
    } else {
        let rows: Vec<Vec<String>> = env
            .dirs
            .iter()
            .enumerate()
            .map(|(i, d)| {
                vec![
                    (i + 1).to_string(),
                    d.path.display().to_string(),
                    d.origin.to_owned(),
                    match (&d.ignored, d.path.is_dir()) {
                        (Some(_), _) => "ignored: relative".to_owned(),
                        (None, true) => "yes".to_owned(),
                        (None, false) => "no".to_owned(),
                    },
                ]
            })
            .collect();
        print_table(&["#", "DIRECTORY", "FROM", "EXISTS"], &rows);
    }
    Ok(EXIT_OK)
}

fn show(a: &Adapter) {
    let d = &a.descriptor;
    println!("{} {} — {}", d.name, d.version, d.description);
    println!("  file         {}", a.path.display());
    println!("  sha256       {}", a.sha256);
    println!("  API version  {}", a.api_version);
    println!("  model id     {}", d.model_id);
    println!("  corpus tags  {}", d.corpus_tags().join(", "));
    println!(
        "  MOS          native {}..{} (`{}`), head = {} + {} * native",
        d.mos_scale.native_min,
        d.mos_scale.native_max,
        d.mos_scale.native_key,
        d.mos_scale.to_head_offset,
        d.mos_scale.to_head_scale
    );
    println!(
        "  split        {}",
        serde_json::to_string(&d.split_policy).unwrap_or_default()
    );
    println!(
        "  content key  {}   id keys: {}",
        d.content_group_key,
        d.id_keys.join(", ")
    );
    for s in &d.inputs {
        if let Some(m) = &s.mos_scale {
            println!(
                "  MOS of {}  native {}..{} (`{}`), head = {} + {} * native",
                s.name, m.native_min, m.native_max, m.native_key, m.to_head_offset, m.to_head_scale
            );
        }
    }
    if let Some(r) = &d.reference {
        let mut tests: Vec<String> = r.flags.iter().map(|k| format!("`{k}` set")).collect();
        tests.extend(r.equals.iter().map(|(k, v)| format!("`{k}` = `{v}`")));
        println!(
            "  references   {} (excluded unless --include-references)",
            tests.join(" or ")
        );
    }
    if !d.header_aliases.is_empty() {
        let aliases: Vec<String> = d
            .header_aliases
            .iter()
            .map(|a| format!("{} -> `{}`", a.aliases.join("/"), a.key))
            .collect();
        println!("  CSV headers  {}", aliases.join(", "));
    }
    if let Some(b) = &d.group_baseline {
        println!("  baseline     {} (by `{}`)", b.name, b.key);
    }
    let out_env = d
        .output_env
        .as_deref()
        .map(|v| format!(" (override: ${v})"))
        .unwrap_or_default();
    println!("  output       {}{out_env}", d.output_dir);
    println!("  licence      {}", d.licence);
    for n in &a.notes {
        println!("  note         {n}");
    }
    print_inputs(d);
    labels_tables(d);
    print_schemas_and_gate(d);
}

/// `adapters show`'s table of input slots.
fn print_inputs(d: &moshead_protocol::Descriptor) {
    println!("inputs:");
    let rows: Vec<Vec<String>> = d
        .inputs
        .iter()
        .map(|s| {
            let kind = match &s.kind {
                moshead_protocol::SlotKind::File => "file".to_owned(),
                moshead_protocol::SlotKind::ShardDir { glob } => format!("dir of {glob}"),
            };
            let env = s
                .env
                .as_ref()
                .map(|e| match &e.join {
                    Some(j) => format!("${}/{j}", e.var),
                    None => format!("${}", e.var),
                })
                .unwrap_or_else(|| "-".into());
            let formats: Vec<&str> = s.formats.iter().map(|f| f.as_str()).collect();
            vec![
                format!("  {}", s.name),
                kind,
                formats.join(","),
                if s.required { "yes" } else { "no" }.into(),
                s.default_path.clone().unwrap_or_else(|| "-".into()),
                env,
                if s.accepts.is_empty() {
                    "(context)".into()
                } else {
                    s.accepts.join(",")
                },
            ]
        })
        .collect();
    print_table(
        &[
            "  SLOT",
            "HOLDS",
            "FORMATS",
            "REQUIRED",
            "DEFAULT",
            "ENV OVERRIDE",
            "ACCEPTS",
        ],
        &rows,
    );
}

/// `adapters show`'s table of feature schemas and the gate's thresholds.
fn print_schemas_and_gate(d: &moshead_protocol::Descriptor) {
    println!("schemas:");
    let rows: Vec<Vec<String>> = d
        .schemas
        .iter()
        .map(|s| {
            vec![
                format!(
                    "  {}{}",
                    s.name,
                    if s.name == d.default_schema {
                        " (default)"
                    } else {
                        ""
                    }
                ),
                s.columns.len().to_string(),
                s.requires_slot.clone().unwrap_or_else(|| "-".into()),
                libvmaf_cell(s),
                s.description.clone(),
            ]
        })
        .collect();
    print_table(&["  SCHEMA", "COLUMNS", "NEEDS", "LIBVMAF", "ABOUT"], &rows);
    println!("gate:");
    for (label, t) in [("real", &d.gate.real), ("synthetic", &d.gate.synthetic)] {
        if label == "real" && d.gate.none_declared {
            println!(
                "  {label:<10} no gate declared: runs on real rows are neither passed nor missed"
            );
            continue;
        }
        let f = |v: Option<f64>| v.map_or("-".to_owned(), |v| v.to_string());
        println!(
            "  {label:<10} PLCC >= {}  SROCC >= {}  RMSE <= {}  spread <= {}",
            f(t.plcc_min),
            f(t.srocc_min),
            f(t.rmse_max),
            f(t.spread_max)
        );
    }
}

/// The labels tables libvmaf-log slots join: the key columns and the
/// columns read (as the raw keys the plugin sees).
fn labels_tables(d: &moshead_protocol::Descriptor) {
    let rows: Vec<Vec<String>> = d
        .inputs
        .iter()
        .filter_map(|s| s.labels.as_ref().map(|j| (s, j)))
        .map(|(s, j)| {
            let renames: Vec<String> = j
                .rename
                .iter()
                .map(|(col, key)| format!("{col} -> {key}"))
                .collect();
            vec![
                format!("  {}", j.slot),
                s.name.clone(),
                format!("{} (= the log's file stem)", j.key.join(" or ")),
                if renames.is_empty() {
                    "(as named)".into()
                } else {
                    renames.join(", ")
                },
            ]
        })
        .collect();
    if rows.is_empty() {
        return;
    }
    println!("labels tables:");
    print_table(
        &["  TABLE", "JOINS", "CLIP KEY", "COLUMNS (table -> row key)"],
        &rows,
    );
}

/// How many of a schema's columns the adapter names for libvmaf: `yes`
/// when all are (a head on it can be exported as a libvmaf model), else
/// `n/m named`, or `-`.
fn libvmaf_cell(s: &moshead_protocol::Schema) -> String {
    let named = s
        .columns
        .iter()
        .filter(|c| s.libvmaf_names.contains_key(*c))
        .count();
    match named {
        0 => "-".into(),
        n if n == s.columns.len() => "yes".into(),
        n => format!("{n}/{} named", s.columns.len()),
    }
}
