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
}

pub fn run(env: &Env, args: AdaptersArgs) -> anyhow::Result<u8> {
    if args.paths {
        return paths(env, args.json);
    }
    if let Some(AdaptersCmd::Check { path }) = &args.cmd {
        return check(path, args.json);
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
    }
    Ok(EXIT_OK)
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
    labels_tables(d);
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
