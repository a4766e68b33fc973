//! Shared checks of the projection fuzz targets.
use moshead_sdk::abi::ProjectorBox;
use moshead_sdk::{FfiOutcome, PluginErrorKind};

/// Projects `data` (if UTF-8) through `slot` and checks the row contract:
/// a row has `width` finite features, a MOS in 1-5, fill indices inside the
/// schema and a positive finite standard error if any; a rejection has a
/// code; the projector never panics.
pub fn project(p: &ProjectorBox, slot: &str, width: usize, data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match p.project(slot.into(), text.into()) {
        FfiOutcome::Row(r) => {
            assert_eq!(r.features.len(), width);
            assert!(r.features.iter().all(|v| v.is_finite()));
            assert!(r.mos.is_finite() && (1.0..=5.0).contains(&r.mos));
            assert!(r.filled.iter().all(|i| (*i as usize) < width));
            if let Some(se) = r.mos_se.into_option() {
                assert!(se.is_finite() && se > 0.0);
            }
        }
        FfiOutcome::Rejected(r) => assert!(!r.code.is_empty()),
        FfiOutcome::Failed(e) => assert_ne!(e.kind, PluginErrorKind::Panic, "{e}"),
    }
}
