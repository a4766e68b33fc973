//! # study: the built-in study-file interpreter
//!
//! A study file (TOML, `docs/study-file.md`) describes a corpus as data: its
//! name, scale, role columns, slots, schema and gate. This plugin is the
//! sdk's [`moshead_sdk::study::StudyAdapter`] exported as a dynamic library,
//! loaded through the same ABI, trust rules, pin file and sha256 recording
//! as any adapter; the host hands it the study's text in the projector
//! request. Without a study it describes its built-in example study.

moshead_sdk::export_adapter!(moshead_sdk::study::StudyAdapter);

#[cfg(test)]
mod tests {
    use moshead_sdk::study::StudyAdapter;

    #[test]
    fn passes_the_conformance_checks() {
        let report = moshead_conformance::check_adapter::<StudyAdapter>();
        assert!(report.passed(), "{report}");
    }
}
