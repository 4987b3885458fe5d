//! `opsintel sync`: ingest every new or changed file of the sources declared in `opsintel.toml`.
//! Each file is its own transaction: a bad file fails alone, with its reason, and the others go
//! on. The exit code is non-zero (2) if any file or source failed.

use crate::cli::SyncArgs;
use crate::context::{Context, parse_tz};
use crate::error::{Error, Result};
use crate::ingest::{self, FileInput, FileOutcome, IngestOptions};
use crate::output::{table, thousands};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// `opsintel.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Project {
    #[serde(default, rename = "sources")]
    pub sources: Vec<Source>,
}

/// One export folder.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub dataset: String,
    /// Glob of the files, relative to the project file (e.g. `exports/servicenow/*.csv`).
    pub files: String,
    #[serde(default)]
    pub preset: Option<String>,
    #[serde(default)]
    pub mapping: Option<PathBuf>,
    #[serde(default)]
    pub source_tz: Option<String>,
}

pub fn run(ctx: &Context, args: SyncArgs) -> Result<()> {
    let config = args
        .config
        .unwrap_or_else(|| PathBuf::from("opsintel.toml"));
    let text = std::fs::read_to_string(&config).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            Error::input(&config, "no project file", Some("create opsintel.toml with [[sources]] entries (docs/mappings.md), or pass --config FILE"))
        }
        _ => Error::io(&config, e),
    })?;
    let project: Project = toml::from_str(&text)
        .map_err(|e| Error::input(&config, format!("invalid project file: {e}"), None))?;
    let base = config
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let mut rows = Vec::new();
    let mut failed = 0;
    for (i, src) in project.sources.iter().enumerate() {
        let label = format!("#{} {}", i + 1, src.dataset);
        let prepared = (|| -> Result<(crate::schema::DatasetKind, Option<ingest::MappingRef>, Vec<PathBuf>, Option<chrono_tz::Tz>)> {
            let dataset = src.dataset.parse().map_err(|e: crate::schema::UnknownDataset| Error::Usage(e.to_string()))?;
            let mapping = match (&src.mapping, &src.preset) {
                (Some(m), _) => Some(super::mapping::from_file(&base.join(m))?),
                (None, Some(p)) => Some(super::mapping::from_preset(p)?),
                (None, None) => None,
            };
            let pattern = base.join(&src.files);
            let mut files: Vec<PathBuf> = glob::glob(&pattern.to_string_lossy())
                .map_err(|e| Error::Usage(format!("source {label}: bad glob `{}`: {e}", src.files)))?
                .filter_map(|p| p.ok())
                .filter(|p| p.is_file())
                .collect();
            files.sort();
            Ok((dataset, mapping, files, src.source_tz.as_deref().map(parse_tz).transpose()?))
        })();
        let (dataset, mapping, files, tz) = match prepared {
            Ok(p) => p,
            Err(e) => {
                failed += 1;
                rows.push(vec![
                    label.clone(),
                    src.files.clone(),
                    format!("failed: {e}"),
                ]);
                continue;
            }
        };
        if files.is_empty() {
            rows.push(vec![label.clone(), src.files.clone(), "no files".into()]);
        }
        for file in files {
            let input = FileInput {
                dataset,
                path: file.clone(),
                mapping: mapping.clone(),
            };
            let opts = IngestOptions {
                source_tz: tz,
                strict: false,
                now: now.clone(),
                chunk_bytes: ingest::chunks::DEFAULT_CHUNK_BYTES,
                timings: ctx.timings,
            };
            let status = match ingest::ingest(&ctx.lake, &[input], &opts) {
                Ok(out) => match out.first() {
                    Some(FileOutcome::Ingested { record: r, .. }) => format!(
                        "ingested: {} read, {} accepted, {} rejected, {} inserted, {} updated",
                        thousands(r.rows_read),
                        thousands(r.accepted),
                        thousands(r.rejected),
                        thousands(r.inserted),
                        thousands(r.updated)
                    ),
                    Some(FileOutcome::AlreadyIngested { ingest_id, .. }) => {
                        format!("unchanged (ingest #{ingest_id})")
                    }
                    None => String::new(),
                },
                Err(e) => {
                    failed += 1;
                    eprintln!("error: {e}");
                    format!("failed: {e}")
                }
            };
            rows.push(vec![label.clone(), file.display().to_string(), status]);
        }
    }
    println!("{}", table(&["source", "file", "result"], rows, &[]));
    if failed > 0 {
        return Err(Error::Usage(format!(
            "{failed} file(s) or source(s) failed; the others were ingested"
        )));
    }
    Ok(())
}
