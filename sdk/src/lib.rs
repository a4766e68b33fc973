//! # moshead-sdk
//!
//! The contract between the `moshead` host and its **corpus-adapter
//! plugins**. A corpus adapter turns the raw rows of one subjective corpus
//! (CHUG, KonViD, your own) into training rows for a MOS head: a feature
//! vector in a named schema, a MOS on the head's 1-5 scale, a split, a
//! content group. The host owns all file I/O, training, validation and
//! output; a plugin only ever sees one row at a time.
//!
//! This crate is what an adapter author needs, and only that:
//!
//! - [`CorpusAdapter`] and [`export_adapter!`]: implement the trait, call the
//!   macro, and the plugin is a short, declarative file;
//! - [`DescriptorBuilder`] and the [`Descriptor`] types: what a plugin
//!   declares (slots, schemas, MOS scale, split policy, gate, model id);
//! - [`Row`] and [`rules`]: lazy raw rows and the projection rules every
//!   adapter shares (value fill, MOS, splits, the corpus guard);
//! - [`synth`] and [`schemas`]: a portable seeded generator, a base VMAF
//!   feature model and the canonical libvmaf columns, for synthetic corpora;
//! - [`testing`]: project rows in-process in the plugin's unit tests.
//!
//! The wire types and the API-version rule live in `moshead-protocol`, and
//! the checks of `moshead adapters check` in `moshead-conformance`
//! (`moshead_conformance::check_adapter::<YourAdapter>()` in a unit test).

//! ## A minimal adapter
//!
//! ```
//! use moshead_sdk::prelude::*;
//!
//! struct Tiny;
//!
//! impl CorpusAdapter for Tiny {
//!     fn descriptor() -> Descriptor {
//!         DescriptorBuilder::new("tiny", "0.1.0", "tiny_mos_head_v1")
//!             .description("A two-feature toy corpus")
//!             .jsonl_file("rows", "rows.jsonl", &["tiny"])
//!             .schema("tiny-v1", &["adm2", "motion2"])
//!             .mos_1_5()
//!             .content_key("src")
//!             .build()
//!     }
//!     fn open(_: &Descriptor, _: &str, _: &ProjectorConfig) -> Result<Self, String> {
//!         Ok(Tiny)
//!     }
//!     fn synthesize(_: &SynthRequest) -> Result<SynthOutput, String> {
//!         Ok(SynthOutput::default())
//!     }
//! }
//!
//! // In the plugin crate (a cdylib depending on abi_stable):
//! // moshead_sdk::export_adapter!(Tiny);
//!
//! // Projecting in-process, the way the host does through the plugin:
//! let probe = moshead_sdk::testing::Probe::open::<Tiny>(&ProjectorConfig::default()).unwrap();
//! let row = probe.row("rows", r#"{"corpus":"tiny","src":"a.mp4","mos":3.2,"adm2":0.9}"#).unwrap();
//! assert_eq!(row.features.as_slice(), &[0.9, 0.0]); // motion2 was filled ...
//! assert_eq!(row.filled.as_slice(), &[1]);          // ... and counted
//! ```
//!
//! The [`guide`] (also `sdk/README.md`) is the whole story: the contract,
//! the API-version policy, how rows, slots, schemas, MOS scales, splits,
//! gates and sample rows are declared, a worked example, and how to test a
//! plugin in-process ([`testing`], `moshead-conformance`) and with
//! `moshead adapters check`. `examples/adapter-template/` in the repository is a
//! complete adapter to copy.
#![deny(missing_docs)]

// The wire contract, re-exported under the paths `export_adapter!` and
// hand-written test plugins use; authors reach its types through the root.
#[doc(hidden)]
pub use moshead_protocol::{abi, descriptor, labels, version};

pub mod builder;
#[doc(hidden)]
pub mod export;
pub mod row;
pub mod rules;
pub mod schemas;
pub mod study;
pub mod synth;
pub mod testing;
mod tokens;

/// The adapter author's guide (`sdk/README.md`); its examples are tested.
pub mod guide {
    #![doc = include_str!("../README.md")]
    #[allow(unused_imports)]
    use crate::{
        builder, codes, export_adapter, rules, schemas, synth, testing, CorpusAdapter, Descriptor,
        DescriptorBuilder, Format, PluginError, SynthOutput, SynthRequest, API_VERSION,
    };
}

#[doc(inline)]
pub use moshead_protocol::{
    codes, CardText, Descriptor, EnvOverride, FfiOutcome, FfiRejection, FfiRow, Format, GateSpec,
    GroupBaseline, HeaderAlias, InputSlot, LabelsJoin, MosScale, PluginError, PluginErrorKind,
    ReferenceRule, SampleRow, Schema, SlotKind, SlotRole, Split, SplitOrigin, SplitPolicy,
    Thresholds, API_VERSION,
};
#[doc(inline)]
pub use moshead_protocol::{ProjectorConfig, SynthOutput, SynthRequest};

pub use builder::DescriptorBuilder;
pub use export::{CorpusAdapter, RowContext};
#[doc(hidden)]
pub use row::Projected;
pub use row::{Cell, Rejection, Row};

/// Re-exported so plugins and hosts agree on one abi_stable.
#[doc(hidden)]
pub use abi_stable;

/// Everything a plugin file usually needs.
pub mod prelude {
    pub use crate::abi::Projector as _;
    pub use crate::builder::DescriptorBuilder;
    pub use crate::export::{CorpusAdapter, RowContext};
    pub use crate::row::{codes, Cell, Rejection, Row};
    pub use crate::rules;
    pub use crate::schemas;
    pub use crate::synth::{self, Rng};
    pub use crate::{
        Descriptor, EnvOverride, FfiOutcome, Format, GateSpec, GroupBaseline, InputSlot, MosScale,
        ProjectorConfig, SampleRow, Schema, SlotKind, SlotRole, Split, SplitOrigin, SplitPolicy,
        SynthOutput, SynthRequest, Thresholds,
    };
}
