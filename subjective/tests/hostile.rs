//! Hostile votes: each a counted drop (with its line) or a typed error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use moshead_subjective::{
    recover, DropReason, Scale, SubjectiveModel, VoteError, VoteIngest, VoteTableBuilder,
};

fn drop_of(ingest: &VoteIngest, reason: DropReason) -> (usize, Vec<u64>) {
    ingest
        .drops
        .iter()
        .find(|d| d.reason == reason)
        .map(|d| (d.count, d.examples.iter().map(|e| e.line).collect()))
        .unwrap_or((0, Vec::new()))
}

/// Three good subjects on three clips, then `extra` rows.
fn base(scale: Option<Scale>) -> VoteTableBuilder {
    let mut b = VoteTableBuilder::new(scale);
    b.wide_row(2, "c1", [("s1", "4"), ("s2", "5"), ("s3", "3")]);
    b.wide_row(3, "c2", [("s1", "2"), ("s2", "3"), ("s3", "2")]);
    b.wide_row(4, "c3", [("s1", "1"), ("s2", "2"), ("s3", "1")]);
    b
}

#[test]
fn a_non_number_is_a_counted_drop_with_its_line() {
    let mut b = base(None);
    b.wide_row(5, "c4", [("s1", "four"), ("s2", "NaN"), ("s3", "inf")]);
    b.wide_row(6, "c5", [("s1", "3"), ("s2", " 4 "), ("s3", "3.5")]);
    let (m, ingest) = b.finish().unwrap();
    assert_eq!(drop_of(&ingest, DropReason::NotANumber), (3, vec![5, 5, 5]));
    let ex = &ingest.drops[0].examples[0];
    assert_eq!(
        (ex.clip.as_str(), ex.subject.as_str(), ex.value.as_str()),
        ("c4", "s1", "four")
    );
    // c4 is left with no vote: dropped and counted too
    assert_eq!(drop_of(&ingest, DropReason::ClipNoVotes), (1, vec![5]));
    assert_eq!(m.clips(), ["c1", "c2", "c3", "c5"]);
    assert_eq!(ingest.read, 15);
    assert_eq!(ingest.kept, 12);
}

#[test]
fn a_subject_with_one_vote_is_dropped_whole() {
    let mut b = base(None);
    b.wide_row(
        5,
        "c4",
        [("s1", "3"), ("s2", "4"), ("s3", "3"), ("late", "5")],
    );
    let (m, ingest) = b.finish().unwrap();
    assert_eq!(drop_of(&ingest, DropReason::SubjectOneVote), (1, vec![5]));
    assert_eq!(ingest.dropped_subjects, ["late"]);
    assert_eq!(m.subjects(), ["s1", "s2", "s3"]);
    // and so never weighs as a perfect subject in the MLE
    let rec = recover(&m, SubjectiveModel::Mle);
    assert_eq!(rec.subjects.len(), 3);
    assert_eq!(rec.clips[3].votes, 3);
}

#[test]
fn a_clip_with_no_vote_is_a_counted_drop() {
    let mut b = base(None);
    b.wide_row(5, "silent", [("s1", ""), ("s2", " "), ("s3", "")]);
    let (m, ingest) = b.finish().unwrap();
    assert_eq!(drop_of(&ingest, DropReason::ClipNoVotes), (1, vec![5]));
    assert_eq!(ingest.dropped_clips, ["silent"]);
    assert_eq!(m.clips().len(), 3);
    for model in SubjectiveModel::ALL {
        assert_eq!(recover(&m, model).clips.len(), 3);
    }
}

#[test]
fn all_subjects_identical_is_a_clear_error() {
    let mut b = VoteTableBuilder::new(None);
    for (line, clip, v) in [(2, "c1", "4"), (3, "c2", "2"), (4, "c3", "5")] {
        b.wide_row(line, clip, [("s1", v), ("s2", v), ("s3", v)]);
    }
    let err = b.finish().unwrap_err();
    assert_eq!(
        err,
        VoteError::NoDisagreement {
            clips: 3,
            subjects: 3
        }
    );
    assert!(err.to_string().contains("same score"), "{err}");
}

#[test]
fn votes_outside_the_declared_scale_are_counted_drops() {
    let mut b = base(Some(Scale::new(1.0, 5.0).unwrap()));
    b.wide_row(5, "c4", [("s1", "0"), ("s2", "5.5"), ("s3", "70")]);
    b.wide_row(6, "c5", [("s1", "1"), ("s2", "5"), ("s3", "3")]);
    let (m, ingest) = b.finish().unwrap();
    assert_eq!(
        drop_of(&ingest, DropReason::OutsideScale),
        (3, vec![5, 5, 5])
    );
    assert_eq!(m.clips(), ["c1", "c2", "c3", "c5"]);
    // the bounds themselves are in the scale
    assert_eq!(m.votes_per_clip(), [3, 3, 3, 3]);
    assert!(matches!(
        Scale::new(5.0, 1.0),
        Err(VoteError::BadScale { .. })
    ));
    assert!(matches!(
        Scale::new(f64::NAN, 1.0),
        Err(VoteError::BadScale { .. })
    ));
}

#[test]
fn long_records_count_duplicates_and_empty_scores() {
    let mut b = VoteTableBuilder::new(None);
    let rows = [
        ("c1", "s1", "4"),
        ("c1", "s2", "5"),
        ("c1", "s1", "1"), // duplicate: the first is kept
        ("c2", "s1", "2"),
        ("c2", "s2", ""),
        ("c2", "s2", "3"),
    ];
    for (k, (c, s, v)) in rows.iter().enumerate() {
        b.long_record(k as u64 + 2, c, s, None, v);
    }
    let (m, ingest) = b.finish().unwrap();
    assert_eq!(drop_of(&ingest, DropReason::Duplicate), (1, vec![4]));
    assert_eq!(drop_of(&ingest, DropReason::EmptyScore), (1, vec![6]));
    assert_eq!(m.get(0, 0, 0), 4.0);
    // the same pair in two sessions is two votes
    let mut b = VoteTableBuilder::new(None);
    b.long_record(2, "c1", "s1", Some("a"), "4");
    b.long_record(3, "c1", "s1", Some("b"), "5");
    b.long_record(4, "c1", "s2", Some("a"), "3");
    b.long_record(5, "c2", "s2", Some("b"), "2");
    let (m, ingest) = b.finish().unwrap();
    assert!(ingest.drops.is_empty());
    assert_eq!(m.shape(), (2, 2, 2));
    assert_eq!(m.votes_per_clip(), [3, 1]);
}

#[test]
fn nothing_to_model_is_an_error() {
    let mut b = VoteTableBuilder::new(None);
    b.wide_row(2, "c1", [("s1", "x"), ("s2", "")]);
    assert_eq!(b.finish().unwrap_err(), VoteError::NoVotes { read: 1 });
    let mut b = VoteTableBuilder::new(None);
    b.wide_row(2, "c1", [("s1", "3"), ("s2", "4")]);
    b.wide_row(3, "c2", [("s1", "2"), ("s2", "")]);
    assert_eq!(
        b.finish().unwrap_err(),
        VoteError::TooFewSubjects { subjects: 1 }
    );
    assert_eq!(
        "median".parse::<SubjectiveModel>().unwrap_err(),
        VoteError::UnknownModel("median".into())
    );
    for m in SubjectiveModel::ALL {
        assert_eq!(m.name().parse::<SubjectiveModel>().unwrap(), m);
    }
}

#[test]
fn a_clip_with_a_single_vote_has_no_mean_interval() {
    let mut b = base(None);
    b.wide_row(5, "c4", [("s1", "3"), ("s2", ""), ("s3", "")]);
    let (m, _) = b.finish().unwrap();
    let rec = recover(&m, SubjectiveModel::Mean);
    assert_eq!(rec.clips[3].votes, 1);
    assert_eq!((rec.clips[3].std_err, rec.clips[3].ci95), (None, None));
    let sum = moshead_subjective::ci_width_summary(&rec).unwrap();
    assert!(sum.0 <= sum.1 && sum.1 <= sum.2 && sum.2 <= sum.3);
}
