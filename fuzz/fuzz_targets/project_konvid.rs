//! Fuzzes the konvid row projection through each of its row slots.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use moshead_sdk::export::open_generic;
use moshead_sdk::abi::ProjectorBox;
use moshead_sdk::ProjectorConfig;

#[path = "common.rs"]
mod common;

fn projector() -> &'static ProjectorBox {
    static P: OnceLock<ProjectorBox> = OnceLock::new();
    P.get_or_init(|| open_generic::<konvid::Konvid>(&ProjectorConfig::default()).unwrap())
}

fuzz_target!(|data: &[u8]| {
    for slot in ["konvid-1k", "konvid-150k", "features-parquet"] {
        common::project(projector(), slot, 11, data);
    }
});
