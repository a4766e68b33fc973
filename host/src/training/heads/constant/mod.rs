//! A head that exists only in tests: it predicts the mean MOS of its
//! training rows whatever the features.
//!
//! It is the proof that a head is one folder and one line: this folder and
//! its line in the list of [`super::HeadKind`] (under `#[cfg(test)]`, so the
//! product never offers it) are all it took, and the tests below show it
//! trains, predicts, is recorded in a manifest and read back, exports an
//! ONNX graph, and is refused by the libvmaf export with the usual message,
//! through the same paths as every other head.

use ndarray::Array2;

use super::{clip, family, Form, Head, Rows};
use crate::training::{FittedHead, HeadSpec, ResolvedSpec, Standardizer, Status, TrainError};

/// The mean MOS of the training rows. Parameters: that mean.
#[derive(Debug, Clone, Copy)]
pub struct ConstantHead;

impl Head for ConstantHead {
    fn name(&self) -> &'static str {
        "constant"
    }

    fn about(&self) -> &'static str {
        "The mean MOS of the training rows, whatever the features"
    }

    fn fit(
        &self,
        _spec: &HeadSpec,
        resolved: ResolvedSpec,
        rows: Rows<'_>,
        _status: &Status,
    ) -> Result<FittedHead, TrainError> {
        let n = rows.idx.len();
        let mean = rows.idx.iter().map(|&i| rows.y[i]).sum::<f64>() / n as f64;
        Ok(FittedHead {
            spec: resolved,
            standardizer: Standardizer::fit(rows.x, rows.idx),
            params: vec![mean],
            solve: family::closed_form_report(format!("the mean of {n} rows"), 0.0, 0, true),
            n_fit: n,
            n_monitor: 0,
        })
    }

    fn predict(&self, head: &FittedHead, xs: &Array2<f64>) -> Vec<f64> {
        let mean = head.params.first().copied().unwrap_or(f64::NAN);
        clip(vec![mean; xs.nrows()])
    }

    fn n_params(&self, _head: &FittedHead, _features: usize) -> Result<usize, String> {
        Ok(1)
    }

    fn form(&self, head: &FittedHead, f: usize) -> Result<Form, String> {
        let b = head.params.first().copied().ok_or("no mean")?;
        Ok(Form::Affine {
            w: vec![0.0; f],
            b,
        })
    }
}

#[cfg(test)]
mod tests {
    use ndarray::Array2;
    use prost::Message as _;

    use crate::export::onnx::{self, proto::ModelProto, ALLOWED_OPS, OUTPUT_MOS};
    use crate::export::vmaf;
    use crate::manifest::{Manifest, SpecRecord};
    use crate::training::heads::testing::data;
    use crate::training::{FittedHead, HeadKind, HeadSpec, Status};

    /// Fits the constant head on the even rows of 40 seeded rows of `f`
    /// features in 10 contents; returns the rows and the head.
    fn fitted(f: usize) -> (Array2<f64>, Vec<f64>, FittedHead) {
        let (x, y) = data(40, f, 7);
        let groups: Vec<u32> = (0..40).map(|i| i / 4).collect();
        let idx: Vec<usize> = (0..40).step_by(2).collect();
        let head = HeadSpec::new(HeadKind::Constant)
            .fit(x.view(), &y, &groups, &idx, 3, &Status::silent())
            .unwrap();
        (x, y, head)
    }

    /// The v1 linear fixture with its head replaced by `head`, written and
    /// read back as a manifest.
    fn recorded(head: &FittedHead) -> (Vec<u8>, Manifest) {
        const V1: &str = include_str!("../../../../../tests/data/manifests-v1/linear/v1_linear.json");
        let path = std::path::Path::new("v1_linear.json");
        let mut m = Manifest::parse(path, V1).unwrap();
        m.head.spec = SpecRecord::from(&head.spec);
        m.head.parameters = head.params.clone();
        m.head.n_parameters = head.params.len();
        m.standardization = (&head.standardizer).into();
        let bytes = m.to_bytes().unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        (bytes, Manifest::parse(path, &text).unwrap())
    }

    #[test]
    fn it_trains_and_predicts_the_mean_of_its_training_rows() {
        let (x, y, head) = fitted(6);
        let want = (0..40).step_by(2).map(|i| y[i]).sum::<f64>() / 20.0;
        let all = head.predict(x.view());
        assert_eq!(all.len(), 40);
        for p in all {
            assert!((p - want).abs() < 1e-12, "{p} vs {want}");
        }
        assert_eq!(head.spec.kind.as_str(), "constant");
        assert_eq!(head.n_fit, 20);
        assert!(head.check_shape(6).is_ok() && head.params.len() == 1);
    }

    #[test]
    fn it_is_recorded_by_name_and_read_back() {
        let (x, _, head) = fitted(6);
        let (bytes, back) = recorded(&head);
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(json["head"]["spec"]["type"], "constant");
        assert_eq!(back.head.spec.kind, HeadKind::Constant);
        assert_eq!(back.fitted().predict(x.view()), head.predict(x.view()));
        // A record with parameters the head cannot hold is refused.
        let mut bad = back.clone();
        bad.head.parameters.push(1.0);
        bad.head.n_parameters += 1;
        let text = String::from_utf8(bad.to_bytes().unwrap()).unwrap();
        let e = Manifest::parse(std::path::Path::new("bad.json"), &text).unwrap_err();
        assert!(
            e.to_string().contains("constant head over 6 features needs 1 parameters"),
            "{e}"
        );
    }

    #[test]
    fn it_exports_an_onnx_graph_of_its_mean() {
        let (_, _, head) = fitted(6);
        let (_, m) = recorded(&head);
        let model = ModelProto::decode(onnx::to_bytes(&m).unwrap().as_slice()).unwrap();
        let graph = model.graph.unwrap();
        for n in &graph.node {
            assert!(ALLOWED_OPS.contains(&n.op_type.as_str()), "{}", n.op_type);
        }
        assert_eq!(graph.output[0].name, OUTPUT_MOS);
        let init = |name: &str| -> Vec<f32> {
            let t = graph.initializer.iter().find(|t| t.name == name).unwrap();
            t.raw_data
                .chunks(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        };
        assert_eq!(init("b_out"), vec![head.params[0] as f32]);
        assert_eq!(init("W_out"), vec![0.0; 7], "six features and the one-hot");
    }

    #[test]
    fn the_libvmaf_export_refuses_it_with_the_usual_message() {
        let (_, _, head) = fitted(6);
        let (_, m) = recorded(&head);
        let want = "libvmaf cannot evaluate the constant head: it has no libsvm form; --head svr or --head ridge can be exported";
        assert_eq!(vmaf::check(&m).unwrap_err().to_string(), want);
        assert_eq!(
            vmaf::head_refusal(HeadKind::Constant).unwrap().to_string(),
            want
        );
        assert!(
            matches!(vmaf::to_bytes(&m), Err(crate::export::ExportError::Head(e)) if e == want)
        );
    }
}
