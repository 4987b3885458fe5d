//! A consistent view of the lake for one run: holds the reader's lock (so no ingest swaps or
//! collects the files underneath it) and hands out lazy scans of the current version of each
//! dataset. Nothing is read until a scan is collected, and then only the columns asked for.

use super::lock::LockGuard;
use super::{Lake, Manifest};
use crate::error::{Error, Result};
use crate::schema::DatasetKind;
use polars::prelude::*;

/// The lake as of the moment the run started.
pub struct Snapshot {
    lake: Lake,
    manifest: Manifest,
    _guard: Option<LockGuard>,
}

impl Snapshot {
    /// Take the reader's lock and the current manifest.
    pub fn open(lake: &Lake) -> Result<Self> {
        let guard = lake.read_lock()?;
        let manifest = lake.manifest()?;
        Ok(Snapshot {
            lake: lake.clone(),
            manifest,
            _guard: guard,
        })
    }

    /// A lazy scan of a dataset (every canonical column; polars pushes projections and filters
    /// into the Parquet read).
    pub fn scan(&self, kind: DatasetKind) -> Result<LazyFrame> {
        self.lake.scan(&self.manifest, kind)
    }

    /// [`Snapshot::scan`] of only the month partitions overlapping `[start, end)` (UTC
    /// microseconds; [`Lake::scan_between`]): the caller filters the rows to the span.
    pub fn scan_between(&self, kind: DatasetKind, start: i64, end: i64) -> Result<LazyFrame> {
        self.lake.scan_between(&self.manifest, kind, start, end)
    }

    /// The minimum of a dataset's time column (its partition column, or its first required
    /// date or time column) as the manifest recorded it at ingest: UTC microseconds for
    /// timestamps, days for dates. `None` when the manifest has none (an empty dataset, one
    /// without a time column, or a manifest written before ingest recorded it).
    pub fn recorded_time_min(&self, kind: DatasetKind) -> Option<i64> {
        let st = self.manifest.datasets.get(kind.name())?;
        super::store::parse_bound(kind.spec(), st.time_min.as_deref()?)
    }

    /// The named columns of a dataset, read now.
    pub fn columns(&self, kind: DatasetKind, names: &[&str]) -> Result<DataFrame> {
        self.scan(kind)?
            .select(names.iter().map(|n| col(*n)).collect::<Vec<_>>())
            .collect()
            .map_err(Error::polars(format!("reading {}", kind.name())))
    }

    /// Rows in a dataset's current version, from the manifest (no data read).
    pub fn rows(&self, kind: DatasetKind) -> u64 {
        self.manifest
            .datasets
            .get(kind.name())
            .map(|st| st.files.iter().map(|f| f.rows).sum())
            .unwrap_or(0)
    }
}
