use super::*;
use crate::labels::VoteLayout;
use crate::testing::Probe;
use crate::{ProjectorConfig, Split};

const GOOD: &str = r#"
name = "my-study"
version = "1.2.0"
description = "x264 ladder of 8 sources"
licence = "CC-BY 4.0, our lab"

[scale]
min = 0
max = 100

[columns]
id = "clip"
mos = "mos"
content = "src"
sd = "sd"
votes = "n"

[split]
test_contents = ["src8"]

[logs]
[labels]

[gate]
plcc_min = 0.6
rmse_max = 20
"#;

fn err(text: &str) -> StudyError {
    Study::parse(text, "s.toml").unwrap_err()
}

#[test]
fn the_example_and_a_study_derive_valid_descriptors() {
    let ex = Study::parse(EXAMPLE, "example").unwrap();
    assert_eq!(ex.descriptor(None).problems(), Vec::<String>::new());
    let s = Study::parse(GOOD, "s.toml").unwrap();
    let d = s.descriptor(None);
    assert_eq!(d.problems(), Vec::<String>::new());
    assert_eq!(d.name, "my-study");
    assert_eq!(d.model_id, "my_study_mos_head_v1");
    assert_eq!(d.licence, "CC-BY 4.0, our lab");
    assert_eq!(
        (d.mos_scale.native_min, d.mos_scale.native_max),
        (0.0, 100.0)
    );
    assert_eq!(d.content_group_key, "src");
    // The RMSE gate is declared on the native scale and kept on 1-5.
    assert_eq!(d.gate.real.rmse_max, Some(0.8));
    assert_eq!(d.gate.real.spread_max, None);
    let logs = d.slot("logs").unwrap();
    assert_eq!(logs.labels.as_ref().unwrap().key, ["clip"]);
    assert_eq!(d.default_schema, "vmaf-canonical-v1");
    assert_eq!(
        d.schema("vmaf-canonical-v1").unwrap().libvmaf_names.len(),
        6
    );
}

#[test]
fn rows_project_with_the_study_s_content_split_and_se() {
    let config = ProjectorConfig {
        study: Some(GOOD.into()),
        ..ProjectorConfig::default()
    };
    let probe = Probe::open::<StudyAdapter>(&config).unwrap();
    let raw = r#"{"clip":"src1_crf23","src":"src1","mos":75,"sd":10,"n":25,"adm2":0.9}"#;
    let r = probe.row("logs", raw).unwrap();
    assert_eq!(r.id.as_str(), "src1_crf23");
    assert_eq!(r.group.as_str(), "src1");
    assert_eq!(r.mos, 4.0);
    assert_eq!(r.mos_se.into_option(), Some(10.0 / 5.0 * 0.04));
    assert_eq!(r.split.into_option(), None, "grouped folds");
    let t = probe
        .row("logs", &raw.replace("\"src1\"", "\"src8\""))
        .unwrap();
    assert_eq!(
        t.split.into_option(),
        Some(Split::Test),
        "a named test content"
    );
    // Without its content a labelled row is a counted drop.
    let code = probe.code("logs", r#"{"clip":"a","mos":50}"#).unwrap();
    assert_eq!(code, crate::codes::MISSING_CONTENT);
}

#[test]
fn an_id_pattern_or_nothing_gives_the_contents() {
    let text = GOOD.replace("content = \"src\"\n", "") + "\n[contents]\nid_before_last = \"_\"\n";
    let config = ProjectorConfig {
        study: Some(text),
        ..ProjectorConfig::default()
    };
    let probe = Probe::open::<StudyAdapter>(&config).unwrap();
    let r = probe
        .row("logs", r#"{"clip":"src_a_crf23","mos":50}"#)
        .unwrap();
    assert_eq!(r.group.as_str(), "src_a");
    let each = Study::parse(&GOOD.replace("content = \"src\"\n", ""), "s").unwrap();
    assert_eq!(each.contents, ContentRule::EachRow);
    let card = each.descriptor(None).card.unwrap();
    assert!(card.limits.iter().any(|l| l == EACH_ROW_NOTE), "{card:?}");
}

#[test]
fn a_study_without_a_gate_declares_none() {
    let text = GOOD.replace("[gate]\nplcc_min = 0.6\nrmse_max = 20\n", "");
    assert!(!text.contains("[gate]"));
    let s = Study::parse(&text, "s.toml").unwrap();
    assert_eq!(s.gate, None);
    let d = s.descriptor(None);
    assert_eq!(d.problems(), Vec::<String>::new());
    assert!(
        d.gate.none_declared && d.gate.real.is_empty(),
        "{:?}",
        d.gate
    );
    assert_eq!(d.gate.synthetic, crate::builder::SYNTHETIC_GATE);
    // A declared gate is not `none_declared`; an empty `[gate]` is refused.
    assert!(
        !Study::parse(GOOD, "s.toml")
            .unwrap()
            .descriptor(None)
            .gate
            .none_declared
    );
    let e = err(&format!("{text}[gate]\n"));
    assert_eq!(e.key.as_deref(), Some("gate"), "{e}");
    assert!(e.reason.contains("gates no metric"), "{e}");
}

#[test]
fn hostile_study_files_name_file_line_and_key() {
    let e = err("name = \"x\"\ndescription = [");
    assert_eq!((e.file.as_str(), e.line), ("s.toml", 2), "{e}");
    let e = err(&GOOD.replace("[split]", "colour = 1\n[split]"));
    assert!(e.reason.contains("unknown field `colour`"), "{e}");
    assert_eq!(e.line, 18, "{e}: in [columns]");
    assert_eq!(e.key.as_deref(), Some("columns.colour"), "{e}");
    let e = err(&GOOD.replace("licence = \"CC-BY 4.0, our lab\"", "colour = 1"));
    assert_eq!((e.key.as_deref(), e.line), (Some("colour"), 5), "{e}");
    let e = err(&GOOD.replace("version = \"1.2.0\"", "model_id = \"../evil\""));
    assert_eq!(e.key.as_deref(), Some("model_id"), "{e}");
    assert_eq!(e.line, 3);
    let e = err(&GOOD.replace("max = 100", "max = -5"));
    assert!(e.reason.contains("inverted"), "{e}");
    assert_eq!((e.key.as_deref(), e.line), (Some("scale.max"), 9));
    let e = err(&GOOD.replace("max = 100", "max = 0"));
    assert!(e.reason.contains("empty"), "{e}");
    let e = err(&GOOD.replace("votes = \"n\"", "votes = \"sd\""));
    assert_eq!(e.key.as_deref(), Some("columns.votes"), "{e}");
    assert!(
        e.reason.contains("two roles: columns.sd and columns.votes"),
        "{e}"
    );
    let e = err(&GOOD.replace("[labels]", "[labels]\nformats = [\"xlsx\"]"));
    assert_eq!(e.key.as_deref(), Some("labels.formats"), "{e}");
    assert!(e.reason.contains("cannot read format `xlsx`"), "{e}");
    let e = err(&GOOD.replace("plcc_min = 0.6", "plcc_min = -0.6"));
    assert_eq!(
        (e.key.as_deref(), e.line),
        (Some("gate.plcc_min"), 25),
        "{e}"
    );
    assert!(e.reason.contains("negative"), "{e}");
    let e = err(&GOOD.replace("[logs]", "[votes]\nlayout = \"wide\"\nwide = true\n[logs]"));
    assert!(e.reason.contains("unknown field `wide`"), "{e}");
    assert_eq!(e.line, 23, "{e}");
    let e = err(&GOOD.replace("version = \"1.2.0\"", "format = 2"));
    assert!(e.reason.contains("study format 2"), "{e}");
    let shown = err(&GOOD.replace("max = 100", "max = 0")).to_string();
    assert!(shown.starts_with("s.toml:9: key `scale.max`: "), "{shown}");
}

/// [`GOOD`] with raw votes instead of a MOS, SD and vote count.
fn with_votes(votes: &str) -> String {
    GOOD.replace("mos = \"mos\"\n", "")
        .replace("sd = \"sd\"\nvotes = \"n\"\n", "split = \"part\"\n")
        .replace("[logs]", &format!("[votes]\n{votes}\n[logs]"))
}

#[test]
fn raw_votes_are_declared_wide_or_long() {
    let wide = Study::parse(&with_votes("layout = \"wide\""), "s.toml").unwrap();
    let d = wide.descriptor(None);
    assert_eq!(d.problems(), Vec::<String>::new());
    let join = d.slot("logs").unwrap().labels.clone().unwrap();
    let v = join.votes.unwrap();
    assert_eq!(v.layout, VoteLayout::Wide { subjects: vec![] });
    assert_eq!(v.score_key, "mos");
    assert_eq!(v.scale, Some((0.0, 100.0)));
    assert_eq!(
        v.keep,
        ["src", "part"],
        "content and split carried per clip"
    );
    let long = Study::parse(
        &with_votes("layout = \"long\"\nsubject = \"who\"\nscore = \"vote\"\nsession = \"day\""),
        "s.toml",
    )
    .unwrap();
    assert_eq!(
        long.votes.unwrap().layout,
        VoteLayout::Long {
            subject: "who".into(),
            score: "vote".into(),
            session: Some("day".into())
        }
    );
    // The recovered standard error is the row's, on the head's scale.
    let config = ProjectorConfig {
        study: Some(with_votes("layout = \"wide\"\nsubjects = [\"s1\", \"s2\"]")),
        ..ProjectorConfig::default()
    };
    let probe = Probe::open::<StudyAdapter>(&config).unwrap();
    let raw = r#"{"clip":"a_1","src":"a","mos":50,"votes_std_err":5,"adm2":0.9}"#;
    let r = probe.row("logs", raw).unwrap();
    assert_eq!(r.mos, 3.0);
    assert_eq!(r.mos_se.into_option(), Some(5.0 * 0.04));
}

#[test]
fn hostile_vote_declarations_name_line_and_key() {
    let cases: [(String, &str, &str); 7] = [
        (
            with_votes("layout = \"tall\""),
            "votes.layout",
            "no vote layout",
        ),
        (
            with_votes("layout = \"long\"\nscore = \"v\""),
            "votes.subject",
            "is missing",
        ),
        (
            with_votes("layout = \"wide\"\nsubject = \"who\""),
            "votes.subject",
            "not read for a wide",
        ),
        (
            with_votes("layout = \"wide\"\nsubjects = [\"src\"]"),
            "votes.subjects",
            "two roles: columns.content and votes.subjects",
        ),
        (
            with_votes("layout = \"long\"\nsubject = \"v\"\nscore = \"v\""),
            "votes.score",
            "two roles: votes.subject and votes.score",
        ),
        (
            with_votes("layout = \"wide\"").replace("split = \"part\"", "ci95 = \"ci\""),
            "columns.ci95",
            "recovers each clip's confidence",
        ),
        (
            with_votes("layout = \"wide\"").replace("[logs]\n", ""),
            "votes",
            "declare `[logs]`",
        ),
    ];
    for (text, key, needle) in cases {
        let e = err(&text);
        assert_eq!(e.key.as_deref(), Some(key), "{e}");
        assert!(e.reason.contains(needle), "{e}");
        let line = text.lines().nth(e.line - 1).unwrap_or_default();
        let leaf = key.rsplit('.').next().unwrap_or(key);
        // A missing key is reported at its table's header.
        let header = e.reason.contains("missing") && line == "[votes]";
        assert!(line.contains(leaf) || header, "{e}: line {line:?}");
    }
    // Without votes the MOS column is required.
    let e = err(&GOOD.replace("mos = \"mos\"\n", ""));
    assert_eq!(e.key.as_deref(), Some("columns.mos"), "{e}");
}

#[test]
fn differential_scores_need_the_content_the_references_and_a_ref_score() {
    let with = |votes: &str, reference: bool| {
        let t = with_votes(votes);
        if reference {
            t.replace(
                "split = \"part\"\n",
                "split = \"part\"\nreference = \"is_ref\"\n",
            )
        } else {
            t
        }
    };
    let s = Study::parse(
        &with("layout = \"wide\"\ndmos = true\nref_score = 100", true),
        "s.toml",
    )
    .unwrap();
    let v = s.votes.unwrap();
    assert_eq!(
        v.differential,
        Some(crate::labels::Differential {
            content: "src".into(),
            reference: "is_ref".into(),
            ref_score: 100.0
        })
    );
    assert!(v.keep.contains(&"is_ref".to_owned()), "{:?}", v.keep);
    // Absent, or `dmos = false`: absolute scores.
    let plain = Study::parse(&with("layout = \"wide\"", true), "s.toml").unwrap();
    assert_eq!(plain.votes.unwrap().differential, None);
    for (votes, reference, key, says) in [
        (
            "dmos = true\nref_score = 100",
            false,
            "votes.dmos",
            "`columns.reference`",
        ),
        ("dmos = true", true, "votes.ref_score", "is missing"),
        (
            "ref_score = 100",
            true,
            "votes.ref_score",
            "add `dmos = true`",
        ),
        (
            "dmos = true\nref_score = 101",
            true,
            "votes.ref_score",
            "not on the study's scale 0-100",
        ),
    ] {
        let e = err(&with(&format!("layout = \"wide\"\n{votes}"), reference));
        assert_eq!(e.key.as_deref(), Some(key), "{e}");
        assert!(e.reason.contains(says), "{e}");
    }
    let pattern = with("layout = \"wide\"\ndmos = true\nref_score = 100", true)
        .replace("content = \"src\"\n", "")
        .replace("[split]", "[contents]\nid_before_last = \"_\"\n[split]");
    let e = err(&pattern);
    assert!(e.reason.contains("name the content column"), "{e}");
}
