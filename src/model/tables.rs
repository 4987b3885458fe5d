//! The derived tables that need no customer exposure: the calendar, incident timings, asset
//! outages and all-asset downtime, change outcomes, MRR movements, customer status.

use super::base::{Calendar, Customers, Incidents, epoch_day};
use super::frames::{float_col, frame, int_col, texts, utc, utc_type};
use super::intervals::{Segment, merge_max, split_at};
use super::{MIN, Source, Window};
use crate::error::Result;
use crate::query::period::Period;
use crate::schema::DatasetKind;
use chrono::Datelike;
use polars::prelude::*;
use std::collections::BTreeMap;

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

/// `lf` with the reporting month (`YYYY-MM` in the calendar's zone) of its UTC timestamp column
/// `t` as column `month`: the same labels as [`Calendar::label`], missing outside the calendar.
/// Rows keep their order. With `within`, only the months overlapping it are considered (the
/// caller keeps only rows in it). The month's position comes from comparing the time with the
/// month starts ([`Calendar::index_expr`]) and its label from a join with the calendar's few
/// rows: a time-zone conversion and date formatting per row cost 1.8 s of change-outcomes'
/// 3.7 s at 10 M incidents, and a per-row gather from a literal list of labels more.
fn with_month(lf: LazyFrame, t: &str, cal: &Calendar, within: Option<Window>) -> Result<LazyFrame> {
    const SLOT: &str = "__month_slot";
    // The months that can hold a row: those overlapping `within` (its rows only), else all.
    let months: Vec<usize> = (0..cal.months.len())
        .filter(|&i| within.is_none_or(|w| cal.starts[i] < w.end && cal.end(i) > w.start))
        .collect();
    let labels = cal.labels(SLOT, &months)?;
    let mut args = JoinArgs::new(JoinType::Left);
    args.maintain_order = MaintainOrderJoin::Left;
    Ok(lf
        .with_column(cal.index_expr(col(t), &months).alias(SLOT))
        .join(labels.lazy(), [col(SLOT)], [col(SLOT)], args)
        .drop(by_name([SLOT], true, false)))
}

/// One row per incident started by as-of (in lake order): ids, labels, whether it is open at
/// as-of, its reporting month and its response times in minutes, as a polars plan over the
/// incidents scan, so an aggregate over it runs in the scan's plan.
pub(crate) fn incident_response(src: &dyn Source, cal: &Calendar) -> Result<LazyFrame> {
    Ok(
        with_month(incident_response_times(src, cal)?, "started_at", cal, None)?.select(
            [
                "incident_id",
                "asset_id",
                "severity",
                "impact",
                "is_open",
                "started_at",
                "month",
                "time_to_detect_min",
                "time_to_acknowledge_min",
                "time_to_first_notice_min",
                "time_to_mitigate_min",
                "time_to_resolve_min",
            ]
            .map(col),
        ),
    )
}

/// [`incident_response`] without the month (whose label lookup, a join, polars cannot leave
/// out of a plan that does not read it). A time after as-of has not happened yet; a duration
/// whose end precedes its start is missing.
pub(crate) fn incident_response_times(src: &dyn Source, cal: &Calendar) -> Result<LazyFrame> {
    let as_of = || utc(cal.as_of);
    // A timestamp known by as-of, else missing.
    let known = |c: &str| {
        when(col(c).lt_eq(as_of()))
            .then(col(c))
            .otherwise(lit(NULL).cast(utc_type()))
    };
    // Minutes from `a` to `b` when both exist and b >= a.
    let minutes = |a: Expr, b: Expr| {
        let (a, b) = (a.cast(DataType::Int64), b.cast(DataType::Int64));
        when(b.clone().gt_eq(a.clone()))
            .then((b - a).cast(DataType::Float64) / lit(MIN as f64))
            .otherwise(lit(NULL).cast(DataType::Float64))
    };
    let status = |v: &str| col("status").eq(lit(v.to_string())).fill_null(lit(false));
    Ok(src
        .scan(DatasetKind::Incidents)?
        .filter(
            col("started_at")
                .is_not_null()
                .and(col("started_at").lt_eq(as_of())),
        )
        .with_columns([
            known("resolved_at").alias("resolved_f"),
            known("acknowledged_at").alias("acked_f"),
            known("first_customer_notice_at").alias("notice_f"),
            known("mitigated_at").alias("mitigated_f"),
        ])
        .select([
            col("incident_id").fill_null(lit("")),
            col("asset_id"),
            col("severity").fill_null(lit("")),
            col("impact").fill_null(lit("none")),
            col("resolved_f")
                .is_null()
                .and(status("closed").not())
                .and(status("resolved").not())
                .or(col("resolved_at").gt(as_of()).fill_null(lit(false)))
                .alias("is_open"),
            col("started_at"),
            minutes(col("started_at"), col("detected_at")).alias("time_to_detect_min"),
            minutes(
                col("detected_at").fill_null(col("started_at")),
                col("acked_f"),
            )
            .alias("time_to_acknowledge_min"),
            minutes(col("started_at"), col("notice_f")).alias("time_to_first_notice_min"),
            minutes(
                col("started_at"),
                col("mitigated_f").fill_null(col("resolved_f")),
            )
            .alias("time_to_mitigate_min"),
            minutes(col("started_at"), col("resolved_f")).alias("time_to_resolve_min"),
        ]))
}

/// `incident_response` with each incident's downtime (maintenance cut out, weighted by the
/// policy: the Rust incident model, whose rows are the same incidents in the same order).
pub(crate) fn incident_timings(inc: &Incidents, response: DataFrame) -> Result<DataFrame> {
    if response.height() != inc.list.len() {
        return Err(crate::error::Error::Usage(format!(
            "model: {} incident response rows but {} incidents",
            response.height(),
            inc.list.len()
        )));
    }
    let downtime: Vec<f64> = inc.list.iter().map(|i| i.downtime()).collect();
    let mut df = response;
    df.with_column(Column::new("downtime_minutes".into(), downtime))
        .map_err(crate::error::Error::polars("model: incident timings"))?;
    Ok(df)
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

/// One row per change started by as-of (and in `within`, if given): outcome, whether it
/// completed, failed, or caused an incident (started by as-of), and whether it counts as a
/// failure. A lazy plan over the lake scans (four change columns, two incident columns); the
/// filter on `started_at` reaches the Parquet scan of the changes (row groups and month
/// partitions outside it are not read).
pub(crate) fn change_outcomes(
    src: &dyn Source,
    cal: &Calendar,
    within: Option<Window>,
) -> Result<LazyFrame> {
    let as_of = || utc(cal.as_of);
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
    let changes = src
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
                .and(col("started_at").lt_eq(as_of()))
                .and(within.map_or(lit(true), |w| {
                    col("started_at")
                        .gt_eq(utc(w.start))
                        .and(col("started_at").lt(utc(w.end)))
                })),
        );
    Ok(with_month(changes, "started_at", cal, within)?
        .join(
            caused,
            [col("change_id")],
            [col("change_id")],
            JoinArgs::new(JoinType::Left),
        )
        .with_columns([
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
///
/// Rows come out ordered by customer id, then month. The revenue rows are walked in
/// (customer, month) order, which the lake already stores them in (checked; sorted here
/// otherwise), so each customer's MRR series is a run of rows and no map per customer is held:
/// at 51 M revenue rows the maps took 8 GiB.
pub(crate) fn mrr_movements(revenue: &DataFrame, cal: &Calendar) -> Result<DataFrame> {
    let err = || crate::error::Error::polars("model: revenue");
    // Only rows with a customer, a month and an MRR count.
    let present = revenue.column("customer_id").map_err(err())?.is_not_null()
        & revenue.column("month").map_err(err())?.is_not_null()
        & revenue.column("mrr").map_err(err())?.is_not_null();
    let mut rows = if present.all() {
        revenue.clone()
    } else {
        revenue.filter(&present).map_err(err())?
    };
    if !in_key_order(&rows)? {
        // A stable sort keeps same-month rows in file order, so their sum is the same.
        rows = rows
            .sort(
                ["customer_id", "month"],
                SortMultipleOptions::default().with_maintain_order(true),
            )
            .map_err(err())?;
    }
    // MRR per customer and month number (year × 12 + month0), summed in row order.
    let month_no = |d: chrono::NaiveDate| d.year() * 12 + d.month0() as i32;
    let ids = texts(&rows, "customer_id")?;
    // Month numbers of the days seen, by day (revenue months span a few years of days).
    let days = int_col(&rows, "month")?;
    let first_day = days.min().unwrap_or(0);
    let mut month_of_day: Vec<i32> = Vec::new();
    // Customer ids in order, and (customer number, month number, MRR), one per customer and
    // month.
    let mut names: Vec<&str> = Vec::new();
    let mut series: Vec<(u32, i32, f64)> = Vec::new();
    for ((c, m), mrr) in ids
        .iter()
        .zip(days.iter())
        .zip(float_col(&rows, "mrr")?.iter())
    {
        let (Some(c), Some(m), Some(mrr)) = (c, m, mrr) else {
            continue;
        };
        let slot = (m - first_day) as usize;
        if slot >= month_of_day.len() {
            month_of_day.resize(slot + 1, i32::MIN);
        }
        if month_of_day[slot] == i32::MIN {
            month_of_day[slot] = month_no(epoch_day(m));
        }
        let m = month_of_day[slot];
        if names.last() != Some(&c) {
            names.push(c);
        }
        let first = names.len() as u32 - 1;
        match series.last_mut() {
            Some((f, n, v)) if *f == first && *n == m => *v += mrr,
            _ => series.push((first, m, mrr)),
        }
    }
    // Movements stop at the last month the revenue data covers: a month not yet reported is not
    // a month in which everyone churned.
    let last = series.iter().map(|s| s.1).max();
    let labels: Vec<(i32, String)> = cal
        .months
        .iter()
        .map(|p| (month_no(p.first), p.label()))
        .filter(|(n, _)| last.is_some_and(|last| *n <= last))
        .collect();
    const KINDS: [&str; 6] = [
        "new",
        "reactivation",
        "churn",
        "expansion",
        "contraction",
        "flat",
    ];
    // Each month with MRR gives at most one row, and so does each drop to zero after it: the
    // first is the usual count.
    let rows_hint = series.len() + series.len() / 8;
    let (mut cid, mut month, mut mrr_v, mut prev_v, mut kind, mut amount) = (
        Vec::with_capacity(rows_hint),
        Vec::with_capacity(rows_hint),
        Vec::with_capacity(rows_hint),
        Vec::with_capacity(rows_hint),
        Vec::with_capacity(rows_hint),
        Vec::with_capacity(rows_hint),
    );
    for run in series.chunk_by(|a, b| a.0 == b.0) {
        let mut at = run.iter().peekable();
        let mut prev = 0.0;
        let mut ever = false;
        // Months before the customer's first MRR give no row (nothing now, nothing before).
        let from = labels.partition_point(|(n, _)| *n < run[0].1);
        for (li, (n, _)) in labels.iter().enumerate().skip(from) {
            if prev == 0.0 && at.peek().is_none() {
                // No MRR now or later: no more rows.
                break;
            }
            while at.next_if(|s| s.1 < *n).is_some() {}
            let cur = at.next_if(|s| s.1 == *n).map_or(0.0, |s| s.2);
            let k = if cur > 0.0 && prev == 0.0 {
                if ever { 1 } else { 0 }
            } else if cur == 0.0 && prev > 0.0 {
                2
            } else if cur > prev {
                3
            } else if cur < prev {
                4
            } else {
                5
            };
            if cur > 0.0 || prev > 0.0 {
                cid.push(run[0].0);
                month.push(li as u32);
                mrr_v.push(cur);
                prev_v.push(prev);
                kind.push(k as u8);
                amount.push(((cur - prev) * 100.0).round() / 100.0);
            }
            ever |= cur > 0.0;
            prev = cur;
        }
    }
    // Text columns built from borrowed values by a builder sized once, each index vector freed
    // as its column is built (at 54 M rows each text column is 0.9 GB of 16-byte views, and
    // fresh memory is what costs here: most of this function's time is the kernel faulting
    // pages in).
    drop(series);
    fn text<'a>(name: &str, values: impl ExactSizeIterator<Item = &'a str>) -> Column {
        let mut b = StringChunkedBuilder::new(name.into(), values.len());
        values.for_each(|v| b.append_value(v));
        b.finish().into_column()
    }
    frame(
        vec![
            text("customer_id", cid.into_iter().map(|i| names[i as usize])),
            text(
                "month",
                month.into_iter().map(|i| labels[i as usize].1.as_str()),
            ),
            Column::new("mrr".into(), mrr_v),
            Column::new("prev_mrr".into(), prev_v),
            text("kind", kind.into_iter().map(|i| KINDS[i as usize])),
            Column::new("amount".into(), amount),
        ],
        &[],
    )
}

/// Whether revenue rows are in (customer id, month) order (ties allowed).
fn in_key_order(rows: &DataFrame) -> Result<bool> {
    let ids = texts(rows, "customer_id")?;
    let months = int_col(rows, "month")?;
    let mut prev: Option<(Option<&str>, Option<i64>)> = None;
    for key in ids.iter().zip(months.iter()) {
        if prev.is_some_and(|p| p > key) {
            return Ok(false);
        }
        prev = Some(key);
    }
    Ok(true)
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    /// Revenue rows (customer, first of month, MRR) as the lake stores them.
    fn revenue(rows: &[(&str, u32, Option<f64>)]) -> DataFrame {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        let day = |m: u32| (NaiveDate::from_ymd_opt(2023, m, 1).unwrap() - epoch).num_days() as i32;
        DataFrame::new_infer_height(vec![
            Column::new(
                "customer_id".into(),
                rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            ),
            Column::new(
                "month".into(),
                rows.iter().map(|r| day(r.1)).collect::<Vec<_>>(),
            )
            .cast(&DataType::Date)
            .unwrap(),
            Column::new("mrr".into(), rows.iter().map(|r| r.2).collect::<Vec<_>>()),
        ])
        .unwrap()
    }

    #[test]
    fn mrr_movements_walk_each_customer_in_month_order() {
        // January to June 2023; revenue reported up to May, so June gets no row.
        let jan = Period {
            first: NaiveDate::from_ymd_opt(2023, 1, 1).unwrap(),
            months: 1,
        };
        let as_of = chrono::DateTime::parse_from_rfc3339("2023-06-15T00:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let cal = Calendar::spanning(jan, as_of, chrono_tz::UTC);
        // Out of order, two January rows for A (summed: 120), a row without MRR (ignored).
        let shuffled = revenue(&[
            ("B", 2, Some(50.0)),
            ("A", 1, Some(100.0)),
            ("A", 3, Some(80.0)),
            ("A", 1, Some(20.0)),
            ("C", 2, None),
            ("B", 3, Some(70.0)),
            ("A", 5, Some(90.0)),
        ]);
        let sorted = revenue(&[
            ("A", 1, Some(100.0)),
            ("A", 1, Some(20.0)),
            ("A", 3, Some(80.0)),
            ("A", 5, Some(90.0)),
            ("B", 2, Some(50.0)),
            ("B", 3, Some(70.0)),
            ("C", 2, None),
        ]);
        assert!(!in_key_order(&shuffled).unwrap());
        assert!(in_key_order(&sorted).unwrap());
        let got = mrr_movements(&shuffled, &cal).unwrap();
        assert!(got.equals_missing(&mrr_movements(&sorted, &cal).unwrap()));
        let text = |c: &str| -> Vec<String> {
            let s = got.column(c).unwrap().str().unwrap().clone();
            s.iter().map(|v| v.unwrap().to_string()).collect()
        };
        let num = |c: &str| -> Vec<f64> {
            let s = got.column(c).unwrap().f64().unwrap().clone();
            s.iter().map(Option::unwrap).collect()
        };
        assert_eq!(
            text("customer_id"),
            ["A", "A", "A", "A", "A", "B", "B", "B"]
        );
        assert_eq!(
            text("month"),
            [
                "2023-01", "2023-02", "2023-03", "2023-04", "2023-05", "2023-02", "2023-03",
                "2023-04"
            ]
        );
        assert_eq!(
            text("kind"),
            [
                "new",
                "churn",
                "reactivation",
                "churn",
                "reactivation",
                "new",
                "expansion",
                "churn"
            ]
        );
        assert_eq!(num("mrr"), [120.0, 0.0, 80.0, 0.0, 90.0, 50.0, 70.0, 0.0]);
        assert_eq!(
            num("prev_mrr"),
            [0.0, 120.0, 0.0, 80.0, 0.0, 0.0, 50.0, 70.0]
        );
        assert_eq!(
            num("amount"),
            [120.0, -120.0, 80.0, -80.0, 90.0, 50.0, 20.0, -70.0]
        );
    }
}
