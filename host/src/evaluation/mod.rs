//! Validation: metrics, the VQEG logistic mapping, content-grouped folds,
//! the validation protocol with its baselines, and the gate.
//!
//! - [`plcc`], [`srocc`], [`krocc`] (tau-b), [`rmse`], [`outlier_ratio`],
//!   [`rmse_star`]:
//!   metrics on `f64` slices; undefined results are `None`, never NaN.
//! - [`fit_logistic`]: the VQEG 4-parameter logistic fitted with argmin L-BFGS.
//! - [`evaluate`] / [`aggregate`]: one fold's [`Metrics`] and their
//!   cross-fold [`Aggregate`].
//! - [`folds`]: explicit, grouped k-fold and repeated grouped splits.
//! - [`protocol`]: fitting the head and baselines fold by fold.
//! - [`oof`]: out-of-fold rows and the metrics of the pooled out-of-fold
//!   predictions.
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
pub mod oof;
pub mod protocol;
mod summary;
pub mod warnings;

pub use logistic::{fit_logistic, LogisticFit};
pub use metrics::{average_ranks, krocc, outlier_ratio, plcc, rmse, rmse_star, srocc};
pub use summary::{aggregate, evaluate, Aggregate, MetricSet, Metrics};
