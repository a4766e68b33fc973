//! Golden projections of hand-written CHUG rows.

use super::*;
use moshead_sdk::export::open_generic;
use moshead_sdk::testing::Probe;
use moshead_sdk::{FfiOutcome, FfiRow, ProjectorConfig};

fn row(config: &ProjectorConfig, raw: &str) -> FfiRow {
    Probe::open::<ChugHdr>(config)
        .unwrap()
        .row("shards", raw)
        .unwrap()
}

fn code(config: &ProjectorConfig, raw: &str) -> String {
    Probe::open::<ChugHdr>(config)
        .unwrap()
        .code("shards", raw)
        .unwrap()
}

#[test]
fn passes_the_conformance_checks() {
    let report = moshead_conformance::check_adapter::<ChugHdr>();
    assert!(report.passed(), "{report}");
}

#[test]
fn descriptor_is_valid_and_schemas_have_documented_widths() {
    let d = ChugHdr::descriptor();
    assert_eq!(d.problems(), Vec::<String>::new());
    assert_eq!(d.schema("chug-hdr-wide-v1").unwrap().columns.len(), 34);
    assert_eq!(d.schema("chug-hdr-display-v1").unwrap().columns.len(), 45);
    assert_eq!(d.schema("konvid-v1").unwrap().columns.len(), 11);
    assert_eq!(d.default_schema, "chug-hdr-wide-v1");
    assert_eq!(d.corpus_tags(), vec!["chug".to_string()]);
    let wide = &d.schema("chug-hdr-wide-v1").unwrap().columns;
    assert_eq!(wide[6], "adm2_p10");
    assert_eq!(wide[23], "motion2_std");
    assert_eq!(wide[24], "chug_bitrate_mbps");
    assert_eq!(wide[33], "feature_bitdepth_norm");
}

#[test]
fn golden_wide_projection() {
    let r = row(&ProjectorConfig::default(), SAMPLE);
    let expected = [
        0.93,
        0.61,
        0.8,
        0.86,
        0.9,
        6.1, // canonical, vif_scale0 via _mean
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0, // stats: filled
        2.0,
        0.0,
        0.0, // bitrate, landscape, chug_ref
        1280.0 / 3840.0,
        720.0 / 2160.0,
        1920.0 / 3840.0,
        1080.0 / 2160.0,
        9.8 / 60.0,
        294.0 / 1800.0,
        0.5,
    ];
    assert_eq!(r.features.as_slice(), &expected);
    assert_eq!(r.filled.as_slice(), &(6..24).collect::<Vec<u32>>()[..]);
    assert_eq!(r.mos, 3.2, "`mos` wins over the raw 0-100 value");
    assert_eq!(
        r.mos_se.into_option(),
        Some(0.1),
        "2.5 on 0-100 is 0.1 on 1-5"
    );
    assert_eq!(r.group.as_str(), "content_1");
    assert_eq!(r.id.as_str(), "v001");
    assert_eq!(
        r.split.into_option(),
        Some(Split::Train),
        "content_1 hashes to train"
    );
    assert_eq!(r.split_origin, SplitOrigin::Policy);
    assert_eq!(r.baseline_key.into_option().unwrap().as_str(), "720p_2M_");
}

#[test]
fn raw_mos_is_mapped_and_explicit_split_kept() {
    let raw = r#"{"corpus":"chug","chug_video_id":"x","chug_content_name":"content_40","mos_raw_0_100":50,"split":"Val","chug_bitrate_label":"500K","chug_orientation":"Portrait-9x16"}"#;
    let r = row(&ProjectorConfig::default(), raw);
    assert_eq!(r.mos, 3.0);
    assert_eq!(r.split.into_option(), Some(Split::Val));
    assert_eq!(r.split_origin, SplitOrigin::Explicit);
    assert_eq!(r.features[24], 0.5);
    assert_eq!(r.features[25], 1.0);
}

#[test]
fn guards_and_drop_reasons() {
    let c = ProjectorConfig::default();
    let k = r#"{"corpus":"konvid-1k","chug_video_id":"x","chug_content_name":"a","mos":3}"#;
    assert_eq!(code(&c, k), codes::FOREIGN_CORPUS);
    assert_eq!(code(&c, SAMPLE_REF), codes::REFERENCE_ROW);
    let keep = ProjectorConfig {
        include_references: true,
        ..Default::default()
    };
    assert_eq!(row(&keep, SAMPLE_REF).mos, 1.0 + 4.0 * 0.62);
    let no_tag = r#"{"chug_video_id":"x","chug_content_name":"a","mos":3}"#;
    assert_eq!(code(&c, no_tag), codes::MISSING_CORPUS_TAG);
    let no_content = r#"{"corpus":"chug","chug_video_id":"x","mos":3}"#;
    assert_eq!(code(&c, no_content), codes::MISSING_CONTENT);
    let wrong_scale = r#"{"corpus":"chug","chug_video_id":"x","chug_content_name":"a","mos":55.0}"#;
    assert_eq!(code(&c, wrong_scale), codes::MOS_OUT_OF_RANGE);
}

#[test]
fn display_profile_aliases_fill_what_the_row_lacks() {
    let profile = r#"{"peak_nits":1000,"black_nits":0.0005,"panel_type":"Mini-LED LCD","display_ambient_lux":200,"bt2020":72,"tone_mapping":"HDR10+ dynamic","name":"tv"}"#;
    let mut c = ProjectorConfig {
        schema: Some("chug-hdr-display-v1".into()),
        ..Default::default()
    };
    c.context.insert("display-profile".into(), profile.into());
    // The row's own peak luminance wins over the profile's.
    let raw = SAMPLE.replace("\"adm2\"", "\"display_peak_luminance_nits\":500,\"adm2\"");
    let r = row(&c, &raw);
    let d = &r.features[34..];
    let expected_contrast = ((500.0f64 / 0.0005).log10() / 7.0).clamp(0.0, 1.0);
    assert_eq!(
        d,
        &[
            0.05,
            0.0005,
            expected_contrast,
            0.2,
            0.72,
            0.0,
            0.0,
            0.0,
            1.0,
            1.0,
            1.0
        ]
    );
    assert_eq!(
        r.filled.iter().filter(|i| **i >= 34).collect::<Vec<_>>(),
        vec![&39],
        "p3 coverage is unknown"
    );
}

#[test]
fn display_profile_errors() {
    for (profile, needle) in [
        (r#"{"peek_nits":1000}"#, "unknown field(s) peek_nits"),
        (r#"{"name":"tv"}"#, "no known field"),
        (r#"[1]"#, "not a JSON object"),
        (r#"{"peak_nits":1,"display_peak_nits":2}"#, "repeats"),
        (
            "{\"peak_nits\": 1000,\n \"peak_nits\": 600}",
            "key `peak_nits` appears twice",
        ),
        ("{\"peak_nits\": 1000,\n oops}", "at line 2 column 2"),
    ] {
        let err = display::DisplayProfile::parse(profile).unwrap_err();
        assert!(err.contains(needle), "{profile}: {err}");
    }
    let c = ProjectorConfig {
        schema: Some("chug-hdr-display-v1".into()),
        ..Default::default()
    };
    assert!(
        open_generic::<ChugHdr>(&c).is_err(),
        "display schema without a profile"
    );
}

#[test]
fn synthetic_corpus_projects_cleanly() {
    let out = ChugHdr::synthesize(&SynthRequest {
        rows: 60,
        seed: 3,
        variant: None,
    })
    .unwrap();
    let p = open_generic::<ChugHdr>(&ProjectorConfig::default()).unwrap();
    let (mut rows, mut refs) = (0, 0);
    for (_, text) in &out.files {
        for line in text.lines() {
            match p.project("shards".into(), line.into()) {
                FfiOutcome::Row(r) => {
                    rows += 1;
                    assert!(
                        r.filled.is_empty(),
                        "synthetic rows carry every wide column"
                    );
                }
                FfiOutcome::Rejected(r) if r.code.as_str() == codes::REFERENCE_ROW => refs += 1,
                other => panic!("{other:?}"),
            }
        }
    }
    assert_eq!((rows, refs), (60, 10));
}
