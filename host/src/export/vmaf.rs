//! libvmaf's JSON model format: `<id>_vmaf.json`, which stock libvmaf
//! loads with `vmaf --model path=FILE` and ffmpeg with
//! `-lavfi libvmaf=model=path=FILE`.
//!
//! The format is the one of libvmaf's own models (`model/vmaf_v0.6.1.json`)
//! as libvmaf 2.3.1 reads it (`src/read_json_model.c`, `src/predict.c`):
//! `{"param_dict", "model_dict"}`, where `model_dict` holds
//!
//! - `model_type` `LIBSVMNUSVR` (the only plain type libvmaf accepts; it
//!   evaluates any libsvm regression model through `svm_predict`) and
//!   `model`, a libsvm model file as one string;
//! - `feature_names`, libvmaf's names of the feature columns, in the order
//!   of the libsvm indices 1..F;
//! - `norm_type` `linear_rescale` with `slopes` and `intercepts`: feature
//!   `j` enters the SVM as `slopes[j] * x + intercepts[j]`, and the SVM's
//!   output `z` leaves as `(z - intercepts[0]) / slopes[0]`;
//! - `score_clip` `[lo, hi]`, applied last.
//!
//! A moshead head maps a row to `clip((x - offset) / scale)` through its
//! standardisation ([`crate::training::Standardizer`]), then its decision
//! function, then the clip to 1-5; the adapter's MOS scale maps 1-5 to the
//! native scale affinely (`head = to_head_offset + to_head_scale *
//! native`). So, exactly:
//!
//! - feature slopes `1 / scale_j` and intercepts `-offset_j / scale_j`;
//! - the label's slope `to_head_scale` and intercept `to_head_offset`, so
//!   libvmaf's score is on the adapter's native scale;
//! - `score_clip` the native image of 1-5 (clipping after an affine map is
//!   clipping before it);
//! - the SVR head: its libsvm model as fitted (type, kernel, gamma, `rho`,
//!   dual coefficients, support vectors in the scaled space);
//! - the ridge head `w . x + b`: a linear-kernel SVM with one support
//!   vector `w` of coefficient 1 and `rho = -b` (libsvm evaluates
//!   `sum coef_i K(sv_i, x) - rho`).
//!
//! Refused ([`Refusal`]), never approximated: the MLP and the bounded
//! linear head (`1 + 4 sigmoid(w . x + b)`: libvmaf's optional score
//! transform is a quadratic and knots, no sigmoid), a schema with a column
//! libvmaf has no name for, and a manifest that does not record the
//! adapter's MOS scale and libvmaf names.

use std::collections::BTreeMap;

use moshead_protocol::MosScale;
use serde::Serialize;

use super::ExportError;
use crate::manifest::Manifest;
use crate::training::heads::{Libsvm, LibsvmError, LibvmafRefusal};
use crate::training::{HeadKind, ResolvedSpec, MOS_RANGE};

/// The `exports` key of the libvmaf model.
pub const EXPORT_VMAF: &str = "vmaf";

/// The most features a libvmaf 2.3.1 model may have (its
/// `MAX_FEATURE_COUNT`).
pub const MAX_FEATURES: usize = 32;

/// Why a model cannot be written in libvmaf's format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The head type has no exact libvmaf form.
    #[error("libvmaf cannot evaluate the {head} head: {why}; --head svr or --head ridge can be exported")]
    Head {
        /// The head type.
        head: &'static str,
        /// Why not.
        why: &'static str,
    },
    /// Columns of the schema have no libvmaf name.
    #[error("schema `{schema}` has column(s) libvmaf has no name for: {columns} (train on a schema of libvmaf features, e.g. --schema vmaf-canonical-v1)")]
    Columns {
        /// The schema.
        schema: String,
        /// The unnamed columns, comma-separated.
        columns: String,
    },
    /// More features than libvmaf reads.
    #[error("schema `{schema}` has {n} columns; libvmaf models take at most {MAX_FEATURES}")]
    TooMany {
        /// The schema.
        schema: String,
        /// Its column count.
        n: usize,
    },
    /// The adapter names no column of the schema for libvmaf.
    #[error("adapter `{adapter}` declares no libvmaf feature names for schema `{schema}` (the optional schema key `libvmaf_names`, sdk API 1.2)")]
    Undeclared {
        /// The adapter.
        adapter: String,
        /// The schema.
        schema: String,
    },
    /// The manifest predates the fields the export needs.
    #[error("the manifest does not record the adapter's MOS scale and libvmaf feature names (it was written before they were recorded): train again")]
    NotRecorded,
}

impl From<LibvmafRefusal> for Refusal {
    fn from(r: LibvmafRefusal) -> Self {
        Refusal::Head {
            head: r.head,
            why: r.why,
        }
    }
}

/// Whether a head of `kind` has an exact libvmaf form.
pub fn head_refusal(kind: HeadKind) -> Option<Refusal> {
    kind.head().libvmaf_refusal().map(|why| Refusal::Head {
        head: kind.as_str(),
        why,
    })
}

/// libvmaf's names of `columns` in order, from `names` (column -> libvmaf
/// name, as adapter `adapter` declares them for `schema`); every column
/// must have one.
pub fn feature_names(
    adapter: &str,
    schema: &str,
    columns: &[String],
    names: &BTreeMap<String, String>,
) -> Result<Vec<String>, Refusal> {
    if names.is_empty() {
        return Err(Refusal::Undeclared {
            adapter: adapter.to_owned(),
            schema: schema.to_owned(),
        });
    }
    let missing: Vec<&str> = columns
        .iter()
        .filter(|c| !names.contains_key(*c))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(Refusal::Columns {
            schema: schema.to_owned(),
            columns: missing.join(", "),
        });
    }
    if columns.len() > MAX_FEATURES {
        return Err(Refusal::TooMany {
            schema: schema.to_owned(),
            n: columns.len(),
        });
    }
    Ok(columns
        .iter()
        .filter_map(|c| names.get(c).cloned())
        .collect())
}

/// Checks that `m` can be exported, returning the libvmaf feature names and
/// the MOS scale.
pub fn check(m: &Manifest) -> Result<(Vec<String>, &MosScale), Refusal> {
    if let Some(r) = head_refusal(m.head.spec.kind) {
        return Err(r);
    }
    if let Err(LibsvmError::Refused(r)) = libsvm(m) {
        return Err(r.into());
    }
    let (Some(scale), Some(names)) = (&m.adapter.mos_scale, &m.adapter.libvmaf_names) else {
        return Err(Refusal::NotRecorded);
    };
    let names = feature_names(&m.adapter.name, &m.feature_schema, &m.feature_order, names)?;
    Ok((names, scale))
}

#[derive(Serialize)]
struct ParamDict {
    norm_type: &'static str,
    score_clip: [f64; 2],
    #[serde(rename = "C", skip_serializing_if = "Option::is_none")]
    c: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gamma: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nu: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    epsilon: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ridge_alpha: Option<f64>,
}

#[derive(Serialize)]
struct ModelDict {
    model_type: &'static str,
    norm_type: &'static str,
    score_clip: [f64; 2],
    feature_names: Vec<String>,
    feature_dict: BTreeMap<String, Vec<String>>,
    slopes: Vec<f64>,
    intercepts: Vec<f64>,
    model: String,
}

#[derive(Serialize)]
struct Provenance<'a> {
    model_id: &'a str,
    adapter: String,
    feature_schema: &'a str,
    feature_columns: &'a [String],
    head: &'static str,
    score_scale: String,
}

#[derive(Serialize)]
struct VmafModel<'a> {
    param_dict: ParamDict,
    model_dict: ModelDict,
    moshead: Provenance<'a>,
}

/// A number as libsvm's model parser (`istream >> double`) reads it back
/// exactly: the shortest round-trip form.
fn num(v: f64) -> String {
    if v != 0.0 && (v.abs() < 1e-5 || v.abs() >= 1e16) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

/// The libsvm model of `m`'s head.
fn libsvm(m: &Manifest) -> Result<Libsvm, LibsvmError> {
    let spec = ResolvedSpec::from(&m.head.spec);
    spec.kind
        .head()
        .libsvm(&spec, &m.head.parameters, m.feature_order.len())
}

/// The libsvm model text of `form`, the model of `m`'s head (checked by
/// [`check`]).
fn libsvm_text(m: &Manifest, form: Libsvm) -> Result<String, ExportError> {
    let f = m.feature_order.len();
    let bad = |what: &str| ExportError::Head(format!("{}: {what}", m.head.spec.kind.as_str()));
    let p = &m.head.parameters;
    let Libsvm {
        svm_type,
        kernel,
        gamma,
        rho,
        coef,
        sv,
        ..
    } = form;
    // A model without support vectors is the constant `-rho`: one zero
    // vector with coefficient 0 says the same and keeps `total_sv` >= 1.
    let (coef, sv) = if coef.is_empty() {
        (vec![0.0], vec![0.0; f])
    } else {
        (coef, sv)
    };
    if p.iter().chain([&rho, &gamma]).any(|v| !v.is_finite()) {
        return Err(bad("non-finite parameter"));
    }
    let mut t = format!("svm_type {svm_type}\nkernel_type {kernel}\n");
    if kernel == "rbf" {
        t.push_str(&format!("gamma {}\n", num(gamma)));
    }
    t.push_str(&format!(
        "nr_class 2\ntotal_sv {}\nrho {}\nSV\n",
        coef.len(),
        num(rho)
    ));
    for (c, row) in coef.iter().zip(sv.chunks(f.max(1))) {
        t.push_str(&num(*c));
        for (j, v) in row.iter().enumerate() {
            t.push_str(&format!(" {}:{}", j + 1, num(*v)));
        }
        t.push_str(" \n");
    }
    Ok(t)
}

/// `extractor -> [feature]` for names of the form `VMAF_<extractor>_<feature>_score`
/// (the Python VMAF framework's `feature_dict`; libvmaf itself ignores it).
fn feature_dict(names: &[String]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for n in names {
        for ex in ["VMAF_integer_feature", "VMAF_feature"] {
            if let Some(atom) = n
                .strip_prefix(ex)
                .and_then(|r| r.strip_prefix('_'))
                .and_then(|r| r.strip_suffix("_score"))
            {
                out.entry(ex.to_owned()).or_default().push(atom.to_owned());
                break;
            }
        }
    }
    out
}

/// The libvmaf model of `m` as pretty JSON with a trailing newline; a
/// [`Refusal`] is reported as [`ExportError::Head`] (call [`check`] first to
/// tell a refusal apart).
pub fn to_bytes(m: &Manifest) -> Result<Vec<u8>, ExportError> {
    let (names, scale) = check(m).map_err(|r| ExportError::Head(r.to_string()))?;
    let std = &m.standardization;
    if std.std.iter().any(|s| !(s.is_finite() && *s > 0.0))
        || std.mean.iter().any(|v| !v.is_finite())
    {
        return Err(ExportError::Head(
            "non-finite or non-positive scaling".into(),
        ));
    }
    if !(scale.to_head_scale.is_finite()
        && scale.to_head_scale != 0.0
        && scale.to_head_offset.is_finite())
    {
        return Err(ExportError::Head(
            "the adapter's MOS scale is not an invertible affine map".into(),
        ));
    }
    let mut slopes = vec![scale.to_head_scale];
    let mut intercepts = vec![scale.to_head_offset];
    for (mean, sd) in std.mean.iter().zip(&std.std) {
        slopes.push(1.0 / sd);
        intercepts.push(-mean / sd);
    }
    // A finite but tiny SD overflows its slope: JSON would carry `null`.
    if slopes.iter().chain(&intercepts).any(|v| !v.is_finite()) {
        return Err(ExportError::Head(
            "a feature's rescaling (1 / SD, -mean / SD) is not finite: its SD is too small".into(),
        ));
    }
    let (a, b) = (scale.to_native(MOS_RANGE[0]), scale.to_native(MOS_RANGE[1]));
    let clip = [a.min(b), a.max(b)];
    let form = libsvm(m).map_err(|e| match e {
        LibsvmError::Refused(r) => ExportError::Head(Refusal::from(r).to_string()),
        LibsvmError::Bad(what) => {
            ExportError::Head(format!("{}: {what}", m.head.spec.kind.as_str()))
        }
    })?;
    let model = VmafModel {
        param_dict: ParamDict {
            norm_type: "linear_rescale",
            score_clip: clip,
            c: form.c,
            gamma: form.param_gamma,
            nu: form.nu,
            epsilon: form.epsilon,
            ridge_alpha: form.ridge_alpha,
        },
        model_dict: ModelDict {
            model_type: "LIBSVMNUSVR",
            norm_type: "linear_rescale",
            score_clip: clip,
            feature_dict: feature_dict(&names),
            feature_names: names,
            slopes,
            intercepts,
            model: libsvm_text(m, form)?,
        },
        moshead: Provenance {
            model_id: &m.id,
            adapter: format!("{} {}", m.adapter.name, m.adapter.version),
            feature_schema: &m.feature_schema,
            feature_columns: &m.feature_order,
            head: m.head.spec.kind.as_str(),
            score_scale: format!(
                "the adapter's native MOS scale, {} to {}",
                num(clip[0]),
                num(clip[1])
            ),
        },
    };
    let mut out = serde_json::to_vec_pretty(&model)?;
    out.push(b'\n');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_back_exactly() {
        for v in [
            0.0,
            -0.0,
            1.0,
            -2.8672773054184204,
            0.16666666666666666,
            1e-300,
            -3.5e-7,
            6.02e23,
        ] {
            let back: f64 = num(v).parse().unwrap_or(f64::NAN);
            assert_eq!(back.to_bits(), v.to_bits(), "{v} -> {}", num(v));
        }
    }

    fn names(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(c, n)| ((*c).to_owned(), (*n).to_owned()))
            .collect()
    }

    #[test]
    fn unnamed_columns_are_listed_before_the_count_is_checked() {
        let cols: Vec<String> = ["adm2", "motion2", "saliency_mean", "shot_count_norm"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let declared = names(&moshead_sdk::schemas::LIBVMAF_NAMES);
        let e = feature_names("konvid", "konvid-v1", &cols, &declared).unwrap_err();
        assert_eq!(
            e,
            Refusal::Columns {
                schema: "konvid-v1".into(),
                columns: "saliency_mean, shot_count_norm".into()
            }
        );
        let e = feature_names("konvid", "konvid-v1", &cols, &BTreeMap::new()).unwrap_err();
        assert!(
            e.to_string().contains("declares no libvmaf feature names"),
            "{e}"
        );
        let many: Vec<String> = (0..=MAX_FEATURES).map(|i| format!("f{i}")).collect();
        let all: BTreeMap<String, String> = many.iter().map(|c| (c.clone(), c.clone())).collect();
        let e = feature_names("x", "wide", &many, &all).unwrap_err();
        assert!(matches!(e, Refusal::TooMany { n: 33, .. }), "{e}");
        let canonical: Vec<String> = moshead_sdk::schemas::CANONICAL
            .iter()
            .map(|c| c.to_string())
            .collect();
        let got = feature_names("konvid", "vmaf-canonical-v1", &canonical, &declared);
        assert_eq!(
            got.map(|n| n[5].clone()),
            Ok("VMAF_integer_feature_motion2_score".to_owned())
        );
    }

    #[test]
    fn only_svr_and_ridge_have_a_libvmaf_form() {
        for kind in HeadKind::ALL {
            let refused = head_refusal(kind).is_some();
            assert_eq!(
                refused,
                !matches!(kind, HeadKind::Ridge | HeadKind::Svr),
                "{kind:?}"
            );
        }
    }
}
