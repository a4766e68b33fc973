//! # moshead-sdk
//!
//! The contract between the `moshead` host and its **corpus-adapter
//! plugins**. A corpus adapter turns the raw rows of one subjective corpus
//! (CHUG, KonViD, your own) into training rows for a MOS head: a feature
//! vector in a named schema, a MOS on the head's 1-5 scale, a split, a
//! content group. The host owns all file I/O, training, validation and
//! output; a plugin only ever sees one row at a time.
//!
//! The crate has four layers:
//!
//! - [`abi`]: the stable binary interface (an `abi_stable` prefix-type root
//!   module and `#[repr(C)]` row types), checked by abi_stable's layout
//!   checks and by [`version::check_api_compatible`];
//! - [`descriptor`]: what a plugin declares (slots, schemas, MOS scale,
//!   split policy, gate, model id), as serde types that cross as JSON;
//! - [`row`] and [`rules`]: lazy raw rows and the projection rules every
//!   adapter shares (value fill, MOS, splits, the corpus guard);
//! - [`export`]: the [`CorpusAdapter`] trait and the
//!   [`export_adapter!`] macro that make a plugin a short, declarative file.
//!
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
//! let projector = moshead_sdk::export::open_generic::<Tiny>(&ProjectorConfig::default()).unwrap();
//! let out = projector.project("rows".into(), r#"{"corpus":"tiny","src":"a.mp4","mos":3.2,"adm2":0.9}"#.into());
//! let FfiOutcome::Row(row) = out else { panic!("{out:?}") };
//! assert_eq!(row.features.as_slice(), &[0.9, 0.0]); // motion2 was filled ...
//! assert_eq!(row.filled.as_slice(), &[1]);          // ... and counted
//! ```
//!
//! The [`guide`] (also `sdk/README.md`) is the whole story: the contract,
//! the API-version policy, how rows, slots, schemas, MOS scales, splits,
//! gates and sample rows are declared, a worked example, and how to test a
//! plugin in-process ([`testing`], [`conformance`]) and with `moshead
//! adapters check`. `examples/adapter-template/` in the repository is a
//! complete adapter to copy.
#![deny(missing_docs)]

pub mod abi;
pub mod builder;
pub mod conformance;
pub mod descriptor;
pub mod export;
pub mod labels;
pub mod row;
pub mod rules;
pub mod schemas;
pub mod synth;
pub mod testing;
pub mod version;

/// The adapter author's guide (`sdk/README.md`); its examples are tested.
pub mod guide {
    #![doc = include_str!("../README.md")]
    #[allow(unused_imports)]
    use crate::{
        abi::{self, Projector},
        builder, codes, conformance, export, rules, schemas, synth, testing, version,
        CorpusAdapter, Descriptor, DescriptorBuilder, PluginError, SynthOutput, SynthRequest,
        API_VERSION,
    };
}

pub use abi::{
    AdapterMod, AdapterModRef, FfiOutcome, FfiRejection, FfiRow, PluginError, PluginErrorKind,
    Projector, ProjectorBox, Split, SplitOrigin,
};
pub use builder::DescriptorBuilder;
pub use descriptor::{
    Descriptor, EnvOverride, Format, GateSpec, GroupBaseline, InputSlot, MosScale, SampleRow,
    Schema, SlotKind, SlotRole, SplitPolicy, Thresholds,
};
pub use export::{CorpusAdapter, ProjectorConfig, RowContext, SynthOutput, SynthRequest};
pub use labels::LabelsJoin;
pub use row::{codes, Cell, Projected, Rejection, Row};
pub use version::{check_api_compatible, API_VERSION};

/// Re-exported so plugins and hosts agree on one abi_stable.
pub use abi_stable;

/// Everything a plugin file usually needs.
pub mod prelude {
    pub use crate::abi::{FfiOutcome, Projector as _, Split, SplitOrigin};
    pub use crate::builder::DescriptorBuilder;
    pub use crate::descriptor::*;
    pub use crate::export::{
        CorpusAdapter, ProjectorConfig, RowContext, SynthOutput, SynthRequest,
    };
    pub use crate::row::{codes, Cell, Rejection, Row};
    pub use crate::rules;
    pub use crate::schemas;
    pub use crate::synth::{self, Rng};
}
