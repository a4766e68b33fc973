//! # moshead
//!
//! The host of the moshead MOS-head trainer: it discovers and loads
//! corpus-adapter plugins ([`registry`]), reads their inputs and projects
//! every row through them ([`corpus`]), trains heads ([`training`]),
//! validates them ([`validation`], above model selection
//! ([`selection`]) and the metrics and folds of [`evaluation`]), writes the manifest ([`manifest`]) and
//! exports the head as ONNX with a model card, plots and a run ledger
//! ([`export`]).
//! The `moshead` binary ([`cli`]) is a thin layer over these modules.
#![deny(missing_docs)]

pub mod check;
pub mod cli;
pub mod commit;
pub mod corpus;
pub mod digest;
pub mod evaluation;
pub mod export;
pub mod ingest;
pub mod loader;
pub mod manifest;
pub mod model_id;
pub mod pipeline;
pub mod progress;
pub mod registry;
pub mod safe_fs;
pub mod scoring;
pub mod selection;
pub mod status;
pub mod threads;
pub mod training;
pub mod trust;
pub mod validation;
