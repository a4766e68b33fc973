//! Raw votes as labels, end to end: a study whose labels table holds
//! per-subject votes (wide, or long with sessions) trains through the real
//! binary; the recovered score is the MOS the head trains on and the
//! sidecar's `mos_native`, the model is chosen by `--subjective-model` and
//! recorded in the manifest and card, and `moshead corpus` reports the
//! subjective side.

use std::collections::HashMap;
use std::path::Path;

use moshead_e2e::*;
use moshead_subjective::{recover, Recovered, SubjectiveModel, VoteTableBuilder};
use serde_json::Value;

use crate::corpus::jsonl;
use crate::export::read_json;

pub(crate) const CLIPS: usize = 24;
const SUBJECTS: usize = 10;

/// A deterministic stream in [0, 1).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The votes: `votes[clip][subject]`, `None` missing; one subject (`s10`)
/// votes at random, each subject has a bias and a noise level.
fn votes() -> Vec<Vec<Option<f64>>> {
    let mut r = Lcg(7);
    let bias: Vec<f64> = (0..SUBJECTS).map(|_| r.next() - 0.5).collect();
    let noise: Vec<f64> = (0..SUBJECTS).map(|_| 0.2 + 0.4 * r.next()).collect();
    let mut v: Vec<Vec<Option<f64>>> = (0..CLIPS)
        .map(|j| {
            let q = 1.5 + 3.0 * quality(j);
            (0..SUBJECTS)
                .map(|i| {
                    if r.next() < 0.12 {
                        return None;
                    }
                    let e = r.next() + r.next() + r.next() - 1.5;
                    let v = if i == SUBJECTS - 1 {
                        1.0 + 4.0 * r.next()
                    } else {
                        q + bias[i] + 2.0 * noise[i] * e
                    };
                    Some((v.clamp(1.0, 5.0) * 10.0).round() / 10.0)
                })
                .collect()
        })
        .collect();
    // the wide table writes this one as `n/a`
    v[3][0] = None;
    v
}

pub(crate) fn quality(j: usize) -> f64 {
    ((j * 7) % CLIPS) as f64 / (CLIPS - 1) as f64
}

pub(crate) fn clip(j: usize) -> String {
    format!("c{j:02}")
}

fn subject(i: usize) -> String {
    format!("s{:02}", i + 1)
}

/// A libvmaf log of clip `j` (three frames, features rising with quality).
pub(crate) fn write_log(dir: &Path, j: usize) {
    let q = quality(j);
    let frames: Vec<String> = (0..3)
        .map(|f| {
            let d = f as f64 * 0.01;
            format!(
                r#"{{"frameNum":{f},"metrics":{{"integer_adm2":{},"integer_vif_scale0":{},"integer_vif_scale1":{},"integer_vif_scale2":{},"integer_vif_scale3":{},"integer_motion2":{}}}}}"#,
                0.6 + 0.4 * q + d,
                0.2 + 0.5 * q + d,
                0.4 + 0.4 * q,
                0.5 + 0.4 * q - d,
                0.6 + 0.3 * q,
                8.0 - 6.0 * q + (j % 3) as f64
            )
        })
        .collect();
    let log = format!(
        r#"{{"version":"2.3.1","fps":25,"frames":[{}]}}"#,
        frames.join(",")
    );
    std::fs::write(dir.join(format!("{}.json", clip(j))), log).unwrap();
}

/// Writes the logs, `votes.csv` (wide, with one unreadable vote) and
/// `votes_long.csv` (the same votes, long, in two sessions).
fn study(cwd: &Path) -> Vec<Vec<Option<f64>>> {
    let v = votes();
    std::fs::create_dir_all(cwd.join("logs")).unwrap();
    for j in 0..CLIPS {
        write_log(&cwd.join("logs"), j);
    }
    let mut wide = String::from("clip,src");
    for i in 0..SUBJECTS {
        wide.push_str(&format!(",{}", subject(i)));
    }
    wide.push('\n');
    let mut long = String::from("clip,src,subject,session,score\n");
    for (j, row) in v.iter().enumerate() {
        let src = format!("src{}", j / 4);
        wide.push_str(&format!("{},{src}", clip(j)));
        for (i, vote) in row.iter().enumerate() {
            let cell = match vote {
                Some(x) => format!("{x}"),
                None if j == 3 && i == 0 => "n/a".to_owned(),
                None => String::new(),
            };
            wide.push_str(&format!(",{cell}"));
            if let Some(x) = vote {
                let session = if i % 2 == 0 { "one" } else { "two" };
                long.push_str(&format!("{},{src},{},{session},{x}\n", clip(j), subject(i)));
            }
        }
        wide.push('\n');
    }
    std::fs::write(cwd.join("votes.csv"), wide).unwrap();
    std::fs::write(cwd.join("votes_long.csv"), long).unwrap();
    v
}

/// What the crate recovers from the same votes (sessions do not change a
/// model when no subject rates a clip twice).
fn expected(v: &[Vec<Option<f64>>], model: SubjectiveModel) -> HashMap<String, f64> {
    recovered(v, model)
        .clips
        .into_iter()
        .map(|c| (c.clip, c.score))
        .collect()
}

/// The manifest and validation rows of model `id` trained in `out` on the
/// votes `v` under `model`: the manifest records the subjective model and
/// every clip, and each row's native MOS is the score `model` recovers.
fn recovered_run(
    out: &Path,
    id: &str,
    v: &[Vec<Option<f64>>],
    model: SubjectiveModel,
) -> (Value, Vec<Value>) {
    let m = read_json(&out.join(format!("{id}.json")));
    let rec = &m["data"]["subjective"][0];
    assert_eq!(rec["model"], model.name(), "{rec}");
    assert_eq!(rec["clips"], CLIPS as u64, "{rec}");
    let want = expected(v, model);
    let rows = jsonl(&out.join(format!("{id}_validation.jsonl")));
    assert_eq!(rows.len(), CLIPS);
    for r in &rows {
        let id = r["id"].as_str().unwrap();
        let got = r["mos_native"].as_f64().unwrap();
        assert!((got - want[id]).abs() < 1e-9, "{id}: {got} vs {}", want[id]);
    }
    (m, rows)
}

/// The crate's whole account of the votes under `model`.
fn recovered(v: &[Vec<Option<f64>>], model: SubjectiveModel) -> Recovered {
    let mut b = VoteTableBuilder::new(None);
    for (j, row) in v.iter().enumerate() {
        let cells: Vec<(String, String)> = row
            .iter()
            .enumerate()
            .map(|(i, x)| (subject(i), x.map(|x| x.to_string()).unwrap_or_default()))
            .collect();
        b.wide_row(
            j as u64 + 2,
            &clip(j),
            cells.iter().map(|(s, c)| (s.as_str(), c.as_str())),
        );
    }
    let (m, _) = b.finish().unwrap();
    recover(&m, model)
}

#[test]
fn a_study_with_wide_and_with_long_votes_trains_on_the_recovered_mos() {
    let plugins = plugin_dir(&[fixture_lib("votes-study")]);
    let pdir = plugins.path().to_str().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let v = study(cwd);
    let wide = [
        "--plugin-dir",
        pdir,
        "-a",
        "votes-study",
        "-i",
        "logs=logs",
        "-i",
        "votes=votes.csv",
    ];
    let long = [
        "--plugin-dir",
        pdir,
        "-a",
        "votes-study",
        "-i",
        "logs-long=logs",
        "-i",
        "votes-long=votes_long.csv",
    ];

    // corpus: the subjective side, and the unreadable vote counted at its line
    let mut args = vec!["corpus"];
    args.extend_from_slice(&wide);
    args.push("--json");
    let r = moshead(cwd, &args).json();
    assert_eq!(r["rows"], CLIPS as u64, "{r}");
    let s = &r["subjective"][0];
    assert_eq!(
        (&s["model"], &s["clips"], &s["subjects"]),
        (
            &Value::from("mle"),
            &Value::from(CLIPS),
            &Value::from(SUBJECTS)
        )
    );
    assert_eq!(r["drops"]["vote-not-a-number"]["count"], 1, "{r}");
    let ex = r["drops"]["vote-not-a-number"]["examples"][0]
        .as_str()
        .unwrap();
    assert!(
        ex.starts_with("votes.csv:5: ") && ex.contains("`n/a`"),
        "{ex}"
    );
    // for people: the model, the CI95 widths, who BT.500 rejects and why
    let mut args = vec!["corpus"];
    args.extend_from_slice(&wide);
    args.extend(["--subjective-model", "bt500"]);
    let text = moshead(cwd, &args).ok().to_owned();
    assert!(text.contains("votes (votes): model bt500"), "{text}");
    assert!(text.contains("CI95 width per clip: min"), "{text}");
    // whoever BT.500 rejects (the crate's own tests check the rule against
    // SUREAL), with why; none here: ten subjects per clip are too few for
    // one random voter to pass the kurtosis-based test
    let bt500 = recovered(&v, SubjectiveModel::Bt500);
    let rejected = text.matches("subject rejected: ").count();
    assert_eq!(rejected, bt500.rejected().len(), "{text}");
    for (who, why) in bt500.rejected() {
        assert!(
            text.contains(&format!("subject rejected: {who}: {why}")),
            "{text}"
        );
    }

    // train on the wide votes (the default model) and on the long ones (bt500)
    for (inputs, model, out) in [
        (&wide[..], SubjectiveModel::Mle, "out-wide"),
        (&long[..], SubjectiveModel::Bt500, "out-long"),
    ] {
        let mut args = vec!["train"];
        args.extend_from_slice(inputs);
        if model != SubjectiveModel::Mle {
            args.extend(["--subjective-model", model.name()]);
        }
        args.extend([
            "--out",
            out,
            "--quiet",
            "--validation",
            "kfold",
            "--folds",
            "3",
            "--head",
            "linear",
        ]);
        moshead(cwd, &args).ok();
        recovered_run(&cwd.join(out), "votes_study_v1", &v, model);
        let card =
            std::fs::read_to_string(cwd.join(format!("{out}/votes_study_v1_card.md"))).unwrap();
        assert!(
            card.contains(&format!("with the `{}` subjective model", model.name())),
            "{card}"
        );
    }
    // the models differ: the MLE weights the random voter down
    let (mle, bt) = (
        expected(&v, SubjectiveModel::Mle),
        expected(&v, SubjectiveModel::Bt500),
    );
    assert!(mle.iter().any(|(k, x)| (x - bt[k]).abs() > 1e-3));
}

#[test]
fn a_vote_table_nothing_can_be_modelled_from_is_refused_by_name() {
    let plugins = plugin_dir(&[fixture_lib("votes-study")]);
    let pdir = plugins.path().to_str().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    study(cwd);
    std::fs::write(
        cwd.join("copied.csv"),
        "clip,src,a,b\nc00,x,3,3\nc01,x,4,4\n",
    )
    .unwrap();
    let corpus = |votes: &str, extra: &[&str]| {
        let mut args = vec!["corpus", "--plugin-dir", pdir, "-a", "votes-study"];
        args.extend(["-i", "logs=logs", "-i", votes]);
        args.extend_from_slice(extra);
        moshead(cwd, &args)
    };
    let run = corpus("votes=copied.csv", &[]);
    let e = run.fails(1);
    assert!(e.contains("copied.csv") && e.contains("same score"), "{e}");
    let run = corpus("votes=votes.csv", &["--subjective-model", "median"]);
    let e = run.fails(2);
    assert!(
        e.contains("median") && e.contains("mean, bt500, mle"),
        "{e}"
    );
}

/// A study file over the generated logs and the vote table `labels`, its
/// `[votes]` table `votes`.
fn study_file(labels: &str, votes: &str, content: &str) -> String {
    format!(
        r#"name = "voted"
description = "the votes test's study, declared in a study file"
licence = "Test-suite study."
[scale]
min = 1
max = 5
[columns]
id = "clip"
{content}
[votes]
{votes}
[logs]
path = "logs"
[labels]
path = "{labels}"
[gate]
plcc_min = 0.5
"#
    )
}

/// Trains a linear head on `study` (3 grouped folds) with `model` into
/// `out`; the summary.
fn train_votes(cwd: &Path, study: &str, model: SubjectiveModel, out: &str) -> String {
    let args = [
        "train",
        "--adapter",
        study,
        "--subjective-model",
        model.name(),
        "--validation",
        "kfold",
        "--folds",
        "3",
        "--head",
        "linear",
        "--out",
        out,
    ];
    moshead(cwd, &args).ok().to_owned()
}

#[test]
fn a_study_file_with_wide_and_with_long_votes_trains_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let v = study(cwd);
    std::fs::write(
        cwd.join("wide.toml"),
        study_file("votes.csv", "layout = \"wide\"", "content = \"src\""),
    )
    .unwrap();
    std::fs::write(
        cwd.join("long.toml"),
        study_file(
            "votes_long.csv",
            "layout = \"long\"\nsubject = \"subject\"\nscore = \"score\"\nsession = \"session\"",
            "", // no content: every clip is its own
        ),
    )
    .unwrap();
    for (study, model) in [
        ("./wide.toml", SubjectiveModel::Mle),
        ("./long.toml", SubjectiveModel::Mean),
    ] {
        let out = format!("out-{}", &study[2..6]);
        let summary = train_votes(cwd, study, model, &out);
        let each_row = study == "./long.toml";
        assert_eq!(
            summary.contains("contents: every row is its own content"),
            each_row,
            "{summary}"
        );
        // The recovered score is the MOS; the clips are grouped by source.
        let (m, rows) = recovered_run(&cwd.join(out), "voted_mos_head_v1", &v, model);
        let rec = &m["data"]["subjective"][0];
        assert_eq!(rec["subjects"], SUBJECTS as u64, "{rec}");
        assert_eq!(m["adapter"]["name"], "voted");
        for r in &rows {
            let id = r["id"].as_str().unwrap();
            let j: usize = id[1..].parse().unwrap();
            let group = if each_row {
                id.to_owned()
            } else {
                format!("src{}", j / 4)
            };
            assert_eq!(r["group"], group, "{r}");
        }
    }
}

/// SUREAL's own differential-score fixture (`subjective/scripts/golden.py`,
/// study C: six contents, each a rated reference and four distortions).
const DMOS_VOTES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../subjective/tests/data/votes_dmos.csv"
);
const DMOS_GOLDEN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../subjective/tests/data/golden.json"
);

#[test]
fn a_study_with_differential_scores_trains_on_sureal_s_dmos() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    std::fs::copy(DMOS_VOTES, cwd.join("dmos.csv")).unwrap();
    let text = std::fs::read_to_string(DMOS_VOTES).unwrap();
    let clips: Vec<&str> = text
        .lines()
        .skip(1)
        .map(|l| &l[..l.find(',').unwrap()])
        .collect();
    std::fs::create_dir_all(cwd.join("logs")).unwrap();
    for (j, c) in clips.iter().enumerate() {
        write_log(&cwd.join("logs"), j % CLIPS);
        let from = cwd.join("logs").join(format!("{}.json", clip(j % CLIPS)));
        std::fs::rename(from, cwd.join("logs").join(format!("{c}.json"))).unwrap();
    }
    let study = study_file(
        "dmos.csv",
        "layout = \"wide\"\ndmos = true\nref_score = 100",
        "content = \"content\"\nreference = \"is_ref\"",
    )
    .replace("min = 1\nmax = 5", "min = 0\nmax = 100");
    std::fs::write(cwd.join("dmos.toml"), study).unwrap();
    let golden: Value =
        serde_json::from_str(&std::fs::read_to_string(DMOS_GOLDEN).unwrap()).unwrap();

    // `corpus` says the scores are differential.
    let corpus = moshead(cwd, &["corpus", "--adapter", "./dmos.toml"])
        .ok()
        .to_owned();
    assert!(
        corpus.contains("Differential scores (DMOS, as SUREAL's): every vote + 100 - the MOS of its content's reference clip"),
        "{corpus}"
    );
    for model in SubjectiveModel::ALL {
        let out = format!("out-{}", model.name());
        train_votes(cwd, "./dmos.toml", model, &out);
        let dir = cwd.join(&out);
        let m = read_json(&dir.join("voted_mos_head_v1.json"));
        assert_eq!(
            m["data"]["subjective"][0]["differential"], 100.0,
            "{}",
            m["data"]
        );
        // The references are dropped as reference rows; every other clip
        // trains on SUREAL's DMOS under the same model.
        let rows = jsonl(&dir.join("voted_mos_head_v1_validation.jsonl"));
        assert_eq!(rows.len(), 24, "{}", m["data"]);
        let want = &golden["c"][model.name()]["clips"];
        for r in &rows {
            let id = r["id"].as_str().unwrap();
            assert!(!id.ends_with("_ref"), "{r}");
            let got = r["mos_native"].as_f64().unwrap();
            let w = want[id]["score"].as_f64().unwrap();
            assert!((got - w).abs() < 1e-6, "{model} {id}: {got} vs SUREAL {w}");
            assert_eq!(r["group"], id[..2].to_owned(), "{r}");
        }
        let card = std::fs::read_to_string(dir.join("voted_mos_head_v1_card.md")).unwrap();
        assert!(
            card.contains("Differential scores (DMOS, as SUREAL's)"),
            "{card}"
        );
    }

    // A content without its reference clip is refused, naming the content.
    let no_ref = text.replace("c3_ref,c3,1,", "c3_ref,c3,0,");
    std::fs::write(cwd.join("dmos.csv"), no_ref).unwrap();
    let e = moshead(cwd, &["corpus", "--adapter", "./dmos.toml"])
        .fails(1)
        .to_owned();
    assert!(
        e.contains(
            "differential scores (DMOS): content `c3`: no reference clip among the rated clips"
        ),
        "{e}"
    );
}
