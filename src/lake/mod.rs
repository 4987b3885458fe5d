//! The Parquet lake: one folder per dataset (`<lake>/<dataset>/`, Hive-partitioned by month for
//! the time-based datasets), written atomically and described by a manifest.
//!
//! Layout:
//! ```text
//! <lake>/incidents -> _opsintel/data/incidents/v000003   (relative symlink, for other readers)
//! <lake>/_opsintel/manifest.json                          (commit point)
//! <lake>/_opsintel/data/<dataset>/v<N>/month=YYYY-MM/part-0.parquet
//! <lake>/_opsintel/rejects/ingest-<id>-<dataset>.csv
//! <lake>/_opsintel/lock, staging/
//! ```
//! A write builds a new version directory in `staging/`, fsyncs it, moves it under `data/`,
//! then replaces the manifest (the commit), then swaps the dataset's symlink. A crash before the
//! manifest rename leaves the old lake; after it, the new one. Leftovers are cleaned and links
//! repaired by the next writer. opsintel itself reads through the manifest, never by globbing.
//!
//! This module owns the lake's files; it does not parse inputs or compute metrics.

mod lock;
mod manifest;
mod merge;
mod partitioned;
mod snapshot;
mod store;

pub use manifest::{DatasetState, FileEntry, IngestRecord, Manifest};
pub use merge::{MergeStats, upsert};
pub use partitioned::Spill;
pub use snapshot::Snapshot;
pub use store::Transaction;

use crate::error::{Error, Result};
use crate::schema::{ColumnType, Dataset, DatasetKind};
use polars::prelude::*;
use std::fs;
use std::path::{Path, PathBuf};

const META: &str = "_opsintel";

/// A lake directory.
#[derive(Debug, Clone)]
pub struct Lake {
    root: PathBuf,
}

impl Lake {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Lake { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn meta(&self) -> PathBuf {
        self.root.join(META)
    }

    fn manifest_path(&self) -> PathBuf {
        self.meta().join("manifest.json")
    }

    pub(crate) fn data_dir(&self, kind: DatasetKind) -> PathBuf {
        self.meta().join("data").join(kind.name())
    }

    pub(crate) fn version_dir(&self, kind: DatasetKind, version: u64) -> PathBuf {
        self.data_dir(kind).join(version_name(version))
    }

    /// The path other tools read a dataset from (`<lake>/<dataset>`).
    pub fn public_dir(&self, kind: DatasetKind) -> PathBuf {
        self.root.join(kind.name())
    }

    /// Whether this directory has ever been written as a lake.
    pub fn exists(&self) -> bool {
        self.manifest_path().is_file()
    }

    /// Read the manifest (an empty one if the lake has never been written).
    pub fn manifest(&self) -> Result<Manifest> {
        let path = self.manifest_path();
        match fs::read(&path) {
            Ok(bytes) => {
                let m: Manifest = serde_json::from_slice(&bytes).map_err(|e| Error::Lake {
                    lake: self.root.clone(),
                    message: format!("manifest {} is unreadable: {e}", path.display()),
                })?;
                if m.format != manifest::FORMAT {
                    return Err(Error::Lake {
                        lake: self.root.clone(),
                        message: format!(
                            "manifest format {} is not supported by this opsintel (expects {})",
                            m.format,
                            manifest::FORMAT
                        ),
                    });
                }
                Ok(m)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Manifest::new()),
            Err(e) => Err(Error::io(path, e)),
        }
    }

    /// Where derived tables are kept between runs: `<dir>/<table>/<key>.parquet`.
    pub(crate) fn derived_dir(&self) -> PathBuf {
        self.meta().join("derived")
    }

    /// The derived tables kept in the lake ([`Lake::derived_dir`]): each table's name, key and
    /// size in bytes, by name.
    pub fn kept_tables(&self) -> Vec<(String, String, u64)> {
        let mut out = Vec::new();
        let dir = self.derived_dir();
        for table in fs::read_dir(&dir).into_iter().flatten().flatten() {
            for file in fs::read_dir(table.path()).into_iter().flatten().flatten() {
                let name = file.file_name().to_string_lossy().to_string();
                if let Some(key) = name.strip_suffix(".parquet") {
                    let bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
                    let table = table.file_name().to_string_lossy().to_string();
                    out.push((table, key.to_string(), bytes));
                }
            }
        }
        out.sort();
        out
    }

    /// Take a reader's lock for as long as the guard lives (waits for a running writer).
    pub fn read_lock(&self) -> Result<Option<lock::LockGuard>> {
        if !self.meta().is_dir() {
            return Ok(None);
        }
        lock::shared(&self.meta().join("lock")).map(Some)
    }

    /// Files of a dataset's current version, as absolute-or-relative paths under the lake.
    pub fn files(&self, manifest: &Manifest, kind: DatasetKind) -> Vec<PathBuf> {
        self.files_where(manifest, kind, |_| true)
    }

    /// The files of a dataset's current version that `keep` accepts.
    fn files_where(
        &self,
        manifest: &Manifest,
        kind: DatasetKind,
        keep: impl Fn(&FileEntry) -> bool,
    ) -> Vec<PathBuf> {
        manifest
            .datasets
            .get(kind.name())
            .map(|st| {
                st.files
                    .iter()
                    .filter(|f| keep(f))
                    .map(|f| self.version_dir(kind, st.version).join(&f.path))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A lazy scan of a dataset's current rows (canonical columns, no partition column): polars
    /// reads only the columns and row groups a query needs. Files written before a column was
    /// added to the schema read it as missing values, as [`Lake::read`] does.
    pub fn scan(&self, manifest: &Manifest, kind: DatasetKind) -> Result<LazyFrame> {
        self.scan_files(kind, self.files(manifest, kind))
    }

    /// [`Lake::scan`] of only the month partitions that can hold rows whose partition column
    /// ([`crate::schema::Layout::MonthlyBy`]) lies in `[start, end)` (UTC microseconds): the
    /// other months' files, and that of rows without a time, are not opened. Rows outside the
    /// span but in a month overlapping it are still there: the caller filters the rows. A
    /// dataset not partitioned by month is scanned whole.
    pub fn scan_between(
        &self,
        manifest: &Manifest,
        kind: DatasetKind,
        start: i64,
        end: i64,
    ) -> Result<LazyFrame> {
        let files = self.files_where(manifest, kind, |f| match f.partition.as_deref() {
            None => true,
            Some(p) => match partition_span(p) {
                Some((from, to)) => from < end && to > start,
                // Rows without a time are in the partition `""`: never inside a span.
                None => !p.is_empty(),
            },
        });
        self.scan_files(kind, files)
    }

    /// A lazy scan of `files`, all of dataset `kind`.
    fn scan_files(&self, kind: DatasetKind, files: Vec<PathBuf>) -> Result<LazyFrame> {
        let spec = kind.spec();
        if files.is_empty() {
            return Ok(empty_frame(spec).lazy());
        }
        let canonical: Schema = spec
            .columns
            .iter()
            .map(|c| Field::new(c.name.into(), dtype(c.ty)))
            .collect();
        // Which canonical columns each file holds, and whether any holds one no longer in the
        // schema (footers only).
        let mut present = Vec::with_capacity(files.len());
        let mut extra = false;
        for f in &files {
            let file = fs::File::open(f).map_err(|e| Error::io(f, e))?;
            let names = ParquetReader::new(file)
                .schema()
                .map_err(Error::polars(format!("reading {}", f.display())))?;
            extra |= names.iter_names().any(|n| !canonical.contains(n));
            present.push(names);
        }
        let args = |schema: Option<Schema>| ScanArgsParquet {
            hive_options: HiveOptions::new_disabled(),
            glob: false,
            allow_missing_columns: true,
            schema: schema.map(Arc::new),
            ..Default::default()
        };
        let path = |f: &PathBuf| PlRefPath::new(f.to_string_lossy().as_ref());
        let err = || Error::polars(format!("reading {}", kind.name()));
        if !extra {
            // One scan of every file: columns missing from older files read as nulls.
            let paths: Vec<PlRefPath> = files.iter().map(path).collect();
            return LazyFrame::scan_parquet_files(paths.into(), args(Some(canonical)))
                .map_err(err());
        }
        // A file with a column the schema dropped: conform file by file.
        let mut parts = Vec::with_capacity(files.len());
        for (f, names) in files.iter().zip(&present) {
            let lf = LazyFrame::scan_parquet(path(f), args(None)).map_err(err())?;
            let cols: Vec<Expr> = spec
                .columns
                .iter()
                .map(|c| {
                    if names.contains(c.name) {
                        col(c.name).cast(dtype(c.ty))
                    } else {
                        lit(NULL).cast(dtype(c.ty)).alias(c.name)
                    }
                })
                .collect();
            parts.push(lf.select(cols));
        }
        concat(parts, UnionArgs::default()).map_err(Error::polars("combining lake files"))
    }

    /// Read a dataset's current rows (canonical columns, no partition column).
    pub fn read(&self, manifest: &Manifest, kind: DatasetKind) -> Result<DataFrame> {
        let spec = kind.spec();
        let files = self.files(manifest, kind);
        if files.is_empty() {
            return Ok(empty_frame(spec));
        }
        read_files(&files, spec)
    }
}

pub(crate) fn read_files(files: &[PathBuf], spec: &Dataset) -> Result<DataFrame> {
    let mut out: Option<DataFrame> = None;
    for f in files {
        let file = fs::File::open(f).map_err(|e| Error::io(f, e))?;
        let df = ParquetReader::new(file)
            .finish()
            .map_err(Error::polars(format!("reading {}", f.display())))?;
        let df = conform(df, spec).map_err(Error::polars(format!("reading {}", f.display())))?;
        match out.as_mut() {
            None => out = Some(df),
            Some(acc) => {
                acc.vstack_mut_owned(df)
                    .map_err(Error::polars("combining lake files"))?;
            }
        }
    }
    let mut df = out.unwrap_or_else(|| empty_frame(spec));
    df.rechunk_mut();
    Ok(df)
}

/// Create `path` and write it through a buffer with `write`; the file back, flushed, for the
/// caller to sync. polars' `ParquetWriter` writes page headers and the footer a few bytes per
/// call: straight to a file, one 156-row spill of the maintenance dataset was 26,893 `write`
/// calls.
pub(crate) fn write_buffered(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<fs::File>) -> Result<()>,
) -> Result<fs::File> {
    let file = fs::File::create(path).map_err(|e| Error::io(path, e))?;
    let mut buf = std::io::BufWriter::with_capacity(1 << 20, file);
    write(&mut buf)?;
    buf.into_inner()
        .map_err(|e| Error::io(path, e.into_error()))
}

/// A lake file's rows with exactly the dataset's canonical columns, in order: columns added to
/// the schema after the file was written read as missing values.
fn conform(df: DataFrame, spec: &Dataset) -> PolarsResult<DataFrame> {
    let cols = spec
        .columns
        .iter()
        .map(|c| match df.column(c.name) {
            Ok(col) => col.cast(&dtype(c.ty)),
            Err(_) => Ok(Column::full_null(c.name.into(), df.height(), &dtype(c.ty))),
        })
        .collect::<PolarsResult<Vec<_>>>()?;
    DataFrame::new(df.height(), cols)
}

/// The span of a month partition named `YYYY-MM`: its first microsecond (UTC) and that of the
/// month after. `None` for any other name.
fn partition_span(name: &str) -> Option<(i64, i64)> {
    let first = chrono::NaiveDate::parse_from_str(&format!("{name}-01"), "%Y-%m-%d").ok()?;
    let next = first.checked_add_months(chrono::Months::new(1))?;
    let micros = |d: chrono::NaiveDate| {
        d.and_time(chrono::NaiveTime::MIN)
            .and_utc()
            .timestamp_micros()
    };
    Some((micros(first), micros(next)))
}

/// The polars type the lake stores for a canonical column type.
pub fn dtype(ty: ColumnType) -> DataType {
    match ty {
        ColumnType::Text | ColumnType::Enum(_) | ColumnType::CreditTiers => DataType::String,
        ColumnType::Int { .. } => DataType::Int64,
        ColumnType::Float { .. } => DataType::Float64,
        ColumnType::Bool => DataType::Boolean,
        ColumnType::Date | ColumnType::Month => DataType::Date,
        ColumnType::Timestamp => DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC)),
        ColumnType::List => DataType::List(Box::new(DataType::String)),
    }
}

/// A frame with a dataset's canonical columns and no rows.
pub fn empty_frame(spec: &Dataset) -> DataFrame {
    let schema: Schema = spec
        .columns
        .iter()
        .map(|c| Field::new(c.name.into(), dtype(c.ty)))
        .collect();
    DataFrame::empty_with_schema(&schema)
}

fn version_name(version: u64) -> String {
    format!("v{version:06}")
}
