//! libvmaf logs as input, with the real `vmaf` tool: small YUV clips with
//! known distortions are generated here, scored by stock libvmaf 2.3.1
//! (built from source by `moshead_e2e::libvmaf_tool`), pooled by moshead and
//! checked against the logs' own per-frame values, then trained on end to
//! end through both built-in adapters' log slots.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use moshead::corpus::libvmaf::{canonical_name, pool_log};
use moshead_e2e::libvmaf_tool::vmaf_tool;
use moshead_e2e::moshead;
use moshead_sdk::schemas::CANONICAL;
use serde_json::Value;

const W: usize = 96;
const H: usize = 64;
const FRAMES: usize = 10;

/// A deterministic generator (SplitMix64) for the texture and the noise.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform on [-1, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
}

pub type Luma = Vec<f64>;

/// The luma planes of a reference content: moving texture.
pub fn reference(content: u32) -> Vec<Luma> {
    let mut rng = Rng(u64::from(content) * 7919 + 1);
    let blocks: Vec<f64> = (0..64 * 64).map(|_| rng.unit()).collect();
    (0..FRAMES)
        .map(|t| {
            let t = t as f64;
            let mut y = vec![0.0; W * H];
            for r in 0..H {
                for c in 0..W {
                    let (x, yy) = (c as f64, r as f64);
                    let v = if content == 0 {
                        128.0
                            + 60.0 * ((x + 2.0 * t) / 5.0).sin() * ((yy - t) / 7.0).cos()
                            + 30.0 * (x * yy / 200.0).sin()
                    } else {
                        let bx = ((c + 3 * t as usize) / 4) % 64;
                        let by = (r / 4) % 64;
                        128.0 + 90.0 * blocks[by * 64 + bx] + 20.0 * ((x + yy + t) / 3.0).sin()
                    };
                    y[r * W + c] = v;
                }
            }
            y
        })
        .collect()
}

#[derive(Clone, Copy, Debug)]
pub enum Distortion {
    Blur(usize),
    Noise(f64),
    Downscale(usize),
}

fn blur(f: &Luma, k: usize) -> Luma {
    let k = k as isize;
    let at = |r: isize, c: isize| {
        f[(r.clamp(0, H as isize - 1) as usize) * W + c.clamp(0, W as isize - 1) as usize]
    };
    let mut out = vec![0.0; W * H];
    for r in 0..H as isize {
        for c in 0..W as isize {
            let mut s = 0.0;
            for dr in -k..=k {
                for dc in -k..=k {
                    s += at(r + dr, c + dc);
                }
            }
            out[r as usize * W + c as usize] = s / ((2 * k + 1) * (2 * k + 1)) as f64;
        }
    }
    out
}

pub fn apply(frames: &[Luma], d: Distortion, seed: u64) -> Vec<Luma> {
    let mut rng = Rng(seed);
    frames
        .iter()
        .map(|f| match d {
            Distortion::Blur(k) => blur(f, k),
            Distortion::Noise(a) => f.iter().map(|v| v + a * rng.unit()).collect(),
            Distortion::Downscale(s) => {
                let mut out = vec![0.0; W * H];
                for r in 0..H {
                    for c in 0..W {
                        let (r0, c0) = (r / s * s, c / s * s);
                        let mut sum = 0.0;
                        for dr in 0..s {
                            for dc in 0..s {
                                sum += f[(r0 + dr).min(H - 1) * W + (c0 + dc).min(W - 1)];
                            }
                        }
                        out[r * W + c] = sum / (s * s) as f64;
                    }
                }
                out
            }
        })
        .collect()
}

/// Writes 8-bit 4:2:0 planar YUV (neutral chroma).
pub fn write_yuv(path: &Path, frames: &[Luma]) {
    let mut bytes = Vec::with_capacity(frames.len() * W * H * 3 / 2);
    for f in frames {
        bytes.extend(f.iter().map(|v| v.round().clamp(0.0, 255.0) as u8));
        bytes.extend(std::iter::repeat_n(128u8, W * H / 2));
    }
    std::fs::write(path, bytes).unwrap();
}

/// Runs the real `vmaf` tool on a pair, writing its JSON log.
pub fn run_vmaf(reference: &Path, distorted: &Path, log: &Path, extra: &[&str]) {
    let out = Command::new(vmaf_tool())
        .arg("-r")
        .arg(reference)
        .arg("-d")
        .arg(distorted)
        .args([
            "-w",
            &W.to_string(),
            "-h",
            &H.to_string(),
            "-p",
            "420",
            "-b",
            "8",
        ])
        .args(["--json", "-q", "-o"])
        .arg(log)
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "vmaf failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// KonViD rows from the logs in `logs/` and the labels in
/// `attributes.csv`, on the `vmaf-canonical-v1` schema.
pub const KONVID_LOGS: [&str; 8] = [
    "-a",
    "konvid",
    "-i",
    "vmaf-logs=logs",
    "-i",
    "konvid-1k-attributes=attributes.csv",
    "--schema",
    "vmaf-canonical-v1",
];

/// One scored clip.
pub struct Scored {
    /// Clip name (the log's file stem).
    pub name: String,
    /// Content index.
    pub content: u32,
    /// Whether this is the reference scored against itself.
    pub reference: bool,
    /// The log.
    pub log: PathBuf,
}

/// Generates two contents, each with its reference and eight distortions,
/// and scores them with `vmaf` into `dir/logs`. The YUV files stay in
/// `dir/yuv` (`<name>.yuv`, and `ref<content>.yuv`).
pub fn scored_clips(dir: &Path, with_reference: bool) -> Vec<Scored> {
    let yuv = dir.join("yuv");
    let logs = dir.join("logs");
    std::fs::create_dir_all(&yuv).unwrap();
    std::fs::create_dir_all(&logs).unwrap();
    let distortions = [
        ("blur1", Distortion::Blur(1)),
        ("blur2", Distortion::Blur(2)),
        ("blur4", Distortion::Blur(4)),
        ("noise6", Distortion::Noise(6.0)),
        ("noise20", Distortion::Noise(20.0)),
        ("noise50", Distortion::Noise(50.0)),
        ("down2", Distortion::Downscale(2)),
        ("down4", Distortion::Downscale(4)),
    ];
    let mut out = Vec::new();
    for content in 0..2u32 {
        let r = reference(content);
        let ref_path = yuv.join(format!("ref{content}.yuv"));
        write_yuv(&ref_path, &r);
        let mut score = |name: String, distorted: &Path, reference: bool| {
            let log = logs.join(format!("{name}.json"));
            run_vmaf(&ref_path, distorted, &log, &[]);
            out.push(Scored {
                name,
                content,
                reference,
                log,
            });
        };
        if with_reference {
            score(format!("c{content}_ref"), &ref_path, true);
        }
        for (i, (label, d)) in distortions.iter().enumerate() {
            let name = format!("c{content}_{label}");
            let path = yuv.join(format!("{name}.yuv"));
            write_yuv(&path, &apply(&r, *d, 100 * u64::from(content) + i as u64));
            score(name, &path, false);
        }
    }
    out
}

/// Pooled statistics computed here from a log's frames, by canonical name:
/// `[mean, p10, p90, std]` over the finite frames.
fn pool_here(log: &Value) -> BTreeMap<String, [f64; 4]> {
    let mut vals: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for f in log["frames"].as_array().unwrap() {
        for (k, v) in f["metrics"].as_object().unwrap() {
            let e = vals.entry(canonical_name(k).to_owned()).or_default();
            if let Some(v) = v.as_f64() {
                e.push(v);
            }
        }
    }
    vals.into_iter()
        .map(|(k, mut v)| {
            v.sort_by(f64::total_cmp);
            let n = v.len() as f64;
            let mean = v.iter().sum::<f64>() / n;
            let std = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
            let q = |p: f64| {
                let pos = p * (v.len() - 1) as f64;
                let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
                v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
            };
            (k, [mean, q(0.1), q(0.9), std])
        })
        .collect()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The libvmaf score of a log (its own pooled mean of the default model).
fn vmaf_score(log: &Value) -> f64 {
    log["pooled_metrics"]["vmaf"]["mean"].as_f64().unwrap()
}

#[test]
fn real_vmaf_logs_pool_like_their_frames_and_train_konvid_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let clips = scored_clips(dir, false);
    assert_eq!(clips.len(), 16);
    let mut expected: Vec<BTreeMap<String, [f64; 4]>> = Vec::new();
    let mut csv = String::from("flickr_id,MOS,SD,n\n");
    for c in &clips {
        let log = read_json(&c.log);
        let frames = log["frames"].as_array().unwrap();
        assert_eq!(frames.len(), FRAMES);
        assert!(frames[0]["metrics"]["integer_adm2"].is_number(), "{log}");
        let here = pool_here(&log);
        let pooled = pool_log(&std::fs::read_to_string(&c.log).unwrap()).unwrap();
        assert_eq!(pooled.frames, FRAMES);
        for name in CANONICAL {
            let p = &pooled.metrics[name];
            let h = here[name];
            for (got, want, stat) in [
                (p.mean, h[0], "mean"),
                (p.p10, h[1], "p10"),
                (p.p90, h[2], "p90"),
                (p.std, h[3], "std"),
            ] {
                assert!(
                    (got - want).abs() < 1e-12,
                    "{} {name} {stat}: {got} vs {want}",
                    c.name
                );
            }
            // libvmaf's own pooled mean (from unrounded frames, printed to 6
            // decimals) agrees within the two roundings.
            let libvmaf_name = format!("integer_{name}");
            let own = log["pooled_metrics"][&libvmaf_name]["mean"]
                .as_f64()
                .unwrap();
            assert!(
                (p.mean - own).abs() <= 1.0e-6 + 1e-12,
                "{} {name}: {} vs libvmaf's {own}",
                c.name,
                p.mean
            );
        }
        let mos = (1.0 + 4.0 * vmaf_score(&log) / 100.0).clamp(1.0, 5.0);
        csv.push_str(&format!("{},{mos:.4},0.5,40\n", c.name));
        expected.push(here);
    }
    // A label with no log, a log with no label, a file that is no log.
    csv.push_str("orphan,3.0,0.5,40\n");
    std::fs::copy(&clips[0].log, dir.join("logs/unlabelled.json")).unwrap();
    std::fs::write(dir.join("logs/junk.json"), r#"{"hello": 1}"#).unwrap();
    std::fs::write(dir.join("attributes.csv"), &csv).unwrap();

    let inputs = KONVID_LOGS;
    let mut args = vec!["corpus", "--json"];
    args.extend(inputs);
    let report = moshead(dir, &args).json();
    assert_eq!(report["rows"], 16, "{report:#}");
    for (code, n) in [
        ("label-missing", 1),
        ("log-missing", 1),
        ("not-libvmaf-log", 1),
    ] {
        assert_eq!(report["drops"][code]["count"], n, "{code}: {report:#}");
    }
    let examples = report["drops"]["log-missing"]["examples"][0]
        .as_str()
        .unwrap();
    assert!(
        examples.contains("attributes.csv:18:") && examples.contains("orphan"),
        "{examples}"
    );
    let junk = report["drops"]["not-libvmaf-log"]["examples"][0]
        .as_str()
        .unwrap();
    assert!(junk.contains("junk.json"), "{junk}");
    let inputs_rep = report["inputs"].as_array().unwrap();
    let logs_rep = inputs_rep
        .iter()
        .find(|i| i["slot"] == "vmaf-logs")
        .unwrap();
    assert_eq!(logs_rep["lines"], 18);
    assert_eq!(logs_rep["rows"], 16);
    let labels_rep = inputs_rep
        .iter()
        .find(|i| i["slot"] == "konvid-1k-attributes")
        .unwrap();
    assert_eq!(labels_rep["lines"], 17);
    // The projected columns are the pooled means, row for row: their mean
    // over rows equals the mean of what was computed here.
    for col in report["columns"].as_array().unwrap() {
        let name = col["name"].as_str().unwrap();
        let want = expected.iter().map(|e| e[name][0]).sum::<f64>() / 16.0;
        let got = col["mean"].as_f64().unwrap();
        assert!((got - want).abs() < 1e-9, "{name}: {got} vs {want}");
        assert_eq!(col["filled"], 0, "{name}");
    }

    let mut args = vec![
        "train",
        "--head",
        "linear",
        "--validation",
        "kfold",
        "--folds",
        "4",
        "--out",
        "out",
        "--quiet",
    ];
    args.extend(inputs);
    moshead(dir, &args).ok();
    let m = read_json(&dir.join("out/konvid_mos_head_v1.json"));
    assert_eq!(m["feature_schema"], "vmaf-canonical-v1");
    assert_eq!(m["data"]["rows"], 16);
    assert_eq!(m["data"]["drops"]["label-missing"], 1);
    let slots: Vec<&str> = m["data"]["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["slot"].as_str().unwrap())
        .collect();
    assert_eq!(slots, ["vmaf-logs", "konvid-1k-attributes"]);
    // The MOS made for the test is libvmaf's own score of these features:
    // a head trained on the pooled logs must track it.
    let plcc = m["validation"]["aggregate"]["mean"]["plcc"].as_f64();
    assert!(
        plcc.is_some_and(|p| p > 0.9),
        "{:#}",
        m["validation"]["aggregate"]
    );
}

#[test]
fn chug_labels_join_real_logs_with_frame_statistics_and_reference_rule() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let clips = scored_clips(dir, true);
    let mut csv = String::from(
        "Video,mos_j,sos_j,ref,name,bitladder,resolution,bitrate,orientation,framerate,content_name,height,width\n",
    );
    let mut expected = Vec::new();
    for c in &clips {
        let log = read_json(&c.log);
        let mos = vmaf_score(&log).clamp(0.0, 100.0);
        let (rung, res, rate, refv) = if c.reference {
            ("1080p_ref_", "ref", "ref", 1)
        } else {
            ("720p_2M_", "720p", "2M", 0)
        };
        let content = format!("content_{}", c.content);
        csv.push_str(&format!(
            "{},{mos:.3},2.5,{refv},{rung}#{content},{rung},{res},{rate},landscape,30,{content},{H},{W}\n",
            c.name
        ));
        if !c.reference {
            expected.push(pool_here(&log));
        }
    }
    std::fs::write(dir.join("chug.csv"), &csv).unwrap();
    let chug = |extra: &[&str]| {
        let mut args = vec!["corpus", "--json", "-a", "chug-hdr"];
        args.extend(["-i", "vmaf-logs=logs", "-i", "chug-labels=chug.csv"]);
        args.extend(extra);
        moshead(dir, &args).json()
    };
    let report = chug(&[]);
    assert_eq!(report["schema"], "chug-hdr-wide-v1");
    assert_eq!(report["rows"], 16, "{report:#}");
    assert_eq!(report["drops"]["reference-row"]["count"], 2, "{report:#}");
    assert_eq!(
        report["split_origins"]["policy"], 16,
        "content-hash split: {report:#}"
    );
    assert_eq!(report["groups"], 2);
    let cols: BTreeMap<&str, &Value> = report["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c))
        .collect();
    let n = expected.len() as f64;
    for f in CANONICAL {
        for (i, stat) in ["", "_p10", "_p90", "_std"].iter().enumerate() {
            let name = format!("{f}{stat}");
            let want = expected.iter().map(|e| e[f][i]).sum::<f64>() / n;
            let got = cols[name.as_str()]["mean"].as_f64().unwrap();
            assert!((got - want).abs() < 1e-9, "{name}: {got} vs {want}");
            assert_eq!(cols[name.as_str()]["filled"], 0, "{name}");
        }
    }
    // Labels columns reached the plugin under the adapter's keys.
    for (name, want) in [
        ("chug_bitrate_mbps", 2.0),
        ("n_feature_frames_norm", FRAMES as f64 / 1800.0),
        ("distorted_width_norm", W as f64 / 3840.0),
        ("chug_ref", 0.0),
    ] {
        let got = cols[name]["mean"].as_f64().unwrap();
        assert!((got - want).abs() < 1e-12, "{name}: {got} vs {want}");
    }

    // The references come in when asked for.
    let with_refs = chug(&["--include-references"]);
    assert_eq!(with_refs["rows"], 18);
}

#[test]
fn a_log_slot_without_its_labels_and_labels_without_logs_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    std::fs::write(
        dir.join("logs/a.json"),
        r#"{"version":"2.3.1","frames":[]}"#,
    )
    .unwrap();
    std::fs::write(dir.join("labels.csv"), "flickr_id,MOS\na,3\n").unwrap();
    let e = moshead(dir, &["corpus", "-a", "konvid", "-i", "vmaf-logs=logs"])
        .fails(1)
        .to_owned();
    assert!(
        e.contains("konvid-1k-attributes") && e.contains("--input konvid-1k-attributes=PATH"),
        "{e}"
    );
    let e = moshead(
        dir,
        &[
            "corpus",
            "-a",
            "konvid",
            "-i",
            "konvid-1k-attributes=labels.csv",
        ],
    )
    .fails(1)
    .to_owned();
    assert!(e.contains("--input vmaf-logs=DIR"), "{e}");
    let bad = "flickr_id,MOS\na,3\nb\n";
    std::fs::write(dir.join("labels.csv"), bad).unwrap();
    let r = moshead(
        dir,
        &[
            "corpus",
            "--json",
            "-a",
            "konvid",
            "-i",
            "vmaf-logs=logs",
            "-i",
            "konvid-1k-attributes=labels.csv",
        ],
    );
    // The one log has no frames, and one labels record is ragged: every
    // file's every record is accounted for.
    let rep = r.json();
    assert_eq!(rep["rows"], 0, "{rep:#}");
    for (code, file) in [
        ("not-libvmaf-log", "a.json"),
        ("malformed-csv", "labels.csv:3:"),
        ("log-missing", "labels.csv:2:"),
    ] {
        assert_eq!(rep["drops"][code]["count"], 1, "{code}: {rep:#}");
        let ex = rep["drops"][code]["examples"][0].as_str().unwrap();
        assert!(ex.contains(file), "{code}: {ex}");
    }
    let r = moshead(
        dir,
        &[
            "corpus",
            "-a",
            "konvid",
            "-i",
            "vmaf-logs=logs",
            "-i",
            "konvid-1k-attributes=labels.csv",
            "--strict",
        ],
    );
    let e = r.fails(1);
    assert!(
        e.contains("labels.csv:3: malformed-csv: 1 fields where the header has 2"),
        "{e}"
    );
}
