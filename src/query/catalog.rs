//! The canned-query catalog: every `queries/<name>.sql` with its `<name>.toml` metadata (title,
//! the question it answers, typed parameters, output columns with their definitions, suggested
//! chart). Unknown metadata keys are errors. Loads files; runs nothing.

use crate::error::{Error, Result};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Metadata of one query (`<name>.toml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryMeta {
    pub title: String,
    pub question: String,
    /// Position in listings and reports (the executive question's number).
    #[serde(default)]
    pub order: u32,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub params: Vec<ParamSpec>,
    pub columns: Vec<ColumnSpec>,
    #[serde(default)]
    pub chart: Option<ChartSpec>,
    /// The polars engine that runs it (`in_memory` unless the file says `streaming`).
    #[serde(default)]
    pub engine: QueryEngine,
    /// For a query without a period parameter that reads only its last `months` full months
    /// (ending with the last full month before as-of): its period-scoped tables then hold those
    /// months' rows only, instead of the whole history, and its trend tables
    /// (`incident_months`) cover those months.
    #[serde(default)]
    pub months: Option<u32>,
}

/// Which polars engine collects a query. The streaming engine runs a scan-filter-aggregate
/// plan in bounded batches (faster and smaller: measured in docs/benchmarks.md), but polars
/// 0.55's streaming engine does not implement every plan (some joins panic in it), so a query
/// opts in, and the test suite runs every opted-in query under both engines and compares the
/// answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueryEngine {
    #[default]
    InMemory,
    Streaming,
}

/// A declared parameter.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: ParamType,
    /// Default value as text; absent = required (periods default to the last full month).
    #[serde(default)]
    pub default: Option<String>,
    pub doc: String,
}

/// Parameter types. Values are parsed and checked, then handed to SQL as typed columns of the
/// one-row `params` table, never pasted into SQL text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamType {
    /// `2026-03`, `2026-Q1` or `2026`; gives `<name>_start`, `<name>_end` (UTC timestamps),
    /// `<name>_label`, `<name>_prev_start`, `<name>_prev_end`.
    Period,
    /// A whole number.
    Int,
    /// Free text.
    Text,
    /// An asset_id that must exist in the lake.
    Asset,
    /// A customer_id that must exist in the lake.
    Customer,
    /// The availability policy: strict, weighted or major_only.
    Policy,
}

/// A declared output column.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnSpec {
    pub name: String,
    pub doc: String,
    /// Anchor of its definition in docs/metrics.md, if it is a metric.
    #[serde(default)]
    pub metric: Option<String>,
}

/// The chart a query suggests (drawn by the charts issue).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChartSpec {
    /// bar, stacked_bar, line, line_trend, kpi or heatmap (x = columns, y = [row label, value]).
    pub kind: String,
    /// Column of the categories (bar labels, x axis, tile labels).
    pub x: String,
    /// Value columns (one series each).
    pub y: Vec<String>,
    #[serde(default)]
    pub title: Option<String>,
    /// Axis description for the values, when the column name is not enough.
    #[serde(default)]
    pub y_desc: Option<String>,
    /// Unit appended to KPI tile values (e.g. " d").
    #[serde(default)]
    pub unit: Option<String>,
    /// Keep only rows where `filter_column` equals `filter_value`.
    #[serde(default)]
    pub filter_column: Option<String>,
    #[serde(default)]
    pub filter_value: Option<String>,
    /// How bars with the same label combine: "sum" (default) or "max".
    #[serde(default)]
    pub aggregate: Option<String>,
    /// Most bars or tiles drawn.
    #[serde(default)]
    pub limit: Option<usize>,
    /// Start the value axis at zero (lines).
    #[serde(default)]
    pub zero_based: Option<bool>,
}

/// A loaded query.
#[derive(Debug, Clone)]
pub struct Query {
    pub name: String,
    pub sql: String,
    pub meta: QueryMeta,
    pub path: PathBuf,
}

macro_rules! builtin {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../queries/", $name, ".sql")), include_str!(concat!("../../queries/", $name, ".toml")))),*]
    };
}

/// The canned queries shipped in the binary (the files under `queries/` at build time).
static BUILTIN: &[(&str, &str, &str)] = builtin!(
    "headline-kpis",
    "sla-attainment",
    "since-last-downtime",
    "invest-next-dollar",
    "churn-causes",
    "change-outcomes",
    "troublesome-components",
    "blast-radius",
    "top-customers",
    "incident-trends",
    "trailing-twelve-months",
    "customer-summary",
    "customer-sla",
    "customer-incidents",
    "customer-changes",
    "downtime-by-month",
);

fn parse_meta(text: &str, meta_path: &Path) -> Result<QueryMeta> {
    let meta: QueryMeta = toml::from_str(text).map_err(|e| {
        Error::input(
            meta_path,
            format!("invalid query metadata: {e}"),
            Some("see queries/README.md for the keys"),
        )
    })?;
    for p in &meta.params {
        if matches!(p.name.as_str(), "as_of" | "tz")
            || !p
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit())
        {
            return Err(Error::input(
                meta_path,
                format!("parameter name `{}` is reserved or not snake_case", p.name),
                None,
            ));
        }
    }
    Ok(meta)
}

/// The built-in queries, then those in `dir` (which add to or replace them by name).
pub fn load_all(dir: Option<&Path>) -> Result<Vec<Query>> {
    let mut out: Vec<Query> = Vec::new();
    for (name, sql, meta) in BUILTIN {
        let path = PathBuf::from(format!("queries/{name}.sql"));
        out.push(Query {
            name: name.to_string(),
            sql: sql.to_string(),
            meta: parse_meta(meta, &path.with_extension("toml"))?,
            path,
        });
    }
    if let Some(dir) = dir {
        for q in load(dir)? {
            out.retain(|b| b.name != q.name);
            out.push(q);
        }
    }
    out.sort_by(|a, b| (a.meta.order, &a.name).cmp(&(b.meta.order, &b.name)));
    Ok(out)
}

/// Load every query in `dir`, sorted by `order` then name.
pub fn load(dir: &Path) -> Result<Vec<Query>> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Error::Usage(format!(
            "cannot read the queries directory {}: {e} (give one with --queries DIR)",
            dir.display()
        ))
    })?;
    let mut out = Vec::new();
    for e in entries.flatten() {
        let path = e.path();
        if path.extension().and_then(|x| x.to_str()) != Some("sql") {
            continue;
        }
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        let sql = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let meta_path = path.with_extension("toml");
        let text = std::fs::read_to_string(&meta_path).map_err(|e| {
            Error::input(
                &meta_path,
                format!("metadata of query `{name}` cannot be read: {e}"),
                Some("every queries/NAME.sql needs a queries/NAME.toml; see queries/README.md"),
            )
        })?;
        let meta = parse_meta(&text, &meta_path)?;
        out.push(Query {
            name,
            sql,
            meta,
            path,
        });
    }
    out.sort_by(|a, b| (a.meta.order, &a.name).cmp(&(b.meta.order, &b.name)));
    Ok(out)
}

/// Find a query by name, suggesting the nearest on a typo.
pub fn find<'a>(queries: &'a [Query], name: &str) -> Result<&'a Query> {
    queries.iter().find(|q| q.name == name).ok_or_else(|| {
        let near = crate::schema::nearest(name, queries.iter().map(|q| q.name.as_str()));
        Error::Usage(format!(
            "no query named `{name}`{}; `opsintel query list` shows them",
            near.map(|n| format!(" (did you mean `{n}`?)"))
                .unwrap_or_default()
        ))
    })
}
