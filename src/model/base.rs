//! The model's building blocks, read from the lake once per run: the reporting calendar,
//! incidents with their downtime pieces, and customers with their exposure groups (customers
//! whose failure-reaching asset sets are identical share one group, so downtime is merged once
//! per group instead of once per customer).

use super::frames::{
    RowTexts, floats, frame, int_col, ints, list_col, lists, strs, text_list_rows, texts, utc,
};
use super::intervals::{Segment, cut, disjoint};
use super::{Policy, Source, Window, read};
use crate::error::Result;
use crate::graph::DependencyGraph;
use crate::query::period::{Period, add_months, local_midnight};
use crate::schema::DatasetKind;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;
use polars::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

/// Dense ids for strings (assets, severities, impacts).
#[derive(Default)]
pub(crate) struct Interner {
    names: Vec<String>,
    index: PlHashMap<String, u32>,
}

impl Interner {
    pub fn intern(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(s.to_string());
        self.index.insert(s.to_string(), i);
        i
    }
    pub fn get(&self, s: &str) -> Option<u32> {
        self.index.get(s).copied()
    }
    pub fn name(&self, i: u32) -> &str {
        &self.names[i as usize]
    }
    pub fn len(&self) -> usize {
        self.names.len()
    }
}

/// Days since 1970-01-01 to that day's midnight in `tz`, as UTC microseconds.
pub(crate) fn day_start(day: i64, tz: Tz) -> i64 {
    local_midnight(epoch_day(day), tz).timestamp_micros()
}

/// [`day_start`] of days in one zone, each worked out once: zone conversions are dear, and rows
/// share a few thousand days (customers' first days, SLAs' start and end days).
pub(crate) struct DayStarts {
    tz: Tz,
    days: PlHashMap<i64, i64>,
}

impl DayStarts {
    pub fn new(tz: Tz) -> Self {
        DayStarts {
            tz,
            days: PlHashMap::default(),
        }
    }

    /// [`day_start`] of `day` (days since the epoch).
    pub fn get(&mut self, day: i64) -> i64 {
        let tz = self.tz;
        *self.days.entry(day).or_insert_with(|| day_start(day, tz))
    }
}

pub(crate) fn epoch_day(day: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch") + chrono::Duration::days(day)
}

/// The calendar of reporting months.
#[derive(Clone)]
pub(crate) struct Calendar {
    pub months: Vec<Period>,
    pub starts: Vec<i64>,
    pub as_of: i64,
    pub tz: Tz,
}

impl Calendar {
    /// From the earliest month with data to the month containing as-of.
    pub fn build(src: &dyn Source, as_of: DateTime<Utc>, tz: Tz) -> Result<Calendar> {
        // The earliest incident or change start, or revenue month or churn date (the start of
        // that day in the reporting zone).
        let mut earliest: Option<i64> = None;
        for k in [DatasetKind::Incidents, DatasetKind::Changes] {
            earliest = src.time_min(k)?.into_iter().chain(earliest).min();
        }
        for k in [DatasetKind::Revenue, DatasetKind::Churn] {
            if let Some(day) = src.time_min(k)? {
                let t = day_start(day, tz);
                earliest = Some(earliest.map_or(t, |e| e.min(t)));
            }
        }
        let first = Period::month_of(
            DateTime::from_timestamp_micros(earliest.unwrap_or(as_of.timestamp_micros()))
                .unwrap_or(as_of)
                .min(as_of),
            tz,
        );
        Ok(Calendar::spanning(first, as_of, tz))
    }

    /// The months from `first` to the one containing `as_of`, in `tz`.
    pub fn spanning(first: Period, as_of: DateTime<Utc>, tz: Tz) -> Calendar {
        let last = Period::month_of(as_of, tz);
        let mut months = Vec::new();
        let mut m = first;
        while m.first <= last.first {
            months.push(m);
            m = Period {
                first: add_months(m.first, 1),
                months: 1,
            };
        }
        Calendar {
            starts: months
                .iter()
                .map(|p| p.start_utc(tz).timestamp_micros())
                .collect(),
            months,
            as_of: as_of.timestamp_micros(),
            tz,
        }
    }

    /// Index of the month containing `t`.
    pub fn index(&self, t: i64) -> Option<usize> {
        if t < *self.starts.first()? {
            return None;
        }
        let i = self.starts.partition_point(|s| *s <= t) - 1;
        (i < self.months.len()).then_some(i)
    }
    pub fn label(&self, t: i64) -> Option<String> {
        self.index(t).map(|i| self.months[i].label())
    }
    /// Indexes of the months overlapping `within` (every month without it), in order.
    pub fn months_within(&self, within: Option<Window>) -> Vec<usize> {
        (0..self.months.len())
            .filter(|&i| within.is_none_or(|w| self.starts[i] < w.end && self.end(i) > w.start))
            .collect()
    }
    /// As a polars expression, [`Calendar::index`] of a UTC timestamp column, among the
    /// consecutive month indexes `months`: the first one's index, minus one, plus the number of
    /// their month starts and of the last one's end that the time has passed (no per-row
    /// time-zone conversion). So a time before those months gets the index before the first and
    /// one after them the index after the last, which [`Calendar::labels`] of `months` does not
    /// hold: a join with it gives them no label.
    pub fn index_expr(&self, t: Expr, months: &[usize]) -> Expr {
        let (Some(&first), Some(&last)) = (months.first(), months.last()) else {
            return lit(NULL).cast(DataType::Int64);
        };
        let bounds = months
            .iter()
            .map(|&m| self.starts[m])
            .chain([self.end(last)]);
        bounds
            .fold(lit(first as i32 - 1), |i, b| {
                i + t.clone().gt_eq(utc(b)).cast(DataType::Int32)
            })
            .cast(DataType::Int64)
    }

    /// The month indexes `months` (column `column`) and their labels (`month`), to look labels
    /// up by [`Calendar::index_expr`].
    pub fn labels(&self, column: &str, months: &[usize]) -> Result<DataFrame> {
        frame(
            vec![
                Column::new(
                    column.into(),
                    months.iter().map(|&i| i as i64).collect::<Vec<_>>(),
                ),
                Column::new(
                    "month".into(),
                    months
                        .iter()
                        .map(|&i| self.months[i].label())
                        .collect::<Vec<_>>(),
                ),
            ],
            &[],
        )
    }
    pub fn end(&self, i: usize) -> i64 {
        self.starts
            .get(i + 1)
            .copied()
            .unwrap_or_else(|| self.months[i].end_utc(self.tz).timestamp_micros())
    }
}

/// One incident, 72 bytes: its id, customers and downtime pieces live in [`Incidents`]
/// (flat arrays, no allocation per incident), its missing times are a sentinel. At 10 M
/// incidents the model's first touch of each fresh page is most of the load, so the size of
/// this row is its time.
pub(crate) struct Incident {
    /// Row of the incident's id in [`Incidents::ids`].
    row: u32,
    pub asset: Option<u32>,
    pub severity: u32,
    pub impact: u32,
    pub open: bool,
    /// Its customers: `Incidents::customers[customers.0..customers.1]`.
    customers: (u32, u32),
    /// Its downtime pieces: `Incidents::pieces[pieces.0..pieces.1]`.
    pieces: (u32, u32),
    pub started: i64,
    detected: i64,
    acked: i64,
    resolved: i64,
}

/// The stored value of a missing time.
const NO_TIME: i64 = i64::MIN;

fn time(t: Option<i64>) -> i64 {
    t.unwrap_or(NO_TIME)
}

fn some_time(t: i64) -> Option<i64> {
    (t != NO_TIME).then_some(t)
}

impl Incident {
    pub fn detected(&self) -> Option<i64> {
        some_time(self.detected)
    }
    /// Acknowledged, if by as-of.
    pub fn acked(&self) -> Option<i64> {
        some_time(self.acked)
    }
    /// Resolved, if by as-of.
    pub fn resolved(&self) -> Option<i64> {
        some_time(self.resolved)
    }
}

/// Every incident started by as-of, with its downtime pieces.
pub(crate) struct Incidents {
    pub list: Vec<Incident>,
    pub assets: Interner,
    /// Severity and impact names.
    pub labels: Interner,
    pub none: u32,
    /// Incident ids, as read, by [`Incident`] row.
    ids: RowTexts,
    /// Every incident's named customers, one after another.
    customers: Vec<PlSmallStr>,
    /// Every incident's downtime pieces (maintenance cut out, weighted by policy, clipped to
    /// as-of), one after another.
    pieces: Vec<Segment>,
}

impl Incidents {
    pub fn load(src: &dyn Source, as_of: i64, policy: Policy) -> Result<Incidents> {
        // Maintenance windows per asset.
        let mw = read(
            src,
            DatasetKind::Maintenance,
            &["asset_id", "starts_at", "ends_at"],
        )?;
        let mut maintenance: BTreeMap<String, Vec<(i64, i64)>> = BTreeMap::new();
        for ((a, s), e) in strs(&mw, "asset_id")?
            .into_iter()
            .zip(ints(&mw, "starts_at")?)
            .zip(ints(&mw, "ends_at")?)
        {
            if let (Some(a), Some(s), Some(e)) = (a, s, e) {
                maintenance.entry(a).or_default().push((s, e));
            }
        }
        for holes in maintenance.values_mut() {
            *holes = disjoint(holes);
        }
        let inc = read(
            src,
            DatasetKind::Incidents,
            &[
                "incident_id",
                "asset_id",
                "severity",
                "impact",
                "status",
                "customer_ids",
                "started_at",
                "detected_at",
                "acknowledged_at",
                "mitigated_at",
                "resolved_at",
            ],
        )?;
        // Columns are walked in step, borrowed: at 10 M incidents a `String` per cell cost
        // gigabytes and most of the load's time.
        let ids = texts(&inc, "incident_id")?;
        let asset_col = texts(&inc, "asset_id")?;
        let sev = texts(&inc, "severity")?;
        let impact = texts(&inc, "impact")?;
        let status = texts(&inc, "status")?;
        let custs = list_col(&inc, "customer_ids")?;
        let started = int_col(&inc, "started_at")?;
        let detected = int_col(&inc, "detected_at")?;
        let acked = int_col(&inc, "acknowledged_at")?;
        let mitigated = int_col(&inc, "mitigated_at")?;
        let resolved = int_col(&inc, "resolved_at")?;
        let mut assets = Interner::default();
        let mut labels = Interner::default();
        let none = labels.intern("none");
        let mut list = Vec::with_capacity(inc.height());
        let mut customers_all: Vec<PlSmallStr> = Vec::new();
        let mut pieces_all: Vec<Segment> = Vec::with_capacity(inc.height());
        // Maintenance windows by interned asset id, filled as ids appear.
        let mut holes_of: Vec<Option<&[(i64, i64)]>> = Vec::new();
        // Every column has a value (or null) per row: walk them in step.
        let (mut asset_it, mut sev_it, mut impact_it, mut status_it) =
            (asset_col.iter(), sev.iter(), impact.iter(), status.iter());
        let mut custs_it = text_list_rows(&custs);
        let mut row: u32 = 0;
        let (mut start_it, mut detected_it, mut acked_it, mut mitigated_it, mut resolved_it) = (
            started.iter(),
            detected.iter(),
            acked.iter(),
            mitigated.iter(),
            resolved.iter(),
        );
        while let (
            Some(asset_i),
            Some(sev_i),
            Some(impact_i),
            Some(status_i),
            Some(customers),
            Some(start),
            Some(detected_i),
            Some(acked_i),
            Some(mitigated_i),
            Some(resolved_at),
        ) = (
            asset_it.next(),
            sev_it.next(),
            impact_it.next(),
            status_it.next(),
            custs_it.next(),
            start_it.next(),
            detected_it.next(),
            acked_it.next(),
            mitigated_it.next(),
            resolved_it.next(),
        ) {
            let at = row;
            row += 1;
            let Some(start) = start else { continue };
            if start > as_of {
                continue;
            }
            let resolved_i = resolved_at.filter(|r| *r <= as_of);
            let open =
                resolved_i.is_none() && status_i != Some("closed") && status_i != Some("resolved")
                    || resolved_at.is_some_and(|r| r > as_of);
            let impact_i = impact_i.unwrap_or("none");
            let end = mitigated_i.or(resolved_at).unwrap_or(as_of).min(as_of);
            let w = policy.weight(impact_i);
            let asset = asset_i.map(|a| assets.intern(a));
            if let (Some(a), Some(name)) = (asset, asset_i)
                && a as usize == holes_of.len()
            {
                holes_of.push(maintenance.get(name).map(Vec::as_slice));
            }
            let first_piece = pieces_all.len() as u32;
            if w > 0.0 && end > start {
                let whole = Segment::new(start, end, w);
                match asset.and_then(|a| holes_of[a as usize]) {
                    Some(holes) => cut(whole, holes, &mut pieces_all),
                    None => pieces_all.push(whole),
                }
            }
            let first_customer = customers_all.len() as u32;
            if let Some(names) = customers {
                customers_all.extend(names.iter().flatten().map(PlSmallStr::from_str));
            }
            list.push(Incident {
                row: at,
                asset,
                severity: labels.intern(sev_i.unwrap_or("")),
                impact: labels.intern(impact_i),
                open,
                customers: (first_customer, customers_all.len() as u32),
                pieces: (first_piece, pieces_all.len() as u32),
                started: start,
                detected: time(detected_i),
                acked: time(acked_i.filter(|t| *t <= as_of)),
                resolved: time(resolved_i),
            });
        }
        Ok(Incidents {
            list,
            assets,
            labels,
            none,
            ids: RowTexts::new(&ids),
            customers: customers_all,
            pieces: pieces_all,
        })
    }

    pub fn id(&self, i: &Incident) -> &str {
        self.ids.get(i.row as usize).unwrap_or_default()
    }
    /// The customers the incident names (as written; unknown ids too).
    pub fn customers(&self, i: &Incident) -> &[PlSmallStr] {
        &self.customers[self.customer_span(i)]
    }
    /// Where its named customers lie in [`Incidents::every_customer`].
    pub fn customer_span(&self, i: &Incident) -> std::ops::Range<usize> {
        i.customers.0 as usize..i.customers.1 as usize
    }
    /// The customers every incident names, incident after incident.
    pub fn every_customer(&self) -> &[PlSmallStr] {
        &self.customers
    }
    /// Its downtime pieces: maintenance cut out, weighted by policy, clipped to as-of.
    pub fn pieces(&self, i: &Incident) -> &[Segment] {
        &self.pieces[i.pieces.0 as usize..i.pieces.1 as usize]
    }
    /// Weighted downtime minutes of the incident (0.0, never -0.0, when it has none).
    pub fn downtime(&self, i: &Incident) -> f64 {
        self.pieces(i)
            .iter()
            .map(Segment::downtime_minutes)
            .sum::<f64>()
            + 0.0
    }

    pub fn asset_name(&self, i: &Incident) -> Option<&str> {
        i.asset.map(|a| self.assets.name(a))
    }
    pub fn severity(&self, i: &Incident) -> &str {
        self.labels.name(i.severity)
    }
    pub fn impact(&self, i: &Incident) -> &str {
        self.labels.name(i.impact)
    }
}

/// A sorted list of ids without repeats per row, kept flat: row `i`'s are
/// `items[starts[i]..starts[i + 1]]`. At 10 M incidents the customers' direct assets are 33.5 M
/// rows over 4.5 M customers: a `Vec` each was 4.5 M allocations, freed again in the same load.
pub(crate) struct RowLists {
    starts: Vec<u32>,
    items: Vec<u32>,
}

impl RowLists {
    /// The lists of `rows` rows from `(row, id)` pairs, in any order (rows below `rows`). Pairs
    /// in row order (as the lake keeps them) go straight to their place; pairs out of order are
    /// sorted first.
    pub(crate) fn build(rows: usize, pairs: impl Iterator<Item = (usize, u32)>) -> RowLists {
        let mut starts: Vec<u32> = Vec::with_capacity(rows + 1);
        let mut items: Vec<u32> = Vec::new();
        let mut pairs = pairs.peekable();
        // In row order: rows up to `starts.len() - 1` are open or done.
        while let Some(&(row, id)) = pairs.peek() {
            if row + 1 < starts.len() {
                break;
            }
            starts.resize(row + 1, items.len() as u32);
            items.push(id);
            pairs.next();
        }
        if pairs.peek().is_some() {
            // Out of order: every pair so far (row `r`'s run to the next row's start, the last
            // open row's to the end) and the rest, by row.
            let mut all: Vec<(u32, u32)> = Vec::with_capacity(items.len());
            for (r, &from) in starts.iter().enumerate() {
                let to = starts.get(r + 1).map_or(items.len(), |&t| t as usize);
                all.extend(items[from as usize..to].iter().map(|&i| (r as u32, i)));
            }
            all.extend(pairs.map(|(r, i)| (r as u32, i)));
            all.sort_unstable();
            starts.clear();
            items.clear();
            for (row, id) in all {
                starts.resize(row as usize + 1, items.len() as u32);
                items.push(id);
            }
        }
        starts.resize(rows + 1, items.len() as u32);
        // Each row's ids sorted, repeats dropped, the rows moved down over the gaps.
        let mut kept = 0;
        for r in 0..rows {
            let (from, to) = (starts[r] as usize, starts[r + 1] as usize);
            starts[r] = kept as u32;
            items[from..to].sort_unstable();
            let mut last = None;
            for k in from..to {
                if last != Some(items[k]) {
                    last = Some(items[k]);
                    items[kept] = items[k];
                    kept += 1;
                }
            }
        }
        starts[rows] = kept as u32;
        items.truncate(kept);
        RowLists { starts, items }
    }

    /// The ids of row `row`.
    pub(crate) fn get(&self, row: usize) -> &[u32] {
        &self.items[self.starts[row] as usize..self.starts[row + 1] as usize]
    }

    /// Each id replaced by `f(id)`, rows in the same places (the order within a row is then
    /// that of the ids before).
    pub(crate) fn map_ids(&mut self, f: impl Fn(u32) -> u32) {
        self.items.iter_mut().for_each(|i| *i = f(*i));
    }

    /// The rows with at least one id.
    pub(crate) fn rows_with_ids(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.starts.len().saturating_sub(1)).filter(|&r| self.starts[r] < self.starts[r + 1])
    }
}

pub(crate) struct Customer {
    pub id: PlSmallStr,
    pub arr: f64,
    /// Start of the customer's first day, UTC microseconds.
    pub since: Option<i64>,
    /// Day (days since epoch) of full churn, if any, by as-of.
    pub churned: Option<i64>,
    /// Exposure group: index into [`Customers::groups`].
    pub group: u32,
}

/// Customers with the same closure (every asset whose failure reaches them).
pub(crate) struct Group {
    pub assets: Vec<String>,
    pub members: u64,
    pub arr: f64,
}

pub(crate) struct Customers {
    pub list: Vec<Customer>,
    /// Per customer row: the assets it uses directly (ids in [`Customers::assets`]).
    direct: RowLists,
    /// The row of each customer id ([`Customers::lookup`], [`Customers::rows_of`]).
    index: CustomerIndex,
    pub groups: Vec<Group>,
    pub graph: DependencyGraph,
    /// Asset ids of the customer side (assets, and assets customers use).
    pub assets: Interner,
    /// Per asset: the customers whose closure holds it (churned or not) and their ARR.
    pub exposed: BTreeMap<String, (u64, f64)>,
}

/// The string values of a column, borrowed (no allocation per row).
fn str_col<'a>(df: &'a DataFrame, name: &str) -> Result<&'a StringChunked> {
    df.column(name)
        .and_then(|c| c.str())
        .map_err(crate::error::Error::polars(format!("model: column {name}")))
}

/// Customer rows by id. The lake keeps customers sorted by id, so the rows are found by binary
/// search over the ids, without a hash map (at 10 M incidents, 4.5 M customers: building that
/// map took 2.3 s of the customers' load, beside the incidents', and 150 MB); ids not strictly
/// increasing (another source, or a repeated id, whose last row counts) get the map.
///
/// The search first narrows to a block of [`FENCE_EVERY`] rows over a copy of every block's
/// first id (70 k ids, 1.7 MB at 4.5 M customers: mostly in cache), then searches the block. A
/// plain binary search over the list touched about 22 rows of 72 bytes strewn over 324 MB, a
/// cache miss each: 1.3 s of the exposure's build at 10 M incidents for 738 k named customers.
enum CustomerIndex {
    Sorted { fence: Vec<PlSmallStr> },
    Hashed(PlHashMap<PlSmallStr, usize>),
}

/// Rows per block of [`CustomerIndex::Sorted`].
const FENCE_EVERY: usize = 64;

impl CustomerIndex {
    fn new(ids: &[PlSmallStr]) -> Self {
        if ids.windows(2).all(|w| w[0].as_str() < w[1].as_str()) {
            CustomerIndex::Sorted {
                fence: ids.iter().step_by(FENCE_EVERY).cloned().collect(),
            }
        } else {
            CustomerIndex::Hashed(
                ids.iter()
                    .cloned()
                    .enumerate()
                    .map(|(i, c)| (c, i))
                    .collect(),
            )
        }
    }

    /// The row of `id` among `ids` (the ids this index was built from).
    fn get<'s>(&self, ids: impl Fn(usize) -> &'s str, n: usize, id: &str) -> Option<usize> {
        match self {
            CustomerIndex::Sorted { fence } => {
                // The block whose first id is the last one not above `id`.
                let block = fence.partition_point(|f| f.as_str() <= id).checked_sub(1)?;
                let (mut lo, mut hi) = (block * FENCE_EVERY, n.min((block + 1) * FENCE_EVERY));
                while lo < hi {
                    let mid = (lo + hi) / 2;
                    match ids(mid).cmp(id) {
                        std::cmp::Ordering::Less => lo = mid + 1,
                        std::cmp::Ordering::Greater => hi = mid,
                        std::cmp::Ordering::Equal => return Some(mid),
                    }
                }
                None
            }
            CustomerIndex::Hashed(map) => map.get(id).copied(),
        }
    }
}

/// Finds rows of a customer list by id, for a walk over rows keyed by customer (customer
/// assets, churn, revenue, SLAs): the lake keeps those datasets sorted by their key, so the next
/// row's customer is nearly always the current one or a few after it, checked without
/// searching; any other id goes through the index. Correct in any order; fast in key order.
/// Only over a sorted list (no id twice): over a hashed one, whose repeated ids count at their
/// last row, every id goes to the map.
pub(crate) struct Lookup<'a, F> {
    ids: F,
    n: usize,
    index: &'a CustomerIndex,
    at: usize,
}

/// Rows after the current one a [`Lookup`] reads before it searches: customers without a row
/// in the walked dataset (without revenue, or without an SLA) leave gaps of a few rows.
const LOOK_AHEAD: usize = 8;

/// A [`Lookup`] over `ids`, with the index built from them.
fn lookup<'a>(
    ids: &'a [PlSmallStr],
    index: &'a CustomerIndex,
) -> Lookup<'a, impl Fn(usize) -> &'a str> {
    Lookup::new(move |k: usize| ids[k].as_str(), ids.len(), index)
}

impl<'a, F: Fn(usize) -> &'a str> Lookup<'a, F> {
    /// A lookup over the `n` ids `ids(0..n)` that `index` was built from.
    fn new(ids: F, n: usize, index: &'a CustomerIndex) -> Self {
        Lookup {
            ids,
            n,
            index,
            at: 0,
        }
    }

    /// The rows of `ids`, in their order ([`Customers::rows_of`]): the ids sorted, then found
    /// in one walk (over a hashed list, each still goes to the map).
    fn rows_of(mut self, ids: &[PlSmallStr]) -> Vec<Option<u32>> {
        let mut out = vec![None; ids.len()];
        let mut order: Vec<(&str, u32)> = (ids.iter().map(PlSmallStr::as_str))
            .zip(0..ids.len() as u32)
            .collect();
        order.sort_unstable();
        for (id, k) in order {
            out[k as usize] = self.row(id).map(|r| r as u32);
        }
        out
    }

    /// The row of customer `id`, if listed.
    pub(crate) fn row(&mut self, id: &str) -> Option<usize> {
        if matches!(self.index, CustomerIndex::Sorted { .. }) {
            for i in self.at..self.n.min(self.at + LOOK_AHEAD) {
                match (self.ids)(i).cmp(id) {
                    std::cmp::Ordering::Less => {}
                    std::cmp::Ordering::Equal => {
                        self.at = i;
                        return Some(i);
                    }
                    // Sorted: not at or after the current row.
                    std::cmp::Ordering::Greater => break,
                }
            }
        }
        let i = self.index.get(&self.ids, self.n, id)?;
        self.at = i;
        Some(i)
    }
}

impl Customers {
    pub fn load(src: &dyn Source, as_of: DateTime<Utc>, tz: Tz) -> Result<Customers> {
        let assets_df = read(src, DatasetKind::Assets, &["asset_id", "depends_on"])?;
        let mut graph = DependencyGraph::new();
        for (a, deps) in strs(&assets_df, "asset_id")?
            .into_iter()
            .zip(lists(&assets_df, "depends_on")?)
        {
            graph.add(&a.unwrap_or_default(), deps);
        }
        let cust = read(
            src,
            DatasetKind::Customers,
            &["customer_id", "arr", "since"],
        )?;
        // Ids inline (up to 24 bytes): no allocation per customer for the list or the index.
        let ids: Vec<PlSmallStr> = str_col(&cust, "customer_id")?
            .iter()
            .map(|c| PlSmallStr::from_str(c.unwrap_or_default()))
            .collect();
        let index = CustomerIndex::new(&ids);
        // Assets each customer uses directly.
        let mut assets = Interner::default();
        for a in graph.assets() {
            assets.intern(a);
        }
        let ca = read(
            src,
            DatasetKind::CustomerAssets,
            &["customer_id", "asset_id"],
        )?;
        let mut find = lookup(&ids, &index);
        let pairs = str_col(&ca, "customer_id")?
            .iter()
            .zip(str_col(&ca, "asset_id")?.iter())
            .filter_map(|(c, a)| Some((find.row(c?)?, assets.intern(a?))));
        let direct = RowLists::build(ids.len(), pairs);
        // Ends the borrow of `ids` and `index` (the lookup's id closure is an opaque type).
        drop(find);
        drop(ca);
        // Closure of each asset as a bit set over asset ids.
        let words = assets.len().div_ceil(64).max(1);
        let closure_bits: Vec<Vec<u64>> = (0..assets.len() as u32)
            .map(|a| {
                let name = assets.name(a).to_string();
                let mut bits = vec![0u64; words];
                for n in graph.needs(&name).iter().chain([&name]) {
                    if let Some(i) = assets.get(n) {
                        bits[i as usize / 64] |= 1 << (i % 64);
                    }
                }
                bits
            })
            .collect();
        let churn = read(
            src,
            DatasetKind::Churn,
            &["customer_id", "churned_at", "kind"],
        )?;
        // Day of each customer's earliest full churn by as-of.
        let mut full_churn: Vec<Option<i64>> = vec![None; ids.len()];
        let as_of_day = as_of.date_naive().num_days_from_ce() as i64 - 719_163;
        let days = ints(&churn, "churned_at")?;
        let mut find = lookup(&ids, &index);
        for ((c, day), kind) in str_col(&churn, "customer_id")?
            .iter()
            .zip(days)
            .zip(str_col(&churn, "kind")?.iter())
        {
            if let (Some(c), Some(day)) = (c, day)
                && kind != Some("downgrade")
                && day <= as_of_day
                && let Some(i) = find.row(c)
            {
                let e = full_churn[i].get_or_insert(day);
                *e = (*e).min(day);
            }
        }
        // Ends the borrow of `ids` and `index`, as above.
        drop(find);
        let mut group_of: PlHashMap<Vec<u64>, u32> = PlHashMap::default();
        let mut groups: Vec<Group> = Vec::new();
        let mut list = Vec::with_capacity(cust.height());
        let mut key = vec![0u64; words];
        // Customers' first days repeat: 2,241 distinct at 4.5 M customers.
        let mut first_days = DayStarts::new(tz);
        for (row, (((id, arr), since), churned)) in ids
            .into_iter()
            .zip(floats(&cust, "arr")?)
            .zip(ints(&cust, "since")?)
            .zip(full_churn)
            .enumerate()
        {
            key.fill(0);
            for &a in direct.get(row) {
                for (k, w) in key.iter_mut().zip(&closure_bits[a as usize]) {
                    *k |= w;
                }
            }
            let arr = arr.unwrap_or(0.0);
            let g = match group_of.get(key.as_slice()) {
                Some(&g) => g,
                None => {
                    let names: Vec<String> = (0..assets.len() as u32)
                        .filter(|&i| key[i as usize / 64] & (1 << (i % 64)) != 0)
                        .map(|i| assets.name(i).to_string())
                        .collect::<BTreeSet<_>>()
                        .into_iter()
                        .collect();
                    groups.push(Group {
                        assets: names,
                        members: 0,
                        arr: 0.0,
                    });
                    group_of.insert(key.clone(), groups.len() as u32 - 1);
                    groups.len() as u32 - 1
                }
            };
            groups[g as usize].members += 1;
            groups[g as usize].arr += arr;
            list.push(Customer {
                churned,
                id,
                arr,
                since: since.map(|day| first_days.get(day)),
                group: g,
            });
        }
        let mut exposed: BTreeMap<String, (u64, f64)> = BTreeMap::new();
        for grp in &groups {
            for a in &grp.assets {
                let e = exposed.entry(a.clone()).or_default();
                e.0 += grp.members;
                e.1 += grp.arr;
            }
        }
        Ok(Customers {
            list,
            direct,
            index,
            groups,
            graph,
            assets,
            exposed,
        })
    }

    /// The rows in [`Customers::list`] of `ids` (in their order; `None` for an id not listed).
    /// For many ids in no particular order (the customers incidents name): sorted first, then
    /// found by one walk over the sorted list, in place of a search per id, whose probes into
    /// the list missed the cache (at 10 M incidents, 738 k ids took 1.05 s of CPU).
    pub fn rows_of(&self, ids: &[PlSmallStr]) -> Vec<Option<u32>> {
        self.lookup().rows_of(ids)
    }

    /// A [`Lookup`] over the list: for walks over rows kept in customer order (revenue, SLAs,
    /// churn), where a search per row would miss the cache.
    pub fn lookup<'s>(&'s self) -> Lookup<'s, impl Fn(usize) -> &'s str + 's> {
        let list = &self.list;
        Lookup::new(move |k: usize| list[k].id.as_str(), list.len(), &self.index)
    }

    /// Per customer row: whether their exposure group's closure holds `asset` (churned or not):
    /// whom a change to the asset may reach.
    pub fn reached_by(&self, asset: &str) -> Vec<bool> {
        let holds: Vec<bool> = self
            .groups
            .iter()
            .map(|g| g.assets.iter().any(|a| a == asset))
            .collect();
        self.list.iter().map(|c| holds[c.group as usize]).collect()
    }

    /// Whether the customer of row `row` in [`Customers::list`] uses the asset directly.
    pub fn uses_directly(&self, row: usize, asset: &str) -> bool {
        self.assets
            .get(asset)
            .is_some_and(|a| self.direct.get(row).binary_search(&a).is_ok())
    }

    /// Start of the customer's full-churn day, UTC microseconds.
    pub fn churn_start(&self, c: &Customer, tz: Tz) -> Option<i64> {
        c.churned.map(|d| day_start(d, tz))
    }

    /// The asset and everything it needs.
    pub fn closure(&self, asset: &str) -> BTreeSet<String> {
        let mut s = self.graph.needs(asset);
        s.insert(asset.to_string());
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::frames::utc_type;

    /// Each row's list is the sorted set of its ids, whether the pairs come in row order (the
    /// lake's), out of order (from the first pair or midway), with repeats, or with rows that
    /// have none (first, last and between).
    #[test]
    fn row_lists_hold_each_rows_ids_sorted_once() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for round in 0..60 {
            let rows = rng.random_range(0..9usize);
            let n = if rows == 0 {
                0
            } else {
                rng.random_range(0..30)
            };
            let mut pairs: Vec<(usize, u32)> = (0..n)
                .map(|_| (rng.random_range(0..rows), rng.random_range(0..6)))
                .collect();
            match round % 3 {
                0 => pairs.sort_by_key(|p| p.0),
                // In order up to a point, then one pair out of order.
                1 => {
                    pairs.sort_by_key(|p| p.0);
                    if n > 2 {
                        let k = rng.random_range(1..n);
                        pairs[..k].reverse();
                    }
                }
                _ => {}
            }
            let lists = RowLists::build(rows, pairs.iter().copied());
            for r in 0..rows {
                let want: BTreeSet<u32> = pairs.iter().filter(|p| p.0 == r).map(|p| p.1).collect();
                assert_eq!(
                    lists.get(r),
                    want.into_iter().collect::<Vec<_>>().as_slice(),
                    "round {round}, row {r}, pairs {pairs:?}"
                );
            }
        }
        // Hand-checked: rows 1 and 3 of five, out of order, with a repeat.
        let lists = RowLists::build(5, [(3, 7), (1, 4), (3, 2), (1, 4)].into_iter());
        let got: Vec<&[u32]> = (0..5).map(|r| lists.get(r)).collect();
        assert_eq!(got, vec![&[][..], &[4], &[], &[2, 7], &[]]);
        assert_eq!(lists.rows_with_ids().collect::<Vec<_>>(), [1, 3]);
        // Ids mapped in place keep their rows and their order within a row.
        let mut lists = lists;
        lists.map_ids(|i| 10 - i);
        let got: Vec<&[u32]> = (0..5).map(|r| lists.get(r)).collect();
        assert_eq!(got, vec![&[][..], &[6], &[], &[8, 3], &[]]);
    }

    /// A calendar of `n` months from January 2023 in `tz`, as-of the last microsecond of the
    /// last.
    fn calendar(tz: Tz, n: usize) -> Calendar {
        let jan = Period {
            first: NaiveDate::from_ymd_opt(2023, 1, 1).unwrap(),
            months: 1,
        };
        let last = Period {
            first: add_months(jan.first, n as i32 - 1),
            months: 1,
        };
        let as_of = last.end_utc(tz) - chrono::TimeDelta::microseconds(1);
        let cal = Calendar::spanning(jan, as_of, tz);
        assert_eq!(cal.months.len(), n);
        cal
    }

    #[test]
    fn the_month_index_expression_agrees_with_the_calendar() {
        // Zones with daylight saving (New York: 1 h; Lord Howe: 30 min), a half-hour offset
        // (Kolkata), UTC; a leap February (2024). Times every 37 minutes from a day before the
        // calendar to a day after it, and each month start and the microsecond before it.
        for tz in [
            chrono_tz::UTC,
            chrono_tz::America::New_York,
            chrono_tz::Australia::Lord_Howe,
            chrono_tz::Asia::Kolkata,
        ] {
            let cal = calendar(tz, 48);
            let end = cal.end(cal.months.len() - 1);
            let (lo, hi) = (cal.starts[0] - 86_400_000_000, end + 86_400_000_000);
            let mut t: Vec<i64> = (lo..hi).step_by(37 * 60_000_000).collect();
            t.extend(cal.starts.iter().flat_map(|&s| [s - 1, s]));
            t.extend([cal.as_of, end]);
            let all: Vec<usize> = (0..cal.months.len()).collect();
            let some: Vec<usize> = (13..27).collect();
            let t_utc = || col("t").cast(utc_type());
            let df = df!("t" => t.clone())
                .unwrap()
                .lazy()
                .select([
                    cal.index_expr(t_utc(), &all).alias("all"),
                    cal.index_expr(t_utc(), &some).alias("some"),
                ])
                .collect()
                .unwrap();
            // Outside the months asked for: the index before the first or after the last.
            let inside = |v: Option<i64>, m: &[usize]| {
                let (a, b) = (m[0] as i64, m[m.len() - 1] as i64);
                assert!(v.is_some_and(|v| v >= a - 1 && v <= b + 1), "{v:?}");
                v.filter(|&v| v >= a && v <= b)
            };
            let got = |c: &str, m: &[usize]| -> Vec<Option<i64>> {
                df.column(c)
                    .unwrap()
                    .i64()
                    .unwrap()
                    .iter()
                    .map(|v| inside(v, m))
                    .collect()
            };
            let (got_all, got_some) = (got("all", &all), got("some", &some));
            for (k, &t) in t.iter().enumerate() {
                // Calendar::index has no upper bound; the expression stops at the last month's end.
                let want = cal.index(t).filter(|_| t < end).map(|i| i as i64);
                assert_eq!(got_all[k], want, "{tz} t={t}");
                let want = want.filter(|&i| (13..27).contains(&(i as usize)));
                assert_eq!(got_some[k], want, "{tz} t={t}");
            }
        }
    }

    #[test]
    fn the_customer_lookup_finds_every_row_in_any_order() {
        // Sorted ids (a binary search) and the same ids out of order (a hash map): a walk in key
        // order with gaps and repeats, then out of order, then unknown ids.
        let walk = [
            "C1", "C1", "C2", "C5", "C5", "C3", "C1", "C4", "C2", "C9", "C3", "C0",
        ];
        for order in [["C1", "C2", "C3", "C5"], ["C3", "C1", "C5", "C2"]] {
            let ids: Vec<PlSmallStr> = order.map(PlSmallStr::from_str).into();
            let index = CustomerIndex::new(&ids);
            assert_eq!(
                matches!(index, CustomerIndex::Sorted { .. }),
                order[0] == "C1",
                "{order:?}"
            );
            let mut find = lookup(&ids, &index);
            let got: Vec<Option<usize>> = walk.iter().map(|c| find.row(c)).collect();
            let want: Vec<Option<usize>> = walk
                .iter()
                .map(|c| order.iter().position(|o| o == c))
                .collect();
            assert_eq!(got, want, "{order:?}");
        }
        // A repeated id: the map, and its last row.
        let ids: Vec<PlSmallStr> = ["C1", "C2", "C2", "C3"].map(PlSmallStr::from_str).into();
        let index = CustomerIndex::new(&ids);
        assert!(matches!(index, CustomerIndex::Hashed(_)));
        assert_eq!(index.get(|k| ids[k].as_str(), ids.len(), "C2"), Some(2));
        // A walk over that list gives the same rows as the map, not the first of a repeat.
        let mut find = lookup(&ids, &index);
        let got: Vec<Option<usize>> = ["C1", "C2", "C2", "C3", "C2"]
            .iter()
            .map(|c| find.row(c))
            .collect();
        assert_eq!(got, [Some(0), Some(2), Some(2), Some(3), Some(2)]);
        // Every id of a longer sorted list at its row; ids between and around them absent.
        let ids: Vec<PlSmallStr> = (0..1000)
            .map(|i| PlSmallStr::from_string(format!("CUST-{:04}", 2 * i)))
            .collect();
        let index = CustomerIndex::new(&ids);
        assert!(matches!(index, CustomerIndex::Sorted { .. }));
        let get = |id: &str| index.get(|k| ids[k].as_str(), ids.len(), id);
        for i in 0..1000 {
            assert_eq!(get(&format!("CUST-{:04}", 2 * i)), Some(i));
            assert_eq!(get(&format!("CUST-{:04}", 2 * i + 1)), None);
        }
        assert_eq!(get("A"), None);
        assert_eq!(get("CUST-"), None);
        assert_eq!(get("Z"), None);
        // A walk in key order with gaps shorter and longer than the look-ahead (row i skipped
        // unless i % 13 < 4 or i % 29 == 0), absent ids between them, then going back.
        let mut find = lookup(&ids, &index);
        for i in (0..1000).filter(|i| i % 13 < 4 || i % 29 == 0) {
            assert_eq!(find.row(&format!("CUST-{:04}", 2 * i)), Some(i));
            assert_eq!(find.row(&format!("CUST-{:04}", 2 * i + 1)), None);
        }
        assert_eq!(find.row("CUST-0000"), Some(0));
        assert_eq!(find.row("CUST-1000"), Some(500));
        // Many ids in no order, repeated and unknown, found at once: each at its row.
        let asked: Vec<PlSmallStr> = (0..3000u32)
            .map(|k| PlSmallStr::from_string(format!("CUST-{:04}", (k * 7919) % 2100)))
            .collect();
        let want: Vec<Option<u32>> = (0..3000u32)
            .map(|k| {
                let n = (k * 7919) % 2100;
                (n % 2 == 0 && n < 2000).then_some(n / 2)
            })
            .collect();
        assert_eq!(lookup(&ids, &index).rows_of(&asked), want);
        let shuffled: Vec<PlSmallStr> = ["C3", "C1", "C5", "C2"].map(PlSmallStr::from_str).into();
        let hashed = CustomerIndex::new(&shuffled);
        let asked: Vec<PlSmallStr> = ["C5", "C9", "C1", "C5"].map(PlSmallStr::from_str).into();
        assert_eq!(
            lookup(&shuffled, &hashed).rows_of(&asked),
            [Some(2), None, Some(1), Some(2)]
        );
    }
}
