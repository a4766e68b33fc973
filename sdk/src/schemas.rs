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
