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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::Probe;
    use crate::codes;
    use crate::prelude::*;

    struct Tiny;

    impl CorpusAdapter for Tiny {
        fn descriptor() -> Descriptor {
            DescriptorBuilder::new("tiny", "0.1.0", "tiny_v1")
                .jsonl_file("rows", "", &["tiny"])
                .schema("tiny-v1", &["adm2"])
                .mos_0_100("mos_0_100")
                .content_key("src")
                .build()
        }
        fn open(_: &Descriptor, _: &str, _: &ProjectorConfig) -> Result<Self, String> {
            Ok(Tiny)
        }
        fn synthesize(_: &SynthRequest) -> Result<SynthOutput, String> {
            Err("none".into())
        }
    }

    fn probe(unlabelled: bool) -> Probe {
        Probe::open::<Tiny>(&ProjectorConfig {
            unlabelled,
            ..ProjectorConfig::default()
        })
        .unwrap()
    }

    /// A prediction projector projects rows without MOS (NaN, no standard
    /// error) and keeps every other rule; a training projector still drops
    /// them as `mos-missing`.
    #[test]
    fn unlabelled_rows_project_only_for_prediction() {
        let raw = r#"{"corpus":"tiny","src":"a","adm2":0.8}"#;
        assert_eq!(probe(false).code("rows", raw).unwrap(), codes::MOS_MISSING);
        let r = probe(true).row("rows", raw).unwrap();
        assert!(r.mos.is_nan());
        assert_eq!(r.mos_se.into_option(), None);
        assert_eq!(r.features.as_slice(), &[0.8]);
        let accepts = ["tiny".to_owned()];
        assert!(moshead_protocol::row_contract_for("rows", &accepts, 1, &r, true).is_ok());
        assert!(moshead_protocol::row_contract("rows", &accepts, 1, &r).is_err());
        // A MOS that is present is still checked and mapped.
        let p = probe(true);
        let labelled = p
            .row("rows", r#"{"corpus":"tiny","src":"a","mos_0_100":50}"#)
            .unwrap();
        assert_eq!(labelled.mos, 3.0);
        for (raw, code) in [
            (
                r#"{"corpus":"tiny","src":"a","mos":"x"}"#,
                codes::MOS_INVALID,
            ),
            (
                r#"{"corpus":"tiny","src":"a","mos_0_100":101}"#,
                codes::MOS_OUT_OF_RANGE,
            ),
            (r#"{"corpus":"other","src":"a"}"#, codes::FOREIGN_CORPUS),
            (r#"{"corpus":"tiny","adm2":1}"#, codes::MISSING_ID),
        ] {
            assert_eq!(p.code("rows", raw).unwrap(), code, "{raw}");
        }
    }

    /// The key is omitted when false, so a 1.0 plugin (which refuses
    /// unknown keys) reads the configs of training runs as before.
    #[test]
    fn the_flag_is_omitted_when_false() {
        let json = serde_json::to_string(&ProjectorConfig::default()).unwrap();
        assert!(!json.contains("unlabelled"), "{json}");
        let on = ProjectorConfig {
            unlabelled: true,
            ..ProjectorConfig::default()
        };
        let json = serde_json::to_string(&on).unwrap();
        assert!(json.contains("\"unlabelled\":true"), "{json}");
        assert_eq!(serde_json::from_str::<ProjectorConfig>(&json).unwrap(), on);
    }
}
