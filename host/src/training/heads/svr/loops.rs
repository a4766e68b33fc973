//! The SMO's inner loops ([`super::smo`]), written so that the compiler
//! vectorises them: the working-set scans and the gradient update. The
//! active variables ([`super::active`]) are two halves (`alpha`, sign `+1`,
//! and `alpha*`, sign `-1`), contiguous; each scan runs in lanes of
//! [`LANES`] with branch-free updates,
//! the lanes merged at the end. Every value is computed by the same
//! operations as libsvm's scalar loops, and ties go where libsvm's `>=` /
//! `<=` send them (the last index of the maximum or minimum), so the chosen
//! pair, and the solver's whole path, are libsvm's to the bit.
//!
//! A variable's bound is read from `alpha` itself: with `C > 0`, "not at
//! the upper bound" is `alpha < C` and "not at the lower bound" is
//! `alpha > 0`, which is what libsvm's status flags say.

/// Lanes per scan step (four `f64` in an AVX2 register).
const LANES: usize = 4;

/// The libsvm curvature used when a pair's is not positive.
const TAU: f64 = 1e-12;

/// No candidate in a lane (indices are kept as `f64`, exact below 2^53,
/// so that the lanes' updates are all floating-point blends).
const NONE: f64 = -1.0;

/// The best of several lanes' `(value, index)`: the largest (or, with
/// `min`, the smallest) value, ties to the largest index; `None` without
/// a candidate (index [`NONE`]).
fn merge_lanes(cands: impl Iterator<Item = (f64, f64)>, min: bool) -> Option<(f64, usize)> {
    merge(
        cands.filter(|c| c.1 >= 0.0).map(|(v, i)| (v, i as usize)),
        min,
    )
}

/// The best of several `(value, index)` candidates: the largest (or, with
/// `min`, the smallest) value, ties to the largest index.
fn merge(cands: impl Iterator<Item = (f64, usize)>, min: bool) -> Option<(f64, usize)> {
    let mut best: Option<(f64, usize)> = None;
    for (v, i) in cands {
        let better = match best {
            None => true,
            Some((b, bi)) => {
                let strictly = if min { v < b } else { v > b };
                strictly || (v == b && i > bi)
            }
        };
        if better {
            best = Some((v, i));
        }
    }
    best
}

/// One half's candidate for the first index of the working set (libsvm's
/// first loop): the upper half (`TOP`, sign `+1`) offers `-g` where
/// `alpha < c`, the lower half `g` where `alpha > 0`. `(value, index)`,
/// the last index of the largest value; `None` when no variable can move.
pub fn half_max<const TOP: bool>(g: &[f64], alpha: &[f64], c: f64) -> Option<(f64, usize)> {
    #[inline(always)]
    fn portable<const TOP: bool>(g: &[f64], alpha: &[f64], c: f64) -> Option<(f64, usize)> {
        #[inline(always)]
        fn step<const TOP: bool>(
            best: &mut [f64; LANES],
            idx: &mut [f64; LANES],
            j0: f64,
            gs: &[f64],
            al: &[f64],
            c: f64,
        ) {
            for (l, (&gj, &aj)) in gs.iter().zip(al).enumerate() {
                let (free, v) = if TOP { (aj < c, -gj) } else { (aj > 0.0, gj) };
                let take = free & (v >= best[l]);
                best[l] = if take { v } else { best[l] };
                idx[l] = if take { j0 + l as f64 } else { idx[l] };
            }
        }
        let alpha = &alpha[..g.len()];
        let mut best = [f64::NEG_INFINITY; LANES];
        let mut idx = [NONE; LANES];
        let mut j0 = 0;
        for (gs, al) in g.chunks_exact(LANES).zip(alpha.chunks_exact(LANES)) {
            step::<TOP>(&mut best, &mut idx, j0 as f64, gs, al, c);
            j0 += LANES;
        }
        step::<TOP>(&mut best, &mut idx, j0 as f64, &g[j0..], &alpha[j0..], c);
        merge_lanes(best.into_iter().zip(idx), false)
    }
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2")]
        fn avx2<const TOP: bool>(g: &[f64], alpha: &[f64], c: f64) -> Option<(f64, usize)> {
            portable::<TOP>(g, alpha, c)
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            return unsafe { avx2::<TOP>(g, alpha, c) };
        }
    }
    portable::<TOP>(g, alpha, c)
}

/// One half's inputs to the second scan of the working-set selection.
pub struct Half<'a> {
    /// The half's gradients.
    pub g: &'a [f64],
    /// The half's variables.
    pub alpha: &'a [f64],
    /// The upper bound `C`.
    pub c: f64,
    /// The first index's `gmax` (for nu-SVR, its side's).
    pub gmax: f64,
    /// The first index's kernel diagonal `qd_i` and kernel row `k_i`;
    /// `None`: no first index on this side (nu-SVR).
    pub first: Option<(f64, &'a [f32])>,
    /// The kernel diagonal.
    pub diag: &'a [f64],
}

/// The lanes' running results of the second scan.
struct Acc {
    gmax2: [f64; LANES],
    best: [f64; LANES],
    idx: [f64; LANES],
}

impl Acc {
    /// Variable `j` (lane `l`: gradient `gj`, value `aj`, diagonal `dj`,
    /// kernel `kj` with the first index) given `(c, gmax, qd_i)`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn lane<const TOP: bool>(
        &mut self,
        l: usize,
        j: f64,
        (gj, aj, dj, kj): (f64, f64, f64, f32),
        (c, gmax, qd_i): (f64, f64, f64),
    ) {
        let (free, v) = if TOP { (aj > 0.0, gj) } else { (aj < c, -gj) };
        let up = free & (v >= self.gmax2[l]);
        self.gmax2[l] = if up { v } else { self.gmax2[l] };
        let gd = if TOP { gmax + gj } else { gmax - gj };
        let quad = qd_i + dj - 2.0 * f64::from(kj);
        let obj = -(gd * gd) / if quad > 0.0 { quad } else { TAU };
        let take = free & (gd > 0.0) & (obj <= self.best[l]);
        self.best[l] = if take { obj } else { self.best[l] };
        self.idx[l] = if take { j } else { self.idx[l] };
    }
}

/// One half's scan for the second index of the working set (libsvm's
/// second loop): the upper half (`TOP`) takes variables with `alpha > 0`,
/// gradient difference `gmax + g`, the lower half those with `alpha < c`,
/// `gmax - g`. Returns `(gmax2, best)`: the largest `g` (upper) or `-g`
/// (lower) over the movable variables, and the last index of the smallest
/// objective decrease `-(gd^2) / quad` over those with `gd > 0`.
pub fn half_min<const TOP: bool>(h: &Half<'_>) -> (f64, Option<(f64, usize)>) {
    #[inline(always)]
    fn portable<const TOP: bool>(h: &Half<'_>) -> (f64, Option<(f64, usize)>) {
        let mut acc = Acc {
            gmax2: [f64::NEG_INFINITY; LANES],
            best: [f64::INFINITY; LANES],
            idx: [NONE; LANES],
        };
        let Some((qd_i, k_i)) = h.first else {
            // Only gmax2.
            let mut gmax2 = f64::NEG_INFINITY;
            for (&gj, &aj) in h.g.iter().zip(h.alpha) {
                let (free, v) = if TOP { (aj > 0.0, gj) } else { (aj < h.c, -gj) };
                if free && v >= gmax2 {
                    gmax2 = v;
                }
            }
            return (gmax2, None);
        };
        let n = h.g.len();
        let (g, alpha, diag, k_i) = (h.g, &h.alpha[..n], &h.diag[..n], &k_i[..n]);
        let consts = (h.c, h.gmax, qd_i);
        let (mut j0, mut jf) = (0, 0.0);
        for (((gs, al), ds), ks) in g
            .chunks_exact(LANES)
            .zip(alpha.chunks_exact(LANES))
            .zip(diag.chunks_exact(LANES))
            .zip(k_i.chunks_exact(LANES))
        {
            for l in 0..LANES {
                acc.lane::<TOP>(l, jf + l as f64, (gs[l], al[l], ds[l], ks[l]), consts);
            }
            j0 += LANES;
            jf += LANES as f64;
        }
        for j in j0..n {
            acc.lane::<TOP>(j - j0, j as f64, (g[j], alpha[j], diag[j], k_i[j]), consts);
        }
        let top = acc.gmax2.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (top, merge_lanes(acc.best.into_iter().zip(acc.idx), true))
    }
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2")]
        fn avx2<const TOP: bool>(h: &Half<'_>) -> (f64, Option<(f64, usize)>) {
            portable::<TOP>(h)
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            return unsafe { avx2::<TOP>(h) };
        }
    }
    portable::<TOP>(h)
}

/// Both halves of the second scan merged: `(gmax2 of the upper half, gmax2
/// of the lower half, the last index in `0..g.len()` of the smallest
/// objective decrease)`. The variables `..split` are the upper half's, the
/// rest the lower half's (`g`, `alpha` and the per-variable kernel
/// diagonal `diag` alike). `upper` / `lower` are each half's first index
/// (`gmax`, `qd_i` and the half's part of `k_i`), or `None` (nu-SVR
/// without a first index on that side).
pub fn second(
    (g, alpha, diag): (&[f64], &[f64], &[f64]),
    c: f64,
    split: usize,
    upper: (f64, Option<(f64, &[f32])>),
    lower: (f64, Option<(f64, &[f32])>),
) -> (f64, f64, Option<usize>) {
    let (gt, gb) = g.split_at(split);
    let (at, ab) = alpha.split_at(split);
    let (dt, db) = diag.split_at(split);
    let half = |g, alpha, diag, (gmax, first)| Half {
        g,
        alpha,
        c,
        gmax,
        first,
        diag,
    };
    let (g2t, bt) = half_min::<true>(&half(gt, at, dt, upper));
    let (g2b, bb) = half_min::<false>(&half(gb, ab, db, lower));
    let best = merge(bt.into_iter().chain(bb.map(|(v, j)| (v, j + split))), true);
    (g2t, g2b, best.map(|(_, j)| j))
}

/// libsvm's gradient update after a step of `d_i`, `d_j` on the pair
/// `i`, `j` (signs `s_i`, `s_j`): `g_t += Q_it d_i + Q_jt d_j` with `Q_it =
/// s_i s_t K_it`, `s_t = +1` on the upper half (`g[..split]`) and `-1` on
/// the lower (sign flips are exact). `k_i` and `k_j` are the kernel rows
/// split the same way: `(upper half's part, lower half's part)`.
pub fn update_gradient(
    g: &mut [f64],
    split: usize,
    (ki_top, ki_bottom): (&[f32], &[f32]),
    (kj_top, kj_bottom): (&[f32], &[f32]),
    (si, di): (f64, f64),
    (sj, dj): (f64, f64),
) {
    #[inline(always)]
    fn portable(
        g: &mut [f64],
        k_i: &[f32],
        k_j: &[f32],
        (si, di): (f64, f64),
        (sj, dj): (f64, f64),
    ) {
        for ((gt, &ki), &kj) in g.iter_mut().zip(k_i).zip(k_j) {
            let (ki, kj) = (f64::from(ki), f64::from(kj));
            *gt += (si * ki) * di + (sj * kj) * dj;
        }
    }
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn avx2(g: &mut [f64], k_i: &[f32], k_j: &[f32], i: (f64, f64), j: (f64, f64)) {
        portable(g, k_i, k_j, i, j)
    }
    let (top, bottom) = g.split_at_mut(split);
    let top_len = top.len();
    let bottom_len = bottom.len();
    let halves = [
        (top, &ki_top[..top_len], &kj_top[..top_len], si, sj),
        (
            bottom,
            &ki_bottom[..bottom_len],
            &kj_bottom[..bottom_len],
            -si,
            -sj,
        ),
    ];
    for (g, k_i, k_j, si, sj) in halves {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            unsafe { avx2(g, k_i, k_j, (si, di), (sj, dj)) };
            continue;
        }
        portable(g, k_i, k_j, (si, di), (sj, dj));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// libsvm's scalar second loop (epsilon-SVR), for comparison.
    fn scalar(
        g: &[f64],
        alpha: &[f64],
        c: f64,
        gmax: f64,
        qd_i: f64,
        k: &[f32],
        diag: &[f64],
    ) -> (f64, Option<usize>) {
        let n = diag.len();
        let (mut gmax2, mut min, mut at) = (f64::NEG_INFINITY, f64::INFINITY, None);
        for j in 0..2 * n {
            let (top, jk) = (j < n, j % n);
            let free = if top { alpha[j] > 0.0 } else { alpha[j] < c };
            if !free {
                continue;
            }
            let v = if top { g[j] } else { -g[j] };
            if v >= gmax2 {
                gmax2 = v;
            }
            let gd = if top { gmax + g[j] } else { gmax - g[j] };
            if gd > 0.0 {
                let quad = qd_i + diag[jk] - 2.0 * f64::from(k[jk]);
                let obj = -(gd * gd) / if quad > 0.0 { quad } else { TAU };
                if obj <= min {
                    min = obj;
                    at = Some(j);
                }
            }
        }
        (gmax2, at)
    }

    #[test]
    fn the_lane_scans_pick_libsvms_pair_ties_included() {
        let mut state = 7u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        for n in [1usize, 3, 4, 5, 9, 17, 64] {
            for round in 0..20 {
                let c = 2.0;
                // Coarse values, so that ties happen; some at the bounds.
                let g: Vec<f64> = (0..2 * n).map(|_| (next() * 8.0).floor() - 4.0).collect();
                let alpha: Vec<f64> = (0..2 * n)
                    .map(|_| match (next() * 3.0) as u32 {
                        0 => 0.0,
                        1 => c,
                        _ => 1.0,
                    })
                    .collect();
                let diag: Vec<f64> = (0..n).map(|_| 1.0).collect();
                let k: Vec<f32> = (0..n)
                    .map(|_| (next() * 4.0).floor() as f32 / 4.0)
                    .collect();
                // First index, scalar.
                let mut want: Option<(f64, usize)> = None;
                for t in 0..2 * n {
                    let (free, v) = if t < n {
                        (alpha[t] < c, -g[t])
                    } else {
                        (alpha[t] > 0.0, g[t])
                    };
                    if free && want.is_none_or(|(b, _)| v >= b) {
                        want = Some((v, t));
                    }
                }
                let top = half_max::<true>(&g[..n], &alpha[..n], c);
                let bottom = half_max::<false>(&g[n..], &alpha[n..], c).map(|(v, j)| (v, j + n));
                let got = merge(top.into_iter().chain(bottom), false);
                assert_eq!(got, want, "n {n} round {round}");
                let Some((gmax, _)) = want else { continue };
                let (g2, j) = scalar(&g, &alpha, c, gmax, 1.0, &k, &diag);
                let first = Some((1.0, k.as_slice()));
                let both: Vec<f64> = diag.iter().chain(&diag).copied().collect();
                let (g2t, g2b, jj) =
                    second((&g, &alpha, &both), c, n, (gmax, first), (gmax, first));
                assert_eq!(g2t.max(g2b), g2, "n {n} round {round}");
                assert_eq!(jj, j, "n {n} round {round}");
            }
        }
    }
}
