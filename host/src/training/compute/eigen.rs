//! The eigendecomposition of a small symmetric matrix (cyclic Jacobi
//! rotations), for the ridge head's exact solve and its leave-one-out
//! shortcut.
//!
//! Jacobi is slow for large matrices (`O(n^3)` per sweep) but the ridge
//! head decomposes `X^T X` with one row and column per feature (at most a
//! few hundred), where it takes well under a millisecond, and it is
//! accurate to a few units in the last place of the largest eigenvalue.

use ndarray::Array2;

/// Eigenvalues and orthonormal eigenvectors of a symmetric matrix:
/// `a = v diag(values) v^T`, eigenvector `k` in column `k` of `v`.
#[derive(Debug, Clone, PartialEq)]
pub struct SymmetricEigen {
    /// Eigenvalues, in no particular order.
    pub values: Vec<f64>,
    /// Eigenvectors as columns.
    pub vectors: Array2<f64>,
}

/// Sweeps after which an unconverged decomposition is returned anyway
/// (convergence is quadratic; 10-12 sweeps suffice in practice).
const MAX_SWEEPS: usize = 64;

/// Decomposes the symmetric matrix `a` (only its upper triangle is read).
/// `None` when `a` is not square or holds a non-finite value.
pub fn symmetric_eigen(a: &Array2<f64>) -> Option<SymmetricEigen> {
    let n = a.nrows();
    if a.ncols() != n || a.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let mut m = a.clone();
    for i in 0..n {
        for j in 0..i {
            m[[i, j]] = m[[j, i]];
        }
    }
    let mut v = Array2::<f64>::eye(n);
    let scale = m.iter().fold(0.0f64, |s, x| s.max(x.abs()));
    if scale == 0.0 {
        return Some(SymmetricEigen {
            values: vec![0.0; n],
            vectors: v,
        });
    }
    for _ in 0..MAX_SWEEPS {
        let off: f64 = (0..n)
            .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
            .map(|(i, j)| m[[i, j]] * m[[i, j]])
            .sum();
        if off.sqrt() <= f64::EPSILON * scale * 1e-2 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = m[[p, q]];
                if apq == 0.0 {
                    continue;
                }
                let (app, aqq) = (m[[p, p]], m[[q, q]]);
                // The rotation that zeroes m[p, q] (Golub & Van Loan 8.5.2).
                let theta = (aqq - app) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (mkp, mkq) = (m[[k, p]], m[[k, q]]);
                    m[[k, p]] = c * mkp - s * mkq;
                    m[[k, q]] = s * mkp + c * mkq;
                }
                for k in 0..n {
                    let (mpk, mqk) = (m[[p, k]], m[[q, k]]);
                    m[[p, k]] = c * mpk - s * mqk;
                    m[[q, k]] = s * mpk + c * mqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[[k, p]], v[[k, q]]);
                    v[[k, p]] = c * vkp - s * vkq;
                    v[[k, q]] = s * vkp + c * vkq;
                }
            }
        }
    }
    Some(SymmetricEigen {
        values: (0..n).map(|i| m[[i, i]]).collect(),
        vectors: v,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn reconstructs_a_random_gram_matrix() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for n in [1, 2, 5, 17, 40] {
            let x = Array2::from_shape_fn((n + 7, n), |_| rng.gen_range(-1.0..1.0));
            let a = x.t().dot(&x);
            let e = symmetric_eigen(&a).unwrap();
            let d = Array2::from_diag(&ndarray::Array1::from(e.values.clone()));
            let back = e.vectors.dot(&d).dot(&e.vectors.t());
            let err = (&back - &a).iter().fold(0.0f64, |s, v| s.max(v.abs()));
            assert!(err < 1e-12 * (n as f64 + 7.0), "n {n}: {err}");
            let ortho = e.vectors.t().dot(&e.vectors) - Array2::<f64>::eye(n);
            assert!(ortho.iter().all(|v| v.abs() < 1e-13), "n {n}");
            assert!(e.values.iter().all(|l| *l > -1e-12), "a Gram matrix is PSD");
        }
    }

    #[test]
    fn a_diagonal_or_zero_matrix_is_its_own_decomposition() {
        let a = Array2::from_diag(&ndarray::arr1(&[3.0, -1.0, 0.5]));
        let e = symmetric_eigen(&a).unwrap();
        assert_eq!(e.values, vec![3.0, -1.0, 0.5]);
        assert_eq!(
            symmetric_eigen(&Array2::zeros((2, 2))).unwrap().values,
            vec![0.0; 2]
        );
        assert!(symmetric_eigen(&Array2::zeros((2, 3))).is_none());
    }
}
