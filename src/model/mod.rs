//! The derived model: tables computed from the lake at run time and registered beside the raw
//! datasets so canned SQL stays simple. Every figure's definition lives here or in the SQL of
//! `queries/`, and is written down in `docs/metrics.md`.
//!
//! Tables: `months`, `incident_timings`, `outages`, `downtime_all`, `asset_customers`, `customer_incidents`,
//! `customer_outages`, `customer_months`, `customer_status`, `sla_periods`, `sla_incidents`,
//! `change_outcomes`, `mrr_movements`, `incident_trend`. Pure: frames in, frames out.

mod frames;
pub mod intervals;
mod sla;
pub mod trend;

use crate::error::Result;
use crate::graph::DependencyGraph;
use crate::query::period::{Period, add_months, local_midnight};
use crate::schema::DatasetKind;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;
use frames::{floats, frame, ints, lists, strs};
use intervals::{Segment, merge_max, split_at, subtract};
use polars::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

const MIN: i64 = 60_000_000;

/// How partial outages count towards downtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Policy {
    /// Outage and partial outage both count as fully down (the default).
    #[default]
    Strict,
    /// Partial outages count 0.3 of their duration, as status pages do; a full outage
    /// overlapping a partial one counts fully.
    Weighted,
    /// Only full outages count.
    MajorOnly,
}

impl Policy {
    pub fn name(self) -> &'static str {
        match self {
            Policy::Strict => "strict",
            Policy::Weighted => "weighted",
            Policy::MajorOnly => "major_only",
        }
    }

    /// Downtime weight of an incident's impact.
    pub fn weight(self, impact: &str) -> f64 {
        match (self, impact) {
            (_, "outage") => 1.0,
            (Policy::Strict, "partial") => 1.0,
            (Policy::Weighted, "partial") => 0.3,
            _ => 0.0,
        }
    }
}

impl FromStr for Policy {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "strict" => Ok(Policy::Strict),
            "weighted" => Ok(Policy::Weighted),
            "major_only" => Ok(Policy::MajorOnly),
            other => Err(format!(
                "unknown availability policy `{other}`; use strict, weighted or major_only"
            )),
        }
    }
}

/// Inputs of a model build.
pub struct ModelInput<'a> {
    pub data: &'a BTreeMap<DatasetKind, DataFrame>,
    pub as_of: DateTime<Utc>,
    pub tz: Tz,
    pub policy: Policy,
    /// Months of the incident trend window (ending with the last full month).
    pub trend_months: u32,
}

pub(crate) struct Incident {
    pub id: String,
    pub asset: Option<String>,
    pub severity: String,
    pub impact: String,
    pub open: bool,
    pub customers: Vec<String>,
    pub started: i64,
    pub detected: Option<i64>,
    pub acked: Option<i64>,
    pub notice: Option<i64>,
    pub mitigated: Option<i64>,
    pub resolved: Option<i64>,
    pub caused_by: Option<String>,
    /// Downtime pieces (maintenance cut out, weighted by policy, clipped to as-of).
    pub pieces: Vec<Segment>,
}

pub(crate) struct Customer {
    pub id: String,
    pub arr: f64,
    pub since: Option<i64>,
    /// Every asset whose failure reaches the customer.
    pub closure: BTreeSet<String>,
    pub direct: BTreeSet<String>,
    /// Day (days since epoch) of full churn, if any.
    pub churned: Option<i64>,
}

/// The calendar of reporting months.
pub(crate) struct Calendar {
    pub months: Vec<Period>,
    pub starts: Vec<i64>,
    pub as_of: i64,
    pub tz: Tz,
}

impl Calendar {
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
    pub fn end(&self, i: usize) -> i64 {
        self.starts
            .get(i + 1)
            .copied()
            .unwrap_or_else(|| self.months[i].end_utc(self.tz).timestamp_micros())
    }
}

/// Build every derived table. Returns (name, frame) pairs.
pub fn build(input: &ModelInput<'_>) -> Result<Vec<(&'static str, DataFrame)>> {
    let d = |k: DatasetKind| &input.data[&k];
    let as_of = input.as_of.timestamp_micros();
    let policy = input.policy;

    // Calendar: from the earliest month with data to the month containing as-of.
    let mut earliest: Option<i64> = None;
    for (k, c) in [
        (DatasetKind::Incidents, "started_at"),
        (DatasetKind::Changes, "started_at"),
    ] {
        earliest = ints(d(k), c)?.into_iter().flatten().chain(earliest).min();
    }
    for (k, c) in [
        (DatasetKind::Revenue, "month"),
        (DatasetKind::Churn, "churned_at"),
    ] {
        let days = ints(d(k), c)?.into_iter().flatten().min();
        if let Some(day) = days {
            let date =
                NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch") + chrono::Duration::days(day);
            let t = local_midnight(date, input.tz).timestamp_micros();
            earliest = Some(earliest.map_or(t, |e| e.min(t)));
        }
    }
    let first = Period::month_of(
        DateTime::from_timestamp_micros(earliest.unwrap_or(as_of))
            .unwrap_or(input.as_of)
            .min(input.as_of),
        input.tz,
    );
    let last = Period::month_of(input.as_of, input.tz);
    let mut months = Vec::new();
    let mut m = first;
    while m.first <= last.first {
        months.push(m);
        m = Period {
            first: add_months(m.first, 1),
            months: 1,
        };
    }
    let cal = Calendar {
        starts: months
            .iter()
            .map(|p| p.start_utc(input.tz).timestamp_micros())
            .collect(),
        months,
        as_of,
        tz: input.tz,
    };

    // Maintenance windows per asset.
    let mw = d(DatasetKind::Maintenance);
    let mut maintenance: BTreeMap<String, Vec<(i64, i64)>> = BTreeMap::new();
    for ((a, s), e) in strs(mw, "asset_id")?
        .into_iter()
        .zip(ints(mw, "starts_at")?)
        .zip(ints(mw, "ends_at")?)
    {
        if let (Some(a), Some(s), Some(e)) = (a, s, e) {
            maintenance.entry(a).or_default().push((s, e));
        }
    }

    // Incidents with their downtime pieces.
    let inc = d(DatasetKind::Incidents);
    let mut incidents = Vec::with_capacity(inc.height());
    {
        let ids = strs(inc, "incident_id")?;
        let assets = strs(inc, "asset_id")?;
        let sev = strs(inc, "severity")?;
        let impact = strs(inc, "impact")?;
        let status = strs(inc, "status")?;
        let custs = lists(inc, "customer_ids")?;
        let started = ints(inc, "started_at")?;
        let detected = ints(inc, "detected_at")?;
        let acked = ints(inc, "acknowledged_at")?;
        let notice = ints(inc, "first_customer_notice_at")?;
        let mitigated = ints(inc, "mitigated_at")?;
        let resolved = ints(inc, "resolved_at")?;
        let caused_by = strs(inc, "caused_by_change_id")?;
        for i in 0..inc.height() {
            let Some(start) = started[i] else { continue };
            if start > as_of {
                continue;
            }
            let resolved_i = resolved[i].filter(|r| *r <= as_of);
            let open = resolved_i.is_none()
                && status[i].as_deref() != Some("closed")
                && status[i].as_deref() != Some("resolved")
                || resolved[i].is_some_and(|r| r > as_of);
            let impact_i = impact[i].clone().unwrap_or_else(|| "none".into());
            let end = mitigated[i].or(resolved[i]).unwrap_or(as_of).min(as_of);
            let w = policy.weight(&impact_i);
            let mut pieces = if w > 0.0 && end > start {
                vec![Segment::new(start, end, w)]
            } else {
                Vec::new()
            };
            if let Some(holes) = assets[i].as_ref().and_then(|a| maintenance.get(a)) {
                pieces = subtract(&pieces, holes);
            }
            incidents.push(Incident {
                id: ids[i].clone().unwrap_or_default(),
                asset: assets[i].clone(),
                severity: sev[i].clone().unwrap_or_default(),
                impact: impact_i,
                open,
                customers: custs[i].clone(),
                started: start,
                detected: detected[i],
                acked: acked[i].filter(|t| *t <= as_of),
                notice: notice[i].filter(|t| *t <= as_of),
                mitigated: mitigated[i].filter(|t| *t <= as_of),
                resolved: resolved_i,
                caused_by: caused_by[i].clone(),
                pieces,
            });
        }
    }

    // Assets, dependency closure, customers.
    let assets_df = d(DatasetKind::Assets);
    let mut graph = DependencyGraph::new();
    for (a, deps) in strs(assets_df, "asset_id")?
        .into_iter()
        .zip(lists(assets_df, "depends_on")?)
    {
        graph.add(&a.unwrap_or_default(), deps);
    }
    let mut closure_of: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut closure = |a: &str| -> BTreeSet<String> {
        closure_of
            .entry(a.to_string())
            .or_insert_with(|| {
                let mut s = graph.needs(a);
                s.insert(a.to_string());
                s
            })
            .clone()
    };
    let ca = d(DatasetKind::CustomerAssets);
    let mut uses: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (c, a) in strs(ca, "customer_id")?
        .into_iter()
        .zip(strs(ca, "asset_id")?)
    {
        if let (Some(c), Some(a)) = (c, a) {
            uses.entry(c).or_default().insert(a);
        }
    }
    let churn = d(DatasetKind::Churn);
    let mut full_churn: BTreeMap<String, i64> = BTreeMap::new();
    let as_of_day = input.as_of.date_naive().num_days_from_ce() as i64 - 719_163;
    for ((c, day), kind) in strs(churn, "customer_id")?
        .into_iter()
        .zip(ints(churn, "churned_at")?)
        .zip(strs(churn, "kind")?)
    {
        if let (Some(c), Some(day)) = (c, day) {
            if kind.as_deref() != Some("downgrade") && day <= as_of_day {
                let e = full_churn.entry(c).or_insert(day);
                *e = (*e).min(day);
            }
        }
    }
    let cust = d(DatasetKind::Customers);
    let mut customers = Vec::new();
    for ((id, arr), since) in strs(cust, "customer_id")?
        .into_iter()
        .zip(floats(cust, "arr")?)
        .zip(ints(cust, "since")?)
    {
        let id = id.unwrap_or_default();
        let direct = uses.get(&id).cloned().unwrap_or_default();
        let mut cl = BTreeSet::new();
        for a in &direct {
            cl.extend(closure(a));
        }
        let since = since.map(|day| {
            let date =
                NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch") + chrono::Duration::days(day);
            local_midnight(date, input.tz).timestamp_micros()
        });
        customers.push(Customer {
            churned: full_churn.get(&id).copied(),
            id,
            arr: arr.unwrap_or(0.0),
            since,
            closure: cl,
            direct,
        });
    }

    // Who each incident reaches.
    let mut reach: Vec<Vec<usize>> = Vec::with_capacity(incidents.len());
    let cust_index: BTreeMap<&str, usize> = customers
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id.as_str(), i))
        .collect();
    for inc in &incidents {
        let hit: Vec<usize> = if !inc.customers.is_empty() {
            inc.customers
                .iter()
                .filter_map(|c| cust_index.get(c.as_str()).copied())
                .collect()
        } else if let Some(a) = &inc.asset {
            customers
                .iter()
                .enumerate()
                .filter(|(_, c)| c.closure.contains(a))
                .map(|(i, _)| i)
                .collect()
        } else {
            Vec::new()
        };
        reach.push(hit);
    }

    let mut tables: Vec<(&'static str, DataFrame)> = Vec::new();
    tables.push(("months", months_table(&cal)?));
    tables.push(("incident_timings", timings_table(&incidents, &cal)?));
    tables.push(("outages", outages_table(&incidents, &cal)?));
    let all: Vec<Segment> = merge_max(
        &incidents
            .iter()
            .flat_map(|i| i.pieces.iter().copied())
            .collect::<Vec<_>>(),
    );
    tables.push((
        "downtime_all",
        segments_frame(
            "scope",
            all.into_iter()
                .map(|s| ("all assets".to_string(), s))
                .collect(),
            &cal,
        )?,
    ));
    tables.push((
        "asset_customers",
        asset_customers_table(&graph, &customers)?,
    ));
    tables.push(("customer_status", customer_status_table(&customers)?));
    tables.push((
        "customer_incidents",
        customer_incidents_table(&incidents, &reach, &customers, &cal)?,
    ));
    let per_customer = customer_segments(&incidents, &reach, customers.len());
    tables.push((
        "customer_outages",
        customer_outages_table(&per_customer, &customers, &cal)?,
    ));
    tables.push((
        "customer_months",
        customer_months_table(&per_customer, &customers, &cal)?,
    ));
    let (periods, sla_inc) = sla::build(
        d(DatasetKind::Slas),
        d(DatasetKind::Revenue),
        &incidents,
        &reach,
        &customers,
        &cal,
        &mut closure,
    )?;
    tables.push(("sla_periods", periods));
    tables.push(("sla_incidents", sla_inc));
    tables.push((
        "change_outcomes",
        change_outcomes_table(d(DatasetKind::Changes), &incidents, &cal)?,
    ));
    tables.push((
        "mrr_movements",
        mrr_movements_table(d(DatasetKind::Revenue), &cal)?,
    ));
    tables.push((
        "incident_trend",
        trend::table(&incidents, &cal, input.trend_months)?,
    ));
    Ok(tables)
}

/// Downtime pieces per customer, merged (max weight), from every incident that reaches them.
pub(crate) fn customer_segments(
    incidents: &[Incident],
    reach: &[Vec<usize>],
    n: usize,
) -> Vec<Vec<Segment>> {
    let mut per: Vec<Vec<Segment>> = vec![Vec::new(); n];
    for (inc, hit) in incidents.iter().zip(reach) {
        for &c in hit {
            per[c].extend_from_slice(&inc.pieces);
        }
    }
    per.into_iter().map(|s| merge_max(&s)).collect()
}

fn minutes(a: Option<i64>, b: Option<i64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b >= a => Some((b - a) as f64 / MIN as f64),
        _ => None,
    }
}

fn months_table(cal: &Calendar) -> Result<DataFrame> {
    let n = cal.months.len();
    let labels: Vec<String> = cal.months.iter().map(Period::label).collect();
    let ends: Vec<i64> = (0..n).map(|i| cal.end(i)).collect();
    let mins: Vec<f64> = (0..n)
        .map(|i| (ends[i].min(cal.as_of) - cal.starts[i]).max(0) as f64 / MIN as f64)
        .collect();
    frame(
        vec![
            Column::new("month".into(), labels),
            Column::new("month_start".into(), cal.starts.clone()),
            Column::new("month_end".into(), ends),
            Column::new(
                "complete".into(),
                (0..n).map(|i| cal.end(i) <= cal.as_of).collect::<Vec<_>>(),
            ),
            Column::new("minutes".into(), mins),
            Column::new(
                "year_ago_month".into(),
                cal.months
                    .iter()
                    .map(|p| p.year_before().label())
                    .collect::<Vec<_>>(),
            ),
        ],
        &["month_start", "month_end"],
    )
}

fn timings_table(incidents: &[Incident], cal: &Calendar) -> Result<DataFrame> {
    let f = |g: &dyn Fn(&Incident) -> Option<f64>| -> Vec<Option<f64>> {
        incidents.iter().map(g).collect()
    };
    frame(
        vec![
            Column::new(
                "incident_id".into(),
                incidents.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(),
            ),
            Column::new(
                "asset_id".into(),
                incidents
                    .iter()
                    .map(|i| i.asset.as_deref())
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "severity".into(),
                incidents
                    .iter()
                    .map(|i| i.severity.as_str())
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "impact".into(),
                incidents
                    .iter()
                    .map(|i| i.impact.as_str())
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "is_open".into(),
                incidents.iter().map(|i| i.open).collect::<Vec<_>>(),
            ),
            Column::new(
                "started_at".into(),
                incidents.iter().map(|i| i.started).collect::<Vec<_>>(),
            ),
            Column::new(
                "month".into(),
                incidents
                    .iter()
                    .map(|i| cal.label(i.started))
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "time_to_detect_min".into(),
                f(&|i| minutes(Some(i.started), i.detected)),
            ),
            Column::new(
                "time_to_acknowledge_min".into(),
                f(&|i| minutes(i.detected.or(Some(i.started)), i.acked)),
            ),
            Column::new(
                "time_to_first_notice_min".into(),
                f(&|i| minutes(Some(i.started), i.notice)),
            ),
            Column::new(
                "time_to_mitigate_min".into(),
                f(&|i| minutes(Some(i.started), i.mitigated.or(i.resolved))),
            ),
            Column::new(
                "time_to_resolve_min".into(),
                f(&|i| minutes(Some(i.started), i.resolved)),
            ),
            Column::new(
                "downtime_minutes".into(),
                incidents
                    .iter()
                    .map(|i| i.pieces.iter().map(Segment::downtime_minutes).sum::<f64>() + 0.0)
                    .collect::<Vec<_>>(),
            ),
        ],
        &["started_at"],
    )
}

fn segments_frame(
    key_name: &str,
    rows: Vec<(String, Segment)>,
    cal: &Calendar,
) -> Result<DataFrame> {
    let mut out: Vec<(String, Segment)> = Vec::new();
    for (k, s) in rows {
        for piece in split_at(&[s], &cal.starts) {
            out.push((k.clone(), piece));
        }
    }
    frame(
        vec![
            Column::new(
                key_name.into(),
                out.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
            ),
            Column::new(
                "started_at".into(),
                out.iter().map(|(_, s)| s.start).collect::<Vec<_>>(),
            ),
            Column::new(
                "ended_at".into(),
                out.iter().map(|(_, s)| s.end).collect::<Vec<_>>(),
            ),
            Column::new(
                "is_ongoing".into(),
                out.iter()
                    .map(|(_, s)| s.end >= cal.as_of)
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "weight".into(),
                out.iter().map(|(_, s)| s.weight).collect::<Vec<_>>(),
            ),
            Column::new(
                "minutes".into(),
                out.iter().map(|(_, s)| s.minutes()).collect::<Vec<_>>(),
            ),
            Column::new(
                "downtime_minutes".into(),
                out.iter()
                    .map(|(_, s)| s.downtime_minutes())
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "month".into(),
                out.iter()
                    .map(|(_, s)| cal.label(s.start))
                    .collect::<Vec<_>>(),
            ),
        ],
        &["started_at", "ended_at"],
    )
}

fn outages_table(incidents: &[Incident], cal: &Calendar) -> Result<DataFrame> {
    let mut by_asset: BTreeMap<&str, Vec<Segment>> = BTreeMap::new();
    for i in incidents {
        if let Some(a) = &i.asset {
            by_asset.entry(a).or_default().extend_from_slice(&i.pieces);
        }
    }
    let rows = by_asset
        .into_iter()
        .flat_map(|(a, s)| {
            merge_max(&s)
                .into_iter()
                .map(move |seg| (a.to_string(), seg))
        })
        .collect();
    segments_frame("asset_id", rows, cal)
}

fn asset_customers_table(graph: &DependencyGraph, customers: &[Customer]) -> Result<DataFrame> {
    let mut a = Vec::new();
    let mut c = Vec::new();
    let mut direct = Vec::new();
    for asset in graph.assets() {
        for cu in customers {
            if cu.closure.contains(asset) {
                a.push(asset.to_string());
                c.push(cu.id.clone());
                direct.push(cu.direct.contains(asset));
            }
        }
    }
    frame(
        vec![
            Column::new("asset_id".into(), a),
            Column::new("customer_id".into(), c),
            Column::new("direct".into(), direct),
        ],
        &[],
    )
}

fn customer_status_table(customers: &[Customer]) -> Result<DataFrame> {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
    frame(
        vec![
            Column::new(
                "customer_id".into(),
                customers.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
            ),
            Column::new(
                "active".into(),
                customers
                    .iter()
                    .map(|c| c.churned.is_none())
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "churned_at".into(),
                customers
                    .iter()
                    .map(|c| {
                        c.churned
                            .map(|d| (epoch + chrono::Duration::days(d)).to_string())
                    })
                    .collect::<Vec<_>>(),
            ),
        ],
        &[],
    )
}

fn customer_incidents_table(
    incidents: &[Incident],
    reach: &[Vec<usize>],
    customers: &[Customer],
    cal: &Calendar,
) -> Result<DataFrame> {
    let (mut cid, mut iid, mut asset, mut sev, mut imp, mut start, mut month, mut down, mut open) = (
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
    );
    for (i, hit) in incidents.iter().zip(reach) {
        if i.impact == "none" {
            continue;
        }
        let dm: f64 = i.pieces.iter().map(Segment::downtime_minutes).sum::<f64>() + 0.0; // + 0.0: an empty sum is -0.0
        for &c in hit {
            cid.push(customers[c].id.clone());
            iid.push(i.id.clone());
            asset.push(i.asset.clone());
            sev.push(i.severity.clone());
            imp.push(i.impact.clone());
            start.push(i.started);
            month.push(cal.label(i.started));
            down.push(dm);
            open.push(i.open);
        }
    }
    frame(
        vec![
            Column::new("customer_id".into(), cid),
            Column::new("incident_id".into(), iid),
            Column::new("asset_id".into(), asset),
            Column::new("severity".into(), sev),
            Column::new("impact".into(), imp),
            Column::new("started_at".into(), start),
            Column::new("month".into(), month),
            Column::new("downtime_minutes".into(), down),
            Column::new("is_open".into(), open),
        ],
        &["started_at"],
    )
}

fn customer_outages_table(
    per: &[Vec<Segment>],
    customers: &[Customer],
    cal: &Calendar,
) -> Result<DataFrame> {
    let rows = per
        .iter()
        .zip(customers)
        .flat_map(|(s, c)| s.iter().map(move |seg| (c.id.clone(), *seg)))
        .collect();
    segments_frame("customer_id", rows, cal)
}

/// Per customer and month while they are a customer: minutes, downtime, availability.
fn customer_months_table(
    per: &[Vec<Segment>],
    customers: &[Customer],
    cal: &Calendar,
) -> Result<DataFrame> {
    let (mut cid, mut month, mut mins, mut down, mut avail) =
        (vec![], vec![], vec![], vec![], vec![]);
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
    for (c, segs) in customers.iter().zip(per) {
        let churn_t = c
            .churned
            .map(|d| local_midnight(epoch + chrono::Duration::days(d), cal.tz).timestamp_micros());
        for (i, p) in cal.months.iter().enumerate() {
            let from = cal.starts[i].max(c.since.unwrap_or(i64::MIN));
            let to = cal.end(i).min(cal.as_of).min(churn_t.unwrap_or(i64::MAX));
            if to <= from {
                continue;
            }
            let m = (to - from) as f64 / MIN as f64;
            let dm = intervals::downtime_within(segs, from, to);
            cid.push(c.id.clone());
            month.push(p.label());
            mins.push(m);
            down.push(dm);
            avail.push(100.0 * (1.0 - dm / m));
        }
    }
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

/// One row per change: outcome, whether it completed, failed, or caused an incident.
fn change_outcomes_table(
    changes: &DataFrame,
    incidents: &[Incident],
    cal: &Calendar,
) -> Result<DataFrame> {
    let mut caused: BTreeMap<&str, i64> = BTreeMap::new();
    for i in incidents {
        if let Some(c) = &i.caused_by {
            *caused.entry(c).or_default() += 1;
        }
    }
    let ids = strs(changes, "change_id")?;
    let assets = strs(changes, "asset_id")?;
    let outcome = strs(changes, "outcome")?;
    let started = ints(changes, "started_at")?;
    let (mut cid, mut aid, mut out, mut st, mut month) = (vec![], vec![], vec![], vec![], vec![]);
    let (mut completed, mut failed, mut n_caused, mut counts) = (vec![], vec![], vec![], vec![]);
    for i in 0..changes.height() {
        let Some(s) = started[i] else { continue };
        if s > cal.as_of {
            continue;
        }
        let o = outcome[i].clone().unwrap_or_default();
        let id = ids[i].clone().unwrap_or_default();
        let n = caused.get(id.as_str()).copied().unwrap_or(0);
        let done = matches!(o.as_str(), "succeeded" | "failed" | "rolled_back");
        let bad = matches!(o.as_str(), "failed" | "rolled_back");
        completed.push(done);
        failed.push(bad);
        n_caused.push(n);
        counts.push(done && (bad || n > 0));
        cid.push(id);
        aid.push(assets[i].clone());
        out.push(o);
        st.push(s);
        month.push(cal.label(s));
    }
    frame(
        vec![
            Column::new("change_id".into(), cid),
            Column::new("asset_id".into(), aid),
            Column::new("outcome".into(), out),
            Column::new("started_at".into(), st),
            Column::new("month".into(), month),
            Column::new("completed".into(), completed),
            Column::new("failed".into(), failed),
            Column::new("incidents_caused".into(), n_caused),
            Column::new("counts_as_failure".into(), counts),
        ],
        &["started_at"],
    )
}

/// MRR movements per customer and month (ChartMogul's kinds): new, expansion, contraction,
/// churn, reactivation, flat.
fn mrr_movements_table(revenue: &DataFrame, cal: &Calendar) -> Result<DataFrame> {
    let mut by: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
    for ((c, m), mrr) in strs(revenue, "customer_id")?
        .into_iter()
        .zip(ints(revenue, "month")?)
        .zip(floats(revenue, "mrr")?)
    {
        if let (Some(c), Some(m), Some(mrr)) = (c, m, mrr) {
            let label = (epoch + chrono::Duration::days(m))
                .format("%Y-%m")
                .to_string();
            *by.entry(c).or_default().entry(label).or_default() += mrr;
        }
    }
    // Movements stop at the last month the revenue data covers: a month not yet reported is not
    // a month in which everyone churned.
    let last = by
        .values()
        .filter_map(|m| m.keys().next_back())
        .max()
        .cloned();
    let labels: Vec<String> = cal
        .months
        .iter()
        .map(Period::label)
        .filter(|l| last.as_ref().is_some_and(|last| l <= last))
        .collect();
    let (mut cid, mut month, mut mrr_v, mut prev_v, mut kind, mut amount) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for (c, series) in &by {
        let mut prev = 0.0;
        let mut ever = false;
        for l in &labels {
            let cur = series.get(l).copied().unwrap_or(0.0);
            let k = if cur > 0.0 && prev == 0.0 {
                if ever { "reactivation" } else { "new" }
            } else if cur == 0.0 && prev > 0.0 {
                "churn"
            } else if cur > prev {
                "expansion"
            } else if cur < prev {
                "contraction"
            } else {
                "flat"
            };
            if cur > 0.0 || prev > 0.0 {
                cid.push(c.clone());
                month.push(l.clone());
                mrr_v.push(cur);
                prev_v.push(prev);
                kind.push(k);
                amount.push(((cur - prev) * 100.0).round() / 100.0);
            }
            ever |= cur > 0.0;
            prev = cur;
        }
    }
    frame(
        vec![
            Column::new("customer_id".into(), cid),
            Column::new("month".into(), month),
            Column::new("mrr".into(), mrr_v),
            Column::new("prev_mrr".into(), prev_v),
            Column::new("kind".into(), kind),
            Column::new("amount".into(), amount),
        ],
        &[],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_weigh_partial_outages() {
        assert_eq!(Policy::Strict.weight("partial"), 1.0);
        assert_eq!(Policy::Weighted.weight("partial"), 0.3);
        assert_eq!(Policy::MajorOnly.weight("partial"), 0.0);
        assert_eq!(Policy::MajorOnly.weight("outage"), 1.0);
        assert_eq!(Policy::Strict.weight("degraded"), 0.0);
        assert_eq!("major-only".parse::<Policy>(), Ok(Policy::MajorOnly));
        assert!("lenient".parse::<Policy>().is_err());
    }
}
