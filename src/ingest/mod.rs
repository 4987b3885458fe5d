//! Ingest: exports in, validated canonical rows into the lake. One call is one transaction:
//! every file is read and validated, merged by key into its dataset, and the lake changes all
//! at once on commit (or not at all). Re-ingesting a file already ingested is a no-op.

pub mod parse;
pub mod read;
pub mod validate;

use crate::error::{Error, Result};
use crate::lake::{IngestRecord, Lake, Transaction, upsert};
use crate::schema::DatasetKind;
use chrono_tz::Tz;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use polars::prelude::*;
use sha2::{Digest, Sha256};
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
    let spec = input.dataset.spec();
    let shown = path.display().to_string();
    let pb = spinner(&format!("{shown}: reading"));
    let bytes = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::input(path, "file not found", None),
        _ => Error::io(path, e),
    })?;
    let sha256 = format!("{:x}", Sha256::digest(&bytes));
    let mapping = input.mapping.as_ref();
    let tz = match (
        opts.source_tz,
        mapping.and_then(|m| m.mapping.source_tz.as_deref()),
    ) {
        (Some(tz), _) => tz,
        (None, Some(name)) => crate::context::parse_tz(name)?,
        (None, None) => Tz::UTC,
    };
    let tz_name = tz.name().to_string();
    let mapping_id = mapping.map(|m| m.id.clone());
    if let Some(prev) =
        tx.manifest()
            .find_same(spec.name(), &sha256, &tz_name, mapping_id.as_deref())
    {
        pb.finish_and_clear();
        return Ok(FileOutcome::AlreadyIngested {
            dataset: input.dataset,
            file: shown,
            ingest_id: prev.id,
        });
    }
    let (raw, filtered, superseded) = match mapping {
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
            let format = read::detect_format(path, &text);
            (read::read(path, text, format)?, 0, 0)
        }
    };
    pb.set_message(format!("{shown}: validating {} rows", raw.rows_read()));
    let valid = validate::validate(path, &raw, spec, tz)?;
    drop(raw);
    if opts.strict && valid.rows_rejected > 0 {
        pb.finish_and_clear();
        return Err(Error::Strict {
            path: path.clone(),
            read: valid.rows_read,
            rejected: valid.rows_rejected,
            first: valid
                .rejects
                .iter()
                .take(10)
                .map(|r| describe(path, r))
                .collect::<Vec<_>>()
                .join("\n"),
        });
    }
    let id = tx.next_ingest_id();
    pb.set_message(format!("{shown}: merging"));
    let current = tx.current(input.dataset)?;
    let (merged, stats) = upsert(&current, &valid.df, spec)?;
    if stats.inserted + stats.updated > 0 {
        pb.set_message(format!("{shown}: writing {} rows", merged.height()));
        tx.put(input.dataset, merged, id)?;
    }
    let rejects_file = if valid.rejects.is_empty() {
        None
    } else {
        let name = format!("ingest-{id:06}-{}.csv", spec.name());
        Some(tx.put_rejects(&name, &rejects_csv(&shown, &valid.rejects)?)?)
    };
    pb.finish_and_clear();
    let record = IngestRecord {
        id,
        at: opts.now.clone(),
        dataset: spec.name().to_string(),
        file: shown,
        sha256,
        bytes: bytes.len() as u64,
        source_tz: tz_name,
        // Rows in the file: those validated plus those the mapping filtered or superseded.
        rows_read: valid.rows_read + filtered + superseded,
        accepted: valid.df.height() as u64,
        rejected: valid.rows_rejected,
        inserted: stats.inserted,
        updated: stats.updated,
        unchanged: stats.unchanged,
        duplicates_in_file: stats.duplicates_in_file,
        rejects_file,
        mapping: mapping_id,
        filtered,
        superseded,
    };
    tx.record(record.clone());
    Ok(FileOutcome::Ingested {
        record,
        ignored_columns: valid.ignored_columns,
        first_rejects: valid.rejects.into_iter().take(5).collect(),
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
        let ext = path
            .extension()
            .and_then(|x| x.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        let stem = path.file_stem().and_then(|x| x.to_str()).unwrap_or("");
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
