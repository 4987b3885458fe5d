//! Streaming upsert for month-partitioned datasets. An ingest spills its validated rows, chunk
//! by chunk, into one small Parquet file per (chunk, month) and keeps only a 64-bit word per
//! row (a 48-bit hash of the key and the month). At the end each month that received rows is
//! merged with that month's current partition by [`upsert`]; partitions that received nothing
//! are hard-linked into the new version unchanged. A key whose rows fall in more than one
//! month (a record whose time changed, in the lake or within the file) is found by sorting the
//! words, and its rows are merged across months. Memory: one month at a time plus 8 bytes per
//! row of the incoming file and of the partitioned dataset.

use super::manifest::FileEntry;
use super::merge::{MergeStats, key_hashes, sort_rows, upsert};
use super::{read_files, write_buffered};
use crate::error::{Error, Result};
use crate::schema::{Dataset, Layout, PARTITION_KEY};
use polars::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Row number of an incoming row in its file, kept in spill files so that rows of one key
/// spread over months are merged in file order.
const ROW: &str = "__opsintel_row";

/// The month partitions of `df` by its time column `t` (UTC, microseconds), in order of first
/// appearance; rows keep their order. A missing time gives the partition `""`. Rows are grouped
/// by an integer year-and-month and each partition is named from its first row's time, so no
/// label is formatted per row (a per-row `strftime` was about 2.5 % of an ingest's samples).
pub fn month_parts(df: &DataFrame, t: &str) -> Result<Vec<(String, DataFrame)>> {
    const MONTH: &str = "__opsintel_month";
    let err = || Error::polars("partitioning by month");
    let keyed = df
        .clone()
        .lazy()
        .with_column(
            (col(t).dt().year().cast(DataType::Int64) * lit(12i64)
                + col(t).dt().month().cast(DataType::Int64))
            .alias(MONTH),
        )
        .collect()
        .map_err(err())?;
    let mut out = Vec::new();
    for part in keyed.partition_by_stable([MONTH], false).map_err(err())? {
        let first = part
            .column(t)
            .map_err(err())?
            .to_physical_repr()
            .i64()
            .map_err(err())?
            .get(0);
        let key = first
            .and_then(chrono::DateTime::from_timestamp_micros)
            .map(|d| d.format("%Y-%m").to_string())
            .unwrap_or_default();
        out.push((key, part));
    }
    Ok(out)
}

/// Only the 48 high bits of a key hash are kept; the low 16 hold the month's index.
const MONTH_BITS: u64 = 0xFFFF;

/// Rows of one ingest, spilled by month.
pub struct Spill {
    spec: &'static Dataset,
    time: &'static str,
    dir: PathBuf,
    /// Month → spill files, in write order.
    months: BTreeMap<String, Vec<PathBuf>>,
    /// Month name ↔ index in the packed words.
    index: BTreeMap<String, u16>,
    words: Vec<u64>,
    rows: u64,
    files: u64,
}

impl Spill {
    /// An empty spill in `dir` (created) for a month-partitioned dataset.
    pub fn new(dir: PathBuf, spec: &'static Dataset) -> Result<Self> {
        let Layout::MonthlyBy(time) = spec.layout else {
            return Err(Error::Usage(format!(
                "{} is not partitioned by month",
                spec.name()
            )));
        };
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        Ok(Spill {
            spec,
            time,
            dir,
            months: BTreeMap::new(),
            index: BTreeMap::new(),
            words: Vec::new(),
            rows: 0,
            files: 0,
        })
    }

    /// Rows spilled so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    fn month_index(&mut self, month: &str) -> Result<u16> {
        if let Some(i) = self.index.get(month) {
            return Ok(*i);
        }
        let i = u16::try_from(self.index.len())
            .ok()
            .filter(|i| u64::from(*i) < MONTH_BITS)
            .ok_or_else(|| Error::Usage("more than 65,535 months in one dataset".into()))?;
        self.index.insert(month.to_string(), i);
        Ok(i)
    }

    fn remember(&mut self, month: &str, hashes: &[u64]) -> Result<()> {
        let i = u64::from(self.month_index(month)?);
        self.words
            .extend(hashes.iter().map(|h| (h & !MONTH_BITS) | i));
        Ok(())
    }

    /// Spill a chunk of validated rows (canonical columns).
    pub fn push(&mut self, df: DataFrame) -> Result<()> {
        let n = df.height();
        if n == 0 {
            return Ok(());
        }
        let err = || Error::polars(format!("spilling {}", self.spec.name()));
        let mut df = df;
        let rows: Vec<u64> = (self.rows..self.rows + n as u64).collect();
        df.with_column(Column::new(ROW.into(), rows))
            .map_err(err())?;
        self.rows += n as u64;
        for (month, mut part) in month_parts(&df, self.time)? {
            let hashes = key_hashes(&part, self.spec.key)?;
            self.remember(&month, &hashes)?;
            let path = self.dir.join(format!("{:08}.parquet", self.files));
            self.files += 1;
            write_buffered(&path, |f| {
                ParquetWriter::new(f)
                    .with_compression(ParquetCompression::Lz4Raw)
                    .with_statistics(StatisticsOptions::empty())
                    .finish(&mut part)
                    .map(drop)
                    .map_err(err())
            })?;
            self.months.entry(month).or_default().push(path);
        }
        Ok(())
    }

    /// The spilled rows of `month`, in file order, with their row-number column.
    fn read_month(&self, month: &str) -> Result<Option<DataFrame>> {
        self.read_month_columns(month, None)
    }

    /// The spilled rows of `month`, in file order: `columns` only, if given.
    fn read_month_columns(
        &self,
        month: &str,
        columns: Option<&[&str]>,
    ) -> Result<Option<DataFrame>> {
        match self.months.get(month) {
            Some(files) => read_stacked(files, columns),
            None => Ok(None),
        }
    }
}

impl Drop for Spill {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// A file of the dataset's current version: its entry and where it is.
pub struct Current {
    pub entry: FileEntry,
    pub path: PathBuf,
}

/// The outcome of a partition-level merge.
pub struct Merged {
    pub files: Vec<FileEntry>,
    pub stats: MergeStats,
    pub rows: u64,
    /// Min and max of the time column (physical values).
    pub time_range: (Option<i64>, Option<i64>),
}

/// Rows of `df` whose key hash (48 bits) is in `suspects`, and the rest.
fn split_suspects(
    df: DataFrame,
    key: &[&str],
    suspects: &HashSet<u64>,
) -> Result<(DataFrame, DataFrame)> {
    let hashes = key_hashes(&df, key)?;
    let mask: BooleanChunked = hashes
        .iter()
        .map(|h| suspects.contains(&(h & !MONTH_BITS)))
        .collect();
    let err = || Error::polars("separating keys that changed month");
    let moving = df.filter(&mask).map_err(err())?;
    let staying = df.filter(&!&mask).map_err(err())?;
    Ok((moving, staying))
}

/// The rows of the Parquet files `paths`, stacked in order (`columns` only, if given); `None`
/// for no files. Spill files and the lake's files alike.
fn read_stacked(paths: &[PathBuf], columns: Option<&[&str]>) -> Result<Option<DataFrame>> {
    let mut out: Option<DataFrame> = None;
    for p in paths {
        let file = fs::File::open(p).map_err(|e| Error::io(p, e))?;
        let part = ParquetReader::new(file)
            .with_columns(columns.map(|cs| cs.iter().map(|c| c.to_string()).collect()))
            .finish()
            .map_err(Error::polars(format!("reading {}", p.display())))?;
        stack(&mut out, part)?;
    }
    Ok(out)
}

/// Candidate keys by their text (one value per key column): their hash and the months they
/// were found in.
type Seen = HashMap<Vec<Option<String>>, (u64, BTreeSet<String>)>;

/// Record, for each row of `keys` whose hash is a candidate, its key's text and `month`.
fn collect_candidates(
    keys: &DataFrame,
    key: &[&str],
    candidates: &HashSet<u64>,
    month: &str,
    seen: &mut Seen,
) -> Result<()> {
    let err = || Error::polars("reading keys that may have changed month");
    let hashes = key_hashes(keys, key)?;
    let texts: Vec<Column> = key
        .iter()
        .map(|k| keys.column(k).and_then(|c| c.cast(&DataType::String)))
        .collect::<PolarsResult<_>>()
        .map_err(err())?;
    let texts: Vec<&StringChunked> = texts
        .iter()
        .map(|c| c.str())
        .collect::<PolarsResult<_>>()
        .map_err(err())?;
    for (row, h) in hashes.iter().enumerate() {
        let h = h & !MONTH_BITS;
        if candidates.contains(&h) {
            let text = texts
                .iter()
                .map(|t| t.get(row).map(str::to_string))
                .collect();
            let entry = seen.entry(text).or_insert_with(|| (h, BTreeSet::new()));
            entry.1.insert(month.to_string());
        }
    }
    Ok(())
}

/// Keys (by text) seen in more than one month: their hashes, and the months they are in.
fn confirmed(seen: Seen) -> (HashSet<u64>, BTreeSet<String>) {
    let mut hashes = HashSet::new();
    let mut months = BTreeSet::new();
    for (hash, in_months) in seen.into_values() {
        if in_months.len() > 1 {
            hashes.insert(hash);
            months.extend(in_months);
        }
    }
    (hashes, months)
}

fn stack(acc: &mut Option<DataFrame>, df: DataFrame) -> Result<()> {
    match acc.as_mut() {
        None => *acc = Some(df),
        Some(a) => {
            a.vstack_mut_owned(df)
                .map_err(Error::polars("combining rows"))?;
        }
    }
    Ok(())
}

fn min_max(df: &DataFrame, t: &str) -> Result<(Option<i64>, Option<i64>)> {
    let err = || Error::polars("time range");
    let c = df.column(t).map_err(err())?.to_physical_repr();
    let c = c.cast(&DataType::Int64).map_err(err())?;
    let ca = c.i64().map_err(err())?;
    Ok((ca.min(), ca.max()))
}

fn widen(acc: &mut (Option<i64>, Option<i64>), r: (Option<i64>, Option<i64>)) {
    acc.0 = match (acc.0, r.0) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    acc.1 = match (acc.1, r.1) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
}

/// Merge `spill` into the current files of its dataset, writing the new version into
/// `out_dir` with `write` (which writes one partition file and returns its entry).
pub fn merge(
    spill: &mut Spill,
    current: &[Current],
    out_dir: &Path,
    write: &dyn Fn(&Path, &str, Option<String>, DataFrame) -> Result<FileEntry>,
) -> Result<Merged> {
    let spec = spill.spec;
    let key = spec.key;
    let t = spill.time;
    // Current files by month (a partition may in principle hold several files).
    let mut by_month: BTreeMap<String, Vec<&Current>> = BTreeMap::new();
    for c in current {
        by_month
            .entry(c.entry.partition.clone().unwrap_or_default())
            .or_default()
            .push(c);
    }
    let read_current = |month: &str| -> Result<Option<DataFrame>> {
        match by_month.get(month) {
            None => Ok(None),
            Some(cs) => {
                let paths: Vec<PathBuf> = cs.iter().map(|c| c.path.clone()).collect();
                read_files(&paths, spec).map(Some)
            }
        }
    };

    // Keys in more than one month: sort the words of the incoming rows and of the lake's.
    let mut words = std::mem::take(&mut spill.words);
    let mut index = spill.index.clone();
    for (month, cs) in &by_month {
        let i = match index.get(month) {
            Some(i) => u64::from(*i),
            None => {
                let i = index.len() as u64;
                index.insert(month.clone(), i as u16);
                i
            }
        };
        for c in cs {
            let Some(keys) = read_stacked(std::slice::from_ref(&c.path), Some(key))? else {
                continue;
            };
            words.extend(
                key_hashes(&keys, key)?
                    .iter()
                    .map(|h| (h & !MONTH_BITS) | i),
            );
        }
    }
    words.sort_unstable();
    // Hashes found in more than one month, and those months. 48-bit hashes of distinct keys
    // collide (18 pairs among the 91 M changes of the large benchmark), so these are only
    // candidates: their months' keys are read, and only keys really found in more than one
    // month are merged across months.
    let mut candidates = HashSet::new();
    let mut candidate_months: BTreeSet<u16> = BTreeSet::new();
    for run in words.chunk_by(|a, b| a & !MONTH_BITS == b & !MONTH_BITS) {
        if run.iter().any(|w| w & MONTH_BITS != run[0] & MONTH_BITS) {
            candidates.insert(run[0] & !MONTH_BITS);
            candidate_months.extend(run.iter().map(|w| (w & MONTH_BITS) as u16));
        }
    }
    drop(words);
    let month_names: BTreeMap<u16, &String> = index.iter().map(|(m, i)| (*i, m)).collect();
    let mut seen = Seen::new();
    for i in &candidate_months {
        let Some(m) = month_names.get(i) else {
            continue;
        };
        let mut frames: Vec<DataFrame> = spill
            .read_month_columns(m, Some(key))?
            .into_iter()
            .collect();
        if let Some(cs) = by_month.get(*m) {
            let paths: Vec<PathBuf> = cs.iter().map(|c| c.path.clone()).collect();
            frames.extend(read_stacked(&paths, Some(key))?);
        }
        for keys in frames {
            collect_candidates(&keys, key, &candidates, m, &mut seen)?;
        }
    }
    let (suspects, suspect_months) = confirmed(seen);

    let months: BTreeSet<String> = spill
        .months
        .keys()
        .chain(by_month.keys())
        .cloned()
        .collect();
    let mut stats = MergeStats::default();
    let err = || Error::polars(format!("merging {}", spec.name()));

    // Rows of keys in several months: merged across months first.
    let mut movers: BTreeMap<String, DataFrame> = BTreeMap::new();
    let mut left: BTreeSet<String> = BTreeSet::new();
    if !suspects.is_empty() {
        let (mut old, mut new) = (None, None);
        for m in &suspect_months {
            if let Some(df) = read_current(m)? {
                let (moving, _) = split_suspects(df, key, &suspects)?;
                if moving.height() > 0 {
                    left.insert(m.clone());
                }
                stack(&mut old, moving)?;
            }
            if let Some(df) = spill.read_month(m)? {
                stack(&mut new, split_suspects(df, key, &suspects)?.0)?;
            }
        }
        let old = old.unwrap_or_else(|| super::empty_frame(spec));
        let new = match new {
            Some(df) => df
                .sort([ROW], SortMultipleOptions::default())
                .and_then(|df| df.drop(ROW))
                .map_err(err())?,
            None => super::empty_frame(spec),
        };
        let (winners, s) = upsert(&old, new, spec)?;
        stats.add(s);
        for (m, part) in month_parts(&winners, t)? {
            movers.insert(m, part);
        }
    }

    let mut files = Vec::new();
    let mut rows = 0u64;
    let mut range = (None, None);
    let mut linked: Vec<&Current> = Vec::new();
    for m in &months {
        let incoming = spill.read_month(m)?;
        let touched = incoming.is_some() || movers.contains_key(m) || left.contains(m);
        if !touched {
            // Unchanged: link the current file(s) into the new version.
            for c in by_month.get(m).into_iter().flatten() {
                let to = out_dir.join(&c.entry.path);
                if let Some(parent) = to.parent() {
                    fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
                }
                if fs::hard_link(&c.path, &to).is_err() {
                    fs::copy(&c.path, &to).map_err(|e| Error::io(&to, e))?;
                }
                linked.push(c);
                rows += c.entry.rows;
                files.push(c.entry.clone());
            }
            continue;
        }
        let mut existing = read_current(m)?.unwrap_or_else(|| super::empty_frame(spec));
        let mut incoming = match incoming {
            Some(df) => df.drop(ROW).map_err(err())?,
            None => super::empty_frame(spec),
        };
        if suspect_months.contains(m) {
            existing = split_suspects(existing, key, &suspects)?.1;
            incoming = split_suspects(incoming, key, &suspects)?.1;
        }
        let (mut merged, s) = upsert(&existing, incoming, spec)?;
        stats.add(s);
        if let Some(extra) = movers.remove(m) {
            merged.vstack_mut_owned(extra).map_err(err())?;
            merged = sort_rows(merged, spec)?;
        }
        if merged.height() == 0 {
            continue;
        }
        widen(&mut range, min_max(&merged, t)?);
        rows += merged.height() as u64;
        let sub = format!("{PARTITION_KEY}={m}");
        fs::create_dir_all(out_dir.join(&sub)).map_err(|e| Error::io(out_dir.join(&sub), e))?;
        files.push(write(
            out_dir,
            &format!("{sub}/part-0.parquet"),
            Some(m.clone()),
            merged,
        )?);
    }
    // Months are disjoint and ordered, so of the linked files only those of the first and
    // the last month with times can widen the range.
    linked.retain(|c| c.entry.partition.as_deref().is_some_and(|p| !p.is_empty()));
    let ends: Vec<&Current> = match (linked.first(), linked.last()) {
        (Some(a), Some(b)) if a.entry.partition == b.entry.partition => vec![a],
        (Some(a), Some(b)) => vec![a, b],
        _ => Vec::new(),
    };
    for c in ends {
        if let Some(times) = read_stacked(std::slice::from_ref(&c.path), Some(&[t]))? {
            widen(&mut range, min_max(&times, t)?);
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Merged {
        files,
        stats,
        rows,
        time_range: range,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_keys_found_in_more_than_one_month_are_merged_across_months() {
        let keys = |ids: &[&str]| {
            DataFrame::new(ids.len(), vec![Column::new("id".into(), ids.to_vec())]).unwrap()
        };
        let h: Vec<u64> = key_hashes(&keys(&["A", "B"]), &["id"])
            .unwrap()
            .into_iter()
            .map(|h| h & !MONTH_BITS)
            .collect();
        // A and B are candidates (as a hash shared by two keys of different months would
        // make them); C and D are not. A is in January and February, B in January only.
        let candidates: HashSet<u64> = h.iter().copied().collect();
        let mut seen = HashMap::new();
        let jan = keys(&["A", "B", "C"]);
        collect_candidates(&jan, &["id"], &candidates, "2025-01", &mut seen).unwrap();
        collect_candidates(
            &keys(&["D", "A"]),
            &["id"],
            &candidates,
            "2025-02",
            &mut seen,
        )
        .unwrap();
        assert_eq!(seen.len(), 2, "only candidates are recorded");
        let (suspects, months) = confirmed(seen);
        assert_eq!(suspects, HashSet::from([h[0]]));
        assert_eq!(
            months,
            BTreeSet::from(["2025-01".to_string(), "2025-02".to_string()])
        );
    }

    #[test]
    fn month_parts_split_by_utc_month_in_order_of_appearance() {
        // 2026-02-01T00:00:00Z, a microsecond before it, 1969-12-31T23:00:00Z, no time,
        // 2026-02-15T12:00:00Z.
        let feb = 1_769_904_000_000_000i64;
        let times = [
            Some(feb),
            Some(feb - 1),
            Some(-3_600_000_000),
            None,
            Some(feb + 1_252_800_000_000),
        ];
        let df = DataFrame::new(
            5,
            vec![
                Column::new("id".into(), ["a", "b", "c", "d", "e"]),
                Column::new("started_at".into(), times.to_vec())
                    .cast(&DataType::Datetime(
                        TimeUnit::Microseconds,
                        Some(TimeZone::UTC),
                    ))
                    .unwrap(),
            ],
        )
        .unwrap();
        let parts: Vec<(String, Vec<String>)> = month_parts(&df, "started_at")
            .unwrap()
            .into_iter()
            .map(|(m, p)| {
                assert_eq!(p.get_column_names(), ["id", "started_at"]);
                let ids = p.column("id").unwrap().str().unwrap();
                (m, ids.iter().map(|v| v.unwrap().to_string()).collect())
            })
            .collect();
        let want: Vec<(String, Vec<String>)> = [
            ("2026-02", vec!["a", "e"]),
            ("2026-01", vec!["b"]),
            ("1969-12", vec!["c"]),
            ("", vec!["d"]),
        ]
        .into_iter()
        .map(|(m, ids)| (m.to_string(), ids.into_iter().map(str::to_string).collect()))
        .collect();
        assert_eq!(parts, want);
    }
}
