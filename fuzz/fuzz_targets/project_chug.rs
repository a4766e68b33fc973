//! Fuzzes the chug-hdr row projection (wide and display schemas).
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use moshead_sdk::export::open_generic;
use moshead_sdk::abi::ProjectorBox;
use moshead_sdk::ProjectorConfig;

#[path = "common.rs"]
mod common;

fn projectors() -> &'static [(ProjectorBox, usize); 2] {
    static P: OnceLock<[(ProjectorBox, usize); 2]> = OnceLock::new();
    P.get_or_init(|| {
        let wide = open_generic::<chug_hdr::ChugHdr>(&ProjectorConfig::default()).unwrap();
        let mut display = ProjectorConfig {
            schema: Some("chug-hdr-display-v1".into()),
            include_references: true,
            ..Default::default()
        };
        display.context.insert(
            "display-profile".into(),
            r#"{"peak_nits":1000,"black_nits":0.001,"panel_type":"OLED","tone_mapping":"dynamic"}"#
                .into(),
        );
        [
            (wide, 34),
            (open_generic::<chug_hdr::ChugHdr>(&display).unwrap(), 45),
        ]
    })
}

fuzz_target!(|data: &[u8]| {
    for (p, width) in projectors() {
        common::project(p, "shards", *width, data);
    }
});
