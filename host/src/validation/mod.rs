//! The outer validation protocol: the head and its baselines fitted and
//! scored fold by fold ([`protocol`]), and the out-of-fold predictions
//! pooled across folds ([`oof`]).
//!
//! It sits above model selection (each fold's head is chosen by
//! [`crate::selection`] on that fold's training rows alone), which sits
//! above the folds and metrics of [`crate::evaluation`]: nothing below
//! calls back up.

pub mod oof;
pub mod protocol;
