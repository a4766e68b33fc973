//! The ridge and SVR heads against golden values from scikit-learn
//! (`host/tests/data/golden_heads.py`, which wraps libsvm for the SVR):
//! support vectors, dual coefficients, intercepts and predictions within
//! 1e-6.

use ndarray::Array2;
use serde_json::Value;

use super::ridge::{self, RidgeSelect, RidgeSelection, RidgeSpec};
use super::svr::{self, KernelKind, SvrScaling, SvrSpec, SvrType};
use crate::training::{HeadKind, HeadSpec, Standardizer, Status};

const FIXTURE: &str = include_str!("../../../tests/data/golden_heads.json");
const TOL: f64 = 1e-6;

fn fixture() -> Value {
    serde_json::from_str(FIXTURE).unwrap()
}

fn matrix(v: &Value) -> Array2<f64> {
    let rows: Vec<Vec<f64>> = serde_json::from_value(v.clone()).unwrap();
    let (n, f) = (rows.len(), rows[0].len());
    Array2::from_shape_vec((n, f), rows.into_iter().flatten().collect()).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    serde_json::from_value(v.clone()).unwrap()
}

fn close(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= TOL,
            "{what}[{i}]: moshead {g} vs scikit-learn {w} (diff {:e})",
            (g - w).abs()
        );
    }
}

#[test]
fn ridge_matches_ridgecv_leave_one_out_and_the_closed_form() {
    let d = fixture();
    let (x, y, xt) = (matrix(&d["x"]), floats(&d["y"]), matrix(&d["x_test"]));
    let idx: Vec<usize> = (0..x.nrows()).collect();
    let groups: Vec<u32> = (0..x.nrows() as u32).collect();
    let r = &d["ridge"];
    assert_eq!(ridge::ALPHA_GRID.values().len(), floats(&r["grid"]).len());
    close("grid", &ridge::ALPHA_GRID.values(), &floats(&r["grid"]));
    for (case, spec) in [
        (
            "loo",
            RidgeSpec {
                select: RidgeSelect::Loo,
                ..RidgeSpec::default()
            },
        ),
        (
            "fixed",
            RidgeSpec {
                alpha: Some(r["fixed"]["alpha"].as_f64().unwrap()),
                ..RidgeSpec::default()
            },
        ),
    ] {
        let want = &r[case];
        let fit = ridge::fit(&spec, x.view(), &y, &groups, &idx, 7).unwrap();
        assert_eq!(
            fit.record.alpha,
            want["alpha"].as_f64().unwrap(),
            "{case}: chosen penalty"
        );
        let f = x.ncols();
        close(
            &format!("{case} coef"),
            &fit.params[..f],
            &floats(&want["coef"]),
        );
        close(
            &format!("{case} intercept"),
            &fit.params[f..],
            &[want["intercept"].as_f64().unwrap()],
        );
        let xs = fit
            .standardizer
            .apply_rows(xt.view(), &(0..xt.nrows()).collect::<Vec<_>>());
        close(
            &format!("{case} predictions"),
            &ridge::decision(&fit.params, xs.view()),
            &floats(&want["predict_test"]),
        );
    }
    // One row per content: the automatic choice is leave-one-out.
    let auto = ridge::fit(&RidgeSpec::default(), x.view(), &y, &groups, &idx, 7).unwrap();
    assert_eq!(auto.record.selection, RidgeSelection::Loo);
}

#[test]
fn svr_matches_libsvm_for_both_formulations_and_kernels() {
    svr_cases(false);
}

/// With shrinking (another path than scikit-learn's `shrinking=False`),
/// the fixture's tolerance (1e-9) still leaves every value within 1e-6 of
/// libsvm's, the same support vectors included, and shrinking did happen.
#[test]
fn svr_with_shrinking_matches_libsvm_within_the_same_bound() {
    let shrunk = svr_cases(true);
    assert!(shrunk > 0, "no golden case shrank");
}

/// Checks every golden SVR case solved with or without shrinking; returns
/// the variables shrunk over all of them.
fn svr_cases(shrinking: bool) -> u64 {
    let mut shrunk = 0;
    let d = fixture();
    let (x, y, xt) = (matrix(&d["x"]), floats(&d["y"]), matrix(&d["x_test"]));
    let idx: Vec<usize> = (0..x.nrows()).collect();
    let tidx: Vec<usize> = (0..xt.nrows()).collect();
    for case in d["svr"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let p = &case["params"];
        let spec = SvrSpec {
            svm_type: if p["type"] == "nu" {
                SvrType::Nu
            } else {
                SvrType::Epsilon
            },
            kernel: if p["kernel"] == "rbf" {
                KernelKind::Rbf
            } else {
                KernelKind::Linear
            },
            c: p["c"].as_f64().unwrap(),
            gamma: p["gamma"].as_f64(),
            epsilon: p["epsilon"].as_f64().unwrap_or(0.1),
            nu: p["nu"].as_f64().unwrap_or(0.5),
            tol: p["tol"].as_f64().unwrap(),
            scaling: SvrScaling::Minmax,
            max_rows: 1000,
            // scikit-learn ran libsvm with shrinking=False: without it,
            // the same path.
            shrinking,
        };
        let fit = svr::fit(&spec, x.view(), &y, &idx, 1).unwrap();
        assert!(fit.solution.converged, "{name}");
        assert_eq!(fit.record.shrinking, shrinking, "{name}");
        shrunk += fit.solution.shrinking.shrunk;
        let f = x.ncols();
        let (rho, coef, sv) = svr::unpack(&fit.params, f).unwrap();
        let support: Vec<usize> = (0..x.nrows())
            .filter(|&i| fit.solution.coef[i] != 0.0)
            .collect();
        let want_support: Vec<usize> = serde_json::from_value(case["support"].clone()).unwrap();
        assert_eq!(support, want_support, "{name}: support vectors");
        close(
            &format!("{name} dual coef"),
            coef,
            &floats(&case["dual_coef"]),
        );
        close(
            &format!("{name} support vectors"),
            &sv.iter().copied().collect::<Vec<_>>(),
            &matrix(&case["support_vectors"])
                .iter()
                .copied()
                .collect::<Vec<_>>(),
        );
        close(
            &format!("{name} intercept"),
            &[-rho],
            &[case["intercept"].as_f64().unwrap()],
        );
        let xs = fit.standardizer.apply_rows(x.view(), &idx);
        let xts = fit.standardizer.apply_rows(xt.view(), &tidx);
        close(
            &format!("{name} train predictions"),
            &svr::decision(&fit.params, spec.kernel, &fit.record.widths(), xs.view()),
            &floats(&case["predict_train"]),
        );
        close(
            &format!("{name} test predictions"),
            &svr::decision(&fit.params, spec.kernel, &fit.record.widths(), xts.view()),
            &floats(&case["predict_test"]),
        );
    }
    shrunk
}

/// The head interface fits both heads and predicts clipped MOS; the
/// min-max scaling is recorded as the standardisation's affine map.
#[test]
fn heads_fit_through_the_spec_and_clip_to_the_mos_range() {
    let d = fixture();
    let (x, y) = (matrix(&d["x"]), floats(&d["y"]));
    let idx: Vec<usize> = (0..x.nrows()).collect();
    let groups: Vec<u32> = (0..x.nrows() as u32).map(|i| i / 4).collect();
    for kind in [HeadKind::Ridge, HeadKind::Svr] {
        let spec = HeadSpec::new(kind);
        let head = spec
            .fit(x.view(), &y, &groups, &idx, 3, &Status::silent())
            .unwrap();
        head.check_shape(x.ncols()).unwrap();
        let far = x.mapv(|v| v * 1e3);
        let pred = head.predict(far.view());
        assert!(
            pred.iter().all(|p| (1.0..=5.0).contains(p)),
            "{kind:?}: {pred:?}"
        );
        let again = spec
            .fit(x.view(), &y, &groups, &idx, 3, &Status::silent())
            .unwrap();
        assert_eq!(head, again, "{kind:?}: deterministic");
        if kind == HeadKind::Ridge {
            let r = head.spec.ridge.as_ref().unwrap();
            assert!(matches!(r.selection, RidgeSelection::GroupedFolds { k: 5 }));
            assert_eq!(head.spec.weight_decay, r.alpha / x.nrows() as f64);
        } else {
            let s = head.spec.svr.as_ref().unwrap();
            assert_eq!(s.gamma, 0.25, "1 / F");
            let mm = svr::minmax(x.view(), &idx);
            assert_eq!(head.standardizer, mm);
            let scaled: Standardizer = mm;
            let xs = scaled.apply_rows(x.view(), &idx);
            assert!(xs.iter().all(|v| (-1e-12..=1.0 + 1e-12).contains(v)));
        }
    }
}

#[test]
fn svr_caps_its_training_rows_and_refuses_bad_parameters() {
    let d = fixture();
    let (x, y) = (matrix(&d["x"]), floats(&d["y"]));
    let idx: Vec<usize> = (0..x.nrows()).collect();
    let spec = SvrSpec {
        max_rows: 20,
        ..SvrSpec::default()
    };
    let fit = svr::fit(&spec, x.view(), &y, &idx, 5).unwrap();
    assert_eq!(fit.rows, 20);
    assert!(fit.record.n_support <= 20);
    for bad in [
        SvrSpec {
            c: 0.0,
            ..SvrSpec::default()
        },
        SvrSpec {
            nu: 1.5,
            ..SvrSpec::default()
        },
        SvrSpec {
            gamma: Some(f64::NAN),
            ..SvrSpec::default()
        },
        SvrSpec {
            epsilon: -1.0,
            ..SvrSpec::default()
        },
    ] {
        assert!(svr::fit(&bad, x.view(), &y, &idx, 5).is_err(), "{bad:?}");
    }
    assert!(RidgeSpec {
        alpha: Some(-1.0),
        ..RidgeSpec::default()
    }
    .check()
    .is_err());
}
