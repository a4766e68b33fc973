//! The row contract: what the host checks of every row a plugin projects.
//!
//! The host refuses a row that breaks it, naming file and line; `moshead
//! adapters check` and the conformance crate apply the same function.

use crate::abi::FfiRow;

/// The host's contract for a projected row read from slot `slot` (which
/// accepts `accepts`) under a schema of `width` columns: an accepted corpus
/// tag, `width` finite features, a MOS within 1-5, fill indices inside the
/// schema. The host refuses a row that breaks it, naming file and line.
pub fn row_contract(
    slot: &str,
    accepts: &[String],
    width: usize,
    r: &FfiRow,
) -> Result<(), String> {
    row_contract_for(slot, accepts, width, r, false)
}

/// [`row_contract`] for a projector opened with or without
/// [`ProjectorConfig::unlabelled`](crate::ProjectorConfig): when
/// `unlabelled`, a NaN MOS (a row without MOS, projected for prediction) is
/// allowed; any other MOS must still be within 1-5.
pub fn row_contract_for(
    slot: &str,
    accepts: &[String],
    width: usize,
    r: &FfiRow,
    unlabelled: bool,
) -> Result<(), String> {
    if !accepts.iter().any(|a| a.as_str() == r.corpus.as_str()) {
        return Err(format!(
            "returned a row tagged `{}`, which slot `{slot}` does not accept",
            r.corpus
        ));
    }
    if r.features.len() != width {
        return Err(format!(
            "returned {} features for a {width}-column schema",
            r.features.len()
        ));
    }
    if let Some(i) = r.features.iter().position(|v| !v.is_finite()) {
        return Err(format!("returned a non-finite value in feature column {i}"));
    }
    let unlabelled_row = unlabelled && r.mos.is_nan();
    if !unlabelled_row && (!r.mos.is_finite() || !(1.0..=5.0).contains(&r.mos)) {
        return Err(format!("returned MOS {} outside 1-5", r.mos));
    }
    if r.filled.iter().any(|i| *i as usize >= width) {
        return Err("returned a fill index outside the schema".into());
    }
    Ok(())
}
