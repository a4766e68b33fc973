//! The plugin side of the contract: implement [`CorpusAdapter`], then call
//! [`export_adapter!`](crate::export_adapter).
//!
//! The generic projector here applies, for every adapter and in this order:
//! JSON parsing, the corpus guard of the row's slot, the descriptor's
//! reference rule (honouring `include_references`), the adapter's
//! [`admit`](CorpusAdapter::admit) hook, the row id, the MOS rule (with the
//! slot's MOS scale), the
//! content group, the split policy, the feature columns of the chosen
//! schema, the MOS standard error and the group-baseline key. An adapter
//! therefore writes only what is specific to its corpus.

use std::borrow::Cow;
use std::panic::{catch_unwind, AssertUnwindSafe};

use abi_stable::prefix_type::PrefixTypeTrait;
use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::{RErr, ROk, ROption, RResult, RStr, RString, RVec};

use crate::abi::{
    AdapterMod, AdapterModRef, FfiOutcome, FfiRejection, FfiRow, FfiSynthOutput, PluginError,
    PluginErrorKind, Projector, ProjectorBox, Projector_TO,
};
use crate::descriptor::{Descriptor, InputSlot, SlotRole};
use crate::row::{codes, Projected, Rejection, Row};
use crate::rules;
use crate::{Split, SplitOrigin};
pub use moshead_protocol::{ProjectorConfig, SynthOutput, SynthRequest};

/// What the projector knows about the row being projected.
#[derive(Debug, Clone, Copy)]
pub struct RowContext<'a> {
    /// The slot the row was read from.
    pub slot: &'a InputSlot,
    /// The accepted corpus tag.
    pub corpus: &'a str,
}

/// A corpus adapter. Only [`descriptor`](Self::descriptor),
/// [`open`](Self::open) and [`synthesize`](Self::synthesize) are required.
pub trait CorpusAdapter: Send + Sync + Sized + 'static {
    /// The adapter's static declaration.
    fn descriptor() -> Descriptor;

    /// Opens per-run state for `schema` (already checked to exist in the
    /// descriptor) and the context documents of `config`.
    fn open(
        descriptor: &Descriptor,
        schema: &str,
        config: &ProjectorConfig,
    ) -> Result<Self, String>;

    /// Generates a synthetic corpus in the adapter's own raw row format.
    fn synthesize(request: &SynthRequest) -> Result<SynthOutput, String>;

    /// The descriptor a projector for `config` works under. The default is
    /// [`Self::descriptor`]; an adapter configured by the request (the
    /// study-file interpreter, from [`ProjectorConfig::study`]) derives it
    /// from the request.
    fn configured(_config: &ProjectorConfig) -> Result<Descriptor, String> {
        Ok(Self::descriptor())
    }

    /// The row's split and where it came from. The default is the row's
    /// `split` label, else the descriptor's split policy applied to `group`
    /// ([`rules::split`]).
    fn split(
        &self,
        row: &Row<'_>,
        descriptor: &Descriptor,
        group: &str,
    ) -> Result<Option<(Split, SplitOrigin)>, Rejection> {
        rules::split(row, &descriptor.split_policy, group)
    }

    /// Corpus-specific admission checks (e.g. reference rows), run after the
    /// corpus guard.
    fn admit(&self, _row: &Row<'_>, _ctx: &RowContext<'_>) -> Result<(), Rejection> {
        Ok(())
    }

    /// The value of one schema column. The default is the value rule
    /// ([`rules::feature_value`]); adapters override it for derived columns
    /// and defer to the default otherwise.
    fn column(&self, row: &Row<'_>, column: &str) -> Option<f64> {
        rules::feature_value(row, column)
    }

    /// The MOS standard error on the 1-5 scale, when the row has one.
    fn mos_se(&self, _row: &Row<'_>) -> Option<f64> {
        None
    }

    /// The row's content group. The default reads the descriptor's
    /// `content_group_key` and refuses the row without it.
    fn group(
        &self,
        row: &Row<'_>,
        descriptor: &Descriptor,
        _id: &str,
    ) -> Result<String, Rejection> {
        row.text_or_int(&descriptor.content_group_key)
            .map(Cow::into_owned)
            .ok_or_else(|| {
                Rejection::new(
                    codes::MISSING_CONTENT,
                    format!("`{}` is missing or empty", descriptor.content_group_key),
                )
            })
    }

    /// The row's identifier. The default tries the descriptor's `id_keys`
    /// in order.
    fn id(&self, row: &Row<'_>, descriptor: &Descriptor) -> Result<String, Rejection> {
        descriptor
            .id_keys
            .iter()
            .find_map(|k| row.text_or_int(k))
            .map(Cow::into_owned)
            .ok_or_else(|| {
                Rejection::new(
                    codes::MISSING_ID,
                    format!("none of {} is present", descriptor.id_keys.join(", ")),
                )
            })
    }
}

/// The generic projector behind every adapter.
struct Generic<A> {
    adapter: A,
    descriptor: Descriptor,
    columns: Vec<String>,
    include_references: bool,
    /// [`ProjectorConfig::unlabelled`].
    unlabelled: bool,
}

impl<A: CorpusAdapter> Generic<A> {
    fn project_row(&self, slot: &str, raw: &str) -> Result<Result<Projected, Rejection>, String> {
        let Some(slot) = self
            .descriptor
            .slot(slot)
            .filter(|s| s.role == SlotRole::Rows)
        else {
            return Err(format!(
                "`{slot}` is not a row slot of `{}`",
                self.descriptor.name
            ));
        };
        Ok(self.project_in(slot, raw))
    }

    fn project_in(&self, slot: &InputSlot, raw: &str) -> Result<Projected, Rejection> {
        let d = &self.descriptor;
        let row = Row::parse(raw)?;
        let corpus = rules::corpus_tag(&row, slot)?;
        if let Some(rule) = d.reference.as_ref().filter(|_| !self.include_references) {
            if let Some(why) = rules::reference(&row, rule) {
                return Err(Rejection::new(
                    codes::REFERENCE_ROW,
                    format!(
                        "reference row ({why}), excluded by default; --include-references keeps it"
                    ),
                ));
            }
        }
        let ctx = RowContext {
            slot,
            corpus: &corpus,
        };
        self.adapter.admit(&row, &ctx)?;
        let id = self.adapter.id(&row, d)?;
        let mos = match rules::mos(&row, slot.scale(d)) {
            Ok(v) => v,
            Err(r) if self.unlabelled && r.code == codes::MOS_MISSING => f64::NAN,
            Err(r) => return Err(r),
        };
        let group = self.adapter.group(&row, d, &id)?;
        let split = self.adapter.split(&row, d, &group)?;
        let (features, filled) =
            rules::project_columns(self.columns.iter().map(String::as_str), |c| {
                self.adapter.column(&row, c)
            });
        let baseline_key = d
            .group_baseline
            .as_ref()
            .and_then(|b| row.text_or_int(&b.key))
            .map(Cow::into_owned);
        Ok(Projected {
            id,
            corpus,
            features,
            filled,
            mos,
            mos_se: self
                .adapter
                .mos_se(&row)
                .filter(|v| v.is_finite() && *v > 0.0 && mos.is_finite()),
            split,
            group,
            baseline_key,
            synthetic: row.flag("synthetic") == Some(true),
        })
    }
}

impl<A: CorpusAdapter> Projector for Generic<A> {
    fn project(&self, slot: RStr<'_>, raw: RStr<'_>) -> FfiOutcome {
        match catch_unwind(AssertUnwindSafe(|| {
            self.project_row(slot.as_str(), raw.as_str())
        })) {
            Ok(Ok(Ok(p))) => FfiOutcome::Row(to_ffi(p)),
            Ok(Ok(Err(r))) => FfiOutcome::Rejected(FfiRejection {
                code: RString::from(r.code.into_owned()),
                message: RString::from(r.message),
            }),
            Ok(Err(msg)) => {
                FfiOutcome::Failed(PluginError::new(PluginErrorKind::InvalidRequest, msg))
            }
            Err(payload) => FfiOutcome::Failed(panic_error(payload)),
        }
    }
}

fn to_ffi(p: Projected) -> FfiRow {
    let (split, origin) = match p.split {
        Some((s, o)) => (ROption::RSome(s), o),
        None => (ROption::RNone, crate::SplitOrigin::None),
    };
    FfiRow {
        id: p.id.into(),
        corpus: p.corpus.into(),
        features: RVec::from(p.features),
        filled: RVec::from(p.filled),
        mos: p.mos,
        mos_se: p.mos_se.into(),
        split,
        split_origin: origin,
        group: p.group.into(),
        baseline_key: p.baseline_key.map(RString::from).into(),
        synthetic: p.synthetic,
    }
}

/// Turns a caught panic payload into a [`PluginError`].
pub fn panic_error(payload: Box<dyn std::any::Any + Send>) -> PluginError {
    let msg = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned());
    PluginError::new(PluginErrorKind::Panic, msg)
}

/// Runs `f` with panics caught and turned into a [`PluginError`].
pub fn guarded<T>(f: impl FnOnce() -> Result<T, PluginError>) -> RResult<T, PluginError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => ROk(v),
        Ok(Err(e)) => RErr(e),
        Err(payload) => RErr(panic_error(payload)),
    }
}

/// The API version entry point every plugin exports.
pub extern "C" fn api_version_entry() -> RStr<'static> {
    RStr::from_str(crate::version::API_VERSION)
}

extern "C" fn descriptor_entry<A: CorpusAdapter>() -> RResult<RString, PluginError> {
    guarded(|| {
        let descriptor = A::descriptor();
        let lost = descriptor.non_finite_numbers();
        if !lost.is_empty() {
            return Err(PluginError::new(
                PluginErrorKind::Failed,
                format!(
                    "the descriptor has numbers JSON cannot carry: {}",
                    lost.join(", ")
                ),
            ));
        }
        serde_json::to_string(&descriptor)
            .map(RString::from)
            .map_err(|e| PluginError::new(PluginErrorKind::Failed, e.to_string()))
    })
}

/// Opens the generic projector of `A` (also usable in-process, in tests).
pub fn open_generic<A: CorpusAdapter>(
    config: &ProjectorConfig,
) -> Result<ProjectorBox, PluginError> {
    let descriptor =
        A::configured(config).map_err(|e| PluginError::new(PluginErrorKind::InvalidRequest, e))?;
    let schema_name = config
        .schema
        .clone()
        .unwrap_or_else(|| descriptor.default_schema.clone());
    let Some(schema) = descriptor.schema(&schema_name) else {
        let known: Vec<&str> = descriptor.schemas.iter().map(|s| s.name.as_str()).collect();
        return Err(PluginError::new(
            PluginErrorKind::InvalidRequest,
            format!(
                "`{}` has no schema `{schema_name}` (schemas: {})",
                descriptor.name,
                known.join(", ")
            ),
        ));
    };
    if let Some(slot) = &schema.requires_slot {
        if !config.context.contains_key(slot) {
            return Err(PluginError::new(
                PluginErrorKind::InvalidRequest,
                format!("schema `{schema_name}` needs the `{slot}` input"),
            ));
        }
    }
    for slot in config.context.keys() {
        if descriptor.slot(slot).map(|s| s.role) != Some(SlotRole::Context) {
            return Err(PluginError::new(
                PluginErrorKind::InvalidRequest,
                format!("`{slot}` is not a context slot of `{}`", descriptor.name),
            ));
        }
    }
    let columns = schema.columns.clone();
    let adapter = A::open(&descriptor, &schema_name, config)
        .map_err(|e| PluginError::new(PluginErrorKind::InvalidRequest, e))?;
    Ok(Projector_TO::from_value(
        Generic {
            adapter,
            descriptor,
            columns,
            include_references: config.include_references,
            unlabelled: config.unlabelled,
        },
        TD_Opaque,
    ))
}

extern "C" fn open_entry<A: CorpusAdapter>(config: RStr<'_>) -> RResult<ProjectorBox, PluginError> {
    guarded(|| {
        let config: ProjectorConfig = serde_json::from_str(config.as_str()).map_err(|e| {
            PluginError::new(
                PluginErrorKind::InvalidRequest,
                format!("projector config: {e}"),
            )
        })?;
        open_generic::<A>(&config)
    })
}

extern "C" fn synth_entry<A: CorpusAdapter>(
    request: RStr<'_>,
) -> RResult<FfiSynthOutput, PluginError> {
    guarded(|| {
        let request: SynthRequest = serde_json::from_str(request.as_str()).map_err(|e| {
            PluginError::new(
                PluginErrorKind::InvalidRequest,
                format!("synth request: {e}"),
            )
        })?;
        let out = A::synthesize(&request)
            .map_err(|e| PluginError::new(PluginErrorKind::InvalidRequest, e))?;
        Ok(FfiSynthOutput::from(out))
    })
}

/// Builds the root module of adapter `A`. Used by
/// [`export_adapter!`](crate::export_adapter); call it directly to load an
/// adapter in-process (tests).
pub fn root_module<A: CorpusAdapter>() -> AdapterModRef {
    AdapterMod {
        api_version: api_version_entry,
        descriptor: descriptor_entry::<A>,
        open_projector: open_entry::<A>,
        synthesize: synth_entry::<A>,
    }
    .leak_into_prefix()
}

/// Exports `$adapter` (a [`CorpusAdapter`]) as this library's moshead root
/// module. The plugin crate must be a `cdylib` and depend on `abi_stable`.
///
/// ```ignore
/// moshead_sdk::export_adapter!(MyAdapter);
/// ```
#[macro_export]
macro_rules! export_adapter {
    ($adapter:ty) => {
        /// The moshead root module of this plugin.
        #[::abi_stable::export_root_module]
        pub fn moshead_root_module() -> $crate::abi::AdapterModRef {
            $crate::export::root_module::<$adapter>()
        }
    };
}
