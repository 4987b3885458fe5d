//! Upsert: merge a file's accepted rows into a dataset by key. The newest `updated_at` wins
//! (missing counts as oldest); ties go to the later ingest, and within one file to the later
//! row. Pure: frames in, frame and counts out.

use crate::error::{Error, Result};
use crate::schema::{Dataset, Layout};
use polars::prelude::*;

/// What a merge did, counted in distinct keys of the incoming rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MergeStats {
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub duplicates_in_file: u64,
}

const SEQ: &str = "__opsintel_seq";

/// Merge `incoming` into `existing` (both with the dataset's canonical columns).
pub fn upsert(
    existing: &DataFrame,
    incoming: &DataFrame,
    spec: &Dataset,
) -> Result<(DataFrame, MergeStats)> {
    let err = || Error::polars(format!("merging {}", spec.name()));
    let key: Vec<Expr> = spec.key.iter().map(|k| col(*k)).collect();
    let n_old = existing.height() as IdxSize;
    let old = existing.clone().lazy().with_row_index(SEQ, None);
    let new = incoming.clone().lazy().with_row_index(SEQ, Some(n_old));
    let combined = concat([old, new], UnionArgs::default()).map_err(err())?;

    let mut order = Vec::new();
    if let Some(v) = spec.version_column() {
        order.push(col(v));
    }
    order.push(col(SEQ));
    let n_order = order.len();
    let winners = combined
        .sort_by_exprs(
            order,
            SortMultipleOptions::default()
                .with_nulls_last(false)
                .with_maintain_order(true)
                .with_order_descending_multi(vec![false; n_order]),
        )
        .unique_stable_generic(Some(key.clone()), UniqueKeepStrategy::Last)
        .collect()
        .map_err(err())?;

    // Counting, in distinct incoming keys.
    let incoming_keys = incoming
        .clone()
        .lazy()
        .select(key.clone())
        .unique(None, UniqueKeepStrategy::First);
    let old_keys = existing.clone().lazy().select(key.clone());
    let distinct_incoming = incoming_keys.clone().collect().map_err(err())?.height() as u64;
    let known = incoming_keys
        .join(
            old_keys,
            key.clone(),
            key.clone(),
            JoinArgs::new(JoinType::Semi),
        )
        .collect()
        .map_err(err())?
        .height() as u64;
    // Records that replaced an existing one: compare them with the one they replaced.
    let replaced = winners.clone().lazy().filter(col(SEQ).gt_eq(lit(n_old)));
    let previous = existing.clone().lazy();
    let pairs = replaced
        .join(
            previous,
            key.clone(),
            key.clone(),
            JoinArgs::new(JoinType::Inner).with_suffix(Some("__old".into())),
        )
        .collect()
        .map_err(err())?;
    let mut changed = BooleanChunked::full("changed".into(), false, pairs.height());
    for c in spec.columns.iter().filter(|c| !spec.key.contains(&c.name)) {
        let a = pairs
            .column(c.name)
            .map_err(err())?
            .as_materialized_series();
        let b = pairs
            .column(&format!("{}__old", c.name))
            .map_err(err())?
            .as_materialized_series();
        let same = a.equal_missing(b).map_err(err())?;
        changed = &changed | &!same;
    }
    let updated = changed.sum().unwrap_or(0) as u64;

    let mut merged = winners.drop(SEQ).map_err(err())?;
    let sort_by: Vec<&str> = match spec.layout {
        Layout::MonthlyBy(t) => std::iter::once(t).chain(spec.key.iter().copied()).collect(),
        Layout::Single => spec.key.to_vec(),
    };
    merged = merged
        .sort(
            sort_by,
            SortMultipleOptions::default().with_maintain_order(true),
        )
        .map_err(err())?;
    let stats = MergeStats {
        inserted: distinct_incoming - known,
        updated,
        unchanged: known - updated,
        duplicates_in_file: incoming.height() as u64 - distinct_incoming,
    };
    Ok((merged, stats))
}
