//! The derived model: tables computed from the lake at run time and registered beside the raw
//! datasets so canned SQL stays simple. Every figure's definition lives here or in the SQL of
//! `queries/`, and is written down in `docs/metrics.md`.
//!
//! Tables are built on demand: a query gets only the tables its SQL names, and the pieces they
//! share (calendar, incidents with their downtime, customers and their exposure groups) are
//! read and computed once per run and policy. Customer figures are computed per exposure group
//! (customers who depend on the same assets), so cost grows with incidents plus customers, not
//! their product. Pure: frames in, frames out; the lake is reached only through [`Source`].

mod ahead;
mod base;
mod exposure;
mod frames;
pub mod intervals;
mod mrr;
mod reach;
mod sla;
mod tables;
pub mod trend;

use crate::error::{Error, Result};
use crate::lake::Snapshot;
use crate::schema::DatasetKind;
use base::{Calendar, Customers, Incidents};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use exposure::Exposure;
use polars::prelude::*;
use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use tables::ChangeKey;

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

/// Where the model reads the lake's datasets from: the run's lake snapshot, or frames in tests.
pub trait Source: Send + Sync {
    /// A lazy scan of a dataset with its canonical columns.
    fn scan(&self, kind: DatasetKind) -> Result<LazyFrame>;
    /// A lazy scan of a dataset holding at least its rows whose time column
    /// ([`crate::schema::Dataset::time_column`]) lies in `within` (every row without it); it
    /// may hold others (the caller filters). A lake leaves out the month partitions outside it;
    /// by default the whole scan.
    fn scan_within(&self, kind: DatasetKind, within: Option<Window>) -> Result<LazyFrame> {
        let _ = within;
        self.scan(kind)
    }
    /// The minimum of the dataset's time column ([`crate::schema::Dataset::time_column`]):
    /// UTC microseconds for timestamps, days for dates; by default read from the scan.
    fn time_min(&self, kind: DatasetKind) -> Result<Option<i64>> {
        scanned_time_min(self.scan(kind)?, kind)
    }
    /// What names a dataset's current rows, for the key of a table derived from them
    /// ([`Source::kept`]); `None` (the default) when the source keeps no derived table.
    fn stamp(&self, kind: DatasetKind) -> Option<String> {
        let _ = kind;
        None
    }
    /// A derived table kept by an earlier run under `name` and `key`, if any.
    fn kept(&self, name: &str, key: &str) -> Result<Option<LazyFrame>> {
        let _ = (name, key);
        Ok(None)
    }
    /// Keep a derived table under `name` and `key` for later runs (in place of any kept under
    /// another key). By default nothing is kept.
    fn keep(&self, name: &str, key: &str, df: &mut DataFrame) -> Result<()> {
        let _ = (name, key, df);
        Ok(())
    }
}

/// The minimum of a dataset's time column, read from its scan.
fn scanned_time_min(scan: LazyFrame, kind: DatasetKind) -> Result<Option<i64>> {
    let Some(t) = kind.spec().time_column() else {
        return Ok(None);
    };
    let df = scan
        .select([col(t).min()])
        .collect()
        .map_err(Error::polars(format!("reading {}", kind.name())))?;
    Ok(frames::ints(&df, t)?.into_iter().flatten().next())
}

impl Source for Snapshot {
    fn scan(&self, kind: DatasetKind) -> Result<LazyFrame> {
        Snapshot::scan(self, kind)
    }
    fn scan_within(&self, kind: DatasetKind, within: Option<Window>) -> Result<LazyFrame> {
        match within {
            Some(w) => Snapshot::scan_between(self, kind, w.start, w.end),
            None => Snapshot::scan(self, kind),
        }
    }
    /// From the manifest, which records it at each ingest (no data read); from the data for a
    /// manifest written before it did.
    fn time_min(&self, kind: DatasetKind) -> Result<Option<i64>> {
        match self.recorded_time_min(kind) {
            Some(t) => Ok(Some(t)),
            None => scanned_time_min(Snapshot::scan(self, kind)?, kind),
        }
    }
    fn stamp(&self, kind: DatasetKind) -> Option<String> {
        self.writable().then(|| Snapshot::stamp(self, kind))
    }
    fn kept(&self, name: &str, key: &str) -> Result<Option<LazyFrame>> {
        Snapshot::kept(self, name, key)
    }
    fn keep(&self, name: &str, key: &str, df: &mut DataFrame) -> Result<()> {
        Snapshot::keep(self, name, key, df)
    }
}

/// A source with no rows: every dataset empty, with its canonical columns. The derived tables
/// built over it have their columns and no rows, so their schemas are known without reading
/// the lake.
pub struct Empty;

impl Source for Empty {
    fn scan(&self, kind: DatasetKind) -> Result<LazyFrame> {
        Ok(crate::lake::empty_frame(kind.spec()).lazy())
    }
}

/// The named columns of a dataset, filtered by `keep` if given.
fn read_where(
    src: &dyn Source,
    kind: DatasetKind,
    names: &[&str],
    keep: Option<Expr>,
) -> Result<DataFrame> {
    let mut lf = src
        .scan(kind)?
        .select(names.iter().map(|n| col(*n)).collect::<Vec<_>>());
    if let Some(keep) = keep {
        lf = lf.filter(keep);
    }
    lf.collect()
        .map_err(Error::polars(format!("reading {}", kind.name())))
}

/// The named columns of a dataset.
pub(crate) fn read(src: &dyn Source, kind: DatasetKind, names: &[&str]) -> Result<DataFrame> {
    read_where(src, kind, names, None)
}

/// Churn events, with the columns the churn tables keep; with a window, only those whose churn
/// date (midnight UTC, as the queries compare it) falls inside it.
fn churn_in(src: &dyn Source, window: Option<Window>) -> Result<DataFrame> {
    let keep = window.map(|w| {
        let at = col("churned_at")
            .cast(DataType::Int32)
            .cast(DataType::Int64)
            * lit(reach::DAY);
        at.clone().gt_eq(lit(w.start)).and(at.lt(lit(w.end)))
    });
    read_where(
        src,
        DatasetKind::Churn,
        &["customer_id", "churned_at", "kind", "mrr_lost", "reason"],
        keep,
    )
}

/// A half-open span of time, UTC microseconds: a query's period, its end clipped to as-of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Window {
    pub start: i64,
    pub end: i64,
}

impl Window {
    /// Whether the UTC instant `t` (microseconds) lies inside the window.
    pub(crate) fn contains(&self, t: i64) -> bool {
        self.start <= t && t < self.end
    }

    /// Whether the UTC timestamp column `t` lies inside the window, as a polars expression.
    pub(crate) fn holds(&self, t: &str) -> Expr {
        col(t)
            .gt_eq(frames::utc(self.start))
            .and(col(t).lt(frames::utc(self.end)))
    }
}

/// What a table's rows depend on beyond the run (lake, as-of, zone, policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Nothing else.
    Run,
    /// The trend window (`months` parameter).
    Trend,
    /// The query's period: only rows for it (the whole history when the query has none).
    Period,
    /// The query's period and its `asset` parameter: only rows for them (every asset when the
    /// query names none).
    PeriodAsset,
    /// The query's `asset` parameter: only rows for its blast radius (everything when the query
    /// names none).
    Asset,
}

/// Which of the Rust model's two inputs building a table loads, directly or through the
/// exposure built from both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inputs {
    /// Neither: a plan over the lake, the calendar or the revenue.
    Neither,
    Incidents,
    Customers,
    Both,
}

/// A derived table: its name, what one row is, and what its rows depend on.
pub struct TableDef {
    pub name: &'static str,
    pub row: &'static str,
    pub scope: Scope,
    /// What it loads of the model (a run that will read tables needing both loads them side
    /// by side; the model's tests check each entry against what building it loads).
    pub inputs: Inputs,
    /// Rows grow with the product of incidents and customers (or customers and months or
    /// assets): for ad-hoc SQL on small lakes; no canned query reads it whole
    /// (blast-radius reads `asset_customers` of one asset).
    pub fan_out: bool,
}

const fn t(
    name: &'static str,
    row: &'static str,
    scope: Scope,
    inputs: Inputs,
    fan_out: bool,
) -> TableDef {
    TableDef {
        name,
        row,
        scope,
        inputs,
        fan_out,
    }
}

/// Every derived table, in listing order.
pub const TABLES: &[TableDef] = &[
    t(
        "months",
        "reporting month from the first data to the as-of month (`month`, bounds, `complete`, `minutes`, `year_ago_month`)",
        Scope::Run,
        Inputs::Neither,
        false,
    ),
    t(
        "incident_response",
        "incident: severity, impact, open at as-of, month; time to detect, acknowledge, first notice, mitigate, resolve",
        Scope::Run,
        Inputs::Neither,
        false,
    ),
    t(
        "incident_timings",
        "incident started in the query's period: the columns of `incident_response` and its downtime",
        Scope::Period,
        Inputs::Incidents,
        false,
    ),
    t(
        "outages",
        "merged downtime interval of an asset, split by month",
        Scope::Run,
        Inputs::Incidents,
        false,
    ),
    t(
        "downtime_all",
        "merged downtime of all assets together, split by month",
        Scope::Run,
        Inputs::Incidents,
        false,
    ),
    t(
        "change_outcomes",
        "change started in the query's period: completed, failed, incidents caused, counts as failure",
        Scope::Period,
        Inputs::Neither,
        false,
    ),
    t(
        "change_cells",
        "(month, asset, outcome) of the changes started in the query's period: changes, completed, failed, with an incident, incidents caused, failures",
        Scope::Period,
        Inputs::Neither,
        false,
    ),
    t(
        "change_months",
        "month of the query's period with changes: changes, completed, failed (incl. rolled back), succeeded but caused an incident, failures (the change failure rate's numerator)",
        Scope::Period,
        Inputs::Neither,
        false,
    ),
    t(
        "change_assets",
        "asset with changes in the query's period (only the query's `asset`, if it names one): the columns of `change_months`",
        Scope::PeriodAsset,
        Inputs::Neither,
        false,
    ),
    t(
        "mrr_movements",
        "customer × month: MRR, previous MRR, movement kind and amount (with a period: its months and the one before)",
        Scope::Period,
        Inputs::Neither,
        false,
    ),
    t(
        "mrr_months",
        "month the revenue covers: MRR, churned MRR, 12-month net revenue retention (its base and kept MRR): `mrr_movements` summed",
        Scope::Run,
        Inputs::Neither,
        false,
    ),
    t(
        "incident_months",
        "month of the trend window: incidents by severity; mean, median, p90 time to acknowledge and to resolve; mean time to first notice",
        Scope::Trend,
        Inputs::Neither,
        false,
    ),
    t(
        "incident_trend",
        "metric: Mann–Kendall test and verdict over the trend window",
        Scope::Trend,
        Inputs::Neither,
        false,
    ),
    t(
        "customer_status",
        "customer: active, full churn date, ARR",
        Scope::Run,
        Inputs::Customers,
        false,
    ),
    t(
        "customer_groups",
        "customer: their exposure group (customers who depend on the same set of assets)",
        Scope::Run,
        Inputs::Customers,
        false,
    ),
    t(
        "group_assets",
        "exposure group × asset whose failure reaches its customers",
        Scope::Run,
        Inputs::Customers,
        false,
    ),
    t(
        "asset_exposure",
        "asset: customers whose closure holds it, and their ARR",
        Scope::Run,
        Inputs::Customers,
        false,
    ),
    t(
        "incident_reach",
        "incident with an impact started in the query's period: customers and ARR it reached, whether it names customers",
        Scope::Period,
        Inputs::Both,
        false,
    ),
    t(
        "incident_named_customers",
        "incident with an impact × customer it names (`exposed`: the asset reaches them anyway)",
        Scope::Run,
        Inputs::Both,
        false,
    ),
    t(
        "availability_months",
        "month: customer-months, their mean availability, downtime and minutes",
        Scope::Run,
        Inputs::Both,
        false,
    ),
    t(
        "customer_period",
        "customer: availability, incidents and open incidents in the query's period; incidents and downtime in the 90 days to its end",
        Scope::Period,
        Inputs::Both,
        false,
    ),
    t(
        "churn_exposure",
        "churn event: the incidents and downtime that reached the customer in the 90 days before",
        Scope::Period,
        Inputs::Both,
        false,
    ),
    t(
        "churn_exposure_assets",
        "churn event × asset whose incidents (with downtime) reached the customer in the 90 days before",
        Scope::Period,
        Inputs::Both,
        false,
    ),
    t(
        "sla_periods",
        "SLA × SLA period overlapping the query's period: attainment, breach, credit, fee, error budget",
        Scope::Period,
        Inputs::Both,
        false,
    ),
    t(
        "sla_current",
        "SLA: its latest period (running at as-of, or its last); with an `asset` parameter, only the SLAs of the active customers it reaches (its blast radius)",
        Scope::Asset,
        Inputs::Both,
        false,
    ),
    t(
        "sla_credit_assets",
        "credited availability SLA period overlapping the query's period × asset: downtime and share of the credit",
        Scope::Period,
        Inputs::Both,
        false,
    ),
    t(
        "sla_credit_by_asset",
        "asset × start of a credited availability SLA period overlapping the query's period: sum of the asset's credit shares",
        Scope::Period,
        Inputs::Both,
        false,
    ),
    t(
        "sla_incidents",
        "time SLA period overlapping the query's period × in-scope incident: actual vs target minutes",
        Scope::Period,
        Inputs::Both,
        true,
    ),
    t(
        "asset_customers",
        "asset × customer who depends on it (directly or through the graph), churned or not; with an `asset` parameter, only that asset's (its blast radius)",
        Scope::Asset,
        Inputs::Customers,
        true,
    ),
    t(
        "customer_incidents",
        "incident × customer it reached (impact other than none)",
        Scope::Run,
        Inputs::Both,
        true,
    ),
    t(
        "customer_outages",
        "merged downtime interval of a customer",
        Scope::Run,
        Inputs::Both,
        true,
    ),
    t(
        "customer_months",
        "customer × month while a customer: minutes, downtime, availability",
        Scope::Run,
        Inputs::Both,
        true,
    ),
];

/// The definition of a derived table.
pub fn table_def(name: &str) -> Option<&'static TableDef> {
    TABLES.iter().find(|t| t.name == name)
}

/// What a table build depends on besides the model's run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scoped {
    /// Months of the incident trend window (ending with the last full month).
    pub trend_months: u32,
    /// The query's period, if it has one.
    pub window: Option<Window>,
    /// The query's `asset` parameter, if it has one.
    pub asset: Option<String>,
}

type CacheKey = (&'static str, u32, Option<Window>, Option<String>);

/// A table's key in the run's cache: its name and what its scope depends on.
fn cache_key(def: &TableDef, scoped: &Scoped) -> CacheKey {
    match def.scope {
        Scope::Run => (def.name, 0, None, None),
        Scope::Trend => (def.name, scoped.trend_months, None, None),
        Scope::Period => (def.name, 0, scoped.window, None),
        Scope::PeriodAsset => (def.name, 0, scoped.window, scoped.asset.clone()),
        Scope::Asset => (def.name, 0, None, scoped.asset.clone()),
    }
}

/// Stack size of the project's own threads: polars' planner recurses deeply on the canned SQL
/// (a debug build overflowed the 2 MiB a spawned thread gets by default); the main thread has
/// 8 MiB. Only reserved, not touched.
const THREAD_STACK: usize = 64 << 20;

/// A builder for one of the project's own threads (the model's, the table worker's, the
/// ingest stages'), named `opsintel-NAME`, with [`THREAD_STACK`].
pub(crate) fn thread(name: &str) -> std::thread::Builder {
    std::thread::Builder::new()
        .name(format!("opsintel-{name}"))
        .stack_size(THREAD_STACK)
}

/// `a` in this thread and `b` in a second one, side by side (the model's walks are one thread
/// each, and the machine has two cores); both here, one after the other, if a second thread
/// cannot be started.
pub(crate) fn side_by_side<A, B: Send>(a: impl FnOnce() -> A, b: impl Fn() -> B + Sync) -> (A, B) {
    std::thread::scope(|s| {
        let b = &b;
        let other = thread("model").spawn_scoped(s, b);
        let a = a();
        let b = match other {
            Ok(h) => h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
            Err(_) => b(),
        };
        (a, b)
    })
}

/// `f` over `0..n` in two halves, side by side: the first half's result, then the second's.
pub(crate) fn halves<T: Send>(n: usize, f: impl Fn(std::ops::Range<usize>) -> T + Sync) -> (T, T) {
    let mid = n / 2;
    side_by_side(|| f(0..mid), || f(mid..n))
}

/// The derived tables polars computes from the lake's scans alone, without the Rust model:
/// those a run can build ahead in a second thread ([`Model::build_ahead`]).
const LAKE_TABLES: [&str; 3] = ["change_months", "change_assets", "incident_months"];

/// The tables built from the run's whole revenue ([`Model::revenue`]).
const REVENUE_TABLES: [&str; 2] = ["mrr_months", "mrr_movements"];

/// The tables that count changes: from the whole history's `change_cells` when a run shares
/// them ([`Model::share_change_counts`]).
pub const CHANGE_TABLES: [&str; 3] = ["change_cells", "change_months", "change_assets"];

/// The cache key of the whole history's `change_cells`.
const ALL_CHANGE_CELLS: CacheKey = ("change_cells", 0, None, None);

/// The format of the kept change facts, part of their key: raised when what they hold changes,
/// so a lake's facts of an older format are counted again.
const FACTS_FORMAT: u32 = 3;

/// Where the change facts of zone `tz` are kept: the names of their two tables (one pair per
/// zone) and their key, made of their format and the stamps of the changes and incidents they
/// are counted from ([`Source::stamp`]). `None` when the source keeps no derived table.
fn facts_key(src: &dyn Source, tz: Tz) -> Option<([String; 2], String)> {
    let changes = src.stamp(DatasetKind::Changes)?;
    let incidents = src.stamp(DatasetKind::Incidents)?;
    let zone = tz.name().replace('/', "~");
    Some((
        [
            format!("change_cells-{zone}"),
            format!("change_hits-{zone}"),
        ],
        format!("f{FACTS_FORMAT}-c{changes}-i{incidents}"),
    ))
}

/// The change facts as plans: `cells` and `hits` of [`tables::ChangeFacts`].
type FactPlans = (LazyFrame, LazyFrame);

/// The change facts kept for the source's current changes and incidents and zone `tz`.
fn kept_facts(src: &dyn Source, tz: Tz) -> Result<Option<FactPlans>> {
    let Some(([cells, hits], key)) = facts_key(src, tz) else {
        return Ok(None);
    };
    match (src.kept(&cells, &key)?, src.kept(&hits, &key)?) {
        (Some(cells), Some(hits)) => Ok(Some((cells, hits))),
        _ => Ok(None),
    }
}

/// The change facts counted now (a scan of every change), and kept for later runs. Keeping is
/// only a saving: a lake this run cannot write to is answered all the same, with a note on
/// stderr.
fn count_facts(src: &dyn Source, tz: Tz, trace: Trace) -> Result<FactPlans> {
    let mut facts = trace.time("model: change facts", || tables::change_facts(src, tz))?;
    if let Some(([cells, hits], key)) = facts_key(src, tz) {
        // The hits first: facts are read only when both files are there.
        let kept = src
            .keep(&hits, &key, &mut facts.hits)
            .and_then(|_| src.keep(&cells, &key, &mut facts.cells));
        if let Err(e) = kept {
            eprintln!("opsintel: note: the change counts were not kept in the lake: {e}");
        }
    }
    Ok((facts.cells.lazy(), facts.hits.lazy()))
}

/// The whole history's changes counted per (month, asset, outcome) for the calendar's as-of
/// and zone, summed from the change facts ([`tables::cells_from_facts`]).
fn all_change_cells(
    src: &dyn Source,
    cal: &Calendar,
    (cells, hits): FactPlans,
) -> Result<DataFrame> {
    let months: Vec<usize> = (0..cal.months.len()).collect();
    tables::cells_from_facts(src, cal, cells, hits, &months)?
        .collect()
        .map_err(Error::polars("model: change_cells"))
}

/// What a run's change tables are summed from ([`Model::shared_change_table`]).
enum Sums<'a> {
    /// The whole history's cells, built once for the run.
    Cells(DataFrame),
    /// Kept facts, of only the months a table needs.
    Facts(&'a FactPlans),
}

/// Build one of [`LAKE_TABLES`].
fn lake_table(src: &dyn Source, cal: &Calendar, name: &str, scoped: &Scoped) -> Result<DataFrame> {
    match name {
        "change_months" => tables::change_sums(
            tables::change_counts(src, cal, scoped.window, &[ChangeKey::Month])?,
            "month",
        ),
        "change_assets" => {
            let plan = tables::change_counts(src, cal, scoped.window, &[ChangeKey::Asset])?;
            // One asset's changes: the filter reaches the scan of the changes.
            let plan = match &scoped.asset {
                Some(a) => plan.filter(col("asset_id").eq(lit(a.as_str()))),
                None => plan,
            };
            tables::change_sums(plan, "asset_id")
        }
        "incident_months" => {
            // Only the trend window's month partitions are read.
            let span = trend::span(cal, &trend::window(cal, scoped.trend_months));
            trend::incident_months(
                tables::incident_response_times(src, cal, Some(span))?,
                cal,
                scoped.trend_months,
            )
        }
        other => Err(Error::Usage(format!(
            "`{other}` is not built from the lake alone"
        ))),
    }
}

/// How much memory the cached derived tables of a run may hold together (polars' estimate).
/// A report runs a dozen queries over one model; at 10 M incidents their tables together did
/// not fit beside the model, so the least recently used go first (and are built again if a
/// later query names them). Every table of a 1 M lake's report fits.
const TABLE_CACHE_BYTES: usize = 3 << 30;

/// Built tables by name and scope, with their last use.
#[derive(Default)]
struct TableCache {
    tables: HashMap<CacheKey, (DataFrame, u64)>,
    clock: u64,
}

impl TableCache {
    fn get(&mut self, key: &CacheKey) -> Option<DataFrame> {
        self.clock += 1;
        let (df, used) = self.tables.get_mut(key)?;
        *used = self.clock;
        Some(df.clone())
    }

    /// Keep `df`, then drop the least recently used others while all exceed `budget` bytes.
    fn insert(&mut self, key: CacheKey, df: DataFrame, budget: usize) {
        self.clock += 1;
        self.tables.insert(key.clone(), (df, self.clock));
        let mut total: usize = self.tables.values().map(|(d, _)| d.estimated_size()).sum();
        while total > budget {
            let Some((old, _)) = self
                .tables
                .iter()
                .filter(|(k, _)| **k != key)
                .min_by_key(|(_, (_, used))| *used)
            else {
                break;
            };
            let old = old.clone();
            if let Some((d, _)) = self.tables.remove(&old) {
                total -= d.estimated_size();
            }
        }
    }
}

/// The model of one run and policy: shared pieces built on first use, tables cached. The run's
/// threads share it (the report answers two queries at a time, `Session::answer_all`): a table
/// one thread is building is waited for by another that needs it ([`Model::claim`]); the
/// pieces ([`once`]) are not, so a run builds them before it answers queries side by side.
pub struct Model {
    src: Arc<dyn Source>,
    as_of: DateTime<Utc>,
    tz: Tz,
    policy: Policy,
    cal: OnceLock<Calendar>,
    incidents: OnceLock<Incidents>,
    customers: OnceLock<Customers>,
    exposure: OnceLock<Exposure>,
    revenue: OnceLock<mrr::Revenue>,
    mrr_of: OnceLock<Vec<Option<u32>>>,
    slas: OnceLock<sla::Terms>,
    cache: Mutex<TableCache>,
    /// The tables a thread is building now: another thread needing one waits for it
    /// ([`Model::table`]) rather than building it too.
    building: Mutex<HashSet<CacheKey>>,
    /// Signalled when a table leaves `building`.
    built: Condvar,
    /// Tables being built ahead in a second thread.
    ahead: Mutex<ahead::Ahead<CacheKey>>,
    /// Load incidents and customers together on the first need of either: the run will read
    /// tables that need both ([`Model::build_ahead`]).
    together: AtomicBool,
    /// Build the revenue and the exposure side by side on the first need of either: the run
    /// will read tables that need each ([`Model::build_ahead`]).
    revenue_with_exposure: AtomicBool,
    /// The run will read SLA tables: their other pieces are built beside the exposure
    /// ([`Model::revenue_beside_exposure`]).
    slas_ahead: AtomicBool,
    /// The run will read `mrr_months`: it is built beside the exposure too, and put aside in
    /// `months_early` until taken. A special case of the table cache, since the build that
    /// takes it may be the one that asked for the revenue; without it the 10 M report took
    /// 0.7 s longer (22.3 → 23.0 s, three runs each, alternating, in review).
    months_ahead: AtomicBool,
    months_early: Mutex<Option<DataFrame>>,
    /// The run's change tables come from one count of the whole history by (month, asset,
    /// outcome), built ahead ([`Model::share_change_counts`]).
    shared_changes: AtomicBool,
    /// The change facts an earlier run kept, if any ([`Model::kept_facts`]), once looked for.
    kept_facts: OnceLock<Option<FactPlans>>,
    /// The windows the run said it will read `sla_periods` for
    /// ([`Model::announce_sla_periods`]): windows that overlap or touch are built in one pass
    /// ([`sla_span`]).
    sla_windows: Mutex<Vec<Window>>,
    trace: Trace,
}

/// A table one thread of the run is building ([`Model::claim`]): dropped when the build ends,
/// built or failed, which lets threads waiting for it go on.
struct Building<'a> {
    model: &'a Model,
    key: CacheKey,
}

impl Drop for Building<'_> {
    fn drop(&mut self) {
        lock(&self.model.building).remove(&self.key);
        self.model.built.notify_all();
    }
}

/// `m` locked. A thread that panicked holding one of the model's locks left no value half
/// changed (each is replaced or inserted whole), so a poisoned lock is used as it is.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The span to build `sla_periods` over for `w`: the union of `w` and the announced windows
/// that overlap or touch it, directly or through one another (the report's period and the one
/// before it are one pass over the SLAs instead of two). Empty windows are never joined: an
/// empty window has no SLA periods, but the period holding its instant overlaps the span.
fn sla_span(w: Window, announced: &[Window]) -> Window {
    let mut span = w;
    if w.start >= w.end {
        return span;
    }
    loop {
        let grown = announced
            .iter()
            .filter(|a| a.start < a.end && a.start <= span.end && a.end >= span.start)
            .fold(span, |s, a| Window {
                start: s.start.min(a.start),
                end: s.end.max(a.end),
            });
        if grown == span {
            return span;
        }
        span = grown;
    }
}

/// Step timings on stderr, when asked for (`--timings`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Trace(pub bool);

impl Trace {
    /// Run `f`, reporting how long it took as `what`.
    pub fn time<T>(self, what: &str, f: impl FnOnce() -> T) -> T {
        if !self.0 {
            return f();
        }
        let t = std::time::Instant::now();
        let v = f();
        eprintln!("timing: {what}: {:.3} s", t.elapsed().as_secs_f64());
        v
    }
}

/// The piece in `cell`, built by `f` on first use. Two threads that both find it missing both
/// build it and the first one's is kept (the same value: a piece is a function of the run):
/// correct, but twice the work, so a run that goes on in several threads builds the pieces
/// first ([`Model`]).
fn once<'a, T>(
    cell: &'a OnceLock<T>,
    trace: Trace,
    what: &str,
    f: impl FnOnce() -> Result<T>,
) -> Result<&'a T> {
    if let Some(v) = cell.get() {
        return Ok(v);
    }
    let v = trace.time(what, f)?;
    Ok(cell.get_or_init(|| v))
}

impl Model {
    pub fn new(
        src: Arc<dyn Source>,
        as_of: DateTime<Utc>,
        tz: Tz,
        policy: Policy,
        trace: Trace,
    ) -> Self {
        Model {
            src,
            as_of,
            tz,
            policy,
            cal: OnceLock::new(),
            incidents: OnceLock::new(),
            customers: OnceLock::new(),
            exposure: OnceLock::new(),
            revenue: OnceLock::new(),
            mrr_of: OnceLock::new(),
            slas: OnceLock::new(),
            cache: Mutex::default(),
            building: Mutex::default(),
            built: Condvar::new(),
            ahead: Mutex::default(),
            together: Default::default(),
            revenue_with_exposure: Default::default(),
            slas_ahead: Default::default(),
            months_ahead: Default::default(),
            months_early: Mutex::default(),
            sla_windows: Mutex::default(),
            shared_changes: Default::default(),
            kept_facts: OnceLock::new(),
            trace,
        }
    }

    fn cal(&self) -> Result<&Calendar> {
        once(&self.cal, self.trace, "model: calendar", || {
            Calendar::build(&*self.src, self.as_of, self.tz)
        })
    }
    /// The incidents; with the customers beside them if the run said it will read both
    /// ([`Model::build_ahead`]).
    fn incidents(&self) -> Result<&Incidents> {
        if self.together.load(Ordering::Relaxed) {
            return Ok(self.inputs()?.0);
        }
        self.load_incidents()
    }
    fn customers(&self) -> Result<&Customers> {
        if self.together.load(Ordering::Relaxed) {
            return Ok(self.inputs()?.1);
        }
        self.load_customers()
    }
    fn load_incidents(&self) -> Result<&Incidents> {
        once(&self.incidents, self.trace, "model: incidents", || {
            Incidents::load(&*self.src, self.as_of.timestamp_micros(), self.policy)
        })
    }
    fn load_customers(&self) -> Result<&Customers> {
        once(
            &self.customers,
            self.trace,
            "model: customers and exposure groups",
            || Customers::load(&*self.src, self.as_of, self.tz),
        )
    }
    /// Incidents and customers. When neither is built yet they load side by side: each is a
    /// scan and then a walk in one thread, and the machine has more than one core.
    fn inputs(&self) -> Result<(&Incidents, &Customers)> {
        if self.incidents.get().is_none() && self.customers.get().is_none() {
            let (src, as_of, tz, policy, trace) =
                (&*self.src, self.as_of, self.tz, self.policy, self.trace);
            let (inc, cu) = side_by_side(
                || {
                    trace.time("model: incidents", || {
                        Incidents::load(src, as_of.timestamp_micros(), policy)
                    })
                },
                || {
                    trace.time("model: customers and exposure groups", || {
                        Customers::load(src, as_of, tz)
                    })
                },
            );
            // Set only if still empty: a run builds its pieces before it answers queries side
            // by side ([`Model`]).
            let _ = self.incidents.set(inc?);
            let _ = self.customers.set(cu?);
        }
        let both = (self.load_incidents()?, self.load_customers()?);
        // Both are in, however they were loaded: tables held back meanwhile may now be built
        // ahead (nothing to do if none were).
        lock(&self.ahead).release();
        Ok(both)
    }

    /// Incidents, customers and the exposure built from both.
    fn exposed(&self) -> Result<(&Incidents, &Customers, &Exposure)> {
        let ((inc, cu), cal) = (self.inputs()?, self.cal()?);
        self.revenue_beside_exposure()?;
        let ex = once(&self.exposure, self.trace, "model: exposure", || {
            Ok(Exposure::build(inc, cu, cal))
        })?;
        Ok((inc, cu, ex))
    }

    /// If the run said it will read tables of both and neither is built yet: the revenue in
    /// this thread and the exposure in a second one, side by side. Each is one thread's walk
    /// (the revenue's after a scan); one after the other they left a core idle for both.
    fn revenue_beside_exposure(&self) -> Result<()> {
        if !self.revenue_with_exposure.load(Ordering::Relaxed)
            || self.revenue.get().is_some()
            || self.exposure.get().is_some()
        {
            return Ok(());
        }
        let ((inc, cu), cal, trace) = (self.inputs()?, self.cal()?, self.trace);
        let (revenue, exposure) = side_by_side(
            || {
                let revenue = trace.time("model: revenue", || self.build_revenue())?;
                // Set only if still empty: a run builds its pieces before it answers queries
                // side by side ([`Model`]).
                let _ = self.revenue.set(revenue);
                // The exposure takes longer than the revenue (5.3 s against 3.0 s at 10 M
                // incidents): the pieces the SLA tables need besides the exposure are built
                // here meanwhile, if the run will read them. An error is left for the table
                // that needs the piece to meet (nothing is set).
                if self.slas_ahead.load(Ordering::Relaxed) {
                    let _ = self.terms().and_then(|_| self.revenue_by_customer());
                }
                // So is `mrr_months` (the run's thread may be building it: it is put aside
                // for that build to take, [`Model::build`]).
                if self.months_ahead.load(Ordering::Relaxed)
                    && let Ok(months) = trace.time("table mrr_months (beside the exposure)", || {
                        mrr::months(self.revenue()?, cal)
                    })
                {
                    *lock(&self.months_early) = Some(months);
                }
                Ok(())
            },
            || trace.time("model: exposure", || Exposure::build(inc, cu, cal)),
        );
        let _ = self.exposure.set(exposure);
        revenue
    }

    /// The SLAs with their scopes resolved against the incidents and customers.
    fn terms(&self) -> Result<&sla::Terms> {
        let (inc, cu) = self.inputs()?;
        once(&self.slas, self.trace, "model: slas", || {
            // Every column of the SLAs.
            let slas = self
                .src
                .scan(DatasetKind::Slas)?
                .collect()
                .map_err(Error::polars("reading slas"))?;
            sla::Terms::new(slas, inc, cu)
        })
    }

    /// The run's revenue and each customer's number in it (`None`: no revenue rows).
    fn revenue_by_customer(&self) -> Result<(&mrr::Revenue, &[Option<u32>])> {
        let (revenue, cu) = (self.revenue()?, self.customers()?);
        let of = once(
            &self.mrr_of,
            self.trace,
            "model: revenue by customer",
            || Ok(mrr::customer_numbers(revenue, cu)),
        )?;
        Ok((revenue, of))
    }

    /// A derived table that is a polars plan over the lake (not built in Rust), so that SQL
    /// reading it fuses with it: its filters and aggregations run in the same plan as the scan
    /// and the row-level table is never materialised. `None` for tables built in Rust.
    pub fn plan(&self, name: &str, scoped: &Scoped) -> Result<Option<LazyFrame>> {
        match name {
            "change_outcomes" => Ok(Some(tables::change_outcomes(
                &*self.src,
                self.cal()?,
                scoped.window,
            )?)),
            "incident_response" => Ok(Some(tables::incident_response(
                &*self.src,
                self.cal()?,
                None,
            )?)),
            "change_cells" => match self.shared_change_table(name, scoped)? {
                Some(plan) => Ok(Some(plan)),
                None => Ok(Some(tables::change_counts(
                    &*self.src,
                    self.cal()?,
                    scoped.window,
                    &[ChangeKey::Month, ChangeKey::Asset, ChangeKey::Outcome],
                )?)),
            },
            _ => Ok(None),
        }
    }

    /// Start building, in a second thread, those of the tables `names` (with `scoped`) that
    /// polars computes from the lake alone ([`LAKE_TABLES`]): a run that knows what it will
    /// read gets them while its own thread builds the model. Each call's tables are built after
    /// those of the calls before it. [`Model::table`] takes each from there, or builds it
    /// itself if the worker has not started it. If the tables need both of the model's inputs
    /// ([`TableDef::inputs`]), those load side by side when the first of them is needed, and
    /// the worker starts after them ([`ahead::Ahead::hold`]).
    pub fn build_ahead<'n>(
        &self,
        names: impl IntoIterator<Item = &'n str>,
        scoped: &Scoped,
    ) -> Result<()> {
        let mut jobs = Vec::new();
        let (mut incidents, mut customers, mut changes) = (false, false, false);
        let (mut exposure, mut revenue) = (false, false);
        let (mut slas, mut months) = (false, false);
        for def in names.into_iter().filter_map(table_def) {
            incidents |= matches!(def.inputs, Inputs::Incidents | Inputs::Both);
            customers |= matches!(def.inputs, Inputs::Customers | Inputs::Both);
            exposure |= def.inputs == Inputs::Both;
            revenue |= REVENUE_TABLES.contains(&def.name);
            slas |= def.name.starts_with("sla_");
            months |= def.name == "mrr_months";
            let key = cache_key(def, scoped);
            if self.shared_changes.load(Ordering::Relaxed) && CHANGE_TABLES.contains(&def.name) {
                changes = true;
                continue;
            }
            if LAKE_TABLES.contains(&def.name) && !lock(&self.cache).tables.contains_key(&key) {
                jobs.push((key, def.name));
            }
        }
        if exposure && revenue {
            self.revenue_with_exposure.store(true, Ordering::Relaxed);
            // Each query's tables are announced in a call of their own: a flag once set stays.
            if slas {
                self.slas_ahead.store(true, Ordering::Relaxed);
            }
            if months {
                self.months_ahead.store(true, Ordering::Relaxed);
            }
        }
        if incidents && customers {
            self.together.store(true, Ordering::Relaxed);
            // The two inputs will load side by side on both cores: the worker waits for them.
            if self.incidents.get().is_none() && self.customers.get().is_none() {
                lock(&self.ahead).hold();
            }
        }
        if changes && !lock(&self.ahead).has(&ALL_CHANGE_CELLS) && self.kept_facts()?.is_none() {
            let (src, cal, trace) = (self.src.clone(), self.cal()?.clone(), self.trace);
            lock(&self.ahead).start(vec![(ALL_CHANGE_CELLS, ())], move |_| {
                trace.time("table change_cells of the whole history (ahead)", || {
                    all_change_cells(&*src, &cal, count_facts(&*src, cal.tz, trace)?)
                })
            });
        }
        if jobs.is_empty() {
            return Ok(());
        }
        let (src, cal, trace) = (self.src.clone(), self.cal()?.clone(), self.trace);
        let scoped = scoped.clone();
        lock(&self.ahead).start(jobs, move |name| {
            trace.time(&format!("table {name} (ahead)"), || {
                lake_table(&*src, &cal, name, &scoped)
            })
        });
        Ok(())
    }

    /// Wait until the tables asked for by [`Model::build_ahead`] are built. A run need not:
    /// [`Model::table`] waits for the one it takes; this is for tests that want the worker's
    /// tables rather than their own thread's.
    pub fn wait_ahead(&self) {
        lock(&self.ahead).wait();
    }

    /// The run will read change tables for several windows (the executive report reads
    /// six): count the whole history's changes once, per (month, asset, outcome), in the
    /// worker (from the change facts, kept in the lake for later runs), and sum each change
    /// table of a window starting at a month start from it once it is built
    /// ([`tables::cells_within`]); until then, and for other windows, each is counted from the
    /// changes as usual. Call before [`Model::build_ahead`], which queues the count.
    pub fn share_change_counts(&self) {
        self.shared_changes.store(true, Ordering::Relaxed);
    }

    /// The run will read `sla_periods` for `window` (besides others it announces): windows
    /// that overlap or touch are then built in one pass over the SLAs ([`sla_span`]). Only for
    /// what a run announces before it reads any: a window announced after its neighbour was
    /// built would make the pass over both a second one.
    pub fn announce_sla_periods(&self, window: Window) {
        let mut windows = lock(&self.sla_windows);
        if !windows.contains(&window) {
            windows.push(window);
        }
    }

    /// The change facts an earlier run kept for this lake and zone, if any (looked for once:
    /// those this run counts are summed where it counts them).
    fn kept_facts(&self) -> Result<Option<&FactPlans>> {
        if self.kept_facts.get().is_none() {
            let kept = kept_facts(&*self.src, self.tz)?;
            let _ = self.kept_facts.set(kept);
        }
        Ok(self.kept_facts.get().and_then(Option::as_ref))
    }

    /// The whole history's `change_cells`: summed from kept facts, if an earlier run kept
    /// them; else if the run shares them and they are built.
    fn shared_cells(&self) -> Result<Option<DataFrame>> {
        if let Some(df) = lock(&self.cache).get(&ALL_CHANGE_CELLS) {
            return Ok(Some(df));
        }
        if let Some(kept) = self.kept_facts()? {
            // Summing kept facts takes less than counting one month's changes: any run does
            // it, here, rather than wait for the worker.
            let df = self
                .trace
                .time("table change_cells of the whole history (kept)", || {
                    all_change_cells(&*self.src, self.cal()?, kept.clone())
                })?;
            lock(&self.cache).insert(ALL_CHANGE_CELLS, df.clone(), TABLE_CACHE_BYTES);
            return Ok(Some(df));
        }
        if !self.shared_changes.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let built = lock(&self.ahead).take_if_done(&ALL_CHANGE_CELLS);
        let Some(df) = built.transpose()? else {
            return Ok(None);
        };
        lock(&self.cache).insert(ALL_CHANGE_CELLS, df.clone(), TABLE_CACHE_BYTES);
        Ok(Some(df))
    }

    /// A change table ([`CHANGE_TABLES`]) summed from cells, if the window starts at a month
    /// start ([`tables::cells_within`]) and there are cells: a run that shares its change
    /// counts sums the whole history's once built; any other run sums the kept facts of only
    /// the window's months, if kept. `change_cells` as a plan, the others built.
    fn shared_change_table(&self, name: &str, scoped: &Scoped) -> Result<Option<LazyFrame>> {
        let cal = self.cal()?;
        let kept = self.kept_facts()?;
        let sums = match kept {
            Some(facts) if !self.shared_changes.load(Ordering::Relaxed) => Sums::Facts(facts),
            _ => match self.shared_cells()? {
                Some(cells) => Sums::Cells(cells),
                None => return Ok(None),
            },
        };
        let whole = |months: &[usize]| match &sums {
            Sums::Cells(cells) if scoped.window.is_none() => Ok(cells.clone().lazy()),
            Sums::Cells(cells) => tables::cells_of(cells, cal, months),
            Sums::Facts((cells, hits)) => {
                tables::cells_from_facts(&*self.src, cal, cells.clone(), hits.clone(), months)
            }
        };
        // The part of a month a window ends in: from the kept hits if there are, else
        // counted from the changes and incidents.
        let tail = |part: Window| match kept {
            Some((_, hits)) => tables::part_from_facts(&*self.src, cal, hits.clone(), part),
            None => tables::change_counts(
                &*self.src,
                cal,
                Some(part),
                &[ChangeKey::Month, ChangeKey::Asset, ChangeKey::Outcome],
            ),
        };
        let Some(within) = tables::cells_within(cal, scoped.window, whole, tail)? else {
            return Ok(None);
        };
        Ok(Some(match name {
            "change_months" => {
                tables::change_sums(tables::cells_by(within, ChangeKey::Month), "month")?.lazy()
            }
            "change_assets" => {
                let within = match &scoped.asset {
                    Some(a) => within.filter(col("asset_id").eq(lit(a.as_str()))),
                    None => within,
                };
                tables::change_sums(tables::cells_by(within, ChangeKey::Asset), "asset_id")?.lazy()
            }
            _ => within,
        }))
    }

    pub fn table(&self, name: &str, scoped: &Scoped) -> Result<DataFrame> {
        let def = table_def(name)
            .ok_or_else(|| Error::Usage(format!("no derived table named `{name}`")))?;
        let key = cache_key(def, scoped);
        let _building = match self.claim(&key) {
            Ok(building) => building,
            Err(cached) => return Ok(cached),
        };
        // The slot out of the lock: taking may wait for the worker to finish the table.
        let slot = lock(&self.ahead).slot(&key);
        let ahead = slot.and_then(|s| s.take());
        let df = match ahead {
            Some(built) => built?,
            None => self.trace.time(&format!("table {}", def.name), || {
                self.build(def.name, scoped)
            })?,
        };
        lock(&self.cache).insert(key, df.clone(), TABLE_CACHE_BYTES);
        Ok(df)
    }

    /// The table of `key` from the cache (`Err`), else the right to build it (`Ok`): while
    /// another thread of the run is building it, wait for that build and take it from the
    /// cache (and build it here only if the cache has let it go meanwhile).
    fn claim(&self, key: &CacheKey) -> std::result::Result<Building<'_>, DataFrame> {
        let mut building = lock(&self.building);
        loop {
            if let Some(df) = lock(&self.cache).get(key) {
                return Err(df);
            }
            if building.insert(key.clone()) {
                return Ok(Building {
                    model: self,
                    key: key.clone(),
                });
            }
            building = self
                .built
                .wait(building)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn build(&self, name: &str, scoped: &Scoped) -> Result<DataFrame> {
        let src = &*self.src;
        // The SLA pass; `only`: just the SLAs of the customers it marks.
        let sla =
            |which: sla::Which, extras: sla::Extras, only: Option<&[bool]>| -> Result<sla::Built> {
                let ((inc, cu, ex), cal) = (self.exposed()?, self.cal()?);
                let terms = self.terms()?;
                // The fee's MRR: from the run's revenue if a table built it; else, for a
                // window, from only the months near it (a single query over one period then
                // reads a fraction of the history, and holds none of it after).
                let near;
                let own_of;
                let mrr = match (self.revenue.get(), which) {
                    (None, sla::Which::Overlapping(w)) => {
                        near = mrr::Revenue::build(&self.revenue_rows(Some(w))?)?;
                        own_of = mrr::customer_numbers(&near, cu);
                        mrr::MonthlyMrr {
                            revenue: &near,
                            of: &own_of,
                        }
                    }
                    _ => {
                        let (revenue, of) = self.revenue_by_customer()?;
                        mrr::MonthlyMrr { revenue, of }
                    }
                };
                sla::build(sla::Pass {
                    terms,
                    mrr: &mrr,
                    inc,
                    cu,
                    ex,
                    cal,
                    which,
                    extras,
                    only,
                })
            };
        let window = scoped.window;
        let overlapping = window.map_or(sla::Which::All, sla::Which::Overlapping);
        match name {
            "months" => tables::months(self.cal()?),
            // Only the period's incidents (their month partitions): the report's headline and
            // troublesome-components ask one month; the whole history at 10 M incidents was a
            // 10 M-row table built in the report's first step.
            "incident_timings" => {
                let response = match window {
                    Some(_) => tables::incident_response(src, self.cal()?, window)?
                        .collect()
                        .map_err(Error::polars("model: incident_timings"))?,
                    None => self.table("incident_response", scoped)?,
                };
                tables::incident_timings(self.incidents()?, response, window)
            }
            "outages" => tables::outages(self.incidents()?, self.cal()?),
            "downtime_all" => tables::downtime_all(self.incidents()?, self.cal()?),
            "change_outcomes" | "incident_response" | "change_cells" => self
                .plan(name, scoped)?
                .expect("a plan")
                .collect()
                .map_err(Error::polars(format!("model: {name}"))),
            "change_months" | "change_assets" => match self.shared_change_table(name, scoped)? {
                Some(summed) => summed
                    .collect()
                    .map_err(Error::polars(format!("model: {name}"))),
                None => lake_table(src, self.cal()?, name, scoped),
            },
            "incident_months" => lake_table(src, self.cal()?, name, scoped),
            "mrr_movements" => {
                // With a period: its months and the one before (the churn rates' starting
                // MRR).
                let cal = self.cal()?;
                let from = window
                    .and_then(|w| cal.index(w.start))
                    .map_or(0, |i| i.saturating_sub(1));
                mrr::movements(self.revenue()?, cal, from)
            }
            "mrr_months" => {
                let revenue = self.revenue()?;
                match lock(&self.months_early).take() {
                    Some(early) => Ok(early),
                    None => mrr::months(revenue, self.cal()?),
                }
            }
            "incident_trend" => trend::table(&self.table("incident_months", scoped)?),
            "customer_status" => tables::customer_status(self.customers()?),
            "customer_groups" => reach::customer_groups(self.customers()?),
            "group_assets" => reach::group_assets(self.customers()?),
            "asset_exposure" => reach::asset_exposure(self.customers()?),
            "incident_reach" => {
                let (inc, cu, ex) = self.exposed()?;
                reach::incident_reach(inc, cu, ex, self.cal()?, window)
            }
            "incident_named_customers" => {
                let (inc, cu, ex) = self.exposed()?;
                reach::incident_named_customers(inc, cu, ex)
            }
            "availability_months" => {
                let (_, cu, ex) = self.exposed()?;
                reach::availability_months(ex, cu, self.cal()?)
            }
            "customer_period" => {
                let cal = self.cal()?;
                let w = window.unwrap_or(Window {
                    start: cal.starts.first().copied().unwrap_or(cal.as_of),
                    end: cal.as_of,
                });
                let (inc, cu, ex) = self.exposed()?;
                reach::customer_period(inc, cu, ex, cal, w)
            }
            "churn_exposure" | "churn_exposure_assets" => {
                let churn = churn_in(src, window)?;
                let (inc, cu, ex) = self.exposed()?;
                if name == "churn_exposure" {
                    reach::churn_exposure(&churn, inc, cu, ex)
                } else {
                    reach::churn_exposure_assets(&churn, inc, cu, ex)
                }
            }
            "sla_periods" => {
                let spans = window.map(|w| (w, sla_span(w, &lock(&self.sla_windows))));
                match spans {
                    // Part of a wider span the run will read: that span's rows overlapping the
                    // window (the same rows, in the same order, as a pass over the window: each
                    // row's figures are its SLA period's, whatever the window).
                    Some((w, span)) if span != w => {
                        let wider = Scoped {
                            window: Some(span),
                            ..scoped.clone()
                        };
                        self.table("sla_periods", &wider)?
                            .lazy()
                            .filter(
                                col("period_start")
                                    .lt(frames::utc(w.end))
                                    .and(col("period_end").gt(frames::utc(w.start))),
                            )
                            .collect()
                            .map_err(Error::polars("model: sla_periods"))
                    }
                    _ => Ok(sla(overlapping, sla::Extras::default(), None)?.periods),
                }
            }
            "sla_current" => {
                // With an asset: the SLAs of the active customers whose closure holds it.
                let cu = self.customers()?;
                let only: Option<Vec<bool>> = scoped.asset.as_ref().map(|a| {
                    let reached = cu.reached_by(a);
                    (cu.list.iter().zip(reached))
                        .map(|(c, r)| r && c.churned.is_none())
                        .collect()
                });
                Ok(sla(sla::Which::Latest, sla::Extras::default(), only.as_deref())?.periods)
            }
            "sla_credit_assets" => {
                let extras = sla::Extras {
                    credit_assets: true,
                    ..Default::default()
                };
                Ok(sla(overlapping, extras, None)?
                    .credit_assets
                    .expect("asked for"))
            }
            "sla_credit_by_asset" => {
                let extras = sla::Extras {
                    credit_by_asset: true,
                    ..Default::default()
                };
                Ok(sla(overlapping, extras, None)?
                    .credit_by_asset
                    .expect("asked for"))
            }
            "sla_incidents" => {
                let extras = sla::Extras {
                    incidents: true,
                    ..Default::default()
                };
                Ok(sla(overlapping, extras, None)?
                    .incidents
                    .expect("asked for"))
            }
            "asset_customers" => reach::asset_customers(self.customers()?, scoped.asset.as_deref()),
            "customer_incidents" => {
                let (inc, cu, ex) = self.exposed()?;
                reach::customer_incidents(inc, cu, ex, self.cal()?)
            }
            "customer_outages" => {
                let (inc, cu, ex) = self.exposed()?;
                reach::customer_outages(inc, cu, ex, self.cal()?)
            }
            "customer_months" => {
                let (_, cu, ex) = self.exposed()?;
                reach::customer_months(ex, cu, self.cal()?)
            }
            other => Err(Error::Usage(format!("no derived table named `{other}`"))),
        }
    }

    /// MRR per customer and month, from every revenue row: built once per run.
    fn revenue(&self) -> Result<&mrr::Revenue> {
        self.revenue_beside_exposure()?;
        once(&self.revenue, self.trace, "model: revenue", || {
            self.build_revenue()
        })
    }
    fn build_revenue(&self) -> Result<mrr::Revenue> {
        mrr::Revenue::build(&self.revenue_rows(None)?)
    }

    /// Revenue rows (customer, month, MRR); with a window, only the months within 100 days of
    /// it (enough for the quarters that overlap it).
    fn revenue_rows(&self, window: Option<Window>) -> Result<DataFrame> {
        let keep = window.map(|w| {
            let day = |t: i64| t.div_euclid(reach::DAY) as i32;
            let lo = lit(day(w.start) - 100).cast(DataType::Date);
            let hi = lit(day(w.end) + 100).cast(DataType::Date);
            col("month").gt_eq(lo).and(col("month").lt_eq(hi))
        });
        self.trace.time("model: revenue rows", || {
            read_where(
                &*self.src,
                DatasetKind::Revenue,
                &["customer_id", "month", "mrr"],
                keep,
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The empty lake, counting the scans of the incidents, each of which takes a while: two
    /// threads building the same table would both scan.
    #[derive(Default)]
    struct SlowIncidents {
        scans: std::sync::atomic::AtomicUsize,
    }

    impl Source for SlowIncidents {
        fn scan(&self, kind: DatasetKind) -> Result<LazyFrame> {
            if kind == DatasetKind::Incidents {
                self.scans.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(300));
            }
            Empty.scan(kind)
        }
    }

    /// Two threads asking for the same table at once: one builds it, the other waits for that
    /// build and takes it (one scan, the same rows); a table of another scope is built apart.
    #[test]
    fn a_table_two_threads_ask_for_at_once_is_built_once() {
        let src = Arc::new(SlowIncidents::default());
        let m = Model::new(
            src.clone(),
            Utc::now(),
            chrono_tz::UTC,
            Policy::default(),
            Trace(false),
        );
        m.cal().unwrap();
        src.scans.store(0, Ordering::SeqCst);
        let scoped = Scoped {
            trend_months: 12,
            ..Default::default()
        };
        let (a, b) = side_by_side(
            || m.table("incident_months", &scoped).unwrap(),
            || m.table("incident_months", &scoped).unwrap(),
        );
        assert_eq!(src.scans.load(Ordering::SeqCst), 1);
        assert!(a.width() > 0 && a.equals_missing(&b));
        let other = Scoped {
            trend_months: 6,
            ..Default::default()
        };
        m.table("incident_months", &other).unwrap();
        assert_eq!(src.scans.load(Ordering::SeqCst), 2);
    }

    /// Each table's declared inputs are what building it loads (on the empty lake, in a model
    /// that was not told to load both together), and every table built ahead is one
    /// `lake_table` builds.
    #[test]
    fn tables_declare_the_model_inputs_they_load() {
        for def in TABLES {
            let m = Model::new(
                Arc::new(Empty),
                Utc::now(),
                chrono_tz::UTC,
                Policy::default(),
                Trace(false),
            );
            let scoped = Scoped {
                trend_months: 12,
                ..Default::default()
            };
            m.table(def.name, &scoped)
                .unwrap_or_else(|e| panic!("{}: {e}", def.name));
            let loaded = (m.incidents.get().is_some(), m.customers.get().is_some());
            let declared = (
                matches!(def.inputs, Inputs::Incidents | Inputs::Both),
                matches!(def.inputs, Inputs::Customers | Inputs::Both),
            );
            assert_eq!(loaded, declared, "{}", def.name);
        }
        let cal = Calendar::build(&Empty, Utc::now(), chrono_tz::UTC).unwrap();
        for name in LAKE_TABLES {
            let def = table_def(name).expect("a derived table");
            assert_eq!(def.inputs, Inputs::Neither, "{name}");
            lake_table(&Empty, &cal, name, &Scoped::default())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn sla_periods_span_the_announced_windows_that_overlap_or_touch() {
        let w = |start: i64, end: i64| Window { start, end };
        // A month, the month before it (touching), and a year-ago month (apart).
        let (cur, prev, year_ago) = (w(30, 60), w(0, 30), w(-330, -300));
        let announced = [cur, prev, year_ago];
        assert_eq!(sla_span(cur, &announced), w(0, 60));
        assert_eq!(sla_span(prev, &announced), w(0, 60));
        assert_eq!(sla_span(year_ago, &announced), year_ago);
        // Joined through one another: a, then c through b.
        let chain = [w(0, 10), w(10, 20), w(15, 40)];
        assert_eq!(sla_span(w(0, 10), &chain), w(0, 40));
        // Nothing announced: the window itself.
        assert_eq!(sla_span(cur, &[]), cur);
        // An empty window (a period after as-of) is never joined, nor joins others.
        let empty = w(60, 60);
        assert_eq!(sla_span(empty, &announced), empty);
        assert_eq!(sla_span(cur, &[cur, empty, w(60, 90)]), w(30, 90));
        assert_eq!(sla_span(w(60, 90), &[empty]), w(60, 90));
    }

    #[test]
    fn halves_cover_the_range_in_order() {
        for n in [0usize, 1, 2, 7, 1000] {
            let (a, b) = halves(n, |r| r.collect::<Vec<usize>>());
            let mut all = a.clone();
            all.extend(&b);
            assert_eq!(all, (0..n).collect::<Vec<_>>(), "n = {n}");
            assert_eq!(a.len(), n / 2, "n = {n}");
        }
    }

    #[test]
    fn the_table_cache_drops_the_least_recently_used_beyond_its_budget() {
        let frame = |n: i64| {
            DataFrame::new_infer_height(vec![Column::new("x".into(), (0..n).collect::<Vec<i64>>())])
                .unwrap()
        };
        assert_eq!(frame(1000).estimated_size(), 8000);
        let key = |name: &'static str| (name, 0, None, None);
        let mut cache = TableCache::default();
        cache.insert(key("a"), frame(1000), 20_000);
        cache.insert(key("b"), frame(1000), 20_000);
        // `a` used again: `b` is now the least recently used.
        assert_eq!(cache.get(&key("a")).map(|d| d.height()), Some(1000));
        cache.insert(key("c"), frame(1000), 20_000);
        assert!(cache.get(&key("b")).is_none());
        assert!(cache.get(&key("a")).is_some());
        assert!(cache.get(&key("c")).is_some());
        // A table larger than the budget on its own is kept (the query needs it), alone.
        cache.insert(key("d"), frame(3000), 20_000);
        assert!(cache.get(&key("d")).is_some());
        assert!(cache.get(&key("a")).is_none() && cache.get(&key("c")).is_none());
    }

    /// Churn events on the given days (`None`: no date), every other dataset empty.
    struct ChurnOn(Vec<Option<chrono::NaiveDate>>);

    impl Source for ChurnOn {
        fn scan(&self, kind: DatasetKind) -> Result<LazyFrame> {
            if kind != DatasetKind::Churn {
                return Empty.scan(kind);
            }
            let n = self.0.len();
            let days: Vec<Option<i32>> = self
                .0
                .iter()
                .map(|d| d.map(|d| (d - chrono::NaiveDate::default()).num_days() as i32))
                .collect();
            let df = DataFrame::new_infer_height(vec![
                Column::new("customer_id".into(), vec!["C1"; n]),
                Column::new("churned_at".into(), days)
                    .cast(&DataType::Date)
                    .unwrap(),
                Column::new("kind".into(), vec!["full"; n]),
                Column::new("mrr_lost".into(), vec![1.0; n]),
                Column::new("reason".into(), vec!["price"; n]),
            ])
            .unwrap();
            Ok(df.lazy())
        }
    }

    #[test]
    fn churn_tables_keep_the_events_dated_inside_the_window() {
        let day = |m: u32, d: u32| chrono::NaiveDate::from_ymd_opt(2026, m, d);
        let src = ChurnOn(vec![day(6, 30), day(7, 1), day(9, 30), day(10, 1), None]);
        let kept = |w: Option<Window>| {
            let df = churn_in(&src, w).unwrap();
            frames::ints(&df, "churned_at").unwrap()
        };
        let days = |ds: &[(u32, u32)]| -> Vec<Option<i64>> {
            ds.iter()
                .map(|&(m, d)| Some((day(m, d).unwrap() - chrono::NaiveDate::default()).num_days()))
                .collect()
        };
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().timestamp_micros();
        // No window: every event, the undated one too.
        assert_eq!(kept(None).len(), 5);
        // 2026-Q3 in UTC: the churn date's midnight (UTC) inside [Jul 1, Oct 1).
        let utc = Window {
            start: at("2026-07-01T00:00:00Z"),
            end: at("2026-10-01T00:00:00Z"),
        };
        assert_eq!(kept(Some(utc)), days(&[(7, 1), (9, 30)]));
        // 2026-Q3 in New York starts and ends at 04:00 UTC: midnight UTC of Jul 1 is before it,
        // that of Oct 1 inside it, as churn-causes compares them.
        let ny = Window {
            start: at("2026-07-01T04:00:00Z"),
            end: at("2026-10-01T04:00:00Z"),
        };
        assert_eq!(kept(Some(ny)), days(&[(9, 30), (10, 1)]));
    }

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
