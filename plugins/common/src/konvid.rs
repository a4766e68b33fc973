//! The KonViD schema, which both built-in adapters declare (`konvid` as its
//! own, `chug-hdr` for ablations).

use moshead_sdk::prelude::*;

/// The `konvid-v1` schema (11 columns).
pub const KONVID_V1: [&str; 11] = [
    "adm2",
    "vif_scale0",
    "vif_scale1",
    "vif_scale2",
    "vif_scale3",
    "motion2",
    "saliency_mean",
    "saliency_var",
    "shot_count_norm",
    "shot_mean_len_norm",
    "shot_cut_density",
];

/// A `konvid-v1` column: the value rule first, then the derivations of the
/// shot columns from raw counts (`shot_count` -> log10(1+N)/3,
/// `shot_mean_len_s` -> seconds/30, `shot_cuts` / `n_frames` -> cuts per
/// frame). Negative raw values give `None`.
pub fn konvid_v1_column(row: &Row<'_>, column: &str) -> Option<f64> {
    if let Some(v) = rules::feature_value(row, column) {
        return Some(v);
    }
    let nonneg = |k: &str| row.number(k).filter(|v| *v >= 0.0);
    match column {
        "shot_count_norm" => nonneg("shot_count").map(|n| (1.0 + n).log10() / 3.0),
        "shot_mean_len_norm" => nonneg("shot_mean_len_s").map(|s| s / 30.0),
        "shot_cut_density" => {
            let frames = nonneg("n_frames").filter(|f| *f > 0.0)?;
            nonneg("shot_cuts").map(|c| c / frames)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shot_columns_derive_from_raw_counts() {
        let row = Row::parse(r#"{"shot_count":9,"shot_mean_len_s":3,"shot_cuts":8,"n_frames":240,"shot_count_norm":null}"#).unwrap();
        assert_eq!(konvid_v1_column(&row, "shot_count_norm"), Some(1.0 / 3.0));
        assert_eq!(konvid_v1_column(&row, "shot_mean_len_norm"), Some(0.1));
        assert_eq!(
            konvid_v1_column(&row, "shot_cut_density"),
            Some(8.0 / 240.0)
        );
        let direct = Row::parse(r#"{"shot_count_norm":0.5,"shot_count":9}"#).unwrap();
        assert_eq!(konvid_v1_column(&direct, "shot_count_norm"), Some(0.5));
    }
}
