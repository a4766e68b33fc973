//! Column lists shared by adapters of libvmaf features.
//!
//! Schemas are append-only: a published schema never changes its columns or
//! their order, because the order is baked into every model trained on it.

/// The canonical libvmaf features, in schema order.
pub const CANONICAL: [&str; 6] = [
    "adm2",
    "vif_scale0",
    "vif_scale1",
    "vif_scale2",
    "vif_scale3",
    "motion2",
];

/// libvmaf's model feature names of the [`CANONICAL`] features: those of
/// its integer extractors, as in libvmaf's own `vmaf_v0.6.1.json`. Declare
/// them with [`crate::DescriptorBuilder::libvmaf_names`].
pub const LIBVMAF_NAMES: [(&str, &str); 6] = [
    ("adm2", "VMAF_integer_feature_adm2_score"),
    ("vif_scale0", "VMAF_integer_feature_vif_scale0_score"),
    ("vif_scale1", "VMAF_integer_feature_vif_scale1_score"),
    ("vif_scale2", "VMAF_integer_feature_vif_scale2_score"),
    ("vif_scale3", "VMAF_integer_feature_vif_scale3_score"),
    ("motion2", "VMAF_integer_feature_motion2_score"),
];
