//! Fuzzes manifest parsing: a manifest that parses must predict without
//! panicking and give outputs within 1-5.
#![no_main]
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use moshead::manifest::Manifest;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(m) = Manifest::parse(Path::new("fuzz.json"), text) {
        let f = m.feature_order.len();
        let x = ndarray::Array2::from_shape_fn((3, f), |(i, j)| (i + j) as f64 * 0.1);
        for p in m.fitted().predict(x.view()) {
            assert!(p.is_nan() || (1.0..=5.0).contains(&p), "{p}");
        }
    }
});
