//! Scoring a trained model on rows: predictions that are finite or an
//! error naming the row ([`predictions`]), the output file of `predict`
//! kept off its own inputs and the model's files ([`guard`]), and scoring
//! a model on another adapter's corpus ([`cross`]).

pub mod cross;
pub mod guard;
pub mod predictions;

pub use cross::{align_scale, check_schema, CrossError};
pub use guard::{check_output, model_files, GuardError, Protected};
pub use predictions::{predict_finite, ScoreError};
