//! A consistent view of the lake for one run: holds the reader's lock (so no ingest swaps or
//! collects the files underneath it) and hands out lazy scans of the current version of each
//! dataset. Nothing is read until a scan is collected, and then only the columns asked for.

use super::lock::LockGuard;
use super::{Lake, Manifest};
use crate::error::{Error, Result};
use crate::schema::DatasetKind;
use polars::prelude::*;
use std::fs;
use std::path::{Path, PathBuf};

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

    /// Whether the lake has its metadata folder, where derived tables are kept
    /// ([`Snapshot::keep`]).
    pub fn writable(&self) -> bool {
        self.lake.meta().is_dir()
    }

    /// What names a dataset's current rows: its version, rows and the ingest that wrote it
    /// (`0` for a dataset the lake does not hold). Every ingest that changes a dataset gives it
    /// a new version, so a table derived from the datasets, keyed by their stamps, is stale
    /// exactly when one of them has changed.
    pub fn stamp(&self, kind: DatasetKind) -> String {
        match self.manifest.datasets.get(kind.name()) {
            Some(st) => format!("{}.{}.{}", st.version, st.rows, st.last_ingest),
            None => "0".to_string(),
        }
    }

    fn derived_dir(&self, name: &str) -> PathBuf {
        self.lake.derived_dir().join(name)
    }

    /// A derived table kept under `name` and `key` by [`Snapshot::keep`], as a lazy scan.
    pub fn kept(&self, name: &str, key: &str) -> Result<Option<LazyFrame>> {
        let path = self.derived_dir(name).join(format!("{key}.parquet"));
        if !path.is_file() {
            return Ok(None);
        }
        let args = ScanArgsParquet {
            hive_options: HiveOptions::new_disabled(),
            glob: false,
            ..Default::default()
        };
        LazyFrame::scan_parquet(PlRefPath::new(path.to_string_lossy().as_ref()), args)
            .map(Some)
            .map_err(Error::polars(format!("reading the derived table {name}")))
    }

    /// Keep a table derived from this snapshot's datasets as
    /// `_opsintel/derived/<name>/<key>.parquet`, written to a temporary file, synced and
    /// renamed (a reader sees the whole file or none), and remove the name's other keys. Runs
    /// keep tables under the reader's lock: every run that holds it at the same time reads the
    /// same manifest, so none of them still needs another key, and two runs keeping the same
    /// key write the same rows.
    pub fn keep(&self, name: &str, key: &str, df: &mut DataFrame) -> Result<()> {
        let dir = self.derived_dir(name);
        let io = |path: &Path, r: std::io::Result<()>| r.map_err(|e| Error::io(path, e));
        io(&dir, fs::create_dir_all(&dir))?;
        let path = dir.join(format!("{key}.parquet"));
        let tmp = dir.join(format!("{key}.parquet.{}.tmp", std::process::id()));
        let written = (|| -> Result<()> {
            let f = super::write_buffered(&tmp, |f| {
                // Row groups small enough that a filtered read skips most of a large table.
                ParquetWriter::new(f)
                    .with_row_group_size(Some(65_536))
                    .finish(df)
                    .map(drop)
                    .map_err(Error::polars(format!("writing the derived table {name}")))
            })?;
            io(&tmp, f.sync_all())?;
            io(&path, fs::rename(&tmp, &path))
        })();
        if written.is_err() {
            let _ = fs::remove_file(&tmp);
            return written;
        }
        let wanted = path.file_name().map(|n| n.to_os_string());
        for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
            let other = entry.file_name();
            if Some(&other) != wanted.as_ref() && other.to_string_lossy().ends_with(".parquet") {
                let _ = fs::remove_file(entry.path());
            }
        }
        Ok(())
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
