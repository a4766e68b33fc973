//! The SVR as a [`Head`]: its SMO fit, clipped kernel-expansion predictions
//! and graph, the shape of its parameters and its libsvm model (refused for
//! a mean of SVRs of different widths).

use ndarray::Array2;

use super::{KernelKind, SvrScaling, SvrType};
use crate::training::heads::{
    clip, family, rank, Candidate, Form, Head, HeadKind, KernelForm, Libsvm, LibsvmError,
    LibvmafRefusal, Rank, Rows, Widths,
};
use crate::training::{
    FittedHead, HeadSpec, ResolvedSpec, SolveReport, Status, Termination, TrainError,
};

/// The RBF SVR's penalties `C` `--head auto` tries (features min-max
/// scaled, MOS on 1-5), every third power of two like the BVQA benchmarks'
/// grid.
pub const SVR_C: [f64; 4] = [2.0, 16.0, 128.0, 1024.0];

/// The RBF SVR's widths `--head auto` tries, as multiples of `1 / F`
/// (libsvm's default is 1): on 60 features about 2^-8, 2^-5 and 2^-2, the
/// benchmarks' grid.
pub const SVR_GAMMA_PER_FEATURE: [f64; 3] = [0.25, 2.0, 15.0];

/// The name of the candidate that averages one RBF SVR per width, their
/// `C` chosen together for the lowest inner RMSE of the mean.
pub const MEAN_OF_WIDTHS: &str = "svr-mean(best C per gamma)";

/// The name of VMAF's own training recipe, as a candidate and a baseline.
pub const VMAF_RECIPE: &str = "vmaf-recipe";

/// VMAF's own training recipe (its `vmaf_v0.6.1` model's `param_dict`):
/// nu-SVR with `C` 4, `nu` 0.9 and an RBF `gamma` of 0.04 on features
/// min-max scaled to [0, 1].
pub fn vmaf_recipe() -> HeadSpec {
    let mut spec = HeadSpec::new(HeadKind::Svr);
    spec.svr.svm_type = SvrType::Nu;
    spec.svr.kernel = KernelKind::Rbf;
    spec.svr.c = 4.0;
    spec.svr.nu = 0.9;
    spec.svr.gamma = Some(0.04);
    spec.svr.scaling = SvrScaling::Minmax;
    spec
}

/// Support vector regression (libsvm's epsilon- or nu-SVR).
#[derive(Debug, Clone, Copy)]
pub struct SvrHead;

fn type_name(t: SvrType) -> &'static str {
    match t {
        SvrType::Epsilon => "epsilon",
        SvrType::Nu => "nu",
    }
}

impl Head for SvrHead {
    fn name(&self) -> &'static str {
        "svr"
    }

    fn about(&self) -> &'static str {
        "Support vector regression (libsvm's epsilon- or nu-SVR)"
    }

    fn check(&self, spec: &HeadSpec) -> Result<(), TrainError> {
        spec.svr.check()
    }

    /// The recorded settings with the RBF width resolved; none for a mean
    /// of SVRs (no single spec refits it).
    fn refit(&self, resolved: &ResolvedSpec) -> Option<HeadSpec> {
        let r = resolved.svr.as_ref().filter(|r| r.members.is_empty())?;
        let mut spec = HeadSpec::new(resolved.kind);
        spec.svr = super::SvrSpec {
            svm_type: r.svm_type,
            kernel: r.kernel,
            c: r.c,
            gamma: Some(r.gamma),
            epsilon: r.epsilon,
            nu: r.nu.unwrap_or(spec.svr.nu),
            tol: r.tol,
            scaling: r.scaling,
            max_rows: r.max_rows,
            shrinking: r.shrinking,
        };
        Some(spec)
    }

    /// The RBF SVR over [`SVR_C`] x [`SVR_GAMMA_PER_FEATURE`], VMAF's own
    /// recipe ([`vmaf_recipe`]), then (last of all) the mean of one SVR per
    /// width of the grid.
    fn auto_candidates(&self) -> Vec<(Rank, Candidate)> {
        let mut out = Vec::new();
        for c in SVR_C {
            for g in SVR_GAMMA_PER_FEATURE {
                let mut spec = HeadSpec::new(HeadKind::Svr);
                spec.svr.c = c;
                out.push((
                    rank::SVR_GRID,
                    Candidate {
                        name: format!("svr(C={c},gamma={g}/F)"),
                        spec,
                        gamma_per_feature: Some(g),
                        mean_of_widths: false,
                    },
                ));
            }
        }
        out.push((
            rank::VMAF_RECIPE,
            Candidate {
                name: VMAF_RECIPE.to_owned(),
                spec: vmaf_recipe(),
                gamma_per_feature: None,
                mean_of_widths: false,
            },
        ));
        out.push((
            rank::SVR_MEAN,
            Candidate {
                name: MEAN_OF_WIDTHS.to_owned(),
                spec: HeadSpec::new(HeadKind::Svr),
                gamma_per_feature: None,
                mean_of_widths: true,
            },
        ));
        out
    }

    fn sampled_in_selection(&self) -> bool {
        true
    }

    /// VMAF's own recipe ([`vmaf_recipe`]): what a VMAF user would train.
    fn extra_baselines(&self) -> Vec<(&'static str, HeadSpec)> {
        vec![(VMAF_RECIPE, vmaf_recipe())]
    }

    fn mean_of(&self, fits: &[FittedHead]) -> Result<FittedHead, TrainError> {
        super::mean(fits)
    }

    fn fit(
        &self,
        spec: &HeadSpec,
        mut resolved: ResolvedSpec,
        rows: Rows<'_>,
        status: &Status,
    ) -> Result<FittedHead, TrainError> {
        status.update(|| format!("  SVR: {} rows", rows.idx.len().min(spec.svr.max_rows)));
        let fit = super::fit(&spec.svr, rows.x, rows.y, rows.idx, rows.seed)?;
        let sol = &fit.solution;
        let solve = SolveReport {
            termination: Termination::Smo {
                converged: sol.converged,
                tolerance: fit.record.tol,
                iterations: sol.iterations,
                support_vectors: fit.record.n_support,
            },
            ..family::closed_form_report(
                format!(
                    "libsvm SMO (WSS3, {}), {} {}-kernel SVR",
                    if fit.record.shrinking {
                        "shrinking"
                    } else {
                        "no shrinking"
                    },
                    type_name(fit.record.svm_type),
                    fit.record.kernel.as_str()
                ),
                0.0,
                sol.iterations,
                sol.converged,
            )
        };
        resolved.svr = Some(fit.record);
        Ok(FittedHead {
            spec: resolved,
            standardizer: fit.standardizer,
            params: fit.params,
            solve,
            n_fit: fit.rows,
            n_monitor: 0,
        })
    }

    fn predict(&self, head: &FittedHead, xs: &Array2<f64>) -> Vec<f64> {
        match &head.spec.svr {
            Some(s) => clip(super::decision(
                &head.params,
                s.kernel,
                &s.widths(),
                xs.view(),
            )),
            None => vec![f64::NAN; xs.nrows()],
        }
    }

    /// The count its stored support vectors imply.
    fn n_params(&self, head: &FittedHead, features: usize) -> Result<usize, String> {
        let s = head
            .spec
            .svr
            .as_ref()
            .ok_or("an SVR head without its `svr` settings")?;
        s.check()?;
        if !s.members.is_empty() {
            // Counts read from a file: their sum is checked, never
            // wrapped (a hostile sum past `usize::MAX` is refused).
            let members = s
                .members
                .iter()
                .try_fold(0usize, |acc, m| acc.checked_add(m.n_support));
            if members != Some(s.n_support) {
                return Err(format!(
                    "a mean of SVRs records {} support vectors but its members {}",
                    s.n_support,
                    members.map_or_else(
                        || "more than the largest count".to_owned(),
                        |n| n.to_string()
                    )
                ));
            }
        }
        let m = head.params.len().saturating_sub(1) / (features + 1);
        if m != s.n_support {
            return Err(format!(
                "SVR records {} support vectors but its parameters hold {m}",
                s.n_support
            ));
        }
        Ok(1 + m * (features + 1))
    }

    fn summary(&self, spec: &ResolvedSpec) -> String {
        let Some(s) = &spec.svr else {
            return self.name().to_owned();
        };
        format!(
            "svr ({}-SVR, {} kernel, C {}, gamma {}, epsilon {:.4}{}, {} scaling, {} support vectors)",
            type_name(s.svm_type),
            s.kernel.as_str(),
            s.c,
            s.gamma,
            s.epsilon,
            s.nu.map_or(String::new(), |nu| format!(", nu {nu}")),
            match s.scaling {
                SvrScaling::Minmax => "min-max",
                SvrScaling::Standard => "z-score",
            },
            s.n_support
        )
    }

    /// An SVR without support vectors gets one with a zero coefficient, so
    /// every tensor of the graph has a positive size.
    fn form(&self, head: &FittedHead, f: usize) -> Result<Form, String> {
        let settings = head
            .spec
            .svr
            .as_ref()
            .ok_or_else(|| "an SVR head without its settings".to_owned())?;
        let (rho, coef, sv) = super::unpack(&head.params, f)
            .ok_or_else(|| "SVR parameters do not fit the features".to_owned())?;
        let (m, coef, sv): (usize, Vec<f64>, Vec<f64>) = if coef.is_empty() {
            (1, vec![0.0], vec![0.0; f])
        } else {
            (coef.len(), coef.to_vec(), sv.iter().copied().collect())
        };
        let kernel = match settings.kernel {
            KernelKind::Rbf if settings.members.is_empty() => {
                KernelForm::Rbf(Widths::One(settings.gamma))
            }
            KernelKind::Rbf => {
                // A mean of SVRs: one width per support vector.
                let g: Vec<f64> = settings
                    .widths()
                    .iter()
                    .flat_map(|&(g, k)| std::iter::repeat_n(g, k))
                    .collect();
                if g.len() != m {
                    return Err("the SVR members' support vectors do not add up".into());
                }
                KernelForm::Rbf(Widths::Each(g))
            }
            KernelKind::Linear => KernelForm::Linear,
        };
        Ok(Form::Expansion {
            rho,
            coef,
            sv,
            kernel,
        })
    }

    fn libvmaf_refusal(&self) -> Option<&'static str> {
        None
    }

    fn libsvm(&self, spec: &ResolvedSpec, p: &[f64], f: usize) -> Result<Libsvm, LibsvmError> {
        if spec.svr.as_ref().is_some_and(|s| !s.members.is_empty()) {
            return Err(LibsvmError::Refused(LibvmafRefusal {
                head: "svr-mean",
                why: "it is a mean of SVRs of different RBF widths, which no single libsvm model expresses",
            }));
        }
        let s = spec
            .svr
            .as_ref()
            .ok_or_else(|| LibsvmError::Bad("no SVR settings".into()))?;
        let (rho, coef, sv) = super::unpack(p, f).ok_or_else(|| {
            LibsvmError::Bad("parameters do not fit the feature count".into())
        })?;
        Ok(Libsvm {
            svm_type: match s.svm_type {
                SvrType::Epsilon => "epsilon_svr",
                SvrType::Nu => "nu_svr",
            },
            kernel: s.kernel.as_str(),
            gamma: s.gamma,
            rho,
            coef: coef.to_vec(),
            sv: sv.iter().copied().collect(),
            c: Some(s.c),
            param_gamma: (s.kernel == KernelKind::Rbf).then_some(s.gamma),
            nu: s.nu,
            epsilon: (s.svm_type == SvrType::Epsilon).then_some(s.epsilon),
            ridge_alpha: None,
        })
    }
}
