//! The ONNX export: a fitted head as an opset-17 `ModelProto` in the prior
//! art's I/O contract.
//!
//! Contract: inputs `features` float32 `[batch, F]` (raw, unstandardised,
//! in the manifest's `feature_order`) and `encoder_onehot` float32
//! `[batch, 1]`; output `mos` float32 `[batch]`; `batch` is symbolic.
//!
//! The graph, for both heads:
//!
//! ```text
//! x   = Div(Sub(features, feature_mean), feature_std)      standardisation
//! xin = Concat(x, encoder_onehot, axis=1)                  [batch, F+1]
//! mlp:    a1 = Tanh(Gemm(xin, W1', b1))  W1' = [W1 | 0]
//!         a2 = Tanh(Gemm(a1, W2, b2))
//!         z  = Gemm(Concat(a2, xin), [w3 | v | 0], b3)     output + skip path
//! linear: z  = Gemm(xin, [w | 0], b)
//! mos = Squeeze(Add(Mul(Sigmoid(z), 4), 1), axes=[1])
//! ```
//!
//! - **Standardisation** is explicit `Sub` and `Div` nodes with the
//!   manifest's mean and SD as initialisers, not folded into the first
//!   weights: the graph then performs the same arithmetic as
//!   [`FittedHead::predict`](crate::training::FittedHead::predict) (in
//!   float32), and a reader can recover the statistics from the file.
//! - **`encoder_onehot`** is a real input, consumed by the `Concat` that
//!   builds `xin` (as in the prior art, which concatenates it with the
//!   features) and multiplied by zero weights: the heads have no one-hot
//!   weights, so any finite value leaves `mos` unchanged. Consuming it keeps
//!   every runtime from pruning it and makes its batch axis unify with
//!   `features`.
//! - **Weights** are inline `raw_data` initialisers (little-endian float32),
//!   the parameters rounded to nearest from the manifest's float64.
//! - **Operators**: only [`ALLOWED_OPS`].
//!
//! The encoding uses `prost` with hand-declared message structs (field tags
//! from `onnx.proto`; oneofs declared as optional fields, which encode the
//! same). prost writes fields in tag order and the graph is built in a fixed
//! order with no maps, so one manifest always gives the same bytes.

use prost::Message as _;

mod closed;

use super::ExportError;
use crate::manifest::Manifest;
use crate::training::heads::Form;
use crate::training::FittedHead;

/// The opset the model imports.
pub const OPSET: i64 = 17;
/// The ONNX IR version (IR 8 is the one paired with opset 17).
pub const IR_VERSION: i64 = 8;
/// The operators the export may use (the prior art's allowlist plus Sub,
/// Div and Tanh, and from the issue's runtime allow-list the Unsqueeze,
/// ReduceSum, Exp and Clip of the SVR's kernel and the clipped heads).
pub const ALLOWED_OPS: [&str; 16] = [
    "Gemm",
    "MatMul",
    "Add",
    "Mul",
    "Sub",
    "Div",
    "Relu",
    "Tanh",
    "Sigmoid",
    "Concat",
    "Squeeze",
    "Reshape",
    "Unsqueeze",
    "ReduceSum",
    "Exp",
    "Clip",
];
/// Name of the feature input.
pub const INPUT_FEATURES: &str = "features";
/// Name of the one-hot input.
pub const INPUT_ONEHOT: &str = "encoder_onehot";
/// Name of the output.
pub const OUTPUT_MOS: &str = "mos";
/// The symbolic batch dimension.
pub const BATCH_DIM: &str = "batch";

pub(crate) mod proto;

use proto::*;

const FLOAT: i32 = 1;
pub(crate) const INT64: i32 = 7;
const ATTR_INT: i32 = 2;

/// A head as dense layers over the standardised features, float64, in the
/// shapes the graph uses (row-major `out x in` weights). Kept separate from
/// the encoding so the layout can be checked against
/// [`FittedHead::predict`] without an ONNX runtime.
#[derive(Debug, Clone, PartialEq)]
pub struct Layers {
    /// Feature count.
    pub f: usize,
    /// Standardisation means.
    pub mean: Vec<f64>,
    /// Standardisation SDs.
    pub std: Vec<f64>,
    /// Hidden layers `(weights out x in, bias, out)`; empty for the linear head.
    pub hidden: Vec<(Vec<f64>, Vec<f64>, usize)>,
    /// Output weights over `[last hidden, standardised features]`
    /// (the MLP's `w3` then its skip path `v`; the linear head's `w`).
    pub out_w: Vec<f64>,
    /// Output bias.
    pub out_b: f64,
}

impl Layers {
    /// Splits a fitted head's flat parameters into layers.
    pub fn from_head(head: &FittedHead, f: usize) -> Result<Layers, ExportError> {
        let Form::Dense {
            hidden,
            out_w,
            out_b,
        } = head.form(f).map_err(ExportError::Head)?
        else {
            return Err(ExportError::Head(format!(
                "the {} head is not a stack of dense layers",
                head.spec.kind.as_str()
            )));
        };
        Ok(Layers {
            f,
            mean: head.standardizer.mean.clone(),
            std: head.standardizer.std.clone(),
            hidden,
            out_w,
            out_b,
        })
    }

    /// Evaluates the layers in float64 on raw feature rows (the reference
    /// semantics of the graph).
    pub fn eval(&self, rows: &[Vec<f64>]) -> Vec<f64> {
        rows.iter()
            .map(|row| {
                let x: Vec<f64> = row
                    .iter()
                    .zip(self.mean.iter().zip(&self.std))
                    .map(|(v, (m, s))| (v - m) / s)
                    .collect();
                let mut a = x.clone();
                for (w, b, out) in &self.hidden {
                    let n_in = a.len();
                    a = (0..*out)
                        .map(|o| {
                            let dot: f64 = (0..n_in).map(|i| w[o * n_in + i] * a[i]).sum();
                            (dot + b[o]).tanh()
                        })
                        .collect();
                }
                let with_skip: Vec<f64> = if self.hidden.is_empty() {
                    x
                } else {
                    a.into_iter().chain(x).collect()
                };
                let z: f64 = with_skip
                    .iter()
                    .zip(&self.out_w)
                    .map(|(a, w)| a * w)
                    .sum::<f64>()
                    + self.out_b;
                1.0 + 4.0 * crate::training::heads::sigmoid(z)
            })
            .collect()
    }
}

/// Refuses a head the graph cannot carry: its tensors are 32-bit floats,
/// so a parameter or scaling value beyond `f32` range (finite in the
/// manifest) would become an infinity, and an SD below it a zero divisor,
/// in a file `predict` itself would refuse to score with.
fn check_f32(head: &crate::training::FittedHead) -> Result<(), ExportError> {
    let big = |v: &f64| !(v.abs() as f32).is_finite();
    if head
        .params
        .iter()
        .chain(&head.standardizer.mean)
        .chain(&head.standardizer.std)
        .any(big)
    {
        return Err(ExportError::Head(format!(
            "a parameter or scaling value is beyond the range of the graph's 32-bit floats ({:e})",
            f32::MAX
        )));
    }
    if head.standardizer.std.iter().any(|s| (*s as f32) == 0.0) {
        return Err(ExportError::Head(
            "a standard deviation is below the smallest 32-bit float: the graph would divide by zero".into(),
        ));
    }
    Ok(())
}

fn f32_bytes(values: impl IntoIterator<Item = f64>) -> Vec<u8> {
    values
        .into_iter()
        .flat_map(|v| (v as f32).to_le_bytes())
        .collect()
}

fn dim(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(crate) fn float_tensor(
    name: &str,
    dims: &[usize],
    values: impl IntoIterator<Item = f64>,
) -> TensorProto {
    TensorProto {
        dims: dims.iter().map(|&d| dim(d)).collect(),
        data_type: FLOAT,
        name: name.into(),
        raw_data: f32_bytes(values),
    }
}

/// Weights `out x n_in` widened with `extra` zero columns.
pub(crate) fn widen(w: &[f64], out: usize, n_in: usize, extra: usize) -> Vec<f64> {
    let mut v = Vec::with_capacity(out * (n_in + extra));
    for o in 0..out {
        v.extend_from_slice(&w[o * n_in..(o + 1) * n_in]);
        v.extend(std::iter::repeat_n(0.0, extra));
    }
    v
}

pub(crate) fn node(
    op: &str,
    name: &str,
    inputs: &[&str],
    output: &str,
    attrs: &[(&str, i64)],
) -> NodeProto {
    NodeProto {
        input: inputs.iter().map(|s| (*s).to_owned()).collect(),
        output: vec![output.to_owned()],
        name: name.into(),
        op_type: op.into(),
        attribute: attrs
            .iter()
            .map(|(n, i)| AttributeProto {
                name: (*n).into(),
                i: *i,
                r#type: ATTR_INT,
            })
            .collect(),
        domain: String::new(),
    }
}

fn value_info(name: &str, dims: &[Option<usize>]) -> ValueInfoProto {
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto {
                elem_type: FLOAT,
                shape: Some(TensorShapeProto {
                    dim: dims
                        .iter()
                        .map(|d| match d {
                            Some(n) => Dimension {
                                dim_value: Some(dim(*n)),
                                dim_param: None,
                            },
                            None => Dimension {
                                dim_value: None,
                                dim_param: Some(BATCH_DIM.into()),
                            },
                        })
                        .collect(),
                }),
            }),
        }),
    }
}

/// Builds the model for the manifest's ship head.
fn model(m: &Manifest) -> Result<ModelProto, ExportError> {
    let f = m.feature_order.len();
    let head = m.fitted();
    head.check_shape(f).map_err(ExportError::Head)?;
    check_f32(&head)?;
    let mut init = vec![
        float_tensor("feature_mean", &[f], head.standardizer.mean.iter().copied()),
        float_tensor("feature_std", &[f], head.standardizer.std.iter().copied()),
    ];
    let mut nodes = vec![
        node(
            "Sub",
            "standardise_centre",
            &[INPUT_FEATURES, "feature_mean"],
            "x_centred",
            &[],
        ),
        node(
            "Div",
            "standardise_scale",
            &["x_centred", "feature_std"],
            "x_std",
            &[],
        ),
    ];
    let output = match head.form(f).map_err(ExportError::Head)? {
        Form::Dense { .. } => {
            dense_graph(&head, f, &mut nodes, &mut init)?;
            "1 + 4 * sigmoid(z) on 1-5"
        }
        form => {
            closed::graph(&form, f, &mut nodes, &mut init)?;
            "z clipped to 1-5"
        }
    };
    finish(m, f, nodes, init, output)
}

/// The gradient heads' graph from `x_std` to `mos`.
fn dense_graph(
    head: &FittedHead,
    f: usize,
    nodes: &mut Vec<NodeProto>,
    init: &mut Vec<TensorProto>,
) -> Result<(), ExportError> {
    let layers = Layers::from_head(head, f)?;
    nodes.extend([node(
        "Concat",
        "append_onehot",
        &["x_std", INPUT_ONEHOT],
        "x_in",
        &[("axis", 1)],
    )]);
    // Hidden layers: the first reads x_in (F + 1 columns, the one-hot
    // column weighted zero), later ones the previous activation.
    let mut prev = "x_in".to_owned();
    let mut n_in = f;
    let mut extra = 1;
    for (k, (w, b, out)) in layers.hidden.iter().enumerate() {
        let (wn, bn, pre, act) = (
            format!("W{}", k + 1),
            format!("b{}", k + 1),
            format!("h{}_pre", k + 1),
            format!("h{}", k + 1),
        );
        init.push(float_tensor(
            &wn,
            &[*out, n_in + extra],
            widen(w, *out, n_in, extra),
        ));
        init.push(float_tensor(&bn, &[*out], b.iter().copied()));
        nodes.push(node(
            "Gemm",
            &format!("dense{}", k + 1),
            &[&prev, &wn, &bn],
            &pre,
            &[("transB", 1)],
        ));
        nodes.push(node("Tanh", &format!("tanh{}", k + 1), &[&pre], &act, &[]));
        prev = act;
        n_in = *out;
        extra = 0;
    }
    // Output layer: the MLP reads [last hidden, x_in] (skip path), the
    // linear head x_in alone; the one-hot column is weighted zero.
    let out_in = if layers.hidden.is_empty() {
        "x_in".to_owned()
    } else {
        nodes.push(node(
            "Concat",
            "append_skip",
            &[&prev, "x_in"],
            "z_in",
            &[("axis", 1)],
        ));
        "z_in".to_owned()
    };
    let width = layers.out_w.len() + 1;
    init.push(float_tensor(
        "W_out",
        &[1, width],
        layers.out_w.iter().copied().chain([0.0]),
    ));
    init.push(float_tensor("b_out", &[1], [layers.out_b]));
    init.push(float_tensor("four", &[], [4.0]));
    init.push(float_tensor("one", &[], [1.0]));
    init.push(int_tensor("squeeze_axes", &[1]));
    nodes.extend([
        node(
            "Gemm",
            "dense_out",
            &[&out_in, "W_out", "b_out"],
            "z",
            &[("transB", 1)],
        ),
        node("Sigmoid", "bound", &["z"], "s", &[]),
        node("Mul", "scale", &["s", "four"], "s4", &[]),
        node("Add", "shift", &["s4", "one"], "mos_col", &[]),
        node(
            "Squeeze",
            "to_batch",
            &["mos_col", "squeeze_axes"],
            OUTPUT_MOS,
            &[],
        ),
    ]);
    Ok(())
}

/// A 1-D int64 initialiser.
pub(crate) fn int_tensor(name: &str, values: &[i64]) -> TensorProto {
    TensorProto {
        dims: vec![dim(values.len())],
        data_type: INT64,
        name: name.into(),
        raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
    }
}

/// The model around the graph `nodes` / `init` (inputs, output, metadata).
fn finish(
    m: &Manifest,
    f: usize,
    nodes: Vec<NodeProto>,
    init: Vec<TensorProto>,
    output: &str,
) -> Result<ModelProto, ExportError> {
    let meta = |k: &str, v: String| StringStringEntryProto {
        key: k.into(),
        value: v,
    };
    Ok(ModelProto {
        ir_version: IR_VERSION,
        producer_name: "moshead".into(),
        producer_version: m.host.version.clone(),
        domain: String::new(),
        model_version: 1,
        doc_string: format!(
            "{}: {} MOS head for {} ({}); mos = {output}",
            m.id,
            m.head.spec.kind.as_str(),
            m.adapter.name,
            m.feature_schema
        ),
        graph: Some(GraphProto {
            node: nodes,
            name: m.id.clone(),
            initializer: init,
            doc_string: "features are raw; standardisation is the Sub/Div at the input; \
                         encoder_onehot is accepted and weighted zero"
                .into(),
            input: vec![
                value_info(INPUT_FEATURES, &[None, Some(f)]),
                value_info(INPUT_ONEHOT, &[None, Some(1)]),
            ],
            output: vec![value_info(OUTPUT_MOS, &[None])],
        }),
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        }],
        metadata_props: vec![
            meta("model_id", m.id.clone()),
            meta(
                "adapter",
                format!("{}@{}", m.adapter.name, m.adapter.version),
            ),
            meta("feature_schema", m.feature_schema.clone()),
            meta("feature_order", m.feature_order.join(",")),
            meta("head", m.head.spec.kind.as_str().into()),
            meta(
                "mos_range",
                format!("{},{}", m.mos_range[0], m.mos_range[1]),
            ),
        ],
    })
}

/// The serialised model for the manifest's ship head.
pub fn to_bytes(m: &Manifest) -> Result<Vec<u8>, ExportError> {
    Ok(model(m)?.encode_to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::{HeadKind, HeadSpec, SolveReport, Standardizer};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn head(kind: HeadKind, f: usize, hidden: usize, seed: u64) -> FittedHead {
        let mut spec = HeadSpec::new(kind).resolved(1);
        spec.hidden = hidden;
        let n = spec.model(f).unwrap().n_params();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        FittedHead {
            spec,
            standardizer: Standardizer {
                mean: (0..f).map(|_| rng.gen_range(-2.0..2.0)).collect(),
                std: (0..f).map(|_| rng.gen_range(0.1..3.0)).collect(),
            },
            params: (0..n).map(|_| rng.gen_range(-0.7..0.7)).collect(),
            solve: SolveReport {
                converged: true,
                ..SolveReport::default()
            },
            n_fit: 0,
            n_monitor: 0,
        }
    }

    /// The layer split agrees with the trainer's own forward pass, so the
    /// graph built from it computes the head.
    #[test]
    fn layers_reproduce_the_head() {
        for kind in [HeadKind::Mlp, HeadKind::Linear] {
            let (f, n) = (5, 40);
            let h = head(kind, f, 7, 3);
            let mut rng = ChaCha8Rng::seed_from_u64(4);
            let rows: Vec<Vec<f64>> = (0..n)
                .map(|_| (0..f).map(|_| rng.gen_range(-4.0..4.0)).collect())
                .collect();
            let flat: Vec<f64> = rows.iter().flatten().copied().collect();
            let x = ndarray::Array2::from_shape_vec((n, f), flat).unwrap();
            let want = h.predict(x.view());
            let got = Layers::from_head(&h, f).unwrap().eval(&rows);
            for (a, b) in want.iter().zip(&got) {
                assert!((a - b).abs() < 1e-12, "{kind:?}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn a_head_that_does_not_fit_is_refused() {
        let mut h = head(HeadKind::Linear, 4, 1, 1);
        h.params.pop();
        assert!(matches!(
            Layers::from_head(&h, 4),
            Err(ExportError::Head(m)) if m.contains("needs 5 parameters")
        ));
    }

    #[test]
    fn widen_appends_zero_columns() {
        assert_eq!(
            widen(&[1.0, 2.0, 3.0, 4.0], 2, 2, 1),
            vec![1.0, 2.0, 0.0, 3.0, 4.0, 0.0]
        );
    }

    /// A hand-checked encoding: prost writes what protoc would.
    #[test]
    fn encodes_like_protoc() {
        let op = OperatorSetIdProto {
            domain: String::new(),
            version: 17,
        };
        assert_eq!(op.encode_to_vec(), vec![0x10, 17]);
        let d = Dimension {
            dim_value: None,
            dim_param: Some("batch".into()),
        };
        assert_eq!(d.encode_to_vec(), b"\x12\x05batch".to_vec());
        let t = float_tensor("a", &[1], [1.0]);
        assert_eq!(
            t.encode_to_vec(),
            vec![0x08, 1, 0x10, 1, 0x42, 1, b'a', 0x4a, 4, 0, 0, 0x80, 0x3f],
            "dims unpacked (proto2), then data_type, name, raw_data"
        );
        let decoded = TensorProto::decode(t.encode_to_vec().as_slice()).unwrap();
        assert_eq!(decoded, t);
    }
}
