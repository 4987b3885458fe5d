//! Ingest: exports in, validated canonical rows into the lake. One call is one transaction:
//! every file is read and validated, merged by key into its dataset, and the lake changes all
//! at once on commit (or not at all). Re-ingesting a file already ingested is a no-op.

pub mod chunks;
pub mod parse;
pub mod read;
pub mod validate;

use crate::error::{Error, Result};
use crate::lake::{IngestRecord, Lake, MergeStats, Transaction, upsert};
use crate::schema::{DatasetKind, Layout};
use chrono_tz::Tz;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use polars::prelude::*;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;
pub use validate::Reject;

/// One file to ingest into one dataset, optionally through a mapping.
#[derive(Debug, Clone)]
pub struct FileInput {
    pub dataset: DatasetKind,
    pub path: PathBuf,
    pub mapping: Option<MappingRef>,
}

/// A mapping and how the manifest names it.
#[derive(Debug, Clone)]
pub struct MappingRef {
    pub mapping: std::sync::Arc<crate::mapping::Mapping>,
    /// `preset:NAME` or `mapping:SHA256` of the mapping file.
    pub id: String,
}

/// Options of an ingest.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Zone of naive timestamps given on the command line; else the mapping's, else UTC.
    pub source_tz: Option<Tz>,
    pub strict: bool,
    /// Wall-clock time recorded in the manifest (RFC 3339).
    pub now: String,
    /// Bytes of CSV read, validated and spilled at a time ([`chunks::DEFAULT_CHUNK_BYTES`]).
    pub chunk_bytes: usize,
    /// Print the time of each phase of a streamed file on stderr (`--timings`).
    pub timings: bool,
}

/// Seconds spent in each phase of a streamed ingest.
#[derive(Default)]
struct Phases {
    /// Waiting for the next chunk (decompression and record scanning run ahead in a thread).
    wait: f64,
    /// CSV parsing by polars (all text).
    parse: f64,
    /// Typed parsing and checks of every value, in a second thread beside the parsing.
    validate: f64,
    /// Writing month spill files (or gathering rows in memory), in a third thread: time that
    /// overlaps the three above.
    spill: f64,
    /// Merging into the dataset and writing the new version.
    merge: f64,
}

/// The process's peak resident memory so far (Linux `VmHWM`), in MiB.
fn peak_rss_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

fn timed<T>(acc: &mut f64, f: impl FnOnce() -> T) -> T {
    let t = std::time::Instant::now();
    let out = f();
    *acc += t.elapsed().as_secs_f64();
    out
}

/// What happened to one file.
#[derive(Debug)]
pub enum FileOutcome {
    Ingested {
        record: IngestRecord,
        ignored_columns: Vec<(String, Option<&'static str>)>,
        /// The first problems found, for the summary.
        first_rejects: Vec<Reject>,
    },
    /// The same content was ingested before, by the ingest with this id.
    AlreadyIngested {
        dataset: DatasetKind,
        file: String,
        ingest_id: u64,
    },
}

/// Ingest `inputs` into `lake` as one transaction.
pub fn ingest(lake: &Lake, inputs: &[FileInput], opts: &IngestOptions) -> Result<Vec<FileOutcome>> {
    let mut tx = Transaction::begin(lake)?;
    let mut outcomes = Vec::new();
    for input in inputs {
        outcomes.push(ingest_one(&mut tx, input, opts)?);
    }
    tx.commit()?;
    Ok(outcomes)
}

fn spinner(label: &str) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{elapsed}]").expect("static template"),
    );
    pb.set_message(label.to_string());
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}

fn ingest_one(
    tx: &mut Transaction<'_>,
    input: &FileInput,
    opts: &IngestOptions,
) -> Result<FileOutcome> {
    let path = &input.path;
    let shown = path.display().to_string();
    let pb = spinner(&format!("{shown}: reading"));
    let mapping = input.mapping.as_ref();
    let tz = match (
        opts.source_tz,
        mapping.and_then(|m| m.mapping.source_tz.as_deref()),
    ) {
        (Some(tz), _) => tz,
        (None, Some(name)) => crate::context::parse_tz(name)?,
        (None, None) => Tz::UTC,
    };
    let out = if mapping.is_none()
        && read::detect_format(&chunks::without_gz(path), &head(path)?) == read::Format::Csv
    {
        ingest_stream(tx, input, opts, tz, &pb)
    } else {
        ingest_whole(tx, input, opts, tz, &pb)
    };
    pb.finish_and_clear();
    out
}

/// The first bytes of a file as text (decompressed), to detect its format.
fn head(path: &Path) -> Result<String> {
    let file = read::open_input(path)?;
    let mut buf = Vec::with_capacity(1 << 12);
    let r: Box<dyn Read> = if chunks::is_gzip(path) {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    // A damaged .gz is reported by the reader proper; here it only means "not sniffable".
    let _ = r.take(1 << 12).read_to_end(&mut buf);
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// The whole content of a file, decompressed if it is `.gz`; and its size as stored.
fn read_whole(path: &Path) -> Result<(Vec<u8>, String, u64)> {
    let mut bytes = Vec::new();
    read::open_input(path)?
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    let sha256 = format!("{:x}", Sha256::digest(&bytes));
    let size = bytes.len() as u64;
    if !chunks::is_gzip(path) {
        return Ok((bytes, sha256, size));
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes.as_slice())
        .read_to_end(&mut out)
        .map_err(|e| {
            Error::input(
                path,
                format!("cannot be decompressed: {e}"),
                Some("the .gz file may be truncated or not gzip"),
            )
        })?;
    Ok((out, sha256, size))
}

/// What reading and validating one file gave, before the merge.
struct Checked {
    sha256: String,
    bytes: u64,
    rows_read: u64,
    rows_rejected: u64,
    rejects: Vec<Reject>,
    ignored_columns: Vec<(String, Option<&'static str>)>,
    filtered: u64,
    superseded: u64,
}

/// The previous ingest of the same content, if any.
fn same_as_before(
    tx: &Transaction<'_>,
    input: &FileInput,
    sha256: &str,
    tz: Tz,
) -> Option<FileOutcome> {
    let mapping_id = input.mapping.as_ref().map(|m| m.id.as_str());
    tx.manifest()
        .find_same(input.dataset.spec().name(), sha256, tz.name(), mapping_id)
        .map(|prev| FileOutcome::AlreadyIngested {
            dataset: input.dataset,
            file: input.path.display().to_string(),
            ingest_id: prev.id,
        })
}

fn strict_error(path: &Path, c: &Checked) -> Error {
    Error::Strict {
        path: path.to_path_buf(),
        read: c.rows_read,
        rejected: c.rows_rejected,
        first: c
            .rejects
            .iter()
            .take(10)
            .map(|r| describe(path, r))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// A CSV file without a mapping: read, validated and merged chunk by chunk, in bounded memory
/// (month-partitioned datasets spill to disk and merge partition by partition).
fn ingest_stream(
    tx: &mut Transaction<'_>,
    input: &FileInput,
    opts: &IngestOptions,
    tz: Tz,
    pb: &ProgressBar,
) -> Result<FileOutcome> {
    let path = &input.path;
    let kind = input.dataset;
    let spec = kind.spec();
    let shown = path.display().to_string();
    let size = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .len();
    // Content seen before has the same size: only then is the file hashed up front.
    let seen_size = tx
        .manifest()
        .ingests
        .iter()
        .any(|r| r.dataset == spec.name() && r.bytes == size);
    if seen_size {
        let sha = chunks::sha256_file(path)?;
        if let Some(same) = same_as_before(tx, input, &sha, tz) {
            return Ok(same);
        }
    }
    let mut reader = chunks::ReadAhead::new(chunks::CsvChunks::open(path, opts.chunk_bytes)?, 1);
    let sink = match spec.layout {
        Layout::MonthlyBy(_) => Sink::Spill(tx.spill(kind)?),
        Layout::Single => Sink::Frames(None),
    };
    let c = Checked {
        sha256: String::new(),
        bytes: size,
        rows_read: 0,
        rows_rejected: 0,
        rejects: Vec::new(),
        ignored_columns: Vec::new(),
        filtered: 0,
        superseded: 0,
    };
    let mut ph = Phases::default();
    // Three stages, each in its own thread: chunks are read and parsed here, validated in a
    // second thread and spilled (or gathered) in a third. A parsed chunk is handed straight
    // to the validation (no queue: each parsed chunk, all text, is larger than the CSV it
    // came from); one validated chunk may wait for the spill. Parse, validation and spill
    // each take a third to a half of the reading, so both cores stay busy whichever is
    // longest for a dataset.
    let shown = shown.as_str();
    let (sink, mut c) = std::thread::scope(|scope| -> Result<(Sink, Checked)> {
        let (to_sink, from_validator) = std::sync::mpsc::sync_channel::<DataFrame>(1);
        let (to_validator, from_reader) = std::sync::mpsc::sync_channel::<read::RawTable>(0);
        let sinking = crate::model::thread("spill")
            .spawn_scoped(scope, move || -> Result<(Sink, f64)> {
                let mut sink = sink;
                let mut secs = 0.0;
                for df in from_validator {
                    timed(&mut secs, || sink.push(df))?;
                }
                Ok((sink, secs))
            })
            .map_err(|e| Error::io(path, e))?;
        let validating = crate::model::thread("validate")
            .spawn_scoped(scope, move || -> Result<(Checked, f64)> {
                let mut c = c;
                let mut secs = 0.0;
                let mut first = true;
                for raw in from_reader {
                    let valid = timed(&mut secs, || validate::validate(path, &raw, spec, tz))?;
                    drop(raw);
                    c.rows_read += valid.rows_read;
                    c.rows_rejected += valid.rows_rejected;
                    c.rejects.extend(valid.rejects);
                    if first {
                        c.ignored_columns = valid.ignored_columns;
                        first = false;
                    }
                    pb.set_message(format!("{shown}: {} rows read", c.rows_read));
                    if opts.strict && c.rows_rejected > 0 {
                        continue; // count the rest, keep nothing
                    }
                    if to_sink.send(valid.df).is_err() {
                        break;
                    }
                }
                Ok((c, secs))
            })
            .map_err(|e| Error::io(path, e))?;
        // A reader's error returns at once (the scope then waits for the other two threads,
        // which end as their channels close); their errors stop the reading and are taken
        // below, the validation's first.
        while let Some(chunk) = timed(&mut ph.wait, || reader.next_chunk())? {
            let mut raw = timed(&mut ph.parse, || {
                read::read(path, chunk.text, read::Format::Csv)
            })?;
            // Lines in the chunk count from its header (line 1); make them lines of the file.
            let shift = chunk.first_line - 2;
            raw.lines.iter_mut().for_each(|l| *l += shift);
            if to_validator.send(raw).is_err() {
                break;
            }
        }
        drop(to_validator);
        let (c, validate_secs) = validating
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))?;
        let (sink, spill_secs) = sinking
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))?;
        ph.validate = validate_secs;
        ph.spill = spill_secs;
        Ok((sink, c))
    })?;
    if opts.strict && c.rows_rejected > 0 {
        return Err(strict_error(path, &c));
    }
    let peak_read = opts.timings.then(peak_rss_mib).flatten();
    c.sha256 = reader.sha256().unwrap_or_default();
    let id = tx.next_ingest_id();
    pb.set_message(format!("{shown}: merging"));
    let (stats, accepted) = timed(&mut ph.merge, || -> Result<(MergeStats, u64)> {
        Ok(match sink {
            Sink::Spill(mut spill) => (tx.put_spill(kind, &mut spill, id)?, spill.rows()),
            Sink::Frames(frames) => {
                let mut incoming = frames.unwrap_or_else(|| crate::lake::empty_frame(spec));
                incoming.rechunk_mut();
                let rows = incoming.height() as u64;
                (merge_whole(tx, kind, incoming, id, pb, shown)?, rows)
            }
        })
    })?;
    if opts.timings {
        eprintln!(
            "timing: ingest {shown}: waiting for chunks {:.3} s, CSV parse {:.3} s, validation {:.3} s (beside it), spill {:.3} s (beside them), merge and write {:.3} s; peak memory {} MiB after reading, {} MiB after merging",
            ph.wait,
            ph.parse,
            ph.validate,
            ph.spill,
            ph.merge,
            peak_read.map_or("?".into(), |m| m.to_string()),
            peak_rss_mib().map_or("?".into(), |m| m.to_string()),
        );
    }
    finish(tx, input, opts, tz, c, stats, accepted, id)
}

/// Where a streamed file's validated chunks go: spill files by month, or one frame in memory
/// for datasets kept in a single file.
enum Sink {
    Spill(crate::lake::Spill),
    Frames(Option<DataFrame>),
}

impl Sink {
    fn push(&mut self, df: DataFrame) -> Result<()> {
        match self {
            Sink::Spill(s) => s.push(df),
            Sink::Frames(None) => {
                *self = Sink::Frames(Some(df));
                Ok(())
            }
            Sink::Frames(Some(acc)) => acc
                .vstack_mut_owned(df)
                .map(|_| ())
                .map_err(Error::polars("combining chunks")),
        }
    }
}

/// Merge a whole frame into a dataset and stage the result if anything changed.
fn merge_whole(
    tx: &mut Transaction<'_>,
    kind: DatasetKind,
    incoming: DataFrame,
    id: u64,
    pb: &ProgressBar,
    shown: &str,
) -> Result<MergeStats> {
    let current = tx.current(kind)?;
    let (merged, stats) = upsert(&current, incoming, kind.spec())?;
    if stats.inserted + stats.updated > 0 {
        pb.set_message(format!("{shown}: writing {} rows", merged.height()));
        tx.put(kind, merged, id)?;
    }
    Ok(stats)
}

/// JSON, NDJSON and mapped files: read whole, validated, merged.
fn ingest_whole(
    tx: &mut Transaction<'_>,
    input: &FileInput,
    opts: &IngestOptions,
    tz: Tz,
    pb: &ProgressBar,
) -> Result<FileOutcome> {
    let path = &input.path;
    let spec = input.dataset.spec();
    let shown = path.display().to_string();
    let (bytes, sha256, size) = read_whole(path)?;
    if let Some(same) = same_as_before(tx, input, &sha256, tz) {
        return Ok(same);
    }
    let (raw, filtered, superseded) = match input.mapping.as_ref() {
        Some(m) => {
            let mapped = crate::mapping::apply(path, &bytes, &m.mapping, tz)?;
            if mapped.dataset != input.dataset {
                return Err(Error::Usage(format!(
                    "{}: the mapping produces `{}`, not `{}`",
                    path.display(),
                    mapped.dataset,
                    input.dataset
                )));
            }
            (mapped.raw, mapped.filtered, mapped.superseded)
        }
        None => {
            let text = read::decode(path, &bytes)?;
            let format = read::detect_format(&chunks::without_gz(path), &text);
            (read::read(path, text, format)?, 0, 0)
        }
    };
    drop(bytes);
    pb.set_message(format!("{shown}: validating {} rows", raw.rows_read()));
    let valid = validate::validate(path, &raw, spec, tz)?;
    drop(raw);
    let c = Checked {
        sha256,
        bytes: size,
        rows_read: valid.rows_read,
        rows_rejected: valid.rows_rejected,
        rejects: valid.rejects,
        ignored_columns: valid.ignored_columns,
        filtered,
        superseded,
    };
    if opts.strict && c.rows_rejected > 0 {
        return Err(strict_error(path, &c));
    }
    let id = tx.next_ingest_id();
    pb.set_message(format!("{shown}: merging"));
    let accepted = valid.df.height() as u64;
    let stats = merge_whole(tx, input.dataset, valid.df, id, pb, &shown)?;
    finish(tx, input, opts, tz, c, stats, accepted, id)
}

/// Stage the rejects file and record the ingest.
#[allow(clippy::too_many_arguments)]
fn finish(
    tx: &mut Transaction<'_>,
    input: &FileInput,
    opts: &IngestOptions,
    tz: Tz,
    c: Checked,
    stats: MergeStats,
    accepted: u64,
    id: u64,
) -> Result<FileOutcome> {
    let spec = input.dataset.spec();
    let shown = input.path.display().to_string();
    let rejects_file = if c.rejects.is_empty() {
        None
    } else {
        let name = format!("ingest-{id:06}-{}.csv", spec.name());
        Some(tx.put_rejects(&name, &rejects_csv(&shown, &c.rejects)?)?)
    };
    let record = IngestRecord {
        id,
        at: opts.now.clone(),
        dataset: spec.name().to_string(),
        file: shown,
        sha256: c.sha256,
        bytes: c.bytes,
        source_tz: tz.name().to_string(),
        // Rows in the file: those validated plus those the mapping filtered or superseded.
        rows_read: c.rows_read + c.filtered + c.superseded,
        accepted,
        rejected: c.rows_rejected,
        inserted: stats.inserted,
        updated: stats.updated,
        unchanged: stats.unchanged,
        duplicates_in_file: stats.duplicates_in_file,
        rejects_file,
        mapping: input.mapping.as_ref().map(|m| m.id.clone()),
        filtered: c.filtered,
        superseded: c.superseded,
    };
    tx.record(record.clone());
    Ok(FileOutcome::Ingested {
        record,
        ignored_columns: c.ignored_columns,
        first_rejects: c.rejects.into_iter().take(5).collect(),
    })
}

/// One reject as a line a person reads: `file:line: column `c`: value "v": reason`.
pub fn describe(path: &Path, r: &Reject) -> String {
    let mut s = format!("{}:{}", path.display(), r.line);
    if !r.column.is_empty() {
        s.push_str(&format!(": column `{}`", r.column));
    }
    if let Some(v) = &r.value {
        s.push_str(&format!(" value {v:?}"));
    }
    s.push_str(&format!(": {}", r.reason));
    s
}

/// The rejects file: one line per problem, with the whole original record.
fn rejects_csv(file: &str, rejects: &[Reject]) -> Result<Vec<u8>> {
    let mut df = df!(
        "file" => vec![file; rejects.len()],
        "line" => rejects.iter().map(|r| r.line).collect::<Vec<_>>(),
        "column" => rejects.iter().map(|r| r.column.as_str()).collect::<Vec<_>>(),
        "value" => rejects.iter().map(|r| r.value.as_deref()).collect::<Vec<_>>(),
        "reason" => rejects.iter().map(|r| r.reason.as_str()).collect::<Vec<_>>(),
        "record" => rejects.iter().map(|r| r.record.as_str()).collect::<Vec<_>>(),
    )
    .map_err(Error::polars("building rejects file"))?;
    let mut out = Vec::new();
    CsvWriter::new(&mut out)
        .finish(&mut df)
        .map_err(Error::polars("writing rejects file"))?;
    Ok(out)
}

/// The inputs of `ingest --dir`: files named after their dataset (`incidents.csv`, ...), in
/// dataset order. Returns them and the names of files that were skipped.
pub fn inputs_in_dir(dir: &Path) -> Result<(Vec<FileInput>, Vec<String>)> {
    let mut inputs = Vec::new();
    let mut skipped = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for e in entries {
        let e = e.map_err(|err| Error::io(dir, err))?;
        let path = e.path();
        if !path.is_file() {
            continue;
        }
        let plain = chunks::without_gz(&path);
        let ext = plain
            .extension()
            .and_then(|x| x.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        let stem = plain.file_stem().and_then(|x| x.to_str()).unwrap_or("");
        match (ext.as_str(), stem.parse::<DatasetKind>()) {
            ("csv" | "json" | "ndjson" | "jsonl", Ok(dataset)) => inputs.push(FileInput {
                dataset,
                path,
                mapping: None,
            }),
            _ => skipped.push(e.file_name().to_string_lossy().to_string()),
        }
    }
    inputs.sort_by(|a, b| (a.dataset, &a.path).cmp(&(b.dataset, &b.path)));
    skipped.sort();
    if inputs.is_empty() {
        return Err(Error::input(
            dir,
            "no dataset files found",
            Some(
                "name files after their dataset: customers.csv, incidents.json, changes.ndjson, ...",
            ),
        ));
    }
    Ok((inputs, skipped))
}
