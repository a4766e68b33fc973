//! Conformance checks: the row-level half of `moshead adapters check`, usable
//! in-process from a plugin's own unit tests.
//!
//! The host runs the load, API-version, descriptor and defaults checks
//! itself, then these four through the loaded plugin:
//!
//! - [`samples`]: the descriptor's own sample rows project as declared, under
//!   every schema that needs no context slot: rows that must project do, with
//!   the schema's feature count and finite values; rows that must be rejected
//!   get the declared code;
//! - [`foreign_corpus`]: a row of another corpus (a sample retagged with a
//!   corpus tag the slot does not accept) is rejected as `foreign-corpus` by
//!   every row slot;
//! - [`garbage`]: malformed and hostile rows ([`garbage_rows`]) never make the
//!   plugin panic or fail, never yield a row that breaks the contract
//!   ([`moshead_protocol::row_contract`]), and rows that cannot be training rows (not a JSON
//!   object, no MOS) are rejected;
//! - [`synthesize`]: small synthesis requests return either a corpus whose
//!   rows project cleanly or a clean error.
//!
//! A plugin's unit tests run the same checks without building the library:
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
//! #             .sample("rows", r#"{"corpus":"tiny","src":"a","mos":3,"adm2":0.9}"#, None)
//! #             .build()
//! #     }
//! #     fn open(_: &Descriptor, _: &str, _: &ProjectorConfig) -> Result<Self, String> { Ok(Tiny) }
//! #     fn synthesize(_: &SynthRequest) -> Result<SynthOutput, String> { Err("no synthetic corpus".into()) }
//! # }
//! let report = moshead_conformance::check_adapter::<Tiny>();
//! assert!(report.passed(), "{report}");
//! ```

mod common;
mod descriptor;
mod foreign;
mod garbage;
mod report;
mod samples;
mod synthesis;

use abi_stable::std_types::RResult;
use moshead_protocol::{
    Descriptor, PluginError, PluginErrorKind, ProjectorBox, ProjectorConfig, SynthOutput,
    SynthRequest,
};
use moshead_sdk::export::{guarded, open_generic};
use moshead_sdk::CorpusAdapter;

pub use descriptor::{describe, descriptor_check, descriptor_refused};
pub use foreign::foreign_corpus;
pub use garbage::{garbage, garbage_rows, Garbage};
pub use report::{Check, Report, Status};
pub use samples::samples;
pub use synthesis::synthesize;

/// The names of the checks, as `adapters check` prints them.
pub mod names {
    /// The file loads as a moshead plugin (ABI header and layout).
    pub const LOAD: &str = "load";
    /// The plugin's API version is one the host accepts.
    pub const API_VERSION: &str = "api-version";
    /// The descriptor parses and has no problems.
    pub const DESCRIPTOR: &str = "descriptor";
    /// Which default input paths exist here.
    pub const DEFAULTS: &str = "defaults";
    /// The sample rows project as declared.
    pub const SAMPLES: &str = "samples";
    /// A row of another corpus is rejected as `foreign-corpus`.
    pub const FOREIGN_CORPUS: &str = "foreign-corpus";
    /// Garbage rows never panic and never break the contract.
    pub const GARBAGE: &str = "garbage";
    /// Small synthesis requests give clean corpora or clean errors.
    pub const SYNTHESIZE: &str = "synthesize";
}

/// Opens a projector, as the host does through the plugin.
pub type OpenFn<'a> = dyn Fn(&ProjectorConfig) -> Result<ProjectorBox, PluginError> + 'a;
/// Asks for a synthetic corpus, as the host does through the plugin.
pub type SynthFn<'a> = dyn Fn(&SynthRequest) -> Result<SynthOutput, PluginError> + 'a;

/// The plugin under test: its descriptor and two of its entry points.
pub struct Subject<'a> {
    /// The descriptor (parsed, possibly with problems).
    pub descriptor: &'a Descriptor,
    /// Opens a projector.
    pub open: &'a OpenFn<'a>,
    /// Synthesizes a corpus.
    pub synthesize: &'a SynthFn<'a>,
}

/// Runs the four row-level checks, in order.
pub fn run(s: &Subject<'_>) -> Vec<Check> {
    vec![samples(s), foreign_corpus(s), garbage(s), synthesize(s)]
}

/// Runs the descriptor check and the four row-level checks on adapter `A`
/// in-process (no library is built or loaded).
pub fn check_adapter<A: CorpusAdapter>() -> Report {
    let descriptor = A::descriptor();
    let open = |c: &ProjectorConfig| open_generic::<A>(c);
    let synth = |r: &SynthRequest| match guarded(|| {
        A::synthesize(r).map_err(|e| PluginError::new(PluginErrorKind::InvalidRequest, e))
    }) {
        RResult::ROk(out) => Ok(out),
        RResult::RErr(e) => Err(e),
    };
    let subject = Subject {
        descriptor: &descriptor,
        open: &open,
        synthesize: &synth,
    };
    let mut checks = vec![descriptor_check(&descriptor)];
    checks.extend(run(&subject));
    Report { checks }
}

#[cfg(test)]
mod tests {
    use super::*;

    use moshead_sdk::builder::SYNTHETIC_GATE;
    use moshead_sdk::prelude::*;

    fn base() -> DescriptorBuilder {
        DescriptorBuilder::new("g", "0.1.0", "g_v1")
            .jsonl_file("rows", "", &["g"])
            .schema("g-v1", &["adm2"])
            .content_key("src")
    }

    #[test]
    fn insane_gates_and_unusable_overrides_are_problems() {
        let inverted = Thresholds {
            plcc_min: Some(-0.2),
            srocc_min: Some(0.0),
            rmse_max: Some(9.0),
            spread_max: Some(f64::NAN),
        };
        let d = base()
            .env("BAD=VAR", Some("../up"))
            .gate(inverted, SYNTHETIC_GATE)
            .context_json("profile")
            .sample("profile", "{}", Some("Not Kebab"))
            .build();
        let problems = d.problems().join("\n");
        for needle in [
            "plcc_min -0.2 passes a head that does not track MOS",
            "srocc_min 0 passes a head",
            "rmse_max 9 exceeds the width of the 1-5 scale",
            "spread_max NaN must be finite",
            "`BAD=VAR` is not a usable variable name",
            "joins `../up`",
            "sample 0 names `profile`, which is not a row slot",
            "`Not Kebab`, which is not kebab-case",
        ] {
            assert!(problems.contains(needle), "{needle}: {problems}");
        }
        assert_eq!(d.non_finite_numbers(), ["gate.real.spread_max = NaN"]);
        assert_eq!(descriptor_check(&d).status, Status::Fail);
    }

    struct NanGate;
    impl CorpusAdapter for NanGate {
        fn descriptor() -> Descriptor {
            let mut t = moshead_sdk::builder::REAL_GATE;
            t.plcc_min = Some(f64::NAN);
            base().gate(t, SYNTHETIC_GATE).build()
        }
        fn open(_: &Descriptor, _: &str, _: &ProjectorConfig) -> Result<Self, String> {
            Ok(NanGate)
        }
        fn synthesize(_: &SynthRequest) -> Result<SynthOutput, String> {
            Err("none".into())
        }
    }

    #[test]
    fn a_nan_threshold_is_refused_at_the_boundary_not_turned_into_null() {
        let module = moshead_sdk::export::root_module::<NanGate>();
        match (module.descriptor())() {
            RResult::RErr(e) => assert!(e.message.contains("gate.real.plcc_min = NaN"), "{e}"),
            RResult::ROk(json) => panic!("exported {json}"),
        }
        let report = check_adapter::<NanGate>();
        assert!(!report.passed());
        let d = report.get(names::DESCRIPTOR).unwrap();
        assert!(
            d.details.iter().any(|l| l.contains("cannot cross as JSON")),
            "{d}"
        );
    }

    #[test]
    fn a_minimal_adapter_without_samples_warns_but_passes() {
        let report = check_adapter::<NanGate>();
        assert_eq!(report.get(names::SAMPLES).unwrap().status, Status::Warn);
        assert_eq!(
            report.get(names::GARBAGE).unwrap().status,
            Status::Pass,
            "{report}"
        );
        let synth = report.get(names::SYNTHESIZE).unwrap();
        assert_eq!(synth.status, Status::Pass, "{synth}");
        assert!(synth.message.contains("clean error"), "{synth}");
    }
}
