//! Evaluation: metrics, the VQEG logistic mapping, content-grouped folds,
//! confidence and prediction intervals, and the gate.
//!
//! - [`plcc`], [`srocc`], [`krocc`] (tau-b), [`rmse`], [`outlier_ratio`],
//!   [`rmse_star`]:
//!   metrics on `f64` slices; undefined results are `None`, never NaN.
//! - [`fit_logistic`]: the VQEG 4-parameter logistic fitted with argmin L-BFGS.
//! - [`evaluate`] / [`aggregate`]: one fold's [`Metrics`] and their
//!   cross-fold [`Aggregate`].
//! - [`folds`]: explicit, grouped k-fold and repeated grouped splits.
//! - [`rows`]: out-of-fold rows (a clip's MOS and the prediction of the
//!   fold that held it out); the protocol that produces them and pools
//!   them is [`crate::validation`], above model selection.
//! - [`conformal`]: per-clip prediction intervals from the out-of-fold
//!   residuals.
//! - [`intervals`]: cluster-bootstrap and Fisher-z confidence intervals.
//! - [`compare`]: two or more models on the same rows: paired
//!   cluster-bootstrap differences and the P.1401 significance tests.
//! - [`gate`]: the adapter's thresholds applied to the aggregate.

pub mod compare;
pub mod conformal;
pub mod folds;
pub mod gate;
pub mod intervals;
mod logistic;
mod metrics;
pub mod native;
pub mod rows;
mod summary;

pub use logistic::{fit_logistic, LogisticFit};
pub use metrics::{average_ranks, krocc, outlier_ratio, plcc, rmse, rmse_star, srocc};
pub use summary::{aggregate, evaluate, Aggregate, MetricSet, Metrics};
