//! Upsert: merge a file's accepted rows into a dataset by key. The newest `updated_at` wins
//! (missing counts as oldest); ties go to the later ingest, and within one file to the later
//! row. Pure: frames in, frame and counts out.

use crate::error::{Error, Result};
use crate::schema::{Dataset, Layout};
use polars::prelude::*;
use std::hash::BuildHasher;

/// What a merge did, counted in distinct keys of the incoming rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MergeStats {
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub duplicates_in_file: u64,
}

impl MergeStats {
    /// Add the counts of a merge over other keys.
    pub fn add(&mut self, o: MergeStats) {
        self.inserted += o.inserted;
        self.updated += o.updated;
        self.unchanged += o.unchanged;
        self.duplicates_in_file += o.duplicates_in_file;
    }
}

/// The stored order of a dataset's rows: by time then key when partitioned by month, else by key.
///
/// The order is found on the sort columns alone ([`order_of`]); then each column is moved
/// into it and its source freed at once, a column per core at a time. Gathering every column
/// at once, beside the unsorted frame, held both: a month of 2.5 M changes (about 470 MiB)
/// took 400 MiB more for the sort. Rows already in order are returned as they are.
pub fn sort_rows(df: DataFrame, spec: &Dataset) -> Result<DataFrame> {
    let err = || Error::polars(format!("sorting {}", spec.name()));
    let sort_by = sort_columns(spec);
    // Files often come in the stored order already: one pass over adjacent rows proves it.
    if rows_ordered(&df, &sort_by, false).map_err(err())? {
        return Ok(df);
    }
    // Not in order, so the order found is not the identity.
    let idx = order_of(&df, &sort_by).map_err(err())?;
    let height = df.height();
    let moved = in_order(df.into_columns(), &idx).map_err(err())?;
    DataFrame::new(height, moved).map_err(err())
}

/// The columns rows are stored in the order of: time then key when partitioned by month, else
/// the key.
fn sort_columns(spec: &Dataset) -> Vec<&'static str> {
    match spec.layout {
        Layout::MonthlyBy(t) => std::iter::once(t).chain(spec.key.iter().copied()).collect(),
        Layout::Single => spec.key.to_vec(),
    }
}

/// Whether every row of `df` comes after the one before it by the columns `by` (as
/// [`order_of`] orders them), or also differs from it when `strict`.
fn rows_ordered(df: &DataFrame, by: &[&str], strict: bool) -> PolarsResult<bool> {
    let cols: Vec<SortValues> = by
        .iter()
        .map(|c| df.column(c).and_then(SortValues::of))
        .collect::<PolarsResult<_>>()?;
    for i in 1..df.height() {
        let mut ord = std::cmp::Ordering::Equal;
        for v in &cols {
            ord = v.cmp(i - 1, i);
            if ord.is_ne() {
                break;
            }
        }
        if ord.is_gt() || (strict && ord.is_eq()) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A sort column's values in one array, compared by their physical value (text by bytes).
/// Read from the array itself: `ChunkedArray::get` looked for the row's chunk at every
/// comparison, a third of the sort of a customer_assets load.
enum SortValues {
    Text(<StringType as PolarsDataType>::Array),
    Int(<Int64Type as PolarsDataType>::Array),
}

impl SortValues {
    fn of(c: &Column) -> PolarsResult<SortValues> {
        Ok(if c.dtype() == &DataType::String {
            let one = c.str()?.rechunk();
            SortValues::Text(one.downcast_as_array().clone())
        } else {
            let ints = c.to_physical_repr().cast(&DataType::Int64)?;
            let one = ints.i64()?.rechunk();
            SortValues::Int(one.downcast_as_array().clone())
        })
    }

    /// Missing values first, as polars sorts them.
    fn cmp(&self, a: usize, b: usize) -> std::cmp::Ordering {
        match self {
            SortValues::Text(v) => v.get(a).cmp(&v.get(b)),
            SortValues::Int(v) => v.get(a).cmp(&v.get(b)),
        }
    }
}

/// The row order of `df` by the columns `by`, stable: polars sorts by the first column, then
/// each run of equal first values is sorted by the others here. polars' own sort by several
/// columns encodes every row's values into one buffer first: 1.7 GiB at the large size's
/// 33 M customer_assets rows, the ingest's peak.
fn order_of(df: &DataFrame, by: &[&str]) -> PolarsResult<IdxCa> {
    let first = df.column(by[0])?;
    let idx = first.arg_sort(SortOptions {
        descending: false,
        nulls_last: false,
        multithreaded: true,
        maintain_order: true,
        limit: None,
    });
    if by.len() == 1 {
        return Ok(idx);
    }
    let lead = SortValues::of(first)?;
    let rest: Vec<SortValues> = by[1..]
        .iter()
        .map(|c| df.column(c).and_then(SortValues::of))
        .collect::<PolarsResult<_>>()?;
    let mut order: Vec<IdxSize> = idx.rechunk().cont_slice()?.to_vec();
    drop(idx);
    let mut start = 0;
    while start < order.len() {
        let head = order[start] as usize;
        let mut end = start + 1;
        while end < order.len() && lead.cmp(head, order[end] as usize).is_eq() {
            end += 1;
        }
        if end - start > 1 {
            order[start..end].sort_by(|a, b| {
                rest.iter()
                    .map(|v| v.cmp(*a as usize, *b as usize))
                    .find(|o| o.is_ne())
                    .unwrap_or(std::cmp::Ordering::Equal)
            });
        }
        start = end;
    }
    Ok(IdxCa::from_vec("order".into(), order))
}

/// Each column gathered at `idx`, a column per core at a time, in polars' thread pool; a
/// batch's sources are dropped as soon as it is gathered. Measured on the 5.25 GB file's
/// merge: one column at a time over a spill's hundreds of chunks took 33 s, made one chunk
/// first 22.3 s, and in batches per core 18.6-19.9 s; a thread of our own per column instead
/// of polars' pool peaked 260-560 MiB higher.
fn in_order(columns: Vec<Column>, idx: &IdxCa) -> PolarsResult<Vec<Column>> {
    let batch = std::thread::available_parallelism().map_or(1, usize::from);
    let height = idx.len();
    let mut out = Vec::with_capacity(columns.len());
    let mut columns = columns.into_iter().peekable();
    while columns.peek().is_some() {
        let mut some = DataFrame::new(height, columns.by_ref().take(batch).collect())?;
        some.rechunk_mut_par();
        out.extend(some.take(idx)?.into_columns());
    }
    Ok(out)
}

/// Hash of each row's key, deterministic within a process: text columns by their text,
/// dates, times and integers by their physical value (casting a date key to text formatted
/// every value: a tenth of a revenue ingest).
pub fn key_hashes(df: &DataFrame, key: &[&str]) -> Result<Vec<u64>> {
    let err = || Error::polars("hashing keys");
    // The hash so far, then the column's value, by foldhash with a fixed seed (polars' own
    // hasher; SipHash, a new one per value, took 0.17 s of a 3.3 M-row customer_assets load).
    let state = PlFixedStateQuality::default();
    let mut out = vec![0u64; df.height()];
    for k in key {
        let c = df.column(k).map_err(err())?;
        let physical = c.dtype().to_physical();
        if physical.is_integer() {
            let c = c.to_physical_repr().cast(&DataType::Int64).map_err(err())?;
            for (h, v) in out.iter_mut().zip(c.i64().map_err(err())?.iter()) {
                *h = state.hash_one((*h, v));
            }
        } else {
            let c = c.cast(&DataType::String).map_err(err())?;
            for (h, v) in out.iter_mut().zip(c.str().map_err(err())?.iter()) {
                *h = state.hash_one((*h, v));
            }
        }
    }
    Ok(out)
}

const SEQ: &str = "__opsintel_seq";

/// Merge `incoming` into `existing` (both with the dataset's canonical columns). `incoming` is
/// taken whole, so that a first load can sort it in place.
pub fn upsert(
    existing: &DataFrame,
    incoming: DataFrame,
    spec: &Dataset,
) -> Result<(DataFrame, MergeStats)> {
    let err = || Error::polars(format!("merging {}", spec.name()));
    let key: Vec<Expr> = spec.key.iter().map(|k| col(*k)).collect();
    if existing.height() == 0 {
        // Into an empty dataset (a first load, a new month): with no key repeated in the file,
        // every row is inserted as it is. Rows of a dataset stored by key alone that come with
        // strictly increasing keys prove it in one pass and are already in order (an export
        // sorted by its key, as the lake's own); otherwise distinct key hashes prove it cheaply
        // (a unique pass over text keys is dear), and equal hashes fall through to the full
        // merge.
        if spec.layout == Layout::Single
            && rows_ordered(&incoming, &sort_columns(spec), true).map_err(err())?
        {
            let stats = MergeStats {
                inserted: incoming.height() as u64,
                ..MergeStats::default()
            };
            return Ok((incoming, stats));
        }
        let mut hashes = key_hashes(&incoming, spec.key)?;
        hashes.sort_unstable();
        if hashes.windows(2).all(|w| w[0] != w[1]) {
            let stats = MergeStats {
                inserted: incoming.height() as u64,
                ..MergeStats::default()
            };
            drop(hashes);
            return Ok((sort_rows(incoming, spec)?, stats));
        }
    }
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

    let merged = sort_rows(winners.drop(SEQ).map_err(err())?, spec)?;
    let stats = MergeStats {
        inserted: distinct_incoming - known,
        updated,
        unchanged: known - updated,
        duplicates_in_file: incoming.height() as u64 - distinct_incoming,
    };
    Ok((merged, stats))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::DatasetKind;

    fn customers(rows: &[(&str, f64, Option<i64>)]) -> DataFrame {
        let spec = DatasetKind::Customers.spec();
        let part = df!(
            "customer_id" => rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            "name" => rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            "arr" => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            "updated_at" => rows.iter().map(|r| r.2).collect::<Vec<_>>(),
        )
        .unwrap();
        let mut cols = Vec::new();
        for c in spec.columns {
            let dtype = crate::lake::dtype(c.ty);
            let col = match part.column(c.name) {
                Ok(col) => col.cast(&dtype).unwrap(),
                Err(_) => Column::full_null(c.name.into(), part.height(), &dtype),
            };
            cols.push(col);
        }
        DataFrame::new_infer_height(cols).unwrap()
    }

    fn arr_of(df: &DataFrame, id: &str) -> f64 {
        let ids = df.column("customer_id").unwrap().str().unwrap().clone();
        let i = ids.iter().position(|v| v == Some(id)).unwrap();
        df.column("arr").unwrap().f64().unwrap().get(i).unwrap()
    }

    /// The customer ids of a frame, in stored order.
    fn ids_of(df: &DataFrame) -> Vec<String> {
        df.column("customer_id")
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .map(|v| v.unwrap().to_string())
            .collect()
    }

    /// Upserts the rows into an empty customers dataset.
    fn into_empty(rows: &[(&str, f64, Option<i64>)]) -> (DataFrame, MergeStats) {
        let spec = DatasetKind::Customers.spec();
        upsert(&crate::lake::empty_frame(spec), customers(rows), spec).unwrap()
    }

    fn stats(inserted: u64, updated: u64, unchanged: u64, dups: u64) -> MergeStats {
        MergeStats {
            inserted,
            updated,
            unchanged,
            duplicates_in_file: dups,
        }
    }

    /// A changes frame (canonical columns) of (change_id, started_at seconds, summary) rows.
    fn changes(rows: &[(&str, i64, &str)]) -> DataFrame {
        let spec = DatasetKind::Changes.spec();
        let mut cols = Vec::new();
        for c in spec.columns {
            let dtype = crate::lake::dtype(c.ty);
            let col = match c.name {
                "change_id" => {
                    Column::new(c.name.into(), rows.iter().map(|r| r.0).collect::<Vec<_>>())
                }
                "summary" => {
                    Column::new(c.name.into(), rows.iter().map(|r| r.2).collect::<Vec<_>>())
                }
                "started_at" => Column::new(
                    c.name.into(),
                    rows.iter().map(|r| r.1 * 1_000_000).collect::<Vec<_>>(),
                )
                .cast(&dtype)
                .unwrap(),
                _ => Column::full_null(c.name.into(), rows.len(), &dtype),
            };
            cols.push(col);
        }
        DataFrame::new_infer_height(cols).unwrap()
    }

    fn column_texts(df: &DataFrame, name: &str) -> Vec<String> {
        let c = df.column(name).unwrap().str().unwrap().clone();
        c.iter().map(|v| v.unwrap().to_string()).collect()
    }

    #[test]
    fn rows_spread_over_chunks_are_sorted_by_time_then_key_keeping_ties_in_order() {
        let spec = DatasetKind::Changes.spec();
        // Three chunks, as a month read back from three spill files. C-1's two rows share
        // their key and time (a key repeated in a file): they keep their order, a then b.
        let mut df = changes(&[("C-3", 30, "x"), ("C-1", 20, "a")]);
        df.vstack_mut_owned(changes(&[("C-9", 10, "y"), ("C-1", 20, "b")]))
            .unwrap();
        df.vstack_mut_owned(changes(&[("C-2", 20, "z")])).unwrap();
        assert_eq!(df.column("change_id").unwrap().n_chunks(), 3);
        let sorted = sort_rows(df, spec).unwrap();
        assert_eq!(
            sorted.get_column_names(),
            spec.columns.iter().map(|c| c.name).collect::<Vec<_>>()
        );
        // 10 s: C-9; 20 s: C-1 (a, then b), C-2; 30 s: C-3. Every column moved with its row.
        assert_eq!(
            column_texts(&sorted, "change_id"),
            ["C-9", "C-1", "C-1", "C-2", "C-3"]
        );
        assert_eq!(column_texts(&sorted, "summary"), ["y", "a", "b", "z", "x"]);
        let secs: Vec<i64> = sorted
            .column("started_at")
            .unwrap()
            .to_physical_repr()
            .i64()
            .unwrap()
            .iter()
            .map(|v| v.unwrap() / 1_000_000)
            .collect();
        assert_eq!(secs, [10, 20, 20, 20, 30]);
        // Sorting again changes nothing.
        let again = sort_rows(sorted.clone(), spec).unwrap();
        assert!(again.equals_missing(&sorted));
    }

    #[test]
    fn rows_are_ordered_as_polars_orders_them_by_every_sort_column() {
        // 2,000 revenue rows with keys drawn from few values (so runs of an equal first key
        // are long and repeat whole keys), in two chunks: sort_rows must give polars' own
        // stable sort by (customer_id, month).
        let spec = DatasetKind::Revenue.spec();
        let mut state = 7u64;
        let mut next = |n: u64| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) % n
        };
        let rows: Vec<(String, i32, f64)> = (0..2000)
            .map(|i| {
                (
                    format!("CUST-{}", next(37)),
                    19_000 + next(24) as i32 * 30,
                    i as f64,
                )
            })
            .collect();
        let frame = |rows: &[(String, i32, f64)]| {
            DataFrame::new(
                rows.len(),
                vec![
                    Column::new(
                        "customer_id".into(),
                        rows.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
                    ),
                    Column::new("month".into(), rows.iter().map(|r| r.1).collect::<Vec<_>>())
                        .cast(&DataType::Date)
                        .unwrap(),
                    Column::new("mrr".into(), rows.iter().map(|r| r.2).collect::<Vec<_>>()),
                ],
            )
            .unwrap()
        };
        let mut df = frame(&rows[..1200]);
        df.vstack_mut_owned(frame(&rows[1200..])).unwrap();
        let want = df
            .sort(
                ["customer_id", "month"],
                SortMultipleOptions::default().with_maintain_order(true),
            )
            .unwrap();
        let got = sort_rows(df, spec).unwrap();
        assert!(got.equals_missing(&want));
        // And by hand on four rows: (B, Feb), (A, Mar), (B, Jan), (A, Jan).
        let few = frame(&[
            ("B".into(), 20_120, 1.0),
            ("A".into(), 20_148, 2.0),
            ("B".into(), 20_089, 3.0),
            ("A".into(), 20_089, 4.0),
        ]);
        let mrr: Vec<f64> = sort_rows(few, spec)
            .unwrap()
            .column("mrr")
            .unwrap()
            .f64()
            .unwrap()
            .iter()
            .map(|v| v.unwrap())
            .collect();
        assert_eq!(mrr, [4.0, 2.0, 3.0, 1.0]);
    }

    #[test]
    fn newest_updated_at_wins_and_ties_go_to_the_later_ingest() {
        let spec = DatasetKind::Customers.spec();
        // Lake: A (t=10), B (t=10), C (no updated_at), D (t=5).
        let old = customers(&[
            ("A", 1.0, Some(10)),
            ("B", 1.0, Some(10)),
            ("C", 1.0, None),
            ("D", 1.0, Some(5)),
        ]);
        // Incoming: A newer (t=20) -> updated; B older (t=5) -> unchanged (lake keeps 1.0);
        // C without updated_at, tie -> later ingest wins -> updated; D tie at t=5, identical
        // content -> unchanged; E new twice, the later row wins -> inserted + 1 duplicate.
        let new = customers(&[
            ("A", 2.0, Some(20)),
            ("B", 2.0, Some(5)),
            ("C", 2.0, None),
            ("D", 1.0, Some(5)),
            ("E", 3.0, None),
            ("E", 4.0, None),
        ]);
        let (merged, st) = upsert(&old, new, spec).unwrap();
        assert_eq!(st, stats(1, 2, 2, 1));
        assert_eq!(merged.height(), 5);
        assert_eq!(arr_of(&merged, "A"), 2.0);
        assert_eq!(arr_of(&merged, "B"), 1.0);
        assert_eq!(arr_of(&merged, "C"), 2.0);
        assert_eq!(arr_of(&merged, "E"), 4.0);
        // Sorted by key for a deterministic file.
        assert_eq!(ids_of(&merged), vec!["A", "B", "C", "D", "E"]);
    }

    #[test]
    fn a_record_with_updated_at_beats_one_without() {
        let spec = DatasetKind::Customers.spec();
        let old = customers(&[("A", 1.0, Some(10))]);
        let new = customers(&[("A", 2.0, None)]);
        let (merged, stats) = upsert(&old, new, spec).unwrap();
        assert_eq!(arr_of(&merged, "A"), 1.0);
        assert_eq!(stats.unchanged, 1);
    }

    #[test]
    fn merging_into_an_empty_dataset_inserts_everything() {
        let (merged, st) = into_empty(&[("B", 1.0, None), ("A", 2.0, None)]);
        assert_eq!(st, stats(2, 0, 0, 0));
        // Stored in key order.
        assert_eq!(ids_of(&merged), vec!["A", "B"]);
    }

    #[test]
    fn a_key_repeated_in_a_file_into_an_empty_dataset_keeps_the_newest_row() {
        // A twice: the row with the newer updated_at wins though it comes first.
        let (merged, st) =
            into_empty(&[("A", 5.0, Some(20)), ("B", 1.0, None), ("A", 3.0, Some(10))]);
        assert_eq!(st, stats(2, 0, 0, 1));
        assert_eq!(ids_of(&merged), vec!["A", "B"]);
        assert_eq!(arr_of(&merged, "A"), 5.0);
    }

    #[test]
    fn a_file_already_in_key_order_goes_in_as_it_is_unless_a_key_repeats() {
        // Strictly increasing keys: every row inserted, in the file's order.
        let (merged, st) = into_empty(&[("A", 1.0, None), ("B", 2.0, None), ("C", 3.0, None)]);
        assert_eq!(st, stats(3, 0, 0, 0));
        assert_eq!(ids_of(&merged), vec!["A", "B", "C"]);
        assert_eq!(arr_of(&merged, "B"), 2.0);
        // In order but A twice, side by side: the newer A wins, as out of order.
        let (merged, st) =
            into_empty(&[("A", 5.0, Some(10)), ("A", 7.0, Some(20)), ("B", 1.0, None)]);
        assert_eq!(st, stats(2, 0, 0, 1));
        assert_eq!(ids_of(&merged), vec!["A", "B"]);
        assert_eq!(arr_of(&merged, "A"), 7.0);
    }

    #[test]
    fn rows_are_in_order_when_each_comes_after_the_one_before_by_every_column() {
        let df = |k: &[&str], n: &[i64]| df!("k" => k, "n" => n).unwrap();
        let by = ["k", "n"];
        let ordered = |d: &DataFrame, strict| rows_ordered(d, &by, strict).unwrap();
        let d = df(&["x", "x", "y"], &[1, 2, 0]);
        assert!(ordered(&d, false) && ordered(&d, true));
        // A tie on every column: in order, not strictly.
        let d = df(&["x", "x", "y"], &[1, 1, 0]);
        assert!(ordered(&d, false) && !ordered(&d, true));
        // The second column decides within a tie of the first.
        let d = df(&["x", "x", "y"], &[2, 1, 0]);
        assert!(!ordered(&d, false));
        let d = df(&["y", "x"], &[0, 9]);
        assert!(!ordered(&d, false));
        // No rows, one row: in order.
        assert!(ordered(&df(&[], &[]), true) && ordered(&df(&["x"], &[1]), true));
        // sort_rows leaves an ordered frame as it is and orders the others.
        let spec = DatasetKind::Customers.spec();
        let sorted = sort_rows(customers(&[("A", 1.0, None), ("B", 2.0, None)]), spec).unwrap();
        assert_eq!(ids_of(&sorted), vec!["A", "B"]);
        let sorted = sort_rows(customers(&[("B", 2.0, None), ("A", 1.0, None)]), spec).unwrap();
        assert_eq!(ids_of(&sorted), vec!["A", "B"]);
    }
}
