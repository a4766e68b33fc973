//! Compute kernels of the heads: the [`Compute`] element type, matrix
//! products ([`matmul`]), vector kernels ([`vector`]) and the fast `tanh`
//! ([`fastmath`]).
//!
//! This module depends on nothing else in `training`; the heads build on it.

pub mod correlation;
pub mod eigen;
pub mod fastmath;
pub mod matmul;
pub mod vector;

use ndarray::{Array2, NdFloat};

use fastmath::FastTanh;

/// The element types of the heads' products (`f64`, and `f32` for the
/// MLP's hidden layers on large corpora).
pub trait Compute: NdFloat + FastTanh {}
impl Compute for f64 {}
impl Compute for f32 {}

/// `tanh` applied in place, through the vectorised slice kernel when `a` is
/// contiguous.
pub fn tanh_inplace<A: Compute>(a: &mut Array2<A>) {
    match a.as_slice_mut() {
        Some(s) => A::tanh_slice(s),
        None => a.mapv_inplace(A::tanh),
    }
}

/// `v` in the compute type (NaN if it does not convert).
pub fn cast<A: Compute>(v: f64) -> A {
    num_traits::cast(v).unwrap_or_else(A::nan)
}

/// `v` back in `f64` (NaN if it does not convert).
pub fn uncast<A: Compute>(v: A) -> f64 {
    num_traits::cast(v).unwrap_or(f64::NAN)
}
