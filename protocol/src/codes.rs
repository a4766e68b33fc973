//! Stable rejection reason codes. Hosts count drops per code, so a code, once
//! published, keeps its meaning.

/// The line is not valid JSON.
pub const MALFORMED_JSON: &str = "malformed-json";
/// The line is JSON but not an object.
pub const NOT_AN_OBJECT: &str = "not-an-object";
/// The object has the same key twice.
pub const DUPLICATE_KEY: &str = "duplicate-key";
/// The row's corpus tag is not one the slot accepts.
pub const FOREIGN_CORPUS: &str = "foreign-corpus";
/// The row has no corpus tag and the slot assumes none.
pub const MISSING_CORPUS_TAG: &str = "missing-corpus-tag";
/// The row has no MOS.
pub const MOS_MISSING: &str = "mos-missing";
/// The MOS is not a number.
pub const MOS_INVALID: &str = "mos-invalid";
/// The MOS is NaN or infinite.
pub const MOS_NON_FINITE: &str = "mos-non-finite";
/// The MOS is outside the head's 1-5 range after mapping.
pub const MOS_OUT_OF_RANGE: &str = "mos-out-of-range";
/// The split label is not one the adapter knows.
pub const UNKNOWN_SPLIT: &str = "unknown-split";
/// The row has no content-group value.
pub const MISSING_CONTENT: &str = "missing-content";
/// The row has no identifier.
pub const MISSING_ID: &str = "missing-id";
/// A reference (undistorted) row, excluded by default.
pub const REFERENCE_ROW: &str = "reference-row";
