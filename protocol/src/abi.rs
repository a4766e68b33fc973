//! The binary interface: the root module every plugin exports and the
//! FFI-safe types that cross the boundary.
//!
//! The boundary is deliberately small. Structured, rarely-called data (the
//! descriptor, projector configuration, synthesis requests) crosses as JSON
//! text; the hot path (one call per raw row) crosses as `#[repr(C)]` values.
//!
//! Evolution rules (see [`crate::version`]): fields are only ever appended to
//! [`AdapterMod`] after its `last_prefix_field`, methods only appended to
//! [`Projector`], and exhaustive enums never gain variants within a major.

mod types;

pub use types::*;

use abi_stable::{
    declare_root_module_statics,
    library::RootModule,
    package_version_strings,
    sabi_types::VersionStrings,
    std_types::{RStr, RString},
    StableAbi,
};

/// The root module a moshead adapter plugin exports.
///
/// Plugins do not build it by hand: the sdk's `export_adapter!` does, wrapping
/// every entry point so that a panic becomes a [`PluginError`] instead of
/// unwinding across the boundary.
///
/// A plugin of a newer minor may append fields after `synthesize` (the last
/// prefix field); this host ignores them. The host never appends one
/// itself: abi_stable refuses a root module with fewer fields than the
/// host's, which would refuse every older plugin (see [`crate::version`]).
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = AdapterModRef)))]
pub struct AdapterMod {
    /// The sdk API version the plugin was built against (`MAJOR.MINOR.PATCH`).
    pub api_version: extern "C" fn() -> RStr<'static>,
    /// The plugin's [`crate::Descriptor`], as JSON.
    pub descriptor: extern "C" fn() -> abi_stable::std_types::RResult<RString, PluginError>,
    /// Opens a row projector for a [`crate::ProjectorConfig`] given as JSON.
    pub open_projector: extern "C" fn(
        config: RStr<'_>,
    )
        -> abi_stable::std_types::RResult<ProjectorBox, PluginError>,
    /// Generates a synthetic corpus for a [`crate::SynthRequest`] given as JSON.
    #[sabi(last_prefix_field)]
    pub synthesize: extern "C" fn(
        request: RStr<'_>,
    )
        -> abi_stable::std_types::RResult<FfiSynthOutput, PluginError>,
}

impl RootModule for AdapterModRef {
    declare_root_module_statics! {AdapterModRef}
    const BASE_NAME: &'static str = "moshead_adapter";
    const NAME: &'static str = "moshead adapter";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}
