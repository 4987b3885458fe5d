//! The lake's manifest: the single commit point. It names the current version of every dataset
//! (with its files, row counts and time range) and records every ingest. It is replaced
//! atomically (write, fsync, rename); whatever it names is the lake.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Current manifest format; bump on incompatible changes.
pub const FORMAT: u32 = 1;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format: u32,
    /// Current state per dataset name.
    pub datasets: BTreeMap<String, DatasetState>,
    /// Every ingest that changed the lake, oldest first.
    pub ingests: Vec<IngestRecord>,
}

/// One dataset's current version.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DatasetState {
    pub version: u64,
    pub rows: u64,
    /// Files of this version, relative to its version directory.
    pub files: Vec<FileEntry>,
    /// Range of the dataset's time column (RFC 3339 or date), if it has one and rows.
    pub time_min: Option<String>,
    pub time_max: Option<String>,
    /// Id of the ingest that wrote this version.
    pub last_ingest: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FileEntry {
    pub path: String,
    /// Hive partition value (`YYYY-MM`) for partitioned datasets.
    pub partition: Option<String>,
    pub rows: u64,
    pub bytes: u64,
}

/// What one ingest of one file did.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct IngestRecord {
    pub id: u64,
    /// Wall-clock time of the ingest, UTC, RFC 3339.
    pub at: String,
    pub dataset: String,
    /// The file as named on the command line.
    pub file: String,
    pub sha256: String,
    pub bytes: u64,
    pub source_tz: String,
    pub rows_read: u64,
    pub accepted: u64,
    pub rejected: u64,
    /// Keys new to the lake.
    pub inserted: u64,
    /// Keys already in the lake whose record changed.
    pub updated: u64,
    /// Keys already in the lake left as they were (same record, or an older `updated_at`).
    pub unchanged: u64,
    /// Rows of this file whose key appeared earlier in the same file (merged into one).
    pub duplicates_in_file: u64,
    /// Rejects file, relative to the lake root.
    pub rejects_file: Option<String>,
    /// The mapping the file went through (`preset:NAME` or `mapping:SHA256`), if any.
    #[serde(default)]
    pub mapping: Option<String>,
    /// Rows the mapping's keep/drop rules left out (not this dataset's rows).
    #[serde(default)]
    pub filtered: u64,
    /// Older event-log rows replaced by a later row of the same key.
    #[serde(default)]
    pub superseded: u64,
}

impl Manifest {
    pub fn new() -> Self {
        Manifest {
            format: FORMAT,
            ..Default::default()
        }
    }

    pub fn next_ingest_id(&self) -> u64 {
        self.ingests.last().map(|i| i.id + 1).unwrap_or(1)
    }

    /// The ingest that already loaded this exact content for this dataset, if any.
    pub fn find_same(
        &self,
        dataset: &str,
        sha256: &str,
        source_tz: &str,
        mapping: Option<&str>,
    ) -> Option<&IngestRecord> {
        self.ingests.iter().find(|i| {
            i.dataset == dataset
                && i.sha256 == sha256
                && i.source_tz == source_tz
                && i.mapping.as_deref() == mapping
        })
    }

    pub fn last_ingest_of(&self, dataset: &str) -> Option<&IngestRecord> {
        self.ingests.iter().rev().find(|i| i.dataset == dataset)
    }
}
