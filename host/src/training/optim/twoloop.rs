//! The vector kernels of the L-BFGS two-loop recursion ([`super::Lbfgs`]):
//! an in-place update of a vector fused with the dot product the recursion
//! takes of the updated vector next, in the bits argmin's L-BFGS gets.
//!
//! argmin's recursion over `ndarray` vectors computes `v - x * a` (or `v +
//! x * c`, or `v * c`) into a new vector and then the dot product of it
//! with the next pair's vector by `ndarray`'s `dot`, which sums eight
//! interleaved partial products over whole chunks of eight, combines them
//! as `((0 + (p0 + p4)) + (p1 + p5)) + (p2 + p6)) + (p3 + p7)` and adds the
//! remaining products one by one. The kernels here do the same operations
//! in the same order in one pass over the vectors (no fused multiply-adds:
//! the same bits on every instruction set), compiled for AVX2 when the CPU
//! has it. A correction pair is two vectors of the parameter count (about
//! 6,500 for the small corpora's MLP), 40 pairs are several megabytes, and
//! the recursion reads them twice per iteration: one pass instead of two
//! per pair and loop is what is saved.

/// What is done to each element `v[i]` before the dot product.
#[derive(Clone, Copy)]
pub enum Update<'a> {
    /// `v[i] + x[i] * c` (`v - x * a` is `v + x * (-a)`, to the bit).
    Axpy(f64, &'a [f64]),
    /// `v[i] * c`.
    Scale(f64),
}

/// Applies `update` to `v` in place, then returns `ndarray`'s `w . v` of
/// the updated `v` (0 without `w`). `x` and `w` have the length of `v`.
pub fn update_dot(v: &mut [f64], update: Update<'_>, w: Option<&[f64]>) -> f64 {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2")]
        fn avx2(v: &mut [f64], update: Update<'_>, w: Option<&[f64]>) -> f64 {
            portable(v, update, w)
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            return unsafe { avx2(v, update, w) };
        }
    }
    portable(v, update, w)
}

#[inline(always)]
fn portable(v: &mut [f64], update: Update<'_>, w: Option<&[f64]>) -> f64 {
    match (update, w) {
        (Update::Axpy(c, x), Some(w)) => axpy_dot(v, c, x, w),
        (Update::Scale(c), Some(w)) => scale_dot(v, c, w),
        (Update::Axpy(c, x), None) => {
            for (vi, xi) in v.iter_mut().zip(x) {
                *vi += xi * c;
            }
            0.0
        }
        (Update::Scale(c), None) => {
            for vi in v.iter_mut() {
                *vi *= c;
            }
            0.0
        }
    }
}

/// `v += x * c`, then `w . v`, in one pass over whole chunks of eight.
#[inline(always)]
fn axpy_dot(v: &mut [f64], c: f64, x: &[f64], w: &[f64]) -> f64 {
    let n = v.len().min(x.len()).min(w.len());
    let whole = n - n % 8;
    let mut p = [0.0f64; 8];
    let chunks = v[..whole]
        .chunks_exact_mut(8)
        .zip(x[..whole].chunks_exact(8))
        .zip(w[..whole].chunks_exact(8));
    for ((vs, xs), ws) in chunks {
        for j in 0..8 {
            let u = vs[j] + xs[j] * c;
            vs[j] = u;
            p[j] += ws[j] * u;
        }
    }
    let tail = v[whole..n].iter_mut().zip(&x[whole..n]).zip(&w[whole..n]);
    combine(
        &p,
        tail.map(|((vi, xi), wi)| {
            *vi += xi * c;
            wi * *vi
        }),
    )
}

/// `v *= c`, then `w . v`, in one pass over whole chunks of eight.
#[inline(always)]
fn scale_dot(v: &mut [f64], c: f64, w: &[f64]) -> f64 {
    let n = v.len().min(w.len());
    let whole = n - n % 8;
    let mut p = [0.0f64; 8];
    for (vs, ws) in v[..whole]
        .chunks_exact_mut(8)
        .zip(w[..whole].chunks_exact(8))
    {
        for j in 0..8 {
            let u = vs[j] * c;
            vs[j] = u;
            p[j] += ws[j] * u;
        }
    }
    let tail = v[whole..n].iter_mut().zip(&w[whole..n]);
    combine(
        &p,
        tail.map(|(vi, wi)| {
            *vi *= c;
            wi * *vi
        }),
    )
}

/// `ndarray`'s `a . b` (the same bits), compiled for AVX2 when available.
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2")]
        fn avx2(a: &[f64], b: &[f64]) -> f64 {
            dot_portable(a, b)
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            return unsafe { avx2(a, b) };
        }
    }
    dot_portable(a, b)
}

#[inline(always)]
fn dot_portable(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let whole = n - n % 8;
    let mut p = [0.0f64; 8];
    for (xs, ys) in a[..whole].chunks_exact(8).zip(b[..whole].chunks_exact(8)) {
        for j in 0..8 {
            p[j] += xs[j] * ys[j];
        }
    }
    combine(&p, a[whole..n].iter().zip(&b[whole..n]).map(|(x, y)| x * y))
}

/// `ndarray`'s combination of the eight partial sums, then the remaining
/// products one by one.
#[inline(always)]
fn combine(p: &[f64; 8], tail: impl Iterator<Item = f64>) -> f64 {
    let mut sum = 0.0;
    sum += p[0] + p[4];
    sum += p[1] + p[5];
    sum += p[2] + p[6];
    sum += p[3] + p[7];
    for t in tail {
        sum += t;
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array1;

    fn vector(n: usize, seed: u64) -> Array1<f64> {
        Array1::from_iter((0..n).map(|i| {
            let h = (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ seed;
            ((h >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 10f64.powi((i % 7) as i32 - 3)
        }))
    }

    #[test]
    fn the_bits_of_argmins_ndarray_operations() {
        for n in [0, 1, 7, 8, 9, 16, 23, 6499] {
            let (v, x, w) = (vector(n, 1), vector(n, 2), vector(n, 3));
            let a = -0.37;
            // argmin: q = q - y * a, then s . q.
            let want = &v - &(&x * a);
            let mut got = v.to_vec();
            let d = update_dot(
                &mut got,
                Update::Axpy(-a, x.as_slice().unwrap()),
                w.as_slice(),
            );
            let bits = |s: &[f64]| s.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&got), bits(want.as_slice().unwrap()), "{n}");
            assert_eq!(d.to_bits(), w.dot(&want).to_bits(), "{n}");
            // r = r + s * c.
            let want = &v + &(&x * 1.7);
            let mut got = v.to_vec();
            update_dot(&mut got, Update::Axpy(1.7, x.as_slice().unwrap()), None);
            assert_eq!(bits(&got), bits(want.as_slice().unwrap()), "{n}");
            // r = q * gamma, then y . r.
            let want = &v * 0.013;
            let mut got = v.to_vec();
            let d = update_dot(&mut got, Update::Scale(0.013), Some(x.as_slice().unwrap()));
            assert_eq!(bits(&got), bits(want.as_slice().unwrap()), "{n}");
            assert_eq!(d.to_bits(), x.dot(&want).to_bits(), "{n}");
            assert_eq!(
                dot(v.as_slice().unwrap(), w.as_slice().unwrap()).to_bits(),
                v.dot(&w).to_bits()
            );
        }
    }
}
