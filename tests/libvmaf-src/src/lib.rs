//! Empty: this manifest only fetches sources (see Cargo.toml).
