//! The derived tables that need no customer exposure: the calendar, incident timings, asset
//! outages and all-asset downtime, change outcomes, MRR movements, customer status.

use super::base::{Calendar, Customers, Incidents, epoch_day, minutes};
use super::frames::{floats, frame, ints};
use super::intervals::{Segment, merge_max, split_at};
use super::{MIN, Source};
use crate::error::Result;
use crate::query::period::Period;
use crate::schema::DatasetKind;
use chrono::Datelike;
use polars::prelude::*;
use std::collections::{BTreeMap, HashMap};

pub(crate) fn months(cal: &Calendar) -> Result<DataFrame> {
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

pub(crate) fn incident_timings(inc: &Incidents, cal: &Calendar) -> Result<DataFrame> {
    let incidents = &inc.list;
    let f = |g: &dyn Fn(&super::base::Incident) -> Option<f64>| -> Vec<Option<f64>> {
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
                    .map(|i| inc.asset_name(i))
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "severity".into(),
                incidents
                    .iter()
                    .map(|i| inc.severity(i))
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "impact".into(),
                incidents.iter().map(|i| inc.impact(i)).collect::<Vec<_>>(),
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
                incidents.iter().map(|i| i.downtime()).collect::<Vec<_>>(),
            ),
        ],
        &["started_at"],
    )
}

pub(crate) fn segments_frame(
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

/// Merged downtime per asset (every incident on the asset, named customers or not).
pub(crate) fn outages(inc: &Incidents, cal: &Calendar) -> Result<DataFrame> {
    let mut by_asset: BTreeMap<&str, Vec<Segment>> = BTreeMap::new();
    for i in &inc.list {
        if let Some(a) = inc.asset_name(i) {
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

pub(crate) fn customer_status(cu: &Customers) -> Result<DataFrame> {
    let customers = &cu.list;
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
                    .map(|c| c.churned.map(|d| epoch_day(d).to_string()))
                    .collect::<Vec<_>>(),
            ),
        ],
        &[],
    )
}

/// One row per change started by as-of: outcome, whether it completed, failed, or caused an
/// incident (started by as-of), and whether it counts as a failure. A lazy plan over the lake
/// scans (four change columns, two incident columns), so a query's filter on `started_at`
/// reaches the Parquet scan of the changes.
pub(crate) fn change_outcomes(src: &dyn Source, cal: &Calendar) -> Result<LazyFrame> {
    let ts = DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC));
    let as_of = || lit(cal.as_of).cast(ts.clone());
    let caused = src
        .scan(DatasetKind::Incidents)?
        .filter(
            col("started_at")
                .lt_eq(as_of())
                .and(col("caused_by_change_id").is_not_null()),
        )
        .group_by([col("caused_by_change_id").alias("change_id")])
        .agg([len().cast(DataType::Int64).alias("incidents_caused")]);
    let is = |v: &str| col("outcome").eq(lit(v.to_string()));
    Ok(src
        .scan(DatasetKind::Changes)?
        .select([
            col("change_id").fill_null(lit("")),
            col("asset_id"),
            col("outcome").fill_null(lit("")),
            col("started_at"),
        ])
        .filter(
            col("started_at")
                .is_not_null()
                .and(col("started_at").lt_eq(as_of())),
        )
        .join(
            caused,
            [col("change_id")],
            [col("change_id")],
            JoinArgs::new(JoinType::Left),
        )
        .with_columns([
            col("started_at")
                .dt()
                .convert_time_zone(TimeZone::from_chrono(&cal.tz))
                .dt()
                .strftime("%Y-%m")
                .alias("month"),
            is("succeeded")
                .or(is("failed"))
                .or(is("rolled_back"))
                .alias("completed"),
            is("failed").or(is("rolled_back")).alias("failed"),
            col("incidents_caused").fill_null(lit(0i64)),
        ])
        .with_column(
            col("completed")
                .and(col("failed").or(col("incidents_caused").gt(lit(0i64))))
                .alias("counts_as_failure"),
        )
        .select([
            col("change_id"),
            col("asset_id"),
            col("outcome"),
            col("started_at"),
            col("month"),
            col("completed"),
            col("failed"),
            col("incidents_caused"),
            col("counts_as_failure"),
        ]))
}

/// MRR movements per customer and month (ChartMogul's kinds): new, expansion, contraction,
/// churn, reactivation, flat.
pub(crate) fn mrr_movements(revenue: &DataFrame, cal: &Calendar) -> Result<DataFrame> {
    // MRR per customer and month number (year × 12 + month0), summed.
    let month_no = |d: chrono::NaiveDate| d.year() * 12 + d.month0() as i32;
    let ids = revenue
        .column("customer_id")
        .and_then(|c| c.str())
        .map_err(crate::error::Error::polars("model: revenue"))?;
    let mut month_of_day: HashMap<i64, i32> = HashMap::new();
    let mut per: HashMap<&str, HashMap<i32, f64>> = HashMap::new();
    for ((c, m), mrr) in ids
        .iter()
        .zip(ints(revenue, "month")?)
        .zip(floats(revenue, "mrr")?)
    {
        if let (Some(c), Some(m), Some(mrr)) = (c, m, mrr) {
            let m = *month_of_day
                .entry(m)
                .or_insert_with(|| month_no(epoch_day(m)));
            *per.entry(c).or_default().entry(m).or_default() += mrr;
        }
    }
    let mut by: Vec<(&str, HashMap<i32, f64>)> = per.into_iter().collect();
    by.sort_unstable_by(|a, b| a.0.cmp(b.0));
    // Movements stop at the last month the revenue data covers: a month not yet reported is not
    // a month in which everyone churned.
    let last = by.iter().filter_map(|(_, m)| m.keys().max()).max().copied();
    let labels: Vec<(i32, String)> = cal
        .months
        .iter()
        .map(|p| (month_no(p.first), p.label()))
        .filter(|(n, _)| last.is_some_and(|last| *n <= last))
        .collect();
    let (mut cid, mut month, mut mrr_v, mut prev_v, mut kind, mut amount) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for (c, series) in &by {
        let mut prev = 0.0;
        let mut ever = false;
        for (n, l) in &labels {
            let cur = series.get(n).copied().unwrap_or(0.0);
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
                cid.push(*c);
                month.push(l.as_str());
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

/// Merged downtime of every asset together.
pub(crate) fn downtime_all(inc: &Incidents, cal: &Calendar) -> Result<DataFrame> {
    let all = merge_max(
        &inc.list
            .iter()
            .flat_map(|i| i.pieces.iter().copied())
            .collect::<Vec<_>>(),
    );
    segments_frame(
        "scope",
        all.into_iter()
            .map(|s| ("all assets".to_string(), s))
            .collect(),
        cal,
    )
}
