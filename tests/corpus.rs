//! Corpus ingestion end to end.
