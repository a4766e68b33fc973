//! # moshead-protocol
//!
//! The wire contract between the `moshead` host and its corpus-adapter
//! plugins, and nothing else: what crosses the library boundary and the rule
//! that decides whether a plugin may be loaded. Plugin authors do not depend
//! on this crate directly; they use `moshead-sdk`, which re-exports what they
//! need. The host and the conformance checks depend on it.
//!
//! - [`abi`]: the abi_stable root module ([`AdapterMod`]) and the
//!   `#[repr(C)]` row, error and synthesis types;
//! - [`descriptor`]: what a plugin declares, as serde types that cross as
//!   JSON, and their consistency check ([`Descriptor::problems`]);
//! - [`config`]: the JSON requests a host sends ([`ProjectorConfig`],
//!   [`SynthRequest`]);
//! - [`labels`]: how a slot of libvmaf logs joins its labels table;
//! - [`codes`]: the published rejection codes;
//! - [`contract`]: the check the host applies to every projected row;
//! - [`shard_glob`]: the one shard-file matcher;
//! - [`version`]: the API version and the compatibility rule, including the
//!   minor-version promise (unknown optional keys ignored, appended fields
//!   absent for older plugins).
#![deny(missing_docs)]

pub mod abi;
pub mod codes;
pub mod config;
pub mod contract;
pub mod descriptor;
pub mod labels;
pub mod shard_glob;
pub mod version;

pub use abi::{
    AdapterMod, AdapterModRef, FfiOutcome, FfiRejection, FfiRow, PluginError, PluginErrorKind,
    Projector, ProjectorBox, Split, SplitOrigin,
};
pub use config::{ProjectorConfig, SynthOutput, SynthRequest};
pub use contract::{row_contract, row_contract_for};
pub use descriptor::{
    CardText, Descriptor, EnvOverride, Format, GateSpec, GroupBaseline, HeaderAlias, InputSlot,
    MosScale, ReferenceRule, SampleRow, Schema, SlotKind, SlotRole, SplitPolicy, Thresholds,
};
pub use labels::{Differential, LabelsJoin, VoteLayout, VotesDecl};
pub use shard_glob::ShardGlob;
pub use version::{check_api_compatible, API_VERSION};

/// Re-exported so plugins and hosts agree on one abi_stable.
pub use abi_stable;
