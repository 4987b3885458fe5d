//! opsintel: operations-intelligence analytics. Exports from incident, change, SLA and revenue
//! tools are ingested into a local Parquet lake; later layers answer executive questions from it.
//!
//! Data flows one way: [`ingest`] (parse, validate, normalise) → [`lake`] (atomic Parquet
//! storage with a manifest) → [`quality`] checks; [`generate`] makes realistic sample exports.
//! The binary's `commands` are thin wrappers over these modules.

pub mod chart;
pub mod cli;
pub mod commands;
pub mod context;
pub mod error;
pub mod generate;
pub mod graph;
pub mod ingest;
pub mod lake;
pub mod mapping;
pub mod memory;
pub mod model;
pub mod output;
pub mod quality;
pub mod query;
pub mod report;
pub mod schema;

pub use error::{Error, Result};
