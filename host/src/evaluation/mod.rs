//! Validation: metrics, the VQEG logistic mapping and content-grouped folds.
//!
//! - [`plcc`], [`srocc`], [`krocc`] (tau-b), [`rmse`], [`outlier_ratio`]:
//!   metrics on `f64` slices; undefined results are `None`, never NaN.
//! - [`fit_logistic`]: the VQEG 4-parameter logistic fitted with argmin L-BFGS.
//! - [`evaluate`] / [`aggregate`]: one fold's [`Metrics`] and their
//!   cross-fold [`Aggregate`].

mod logistic;
mod metrics;
mod summary;

pub use logistic::{fit_logistic, LogisticFit};
pub use metrics::{average_ranks, krocc, outlier_ratio, plcc, rmse, srocc};
pub use summary::{aggregate, evaluate, Aggregate, MetricSet, Metrics};
