//! Fuzzes descriptor parsing and validation (what the host does with the
//! JSON a plugin returns).
#![no_main]
use libfuzzer_sys::fuzz_target;
use moshead_sdk::Descriptor;

fuzz_target!(|data: &[u8]| {
    if let Ok(d) = serde_json::from_slice::<Descriptor>(data) {
        let problems = d.problems();
        if problems.is_empty() {
            // A valid descriptor round-trips.
            let text = serde_json::to_string(&d).unwrap();
            let again: Descriptor = serde_json::from_str(&text).unwrap();
            assert_eq!(again.problems(), Vec::<String>::new());
        }
        let _ = d.corpus_tags();
    }
});
