//! Scoring a trained model on rows, as library operations: [`predict()`]
//! (every row, with or without a MOS), [`validate()`] (the held-out test
//! split and the gate) and [`validate_cross()`] (another adapter's corpus);
//! [`compare`] lines up the rows two or more models are compared on.
//! Beside them: predictions that are finite or an error naming the row
//! ([`predictions`]), the output file of `predict` kept off its own inputs
//! and the model's files ([`guard`]), scale alignment and the schema check
//! across corpora ([`cross`]), and the model's adapter check ([`model`]).

pub mod compare;
pub mod cross;
pub mod guard;
pub mod model;
pub mod predict;
pub mod predictions;
pub mod validate;

pub use cross::{align_scale, check_schema, CrossError};
pub use guard::{check_output, model_files, GuardError, Protected};
pub use model::{
    bind_inputs, check_columns, check_plugin, model_selector, PluginChange, ScoringError,
};
pub use predict::{predict, PredictRequest, Predictions, RecordFormat, CSV_HEADER};
pub use predictions::{predict_finite, ScoreError};
pub use validate::{validate, validate_cross, CrossScore, HeldOut, ValidateRequest};
