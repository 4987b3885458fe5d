//! Atomic writes to the lake: a [`Transaction`] holds the write lock, stages new dataset
//! versions and rejects files, and commits them all at once by replacing the manifest.
//! Recovery from an interrupted write (leftover staging, stale links, old versions) runs at the
//! start of every transaction.

use super::lock::{self, LockGuard};
use super::manifest::{DatasetState, FileEntry, IngestRecord, Manifest};
use super::merge::MergeStats;
use super::partitioned::{self, Current, Spill};
use super::{Lake, version_name};
use crate::error::{Error, Result};
use crate::schema::{ColumnType, Dataset, DatasetKind, Layout, PARTITION_KEY};
use chrono::{DateTime, NaiveDate, TimeDelta};
use polars::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// An open write to the lake. Nothing is visible until [`Transaction::commit`]; dropping it
/// without committing leaves the lake as it was.
pub struct Transaction<'a> {
    lake: &'a Lake,
    _guard: LockGuard,
    next: Manifest,
    /// Staged dataset versions: kind → (staging dir, version).
    staged: BTreeMap<DatasetKind, (PathBuf, u64)>,
    staged_rejects: Vec<(PathBuf, PathBuf)>,
    committed: bool,
}

fn io<T>(path: &Path, r: std::io::Result<T>) -> Result<T> {
    r.map_err(|e| Error::io(path, e))
}

/// fsync a file or a directory.
fn fsync_path(path: &Path) -> Result<()> {
    io(path, fs::File::open(path).and_then(|f| f.sync_all()))
}

/// Threads that fsync a version's files and directories at once.
const SYNC_THREADS: usize = 8;

/// Make a written version durable: every file in `files` (paths relative to `dir`), every
/// directory holding one, and `dir` itself, fsynced by up to [`SYNC_THREADS`] threads at once.
/// A month-partitioned version is a file and a directory per month: on this project's disk 72
/// fsyncs of small files took 12–19 ms one after another and 5–6 ms from eight threads, the
/// file system committing the waiting ones together (`bench/fsync-batch.py`). The files an
/// upsert left unchanged and linked into the version are synced too: where a hard link is not
/// possible they are copies, whose data needs it. Every sync has returned, or the first error
/// is returned, before the caller goes on to publish the version.
fn sync_version(dir: &Path, files: &[FileEntry]) -> Result<()> {
    let mut paths: Vec<PathBuf> = files.iter().map(|f| dir.join(&f.path)).collect();
    let dirs: std::collections::BTreeSet<PathBuf> = files
        .iter()
        .filter_map(|f| Path::new(&f.path).parent())
        .filter(|p| !p.as_os_str().is_empty())
        .map(|p| dir.join(p))
        .collect();
    paths.extend(dirs);
    paths.push(dir.to_path_buf());
    let per_thread = paths.len().div_ceil(SYNC_THREADS).max(1);
    std::thread::scope(|s| {
        let syncs: Vec<_> = paths
            .chunks(per_thread)
            .map(|chunk| s.spawn(move || chunk.iter().try_for_each(|p| fsync_path(p))))
            .collect();
        syncs.into_iter().try_for_each(|h| {
            h.join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    })
}

impl<'a> Transaction<'a> {
    /// Lock the lake for writing and repair what an interrupted write left behind.
    pub fn begin(lake: &'a Lake) -> Result<Self> {
        let meta = lake.meta();
        for d in [
            lake.root().to_path_buf(),
            meta.clone(),
            meta.join("data"),
            meta.join("rejects"),
        ] {
            io(&d, fs::create_dir_all(&d))?;
        }
        let guard = lock::exclusive(&meta.join("lock"), lake.root())?;
        let manifest = lake.manifest()?;
        recover(lake, &manifest)?;
        io(
            &meta.join("staging"),
            fs::create_dir_all(meta.join("staging")),
        )?;
        Ok(Transaction {
            lake,
            _guard: guard,
            next: manifest,
            staged: BTreeMap::new(),
            staged_rejects: Vec::new(),
            committed: false,
        })
    }

    /// The manifest as it will be after commit (so far).
    pub fn manifest(&self) -> &Manifest {
        &self.next
    }

    /// A dataset's rows as this transaction sees them (its own staged writes included).
    pub fn current(&self, kind: DatasetKind) -> Result<DataFrame> {
        let files: Vec<PathBuf> = self
            .current_files(kind)
            .into_iter()
            .map(|c| c.path)
            .collect();
        if files.is_empty() {
            return Ok(super::empty_frame(kind.spec()));
        }
        super::read_files(&files, kind.spec())
    }

    /// The files of a dataset as this transaction sees them.
    fn current_files(&self, kind: DatasetKind) -> Vec<Current> {
        let Some(state) = self.next.datasets.get(kind.name()) else {
            return Vec::new();
        };
        let dir = match self.staged.get(&kind) {
            Some((dir, _)) => dir.clone(),
            None => self.lake.version_dir(kind, state.version),
        };
        state
            .files
            .iter()
            .map(|f| Current {
                entry: f.clone(),
                path: dir.join(&f.path),
            })
            .collect()
    }

    /// A new staging directory for the next version of `kind`.
    fn stage(&self, kind: DatasetKind) -> Result<(PathBuf, u64)> {
        let version = match self.staged.get(&kind) {
            Some((_, v)) => v + 1,
            None => self
                .next
                .datasets
                .get(kind.name())
                .map(|s| s.version + 1)
                .unwrap_or(1),
        };
        let dir = self.lake.meta().join("staging").join(format!(
            "{}-{}",
            kind.name(),
            version_name(version)
        ));
        io(&dir, fs::create_dir_all(&dir))?;
        Ok((dir, version))
    }

    /// Make a staged version current in this transaction (dropping an earlier staged one).
    fn install(
        &mut self,
        kind: DatasetKind,
        (dir, version): (PathBuf, u64),
        state: DatasetState,
    ) -> Result<()> {
        if let Some((old, _)) = self.staged.remove(&kind) {
            io(&old, fs::remove_dir_all(&old))?;
        }
        self.next.datasets.insert(kind.name().to_string(), state);
        self.staged.insert(kind, (dir, version));
        Ok(())
    }

    /// Stage `df` as the new content of dataset `kind`, written by ingest `ingest_id`.
    pub fn put(&mut self, kind: DatasetKind, df: DataFrame, ingest_id: u64) -> Result<()> {
        let (dir, version) = self.stage(kind)?;
        let spec = kind.spec();
        let files = write_version(&dir, spec, &df)?;
        let (time_min, time_max) = time_range(spec, &df)?;
        let state = DatasetState {
            version,
            rows: df.height() as u64,
            files,
            time_min,
            time_max,
            last_ingest: ingest_id,
        };
        self.install(kind, (dir, version), state)
    }

    /// A spill for the rows of one ingest into month-partitioned dataset `kind`.
    pub fn spill(&self, kind: DatasetKind) -> Result<Spill> {
        // One spill at a time per dataset: a spill removes its directory when dropped.
        let dir = self
            .lake
            .meta()
            .join("staging")
            .join(format!("spill-{}", kind.name()));
        Spill::new(dir, kind.spec())
    }

    /// Merge a spill into its dataset partition by partition, written by ingest `ingest_id`.
    /// Nothing is staged when no key was inserted or changed.
    pub fn put_spill(
        &mut self,
        kind: DatasetKind,
        spill: &mut Spill,
        ingest_id: u64,
    ) -> Result<MergeStats> {
        let spec = kind.spec();
        let (dir, version) = self.stage(kind)?;
        let current = self.current_files(kind);
        let merged = partitioned::merge(spill, &current, &dir, &write_file)?;
        if merged.stats.inserted + merged.stats.updated == 0 {
            io(&dir, fs::remove_dir_all(&dir))?;
            return Ok(merged.stats);
        }
        sync_version(&dir, &merged.files)?;
        let (time_min, time_max) = format_range(spec, merged.time_range);
        let state = DatasetState {
            version,
            rows: merged.rows,
            files: merged.files,
            time_min,
            time_max,
            last_ingest: ingest_id,
        };
        self.install(kind, (dir, version), state)?;
        Ok(merged.stats)
    }

    /// Stage a rejects file; returns its path relative to the lake root once committed.
    pub fn put_rejects(&mut self, name: &str, bytes: &[u8]) -> Result<String> {
        let staging = self.lake.meta().join("staging").join(name);
        io(
            &staging,
            fs::write(&staging, bytes).and_then(|_| fs::File::open(&staging)?.sync_all()),
        )?;
        let rel = format!("{}/rejects/{name}", super::META);
        self.staged_rejects
            .push((staging, self.lake.root().join(&rel)));
        Ok(rel)
    }

    /// Record an ingest in the manifest.
    pub fn record(&mut self, rec: IngestRecord) {
        self.next.ingests.push(rec);
    }

    pub fn next_ingest_id(&self) -> u64 {
        self.next.next_ingest_id()
    }

    /// Publish everything staged, atomically.
    pub fn commit(mut self) -> Result<()> {
        let meta = self.lake.meta();
        for (kind, (dir, version)) in &self.staged {
            let data = self.lake.data_dir(*kind);
            io(&data, fs::create_dir_all(&data))?;
            let fin = self.lake.version_dir(*kind, *version);
            io(&fin, fs::rename(dir, &fin))?;
            fsync_path(&data)?;
        }
        for (from, to) in &self.staged_rejects {
            io(to, fs::rename(from, to))?;
        }
        fsync_path(&meta.join("rejects"))?;
        // The commit point.
        let tmp = meta.join("manifest.json.tmp");
        let json = serde_json::to_vec_pretty(&self.next).expect("manifest serialises");
        io(
            &tmp,
            fs::write(&tmp, json).and_then(|_| fs::File::open(&tmp)?.sync_all()),
        )?;
        io(&tmp, fs::rename(&tmp, meta.join("manifest.json")))?;
        fsync_path(&meta)?;
        self.committed = true;
        // After the commit: links for other readers, then garbage.
        recover(self.lake, &self.next)
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(self.lake.meta().join("staging"));
        }
    }
}

/// Make the lake's directories agree with `manifest`: drop staging leftovers, point every
/// dataset link at its current version, delete versions and rejects the manifest does not name.
fn recover(lake: &Lake, manifest: &Manifest) -> Result<()> {
    let meta = lake.meta();
    let staging = meta.join("staging");
    if staging.exists() {
        io(&staging, fs::remove_dir_all(&staging))?;
    }
    let _ = fs::remove_file(meta.join("manifest.json.tmp"));
    for kind in DatasetKind::ALL {
        let current = manifest
            .datasets
            .get(kind.name())
            .map(|s| version_name(s.version));
        let public = lake.public_dir(kind);
        match fs::symlink_metadata(&public) {
            Ok(m) if !m.file_type().is_symlink() => {
                return Err(Error::Lake {
                    lake: lake.root().to_path_buf(),
                    message: format!(
                        "{} exists but is not managed by opsintel; move it away",
                        public.display()
                    ),
                });
            }
            Ok(_) if current.is_none() => io(&public, fs::remove_file(&public))?,
            _ => {}
        }
        if let Some(v) = &current {
            relink(lake, kind, v)?;
        }
        let data = lake.data_dir(kind);
        if let Ok(entries) = fs::read_dir(&data) {
            for e in entries.flatten() {
                if Some(e.file_name().to_string_lossy().to_string()) != current {
                    io(&e.path(), fs::remove_dir_all(e.path()))?;
                }
            }
        }
    }
    let referenced: BTreeSet<String> = manifest
        .ingests
        .iter()
        .filter_map(|i| i.rejects_file.clone())
        .collect();
    if let Ok(entries) = fs::read_dir(meta.join("rejects")) {
        for e in entries.flatten() {
            let rel = format!(
                "{}/rejects/{}",
                super::META,
                e.file_name().to_string_lossy()
            );
            if !referenced.contains(&rel) {
                let _ = fs::remove_file(e.path());
            }
        }
    }
    Ok(())
}

#[cfg(unix)]
fn relink(lake: &Lake, kind: DatasetKind, version: &str) -> Result<()> {
    let target = Path::new(super::META)
        .join("data")
        .join(kind.name())
        .join(version);
    let public = lake.public_dir(kind);
    if fs::read_link(&public).ok().as_deref() == Some(target.as_path()) {
        return Ok(());
    }
    let tmp = lake.root().join(format!(".{}.link-tmp", kind.name()));
    let _ = fs::remove_file(&tmp);
    io(&tmp, std::os::unix::fs::symlink(&target, &tmp))?;
    io(&public, fs::rename(&tmp, &public))?;
    fsync_path(lake.root())
}

#[cfg(not(unix))]
fn relink(_lake: &Lake, _kind: DatasetKind, _version: &str) -> Result<()> {
    // Without symlinks, other readers use the version directory named in the manifest.
    Ok(())
}

/// Write one dataset version into `dir`, fsynced ([`sync_version`]); returns its files.
fn write_version(dir: &Path, spec: &Dataset, df: &DataFrame) -> Result<Vec<FileEntry>> {
    let mut files = Vec::new();
    match spec.layout {
        Layout::Single => {
            if df.height() > 0 {
                files.push(write_file(dir, "part-0.parquet", None, df.clone())?);
            }
        }
        Layout::MonthlyBy(t) => {
            for (key, part) in partitioned::month_parts(df, t)? {
                let sub = format!("{PARTITION_KEY}={key}");
                io(&dir.join(&sub), fs::create_dir_all(dir.join(&sub)))?;
                files.push(write_file(
                    dir,
                    &format!("{sub}/part-0.parquet"),
                    Some(key),
                    part,
                )?);
            }
            files.sort_by(|a, b| a.path.cmp(&b.path));
        }
    }
    sync_version(dir, &files)?;
    Ok(files)
}

/// Rows per row group of the lake's files (polars' streaming sink's own default).
const ROW_GROUP_ROWS: usize = 122_880;

/// Write `df` to `dir/rel` (zstd, min/max/null statistics), not yet synced: [`sync_version`]
/// syncs it with the rest of its version. Through polars' streaming sink, which cuts the rows
/// into row groups and encodes and compresses them on every core: `ParquetWriter` compresses
/// one page after another on one core, and writing was two thirds of an ingest's merge.
fn write_file(
    dir: &Path,
    rel: &str,
    partition: Option<String>,
    df: DataFrame,
) -> Result<FileEntry> {
    let path = dir.join(rel);
    let err = || Error::polars(format!("writing {}", path.display()));
    let target = path
        .to_str()
        .map(|p| SinkTarget::Path(PlRefPath::from(p)))
        .ok_or_else(|| Error::io(&path, std::io::Error::other("the lake's path is not UTF-8")))?;
    let options = ParquetWriteOptions {
        compression: ParquetCompression::Zstd(None),
        statistics: StatisticsOptions::default(),
        // Set, so that the layout does not follow polars' environment variables; small enough
        // that a month of a small lake still gives both cores a row group.
        row_group_size: Some(ROW_GROUP_ROWS),
        data_page_size: None,
        key_value_metadata: None,
        arrow_schema: None,
        compat_level: None,
    };
    let rows = df.height() as u64;
    df.lazy()
        .sink(
            SinkDestination::File { target },
            FileWriteFormat::Parquet(std::sync::Arc::new(options)),
            UnifiedSinkArgs::default(),
        )
        .and_then(|sink| sink.collect_with_engine(Engine::Streaming))
        .map_err(err())?;
    let bytes = io(&path, fs::metadata(&path))?.len();
    Ok(FileEntry {
        path: rel.to_string(),
        partition,
        rows,
        bytes,
    })
}

/// Min and max of the dataset's time column, as text.
fn time_range(spec: &Dataset, df: &DataFrame) -> Result<(Option<String>, Option<String>)> {
    let Some(t) = spec.time_column() else {
        return Ok((None, None));
    };
    let c = df.column(t).map_err(Error::polars("time range"))?;
    let phys = c.to_physical_repr();
    let phys = phys
        .cast(&DataType::Int64)
        .map_err(Error::polars("time range"))?;
    let ca = phys.i64().map_err(Error::polars("time range"))?;
    Ok(format_range(spec, (ca.min(), ca.max())))
}

/// A bound written by [`format_range`] read back as a physical value (UTC microseconds, whole
/// seconds, for timestamps; days since 1970-01-01 for dates): `None` if it does not parse.
pub(super) fn parse_bound(spec: &Dataset, text: &str) -> Option<i64> {
    let ty = spec.time_column().and_then(|t| spec.column(t))?.ty;
    match ty {
        ColumnType::Timestamp => DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|d| d.timestamp_micros()),
        _ => {
            let d = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
            Some((d - NaiveDate::from_ymd_opt(1970, 1, 1)?).num_days())
        }
    }
}

/// A time column's range (physical values) as text: RFC 3339 for timestamps, else dates.
fn format_range(
    spec: &Dataset,
    (min, max): (Option<i64>, Option<i64>),
) -> (Option<String>, Option<String>) {
    let ty = spec
        .time_column()
        .and_then(|t| spec.column(t))
        .map(|c| c.ty);
    let fmt = |v: Option<i64>| -> Option<String> {
        let v = v?;
        match ty {
            Some(ColumnType::Timestamp) => DateTime::from_timestamp_micros(v)
                .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
            _ => NaiveDate::from_ymd_opt(1970, 1, 1).map(|e| (e + TimeDelta::days(v)).to_string()),
        }
    };
    (fmt(min), fmt(max))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_is_synced_whole_and_a_file_that_cannot_be_synced_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let entry = |path: String| FileEntry {
            path,
            partition: None,
            rows: 0,
            bytes: 0,
        };
        // More files than threads, in month directories, and one at the top.
        let mut files: Vec<FileEntry> = (1..=20)
            .map(|m| {
                let sub = format!("month=2026-{m:02}");
                fs::create_dir_all(dir.join(&sub)).unwrap();
                fs::write(dir.join(&sub).join("part-0.parquet"), b"x").unwrap();
                entry(format!("{sub}/part-0.parquet"))
            })
            .collect();
        fs::write(dir.join("part-0.parquet"), b"x").unwrap();
        files.push(entry("part-0.parquet".into()));
        sync_version(dir, &files).unwrap();
        sync_version(dir, &[]).unwrap();
        // A file the version names but that is not there: the error says which.
        files.insert(7, entry("month=2026-07/part-1.parquet".into()));
        let err = sync_version(dir, &files).unwrap_err().to_string();
        assert!(err.contains("month=2026-07/part-1.parquet"), "{err}");
    }

    #[test]
    fn a_recorded_time_bound_reads_back_as_the_value_written() {
        // Incidents: timestamps, written to whole seconds. 2026-03-01T00:00:00Z and a minute
        // before it, plus 0.25 s (dropped).
        let inc = DatasetKind::Incidents.spec();
        let (lo, hi) = format_range(
            inc,
            (Some(1_772_323_140_250_000), Some(1_772_323_200_000_000)),
        );
        assert_eq!(lo.as_deref(), Some("2026-02-28T23:59:00Z"));
        assert_eq!(parse_bound(inc, &lo.unwrap()), Some(1_772_323_140_000_000));
        assert_eq!(parse_bound(inc, &hi.unwrap()), Some(1_772_323_200_000_000));
        // Revenue: months as dates, days since 1970-01-01 (2026-01-01 is day 20,454).
        let rev = DatasetKind::Revenue.spec();
        let (lo, _) = format_range(rev, (Some(20_454), None));
        assert_eq!(lo.as_deref(), Some("2026-01-01"));
        assert_eq!(parse_bound(rev, "2026-01-01"), Some(20_454));
        assert_eq!(parse_bound(rev, "January"), None);
    }
}
