//! The derived tables that need no customer exposure: the calendar, incident timings, asset
//! outages and all-asset downtime, change outcomes and their monthly sums, customer status.

use super::base::{Calendar, Customers, Incidents, epoch_day};
use super::frames::{frame, utc, utc_type};
use super::intervals::{Segment, merge_max, split_at};
use super::{MIN, Source, Window};
use crate::error::Result;
use crate::query::period::Period;
use crate::schema::DatasetKind;
use polars::prelude::*;

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

/// A month's index among the calendar's ([`Calendar::index_expr`]), as a working column: rows
/// are placed in their month by it, and labelled by a join with [`Calendar::labels`].
const MONTH_SLOT: &str = "__month_slot";

/// `lf` with the reporting month (`YYYY-MM` in the calendar's zone) of its UTC timestamp column
/// `t` as column `month`: the same labels as [`Calendar::label`], missing outside the calendar.
/// Rows keep their order. With `within`, only the months overlapping it are considered (the
/// caller keeps only rows in it). The month's position comes from comparing the time with the
/// month starts ([`Calendar::index_expr`]) and its label from a join with the calendar's few
/// rows: a time-zone conversion and date formatting per row cost 1.8 s of change-outcomes'
/// 3.7 s at 10 M incidents, and a per-row gather from a literal list of labels more.
fn with_month(lf: LazyFrame, t: &str, cal: &Calendar, within: Option<Window>) -> Result<LazyFrame> {
    // The months that can hold a row: those overlapping `within` (its rows only), else all.
    let months = cal.months_within(within);
    let labels = cal.labels(MONTH_SLOT, &months)?;
    let mut args = JoinArgs::new(JoinType::Left);
    args.maintain_order = MaintainOrderJoin::Left;
    Ok(lf
        .with_column(cal.index_expr(col(t), &months).alias(MONTH_SLOT))
        .join(labels.lazy(), [col(MONTH_SLOT)], [col(MONTH_SLOT)], args)
        .drop(by_name([MONTH_SLOT], true, false)))
}

/// One row per incident started by as-of (in lake order): ids, labels, whether it is open at
/// as-of, its reporting month and its response times in minutes, as a polars plan over the
/// incidents scan, so an aggregate over it runs in the scan's plan.
///
/// With `within`, only the incidents started inside it (half-open), read from the month
/// partitions overlapping it: a query over one month reads that month, not the history.
pub(crate) fn incident_response(
    src: &dyn Source,
    cal: &Calendar,
    within: Option<Window>,
) -> Result<LazyFrame> {
    let times = incident_response_times(src, cal, within)?;
    let times = match within {
        Some(w) => times.filter(w.holds("started_at")),
        None => times,
    };
    Ok(with_month(times, "started_at", cal, within)?.select(
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
    ))
}

/// [`incident_response`] without the month (whose label lookup, a join, polars cannot leave
/// out of a plan that does not read it). A time after as-of has not happened yet; a duration
/// whose end precedes its start is missing. With `within`, the scan may leave out incidents
/// started outside it ([`Source::scan_within`]; the caller keeps only those inside).
pub(crate) fn incident_response_times(
    src: &dyn Source,
    cal: &Calendar,
    within: Option<Window>,
) -> Result<LazyFrame> {
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
        .scan_within(DatasetKind::Incidents, within)?
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
/// policy: the Rust incident model, whose rows are the same incidents in the same order). With
/// `within`, `response` holds the incidents started inside it ([`incident_response`]), and the
/// model's incidents are kept alike; the two lists are checked to name the same incidents.
pub(crate) fn incident_timings(
    inc: &Incidents,
    response: DataFrame,
    within: Option<Window>,
) -> Result<DataFrame> {
    let inside = |i: &&super::base::Incident| within.is_none_or(|w| w.contains(i.started));
    let kept: Vec<&super::base::Incident> = inc.list.iter().filter(inside).collect();
    let misaligned =
        |what: String| crate::error::Error::Usage(format!("model: incident timings: {what}"));
    if response.height() != kept.len() {
        return Err(misaligned(format!(
            "{} incident response rows but {} incidents",
            response.height(),
            kept.len()
        )));
    }
    let ids = super::frames::texts(&response, "incident_id")?;
    if let Some((r, (a, b))) = ids
        .iter()
        .zip(&kept)
        .map(|(a, b)| (a.unwrap_or(""), inc.id(b)))
        .enumerate()
        .find(|(_, (a, b))| a != b)
    {
        return Err(misaligned(format!(
            "row {r} is incident `{a}` in the response times but `{b}` in the model"
        )));
    }
    let downtime: Vec<f64> = kept.iter().map(|i| inc.downtime(i)).collect();
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
    // Pieces gathered by asset number, not by name: a name lookup per incident compared
    // strings 10 M times at 10 M incidents, and the table took 0.60 s instead of 0.28 s there
    // (the executive report's `--timings`). Assets in name order, as the names' map gave them.
    let mut by_asset: Vec<Vec<Segment>> = vec![Vec::new(); inc.assets.len()];
    for i in &inc.list {
        if let Some(a) = i.asset {
            by_asset[a as usize].extend_from_slice(inc.pieces(i));
        }
    }
    let mut order: Vec<u32> = (0..inc.assets.len() as u32).collect();
    order.sort_by(|&a, &b| inc.assets.name(a).cmp(inc.assets.name(b)));
    let rows = order
        .into_iter()
        .flat_map(|a| {
            let name = inc.assets.name(a);
            merge_max(&by_asset[a as usize])
                .into_iter()
                .map(move |seg| (name.to_string(), seg))
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
            // The customers dataset's ARR, so that ranking the active customers by it reads this
            // table alone (top-customers), without joining every customer (4.5 M at 10 M
            // incidents) to their status on text ids.
            Column::new(
                "arr".into(),
                customers.iter().map(|c| c.arr).collect::<Vec<_>>(),
            ),
        ],
        &[],
    )
}

/// The changes started by as-of and in `within` (when given): a scan of only the month
/// partitions overlapping it, filtered to it.
fn changes_within(src: &dyn Source, cal: &Calendar, within: Option<Window>) -> Result<LazyFrame> {
    Ok(src.scan_within(DatasetKind::Changes, within)?.filter(
        col("started_at")
            .is_not_null()
            .and(col("started_at").lt_eq(utc(cal.as_of)))
            .and(within.map_or(lit(true), |w| w.holds("started_at"))),
    ))
}

/// The incidents started by as-of that name the change that caused them, counted per change
/// (`change_id`, `incidents_caused`).
fn incidents_caused(src: &dyn Source, cal: &Calendar) -> Result<LazyFrame> {
    Ok(src
        .scan(DatasetKind::Incidents)?
        .filter(
            col("started_at")
                .lt_eq(utc(cal.as_of))
                .and(col("caused_by_change_id").is_not_null()),
        )
        .group_by([col("caused_by_change_id").alias("change_id")])
        .agg([len().cast(DataType::Int64).alias("incidents_caused")]))
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
    let caused = incidents_caused(src, cal)?;
    let is = |v: &str| col("outcome").eq(lit(v.to_string()));
    let changes = changes_within(src, cal, within)?.select([
        col("change_id").fill_null(lit("")),
        col("asset_id"),
        col("outcome").fill_null(lit("")),
        col("started_at"),
    ]);
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

/// What [`change_counts`] counts the changes by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChangeKey {
    /// The reporting month of the change's start (`month`).
    Month,
    Asset,
    Outcome,
}

impl ChangeKey {
    /// The column the changes are grouped by.
    fn group_column(self) -> &'static str {
        match self {
            ChangeKey::Month => MONTH_SLOT,
            ChangeKey::Asset => "asset_id",
            ChangeKey::Outcome => "outcome",
        }
    }

    /// The column of the answer.
    fn column(self) -> &'static str {
        match self {
            ChangeKey::Month => "month",
            other => other.group_column(),
        }
    }

    /// The grouping column computed from a change's row, among the calendar's `months`.
    fn expr(self, cal: &Calendar, months: &[usize]) -> Expr {
        match self {
            ChangeKey::Month => cal.index_expr(col("started_at"), months),
            ChangeKey::Asset => col("asset_id"),
            ChangeKey::Outcome => col("outcome").fill_null(lit("")),
        }
        .alias(self.group_column())
    }
}

/// The changes started in `within` (every change without it) and by as-of, counted per value
/// of `by` (one row per combination that has changes): `changes`; `completed` (outcome
/// succeeded, failed or rolled back); `failed` (failed or rolled back); `with_incident`
/// (changes that caused at least one incident started by as-of) and `succeeded_with_incident`
/// (those of them that succeeded); `incidents_caused`; `failures` (completed and failed or
/// with an incident: the change failure rate's numerator). The figures of [`change_outcomes`]
/// summed, without its per-change rows: every change is counted from its start, asset and
/// outcome alone, and only the changes that caused an incident are joined with the incidents
/// (an inner join, whose output is those changes, instead of a left join that gathers every
/// change's columns again); a change's month is the position of its start among the month
/// bounds, labelled once per row of the answer.
pub(crate) fn change_counts(
    src: &dyn Source,
    cal: &Calendar,
    within: Option<Window>,
    by: &[ChangeKey],
) -> Result<LazyFrame> {
    let months = cal.months_within(within);
    // Each branch scans the changes itself, with its own filter (`keep`): polars' streaming
    // engine shares one scan between identical plans, and buffers it for the branch whose join
    // waits for the incidents (at 10 M incidents, 3 GiB more and slower).
    let changes =
        |keep: Expr| -> Result<LazyFrame> { Ok(changes_within(src, cal, within)?.filter(keep)) };
    let keys = |extra: &[Expr]| {
        let mut e: Vec<Expr> = by.iter().map(|k| k.expr(cal, &months)).collect();
        e.extend_from_slice(extra);
        e
    };
    let group = || by.iter().map(|k| col(k.group_column())).collect::<Vec<_>>();
    let all = outcome_counts(changes(lit(true))?, keys(&[]), group());
    let caused = incidents_caused(src, cal)?;
    // The keys of the changes that caused incidents, computed after the join (on those rows
    // only).
    let hit = with_causes(changes(col("change_id").is_not_null())?, caused).select(keys(&[
        col("incidents_caused"),
        outcome().eq(lit("succeeded")).alias("__succeeded"),
    ]));
    let mut counts = with_hits(all, hit_counts(hit, group()), group());
    if by.contains(&ChangeKey::Month) {
        let mut args = JoinArgs::new(JoinType::Left);
        args.nulls_equal = true;
        counts = counts.join(
            cal.labels(MONTH_SLOT, &months)?.lazy(),
            [col(MONTH_SLOT)],
            [col(MONTH_SLOT)],
            args,
        );
    }
    let mut out: Vec<Expr> = by.iter().map(|k| col(k.column())).collect();
    out.extend(CHANGE_COUNTS.map(col));
    Ok(counts.select(out))
}

/// The changes (their id, start, asset and outcome) joined with `caused`, rows keyed by
/// `change_id` (incidents that name the change that caused them), one row per match.
fn with_causes(changes: LazyFrame, caused: LazyFrame) -> LazyFrame {
    changes
        .select(["change_id", "started_at", "asset_id", "outcome"].map(col))
        .join(
            caused,
            [col("change_id")],
            [col("change_id")],
            // Build on the incidents' side: at 10 M incidents, 2.5 M ids against 91 M changes.
            JoinArgs::new(JoinType::Inner).with_build_side(Some(JoinBuildSide::ForceRight)),
        )
}

/// The keys of a cell of [`ChangeFacts`]: month label, asset, outcome.
fn cell_keys() -> Vec<Expr> {
    [col("month"), col("asset_id"), col("outcome")].to_vec()
}

/// Hits of [`ChangeFacts`] counted per change: its cell's keys, `incidents_caused` and
/// `__succeeded`, the rows [`hit_counts`] sums per cell.
fn per_change(hits: LazyFrame) -> LazyFrame {
    let mut by = cell_keys();
    by.push(col("change_id"));
    hits.group_by(by)
        .agg([len().cast(DataType::Int64).alias("incidents_caused")])
        .with_column(col("outcome").eq(lit("succeeded")).alias("__succeeded"))
}

/// A change's outcome, `""` when it has none.
fn outcome() -> Expr {
    col("outcome").fill_null(lit(""))
}

/// `changes` counted per `group` (computed by `keys`): `changes`, `completed`, `failed`.
fn outcome_counts(changes: LazyFrame, mut keys: Vec<Expr>, group: Vec<Expr>) -> LazyFrame {
    let count = |e: Expr| e.cast(DataType::Int64).sum();
    let was = |v: &str| col("__outcome").eq(lit(v.to_string()));
    keys.push(outcome().alias("__outcome"));
    changes.select(keys).group_by(group).agg([
        len().cast(DataType::Int64).alias("changes"),
        count(was("succeeded").or(was("failed")).or(was("rolled_back"))).alias("completed"),
        count(was("failed").or(was("rolled_back"))).alias("failed"),
    ])
}

/// The changes that caused incidents (one row per change: its keys, `incidents_caused` and
/// whether it succeeded, `__succeeded`) counted per `group`: `with_incident`,
/// `succeeded_with_incident`, `incidents_caused`.
fn hit_counts(hit: LazyFrame, group: Vec<Expr>) -> LazyFrame {
    hit.group_by(group).agg([
        len().cast(DataType::Int64).alias("with_incident"),
        col("__succeeded")
            .cast(DataType::Int64)
            .sum()
            .alias("succeeded_with_incident"),
        col("incidents_caused").sum().alias("incidents_caused"),
    ])
}

/// [`outcome_counts`] with the [`hit_counts`] of the same `group` beside them (zero where no
/// change caused an incident), and `failures`.
fn with_hits(all: LazyFrame, hit: LazyFrame, group: Vec<Expr>) -> LazyFrame {
    let mut args = JoinArgs::new(JoinType::Left);
    args.nulls_equal = true;
    all.join(hit, group.clone(), group, args)
        .with_columns(
            [
                "with_incident",
                "succeeded_with_incident",
                "incidents_caused",
            ]
            .map(|c| col(c).fill_null(lit(0i64))),
        )
        .with_column((col("failed") + col("succeeded_with_incident")).alias("failures"))
}

/// The facts the whole history's [`change_counts`] by month, asset and outcome are summed from
/// for any as-of ([`cells_from_facts`]), in the reporting zone `tz` and for no as-of: `cells`,
/// every change counted per (`month`, `asset_id`, `outcome`) (`changes`, `completed`,
/// `failed`), with the cell's changes that caused incidents counted over every incident
/// (`with_incident_all`, `succeeded_with_incident_all`, `incidents_caused_all`) and the start of
/// the latest of those incidents (`latest_incident`); and `hits`, in month order, one row per incident that names the change that caused it, with
/// that change's keys, id and start and the incident's start (`incident_started_at`). Both are
/// a scan of every change, which is what a run that shares its change counts paid each time;
/// kept in the lake ([`Source::keep`]), a later run sums them instead.
pub(crate) struct ChangeFacts {
    pub cells: DataFrame,
    pub hits: DataFrame,
}

/// Count [`ChangeFacts`] from the changes and incidents, in polars' streaming engine.
pub(crate) fn change_facts(src: &dyn Source, tz: chrono_tz::Tz) -> Result<ChangeFacts> {
    let span = src
        .scan(DatasetKind::Changes)?
        .select([
            col("started_at").min().alias("first"),
            col("started_at").max().alias("last"),
        ])
        .collect()
        .map_err(crate::error::Error::polars("model: the changes' span"))?;
    let ends: Vec<Option<i64>> = ["first", "last"]
        .iter()
        .map(|c| super::frames::ints(&span, c).map(|v| v.into_iter().flatten().next()))
        .collect::<Result<_>>()?;
    let to_time = |t: i64| chrono::DateTime::from_timestamp_micros(t).unwrap_or_default();
    // A calendar from the first change's month to the last's, with the last change as its
    // as-of (so none is left out); none for a lake without changes (an empty answer).
    let (first, last) = match (ends[0], ends[1]) {
        (Some(f), Some(l)) => (to_time(f), to_time(l)),
        _ => (chrono::DateTime::UNIX_EPOCH, chrono::DateTime::UNIX_EPOCH),
    };
    let cal = Calendar::spanning(Period::month_of(first, tz), last, tz);
    let months: Vec<usize> = if ends[0].is_some() {
        (0..cal.months.len()).collect()
    } else {
        Vec::new()
    };
    let labels = || -> Result<LazyFrame> { Ok(cal.labels(MONTH_SLOT, &months)?.lazy()) };
    let by = [ChangeKey::Month, ChangeKey::Asset, ChangeKey::Outcome];
    let keys = |extra: &[Expr]| {
        let mut e: Vec<Expr> = by.iter().map(|k| k.expr(&cal, &months)).collect();
        e.extend_from_slice(extra);
        e
    };
    let group = || by.iter().map(|k| col(k.group_column())).collect::<Vec<_>>();
    let changes = |keep: Expr| -> Result<LazyFrame> {
        Ok(src
            .scan(DatasetKind::Changes)?
            .filter(col("started_at").is_not_null().and(keep)))
    };
    let labelled = |lf: LazyFrame, cols: &[&str]| -> Result<LazyFrame> {
        let mut out = cell_keys();
        out.extend(cols.iter().map(|c| col(*c)));
        Ok(lf
            .join(
                labels()?,
                [col(MONTH_SLOT)],
                [col(MONTH_SLOT)],
                JoinArgs::new(JoinType::Inner),
            )
            .select(out))
    };
    let cells = labelled(
        outcome_counts(changes(lit(true))?, keys(&[]), group()),
        &["changes", "completed", "failed"],
    )?;
    let caused = src
        .scan(DatasetKind::Incidents)?
        .filter(
            col("caused_by_change_id")
                .is_not_null()
                .and(col("started_at").is_not_null()),
        )
        .select([
            col("caused_by_change_id").alias("change_id"),
            col("started_at").alias("incident_started_at"),
        ]);
    let hits = with_causes(changes(col("change_id").is_not_null())?, caused).select(keys(&[
        col("change_id"),
        col("started_at"),
        col("incident_started_at"),
    ]));
    // In month order: a run reads the hits of a few months only, and the file's row groups
    // then tell which to skip.
    let hits = labelled(hits, &["change_id", "started_at", "incident_started_at"])?
        .sort(["month"], Default::default());
    let collect = |lf: LazyFrame, what: &str| {
        lf.collect_with_engine(Engine::Streaming)
            .map(|r| r.unwrap_single())
            .map_err(crate::error::Error::polars(format!("model: {what}")))
    };
    let hits = collect(hits, "change facts (hits)")?;
    // Each cell's hits summed over every incident, and its latest incident's start: a run
    // whose as-of is at or after it takes the sums as they are.
    let mut by_change = cell_keys();
    by_change.push(col("change_id"));
    let totals = hits
        .clone()
        .lazy()
        .group_by(by_change)
        .agg([
            len().cast(DataType::Int64).alias("incidents_caused"),
            col("incident_started_at").max().alias("latest"),
        ])
        .group_by(cell_keys())
        .agg([
            len().cast(DataType::Int64).alias("with_incident_all"),
            col("outcome")
                .eq(lit("succeeded"))
                .cast(DataType::Int64)
                .sum()
                .alias("succeeded_with_incident_all"),
            col("incidents_caused").sum().alias("incidents_caused_all"),
            col("latest").max().alias("latest_incident"),
        ]);
    let mut args = JoinArgs::new(JoinType::Left);
    args.nulls_equal = true;
    let cells = cells
        .join(totals, cell_keys(), cell_keys(), args)
        .with_columns(
            [
                "with_incident_all",
                "succeeded_with_incident_all",
                "incidents_caused_all",
            ]
            .map(|c| col(c).fill_null(lit(0i64))),
        );
    Ok(ChangeFacts {
        cells: collect(cells, "change facts (cells)")?,
        hits,
    })
}

/// [`change_counts`] by month, asset and outcome of the calendar's `months` (every month for
/// the whole history) for its as-of and zone, from [`ChangeFacts`] (`cells` and `hits` as
/// plans) of the same zone: a month before the as-of's is its cells, with the hits of
/// incidents started by as-of counted per change and then per cell; the as-of's month, where
/// changes after as-of are left out, is counted from its changes ([`part_from_facts`]). The
/// same rows as counting the changes of those months, in another order.
pub(crate) fn cells_from_facts(
    src: &dyn Source,
    cal: &Calendar,
    cells: LazyFrame,
    hits: LazyFrame,
    months: &[usize],
) -> Result<LazyFrame> {
    let last = cal.months.len().saturating_sub(1);
    let before: Vec<usize> = months.iter().copied().filter(|&m| m < last).collect();
    let labels = cal
        .labels(MONTH_SLOT, &before)?
        .lazy()
        .select([col("month")]);
    let group = cell_keys;
    let mut out = group();
    out.extend(CHANGE_COUNTS.map(col));
    let base = cells.join(
        labels,
        [col("month")],
        [col("month")],
        JoinArgs::new(JoinType::Semi),
    );
    let as_of = || utc(cal.as_of);
    let hits_all = hits.clone();
    // A cell whose incidents all started by as-of: its sums over every incident.
    let settled = base
        .clone()
        .filter(
            col("latest_incident")
                .is_null()
                .or(col("latest_incident").lt_eq(as_of())),
        )
        .with_columns([
            col("with_incident_all").alias("with_incident"),
            col("succeeded_with_incident_all").alias("succeeded_with_incident"),
            col("incidents_caused_all").alias("incidents_caused"),
        ])
        .with_column((col("failed") + col("succeeded_with_incident")).alias("failures"))
        .select(out.clone());
    // The few with an incident after as-of (caused by a change before it): their hits of
    // incidents started by as-of counted per change, read from the months they are in.
    let late = base
        .filter(col("latest_incident").gt(as_of()))
        .select(
            [
                group(),
                ["changes", "completed", "failed"].map(col).to_vec(),
            ]
            .concat(),
        )
        .collect()
        .map_err(crate::error::Error::polars("model: change_cells"))?;
    let mut parts = vec![settled];
    let first = late
        .column("month")
        .ok()
        .and_then(|c| c.str().ok()?.iter().flatten().min().map(str::to_string));
    if let Some(first) = first {
        let mut args = JoinArgs::new(JoinType::Semi);
        args.nulls_equal = true;
        let hit = per_change(
            hits.filter(
                col("month")
                    .gt_eq(lit(first))
                    .and(col("incident_started_at").lt_eq(as_of())),
            )
            .join(late.clone().lazy(), group(), group(), args),
        );
        parts.push(with_hits(late.lazy(), hit_counts(hit, group()), group()).select(out));
    }
    if months.contains(&last) && !cal.months.is_empty() {
        let now = Window {
            start: cal.starts[last],
            end: cal.end(last),
        };
        parts.push(part_from_facts(src, cal, hits_all, now)?);
    }
    concat(parts, UnionArgs::default()).map_err(crate::error::Error::polars("model: change_cells"))
}

/// [`change_counts`] by month, asset and outcome of the changes started in `part`, a window
/// inside one month of the calendar, with `hits` of [`ChangeFacts`] in place of a scan of
/// every incident: the changes of `part` counted from their month partition, and those of
/// them that caused incidents started by as-of from the hits.
pub(crate) fn part_from_facts(
    src: &dyn Source,
    cal: &Calendar,
    hits: LazyFrame,
    part: Window,
) -> Result<LazyFrame> {
    let label = cal
        .index(part.start)
        .map(|i| cal.months[i].label())
        .unwrap_or_default();
    let keys = vec![
        lit(label.clone()).alias("month"),
        col("asset_id"),
        outcome().alias("outcome"),
    ];
    let all = outcome_counts(changes_within(src, cal, Some(part))?, keys, cell_keys());
    let hit = per_change(
        hits.filter(
            col("month")
                .eq(lit(label))
                .and(part.holds("started_at"))
                .and(col("started_at").lt_eq(utc(cal.as_of)))
                .and(col("incident_started_at").lt_eq(utc(cal.as_of))),
        ),
    );
    let mut out = cell_keys();
    out.extend(CHANGE_COUNTS.map(col));
    Ok(with_hits(all, hit_counts(hit, cell_keys()), cell_keys()).select(out))
}

/// The counts of [`change_counts`], after its keys.
const CHANGE_COUNTS: [&str; 7] = [
    "changes",
    "completed",
    "failed",
    "with_incident",
    "succeeded_with_incident",
    "incidents_caused",
    "failures",
];

/// The counts of the changes started in `within` (every change without it), as cells
/// ([`change_counts`] by month, asset and outcome): a window that starts where a month starts
/// is its whole months' cells, as `whole` gives them for the months' indexes, and, if it ends
/// inside its last month (at an as-of inside the month), that month's part as `tail` counts
/// it (one month's partitions). `None` for a window starting inside a month or before the
/// calendar, and an empty one: a cell is a month's changes, so those are counted again from
/// the changes.
pub(crate) fn cells_within(
    cal: &Calendar,
    within: Option<Window>,
    whole: impl FnOnce(&[usize]) -> Result<LazyFrame>,
    tail: impl FnOnce(Window) -> Result<LazyFrame>,
) -> Result<Option<LazyFrame>> {
    let months = cal.months_within(within);
    let Some(w) = within else {
        return whole(&months).map(Some);
    };
    let (Some(&first), Some(&last)) = (months.first(), months.last()) else {
        return Ok(None);
    };
    if cal.starts[first] != w.start {
        return Ok(None);
    }
    if cal.end(last) == w.end {
        return whole(&months).map(Some);
    }
    let part = Window {
        start: cal.starts[last],
        end: w.end,
    };
    let tail = tail(part)?;
    concat(
        [whole(&months[..months.len() - 1])?, tail],
        UnionArgs::default(),
    )
    .map(Some)
    .map_err(crate::error::Error::polars("model: change_cells"))
}

/// The rows of `cells` (whole months' [`change_counts`] by month, asset and outcome) of the
/// calendar's `months`.
pub(crate) fn cells_of(cells: &DataFrame, cal: &Calendar, months: &[usize]) -> Result<LazyFrame> {
    let labels = cal.labels(MONTH_SLOT, months)?;
    Ok(cells.clone().lazy().join(
        labels.lazy().select([col("month")]),
        [col("month")],
        [col("month")],
        JoinArgs::new(JoinType::Semi),
    ))
}

/// `cells` ([`change_counts`] rows) summed per `key`: the rows [`change_counts`] by `key`
/// alone gives.
pub(crate) fn cells_by(cells: LazyFrame, key: ChangeKey) -> LazyFrame {
    cells
        .group_by([col(key.column())])
        .agg(CHANGE_COUNTS.map(|c| col(c).sum()))
}

/// [`change_counts`] per `key` (month or asset), sorted by it: `changes`, `completed`,
/// `failed`, `succeeded_but_caused_incident` and `failures`, in polars' streaming engine (at
/// 10 M incidents, 60 M changes in two years took 7 GiB held as rows, 1.2 GiB streamed).
pub(crate) fn change_sums(counts: LazyFrame, key: &str) -> Result<DataFrame> {
    counts
        .select([
            col(key),
            col("changes"),
            col("completed"),
            col("failed"),
            col("succeeded_with_incident").alias("succeeded_but_caused_incident"),
            col("failures"),
        ])
        .sort([key], SortMultipleOptions::default())
        .collect_with_engine(Engine::Streaming)
        .map(|r| r.unwrap_single())
        .map_err(crate::error::Error::polars("model: change sums"))
}

/// Merged downtime of every asset together.
pub(crate) fn downtime_all(inc: &Incidents, cal: &Calendar) -> Result<DataFrame> {
    let all = merge_max(
        &inc.list
            .iter()
            .flat_map(|i| inc.pieces(i).iter().copied())
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
    use chrono::{NaiveDate, TimeZone, Utc};

    /// Months January to April 2026 in UTC, as of 15 April noon; one cell per month (its
    /// number of changes is the month's number) and one outside the calendar (no month).
    fn setup() -> (Calendar, DataFrame) {
        let jan = Period {
            first: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            months: 1,
        };
        let as_of = Utc.with_ymd_and_hms(2026, 4, 15, 12, 0, 0).unwrap();
        let cal = Calendar::spanning(jan, as_of, chrono_tz::UTC);
        assert_eq!(cal.months.len(), 4);
        let cells = df!(
            "month" => [Some("2026-01"), Some("2026-02"), Some("2026-03"), Some("2026-04"), None],
            "changes" => [1i64, 2, 3, 4, 100],
        )
        .unwrap();
        (cal, cells)
    }

    fn changes(cells: Option<LazyFrame>) -> Option<i64> {
        let df = cells?.select([col("changes").sum()]).collect().unwrap();
        Some(
            df.column("changes")
                .unwrap()
                .i64()
                .unwrap()
                .get(0)
                .unwrap_or(0),
        )
    }

    #[test]
    fn cells_stand_for_whole_months_and_a_tail_is_counted() {
        let (cal, cells) = setup();
        let at = |y, m, d| {
            Utc.with_ymd_and_hms(y, m, d, 0, 0, 0)
                .unwrap()
                .timestamp_micros()
        };
        // The tail of a window ending inside a month: 1000 changes, and the part it is asked for.
        let asked = std::cell::Cell::new(None);
        let tail = |part: Window| {
            asked.set(Some(part));
            Ok(df!("month" => ["tail"], "changes" => [1000i64])
                .unwrap()
                .lazy())
        };
        let whole = |months: &[usize]| cells_of(&cells, &cal, months);
        let within = |start: i64, end: i64| {
            changes(cells_within(&cal, Some(Window { start, end }), whole, tail).unwrap())
        };
        // A month; two months (February and March); every cell, the one without a month
        // too, for the whole history.
        assert_eq!(within(at(2026, 2, 1), at(2026, 3, 1)), Some(2));
        assert_eq!(within(at(2026, 2, 1), at(2026, 4, 1)), Some(5));
        assert_eq!(asked.get(), None);
        assert_eq!(
            changes(cells_within(&cal, None, |_| Ok(cells.clone().lazy()), tail).unwrap()),
            Some(110)
        );
        // A window ending at as-of inside April: February and March, and April's part to
        // as-of counted as the tail; one ending inside March alike.
        assert_eq!(within(at(2026, 2, 1), cal.as_of), Some(1005));
        assert_eq!(
            asked.get(),
            Some(Window {
                start: at(2026, 4, 1),
                end: cal.as_of
            })
        );
        assert_eq!(within(at(2026, 1, 1), at(2026, 3, 10)), Some(1003));
        assert_eq!(asked.get().map(|w| w.end), Some(at(2026, 3, 10)));
        // Not from cells: a window starting mid-month, one starting before the calendar, an
        // empty one.
        asked.set(None);
        assert_eq!(within(at(2026, 2, 15), at(2026, 4, 1)), None);
        assert_eq!(within(at(2025, 12, 1), at(2026, 2, 1)), None);
        assert_eq!(within(at(2026, 3, 1), at(2026, 3, 1)), None);
        assert_eq!(asked.get(), None);
    }

    #[test]
    fn cells_summed_by_a_key_give_one_row_per_value() {
        let cells = df!(
            "month" => ["2026-01", "2026-01", "2026-02"],
            "asset_id" => ["a", "b", "a"],
            "changes" => [1i64, 2, 4],
            "completed" => [1i64, 1, 3],
            "failed" => [0i64, 1, 1],
            "with_incident" => [0i64, 1, 0],
            "succeeded_with_incident" => [0i64, 0, 0],
            "incidents_caused" => [0i64, 2, 0],
            "failures" => [0i64, 1, 1],
        )
        .unwrap();
        let by_asset = change_sums(cells_by(cells.lazy(), ChangeKey::Asset), "asset_id").unwrap();
        let expected = df!(
            "asset_id" => ["a", "b"],
            "changes" => [5i64, 2],
            "completed" => [4i64, 1],
            "failed" => [1i64, 1],
            "succeeded_but_caused_incident" => [0i64, 0],
            "failures" => [1i64, 1],
        )
        .unwrap();
        assert!(by_asset.equals_missing(&expected), "{by_asset}");
    }
}
