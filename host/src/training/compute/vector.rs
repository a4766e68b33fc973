//! Vector kernels of the MLP's passes: matrix-vector products with a fixed
//! summation order the compiler vectorises, and slice accumulation.

use ndarray::{Array1, ArrayView2};

use super::Compute;

/// `out[i] += m[i, ..] . w` for every row `i`: row dot products with eight
/// interleaved partial sums (a fixed order the compiler vectorises; ndarray
/// runs a matrix-vector product of `f32` through a scalar generic path).
pub fn add_matvec<A: Compute>(m: ArrayView2<'_, A>, w: &Array1<A>, out: &mut Array1<A>) {
    let Some(w) = w.as_slice() else {
        *out += &m.dot(w);
        return;
    };
    for (row, o) in m.outer_iter().zip(out.iter_mut()) {
        *o += match row.as_slice() {
            Some(r) => dot8(r, w),
            None => row.iter().zip(w).fold(A::zero(), |s, (a, b)| s + *a * *b),
        };
    }
}

/// `a . b` with eight interleaved partial sums, combined pairwise.
#[inline(always)]
pub fn dot8<A: Compute>(a: &[A], b: &[A]) -> A {
    let mut acc = [A::zero(); 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .fold(A::zero(), |s, (x, y)| s + *x * *y);
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// `m^T d`, accumulated row by row (contiguous, vectorisable axpy updates).
pub fn tmatvec<A: Compute>(m: ArrayView2<'_, A>, d: &Array1<A>) -> impl Iterator<Item = A> {
    let mut acc = Array1::<A>::zeros(m.ncols());
    for (row, &di) in m.outer_iter().zip(d.iter()) {
        acc.scaled_add(di, &row);
    }
    acc.into_iter()
}

/// `dst[i] += src[i]`.
pub fn add(dst: &mut [f64], src: impl Iterator<Item = f64>) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d += s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot8_and_matvec_match_plain_sums() {
        let a: Vec<f64> = (0..19).map(|i| i as f64 * 0.25 - 2.0).collect();
        let b: Vec<f64> = (0..19).map(|i| 1.0 - i as f64 * 0.125).collect();
        let plain: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot8(&a, &b) - plain).abs() < 1e-12);
        let m = ndarray::Array2::from_shape_vec((1, 19), a).unwrap();
        let mut out = Array1::from_elem(1, 1.0);
        add_matvec(m.view(), &Array1::from(b.clone()), &mut out);
        assert!((out[0] - 1.0 - plain).abs() < 1e-12);
        let t: Vec<f64> = tmatvec(m.view(), &Array1::from_elem(1, 2.0)).collect();
        assert!((t[3] - 2.0 * m[[0, 3]]).abs() < 1e-15);
    }
}
