//! Data-quality checks over the lake (`opsintel lake check`): file integrity, references to
//! unknown assets/customers/changes, dependency cycles, incidents left unresolved, and what
//! ingests merged. Reads the lake; writes nothing.

use crate::error::{Error, Result};
use crate::graph::DependencyGraph;
use crate::lake::{Lake, Manifest};
use crate::schema::DatasetKind;
use chrono::{DateTime, TimeDelta, Utc};
use polars::prelude::*;
use std::collections::BTreeMap;

/// The result of one check.
#[derive(Debug, Clone)]
pub struct Finding {
    pub check: String,
    pub count: u64,
    /// Up to five ids that show the problem.
    pub examples: Vec<String>,
    pub action: &'static str,
    /// False for informational counts (merges), true where a non-zero count needs action.
    pub is_problem: bool,
}

const EXAMPLES: usize = 5;

/// Check that every file the manifest names exists with the size it recorded.
pub fn verify_files(lake: &Lake, manifest: &Manifest) -> Result<()> {
    for kind in DatasetKind::ALL {
        let Some(st) = manifest.datasets.get(kind.name()) else {
            continue;
        };
        let paths = lake.files(manifest, kind);
        for (f, path) in st.files.iter().zip(paths) {
            let meta = std::fs::metadata(&path).map_err(|e| Error::Lake {
                lake: lake.root().to_path_buf(),
                message: format!(
                    "{}: file {} of version {} is missing: {e}",
                    kind, f.path, st.version
                ),
            })?;
            if meta.len() != f.bytes {
                return Err(Error::Lake {
                    lake: lake.root().to_path_buf(),
                    message: format!(
                        "{}: file {} has {} bytes, the manifest says {}",
                        kind,
                        f.path,
                        meta.len(),
                        f.bytes
                    ),
                });
            }
        }
    }
    Ok(())
}

/// Run every check. `as_of` and `stale_days` decide which open incidents are stale.
pub fn check(
    lake: &Lake,
    manifest: &Manifest,
    as_of: DateTime<Utc>,
    stale_days: u32,
) -> Result<Vec<Finding>> {
    verify_files(lake, manifest)?;
    let mut data: BTreeMap<DatasetKind, DataFrame> = BTreeMap::new();
    let mut row_mismatch = Vec::new();
    for kind in DatasetKind::ALL {
        let df = lake.read(manifest, kind)?;
        let expected = manifest
            .datasets
            .get(kind.name())
            .map(|s| s.rows)
            .unwrap_or(0);
        if df.height() as u64 != expected {
            row_mismatch.push(format!("{kind}: {} rows, manifest {expected}", df.height()));
        }
        data.insert(kind, df);
    }
    let d = |k: DatasetKind| &data[&k];
    let mut out = vec![Finding {
        check: "lake files readable and complete".into(),
        count: row_mismatch.len() as u64,
        examples: row_mismatch,
        action: "restore the lake from backup or re-ingest the affected dataset",
        is_problem: true,
    }];

    use DatasetKind::*;
    let refs: &[(DatasetKind, &str, &str, DatasetKind, &str, &'static str)] = &[
        (
            Incidents,
            "asset_id",
            "incident_id",
            Assets,
            "asset_id",
            "ingest the missing assets or fix the incidents' asset_id",
        ),
        (
            Changes,
            "asset_id",
            "change_id",
            Assets,
            "asset_id",
            "ingest the missing assets or fix the changes' asset_id",
        ),
        (
            Maintenance,
            "asset_id",
            "window_id",
            Assets,
            "asset_id",
            "ingest the missing assets",
        ),
        (
            CustomerAssets,
            "asset_id",
            "customer_id",
            Assets,
            "asset_id",
            "ingest the missing assets",
        ),
        (
            CustomerAssets,
            "customer_id",
            "customer_id",
            Customers,
            "customer_id",
            "ingest the missing customers",
        ),
        (
            Slas,
            "customer_id",
            "sla_id",
            Customers,
            "customer_id",
            "ingest the missing customers",
        ),
        (
            Slas,
            "asset_id",
            "sla_id",
            Assets,
            "asset_id",
            "ingest the missing assets",
        ),
        (
            Churn,
            "customer_id",
            "customer_id",
            Customers,
            "customer_id",
            "ingest the missing customers",
        ),
        (
            Revenue,
            "customer_id",
            "customer_id",
            Customers,
            "customer_id",
            "ingest the missing customers",
        ),
        (
            Incidents,
            "caused_by_change_id",
            "incident_id",
            Changes,
            "change_id",
            "ingest the changes, or the link is a typo",
        ),
        (
            Incidents,
            "customer_ids",
            "incident_id",
            Customers,
            "customer_id",
            "ingest the missing customers",
        ),
    ];
    for (from, column, id, to, key, action) in refs {
        let (count, examples) = unknown_refs(d(*from), column, id, d(*to), key)?;
        out.push(Finding {
            check: format!("{from}.{column} not in {to}"),
            count,
            examples,
            action,
            is_problem: true,
        });
    }

    // Dependency graph.
    let mut graph = DependencyGraph::new();
    let assets = d(Assets);
    let ids = assets
        .column("asset_id")
        .and_then(|c| c.str().cloned())
        .map_err(Error::polars("assets"))?;
    let deps = assets
        .column("depends_on")
        .and_then(|c| c.list().cloned())
        .map_err(Error::polars("assets"))?;
    for (i, id) in ids.iter().enumerate() {
        let dep: Vec<String> = deps
            .get_as_series(i)
            .map(|s| {
                s.str()
                    .map(|ca| ca.iter().flatten().map(str::to_string).collect())
                    .unwrap_or_default()
            })
            .unwrap_or_default();
        graph.add(id.unwrap_or_default(), dep);
    }
    let cycles = graph.cycles();
    out.push(Finding {
        check: "asset dependency cycles".into(),
        count: cycles.len() as u64,
        examples: cycles
            .iter()
            .take(EXAMPLES)
            .map(|c| c.join(" -> "))
            .collect(),
        action: "fix depends_on: a cycle makes blast radius and downtime propagation ambiguous",
        is_problem: true,
    });
    let dangling = graph.dangling();
    out.push(Finding {
        check: "assets.depends_on not in assets".into(),
        count: dangling.len() as u64,
        examples: dangling
            .iter()
            .take(EXAMPLES)
            .map(|(a, b)| format!("{a} -> {b}"))
            .collect(),
        action: "ingest the missing assets or fix depends_on",
        is_problem: true,
    });

    // Incidents still open long after they started.
    let cutoff = (as_of - TimeDelta::days(stale_days as i64)).timestamp_micros();
    let stale = d(Incidents)
        .clone()
        .lazy()
        .filter(
            col("resolved_at")
                .is_null()
                .and(col("status").is_null().or(col("status").eq(lit("open"))))
                .and(
                    col("started_at")
                        .dt()
                        .timestamp(TimeUnit::Microseconds)
                        .lt(lit(cutoff)),
                ),
        )
        .select([col("incident_id")])
        .collect()
        .map_err(Error::polars("stale incidents"))?;
    out.push(Finding {
        check: format!("incidents unresolved {stale_days}+ days after they started"),
        count: stale.height() as u64,
        examples: first_ids(&stale, "incident_id"),
        action: "resolve them in the source tool and re-export; open incidents count as ongoing downtime",
        is_problem: true,
    });

    // What ingests merged.
    let dups: u64 = manifest.ingests.iter().map(|i| i.duplicates_in_file).sum();
    out.push(Finding {
        check: "duplicate rows merged within files".into(),
        count: dups,
        examples: manifest
            .ingests
            .iter()
            .filter(|i| i.duplicates_in_file > 0)
            .take(EXAMPLES)
            .map(|i| format!("#{} {}", i.id, i.file))
            .collect(),
        action: "none needed: the later row (or newest updated_at) was kept",
        is_problem: false,
    });
    let updated: u64 = manifest.ingests.iter().map(|i| i.updated).sum();
    out.push(Finding {
        check: "records updated by newer exports".into(),
        count: updated,
        examples: manifest
            .ingests
            .iter()
            .filter(|i| i.updated > 0)
            .take(EXAMPLES)
            .map(|i| format!("#{} {}", i.id, i.file))
            .collect(),
        action: "none needed: newest updated_at wins",
        is_problem: false,
    });
    let rejected: u64 = manifest.ingests.iter().map(|i| i.rejected).sum();
    out.push(Finding {
        check: "rows rejected at ingest (quarantined)".into(),
        count: rejected,
        examples: manifest
            .ingests
            .iter()
            .filter_map(|i| i.rejects_file.clone())
            .take(EXAMPLES)
            .collect(),
        action: "fix the rows in the rejects files and ingest them again",
        is_problem: true,
    });
    Ok(out)
}

/// Rows of `from` whose `column` (text or list of text) names no `key` of `to`.
fn unknown_refs(
    from: &DataFrame,
    column: &str,
    id: &str,
    to: &DataFrame,
    key: &str,
) -> Result<(u64, Vec<String>)> {
    let err = || Error::polars(format!("checking {column}"));
    let mut lf = from
        .clone()
        .lazy()
        .select([col(id), col(column).alias("__ref")]);
    if matches!(
        from.column(column).map(|c| c.dtype().clone()),
        Ok(DataType::List(_))
    ) {
        lf = lf.explode(
            cols(["__ref"]),
            ExplodeOptions {
                empty_as_null: true,
                keep_nulls: true,
            },
        );
    }
    let bad = lf
        .filter(col("__ref").is_not_null())
        .join(
            to.clone().lazy().select([col(key).alias("__ref")]),
            [col("__ref")],
            [col("__ref")],
            JoinArgs::new(JoinType::Anti),
        )
        .collect()
        .map_err(err())?;
    let mut examples = Vec::new();
    if let (Ok(ids), Ok(refs)) = (
        bad.column(id).and_then(|c| c.str().cloned()),
        bad.column("__ref").and_then(|c| c.str().cloned()),
    ) {
        for (i, r) in ids.iter().zip(refs.iter()).take(EXAMPLES) {
            let (i, r) = (i.unwrap_or_default(), r.unwrap_or_default());
            examples.push(if i == r {
                i.to_string()
            } else {
                format!("{i} → {r}")
            });
        }
    }
    Ok((bad.height() as u64, examples))
}

fn first_ids(df: &DataFrame, id: &str) -> Vec<String> {
    df.column(id)
        .ok()
        .and_then(|c| {
            c.str().ok().map(|ca| {
                ca.iter()
                    .flatten()
                    .take(EXAMPLES)
                    .map(str::to_string)
                    .collect()
            })
        })
        .unwrap_or_default()
}
