//! `<id>_report.html`: one self-contained file in the output set, every
//! manifest string escaped, and rendered by a real headless browser
//! (Debian's `chromium`, as `.ci/run` installs it) without console errors,
//! with its plots drawn and a screenshot that is not blank (decoded here:
//! a PNG reader is 60 lines over flate2, cheaper than another dependency).

use std::path::{Path, PathBuf};
use std::process::Command;

use moshead_e2e::*;

const ID: &str = "chug_hdr_mos_head_v1";

/// Trains a small synthetic CHUG run into `dir/<out>` with `extra` flags.
fn train(dir: &Path, out: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "train",
        "-a",
        "chug-hdr",
        "-i",
        "shards=corpus/shards",
        "--out",
        out,
        "--validation",
        "kfold",
        "--folds",
        "3",
        "--json",
    ];
    args.extend_from_slice(extra);
    moshead(dir, &args)
}

#[test]
fn the_report_is_self_contained_escaped_and_in_the_set() {
    let d = tempfile::tempdir().unwrap();
    synth_chug(d.path(), "240", "11");
    // The output directory's name holds markup: it reaches the manifest's
    // command line, and the report must show it as text.
    let out = "rep<img src=x onerror=alert(1)>&<b>";
    let run = train(d.path(), out, &["--head", "ridge"]);
    let summary = run.json();
    assert_eq!(
        summary["outputs"]["report"],
        format!("{ID}_report.html"),
        "{run}"
    );
    let dir = d.path().join(out);
    let html = std::fs::read_to_string(dir.join(format!("{ID}_report.html"))).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("rep&lt;img src=x onerror=alert(1)&gt;&amp;&lt;b&gt;"));
    for markup in ["<script", "<img", "<b>"] {
        assert!(!html.contains(markup), "`{markup}` got through");
    }
    // Nothing fetched: no external stylesheet, script, font or image.
    for needle in ["<link", "@import", "url(", "src=\"", "src='", "href=\"http"] {
        assert!(!html.contains(needle), "`{needle}` in the report");
    }
    // The plots are inline, the sections there.
    assert_eq!(html.matches("<svg").count(), 1, "ridge: the scatter only");
    for section in [
        "Validation",
        "Baselines",
        "Gate",
        "Data",
        "Provenance",
        "Reproduce",
    ] {
        assert!(
            html.contains(&format!("<h2>{section}")),
            "no {section} section"
        );
    }
    // The 95% intervals of the head's and of every baseline's pooled
    // metrics, as the manifest records them.
    let pooled = &summary["validation"]["pooled"];
    let cell = |ci: &serde_json::Value| match ci.as_object() {
        Some(_) => format!(
            "[{:.4}, {:.4}]",
            ci["lo"].as_f64().unwrap(),
            ci["hi"].as_f64().unwrap()
        ),
        None => "undefined".to_owned(),
    };
    assert!(html.contains("<h3>95% confidence intervals</h3>"));
    let head = &pooled["intervals"];
    assert!(
        html.contains(&format!(
            "<td><strong>ridge head</strong></td><td>{}</td><td>{}</td>",
            cell(&head["plcc"]),
            cell(&head["plcc_fisher_z"])
        )),
        "{html}"
    );
    let baselines = pooled["baseline_intervals"].as_object().unwrap();
    assert!(baselines.len() >= 2, "{pooled}");
    for (name, ci) in baselines {
        let row = format!(
            "<td>{name}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>[",
            cell(&ci["plcc"]),
            cell(&ci["plcc_fisher_z"]),
            cell(&ci["srocc"]),
            cell(&ci["krocc"]),
            cell(&ci["rmse"])
        );
        assert!(html.contains(&row), "{row} not in the report");
    }
    // A ridge head never iterates: no loss plot, and the card links none.
    assert!(!dir.join(format!("{ID}_loss.svg")).exists());
    assert!(summary["outputs"].get("loss_plot").is_none(), "{run}");
    let card = std::fs::read_to_string(dir.join(format!("{ID}_card.md"))).unwrap();
    assert!(!card.contains("_loss.svg"), "{card}");
    assert!(card.contains(&format!("({ID}_report.html)")), "{card}");
    // An iterative head has its loss plot, in the report too.
    let run = train(d.path(), "mlp", &["--head", "linear"]);
    run.ok();
    assert!(d.path().join(format!("mlp/{ID}_loss.svg")).exists());
    let html = std::fs::read_to_string(d.path().join(format!("mlp/{ID}_report.html"))).unwrap();
    assert_eq!(html.matches("<svg").count(), 2);
}

/// Debian's Chromium (or another build of it on the path).
fn browser() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|p| p.join(name))
                    .find(|p| p.is_file())
            })
        })
}

/// Headless Chromium on `page` with a fresh profile, plus `extra` flags.
fn chromium(bin: &Path, profile: &Path, page: &Path, extra: &[String]) -> Run {
    let mut c = Command::new(bin);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1200,1600",
    ]);
    c.arg(format!("--user-data-dir={}", profile.display()));
    c.args(extra);
    c.arg(format!("file://{}", page.display()));
    run_cmd_timeout(c, 240)
}

#[test]
fn a_headless_browser_renders_the_report() {
    let Some(bin) = browser() else {
        println!(
            "SKIPPED: no chromium on PATH; install Debian's `chromium` (`.ci/run` does, as root) \
             to render the HTML report in a browser"
        );
        return;
    };
    let d = tempfile::tempdir().unwrap();
    synth_chug(d.path(), "240", "11");
    train(d.path(), "out", &["--head", "linear"]).ok();
    let page = d.path().join(format!("out/{ID}_report.html"));
    let profile = tempfile::tempdir().unwrap();
    let dom = chromium(&bin, profile.path(), &page, &["--dump-dom".into()]);
    assert_eq!(dom.code, Some(0), "{dom}");
    // Rendered: the document, its two inline plots with their drawings.
    assert!(
        dom.stdout.contains(&format!("{ID} — training report")),
        "{dom}"
    );
    assert_eq!(dom.stdout.matches("<svg").count(), 2, "{dom}");
    assert!(dom.stdout.contains("<circle"), "no points in the scatter");
    // No console message of the page (Chromium logs them as `CONSOLE`), no
    // failed load.
    for bad in ["CONSOLE", "Failed to load", "net::ERR"] {
        assert!(!dom.stderr.contains(bad), "`{bad}`:\n{}", dom.stderr);
    }
    let shot = d.path().join("report.png");
    let profile = tempfile::tempdir().unwrap();
    let r = chromium(
        &bin,
        profile.path(),
        &page,
        &[format!("--screenshot={}", shot.display())],
    );
    assert_eq!(r.code, Some(0), "{r}");
    // Keep it for a person to look at when asked to.
    if let Some(to) = std::env::var_os("MOSHEAD_REPORT_SCREENSHOT") {
        std::fs::copy(&shot, to).unwrap();
    }
    let (px, bytes) = decode_png(&std::fs::read(&shot).unwrap());
    // Not blank: many distinct colours, and a good share of non-white
    // pixels (text, tables, the plots' points and lines).
    let pixels: Vec<&[u8]> = bytes.chunks(px).collect();
    assert!(pixels.len() > 100_000, "{} pixels", pixels.len());
    let non_white = pixels
        .iter()
        .filter(|p| p.iter().take(3).any(|&c| c < 200))
        .count();
    let mut colours: Vec<&[u8]> = pixels.clone();
    colours.sort_unstable();
    colours.dedup();
    assert!(colours.len() > 50, "{} colours", colours.len());
    assert!(
        non_white * 100 > pixels.len(),
        "{non_white} of {} pixels are not white",
        pixels.len()
    );
}

/// The pixels of an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium's
/// `--screenshot` writes): `(bytes per pixel, rows unfiltered)`, decoded
/// with flate2 (a dev-dependency already) per the PNG specification.
fn decode_png(data: &[u8]) -> (usize, Vec<u8>) {
    use std::io::Read as _;
    assert_eq!(&data[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let (mut width, mut height, mut px) = (0usize, 0usize, 0usize);
    let mut idat = Vec::new();
    let mut at = 8;
    while at + 8 <= data.len() {
        let len = u32::from_be_bytes(data[at..at + 4].try_into().unwrap()) as usize;
        let kind = &data[at + 4..at + 8];
        let body = &data[at + 8..at + 8 + len];
        match kind {
            b"IHDR" => {
                width = u32::from_be_bytes(body[0..4].try_into().unwrap()) as usize;
                height = u32::from_be_bytes(body[4..8].try_into().unwrap()) as usize;
                assert_eq!(body[8], 8, "bit depth");
                px = match body[9] {
                    2 => 3,
                    6 => 4,
                    other => panic!("colour type {other}"),
                };
                assert_eq!(body[12], 0, "interlaced");
            }
            b"IDAT" => idat.extend_from_slice(body),
            b"IEND" => break,
            _ => {}
        }
        at += 12 + len;
    }
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(&idat[..])
        .read_to_end(&mut raw)
        .unwrap();
    let stride = width * px;
    assert_eq!(raw.len(), height * (stride + 1), "truncated image data");
    let mut out = vec![0u8; height * stride];
    for y in 0..height {
        let filter = raw[y * (stride + 1)];
        let line = &raw[y * (stride + 1) + 1..(y + 1) * (stride + 1)];
        for x in 0..stride {
            let a = if x >= px { out[y * stride + x - px] } else { 0 };
            let b = if y > 0 { out[(y - 1) * stride + x] } else { 0 };
            let c = if x >= px && y > 0 {
                out[(y - 1) * stride + x - px]
            } else {
                0
            };
            let pred = match filter {
                0 => 0,
                1 => a,
                2 => b,
                3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
                4 => {
                    let p = i16::from(a) + i16::from(b) - i16::from(c);
                    let (pa, pb, pc) = (
                        (p - i16::from(a)).abs(),
                        (p - i16::from(b)).abs(),
                        (p - i16::from(c)).abs(),
                    );
                    if pa <= pb && pa <= pc {
                        a
                    } else if pb <= pc {
                        b
                    } else {
                        c
                    }
                }
                f => panic!("filter {f}"),
            };
            out[y * stride + x] = line[x].wrapping_add(pred);
        }
    }
    (px, out)
}
