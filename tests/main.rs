//! End-to-end tests: the real `moshead` binary against the real built
//! plugins and deliberately broken fixture plugins.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod adapters;
mod compare;
mod compat;
mod corpus;
mod corpus_drops;
mod corpus_inputs;
mod cross_corpus;
mod export;
mod formats;
mod hardening;
mod heads;
mod hostile;
mod hostile_cases;
mod hostile_in;
mod layers;
mod library;
mod libvmaf;
mod manifests;
mod outputs;
mod ownership;
mod plugin_trust;
mod predict;
mod progress;
mod refusals;
mod report;
mod selection;
mod study;
mod study_hostile;
mod svr_mean;
mod template;
mod train;
mod vmaf;
mod vmaf_bootstrap;
mod votes;
