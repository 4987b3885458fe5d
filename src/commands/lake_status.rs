//! `opsintel lake status`: rows, partitions, time range and last ingest per dataset, and the
//! derived tables the lake keeps between runs.

use crate::context::Context;
use crate::error::Result;
use crate::output::{table, thousands};
use crate::quality;
use crate::schema::DatasetKind;

pub fn run(ctx: &Context) -> Result<()> {
    let lake = &ctx.lake;
    if !lake.exists() {
        println!(
            "lake: {} (empty: nothing ingested yet)",
            lake.root().display()
        );
        return Ok(());
    }
    let _guard = lake.read_lock()?;
    let manifest = lake.manifest()?;
    quality::verify_files(lake, &manifest)?;
    let mut rows = Vec::new();
    for kind in DatasetKind::ALL {
        let name = kind.name();
        let Some(st) = manifest.datasets.get(name) else {
            rows.push(vec![
                name.to_string(),
                "0".into(),
                String::new(),
                String::new(),
                String::new(),
            ]);
            continue;
        };
        let partitions = st.files.iter().filter(|f| f.partition.is_some()).count();
        let last = manifest
            .last_ingest_of(name)
            .map(|i| format!("#{} {} ({})", i.id, i.at, i.file))
            .unwrap_or_default();
        let range = match (&st.time_min, &st.time_max) {
            (Some(a), Some(b)) => format!("{a} .. {b}"),
            _ => String::new(),
        };
        rows.push(vec![
            name.to_string(),
            thousands(st.rows),
            if partitions > 0 {
                thousands(partitions as u64)
            } else {
                "-".into()
            },
            range,
            last,
        ]);
    }
    println!("lake: {}", lake.root().display());
    println!(
        "{}",
        table(
            &["dataset", "rows", "partitions", "time range", "last ingest"],
            rows,
            &["rows", "partitions"]
        )
    );
    let kept = lake.kept_tables();
    if !kept.is_empty() {
        // Keyed by what they were counted from; a stale key is replaced by the next report
        // (docs/lake.md, "Derived tables kept between runs").
        let rows = kept
            .into_iter()
            .map(|(table, key, bytes)| vec![table, key, thousands(bytes)])
            .collect();
        println!("derived tables kept between runs:");
        println!("{}", table(&["table", "key", "bytes"], rows, &["bytes"]));
    }
    Ok(())
}
