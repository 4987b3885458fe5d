//! Customer-facing tables built from exposure groups, so their size grows with incidents plus
//! customers, never with incidents × customers: groups and their assets, each asset's exposed
//! customers and ARR, each incident's reach in customers and ARR, customers named by incidents,
//! availability per month, one row per customer for a period, churn events with the incidents
//! that reached the customer in the 90 days before.
//!
//! The incident × customer tables of earlier versions (`customer_incidents`, `customer_months`,
//! `customer_outages`) are still built here for ad-hoc SQL, on demand only: their size is the
//! fan-out, which no canned query reads. So is `asset_customers` over every asset; blast-radius
//! reads it for one asset.

use super::base::{Calendar, Customers, Incident, Incidents};
use super::exposure::{Exposure, Reach, Tally};
use super::frames::{frame, ints, strs, text};
use super::intervals::{Segment, merge_max};
use super::tables::segments_frame;
use super::{MIN, Window};
use crate::error::Result;
use polars::prelude::*;
use std::collections::BTreeMap;

pub(crate) const DAY: i64 = 86_400_000_000;

pub(crate) fn customer_groups(cu: &Customers) -> Result<DataFrame> {
    frame(
        vec![
            Column::new(
                "customer_id".into(),
                cu.list.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
            ),
            Column::new(
                "group_id".into(),
                cu.list.iter().map(|c| c.group as i64).collect::<Vec<_>>(),
            ),
        ],
        &[],
    )
}

pub(crate) fn group_assets(cu: &Customers) -> Result<DataFrame> {
    let (mut g, mut a) = (vec![], vec![]);
    for (i, grp) in cu.groups.iter().enumerate() {
        for asset in &grp.assets {
            g.push(i as i64);
            a.push(asset.as_str());
        }
    }
    frame(
        vec![
            Column::new("group_id".into(), g),
            Column::new("asset_id".into(), a),
        ],
        &[],
    )
}

/// Per asset: the customers whose closure holds it (churned or not) and their ARR.
pub(crate) fn asset_exposure(cu: &Customers) -> Result<DataFrame> {
    let by = &cu.exposed;
    frame(
        vec![
            Column::new(
                "asset_id".into(),
                by.keys().map(String::as_str).collect::<Vec<_>>(),
            ),
            Column::new(
                "customers_exposed".into(),
                by.values().map(|v| v.0 as i64).collect::<Vec<_>>(),
            ),
            Column::new(
                "arr_exposed".into(),
                by.values().map(|v| v.1).collect::<Vec<_>>(),
            ),
        ],
        &[],
    )
}

/// One row per incident with an impact: who it reached, in customers and ARR.
pub(crate) fn incident_reach(
    inc: &Incidents,
    cu: &Customers,
    ex: &Exposure,
    cal: &Calendar,
    window: Option<Window>,
) -> Result<DataFrame> {
    // Only the incidents started in the window, the rows every query reading the table keeps
    // (its period's end is clipped to as-of as the window's is): at 10 M incidents the whole
    // history's rows took 3.5 s for a year's invest-next-dollar.
    let mut cols = IncidentCols::default();
    let (mut named, mut n, mut arr) = (vec![], vec![], vec![]);
    for (x, r) in inc.list.iter().zip(ex.reach()) {
        if x.impact == inc.none || window.is_some_and(|w| !w.contains(x.started)) {
            continue;
        }
        let (is_named, count, a) = match r {
            Reach::Nobody => (false, 0, 0.0),
            Reach::Broad(a) => {
                let (c, v) = ex.exposed[a as usize];
                (false, c as i64, v)
            }
            Reach::Named(hit) => (
                true,
                hit.len() as i64,
                hit.iter().map(|&c| cu.list[c as usize].arr).sum(),
            ),
        };
        cols.push(inc, x, cal);
        named.push(is_named);
        n.push(count);
        arr.push(a);
    }
    let mut columns = cols.columns(cal);
    columns.extend([
        Column::new("names_customers".into(), named),
        Column::new("customers_reached".into(), n),
        Column::new("arr_reached".into(), arr),
    ]);
    frame(columns, &["started_at"])
}

/// The incident columns `incident_reach` and `customer_incidents` share.
#[derive(Default)]
struct IncidentCols<'a> {
    id: Vec<&'a str>,
    asset: Vec<Option<&'a str>>,
    sev: Vec<&'a str>,
    imp: Vec<&'a str>,
    start: Vec<i64>,
    /// Index into the calendar's months (its label is written once per month, not per row).
    month: Vec<Option<u32>>,
    down: Vec<f64>,
    open: Vec<bool>,
}

impl<'a> IncidentCols<'a> {
    fn push(&mut self, inc: &'a Incidents, x: &'a Incident, cal: &Calendar) {
        self.id.push(inc.id(x));
        self.asset.push(inc.asset_name(x));
        self.sev.push(inc.severity(x));
        self.imp.push(inc.impact(x));
        self.start.push(x.started);
        self.month.push(cal.index(x.started).map(|i| i as u32));
        self.down.push(inc.downtime(x));
        self.open.push(x.open);
    }

    fn columns(self, cal: &Calendar) -> Vec<Column> {
        let labels: Vec<String> = cal.months.iter().map(|p| p.label()).collect();
        vec![
            Column::new("incident_id".into(), self.id),
            Column::new("asset_id".into(), self.asset),
            Column::new("severity".into(), self.sev),
            Column::new("impact".into(), self.imp),
            Column::new("started_at".into(), self.start),
            text(
                "month",
                self.month
                    .iter()
                    .map(|i| i.map(|i| labels[i as usize].as_str())),
            ),
            Column::new("downtime_minutes".into(), self.down),
            Column::new("is_open".into(), self.open),
        ]
    }
}

/// One row per (incident with an impact, customer it names); `exposed`: whether the incident's
/// asset is in the customer's closure anyway.
pub(crate) fn incident_named_customers(
    inc: &Incidents,
    cu: &Customers,
    ex: &Exposure,
) -> Result<DataFrame> {
    let (mut id, mut cid, mut exposed) = (vec![], vec![], vec![]);
    for (x, r) in inc.list.iter().zip(ex.reach()) {
        let Reach::Named(hit) = r else { continue };
        if x.impact == inc.none {
            continue;
        }
        for &c in hit {
            let g = cu.list[c as usize].group as usize;
            id.push(inc.id(x));
            cid.push(cu.list[c as usize].id.as_str());
            exposed.push(x.asset.is_some_and(|a| ex.group_assets[g].contains(&a)));
        }
    }
    frame(
        vec![
            Column::new("incident_id".into(), id),
            Column::new("customer_id".into(), cid),
            Column::new("exposed".into(), exposed),
        ],
        &[],
    )
}

/// A customer's active span: from their first day (or the calendar's start) to full churn or
/// as-of.
fn active(cu: &Customers, c: usize, cal: &Calendar) -> (i64, i64) {
    let cust = &cu.list[c];
    let churn = cu.churn_start(cust, cal.tz).unwrap_or(i64::MAX);
    let first = cal.starts.first().copied().unwrap_or(i64::MIN);
    (
        cust.since.unwrap_or(i64::MIN).max(first),
        churn.min(cal.as_of),
    )
}

/// Per customer and month while they are a customer: (month index, minutes, downtime).
fn customer_month_rows(
    ex: &Exposure,
    cu: &Customers,
    cal: &Calendar,
    each: impl FnMut(usize, usize, f64, f64),
) {
    customer_month_rows_of(ex, cu, cal, 0..cu.list.len(), each)
}

/// [`customer_month_rows`] for the customers numbered `customers`, in order.
fn customer_month_rows_of(
    ex: &Exposure,
    cu: &Customers,
    cal: &Calendar,
    customers: std::ops::Range<usize>,
    mut each: impl FnMut(usize, usize, f64, f64),
) {
    let n = cal.months.len();
    let ends: Vec<i64> = (0..n).map(|i| cal.end(i)).collect();
    // A group's downtime in a whole month is the same for each of its customers (at 10 M
    // incidents 4.5 M customers share 6 k groups): computed on first use, by group and month
    // (NaN: not yet), unless the table would be large.
    let memo = cu.groups.len().saturating_mul(n) <= 1 << 24;
    let mut whole = vec![f64::NAN; if memo { cu.groups.len() * n } else { 0 }];
    for c in customers {
        let (since, until) = active(cu, c, cal);
        let first = cal.index(since).unwrap_or(0);
        let g = cu.list[c].group as usize;
        let excess = ex.excess.get(&(c as u32));
        for i in first..n {
            let from = cal.starts[i].max(since);
            let to = ends[i].min(until);
            if to <= from {
                if cal.starts[i] >= until {
                    break;
                }
                continue;
            }
            let m = (to - from) as f64 / MIN as f64;
            // As Exposure::customer_downtime: the group's, plus the named incidents' excess.
            let group = if memo && from == cal.starts[i] && to == ends[i] {
                let w = &mut whole[g * n + i];
                if w.is_nan() {
                    *w = ex.group_downtime(g, from, to);
                }
                *w
            } else {
                ex.group_downtime(g, from, to)
            };
            each(c, i, m, group + excess.map_or(0.0, |t| t.within(from, to)));
        }
    }
}

/// Per month: customer-months, their mean availability, summed downtime and minutes. The
/// customers are walked in two halves side by side (each with its own memo of whole group
/// months), and each month's sums are the first half's plus the second's: at 10 M incidents
/// this is 80 M customer-months, 2.2–2.6 s of one core on the report's path.
pub(crate) fn availability_months(
    ex: &Exposure,
    cu: &Customers,
    cal: &Calendar,
) -> Result<DataFrame> {
    let n = cal.months.len();
    let sums = |customers: std::ops::Range<usize>| {
        let (mut count, mut avail, mut down, mut mins) = (
            vec![0i64; n],
            vec![0.0f64; n],
            vec![0.0f64; n],
            vec![0.0f64; n],
        );
        customer_month_rows_of(ex, cu, cal, customers, |_, i, m, dm| {
            count[i] += 1;
            avail[i] += 100.0 * (1.0 - dm / m);
            down[i] += dm;
            mins[i] += m;
        });
        (count, avail, down, mins)
    };
    let ((mut count, mut avail, mut down, mut mins), (count_b, avail_b, down_b, mins_b)) =
        super::halves(cu.list.len(), sums);
    for i in 0..n {
        count[i] += count_b[i];
        avail[i] += avail_b[i];
        down[i] += down_b[i];
        mins[i] += mins_b[i];
    }
    let keep: Vec<usize> = (0..n).filter(|&i| count[i] > 0).collect();
    frame(
        vec![
            Column::new(
                "month".into(),
                keep.iter()
                    .map(|&i| cal.months[i].label())
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "customer_months".into(),
                keep.iter().map(|&i| count[i]).collect::<Vec<_>>(),
            ),
            Column::new(
                "availability_sum".into(),
                keep.iter().map(|&i| avail[i]).collect::<Vec<_>>(),
            ),
            Column::new(
                "availability_pct".into(),
                keep.iter()
                    .map(|&i| avail[i] / count[i] as f64)
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "downtime_minutes".into(),
                keep.iter().map(|&i| down[i]).collect::<Vec<_>>(),
            ),
            Column::new(
                "minutes".into(),
                keep.iter().map(|&i| mins[i]).collect::<Vec<_>>(),
            ),
        ],
        &[],
    )
}

/// The tally of incidents reaching customer `c` started in `[from, to)`; group parts cached.
fn customer_tally(
    inc: &Incidents,
    cu: &Customers,
    ex: &Exposure,
    c: usize,
    from: i64,
    to: i64,
    cache: Option<&mut [Option<Tally>]>,
) -> Tally {
    let g = cu.list[c].group as usize;
    let group = || group_tally(ex, g, |a| ex.lines[a as usize].tally(from, to));
    let t = match cache {
        Some(cache) => *cache[g].get_or_insert_with(group),
        None => group(),
    };
    named_tally(inc, ex, c, from, to, t)
}

/// The tally of the broad incidents on group `g`'s assets, `of` giving each asset's, summed in
/// the group's asset order: the same for every customer of the group.
fn group_tally(ex: &Exposure, g: usize, mut of: impl FnMut(u32) -> Tally) -> Tally {
    let mut t = Tally::default();
    for &a in &ex.group_assets[g] {
        t += of(a);
    }
    t
}

/// `t` plus the incidents (with an impact) that name customer `c`, started in `[from, to)`.
fn named_tally(
    inc: &Incidents,
    ex: &Exposure,
    c: usize,
    from: i64,
    to: i64,
    mut t: Tally,
) -> Tally {
    for i in ex.named_in(c, from, to) {
        let x = &inc.list[i as usize];
        if x.impact == inc.none {
            continue;
        }
        t += Tally {
            incidents: 1,
            sev1_sev2: matches!(inc.severity(x), "sev1" | "sev2") as u64,
            open: x.open as u64,
            downtime: inc.downtime(x),
        };
    }
    t
}

/// `customer_period`'s columns for a range of customers.
struct PeriodRows {
    mins: Vec<Option<f64>>,
    down: Vec<Option<f64>>,
    avail: Vec<Option<f64>>,
    incs: Vec<i64>,
    sev: Vec<i64>,
    open: Vec<i64>,
    i90: Vec<i64>,
    d90: Vec<f64>,
}

impl PeriodRows {
    /// Room for `n` customers' rows: each column sized once, never grown by copying (with
    /// freed memory kept, see `memory.rs`, a grown block that cannot extend in place is
    /// copied).
    fn with_capacity(n: usize) -> Self {
        PeriodRows {
            mins: Vec::with_capacity(n),
            down: Vec::with_capacity(n),
            avail: Vec::with_capacity(n),
            incs: Vec::with_capacity(n),
            sev: Vec::with_capacity(n),
            open: Vec::with_capacity(n),
            i90: Vec::with_capacity(n),
            d90: Vec::with_capacity(n),
        }
    }

    /// Add the rows of the customers after these.
    fn append(&mut self, mut o: PeriodRows) {
        self.mins.append(&mut o.mins);
        self.down.append(&mut o.down);
        self.avail.append(&mut o.avail);
        self.incs.append(&mut o.incs);
        self.sev.append(&mut o.sev);
        self.open.append(&mut o.open);
        self.i90.append(&mut o.i90);
        self.d90.append(&mut o.d90);
    }
}

/// One row per customer for the query's period: availability over the months of the period,
/// incidents that reached them in it, open incidents reaching them, and the incidents and
/// downtime of the 90 days before the period's end.
pub(crate) fn customer_period(
    inc: &Incidents,
    cu: &Customers,
    ex: &Exposure,
    cal: &Calendar,
    w: Window,
) -> Result<DataFrame> {
    // Each customer's row depends on it alone (the group sums are memos): two halves of the
    // customers, one per core, each with its own memos.
    let rows = |customers: std::ops::Range<usize>| {
        // Room for the rows of these customers and of every one after them: the second
        // half's rows are appended to the first's.
        let mut r = PeriodRows::with_capacity(cu.list.len() - customers.start);
        let g = cu.groups.len();
        let (mut in_period, mut all_time, mut last90) =
            (vec![None; g], vec![None; g], vec![None; g]);
        for c in customers {
            let (since, until) = active(cu, c, cal);
            let (from, to) = (w.start.max(since), w.end.min(until));
            if to > from {
                let m = (to - from) as f64 / MIN as f64;
                let dm = ex.customer_downtime(cu, c, from, to);
                r.mins.push(Some(m));
                r.down.push(Some(dm));
                r.avail.push(Some(100.0 * (1.0 - dm / m)));
            } else {
                r.mins.push(None);
                r.down.push(None);
                r.avail.push(None);
            }
            let t = customer_tally(inc, cu, ex, c, w.start, w.end, Some(&mut in_period));
            r.incs.push(t.incidents as i64);
            r.sev.push(t.sev1_sev2 as i64);
            let all = customer_tally(inc, cu, ex, c, i64::MIN, i64::MAX, Some(&mut all_time));
            r.open.push(all.open as i64);
            let t = customer_tally(inc, cu, ex, c, w.end - 90 * DAY, w.end, Some(&mut last90));
            r.i90.push(t.incidents as i64);
            r.d90.push(t.downtime);
        }
        r
    };
    let (mut rows, rest) = super::halves(cu.list.len(), rows);
    rows.append(rest);
    let PeriodRows {
        mins,
        down,
        avail,
        incs,
        sev,
        open,
        i90,
        d90,
    } = rows;
    frame(
        vec![
            Column::new(
                "customer_id".into(),
                cu.list.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
            ),
            Column::new("minutes".into(), mins),
            Column::new("downtime_minutes".into(), down),
            Column::new("availability_pct".into(), avail),
            Column::new("incidents".into(), incs),
            Column::new("sev1_sev2".into(), sev),
            Column::new("open_incidents".into(), open),
            Column::new("incidents_90d_to_end".into(), i90),
            Column::new("downtime_90d_to_end".into(), d90),
        ],
        &[],
    )
}

/// One row per churn event: the incidents (with an impact) that reached the customer in the 90
/// days before the churn date (midnight UTC), and their downtime.
pub(crate) fn churn_exposure(
    churn: &DataFrame,
    inc: &Incidents,
    cu: &Customers,
    ex: &Exposure,
) -> Result<DataFrame> {
    let ids = strs(churn, "customer_id")?;
    let days = ints(churn, "churned_at")?;
    let (mut n, mut d) = (vec![], vec![]);
    // Each asset's tally per churn day (see `churn_exposure_assets`).
    let mut by_asset_day: PlHashMap<(u32, i64), Tally> = PlHashMap::default();
    // Churn is kept in customer order: a walk.
    let mut find = cu.lookup();
    for (c, day) in ids.iter().zip(&days) {
        let hit = c.as_ref().and_then(|c| find.row(c.as_str())).zip(*day);
        let t = match hit {
            Some((c, day)) => {
                let (from, end) = (day * DAY - 90 * DAY, day * DAY);
                let group = group_tally(ex, cu.list[c].group as usize, |a| {
                    *by_asset_day
                        .entry((a, day))
                        .or_insert_with(|| ex.lines[a as usize].tally(from, end))
                });
                named_tally(inc, ex, c, from, end, group)
            }
            None => Tally::default(),
        };
        n.push(t.incidents as i64);
        d.push(t.downtime);
    }
    let mut df = churn.clone();
    df.with_column(Column::new("incidents_90d".into(), n))
        .map_err(crate::error::Error::polars("model"))?;
    df.with_column(Column::new("downtime_90d_min".into(), d))
        .map_err(crate::error::Error::polars("model"))?;
    Ok(df)
}

/// Per churn event, every asset whose incidents (with downtime) reached the customer in the 90
/// days before the churn date.
pub(crate) fn churn_exposure_assets(
    churn: &DataFrame,
    inc: &Incidents,
    cu: &Customers,
    ex: &Exposure,
) -> Result<DataFrame> {
    let ids = strs(churn, "customer_id")?;
    let days = ints(churn, "churned_at")?;
    let (mut cid, mut day_col, mut asset) = (vec![], vec![], vec![]);
    // Whether an asset had downtime in the 90 days, per (asset, day): the same for every event of
    // that day. At 10 M incidents a year of churn (831 k events, invest-next-dollar for 2026)
    // asked each of up to 40 assets two binary searches over its 250 k incident starts per event;
    // each (asset, day) now asks them once.
    let mut by_asset_day: PlHashMap<(u32, i64), bool> = PlHashMap::default();
    // Churn is kept in customer order: a walk.
    let mut find = cu.lookup();
    for (c, day) in ids.iter().zip(&days) {
        let Some((ci, day)) = c.as_ref().and_then(|c| find.row(c.as_str())).zip(*day) else {
            continue;
        };
        let (from, end) = (day * DAY - 90 * DAY, day * DAY);
        let g = cu.list[ci].group as usize;
        let mut hit: Vec<&str> = ex.group_assets[g]
            .iter()
            .copied()
            .filter(|&a| {
                *by_asset_day
                    .entry((a, day))
                    .or_insert_with(|| ex.lines[a as usize].any_downtime(from, end))
            })
            .map(|a| inc.assets.name(a))
            .collect();
        for i in ex.named_in(ci, from, end) {
            let x = &inc.list[i as usize];
            if x.impact != inc.none && inc.downtime(x) > 0.0 {
                if let Some(a) = inc.asset_name(x) {
                    hit.push(a);
                }
            }
        }
        hit.sort_unstable();
        hit.dedup();
        for a in hit {
            cid.push(cu.list[ci].id.as_str());
            day_col.push(day as i32);
            asset.push(a);
        }
    }
    let days = Column::new("churned_at".into(), day_col)
        .cast(&DataType::Date)
        .map_err(crate::error::Error::polars("model"))?;
    frame(
        vec![
            Column::new("customer_id".into(), cid),
            days,
            Column::new("asset_id".into(), asset),
        ],
        &[],
    )
}

// ---- Fan-out tables for ad-hoc SQL (incident × customer, customer × month, ...). ----

/// Customer indexes per group.
fn members(cu: &Customers) -> Vec<Vec<usize>> {
    let mut m = vec![Vec::new(); cu.groups.len()];
    for (i, c) in cu.list.iter().enumerate() {
        m[c.group as usize].push(i);
    }
    m
}

/// Asset × customer whose closure holds it (churned or not, in customer order): `direct` when
/// the customer uses the asset itself, `active` when not fully churned by as-of. Every asset
/// any exposure group holds; with `only`, that asset's rows alone: one walk over the
/// customers, the blast radius of a change to it without a table of every asset's.
pub(crate) fn asset_customers(cu: &Customers, only: Option<&str>) -> Result<DataFrame> {
    let mut by: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    match only {
        Some(asset) => {
            let list: Vec<usize> = (cu.reached_by(asset).into_iter().enumerate())
                .filter_map(|(i, r)| r.then_some(i))
                .collect();
            if !list.is_empty() {
                by.insert(asset, list);
            }
        }
        None => {
            let members = members(cu);
            for (g, grp) in cu.groups.iter().enumerate() {
                for a in &grp.assets {
                    by.entry(a).or_default().extend(&members[g]);
                }
            }
        }
    }
    let rows: usize = by.values().map(Vec::len).sum();
    let (mut a, mut c) = (Vec::with_capacity(rows), Vec::with_capacity(rows));
    let (mut direct, mut active) = (Vec::with_capacity(rows), Vec::with_capacity(rows));
    for (asset, mut list) in by {
        list.sort_unstable();
        for i in list {
            a.push(asset);
            c.push(cu.list[i].id.as_str());
            direct.push(cu.uses_directly(i, asset));
            active.push(cu.list[i].churned.is_none());
        }
    }
    frame(
        vec![
            Column::new("asset_id".into(), a),
            Column::new("customer_id".into(), c),
            Column::new("direct".into(), direct),
            Column::new("active".into(), active),
        ],
        &[],
    )
}

/// Customer indexes an incident reaches, in customer order.
fn reached(r: Reach, by_asset: &[Vec<usize>]) -> Vec<usize> {
    let mut out = match r {
        Reach::Nobody => vec![],
        Reach::Broad(a) => by_asset[a as usize].clone(),
        Reach::Named(hit) => hit.iter().map(|&c| c as usize).collect(),
    };
    out.sort_unstable();
    out
}

/// Per incident asset id: the customers exposed to it.
fn exposed_customers(cu: &Customers, ex: &Exposure) -> Vec<Vec<usize>> {
    let members = members(cu);
    let mut by = vec![Vec::new(); ex.lines.len()];
    for (g, assets) in ex.group_assets.iter().enumerate() {
        for &a in assets {
            by[a as usize].extend(&members[g]);
        }
    }
    by
}

pub(crate) fn customer_incidents(
    inc: &Incidents,
    cu: &Customers,
    ex: &Exposure,
    cal: &Calendar,
) -> Result<DataFrame> {
    let by_asset = exposed_customers(cu, ex);
    let mut cid = vec![];
    let mut cols = IncidentCols::default();
    for (x, r) in inc.list.iter().zip(ex.reach()) {
        if x.impact == inc.none {
            continue;
        }
        for c in reached(r, &by_asset) {
            cid.push(cu.list[c].id.as_str());
            cols.push(inc, x, cal);
        }
    }
    let mut columns = vec![Column::new("customer_id".into(), cid)];
    columns.extend(cols.columns(cal));
    frame(columns, &["started_at"])
}

/// Merged downtime per customer: their group's, with the incidents naming them merged in.
pub(crate) fn customer_outages(
    inc: &Incidents,
    cu: &Customers,
    ex: &Exposure,
    cal: &Calendar,
) -> Result<DataFrame> {
    let mut rows: Vec<(String, Segment)> = Vec::new();
    for (c, cust) in cu.list.iter().enumerate() {
        let g = cust.group as usize;
        let (first, end) = (cal.starts.first().copied().unwrap_or(i64::MIN), cal.as_of);
        let mut segs = ex.local_group(g, first.min(end), end);
        let list = ex.named.get(c);
        if !list.is_empty() {
            segs.extend(
                list.iter()
                    .flat_map(|&i| inc.pieces(&inc.list[i as usize]).iter().copied()),
            );
            segs = merge_max(&segs);
        }
        rows.extend(segs.into_iter().map(|s| (cust.id.to_string(), s)));
    }
    segments_frame("customer_id", rows, cal)
}

pub(crate) fn customer_months(ex: &Exposure, cu: &Customers, cal: &Calendar) -> Result<DataFrame> {
    let (mut cid, mut month, mut mins, mut down, mut avail) =
        (vec![], vec![], vec![], vec![], vec![]);
    customer_month_rows(ex, cu, cal, |c, i, m, dm| {
        cid.push(cu.list[c].id.to_string());
        month.push(cal.months[i].label());
        mins.push(m);
        down.push(dm);
        avail.push(100.0 * (1.0 - dm / m));
    });
    frame(
        vec![
            Column::new("customer_id".into(), cid),
            Column::new("month".into(), month),
            Column::new("minutes".into(), mins),
            Column::new("downtime_minutes".into(), down),
            Column::new("availability_pct".into(), avail),
        ],
        &[],
    )
}
