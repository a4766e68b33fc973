//! In-process projection for a plugin's unit tests.
//!
//! [`Probe`] opens the same generic projector the exported plugin opens
//! (through [`open_generic`]), so a unit test sees exactly what the host
//! would, without building or loading the library:
//!
//! ```
//! # use moshead_sdk::prelude::*;
//! # struct Tiny;
//! # impl CorpusAdapter for Tiny {
//! #     fn descriptor() -> Descriptor {
//! #         DescriptorBuilder::new("tiny", "0.1.0", "tiny_v1")
//! #             .jsonl_file("rows", "", &["tiny"])
//! #             .schema("tiny-v1", &["adm2"])
//! #             .content_key("src")
//! #             .build()
//! #     }
//! #     fn open(_: &Descriptor, _: &str, _: &ProjectorConfig) -> Result<Self, String> { Ok(Tiny) }
//! #     fn synthesize(_: &SynthRequest) -> Result<SynthOutput, String> { Err("none".into()) }
//! # }
//! use moshead_sdk::testing::Probe;
//!
//! let probe = Probe::open::<Tiny>(&ProjectorConfig::default()).unwrap();
//! let row = probe.row("rows", r#"{"corpus":"tiny","src":"a","mos":4,"adm2":0.8}"#).unwrap();
//! assert_eq!(row.features.as_slice(), &[0.8]);
//! let code = probe.code("rows", r#"{"corpus":"other","src":"a","mos":4}"#).unwrap();
//! assert_eq!(code, moshead_sdk::codes::FOREIGN_CORPUS);
//! ```

use crate::abi::{FfiOutcome, FfiRow, PluginError, ProjectorBox};
use crate::export::{open_generic, CorpusAdapter, ProjectorConfig};

/// A projector of one adapter, opened in-process.
pub struct Probe {
    projector: ProjectorBox,
}

impl Probe {
    /// Opens adapter `A`'s projector for `config`.
    pub fn open<A: CorpusAdapter>(config: &ProjectorConfig) -> Result<Probe, PluginError> {
        open_generic::<A>(config).map(|projector| Probe { projector })
    }

    /// Projects one raw row read from `slot`.
    pub fn outcome(&self, slot: &str, raw: &str) -> FfiOutcome {
        self.projector.project(slot.into(), raw.into())
    }

    /// The projected row, or a description of the outcome that was not a
    /// row.
    pub fn row(&self, slot: &str, raw: &str) -> Result<FfiRow, String> {
        match self.outcome(slot, raw) {
            FfiOutcome::Row(r) => Ok(r),
            other => Err(format!("expected a row, got {other:?}")),
        }
    }

    /// The rejection code, or a description of the outcome that was not a
    /// rejection.
    pub fn code(&self, slot: &str, raw: &str) -> Result<String, String> {
        match self.outcome(slot, raw) {
            FfiOutcome::Rejected(r) => Ok(r.code.into_string()),
            other => Err(format!("expected a rejection, got {other:?}")),
        }
    }
}
