//! The graphs of the heads that are not dense layers: ridge and SVR, from
//! the standardised features `x_std` to `mos`.
//!
//! ```text
//! ridge:       z = Gemm(Concat(x_std, encoder_onehot), [w | 0], b)
//! SVR (RBF):   d = Sub(Unsqueeze(x_std, [1]), SV)            [batch, m, F]
//!              k = Exp(Mul(ReduceSum(Mul(d, d), [2]), -gamma))  [batch, m]
//! SVR (RBF):   z_svr = Gemm(k, coef, -rho)
//!              (a mean of SVRs: -gamma is a vector, one width per support
//!              vector, and coef holds each member's coefficients / k)
//! SVR (linear):z_svr = Gemm(x_std, sum_i coef_i sv_i, -rho)
//! SVR:         z = Add(z_svr, Mul(encoder_onehot, 0))
//! mos = Squeeze(Clip(z, 1, 5), [1])
//! ```
//!
//! The RBF distance is taken as a difference, not `|x|^2 - 2 x.sv +
//! |sv|^2`: in float32 the expanded form cancels badly for rows near a
//! support vector. An SVR without support vectors gets one with a zero
//! coefficient, so every tensor has a positive size.

use super::proto::{NodeProto, TensorProto};
use super::{float_tensor, int_tensor, node, widen, INPUT_ONEHOT, OUTPUT_MOS};
use crate::export::ExportError;
use crate::training::heads::svr::{self, KernelKind};
use crate::training::{FittedHead, HeadKind, MOS_RANGE};

/// Appends the head's nodes and initialisers after `x_std`.
pub(super) fn graph(
    head: &FittedHead,
    f: usize,
    nodes: &mut Vec<NodeProto>,
    init: &mut Vec<TensorProto>,
) -> Result<(), ExportError> {
    match head.spec.kind {
        HeadKind::Ridge => {
            let p = &head.params;
            init.push(float_tensor("W_out", &[1, f + 1], widen(&p[..f], 1, f, 1)));
            init.push(float_tensor("b_out", &[1], [p[f]]));
            nodes.push(node(
                "Concat",
                "append_onehot",
                &["x_std", INPUT_ONEHOT],
                "x_in",
                &[("axis", 1)],
            ));
            nodes.push(node(
                "Gemm",
                "dense_out",
                &["x_in", "W_out", "b_out"],
                "z",
                &[("transB", 1)],
            ));
        }
        HeadKind::Svr => svr_graph(head, f, nodes, init)?,
        HeadKind::Mlp | HeadKind::Linear => {
            return Err(ExportError::Head(format!(
                "the {} head is exported as dense layers",
                head.spec.kind.as_str()
            )))
        }
    }
    init.push(float_tensor("mos_min", &[], [MOS_RANGE[0]]));
    init.push(float_tensor("mos_max", &[], [MOS_RANGE[1]]));
    init.push(int_tensor("squeeze_axes", &[1]));
    nodes.push(node(
        "Clip",
        "bound",
        &["z", "mos_min", "mos_max"],
        "mos_col",
        &[],
    ));
    nodes.push(node(
        "Squeeze",
        "to_batch",
        &["mos_col", "squeeze_axes"],
        OUTPUT_MOS,
        &[],
    ));
    Ok(())
}

fn svr_graph(
    head: &FittedHead,
    f: usize,
    nodes: &mut Vec<NodeProto>,
    init: &mut Vec<TensorProto>,
) -> Result<(), ExportError> {
    let settings = head
        .spec
        .svr
        .as_ref()
        .ok_or_else(|| ExportError::Head("an SVR head without its settings".into()))?;
    let (rho, coef, sv) = svr::unpack(&head.params, f)
        .ok_or_else(|| ExportError::Head("SVR parameters do not fit the features".into()))?;
    let (m, coef, sv): (usize, Vec<f64>, Vec<f64>) = if coef.is_empty() {
        (1, vec![0.0], vec![0.0; f])
    } else {
        (coef.len(), coef.to_vec(), sv.iter().copied().collect())
    };
    match settings.kernel {
        KernelKind::Rbf => {
            init.push(float_tensor("support_vectors", &[m, f], sv));
            init.push(int_tensor("unsqueeze_axes", &[1]));
            init.push(int_tensor("reduce_axes", &[2]));
            if settings.members.is_empty() {
                init.push(float_tensor("neg_gamma", &[], [-settings.gamma]));
            } else {
                // A mean of SVRs: one width per support vector.
                let g: Vec<f64> = settings
                    .widths()
                    .iter()
                    .flat_map(|&(g, k)| std::iter::repeat_n(-g, k))
                    .collect();
                if g.len() != m {
                    return Err(ExportError::Head(
                        "the SVR members' support vectors do not add up".into(),
                    ));
                }
                init.push(float_tensor("neg_gamma", &[m], g));
            }
            nodes.extend([
                node(
                    "Unsqueeze",
                    "rows_as_3d",
                    &["x_std", "unsqueeze_axes"],
                    "x_3d",
                    &[],
                ),
                node(
                    "Sub",
                    "to_support",
                    &["x_3d", "support_vectors"],
                    "diff",
                    &[],
                ),
                node("Mul", "square", &["diff", "diff"], "diff_sq", &[]),
                node(
                    "ReduceSum",
                    "distance",
                    &["diff_sq", "reduce_axes"],
                    "dist_sq",
                    &[("keepdims", 0)],
                ),
                node(
                    "Mul",
                    "scale_distance",
                    &["dist_sq", "neg_gamma"],
                    "log_k",
                    &[],
                ),
                node("Exp", "kernel", &["log_k"], "k", &[]),
            ]);
        }
        KernelKind::Linear => {
            // sum_i coef_i (sv_i . x) = (sum_i coef_i sv_i) . x: the weights
            // are summed in float64, so float32 only rounds them once.
            let mut w = vec![0.0; f];
            for (c, row) in coef.iter().zip(sv.chunks(f)) {
                for (wj, v) in w.iter_mut().zip(row) {
                    *wj += c * v;
                }
            }
            init.push(float_tensor("svr_w", &[1, f], w));
            init.push(float_tensor("neg_rho", &[1], [-rho]));
            nodes.push(node(
                "Gemm",
                "expansion",
                &["x_std", "svr_w", "neg_rho"],
                "z_svr",
                &[("transB", 1)],
            ));
        }
    }
    if settings.kernel == KernelKind::Rbf {
        init.push(float_tensor("dual_coef", &[1, m], coef));
        init.push(float_tensor("neg_rho", &[1], [-rho]));
        nodes.push(node(
            "Gemm",
            "expansion",
            &["k", "dual_coef", "neg_rho"],
            "z_svr",
            &[("transB", 1)],
        ));
    }
    init.push(float_tensor("zero", &[], [0.0]));
    nodes.extend([
        node(
            "Mul",
            "onehot_unused",
            &[INPUT_ONEHOT, "zero"],
            "onehot_zero",
            &[],
        ),
        node("Add", "consume_onehot", &["z_svr", "onehot_zero"], "z", &[]),
    ]);
    Ok(())
}
