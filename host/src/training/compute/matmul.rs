//! Matrix products of the MLP's passes, through the `gemm` crate.
//!
//! ndarray's built-in product (`matrixmultiply`) reached 30-60 GFLOP/s on
//! the MLP's shapes (a 2,048-row chunk times a 64 x 64 or 11 x 64 layer);
//! `gemm`, which picks AVX2 or AVX-512 kernels at run time and handles
//! transposed operands by strides, reached 50-85 GFLOP/s on the same shapes
//! and machine (single thread; the passes already run one chunk per thread).
//! [`gemm_into`] is the one safe entry point: it checks shapes, so the
//! unsafe call below only ever sees consistent dimensions and strides.

use gemm::{gemm, Parallelism};
use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2, ArrayViewMut2};

use super::Compute;

/// `c = a b` (or `c += a b` when `accumulate`), for any memory layouts.
///
/// Returns `false`, leaving `c` untouched, when the shapes do not chain
/// (`a` is m x k, `b` k x n, `c` m x n).
pub fn gemm_into<A: Compute>(
    a: ArrayView2<'_, A>,
    b: ArrayView2<'_, A>,
    mut c: ArrayViewMut2<'_, A>,
    accumulate: bool,
) -> bool {
    let (m, k) = a.dim();
    let (k2, n) = b.dim();
    if k2 != k || c.dim() != (m, n) {
        return false;
    }
    if m == 0 || n == 0 {
        return true;
    }
    if k == 0 {
        if !accumulate {
            c.fill(A::zero());
        }
        return true;
    }
    let (ars, acs) = (a.strides()[0], a.strides()[1]);
    let (brs, bcs) = (b.strides()[0], b.strides()[1]);
    let (crs, ccs) = (c.strides()[0], c.strides()[1]);
    if [ars, acs, brs, bcs, crs, ccs].iter().any(|s| *s < 0) {
        // Reversed views never occur in the passes; ndarray's own product
        // handles them rather than relying on gemm's negative strides.
        let beta = if accumulate { A::one() } else { A::zero() };
        general_mat_mul(A::one(), &a, &b, beta, &mut c);
        return true;
    }
    // SAFETY: the dimensions were checked to chain and are non-zero; each
    // pointer and its (non-negative) strides come from a live ndarray view
    // of exactly that shape, so every element gemm addresses is inside its
    // array; `c` is a
    // unique borrow, so it aliases neither `a` nor `b`. gemm supports f32
    // and f64, the only `Compute` types.
    unsafe {
        gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            ccs,
            crs,
            accumulate,
            a.as_ptr(),
            acs,
            ars,
            b.as_ptr(),
            bcs,
            brs,
            A::one(),
            A::one(),
            false,
            false,
            false,
            Parallelism::None,
        );
    }
    true
}

/// `a b` as a new array (`None` when the shapes do not chain).
pub fn matmul<A: Compute>(a: ArrayView2<'_, A>, b: ArrayView2<'_, A>) -> Option<Array2<A>> {
    let mut c = Array2::zeros((a.nrows(), b.ncols()));
    gemm_into(a, b, c.view_mut(), false).then_some(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{s, Array2};

    fn m(r: usize, c: usize, seed: usize) -> Array2<f64> {
        Array2::from_shape_fn((r, c), |(i, j)| {
            (((i * 31 + j * 17 + seed * 7) % 23) as f64 - 11.0) * 0.13
        })
    }

    fn close(a: &Array2<f64>, b: &Array2<f64>, tol: f64) -> bool {
        a.dim() == b.dim() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tol)
    }

    #[test]
    fn matches_ndarray_for_every_layout() {
        for (mm, k, n) in [
            (1, 1, 1),
            (7, 3, 5),
            (130, 64, 64),
            (64, 257, 11),
            (3, 0, 4),
        ] {
            let a = m(mm, k, 1);
            let b = m(k, n, 2);
            let want = a.dot(&b);
            assert!(close(&matmul(a.view(), b.view()).unwrap(), &want, 1e-12));
            // Transposed operands (column-major views).
            let at = a.t().to_owned();
            let bt = b.t().to_owned();
            assert!(close(&matmul(at.t(), bt.t()).unwrap(), &want, 1e-12));
            // Accumulation into a strided destination.
            let mut big = Array2::<f64>::ones((mm * 2, n));
            let dst = big.slice_mut(s![..;2, ..]);
            assert!(gemm_into(a.view(), b.view(), dst, true));
            assert!(close(
                &big.slice(s![..;2, ..]).to_owned(),
                &(want.clone() + 1.0),
                1e-12
            ));
            assert!(big.slice(s![1..;2, ..]).iter().all(|v| *v == 1.0));
            // f32.
            let a32 = a.mapv(|v| v as f32);
            let b32 = b.mapv(|v| v as f32);
            let got = matmul(a32.view(), b32.view()).unwrap().mapv(f64::from);
            assert!(close(&got, &want, 1e-4));
        }
    }

    #[test]
    fn reversed_views_take_the_ndarray_path() {
        let a = m(6, 5, 1);
        let b = m(5, 4, 2);
        let ar = a.slice(s![..;-1, ..]);
        let want = ar.dot(&b);
        assert!(close(&matmul(ar, b.view()).unwrap(), &want, 1e-12));
        let mut c = Array2::<f64>::ones((6, 4));
        assert!(gemm_into(ar, b.view(), c.slice_mut(s![.., ..;-1]), true));
        let mut want_c = Array2::<f64>::ones((6, 4));
        want_c
            .slice_mut(s![.., ..;-1])
            .zip_mut_with(&want, |c, w| *c += w);
        assert!(close(&c, &want_c, 1e-12));
    }

    #[test]
    fn mismatched_shapes_are_refused() {
        let a = m(3, 4, 1);
        let b = m(5, 2, 2);
        assert!(matmul(a.view(), b.view()).is_none());
        let mut c = Array2::<f64>::zeros((3, 3));
        assert!(!gemm_into(a.view(), m(4, 2, 3).view(), c.view_mut(), false));
    }
}
