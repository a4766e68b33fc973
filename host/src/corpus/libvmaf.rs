//! libvmaf JSON logs as input: parse one log, pool its frames into one raw
//! row.
//!
//! A log is what the `vmaf` tool writes with `--json` (and ffmpeg's
//! `libvmaf` filter with `log_fmt=json`): `{"version", "fps", "frames":
//! [{"frameNum", "metrics": {name: value | null}}], "pooled_metrics", ...}`.
//! For every metric `f` of the frames, the pooled row carries `f` and
//! `f_mean` (the mean), `f_p10` and `f_p90` (percentiles with linear
//! interpolation between order statistics, numpy's default) and `f_std`
//! (the population standard deviation), over the frames whose value is
//! finite; frames where it is `null` (libvmaf's non-finite) are counted and
//! excluded. `n_feature_frames` is the number of frames.
//!
//! libvmaf's names are mapped onto the canonical ones ([`NAME_MAP`]); a name
//! not in the table keeps its own. When one log carries a metric under both
//! an integer name and its float name (both extractors were run), the
//! integer one takes the canonical name and the float one is pooled as
//! `float_<name>`.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

/// libvmaf's log names and the canonical feature names they pool under.
///
/// | libvmaf (integer extractor) | libvmaf (float extractor) | canonical |
/// |---|---|---|
/// | `integer_adm2` | `adm2` | `adm2` |
/// | `integer_adm_scale0..3` | `adm_scale0..3` | `adm_scale0..3` |
/// | `integer_vif_scale0..3` | `vif_scale0..3` | `vif_scale0..3` |
/// | `integer_motion2` | `motion2` | `motion2` |
/// | `integer_motion` | `motion` | `motion` |
///
/// Every other metric (`vmaf`, a model's name, `psnr_y`, `float_ssim`, ...)
/// keeps its log name.
pub const NAME_MAP: [(&str, &str); 11] = [
    ("integer_adm2", "adm2"),
    ("integer_adm_scale0", "adm_scale0"),
    ("integer_adm_scale1", "adm_scale1"),
    ("integer_adm_scale2", "adm_scale2"),
    ("integer_adm_scale3", "adm_scale3"),
    ("integer_vif_scale0", "vif_scale0"),
    ("integer_vif_scale1", "vif_scale1"),
    ("integer_vif_scale2", "vif_scale2"),
    ("integer_vif_scale3", "vif_scale3"),
    ("integer_motion2", "motion2"),
    ("integer_motion", "motion"),
];

/// The canonical name of a libvmaf log metric.
pub fn canonical_name(log_name: &str) -> &str {
    NAME_MAP
        .iter()
        .find(|(l, _)| *l == log_name)
        .map_or(log_name, |(_, c)| c)
}

/// One metric pooled over a log's frames.
#[derive(Debug, Clone, PartialEq)]
pub struct Pooled {
    /// Mean of the finite frame values.
    pub mean: f64,
    /// 10th percentile.
    pub p10: f64,
    /// 90th percentile.
    pub p90: f64,
    /// Population standard deviation.
    pub std: f64,
    /// Frames with a finite value.
    pub finite: usize,
    /// Frames where the value was `null` (non-finite in libvmaf).
    pub non_finite: usize,
}

/// A log pooled into per-metric statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct PooledLog {
    /// libvmaf's version string.
    pub version: String,
    /// Frames in the log.
    pub frames: usize,
    /// By canonical name, in name order.
    pub metrics: BTreeMap<String, Pooled>,
}

impl PooledLog {
    /// Frames excluded as non-finite, summed over metrics.
    pub fn non_finite(&self) -> usize {
        self.metrics.values().map(|p| p.non_finite).sum()
    }

    /// The pooled raw-row columns: `f`, `f_mean`, `f_p10`, `f_p90`, `f_std`
    /// per metric (a metric with no finite frame gives `null`s, which the
    /// plugin fills and counts like missing values) and `n_feature_frames`.
    ///
    /// Each column is `(name, value, metric)`, `metric` being the log
    /// metric it comes from (`None` for `n_feature_frames`), so that a
    /// caller can name both sides of a collision.
    pub fn column_list(&self) -> Vec<(String, Value, Option<&str>)> {
        let mut out = Vec::with_capacity(5 * self.metrics.len() + 1);
        let num = |v: f64, ok: bool| {
            if ok {
                serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
            } else {
                Value::Null
            }
        };
        for (name, p) in &self.metrics {
            let ok = p.finite > 0;
            let m = Some(name.as_str());
            out.push((name.clone(), num(p.mean, ok), m));
            out.push((format!("{name}_mean"), num(p.mean, ok), m));
            out.push((format!("{name}_p10"), num(p.p10, ok), m));
            out.push((format!("{name}_p90"), num(p.p90, ok), m));
            out.push((format!("{name}_std"), num(p.std, ok), m));
        }
        out.push((
            "n_feature_frames".into(),
            Value::from(self.frames as u64),
            None,
        ));
        out
    }

    /// The pooled raw-row columns as a map; two that share a name (a
    /// metric named `vmaf_mean` beside `vmaf`) are an error naming both.
    pub fn columns(&self) -> Result<Map<String, Value>, ColumnClash> {
        let mut out = Map::new();
        let mut from: BTreeMap<String, Option<&str>> = BTreeMap::new();
        for (k, v, metric) in self.column_list() {
            if let Some(earlier) = from.get(&k) {
                return Err(ColumnClash {
                    column: k,
                    first: earlier.map(str::to_owned),
                    second: metric.map(str::to_owned),
                });
            }
            from.insert(k.clone(), metric);
            out.insert(k, v);
        }
        Ok(out)
    }
}

/// Two pooled columns that share a name: the name and the frame metrics
/// (or `None`, the frame count) each comes from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("pooled column `{column}` comes from both {} and {}", describe(.first.as_deref()), describe(.second.as_deref()))]
pub struct ColumnClash {
    /// The column name.
    pub column: String,
    /// The earlier origin.
    pub first: Option<String>,
    /// The later origin.
    pub second: Option<String>,
}

/// The origin of a pooled column, for messages.
pub fn describe(metric: Option<&str>) -> String {
    match metric {
        Some(m) => format!("frame metric `{m}`"),
        None => "the frame count".to_owned(),
    }
}

#[derive(Deserialize)]
struct Log {
    version: String,
    frames: Vec<Frame>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Frame {
    #[allow(dead_code)]
    frame_num: u64,
    metrics: Metrics,
}

/// A frame's metrics; a name repeated in one frame is an error (JSONL rows
/// drop a repeated key too), not last-one-wins.
struct Metrics(BTreeMap<String, Option<f64>>);

impl<'de> Deserialize<'de> for Metrics {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Metrics;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of metric values")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Metrics, A::Error> {
                let mut m = BTreeMap::new();
                while let Some((k, v)) = a.next_entry::<String, Option<f64>>()? {
                    if m.contains_key(&k) {
                        return Err(serde::de::Error::custom(format!("{REPEATED}: `{k}`")));
                    }
                    m.insert(k, v);
                }
                Ok(Metrics(m))
            }
        }
        d.deserialize_map(V)
    }
}

/// Why a text is not a libvmaf log (for a counted drop naming the file).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// The text is not JSON.
    #[error("not JSON ({0})")]
    NotJson(#[source] serde_json::Error),
    /// JSON without a top-level `version` and `frames` array.
    #[error("not a libvmaf JSON log (no top-level `version` and `frames` array)")]
    NotLog,
    /// A frame repeats a metric.
    #[error("{0}")]
    RepeatedMetric(#[source] serde_json::Error),
    /// Frames that do not parse.
    #[error("not a libvmaf JSON log: {0} (each frame needs `frameNum` and `metrics` of numbers or null)")]
    BadFrames(#[source] serde_json::Error),
    /// A log with no frames.
    #[error("a libvmaf log with no frames")]
    NoFrames,
}

/// The start of the message of a metric repeated in one frame.
const REPEATED: &str = "a frame repeats a metric";

/// Parses a libvmaf JSON log and pools its frames. The error says why the
/// text is not a libvmaf log (for a counted drop naming the file).
pub fn pool_log(text: &str) -> Result<PooledLog, LogError> {
    // One typed parse of the text (a `Value` would merge repeated keys);
    // only when it fails is the text read again, to say why.
    let log: Log = serde_json::from_str(text).map_err(|e| {
        let value: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => return LogError::NotJson(e),
        };
        let is_log = value.as_object().is_some_and(|o| {
            o.contains_key("version") && o.get("frames").is_some_and(Value::is_array)
        });
        if !is_log {
            LogError::NotLog
        } else if e.to_string().starts_with(REPEATED) {
            LogError::RepeatedMetric(e)
        } else {
            LogError::BadFrames(e)
        }
    })?;
    if log.frames.is_empty() {
        return Err(LogError::NoFrames);
    }
    let mut values: BTreeMap<&str, (Vec<f64>, usize)> = BTreeMap::new();
    for frame in &log.frames {
        for (name, v) in &frame.metrics.0 {
            let e = values.entry(name.as_str()).or_default();
            match v {
                Some(v) if v.is_finite() => e.0.push(*v),
                _ => e.1 += 1,
            }
        }
    }
    let names: Vec<&str> = values.keys().copied().collect();
    let mut metrics = BTreeMap::new();
    for (name, (mut vals, non_finite)) in values {
        let canonical = canonical_name(name);
        let key = if canonical != name
            || !names
                .iter()
                .any(|n| *n != name && canonical_name(n) == name)
        {
            canonical.to_owned()
        } else {
            // A float name whose integer twin is in the same log.
            format!("float_{name}")
        };
        metrics.insert(key, pool(&mut vals, non_finite));
    }
    Ok(PooledLog {
        version: log.version,
        frames: log.frames.len(),
        metrics,
    })
}

/// Pools finite values (sorted in place).
fn pool(vals: &mut [f64], non_finite: usize) -> Pooled {
    let n = vals.len();
    if n == 0 {
        return Pooled {
            mean: f64::NAN,
            p10: f64::NAN,
            p90: f64::NAN,
            std: f64::NAN,
            finite: 0,
            non_finite,
        };
    }
    let mean = vals.iter().sum::<f64>() / n as f64;
    let var = vals.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64;
    vals.sort_by(f64::total_cmp);
    Pooled {
        mean,
        p10: percentile(vals, 0.1),
        p90: percentile(vals, 0.9),
        std: var.sqrt(),
        finite: n,
        non_finite,
    }
}

/// The `q` quantile of sorted values, interpolating linearly between the
/// order statistics at `q (n - 1)` (numpy's default).
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    let Some(last) = sorted.len().checked_sub(1) else {
        return f64::NAN;
    };
    let pos = q * last as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(last);
    let frac = pos - lo as f64;
    sorted[lo] + (sorted[hi] - sorted[lo]) * frac
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = r#"{
  "version": "2.3.1",
  "fps": 10.0,
  "frames": [
    {"frameNum": 0, "metrics": {"integer_adm2": 0.9, "integer_motion2": 0.0, "vmaf": 80.0, "adm2": 0.5}},
    {"frameNum": 1, "metrics": {"integer_adm2": 0.8, "integer_motion2": null, "vmaf": 90.0, "adm2": 0.7}},
    {"frameNum": 2, "metrics": {"integer_adm2": 1.0, "integer_motion2": 4.0, "vmaf": 70.0, "adm2": 0.6}}
  ],
  "pooled_metrics": {}
}"#;

    #[test]
    fn pools_with_canonical_names_and_counts_non_finite_frames() {
        let p = pool_log(LOG).unwrap();
        assert_eq!(p.frames, 3);
        let adm2 = &p.metrics["adm2"];
        assert!((adm2.mean - 0.9).abs() < 1e-12);
        assert!((adm2.p10 - 0.82).abs() < 1e-12, "{}", adm2.p10);
        assert!((adm2.p90 - 0.98).abs() < 1e-12, "{}", adm2.p90);
        assert!((adm2.std - (0.02f64 / 3.0).sqrt()).abs() < 1e-12);
        let m2 = &p.metrics["motion2"];
        assert_eq!((m2.finite, m2.non_finite), (2, 1));
        assert_eq!(m2.mean, 2.0);
        assert_eq!(p.non_finite(), 1);
        assert!((p.metrics["float_adm2"].mean - 0.6).abs() < 1e-12);
        assert_eq!(p.metrics["vmaf"].mean, 80.0);
        let cols = p.columns().unwrap();
        assert_eq!(cols["adm2"], cols["adm2_mean"]);
        assert_eq!(cols["n_feature_frames"], 3);
        assert!(cols.contains_key("motion2_p90"));
    }

    #[test]
    fn a_float_log_keeps_its_canonical_names() {
        let log = r#"{"version":"2.3.1","frames":[{"frameNum":0,"metrics":{"adm2":0.5,"vif_scale0":0.4}}]}"#;
        let p = pool_log(log).unwrap();
        assert_eq!(p.metrics.keys().collect::<Vec<_>>(), ["adm2", "vif_scale0"]);
        assert_eq!(p.metrics["adm2"].std, 0.0);
    }

    #[test]
    fn refuses_what_is_not_a_log() {
        for (text, needle) in [
            ("not json", "not JSON"),
            (r#"{"corpus":"chug","mos":3}"#, "not a libvmaf JSON log"),
            (
                r#"{"version":"2","frames":[{"frameNum":0,"metrics":{"a":"x"}}]}"#,
                "numbers or null",
            ),
            (r#"{"version":"2","frames":[]}"#, "no frames"),
        ] {
            let e = pool_log(text).unwrap_err().to_string();
            assert!(e.contains(needle), "{text}: {e}");
        }
    }

    #[test]
    fn a_metric_without_finite_frames_pools_to_nulls() {
        let log = r#"{"version":"2","frames":[{"frameNum":0,"metrics":{"integer_motion2":null}}]}"#;
        let cols = pool_log(log).unwrap().columns().unwrap();
        assert_eq!(cols["motion2"], Value::Null);
        assert_eq!(cols["motion2_std"], Value::Null);
    }

    #[test]
    fn percentiles_interpolate_like_numpy() {
        let v = [1.0, 2.0, 3.0, 4.0, 10.0];
        // numpy.percentile([1,2,3,4,10], [10, 90]) == [1.4, 7.6]
        assert!((percentile(&v, 0.1) - 1.4).abs() < 1e-12);
        assert!((percentile(&v, 0.9) - 7.6).abs() < 1e-12);
        assert_eq!(percentile(&[5.0], 0.9), 5.0);
    }
}
