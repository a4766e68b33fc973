//! Fast, accurate, vectorisable `tanh` for the MLP's hidden layers.
//!
//! Profiling showed glibc's scalar `tanh` taking about 60 % of MLP training
//! time, and after that a 2-lane `f64` `tanh` still took about a third of a
//! large-corpus run. So there are two kernels, both built only from
//! operations the compiler vectorises (multiply, add, divide, min/max,
//! selects, bit casts; no calls, no branches, no fused multiply-adds, so
//! every instruction set gives the same bits):
//!
//! - `f64` ([`tanh`]): `sign(x) (1 - t) / (1 + t)` with `t = exp(-2|x|)`,
//!   `exp` by Cody-Waite range reduction and a degree-11 Taylor polynomial;
//!   absolute error below 1e-14.
//! - `f32` ([`tanh_f32`], used with `f32` products): the odd/even rational
//!   minimax approximation of Eigen's `generic_fast_tanh_float` (degree 13
//!   over degree 6 in `x`, inputs clamped to +-7.9); absolute error below
//!   1e-6, well under the `f32` products it follows.
//!
//! Slices are processed by [`FastTanh::tanh_slice`], which on x86-64 runs
//! the same loop compiled for AVX2 when the CPU has it (8 `f32` or 4 `f64`
//! lanes instead of 4 and 2); the results are bit-identical either way.

/// `exp(z)` for `z` in [-41, 0].
#[inline(always)]
fn exp_nonpositive(z: f64) -> f64 {
    const LOG2E: f64 = std::f64::consts::LOG2_E;
    const LN2_HI: f64 = 0.693_147_180_369_123_8;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    // Adding 1.5 * 2^52 rounds to the nearest integer and leaves it in the
    // low mantissa bits.
    const MAGIC: f64 = 6_755_399_441_055_744.0;
    let v = z * LOG2E + MAGIC;
    let k = v - MAGIC;
    let r = (z - k * LN2_HI) - k * LN2_LO;
    // Taylor series of e^r on |r| <= ln2 / 2, Horner form.
    let mut p = 1.0 / 39_916_800.0;
    p = p * r + 1.0 / 3_628_800.0;
    p = p * r + 1.0 / 362_880.0;
    p = p * r + 1.0 / 40_320.0;
    p = p * r + 1.0 / 5_040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    let ki = v.to_bits().wrapping_sub(MAGIC.to_bits());
    let scale = f64::from_bits(ki.wrapping_add(1023) << 52);
    p * scale
}

/// `tanh(x)`, branch-free.
#[inline(always)]
pub fn tanh(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    let a = x.abs().min(20.0);
    let t = exp_nonpositive(-2.0 * a);
    ((1.0 - t) / (1.0 + t)).copysign(x)
}

/// `tanh(x)` in `f32`, branch-free (see the module documentation).
#[inline(always)]
pub fn tanh_f32(x: f32) -> f32 {
    const CLAMP: f32 = 7.905_311;
    const TINY: f32 = 0.0004;
    const ALPHA: [f32; 7] = [
        4.893_524_6e-3,
        6.372_619_3e-4,
        1.485_722_4e-5,
        5.122_297e-8,
        -8.604_672e-11,
        2.000_188e-13,
        -2.760_768_5e-16,
    ];
    const BETA: [f32; 4] = [4.893_525e-3, 2.268_434_6e-3, 1.185_347_1e-4, 1.198_258_4e-6];
    let c = x.clamp(-CLAMP, CLAMP);
    let x2 = c * c;
    let mut p = ALPHA[6];
    for a in ALPHA[..6].iter().rev() {
        p = p * x2 + a;
    }
    let mut q = BETA[3];
    for b in BETA[..3].iter().rev() {
        q = q * x2 + b;
    }
    let r = c * p / q;
    // Tiny inputs (and NaN, which fails the comparison the other way) pass
    // through unchanged.
    if x.abs() < TINY || x.is_nan() {
        x
    } else {
        r
    }
}

/// Types whose slices get the fast `tanh`.
pub trait FastTanh: Sized {
    /// Replaces every element by its `tanh`.
    fn tanh_slice(xs: &mut [Self]);
}

/// Defines `$name(xs)`, which applies `$f` to every element of `xs`, using
/// an AVX2 build of the loop when the CPU supports it.
macro_rules! dispatched_map {
    ($name:ident, $t:ty, $f:path) => {
        fn $name(xs: &mut [$t]) {
            #[inline(always)]
            fn portable(xs: &mut [$t]) {
                for x in xs {
                    *x = $f(*x);
                }
            }
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                fn avx2(xs: &mut [$t]) {
                    portable(xs)
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU supports AVX2 (checked just above).
                    unsafe { avx2(xs) };
                    return;
                }
            }
            portable(xs)
        }
    };
}

dispatched_map!(tanh_slice_f64, f64, tanh);
dispatched_map!(tanh_slice_f32, f32, tanh_f32);

impl FastTanh for f64 {
    fn tanh_slice(xs: &mut [f64]) {
        tanh_slice_f64(xs)
    }
}

impl FastTanh for f32 {
    fn tanh_slice(xs: &mut [f32]) {
        tanh_slice_f32(xs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tanh_matches_libm() {
        let mut worst: f64 = 0.0;
        let mut x = -30.0;
        while x <= 30.0 {
            worst = worst.max((tanh(x) - x.tanh()).abs());
            x += 0.000_731;
        }
        for x in [
            0.0,
            -0.0,
            1e-300,
            -1e-12,
            1e-8,
            0.5,
            19.99,
            20.0,
            1e300,
            f64::MAX,
            -f64::MAX,
        ] {
            worst = worst.max((tanh(x) - x.tanh()).abs());
        }
        assert!(worst < 1e-14, "worst absolute error {worst:e}");
        assert_eq!(tanh(-0.0).to_bits(), (-0.0f64).to_bits());
        assert!(tanh(f64::NAN).is_nan());
    }

    #[test]
    fn tanh_f32_matches_libm() {
        let mut worst: f64 = 0.0;
        let mut x = -30.0f32;
        while x <= 30.0 {
            worst = worst.max((f64::from(tanh_f32(x)) - f64::from(x).tanh()).abs());
            x += 0.000_37;
        }
        for x in [
            0.0f32,
            1e-30,
            -3e-4,
            4e-4,
            7.9,
            8.0,
            1e30,
            f32::MAX,
            -f32::MAX,
        ] {
            worst = worst.max((f64::from(tanh_f32(x)) - f64::from(x).tanh()).abs());
        }
        assert!(worst < 1e-6, "worst absolute error {worst:e}");
        assert!(tanh_f32(f32::NAN).is_nan());
        assert_eq!(tanh_f32(-0.0).to_bits(), (-0.0f32).to_bits());
    }

    #[test]
    fn slices_match_the_scalar_kernels() {
        let xs: Vec<f64> = (0..1001).map(|i| (i as f64 - 500.0) * 0.037).collect();
        let mut a = xs.clone();
        f64::tanh_slice(&mut a);
        assert!(a
            .iter()
            .zip(&xs)
            .all(|(a, x)| a.to_bits() == tanh(*x).to_bits()));
        let xs32: Vec<f32> = xs.iter().map(|&x| x as f32).collect();
        let mut b = xs32.clone();
        f32::tanh_slice(&mut b);
        assert!(b
            .iter()
            .zip(&xs32)
            .all(|(b, x)| b.to_bits() == tanh_f32(*x).to_bits()));
    }

    #[test]
    fn exp_is_accurate_on_its_range() {
        let mut z = -41.0;
        while z <= 0.0 {
            let rel = (exp_nonpositive(z) - z.exp()).abs() / z.exp();
            assert!(rel < 2e-14, "{z}: {rel:e}");
            z += 0.0137;
        }
    }
}
