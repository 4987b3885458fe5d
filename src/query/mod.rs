//! The query layer: canned queries (files under `queries/`) and ad-hoc SQL over the lake's
//! datasets plus the derived model, with typed parameters and output formats.

pub mod catalog;
pub mod engine;
pub mod format;
pub mod params;
pub mod period;
