//! ONNX export, model card, plots and run ledger end to end: the files the
//! real binary writes, checked against the manifest and, for the ONNX
//! model, run in an independent ONNX runtime (tract).

use std::collections::BTreeMap;
use std::path::Path;

use moshead_e2e::*;
use moshead_plugin_common::KONVID_V1;
use serde_json::Value;
use sha2::Digest as _;
use tract_onnx::prelude::*;

/// A seeded uniform generator (the tests crate has no rand).
struct Lcg(u64);

impl Lcg {
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        lo + (hi - lo) * ((self.0 >> 11) as f64 / (1u64 << 53) as f64)
    }
}

/// Writes `n` KoNViD rows with every `konvid-v1` column given explicitly
/// (so the projected features are exactly these values) and returns
/// `src -> features`.
pub(crate) fn konvid_corpus(dir: &Path, n: usize, seed: u64) -> BTreeMap<String, Vec<f64>> {
    let ranges = [
        (0.4, 1.0),
        (0.2, 0.95),
        (0.3, 0.95),
        (0.4, 0.97),
        (0.5, 0.98),
        (0.0, 30.0),
        (0.0, 0.6),
        (0.0, 0.05),
        (0.0, 1.0),
        (0.0, 1.0),
        (0.0, 0.1),
    ];
    let mut rng = Lcg(seed);
    let mut text = String::new();
    let mut rows = BTreeMap::new();
    for i in 0..n {
        let x: Vec<f64> = ranges.iter().map(|&(a, b)| rng.uniform(a, b)).collect();
        let mos =
            (2.5 + 1.6 * x[0] - 0.04 * x[5] + 0.6 * x[6] + 0.3 * x[4] + rng.uniform(-0.2, 0.2))
                .clamp(1.0, 5.0);
        let src = format!("clip{i:04}.mp4");
        let mut obj = serde_json::Map::new();
        obj.insert("corpus".into(), "konvid-1k".into());
        obj.insert("src".into(), src.clone().into());
        obj.insert("mos".into(), mos.into());
        for (c, v) in KONVID_V1.iter().zip(&x) {
            obj.insert((*c).into(), (*v).into());
        }
        text.push_str(&Value::Object(obj).to_string());
        text.push('\n');
        rows.insert(src, x);
    }
    std::fs::write(dir.join("rows.jsonl"), text).unwrap();
    rows
}

pub(crate) fn train_konvid(dir: &Path, out: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "train",
        "-a",
        "konvid",
        "-i",
        "konvid-1k=rows.jsonl",
        "--out",
        out,
        "--quiet",
    ];
    args.extend_from_slice(extra);
    moshead(dir, &args)
}

pub(crate) fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

pub(crate) fn sha256(path: &Path) -> String {
    sha2::Sha256::digest(std::fs::read(path).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The ONNX model at `path` checked against the operator allow-list and
/// made runnable in tract (`what` names it in messages).
pub(crate) fn checked_onnx(path: &Path, what: &str) -> TypedRunnableModel<TypedModel> {
    let proto = tract_onnx::onnx().proto_model_for_path(path).unwrap();
    for n in &proto.graph.as_ref().unwrap().node {
        assert!(
            moshead::export::onnx::ALLOWED_OPS.contains(&n.op_type.as_str()),
            "{what}: operator {} is not on the allow-list",
            n.op_type
        );
    }
    tract_onnx::onnx()
        .model_for_path(path)
        .unwrap()
        .into_optimized()
        .unwrap()
        .into_runnable()
        .unwrap()
}

/// Runs the ONNX model in tract on `rows` in batches of `batch`.
pub(crate) fn run_onnx(
    model: &TypedRunnableModel<TypedModel>,
    rows: &[Vec<f64>],
    batch: usize,
) -> Vec<f32> {
    let f = rows[0].len();
    let mut out = Vec::new();
    for chunk in rows.chunks(batch) {
        let flat: Vec<f32> = chunk.iter().flatten().map(|v| *v as f32).collect();
        let x = tract_ndarray::Array2::from_shape_vec((chunk.len(), f), flat).unwrap();
        // A non-zero one-hot must not change the output.
        let onehot = tract_ndarray::Array2::<f32>::from_elem((chunk.len(), 1), 1.0);
        let result = model
            .run(tvec!(Tensor::from(x).into(), Tensor::from(onehot).into()))
            .unwrap();
        let mos = result[0].to_array_view::<f32>().unwrap();
        assert_eq!(mos.shape(), &[chunk.len()], "output `mos` is [batch]");
        out.extend(mos.iter().copied());
    }
    out
}

#[test]
fn onnx_matches_predict_for_every_head_with_a_dynamic_batch() {
    let d = tempfile::tempdir().unwrap();
    let features = konvid_corpus(d.path(), 300, 11);
    let heads: [(&str, &[&str]); 6] = [
        ("mlp", &["--head", "mlp"]),
        ("linear", &["--head", "linear"]),
        ("ridge", &["--head", "ridge"]),
        ("svr", &["--head", "svr"]),
        ("svr-nu", &["--head", "svr", "--svr-type", "nu"]),
        (
            "svr-linear",
            &[
                "--head",
                "svr",
                "--svr-kernel",
                "linear",
                "--svr-scaling",
                "standard",
            ],
        ),
    ];
    for (head, flags) in heads {
        let out = format!("out-{head}");
        train_konvid(d.path(), &out, flags).ok();
        let manifest_path = d.path().join(&out).join("konvid_mos_head_v1.json");
        let m = read_json(&manifest_path);
        let order: Vec<&str> = m["feature_order"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(order, KONVID_V1);
        let run = moshead(
            d.path(),
            &[
                "predict",
                "--model",
                manifest_path.to_str().unwrap(),
                "--input",
                "konvid-1k=rows.jsonl",
                "--quiet",
            ],
        );
        let (mut rows, mut want) = (Vec::new(), Vec::new());
        for line in run.ok().lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            rows.push(features[v["id"].as_str().unwrap()].clone());
            want.push(v["prediction"].as_f64().unwrap());
        }
        assert_eq!(rows.len(), 300);
        let spread = want.iter().copied().fold(f64::MIN, f64::max)
            - want.iter().copied().fold(f64::MAX, f64::min);
        assert!(spread > 0.5, "{head}: predictions barely vary ({spread})");
        let onnx_path = d.path().join(&out).join("konvid_mos_head_v1.onnx");
        let model = checked_onnx(&onnx_path, head);
        for batch in [300, 64, 1] {
            let got = run_onnx(&model, &rows, batch);
            let worst = got
                .iter()
                .zip(&want)
                .map(|(g, w)| (f64::from(*g) - w).abs())
                .fold(0.0, f64::max);
            eprintln!("{head}, batch {batch}: worst |ONNX - predict| = {worst:.2e}");
            assert!(
                worst < 1e-5,
                "{head}, batch {batch}: ONNX differs from predict by {worst}"
            );
        }
    }
}

#[test]
fn onnx_is_byte_identical_across_runs_and_keeps_the_contract() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for d in [a.path(), b.path()] {
        synth_chug(d, "200", "5");
        train_chug(d, &["--head", "mlp"]).ok();
    }
    let id = "chug_hdr_mos_head_v1";
    for file in [
        format!("{id}.onnx"),
        format!("{id}.json"),
        format!("{id}_validation.jsonl"),
        format!("{id}_card.md"),
        format!("{id}_validation.svg"),
        format!("{id}_loss.svg"),
        format!("{id}_report.html"),
    ] {
        let read = |d: &Path| std::fs::read(d.join("out").join(&file)).unwrap();
        assert!(
            read(a.path()) == read(b.path()),
            "{file} differs between two runs with the same seed"
        );
    }
    let onnx_path = a.path().join("out").join(format!("{id}.onnx"));
    let m = read_json(&a.path().join("out").join(format!("{id}.json")));
    assert_eq!(m["exports"]["onnx"]["path"], format!("{id}.onnx"));
    assert_eq!(m["exports"]["onnx"]["sha256"], sha256(&onnx_path));
    let sidecar = a.path().join("out").join(format!("{id}_validation.jsonl"));
    assert_eq!(
        m["exports"]["validation_predictions"]["sha256"],
        sha256(&sidecar)
    );

    // The contract, read with tract's own protobuf definitions.
    let proto = tract_onnx::onnx().proto_model_for_path(&onnx_path).unwrap();
    assert_eq!(proto.ir_version, 8);
    assert_eq!(proto.opset_import.len(), 1);
    assert_eq!(proto.opset_import[0].domain, "");
    assert_eq!(proto.opset_import[0].version, 17);
    let graph = proto.graph.as_ref().unwrap();
    let ops: std::collections::BTreeSet<&str> =
        graph.node.iter().map(|n| n.op_type.as_str()).collect();
    for op in &ops {
        assert!(
            moshead::export::onnx::ALLOWED_OPS.contains(op),
            "operator {op} is not allowed"
        );
    }
    for op in ["Gemm", "Sub", "Div", "Tanh", "Sigmoid", "Concat", "Squeeze"] {
        assert!(ops.contains(op), "{op} missing from {ops:?}");
    }
    assert!(graph.node.iter().all(|n| n.domain.is_empty()));
    use tract_onnx::pb::tensor_shape_proto::dimension::Value as Dim;
    use tract_onnx::pb::type_proto::Value as Type;
    let shape = |v: &tract_onnx::pb::ValueInfoProto| -> (i32, Vec<String>) {
        let Some(Type::TensorType(t)) = v.r#type.as_ref().unwrap().value.as_ref() else {
            panic!("{} is not a tensor", v.name)
        };
        let dims = t
            .shape
            .as_ref()
            .unwrap()
            .dim
            .iter()
            .map(|d| match d.value.as_ref().unwrap() {
                Dim::DimValue(n) => n.to_string(),
                Dim::DimParam(s) => s.clone(),
            })
            .collect();
        (t.elem_type, dims)
    };
    let inputs: Vec<(&str, (i32, Vec<String>))> = graph
        .input
        .iter()
        .map(|v| (v.name.as_str(), shape(v)))
        .collect();
    let float = 1;
    assert_eq!(
        inputs,
        vec![
            ("features", (float, vec!["batch".into(), "34".into()])),
            ("encoder_onehot", (float, vec!["batch".into(), "1".into()])),
        ]
    );
    assert_eq!(graph.output.len(), 1);
    assert_eq!(graph.output[0].name, "mos");
    assert_eq!(shape(&graph.output[0]), (float, vec!["batch".into()]));
    // The one-hot is consumed (not dangling), weights are inline.
    assert!(graph
        .node
        .iter()
        .any(|n| n.input.iter().any(|i| i == "encoder_onehot")));
    assert!(graph.initializer.iter().all(|t| t.external_data.is_empty()));
    assert!(!a
        .path()
        .join("out")
        .join(format!("{id}.onnx.data"))
        .exists());
}

/// The cells of the Markdown table row starting with `prefix`.
fn table_row<'a>(card: &'a str, prefix: &str) -> Vec<&'a str> {
    let line = card
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no row `{prefix}` in the card:\n{card}"));
    line.trim_matches('|').split(" | ").map(str::trim).collect()
}

/// The text of the card's section `## title`.
fn section<'a>(card: &'a str, title: &str) -> &'a str {
    let start = card
        .find(&format!("\n## {title}\n"))
        .unwrap_or_else(|| panic!("no section {title}"));
    let rest = &card[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |e| e + 3);
    &rest[..end]
}

fn f4(v: &Value) -> String {
    v.as_f64().map_or("–".into(), |v| format!("{v:.4}"))
}

#[test]
fn card_and_plots_show_the_manifests_figures() {
    let d = tempfile::tempdir().unwrap();
    synth_chug(d.path(), "200", "3");
    train_chug(
        d.path(),
        &["--validation", "kfold", "--folds", "3", "--head", "mlp"],
    )
    .ok();
    let out = d.path().join("out");
    let id = "chug_hdr_mos_head_v1";
    let m = read_json(&out.join(format!("{id}.json")));
    let card = std::fs::read_to_string(out.join(format!("{id}_card.md"))).unwrap();

    assert!(card.starts_with(&format!("# {id}")));
    let passed = m["gate"]["passed"].as_bool().unwrap();
    let status = if passed { "Accepted" } else { "Proposed" };
    assert!(card.contains(&format!("\nStatus: {status}\n")), "{card}");

    // Data counts.
    let data = table_row(&card, &format!("| {} |", m["data"]["rows"]));
    assert_eq!(data[1], m["data"]["dropped"].to_string());
    assert_eq!(data[2], m["data"]["groups"].to_string());
    let drops = table_row(&card, "| `reference-row` |");
    assert_eq!(drops[1], m["data"]["drops"]["reference-row"].to_string());
    for (split, n) in m["data"]["splits"].as_object().unwrap() {
        assert_eq!(
            table_row(&card, &format!("| `{split}` |"))[1],
            n.to_string()
        );
    }

    // Every fold's figures, parsed back out of the per-fold table.
    let folds = m["validation"]["folds"].as_array().unwrap();
    assert_eq!(folds.len(), 3);
    assert!(card.contains(&format!(
        "Policy `{}`",
        m["validation"]["name"].as_str().unwrap()
    )));
    for f in folds {
        let row = table_row(&card, &format!("| {} | {} |", f["fold"], f["n_train"]));
        assert_eq!(row[2], f["n_eval"].to_string());
        let h = &f["head"];
        let parsed: Vec<f64> = row[4..9].iter().map(|c| c.parse().unwrap()).collect();
        for (got, key) in parsed
            .iter()
            .zip(["plcc", "plcc_mapped", "srocc", "krocc", "rmse"])
        {
            let want = h[key].as_f64().unwrap();
            assert!(
                (got - want).abs() <= 5.001e-5,
                "fold {} {key}: card {got}, manifest {want}",
                f["fold"]
            );
        }
        if !h["outlier_ratio"].is_null() {
            assert_eq!(row[9], f4(&h["outlier_ratio"]));
        }
    }
    // Aggregates, baselines, gate.
    let agg = &m["validation"]["aggregate"];
    let validation = section(&card, "Validation");
    let mean = table_row(validation, "| mean |");
    assert_eq!(mean[1], f4(&agg["mean"]["plcc"]));
    assert_eq!(mean[3], f4(&agg["mean"]["srocc"]));
    assert_eq!(mean[5], f4(&agg["mean"]["rmse"]));
    let baselines = section(&card, "Baselines");
    for (name, b) in m["validation"]["baselines"].as_object().unwrap() {
        let row = table_row(baselines, &format!("| {name} |"));
        assert_eq!(row[1], f4(&b["mean"]["plcc"]), "{name}");
        assert_eq!(row[4], f4(&b["mean"]["rmse"]), "{name}");
    }
    for c in m["gate"]["checks"].as_array().unwrap() {
        let row = table_row(&card, &format!("| `{}` |", c["metric"].as_str().unwrap()));
        assert_eq!(row[1], f4(&c["value"]));
    }
    // Provenance, use, licence, links.
    let onnx = &m["exports"]["onnx"];
    assert!(card.contains(onnx["path"].as_str().unwrap()));
    assert!(card.contains(onnx["sha256"].as_str().unwrap()));
    assert!(card.contains(m["feature_schema"].as_str().unwrap()));
    assert!(card.contains("It is not an HDR VMAF"));
    let licence = m["adapter"]["licence"].as_str().unwrap();
    assert!(licence.contains("CC BY-NC-SA"), "{licence}");
    assert!(card.contains(licence));

    // The plots exist, are SVG, and carry the manifest's fold figures.
    let scatter = std::fs::read_to_string(out.join(format!("{id}_validation.svg"))).unwrap();
    let loss = std::fs::read_to_string(out.join(format!("{id}_loss.svg"))).unwrap();
    for svg in [&scatter, &loss] {
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    }
    // The RMSE on CHUG's native 0-100 scale, to one decimal.
    let native = &m["validation"]["native_rmse"]["shards"];
    let k = native["per_head_unit"].as_f64().unwrap();
    assert_eq!(k, 25.0);
    let pooled = &m["validation"]["pooled"];
    let caption = format!(
        "pooled: PLCC {}, SROCC {}, RMSE {:.1}, {} rows",
        f4(&pooled["head"]["plcc"]),
        f4(&pooled["head"]["srocc"]),
        pooled["head"]["rmse"].as_f64().unwrap() * k,
        pooled["n"]
    );
    assert!(
        scatter.contains(&caption),
        "{caption} not in the scatter plot"
    );
    assert!(scatter.contains("native 0-100") && scatter.contains("identity (y = x)"));
    // The prediction band, its half-width on the native scale.
    let pi = &m["prediction_intervals"];
    let band = format!(
        "{:.0}% prediction interval (conformal, prediction -/+ {:.1})",
        pi["coverage"].as_f64().unwrap() * 100.0,
        pi["half_width"].as_f64().unwrap() * k
    );
    assert!(scatter.contains(&band), "{band} not in the scatter plot");
    assert!(scatter.contains("<polygon"), "the band is drawn");
    for f in folds {
        let caption = format!(
            "fold {}: PLCC {}, RMSE {:.1}",
            f["fold"],
            f4(&f["head"]["plcc"]),
            f["head"]["rmse"].as_f64().unwrap() * k,
        );
        assert!(
            scatter.contains(&caption),
            "{caption} not in the scatter plot"
        );
        assert!(loss.contains(&format!("fold {}", f["fold"])));
    }
    assert!(scatter.matches("<circle").count() >= folds.len());
    assert!(loss.contains("ship model"));
    assert!(card.contains(&format!("]({id}_validation.svg)")));
    assert!(card.contains(&format!("]({id}_loss.svg)")));
}

#[test]
fn a_missed_gate_gives_a_proposed_sdr_card() {
    let d = tempfile::tempdir().unwrap();
    konvid_corpus(d.path(), 60, 3);
    // Not synthetic: the real gate, which 60 rows cannot pass (spread).
    train_konvid(d.path(), "out", &["--head", "linear"]).ok();
    let m = read_json(&d.path().join("out/konvid_mos_head_v1.json"));
    assert_eq!(m["gate"]["passed"], false);
    let card = std::fs::read_to_string(d.path().join("out/konvid_mos_head_v1_card.md")).unwrap();
    assert!(card.contains("\nStatus: Proposed\n"));
    assert!(card.contains("SDR only"));
    assert!(card.contains("**miss**"));
    assert!(card.contains("research use only"));
}

#[test]
fn export_regenerates_the_bundle_from_a_manifest() {
    let d = tempfile::tempdir().unwrap();
    synth_chug(d.path(), "200", "7");
    train_chug(d.path(), &["--head", "linear"]).ok();
    let id = "chug_hdr_mos_head_v1";
    let run = moshead(
        d.path(),
        &[
            "export",
            "--model",
            &format!("out/{id}.json"),
            "--out",
            "re",
            "--json",
        ],
    );
    let v = run.json();
    assert_eq!(v["model_id"], id);
    let outputs = v["outputs"].as_object().unwrap();
    assert_eq!(outputs.len(), 7, "{outputs:?}");
    for name in outputs.values() {
        let name = name.as_str().unwrap();
        assert_eq!(
            std::fs::read(d.path().join("out").join(name)).unwrap(),
            std::fs::read(d.path().join("re").join(name)).unwrap(),
            "{name}: re-export differs from the training run's"
        );
    }
    // Without the sidecar: everything but the scatter plot, and a warning.
    std::fs::remove_file(d.path().join(format!("re/{id}_validation.jsonl"))).unwrap();
    let run = moshead(
        d.path(),
        &[
            "export",
            "--model",
            &format!("re/{id}.json"),
            "--out",
            "re2",
        ],
    );
    assert!(run.ok().contains("exported to re2"));
    assert!(run.stderr.contains("no validation predictions"), "{run}");
    assert!(d.path().join(format!("re2/{id}.onnx")).exists());
    assert!(!d.path().join(format!("re2/{id}_validation.svg")).exists());
    let card = std::fs::read_to_string(d.path().join(format!("re2/{id}_card.md"))).unwrap();
    assert!(card.contains("no predicted-vs-MOS plot"));
    // A sidecar that is not the one the manifest records is refused.
    let sidecar = d.path().join(format!("out/{id}_validation.jsonl"));
    let text = std::fs::read_to_string(&sidecar).unwrap();
    std::fs::write(&sidecar, text.replacen("\"fold\":0", "\"fold\":0 ", 1)).unwrap();
    let run = moshead(d.path(), &["export", "--model", &format!("out/{id}.json")]);
    let err = run.fails(1);
    assert!(
        err.contains("validation.jsonl: sha256") && err.contains("the manifest records"),
        "{run}"
    );
}

#[test]
fn every_run_appends_a_ledger_line_and_ledger_lists_them() {
    let d = tempfile::tempdir().unwrap();
    konvid_corpus(d.path(), 80, 5);
    train_konvid(d.path(), "out", &["--head", "linear"]).ok();
    train_konvid(
        d.path(),
        "out",
        &[
            "--head",
            "linear",
            "--model-id",
            "konvid_second",
            "--seed",
            "9",
        ],
    )
    .ok();
    let ledger_path = d.path().join("out/ledger.jsonl");
    let text = std::fs::read_to_string(&ledger_path).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for (line, id) in lines.iter().zip(["konvid_mos_head_v1", "konvid_second"]) {
        assert_eq!(line["model_id"], id);
        assert_eq!(line["adapter"], "konvid");
        assert_eq!(line["feature_schema"], "konvid-v1");
        assert_eq!(line["validation"], "5-fold-grouped");
        let manifest = d.path().join("out").join(format!("{id}.json"));
        assert_eq!(line["manifest_sha256"], sha256(&manifest));
        let m = read_json(&manifest);
        assert_eq!(
            line["mean_plcc"],
            m["validation"]["aggregate"]["mean"]["plcc"]
        );
        assert_eq!(line["gate_passed"], m["gate"]["passed"]);
        // The pooled PLCC and the RMSE on each slot's native scale.
        let v = &m["validation"];
        assert_eq!(line["pooled_plcc"], v["pooled"]["head"]["plcc"]);
        let native = v["native_rmse"].as_object().unwrap();
        assert!(!native.is_empty(), "{v}");
        for (slot, n) in native {
            let l = &line["native_rmse"][slot];
            assert_eq!(l["scale"], "1-5", "{line}");
            assert_eq!(l["pooled_rmse"], n["pooled"], "{line}");
            assert_eq!(l["mean_rmse"], n["mean"], "{line}");
        }
        assert_eq!(line["outputs"]["onnx"], format!("{id}.onnx"));
        assert_eq!(line["recorded_at"].as_str().unwrap().len(), 20);
    }

    let table = moshead(d.path(), &["ledger", "--out", "out"]);
    let stdout = table.ok();
    assert!(stdout.starts_with("LINE"), "{stdout}");
    assert_eq!(stdout.lines().count(), 3, "{stdout}");
    for (id, line) in [("konvid_mos_head_v1", "1"), ("konvid_second", "2")] {
        let row = stdout.lines().find(|l| l.contains(id)).unwrap();
        assert!(row.starts_with(line), "{row}");
        assert!(row.contains("konvid@1.0.0") && row.contains("5-fold-grouped"));
        assert!(row.contains(" on 1-5 "), "{row}");
    }
    let json = moshead(d.path(), &["ledger", "--out", "out", "--json"]).json();
    assert_eq!(json["runs"].as_array().unwrap().len(), 2);
    assert_eq!(json["runs"][1]["line"], 2);
    let other = moshead(
        d.path(),
        &["ledger", "--out", "out", "-a", "chug-hdr", "--json"],
    )
    .json();
    assert_eq!(other["runs"].as_array().unwrap().len(), 0);
    // Neither --out nor --adapter is a usage error.
    moshead(d.path(), &["ledger"]).fails(2);

    // A malformed line is reported with file and line, never skipped.
    let mut text = text;
    text.push_str("{not json\n");
    std::fs::write(&ledger_path, text).unwrap();
    train_konvid(d.path(), "out", &["--head", "linear", "--force"]).ok();
    let run = moshead(d.path(), &["ledger", "--out", "out"]);
    let err = run.fails(1);
    assert!(
        err.contains("ledger.jsonl:3: malformed ledger line"),
        "{run}"
    );
    assert_eq!(run.stdout.lines().count(), 4, "{run}");
}
