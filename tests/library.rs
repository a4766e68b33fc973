//! The host as a library, the way an embedding application uses it: the
//! typed operations (ingest, train, predict, validate, export) give what
//! the `moshead` binary, a thin layer over them, prints and writes.

use std::path::Path;

use moshead::evaluation::folds::{self, Policy};
use moshead::export::{export, ExportRequest};
use moshead::ingest::{self, IngestRequest};
use moshead::manifest::Manifest;
use moshead::pipeline::{self, TrainRequest};
use moshead::registry::{Registry, SearchDir};
use moshead::scoring::{
    check_plugin, model_selector, predict, validate, PredictRequest, RecordFormat, ValidateRequest,
};
use moshead::selection::HeadChoice;
use moshead::training::{HeadKind, HeadSpec, Status};
use moshead::trust::TrustPolicy;
use moshead_e2e::*;
use serde_json::Value;

fn registry(name: &str) -> Registry {
    let plugins = builtin_plugin(name).parent().unwrap().to_owned();
    // Only the built plugins' directory (not the executable's, which holds
    // cargo's copies in `deps/` for a test binary).
    let dirs = [SearchDir {
        path: plugins,
        origin: "embedding application",
        explicit: true,
        ignored: None,
    }];
    let trust = TrustPolicy {
        allow_insecure: false,
        pins: None,
    };
    Registry::discover_named(&dirs, &trust, name).unwrap()
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn the_library_operations_give_what_the_binary_prints_and_writes() {
    let d = tempfile::tempdir().unwrap();
    let cwd = d.path();
    moshead(
        cwd,
        &[
            "train",
            "--adapter",
            "chug-hdr",
            "--demo",
            "--head",
            "ridge",
            "--out",
            "out",
        ],
    )
    .ok();
    let model = cwd.join("out/chug_hdr_mos_head_v1.json");
    let written = json(&model);

    // ingest + train: the same model as the binary's run.
    let reg = registry("chug-hdr");
    let m = Manifest::load(&model).unwrap();
    let adapter = reg.select(&model_selector(&m).unwrap()).unwrap();
    let silent = Status::silent();
    let demo = IngestRequest {
        demo: true,
        ..IngestRequest::default()
    };
    let loaded = ingest::load(adapter, &demo, &silent).unwrap();
    let ds = &loaded.dataset;
    let choice = HeadChoice::Fixed(HeadSpec::new(HeadKind::Ridge));
    let trained = pipeline::train(
        &TrainRequest {
            adapter,
            dataset: ds,
            report: &loaded.report,
            choice: &choice,
            policy: Policy {
                kind: folds::default_kind(ds),
                k: 5,
                repeats: 10,
                eval_fraction: 0.2,
                seed: folds::DEFAULT_SEED,
            },
            model_id: m.id.clone(),
            include_references: false,
            command_line: vec!["embedding-app".into()],
            coverage: 0.9,
        },
        &silent,
    )
    .unwrap();
    let lib = serde_json::to_value(&trained.manifest).unwrap();
    // The out-of-fold rows travel beside the manifest, one list per fold:
    // the sidecar the binary wrote holds the same rows.
    let sidecar =
        std::fs::read_to_string(cwd.join("out/chug_hdr_mos_head_v1_validation.jsonl")).unwrap();
    let rows: Vec<Value> = sidecar
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let folds = &trained.manifest.validation.folds;
    assert_eq!(trained.predictions.folds.len(), folds.len());
    let mut k = 0;
    for (f, oof) in folds.iter().zip(&trained.predictions.folds) {
        assert_eq!(oof.len(), f.n_eval);
        for r in oof {
            assert_eq!(rows[k]["fold"], f.fold);
            assert_eq!(rows[k]["id"], r.id.as_str());
            assert_eq!(rows[k]["prediction"], r.prediction);
            k += 1;
        }
    }
    assert_eq!(k, rows.len());
    for key in [
        "head",
        "standardization",
        "training",
        "validation",
        "gate",
        "data",
    ] {
        assert_eq!(lib[key], written[key], "{key}");
    }
    assert_eq!(lib["command_line"], serde_json::json!(["embedding-app"]));

    // predict: the records `moshead predict` prints, byte for byte.
    assert_eq!(check_plugin(adapter, &m, &model, false).unwrap(), None);
    let scored = predict(
        &PredictRequest {
            manifest: &m,
            model_path: &model,
            adapter,
            inputs: Vec::new(),
            demo: true,
            include_references: false,
            output: None,
        },
        &silent,
    )
    .unwrap();
    let mut records = Vec::new();
    scored.write(&mut records, RecordFormat::Jsonl).unwrap();
    let printed = moshead(
        cwd,
        &["predict", "--model", model.to_str().unwrap(), "--demo"],
    );
    assert_eq!(String::from_utf8(records).unwrap(), printed.ok());
    assert_eq!(scored.unlabelled(), 0);

    // validate: the held-out metrics and gate `moshead validate --json` prints.
    let held = validate(
        &ValidateRequest {
            manifest: &m,
            adapter,
            inputs: Vec::new(),
            demo: true,
        },
        &silent,
    )
    .unwrap();
    let printed = moshead(
        cwd,
        &[
            "validate",
            "--model",
            model.to_str().unwrap(),
            "--demo",
            "--json",
        ],
    )
    .json();
    assert_eq!(printed["test_rows"], held.test_rows);
    assert_eq!(
        printed["metrics"],
        serde_json::to_value(&held.metrics).unwrap()
    );
    assert_eq!(printed["gate"], serde_json::to_value(&held.gate).unwrap());

    // export: the model's set written again elsewhere, the manifest the same
    // bytes as the run's.
    let again = cwd.join("again");
    let done = export(&ExportRequest {
        model: &model,
        out: Some(&again),
        force: false,
        require_vmaf: false,
    })
    .unwrap();
    assert!(done.predictions_found);
    assert_eq!(done.onnx_changed, None);
    assert_eq!(
        std::fs::read(&done.bundle.manifest).unwrap(),
        std::fs::read(&model).unwrap()
    );
}
