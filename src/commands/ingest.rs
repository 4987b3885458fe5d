//! `opsintel ingest`: load export files into the lake and print what happened to each.

use crate::cli::IngestArgs;
use crate::context::{Context, parse_tz};
use crate::error::{Error, Result};
use crate::ingest::{self, FileInput, FileOutcome, IngestOptions};
use crate::output::{table, thousands};
use crate::schema::DatasetKind;

pub fn run(ctx: &Context, args: IngestArgs) -> Result<()> {
    let inputs = match (&args.dir, &args.dataset) {
        (Some(dir), _) => {
            let (inputs, skipped) = ingest::inputs_in_dir(dir)?;
            for s in skipped {
                eprintln!(
                    "warning: {}: skipped `{s}` (not named after a dataset)",
                    dir.display()
                );
            }
            inputs
        }
        (None, Some(ds)) => {
            let dataset: DatasetKind = ds
                .parse()
                .map_err(|e: crate::schema::UnknownDataset| Error::Usage(e.to_string()))?;
            if args.files.is_empty() {
                return Err(Error::Usage(format!(
                    "no files given for dataset `{dataset}`"
                )));
            }
            let mapping = match (&args.mapping, &args.preset) {
                (Some(file), _) => Some(crate::commands::mapping::from_file(file)?),
                (None, Some(name)) => Some(crate::commands::mapping::from_preset(name)?),
                (None, None) => None,
            };
            args.files
                .iter()
                .map(|p| FileInput {
                    dataset,
                    path: p.clone(),
                    mapping: mapping.clone(),
                })
                .collect()
        }
        (None, None) => {
            return Err(Error::Usage(
                "give a dataset and files, or --dir DIR".into(),
            ));
        }
    };
    let opts = IngestOptions {
        source_tz: args.source_tz.as_deref().map(parse_tz).transpose()?,
        strict: args.strict,
        now: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        chunk_bytes: args.chunk_size,
        timings: ctx.timings,
    };
    let outcomes = ingest::ingest(&ctx.lake, &inputs, &opts)?;

    let mut rows = Vec::new();
    for o in &outcomes {
        match o {
            FileOutcome::Ingested {
                record: r,
                ignored_columns,
                first_rejects,
            } => {
                rows.push(vec![
                    r.file.clone(),
                    r.dataset.clone(),
                    thousands(r.rows_read),
                    thousands(r.accepted),
                    thousands(r.rejected),
                    thousands(r.inserted),
                    thousands(r.updated),
                    thousands(r.unchanged + r.duplicates_in_file),
                ]);
                if r.filtered + r.superseded > 0 {
                    eprintln!(
                        "note: {}: the mapping left out {} row(s) by its keep/drop rules and merged {} older event row(s)",
                        r.file, r.filtered, r.superseded
                    );
                }
                for (c, near) in ignored_columns {
                    eprintln!(
                        "warning: {}: column `{c}` is not part of `{}` and was ignored{}",
                        r.file,
                        r.dataset,
                        near.map(|n| format!(" (did you mean `{n}`?)"))
                            .unwrap_or_default()
                    );
                }
                if let Some(rej) = &r.rejects_file {
                    eprintln!(
                        "warning: {}: {} row(s) rejected; all problems with the original records are in {}",
                        r.file,
                        r.rejected,
                        ctx.lake.root().join(rej).display()
                    );
                    for p in first_rejects {
                        eprintln!("  {}", ingest::describe(std::path::Path::new(&r.file), p));
                    }
                }
            }
            FileOutcome::AlreadyIngested {
                dataset,
                file,
                ingest_id,
            } => {
                rows.push(vec![
                    file.clone(),
                    dataset.to_string(),
                    format!("already ingested (#{ingest_id})"),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                ]);
            }
        }
    }
    println!(
        "{}",
        table(
            &[
                "file",
                "dataset",
                "read",
                "accepted",
                "rejected",
                "inserted",
                "updated",
                "unchanged"
            ],
            rows,
            &[
                "read",
                "accepted",
                "rejected",
                "inserted",
                "updated",
                "unchanged"
            ],
        )
    );
    println!("lake: {}", ctx.lake.root().display());
    Ok(())
}
