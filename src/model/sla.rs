//! SLA periods: for every SLA and calendar period (month or quarter in the reporting zone),
//! attainment against target, breach, credit from the tiers, the period's fee and the credit
//! amount, and the error budget. Availability SLAs measure customer downtime; time SLAs measure
//! each in-scope incident's time to acknowledge or resolve.
//!
//! Built over exposure groups: the downtime of an SLA's assets is merged once per distinct set
//! of assets, and the time-SLA verdicts of broad incidents once per (asset set, severities,
//! metric, target, window); a customer named by incidents adds only those incidents. A query
//! with a period gets only the SLA periods that overlap it; `sla_current` holds each SLA's
//! latest period.

use super::base::Incident;
use super::base::{Customers, DayStarts, Incidents};
use super::exposure::{Exposure, Timeline, excess_over, set_timeline};
use super::frames::{float_col, frame, int_col, text, text_list_rows, texts};
use super::intervals::{Segment, merge_max};
use super::mrr;
use super::{Calendar, MIN, Window};
use crate::error::Result;
use crate::query::period::{Period, add_months};
use chrono::{DateTime, Datelike, NaiveDate};
use polars::prelude::*;
use std::borrow::Cow;
use std::collections::BTreeSet;

/// Credit % for an attainment: the largest credit among tiers whose threshold it falls below.
pub fn credit_pct(tiers: &str, attainment: f64) -> f64 {
    tiers
        .split(';')
        .filter_map(|t| t.split_once(':'))
        .filter_map(|(th, c)| {
            Some((
                th.trim().parse::<f64>().ok()?,
                c.trim().parse::<f64>().ok()?,
            ))
        })
        .filter(|(th, _)| attainment < *th)
        .map(|(_, c)| c)
        .fold(0.0, f64::max)
}

/// Which SLA periods to build.
#[derive(Clone, Copy)]
pub(crate) enum Which {
    /// Every period.
    All,
    /// Periods overlapping the window.
    Overlapping(Window),
    /// Each SLA's latest period (the one running at as-of, or its last).
    Latest,
}

/// What to build beside the periods.
#[derive(Clone, Copy, Default)]
pub(crate) struct Extras {
    /// `sla_incidents`: one row per time SLA period and in-scope incident.
    pub incidents: bool,
    /// `sla_credit_assets`: credits of breached availability periods split by asset.
    pub credit_assets: bool,
    /// `sla_credit_by_asset`: the same credits summed per asset and period start.
    pub credit_by_asset: bool,
}

pub(crate) struct Built {
    pub periods: DataFrame,
    pub incidents: Option<DataFrame>,
    pub credit_assets: Option<DataFrame>,
    pub credit_by_asset: Option<DataFrame>,
}

/// The SLA period rows, their text borrowed from the SLAs and the customer list (at 10 M
/// incidents there are 1.8 M rows a quarter, and a `String` per cell was a quarter of the
/// pass); `period` indexes the labels of [`Bounds`].
#[derive(Default)]
struct Cols<'a> {
    sla: Vec<&'a str>,
    customer: Vec<&'a str>,
    asset: Vec<Option<&'a str>>,
    metric: Vec<&'a str>,
    period_kind: Vec<&'static str>,
    period: Vec<u32>,
    start: Vec<i64>,
    end: Vec<i64>,
    complete: Vec<bool>,
    minutes: Vec<Option<f64>>,
    downtime: Vec<Option<f64>>,
    target: Vec<f64>,
    attainment: Vec<f64>,
    met: Vec<bool>,
    credit_pct: Vec<f64>,
    fee: Vec<f64>,
    credit: Vec<f64>,
    budget: Vec<Option<f64>>,
    budget_used: Vec<Option<f64>>,
    budget_left: Vec<Option<f64>>,
    in_scope: Vec<Option<i64>>,
    breached_n: Vec<Option<i64>>,
}

impl Cols<'_> {
    fn with_capacity(n: usize) -> Self {
        Cols {
            sla: Vec::with_capacity(n),
            customer: Vec::with_capacity(n),
            asset: Vec::with_capacity(n),
            metric: Vec::with_capacity(n),
            period_kind: Vec::with_capacity(n),
            period: Vec::with_capacity(n),
            start: Vec::with_capacity(n),
            end: Vec::with_capacity(n),
            complete: Vec::with_capacity(n),
            minutes: Vec::with_capacity(n),
            downtime: Vec::with_capacity(n),
            target: Vec::with_capacity(n),
            attainment: Vec::with_capacity(n),
            met: Vec::with_capacity(n),
            credit_pct: Vec::with_capacity(n),
            fee: Vec::with_capacity(n),
            credit: Vec::with_capacity(n),
            budget: Vec::with_capacity(n),
            budget_used: Vec::with_capacity(n),
            budget_left: Vec::with_capacity(n),
            in_scope: Vec::with_capacity(n),
            breached_n: Vec::with_capacity(n),
        }
    }
}

#[derive(Default)]
struct IncCols {
    sla: Vec<String>,
    customer: Vec<String>,
    incident: Vec<String>,
    metric: Vec<String>,
    period: Vec<String>,
    severity: Vec<String>,
    target: Vec<f64>,
    actual: Vec<f64>,
    met: Vec<bool>,
    open: Vec<bool>,
}

#[derive(Default)]
struct ShareCols {
    /// Sum per (asset, period start) instead of rows.
    sum: bool,
    sums: CreditSums,
    sla: Vec<String>,
    customer: Vec<String>,
    start: Vec<i64>,
    asset: Vec<String>,
    down: Vec<f64>,
    share: Vec<f64>,
}

/// Whose downtime an availability SLA measures.
#[derive(Clone, Copy)]
enum Base<'a> {
    Group(usize),
    Set(&'a Timeline),
}

impl Base<'_> {
    fn within(&self, ex: &Exposure, from: i64, to: i64) -> f64 {
        match self {
            Base::Group(g) => ex.group_downtime(*g, from, to),
            Base::Set(t) => t.within(from, to),
        }
    }
}

/// The aligned period (of `months_per` months) containing instant `t`.
fn period_at(t: i64, months_per: u32, cal: &Calendar) -> Period {
    let first = Period::month_of(
        DateTime::from_timestamp_micros(t).expect("valid instant"),
        cal.tz,
    )
    .first;
    Period {
        first: NaiveDate::from_ymd_opt(
            first.year(),
            (first.month0() / months_per) * months_per + 1,
            1,
        )
        .expect("valid"),
        months: months_per,
    }
}

/// The time an incident took against a time SLA metric, and whether it is still running.
fn actual_minutes(metric: &str, x: &Incident, as_of: i64) -> (f64, bool) {
    let (t0, t1) = if metric == "time_to_acknowledge" {
        (
            x.detected().unwrap_or(x.started),
            x.acked().or(x.resolved()),
        )
    } else {
        (x.started, x.resolved())
    };
    (
        (t1.unwrap_or(as_of) - t0).max(0) as f64 / MIN as f64,
        t1.is_none(),
    )
}

/// Running counts over an asset's broad incidents (by start) of those in a time SLA's scope and
/// of those breaching its target (`[0] = 0`).
struct Verdicts {
    scoped: Vec<u32>,
    breached: Vec<u32>,
}

impl Verdicts {
    /// From (in scope, breached) per incident, in the line's order.
    fn new(each: impl ExactSizeIterator<Item = (bool, bool)>) -> Self {
        let mut v = Verdicts {
            scoped: Vec::with_capacity(each.len() + 1),
            breached: Vec::with_capacity(each.len() + 1),
        };
        let (mut n, mut bad) = (0u32, 0u32);
        v.scoped.push(n);
        v.breached.push(bad);
        for (scoped, breached) in each {
            n += scoped as u32;
            bad += breached as u32;
            v.scoped.push(n);
            v.breached.push(bad);
        }
        v
    }

    /// (in scope, breached) among the incidents `[a, b)` of the line.
    fn within(&self, (a, b): (usize, usize)) -> (i64, i64) {
        (
            (self.scoped[b] - self.scoped[a]) as i64,
            (self.breached[b] - self.breached[a]) as i64,
        )
    }
}

/// Periods' bounds (UTC) and labels, and local days' starts, each computed once per pass
/// (time zone conversions are dear; SLAs share a few thousand start and end days).
struct Bounds<'c> {
    cal: &'c Calendar,
    /// Period → (start, end, index into `labels`).
    periods: PlHashMap<Period, (i64, i64, u32)>,
    labels: Vec<String>,
    days: DayStarts,
}

impl<'c> Bounds<'c> {
    fn new(cal: &'c Calendar) -> Self {
        Bounds {
            cal,
            periods: PlHashMap::default(),
            labels: Vec::new(),
            days: DayStarts::new(cal.tz),
        }
    }

    /// The period's start and end (UTC microseconds) and its label's index.
    fn period(&mut self, per: Period) -> (i64, i64, u32) {
        let (cal, labels) = (self.cal, &mut self.labels);
        *self.periods.entry(per).or_insert_with(|| {
            labels.push(per.label());
            (
                per.start_utc(cal.tz).timestamp_micros(),
                per.end_utc(cal.tz).timestamp_micros(),
                labels.len() as u32 - 1,
            )
        })
    }

    /// [`day_start`](super::base::day_start) of a day since the epoch in the calendar's zone.
    fn day(&mut self, d: i64) -> i64 {
        self.days.get(d)
    }
}

/// The SLA rows of a run, with what every SLA pass looks up the same way: read and resolved
/// once per run (a report makes four passes over 3.5 M SLAs at 10 M incidents).
pub(crate) struct Terms {
    /// Every column of the SLAs, in lake order.
    slas: DataFrame,
    /// Each row's customer (position in [`Customers::list`]); `None`: no id, or not a customer
    /// the lake knows.
    customer: Vec<Option<u32>>,
    /// Each row's severity filter, an index into `filters`.
    sev_of: Vec<u32>,
    /// Severity filters: `None` (every severity) for a null or empty list, else the incident
    /// severity labels the list names, sorted (a name no incident carries matches none). SLAs
    /// share a handful.
    filters: Vec<Option<Vec<u32>>>,
}

impl Terms {
    pub fn new(slas: DataFrame, inc: &Incidents, cu: &Customers) -> Result<Terms> {
        // SLAs are kept by id, which most exports (and the generator) prefix with the customer's:
        // a walk in customer order.
        let mut find = cu.lookup();
        let customer = texts(&slas, "customer_id")?
            .iter()
            .map(|c| c.and_then(|c| find.row(c)).map(|ci| ci as u32))
            .collect();
        let lists = slas
            .column("severities")
            .and_then(|c| c.list().cloned())
            .map_err(crate::error::Error::polars("model: column severities"))?;
        let mut filters: Vec<Option<Vec<u32>>> = vec![None];
        let mut known: PlHashMap<Vec<u32>, u32> = PlHashMap::default();
        let mut buf: Vec<u32> = Vec::new();
        let mut sev_of = Vec::with_capacity(lists.len());
        for names in text_list_rows(&lists) {
            let mut named = false;
            buf.clear();
            for name in names.iter().flat_map(|n| n.iter().flatten()) {
                named = true;
                buf.extend(inc.labels.get(name));
            }
            if !named {
                sev_of.push(0);
                continue;
            }
            buf.sort_unstable();
            let k = match known.get(buf.as_slice()) {
                Some(&k) => k,
                None => {
                    filters.push(Some(buf.clone()));
                    known.insert(buf.clone(), filters.len() as u32 - 1);
                    filters.len() as u32 - 1
                }
            };
            sev_of.push(k);
        }
        Ok(Terms {
            slas,
            customer,
            sev_of,
            filters,
        })
    }
}

/// One SLA pass: what it reads and what it builds ([`build`]).
#[derive(Clone, Copy)]
pub(crate) struct Pass<'a> {
    pub terms: &'a Terms,
    pub mrr: &'a mrr::MonthlyMrr<'a>,
    pub inc: &'a Incidents,
    pub cu: &'a Customers,
    pub ex: &'a Exposure,
    pub cal: &'a Calendar,
    pub which: Which,
    pub extras: Extras,
    /// Just the SLAs of the customers it marks (by position in [`Customers::list`]).
    pub only: Option<&'a [bool]>,
}

/// The SLA periods `which` asks for, and the `extras`; with `only`, just the SLAs of the
/// customers it marks.
///
/// The SLAs are walked in two halves side by side (at 10 M incidents 3.5 M SLAs, 3.3–3.6 s of
/// one core on the executive report's first step), each with its own memos (a group's
/// downtime in a window, an asset's verdicts), which only save recomputing a figure that is
/// the same whichever half asks; each table is the first half's rows followed by the
/// second's, the rows and order of one walk. The credit split by asset is each half's sums per
/// (asset, period start) added together.
pub(crate) fn build(pass: Pass) -> Result<Built> {
    let n = pass.terms.slas.height();
    let (first, second) = super::halves(n, |rows| build_rows(pass, rows));
    let ((mut built, mut sums), (second, second_sums)) = (first?, second?);
    let append = |a: &mut DataFrame, b: &DataFrame| {
        a.vstack_mut(b)
            .map(drop)
            .map_err(crate::error::Error::polars("model: the SLA pass's halves"))
    };
    append(&mut built.periods, &second.periods)?;
    if let (Some(a), Some(b)) = (built.incidents.as_mut(), second.incidents.as_ref()) {
        append(a, b)?;
    }
    if let (Some(a), Some(b)) = (built.credit_assets.as_mut(), second.credit_assets.as_ref()) {
        append(a, b)?;
    }
    if pass.extras.credit_by_asset {
        for (key, (share, periods)) in second_sums {
            let e = sums.entry(key).or_default();
            e.0 += share;
            e.1 += periods;
        }
        built.credit_by_asset = Some(credit_by_asset(sums, pass.inc)?);
    }
    Ok(built)
}

/// Credit shares summed per (asset, period start), in asset id and start order.
fn credit_by_asset(sums: CreditSums, inc: &Incidents) -> Result<DataFrame> {
    let mut sums: Vec<((u32, i64), (f64, u64))> = sums.into_iter().collect();
    sums.sort_by(|a, b| (inc.assets.name(a.0.0), a.0.1).cmp(&(inc.assets.name(b.0.0), b.0.1)));
    frame(
        vec![
            Column::new(
                "asset_id".into(),
                sums.iter()
                    .map(|((a, _), _)| inc.assets.name(*a))
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "period_start".into(),
                sums.iter().map(|((_, ps), _)| *ps).collect::<Vec<_>>(),
            ),
            Column::new(
                "credit_share".into(),
                sums.iter().map(|(_, (v, _))| *v).collect::<Vec<_>>(),
            ),
            Column::new(
                "credited_periods".into(),
                sums.iter().map(|(_, (_, n))| *n as i64).collect::<Vec<_>>(),
            ),
        ],
        &["period_start"],
    )
}

/// Credit shares and credited periods per (asset, period start).
type CreditSums = PlHashMap<(u32, i64), (f64, u64)>;

/// [`build`] over the SLAs numbered `range`, in one walk; the credit split by asset as its
/// sums (with [`Extras::credit_by_asset`]), for [`build`] to add up and make the table of.
fn build_rows(pass: Pass, range: std::ops::Range<usize>) -> Result<(Built, CreditSums)> {
    let (terms, mrr, inc, cu, ex, cal) =
        (pass.terms, pass.mrr, pass.inc, pass.cu, pass.ex, pass.cal);
    let (which, extras, only) = (pass.which, pass.extras, pass.only);
    // Columns read in place, row by row, not copied into vectors: at 10 M incidents there
    // are 3.5 M SLAs, and each pass over them fresh memory to fill. Only the range's rows (a
    // slice shares the columns): the date columns' casts below copy just those, and the walk
    // starts at the range instead of stepping every column through the rows before it.
    let slas = &terms.slas.slice(range.start as i64, range.len());
    let column = |name: &str| texts(slas, name);
    let (ids, asset, metric, period, tiers) = (
        column("sla_id")?,
        column("asset_id")?,
        column("metric")?,
        column("period")?,
        column("credit_tiers")?,
    );
    let target = float_col(slas, "target")?;
    let from = int_col(slas, "valid_from")?;
    let to = int_col(slas, "valid_to")?;
    let credits_only = extras.credit_assets || extras.credit_by_asset;

    // Rows: one per SLA at most for its latest period or a calendar month, two for a window
    // of up to 31 days across a month's end (the report's and most queries' are months);
    // one per SLA reserved up front, as the 22 columns' growth copied every row again at each
    // doubling (0.5 s of a pass over 3.5 M SLAs at 10 M incidents; a wider window still
    // grows). Capacity left unused is never touched, so costs no memory.
    let one_each = match which {
        Which::Latest => true,
        Which::Overlapping(w) => w.end - w.start <= 31 * 24 * 60 * MIN,
        Which::All => false,
    };
    let mut p = if one_each && only.is_none() && !credits_only {
        Cols::with_capacity(range.len())
    } else {
        Cols::default()
    };
    let mut si = IncCols::default();
    let mut sh = ShareCols::default();
    // Merged downtime of broad incidents per asset set (SLAs scoped to an asset).
    let mut set_tl: PlHashMap<Vec<u32>, Timeline> = PlHashMap::default();
    // (asset, severities, metric, target) -> running counts over the asset's broad incidents
    // (by start) of those in scope and of those breaching the target: any window's counts are
    // two binary searches. Severity filters by their number.
    type VerdictKey = (u32, usize, bool, u64);
    let mut verdicts: PlHashMap<VerdictKey, Verdicts> = PlHashMap::default();
    let mut closures: PlHashMap<String, BTreeSet<String>> = PlHashMap::default();
    let mut bounds = Bounds::new(cal);
    // Downtime of an asset in a period (the same for every customer exposed to it).
    let mut tallies: PlHashMap<(u32, i64, i64), f64> = PlHashMap::default();
    // Downtime of a group's assets in a window, and a time SLA's (in scope, breached) counts
    // over them: the same for every customer of the group, computed once per window and terms.
    let mut group_down: PlHashMap<(u32, i64, i64), f64> = PlHashMap::default();
    type CountKey = (u32, usize, bool, u64, i64, i64);
    let mut group_counts: PlHashMap<CountKey, (i64, i64)> = PlHashMap::default();
    sh.sum = extras.credit_by_asset;

    // The columns walked in step (a lookup by row number searched for the row's chunk in each
    // of eight columns: 0.9 s of a pass).
    let rows = (ids
        .iter()
        .zip(asset.iter())
        .zip(metric.iter())
        .zip(period.iter()))
    .zip(
        tiers
            .iter()
            .zip(target.iter())
            .zip(from.iter())
            .zip(to.iter()),
    );
    for (k, ((((sla_id, asset_r), metric_r), period_r), (((tiers_r, target_r), from_r), to_r))) in
        rows.enumerate()
    {
        // The SLA's number among all of them, for the per-SLA lookups of the terms.
        let r = range.start + k;
        let (Some(ci), Some(m), Some(tgt)) = (terms.customer[r], metric_r, target_r) else {
            continue;
        };
        if credits_only && m != "availability" {
            continue;
        }
        let ci = ci as usize;
        if only.is_some_and(|keep| !keep[ci]) {
            continue;
        }
        let c = &cu.list[ci];
        let g = c.group as usize;
        let months_per = if period_r == Some("quarter") { 3 } else { 1 };
        let valid_start = [
            from_r.map(|d| bounds.day(d)),
            c.since,
            cal.starts.first().copied(),
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(cal.as_of);
        let valid_end = [
            to_r.map(|d| bounds.day(d + 1)),
            c.churned.map(|d| bounds.day(d)),
            Some(cal.as_of),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(cal.as_of);
        if valid_end <= valid_start {
            continue;
        }
        let (mut per, stop) = match which {
            Which::All => (period_at(valid_start, months_per, cal), valid_end),
            Which::Overlapping(w) => {
                let a = period_at(valid_start, months_per, cal);
                let b = period_at(w.start.max(valid_start), months_per, cal);
                (if b.first > a.first { b } else { a }, valid_end.min(w.end))
            }
            Which::Latest => (period_at(valid_end - 1, months_per, cal), valid_end),
        };
        // Nothing of it in the window: skip before the SLA's scope is worked out.
        if bounds.period(per).0 >= stop {
            continue;
        }
        // The SLA's scope: every asset whose failure reaches the named asset.
        if let Some(a) = asset_r
            && !closures.contains_key(a)
        {
            closures.insert(a.to_string(), cu.closure(a));
        }
        let scope: Option<&BTreeSet<String>> = asset_r.map(|a| &closures[a]);
        let in_scope = |a: Option<u32>| match (scope, a) {
            (None, _) => true,
            (Some(s), Some(a)) => s.contains(inc.assets.name(a)),
            (Some(_), None) => false,
        };
        // Without a scope, every asset of the group and every incident naming the customer:
        // borrowed, not copied per SLA.
        let (assets, named): (Cow<[u32]>, Cow<[u32]>) = if scope.is_none() {
            (
                Cow::Borrowed(ex.group_assets[g].as_slice()),
                Cow::Borrowed(ex.named.get(ci)),
            )
        } else {
            let assets = (ex.group_assets[g].iter().copied())
                .filter(|&a| in_scope(Some(a)))
                .collect();
            let named = (ex.named.get(ci).iter().copied())
                .filter(|&i| in_scope(inc.list[i as usize].asset))
                .collect();
            (Cow::Owned(assets), Cow::Owned(named))
        };
        // Severities in scope (None: all).
        let sev_key = terms.sev_of[r] as usize;
        let sev_filter = &terms.filters[sev_key];
        let sev_ok = |x: &Incident| sev_filter.as_ref().is_none_or(|v| v.contains(&x.severity));
        // Availability: the downtime the SLA's assets cause this customer: their group's (or,
        // for an SLA scoped to an asset, that of the scoped assets), plus the excess of the
        // incidents naming them.
        let avail: Option<(Base, Cow<Timeline>)> = if m == "availability" {
            let base = if scope.is_none() {
                Base::Group(g)
            } else {
                Base::Set(
                    set_tl
                        .entry(assets.to_vec())
                        .or_insert_with(|| set_timeline(&ex.lines, &assets)),
                )
            };
            let extra = if named.is_empty() {
                Cow::Owned(Timeline::default())
            } else if scope.is_none() {
                ex.excess
                    .get(&(ci as u32))
                    .map_or_else(|| Cow::Owned(Timeline::default()), Cow::Borrowed)
            } else {
                let pieces: Vec<Segment> = named
                    .iter()
                    .flat_map(|&i| inc.pieces(&inc.list[i as usize]).iter().copied())
                    .collect();
                let Base::Set(tl) = base else { unreachable!() };
                Cow::Owned(excess_over(tl, &merge_max(&pieces)))
            };
            Some((base, extra))
        } else {
            None
        };
        let tiers_r = tiers_r.unwrap_or_default();
        let sla_id = sla_id.unwrap_or_default();
        loop {
            let (ps, pe, label) = bounds.period(per);
            if ps >= stop {
                break;
            }
            let (ws, we) = (ps.max(valid_start), pe.min(valid_end));
            if we > ws {
                let fee: f64 = {
                    let known: Vec<f64> = (0..per.months as i32)
                        .filter_map(|k| mrr.get(ci, mrr::month_no(add_months(per.first, k))))
                        .collect();
                    if known.is_empty() {
                        c.arr / 12.0 * per.months as f64
                    } else {
                        known.iter().sum()
                    }
                };
                let (attain, minutes, down, budget, n_scope, breached_n);
                if let Some((base, extra)) = &avail {
                    let mins = (we - ws) as f64 / MIN as f64;
                    let broad = match base {
                        Base::Group(g) => *group_down
                            .entry((*g as u32, ws, we))
                            .or_insert_with(|| base.within(ex, ws, we)),
                        Base::Set(_) => base.within(ex, ws, we),
                    };
                    let d = broad + extra.within(ws, we);
                    attain = 100.0 * (1.0 - d / mins);
                    minutes = Some(mins);
                    down = Some(d);
                    budget = Some((1.0 - tgt / 100.0) * mins);
                    n_scope = None;
                    breached_n = None;
                } else {
                    let ack = m == "time_to_acknowledge";
                    let judge = |i: u32, si: &mut IncCols, rows: bool| -> bool {
                        let x = &inc.list[i as usize];
                        let (actual, open) = actual_minutes(m, x, cal.as_of);
                        let ok = actual <= tgt;
                        if rows {
                            si.sla.push(sla_id.to_string());
                            si.customer.push(c.id.to_string());
                            si.incident.push(inc.id(x).to_string());
                            si.metric.push(m.to_string());
                            si.period.push(bounds.labels[label as usize].clone());
                            si.severity.push(inc.severity(x).to_string());
                            si.target.push(tgt);
                            si.actual.push(actual);
                            si.met.push(ok);
                            si.open.push(open);
                        }
                        ok
                    };
                    // Broad incidents of one of the SLA's assets, started in the window, in
                    // scope, each with its row: (in scope, breached).
                    let broad = |a: u32, si: &mut IncCols| {
                        let (mut n, mut bad) = (0i64, 0i64);
                        for &i in ex.lines[a as usize].started_in(ws, we) {
                            if sev_ok(&inc.list[i as usize]) {
                                n += 1;
                                bad += !judge(i, si, true) as i64;
                            }
                        }
                        (n, bad)
                    };
                    // Over the SLA's assets: with rows, each broad incident judged; without,
                    // each asset's running counts, shared by every SLA with the same
                    // severities, metric and target.
                    let mut over_assets = |si: &mut IncCols| {
                        let (mut n, mut bad) = (0i64, 0i64);
                        for &a in assets.iter() {
                            let (an, ab) = if extras.incidents {
                                broad(a, si)
                            } else {
                                let line = &ex.lines[a as usize];
                                verdicts
                                    .entry((a, sev_key, ack, tgt.to_bits()))
                                    .or_insert_with(|| {
                                        let mut no_rows = IncCols::default();
                                        Verdicts::new(line.incidents.iter().map(|&i| {
                                            let scoped = sev_ok(&inc.list[i as usize]);
                                            (scoped, scoped && !judge(i, &mut no_rows, false))
                                        }))
                                    })
                                    .within(line.bounds(ws, we))
                            };
                            n += an;
                            bad += ab;
                        }
                        (n, bad)
                    };
                    // Without rows and without a scope, the SLA's assets are its group's: the
                    // counts are the same for every customer of the group with the same terms
                    // and window.
                    let (mut n, mut bad) = if !extras.incidents && scope.is_none() {
                        let key = (g as u32, sev_key, ack, tgt.to_bits(), ws, we);
                        match group_counts.get(&key) {
                            Some(&counts) => counts,
                            None => {
                                let counts = over_assets(&mut si);
                                group_counts.insert(key, counts);
                                counts
                            }
                        }
                    } else {
                        over_assets(&mut si)
                    };
                    for &i in named.iter() {
                        let x = &inc.list[i as usize];
                        if x.started < ws || x.started >= we || !sev_ok(x) {
                            continue;
                        }
                        n += 1;
                        bad += !judge(i, &mut si, extras.incidents) as i64;
                    }
                    attain = if n == 0 {
                        100.0
                    } else {
                        100.0 * (n - bad) as f64 / n as f64
                    };
                    minutes = None;
                    down = None;
                    budget = None;
                    n_scope = Some(n);
                    breached_n = Some(bad);
                }
                let met = if avail.is_some() {
                    attain >= tgt
                } else {
                    breached_n == Some(0)
                };
                let cp = if met {
                    0.0
                } else {
                    credit_pct(tiers_r, attain)
                };
                let credit = (fee * cp).round() / 100.0;
                if credits_only && avail.is_some() && credit > 0.0 {
                    let span = Span { ps, pe, credit };
                    credit_shares(inc, cu, ex, ci, span, sla_id, &mut tallies, &mut sh);
                }
                // Only the credit split was asked for: no period rows.
                if credits_only {
                    per = Period {
                        first: add_months(per.first, months_per as i32),
                        months: months_per,
                    };
                    continue;
                }
                p.sla.push(sla_id);
                p.customer.push(c.id.as_str());
                p.asset.push(asset_r);
                p.metric.push(m);
                p.period_kind
                    .push(if months_per == 3 { "quarter" } else { "month" });
                p.period.push(label);
                p.start.push(ps);
                p.end.push(pe);
                p.complete.push(pe <= cal.as_of);
                p.minutes.push(minutes);
                p.downtime.push(down);
                p.target.push(tgt);
                p.attainment.push(attain);
                p.met.push(met);
                p.credit_pct.push(cp);
                p.fee.push((fee * 100.0).round() / 100.0);
                p.credit.push(credit);
                p.budget.push(budget);
                p.budget_used.push(
                    budget
                        .zip(down)
                        .map(|(b, d)| if b > 0.0 { 100.0 * d / b } else { 0.0 }),
                );
                p.budget_left.push(budget.zip(down).map(|(b, d)| b - d));
                p.in_scope.push(n_scope);
                p.breached_n.push(breached_n);
            }
            per = Period {
                first: add_months(per.first, months_per as i32),
                months: months_per,
            };
        }
    }
    let periods = frame(
        vec![
            Column::new("sla_id".into(), p.sla),
            Column::new("customer_id".into(), p.customer),
            Column::new("asset_id".into(), p.asset),
            Column::new("metric".into(), p.metric),
            Column::new("period_kind".into(), p.period_kind),
            text(
                "period",
                p.period.iter().map(|&i| bounds.labels[i as usize].as_str()),
            ),
            Column::new("period_start".into(), p.start),
            Column::new("period_end".into(), p.end),
            Column::new("complete".into(), p.complete),
            Column::new("minutes_in_period".into(), p.minutes),
            Column::new("downtime_minutes".into(), p.downtime),
            Column::new("target".into(), p.target),
            Column::new("attainment_pct".into(), p.attainment),
            Column::new("met".into(), p.met.clone()),
            Column::new(
                "breached".into(),
                p.met.iter().map(|m| !m).collect::<Vec<_>>(),
            ),
            Column::new("credit_pct".into(), p.credit_pct),
            Column::new("period_fee".into(), p.fee),
            Column::new("credit_amount".into(), p.credit),
            Column::new("error_budget_minutes".into(), p.budget),
            Column::new("error_budget_used_pct".into(), p.budget_used),
            Column::new("error_budget_remaining_minutes".into(), p.budget_left),
            Column::new("incidents_in_scope".into(), p.in_scope),
            Column::new("incidents_breached".into(), p.breached_n),
        ],
        &["period_start", "period_end"],
    )?;
    let incidents = extras
        .incidents
        .then(|| {
            frame(
                vec![
                    Column::new("sla_id".into(), si.sla),
                    Column::new("customer_id".into(), si.customer),
                    Column::new("incident_id".into(), si.incident),
                    Column::new("metric".into(), si.metric),
                    Column::new("period".into(), si.period),
                    Column::new("severity".into(), si.severity),
                    Column::new("target_minutes".into(), si.target),
                    Column::new("actual_minutes".into(), si.actual),
                    Column::new("met".into(), si.met),
                    Column::new("is_open".into(), si.open),
                ],
                &[],
            )
        })
        .transpose()?;
    let credit_assets = extras
        .credit_assets
        .then(|| {
            frame(
                vec![
                    Column::new("sla_id".into(), sh.sla),
                    Column::new("customer_id".into(), sh.customer),
                    Column::new("period_start".into(), sh.start),
                    Column::new("asset_id".into(), sh.asset),
                    Column::new("asset_downtime_minutes".into(), sh.down),
                    Column::new("credit_share".into(), sh.share),
                ],
                &["period_start"],
            )
        })
        .transpose()?;
    Ok((
        Built {
            periods,
            incidents,
            credit_assets,
            credit_by_asset: None,
        },
        sh.sums,
    ))
}

/// Split a credited SLA period's credit between assets by their share of the downtime of the
/// incidents that reached the customer and started in the period (incidents without an asset
/// count in the total but get no share).
#[allow(clippy::too_many_arguments)]
/// A breached period and its credit.
struct Span {
    ps: i64,
    pe: i64,
    credit: f64,
}

#[allow(clippy::too_many_arguments)]
fn credit_shares(
    inc: &Incidents,
    cu: &Customers,
    ex: &Exposure,
    ci: usize,
    Span { ps, pe, credit }: Span,
    sla_id: &str,
    tallies: &mut PlHashMap<(u32, i64, i64), f64>,
    out: &mut ShareCols,
) {
    let g = cu.list[ci].group as usize;
    let mut by: Vec<(Option<u32>, f64)> = ex.group_assets[g]
        .iter()
        .map(|&a| {
            let d = *tallies
                .entry((a, ps, pe))
                .or_insert_with(|| ex.lines[a as usize].tally(ps, pe).downtime);
            (Some(a), d)
        })
        .collect();
    for i in ex.named_in(ci, ps, pe) {
        let x = &inc.list[i as usize];
        if x.impact == inc.none {
            continue;
        }
        match by.iter_mut().find(|(a, _)| *a == x.asset) {
            Some(e) => e.1 += inc.downtime(x),
            None => by.push((x.asset, inc.downtime(x))),
        }
    }
    let total: f64 = by.iter().map(|(_, d)| d).sum();
    if total <= 0.0 {
        return;
    }
    if out.sum {
        for (a, d) in by.iter().filter(|(_, d)| *d > 0.0) {
            if let Some(a) = a {
                let e = out.sums.entry((*a, ps)).or_default();
                e.0 += credit * d / total;
                e.1 += 1;
            }
        }
        return;
    }
    let mut rows: Vec<(&str, f64)> = by
        .iter()
        .filter(|(_, d)| *d > 0.0)
        .filter_map(|(a, d)| a.map(|a| (inc.assets.name(a), *d)))
        .collect();
    rows.sort_by(|a, b| a.0.cmp(b.0));
    for (a, d) in rows {
        out.sla.push(sla_id.to_string());
        out.customer.push(cu.list[ci].id.to_string());
        out.start.push(ps);
        out.asset.push(a.to_string());
        out.down.push(d);
        out.share.push(credit * d / total);
    }
}

#[cfg(test)]
mod tests {
    use super::credit_pct;

    #[test]
    fn credit_is_the_largest_tier_fallen_below() {
        let t = "99.95:10;99.9:25;99:50";
        assert_eq!(credit_pct(t, 99.99), 0.0);
        assert_eq!(credit_pct(t, 99.95), 0.0); // at the threshold is not below it
        assert_eq!(credit_pct(t, 99.92), 10.0);
        assert_eq!(credit_pct(t, 99.5), 25.0);
        assert_eq!(credit_pct(t, 90.0), 50.0);
        assert_eq!(credit_pct("", 10.0), 0.0);
    }
}
