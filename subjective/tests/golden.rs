//! Golden values from SUREAL 0.9.0 (and scipy for the quantiles), made by
//! `subjective/scripts/golden.py` on the committed synthetic studies.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use moshead_subjective::special::{chi2_quantile, student_t_quantile};
use moshead_subjective::{recover, Recovered, SubjectiveModel, VoteMatrix, VoteTableBuilder};
use serde_json::Value;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");

fn read(name: &str) -> String {
    std::fs::read_to_string(format!("{DATA}/{name}")).unwrap()
}

fn golden() -> Value {
    serde_json::from_str(&read("golden.json")).unwrap()
}

/// The fixtures are plain comma-separated tables without quoting.
fn table(name: &str) -> (Vec<String>, Vec<(u64, Vec<String>)>) {
    let text = read(name);
    let mut lines = text.lines();
    let header = lines.next().unwrap().split(',').map(String::from).collect();
    let rows = lines
        .enumerate()
        .map(|(k, l)| (k as u64 + 2, l.split(',').map(String::from).collect()))
        .collect();
    (header, rows)
}

fn wide(name: &str) -> VoteMatrix {
    wide_from(name, 1).0
}

/// A wide table whose votes start at column `first` (the columns before
/// are the clip and its attributes), with its rows.
fn wide_from(name: &str, first: usize) -> (VoteMatrix, Vec<(u64, Vec<String>)>) {
    let (header, rows) = table(name);
    let mut b = VoteTableBuilder::new(None);
    for (line, row) in &rows {
        b.wide_row(
            *line,
            &row[0],
            header[first..]
                .iter()
                .map(String::as_str)
                .zip(row[first..].iter().map(String::as_str)),
        );
    }
    let (m, ingest) = b.finish().unwrap();
    assert!(ingest.drops.is_empty(), "{:?}", ingest.drops);
    (m, rows)
}

fn long(name: &str) -> VoteMatrix {
    let (header, rows) = table(name);
    let session = header.iter().position(|h| h == "session");
    let score = header.iter().position(|h| h == "score").unwrap();
    let mut b = VoteTableBuilder::new(None);
    for (line, row) in &rows {
        b.long_record(
            *line,
            &row[0],
            &row[1],
            session.map(|k| row[k].as_str()),
            &row[score],
        );
    }
    let (m, ingest) = b.finish().unwrap();
    assert!(ingest.drops.is_empty(), "{:?}", ingest.drops);
    assert_eq!(ingest.read, rows.len());
    m
}

fn close(got: f64, want: f64, tol: f64, what: &str) {
    assert!(
        (got - want).abs() <= tol * want.abs().max(1.0),
        "{what}: got {got}, want {want} (tolerance {tol})"
    );
}

fn opt(v: &Value) -> Option<f64> {
    v.as_f64()
}

/// Checks `rec` against `golden[study][model]` with relative tolerance `tol`.
fn check(rec: &Recovered, g: &Value, tol: f64) {
    let gc = g["clips"].as_object().unwrap();
    assert_eq!(rec.clips.len(), gc.len());
    for c in &rec.clips {
        let w = &gc[&c.clip];
        let what = format!("{} clip {}", rec.model, c.clip);
        close(
            c.score,
            w["score"].as_f64().unwrap(),
            tol,
            &format!("{what} score"),
        );
        assert_eq!(c.votes as u64, w["votes"].as_u64().unwrap(), "{what} votes");
        match (c.std_err, opt(&w["std_err"])) {
            (Some(a), Some(b)) => close(a, b, tol, &format!("{what} std_err")),
            (a, b) => assert_eq!(a, b, "{what} std_err"),
        }
        match (c.ci95, opt(&w["ci95"])) {
            (Some(a), Some(b)) => close(a, b, tol, &format!("{what} ci95")),
            (a, b) => assert_eq!(a, b, "{what} ci95"),
        }
    }
    let gs = g["subjects"].as_object().unwrap();
    assert_eq!(rec.subjects.len(), gs.len());
    for s in &rec.subjects {
        let w = &gs[&s.subject];
        let what = format!("{} subject {}", rec.model, s.subject);
        match rec.model {
            SubjectiveModel::Mle => {
                let pairs = [
                    (s.bias, &w["bias"], "bias"),
                    (s.bias_std, &w["bias_std"], "bias_std"),
                    (s.inconsistency, &w["inconsistency"], "inconsistency"),
                    (
                        s.inconsistency_std,
                        &w["inconsistency_std"],
                        "inconsistency_std",
                    ),
                ];
                for (got, want, name) in pairs {
                    close(
                        got.unwrap(),
                        want.as_f64().unwrap(),
                        tol,
                        &format!("{what} {name}"),
                    );
                }
                let (lo, hi) = s.inconsistency_ci95.unwrap();
                close(
                    lo,
                    w["inconsistency_ci95"][0].as_f64().unwrap(),
                    tol,
                    &format!("{what} ci lo"),
                );
                close(
                    hi,
                    w["inconsistency_ci95"][1].as_f64().unwrap(),
                    tol,
                    &format!("{what} ci hi"),
                );
            }
            SubjectiveModel::Bt500 => {
                let sc = s.screening.as_ref().unwrap();
                assert_eq!(
                    sc.rejected,
                    w["rejected"].as_bool().unwrap(),
                    "{what} rejected"
                );
                close(
                    sc.first_stat,
                    w["first_stat"].as_f64().unwrap(),
                    1e-15,
                    &what,
                );
                assert_eq!(sc.second_stat, opt(&w["second_stat"]), "{what} second stat");
            }
            SubjectiveModel::Mean => {
                assert!(s.screening.is_none() && s.bias.is_none());
            }
        }
    }
    if rec.model == SubjectiveModel::Mle {
        assert_eq!(
            rec.iterations.unwrap() as u64,
            g["num_iter"].as_u64().unwrap()
        );
        assert!(rec.converged);
    }
}

/// Float precision for the means, SUREAL's figures to 1e-4 for the MLE (it
/// holds to 1e-9 here: the same operations in a different summation order).
fn tolerance(model: SubjectiveModel) -> f64 {
    match model {
        SubjectiveModel::Mle => 1e-9,
        _ => 1e-12,
    }
}

#[test]
fn wide_votes_match_sureal() {
    let g = golden();
    let m = wide("votes_wide.csv");
    assert_eq!(m.shape(), (40, 24, 1));
    for model in SubjectiveModel::ALL {
        check(&recover(&m, model), &g["a"][model.name()], tolerance(model));
    }
}

#[test]
fn long_votes_match_sureal_and_the_wide_table() {
    let g = golden();
    let m = long("votes_long.csv");
    let w = wide("votes_wide.csv");
    assert_eq!(m.shape(), w.shape());
    for model in SubjectiveModel::ALL {
        let rec = recover(&m, model);
        check(&rec, &g["a"][model.name()], tolerance(model));
    }
}

#[test]
fn sessions_match_sureal_repetitions() {
    let g = golden();
    let m = long("votes_sessions.csv");
    assert_eq!(m.shape(), (15, 8, 2));
    assert_eq!(m.sessions(), ["day1", "day2"]);
    for model in SubjectiveModel::ALL {
        check(&recover(&m, model), &g["b"][model.name()], tolerance(model));
    }
}

#[test]
fn bt500_rejects_the_random_voter_only_and_says_why() {
    let rec = recover(&wide("votes_wide.csv"), SubjectiveModel::Bt500);
    let rejected = rec.rejected();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].0, "s06");
    assert!(rejected[0].1.contains("> 0.05") && rejected[0].1.contains("< 0.3"));
    // the scores rest on the others' votes only
    let plain = recover(&wide("votes_wide.csv"), SubjectiveModel::Mean);
    let fewer = rec
        .clips
        .iter()
        .zip(&plain.clips)
        .filter(|(a, b)| a.votes < b.votes)
        .count();
    assert!(fewer > 30, "{fewer}");
}

#[test]
fn mle_recovers_the_generating_subjects() {
    let truth: Value = serde_json::from_str(&read("truth.json")).unwrap();
    let rec = recover(&wide("votes_wide.csv"), SubjectiveModel::Mle);
    let t = &truth["a"];
    let by: HashMap<&str, _> = rec
        .subjects
        .iter()
        .map(|s| (s.subject.as_str(), s))
        .collect();
    // the strongly biased subject has the largest bias, the erratic ones the
    // largest inconsistencies (s06 votes at random)
    let top_bias = rec
        .subjects
        .iter()
        .max_by(|a, b| a.bias.unwrap().total_cmp(&b.bias.unwrap()))
        .unwrap();
    assert_eq!(top_bias.subject, "s18");
    let mut by_v: Vec<_> = rec.subjects.iter().collect();
    by_v.sort_by(|a, b| {
        b.inconsistency
            .unwrap()
            .total_cmp(&a.inconsistency.unwrap())
    });
    let top2: Vec<&str> = by_v[..2].iter().map(|s| s.subject.as_str()).collect();
    assert!(top2.contains(&"s06") && top2.contains(&"s11"), "{top2:?}");
    // the others' inconsistencies within a factor 2 of the truth
    for (name, v) in t["inconsistency"].as_object().unwrap() {
        if name == "s06" || name == "s11" {
            continue;
        }
        let est = by[name.as_str()].inconsistency.unwrap();
        let v = v.as_f64().unwrap();
        assert!(est > v / 2.0 && est < v * 2.0, "{name}: {est} vs {v}");
    }
    // recovered scores track the truth better than the plain mean's
    let q = t["quality"].as_object().unwrap();
    let err = |r: &Recovered| -> f64 {
        r.clips
            .iter()
            .map(|c| (c.score - q[&c.clip].as_f64().unwrap()).powi(2))
            .sum::<f64>()
    };
    let plain = recover(&wide("votes_wide.csv"), SubjectiveModel::Mean);
    assert!(err(&rec) < err(&plain), "{} vs {}", err(&rec), err(&plain));
}

#[test]
fn quantiles_match_scipy() {
    let g = golden();
    let q = &g["quantiles"];
    for (df, want) in q["t975"].as_object().unwrap() {
        let df: f64 = df.parse().unwrap();
        close(
            student_t_quantile(0.975, df),
            want.as_f64().unwrap(),
            1e-11,
            &format!("t {df}"),
        );
    }
    for (key, p) in [("chi2_025", 0.025), ("chi2_975", 0.975)] {
        for (df, want) in q[key].as_object().unwrap() {
            let df: f64 = df.parse().unwrap();
            close(
                chi2_quantile(p, df),
                want.as_f64().unwrap(),
                1e-11,
                &format!("{key} {df}"),
            );
        }
    }
}

#[test]
fn differential_scores_match_sureal_dscore_mode() {
    let g = golden();
    let (m, rows) = wide_from("votes_dmos.csv", 3);
    assert_eq!(
        table("votes_dmos.csv").0[..3],
        ["clip", "content", "is_ref"]
    );
    assert_eq!(m.shape(), (30, 12, 1));
    let contents: Vec<String> = rows.iter().map(|(_, r)| r[1].clone()).collect();
    let refs: Vec<bool> = rows.iter().map(|(_, r)| r[2] == "1").collect();
    let d = moshead_subjective::differential(&m, &contents, &refs, 100.0).unwrap();
    for model in SubjectiveModel::ALL {
        let rec = recover(&d, model);
        check(&rec, &g["c"][model.name()], tolerance(model));
        if model == SubjectiveModel::Mean {
            // a reference clip's DMOS is the reference score itself
            for c in rec.clips.iter().filter(|c| c.clip.ends_with("_ref")) {
                close(c.score, 100.0, 1e-12, &c.clip);
            }
        }
    }
}
