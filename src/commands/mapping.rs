//! `opsintel mapping list|check|show`: the presets, and a dry run of a mapping on a file.

use crate::cli::MappingCommand;
use crate::context::parse_tz;
use crate::error::{Error, Result};
use crate::ingest::{MappingRef, describe, validate};
use crate::mapping::{self, PRESETS};
use crate::output::table;
use chrono_tz::Tz;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Arc;

/// A mapping file, named in the manifest by its content hash.
pub fn from_file(path: &Path) -> Result<MappingRef> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    Ok(MappingRef {
        mapping: Arc::new(mapping::parse(&text, path)?),
        id: format!("mapping:{:x}", Sha256::digest(text.as_bytes())),
    })
}

/// A preset, named in the manifest by its name.
pub fn from_preset(name: &str) -> Result<MappingRef> {
    Ok(MappingRef {
        mapping: Arc::new(mapping::preset(name)?),
        id: format!("preset:{name}"),
    })
}

pub fn run(cmd: MappingCommand) -> Result<()> {
    match cmd {
        MappingCommand::List => {
            let rows = PRESETS
                .iter()
                .map(|(name, _)| {
                    let m = mapping::preset(name)?;
                    Ok(vec![
                        name.to_string(),
                        m.dataset.clone(),
                        m.description.clone().unwrap_or_default(),
                    ])
                })
                .collect::<Result<Vec<_>>>()?;
            println!("{}", table(&["preset", "dataset", "reads"], rows, &[]));
            Ok(())
        }
        MappingCommand::Show { name } => {
            mapping::preset(&name)?;
            let text = PRESETS
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, t)| *t)
                .unwrap_or_default();
            print!("{text}");
            Ok(())
        }
        MappingCommand::Check(args) => {
            let m = if Path::new(&args.mapping).is_file() {
                from_file(Path::new(&args.mapping))?
            } else {
                from_preset(&args.mapping)?
            };
            let tz = match (&args.source_tz, &m.mapping.source_tz) {
                (Some(t), _) | (None, Some(t)) => parse_tz(t)?,
                (None, None) => Tz::UTC,
            };
            let bytes = std::fs::read(&args.file).map_err(|e| Error::io(&args.file, e))?;
            let mapped = mapping::apply(&args.file, &bytes, &m.mapping, tz)?;
            let spec = mapped.dataset.spec();
            let valid = validate::validate(&args.file, &mapped.raw, spec, tz)?;
            // The first rows as they would be ingested.
            let df = &mapped.raw.df;
            let cols: Vec<&str> = df
                .get_column_names()
                .into_iter()
                .map(|s| s.as_str())
                .collect();
            let rows = (0..df.height().min(args.rows))
                .map(|r| {
                    cols.iter()
                        .map(|c| {
                            df.column(c)
                                .ok()
                                .and_then(|x| x.str().ok()?.get(r).map(str::to_string))
                                .unwrap_or_default()
                        })
                        .collect()
                })
                .collect();
            println!("{}", table(&cols, rows, &[]));
            println!(
                "{}: {} rows read → {} accepted, {} rejected, {} left out by keep/drop, {} older event rows merged (dataset `{}`)",
                args.file.display(),
                valid.rows_read + mapped.filtered + mapped.superseded,
                valid.df.height(),
                valid.rows_rejected,
                mapped.filtered,
                mapped.superseded,
                spec.name()
            );
            for r in valid.rejects.iter().take(20) {
                println!("  {}", describe(&args.file, r));
            }
            if valid.rejects.len() > 20 {
                println!("  ... and {} more problems", valid.rejects.len() - 20);
            }
            Ok(())
        }
    }
}
