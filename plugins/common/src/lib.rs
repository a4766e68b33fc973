//! What the built-in corpus adapters share and a third-party adapter does not
//! need: the KonViD schema and the synthetic MOS model of the prior art.
#![deny(missing_docs)]

pub mod konvid;
pub mod mos;

pub use konvid::{konvid_v1_column, KONVID_V1};
pub use mos::smoke_mos;
