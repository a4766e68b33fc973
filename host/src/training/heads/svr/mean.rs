//! The mean of RBF SVRs of different widths, as one SVR head.
//!
//! Members fitted on the same rows with the same scaling share the
//! standardisation, so their mean is itself a kernel expansion:
//! `mean_m (sum_i coef_mi K_gm(sv_mi, x) - rho_m) = sum_m sum_i (coef_mi /
//! k) K_gm(sv_mi, x) - mean_m rho_m`, with the RBF width `g_m` of each
//! member's block of support vectors ([`super::SvrRecord::widths`]). The
//! head stores exactly that (support vectors repeated across members are
//! kept once per member), clips the mean to 1-5 like any SVR, and exports
//! to ONNX with one width per support vector. libvmaf evaluates a single
//! libsvm model, so it cannot evaluate a mean: the libvmaf export refuses
//! it.

use super::{KernelKind, SvrMember};
use crate::training::{FittedHead, HeadKind, TrainError};

/// The mean of `members` (at least two RBF SVR heads fitted on the same
/// rows with the same standardisation and formulation).
pub fn mean(members: &[FittedHead]) -> Result<FittedHead, TrainError> {
    let bad = |why: &str| Err(TrainError::Params(format!("mean of SVRs: {why}")));
    let Some(first) = members.first() else {
        return bad("no members");
    };
    if members.len() < 2 {
        return bad("needs at least two members");
    }
    let Some(head) = first.spec.svr.as_ref() else {
        return bad("a member is not an SVR");
    };
    let f = first.standardizer.mean.len();
    let k = members.len() as f64;
    let (mut rho, mut coef, mut sv) = (0.0, Vec::new(), Vec::new());
    let mut listed = Vec::with_capacity(members.len());
    let mut iterations = 0;
    let mut converged = true;
    for m in members {
        let Some(s) = m.spec.svr.as_ref().filter(|_| m.spec.kind == HeadKind::Svr) else {
            return bad("a member is not an SVR");
        };
        if s.kernel != KernelKind::Rbf || !s.members.is_empty() {
            return bad("every member must be a single RBF SVR");
        }
        if m.standardizer != first.standardizer
            || m.n_fit != first.n_fit
            || s.svm_type != head.svm_type
            || s.scaling != head.scaling
        {
            return bad("members differ in their rows, scaling or formulation");
        }
        let Some((r, c, v)) = super::unpack(&m.params, f) else {
            return bad("a member's parameters do not fit its features");
        };
        rho += r / k;
        coef.extend(c.iter().map(|c| c / k));
        sv.extend(v.iter().copied());
        listed.push(SvrMember {
            c: s.c,
            gamma: s.gamma,
            epsilon: s.epsilon,
            n_support: c.len(),
        });
        iterations += m.solve.iterations;
        converged &= m.solve.converged;
    }
    let mut params = Vec::with_capacity(1 + coef.len() + sv.len());
    params.push(rho);
    params.extend(&coef);
    params.extend(sv);
    let mut record = head.clone();
    record.n_support = coef.len();
    record.members = listed;
    let describe: Vec<String> = record
        .members
        .iter()
        .map(|m| format!("C {} gamma {}", m.c, m.gamma))
        .collect();
    let mut spec = first.spec.clone();
    spec.svr = Some(record);
    let mut solve = first.solve.clone();
    solve.solver = format!("mean of {} SVRs ({})", members.len(), describe.join("; "));
    solve.termination = crate::training::Termination::MeanOfSvrs {
        all_converged: converged,
        support_vectors: coef.len(),
    };
    solve.iterations = iterations;
    solve.best_iteration = iterations;
    solve.converged = converged;
    Ok(FittedHead {
        spec,
        standardizer: first.standardizer.clone(),
        params,
        solve,
        n_fit: first.n_fit,
        n_monitor: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::heads::testing::data;
    use crate::training::{HeadSpec, Status, MOS_RANGE};

    fn svr(c: f64, gamma: f64) -> HeadSpec {
        let mut s = HeadSpec::new(HeadKind::Svr);
        s.svr.c = c;
        s.svr.gamma = Some(gamma);
        s
    }

    /// `spec` fitted on the rows `idx` of `n` seeded rows of `f` features.
    fn fit_on(n: usize, f: usize, seed: u64, spec: HeadSpec, idx: &[usize]) -> FittedHead {
        let (x, y) = data(n, f, seed);
        let groups: Vec<u32> = (0..n as u32).collect();
        spec.fit(x.view(), &y, &groups, idx, 3, &Status::silent())
            .unwrap()
    }

    #[test]
    fn the_mean_predicts_the_clipped_mean_of_its_members_raw_decisions() {
        let (x, _) = data(60, 4, 9);
        let idx: Vec<usize> = (0..45).collect();
        let test: Vec<usize> = (45..60).collect();
        let fit = |s: HeadSpec| fit_on(60, 4, 9, s, &idx);
        let members = [fit(svr(4.0, 0.1)), fit(svr(1.0, 2.0)), fit(svr(16.0, 0.5))];
        let m = mean(&members).unwrap();
        m.check_shape(4).unwrap();
        let rec = m.spec.svr.as_ref().unwrap();
        assert_eq!(rec.members.len(), 3);
        assert_eq!(
            rec.n_support,
            members
                .iter()
                .map(|h| h.spec.svr.as_ref().unwrap().n_support)
                .sum::<usize>()
        );
        let xs = m.standardizer.apply_rows(x.view(), &test);
        let raw: Vec<Vec<f64>> = members
            .iter()
            .map(|h| {
                let s = h.spec.svr.as_ref().unwrap();
                super::super::decision(&h.params, s.kernel, &s.widths(), xs.view())
            })
            .collect();
        let got = m.predict_rows(x.view(), &test);
        for (t, g) in got.iter().enumerate() {
            let want =
                (raw.iter().map(|r| r[t]).sum::<f64>() / 3.0).clamp(MOS_RANGE[0], MOS_RANGE[1]);
            assert!((g - want).abs() < 1e-12, "row {t}: {g} vs {want}");
        }
        // Round trip through the manifest's JSON keeps the predictions.
        let back: FittedHead = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        assert_eq!(back.predict_rows(x.view(), &test), got);
    }

    #[test]
    fn members_must_share_rows_and_be_single_rbf_svrs() {
        let a: Vec<usize> = (0..30).collect();
        let b: Vec<usize> = (5..35).collect();
        let fit = |s: HeadSpec, idx: &[usize]| fit_on(40, 3, 2, s, idx);
        let one = fit(svr(1.0, 0.5), &a);
        assert!(mean(std::slice::from_ref(&one)).is_err());
        assert!(mean(&[one.clone(), fit(svr(1.0, 0.5), &b)]).is_err());
        assert!(mean(&[one.clone(), fit(HeadSpec::new(HeadKind::Ridge), &a)]).is_err());
        let pair = mean(&[one.clone(), fit(svr(2.0, 1.0), &a)]).unwrap();
        assert!(mean(&[pair, one]).is_err(), "a mean is no member");
    }
}
