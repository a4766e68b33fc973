//! The graphs of the [`Form`]s that are not dense layers, from the
//! standardised features `x_std` to `mos`: an affine map (the ridge head's)
//! and a kernel expansion (the SVR's).
//!
//! ```text
//! affine:      z = Gemm(Concat(x_std, encoder_onehot), [w | 0], b)
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
//! support vector. A head gives an expansion at least one support vector
//! (a zero coefficient for none), so every tensor has a positive size.

use super::proto::{NodeProto, TensorProto};
use super::{float_tensor, int_tensor, node, widen, INPUT_ONEHOT, OUTPUT_MOS};
use crate::export::ExportError;
use crate::training::heads::{Form, KernelForm, Widths};
use crate::training::MOS_RANGE;

/// Appends the nodes and initialisers of `form` after `x_std`.
pub(super) fn graph(
    form: &Form,
    f: usize,
    nodes: &mut Vec<NodeProto>,
    init: &mut Vec<TensorProto>,
) -> Result<(), ExportError> {
    match form {
        Form::Affine { w, b } => {
            init.push(float_tensor("W_out", &[1, f + 1], widen(w, 1, f, 1)));
            init.push(float_tensor("b_out", &[1], [*b]));
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
        Form::Expansion {
            rho,
            coef,
            sv,
            kernel,
        } => expansion_graph(*rho, coef, sv, kernel, f, nodes, init)?,
        Form::Dense { .. } => {
            return Err(ExportError::Head(
                "dense layers are exported as dense layers".into(),
            ))
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

fn expansion_graph(
    rho: f64,
    coef: &[f64],
    sv: &[f64],
    kernel: &KernelForm,
    f: usize,
    nodes: &mut Vec<NodeProto>,
    init: &mut Vec<TensorProto>,
) -> Result<(), ExportError> {
    let m = coef.len();
    if m == 0 || sv.len() != m * f {
        return Err(ExportError::Head(
            "the support vectors do not fit the features".into(),
        ));
    }
    match kernel {
        KernelForm::Rbf(widths) => {
            init.push(float_tensor("support_vectors", &[m, f], sv.iter().copied()));
            init.push(int_tensor("unsqueeze_axes", &[1]));
            init.push(int_tensor("reduce_axes", &[2]));
            match widths {
                Widths::One(g) => init.push(float_tensor("neg_gamma", &[], [-g])),
                Widths::Each(g) => {
                    if g.len() != m {
                        return Err(ExportError::Head(
                            "the SVR members' support vectors do not add up".into(),
                        ));
                    }
                    init.push(float_tensor("neg_gamma", &[m], g.iter().map(|g| -g)));
                }
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
        KernelForm::Linear => {
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
    if matches!(kernel, KernelForm::Rbf(_)) {
        init.push(float_tensor("dual_coef", &[1, m], coef.iter().copied()));
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
