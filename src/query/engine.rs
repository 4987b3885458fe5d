//! Runs SQL over the lake's datasets and the derived model. The raw datasets the SQL names are
//! registered as lazy Parquet scans of the run's lake snapshot (polars pushes projections and
//! filters into them); only the derived tables the SQL names are built; the one-row `params`
//! table is added; a canned query's columns are checked against its metadata.

use super::catalog::{Query, QueryEngine};
use super::params::{self, Params};
use super::period::{Period, add_months};
use crate::error::{Error, Result};
use crate::lake::Snapshot;
use crate::model::{self, Model, Scoped, Window};
use crate::schema::DatasetKind;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use polars::prelude::*;
use polars::sql::SQLContext;
use std::collections::BTreeSet;

/// Every identifier in `sql` outside comments and string literals, lower-cased: the superset
/// of the tables it reads.
pub fn identifiers(sql: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut word = String::new();
    let mut chars = sql.chars().peekable();
    let flush = |w: &mut String, out: &mut BTreeSet<String>| {
        if !w.is_empty() {
            out.insert(w.to_ascii_lowercase());
            w.clear();
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '-' if chars.peek() == Some(&'-') => {
                flush(&mut word, &mut out);
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '\'' => {
                flush(&mut word, &mut out);
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                }
            }
            c if c.is_alphanumeric() || c == '_' => word.push(c),
            _ => flush(&mut word, &mut out),
        }
    }
    flush(&mut word, &mut out);
    out
}

/// The query's period as a window (its end clipped to as-of, as in `params`).
pub fn window(params: &Params, as_of: DateTime<Utc>, tz: Tz) -> Option<Window> {
    params.period().map(|p| {
        let start = p.start_utc(tz);
        Window {
            start: start.timestamp_micros(),
            end: p.end_utc(tz).min(as_of.max(start)).timestamp_micros(),
        }
    })
}

/// The last `n` full months before the month holding as-of, as a window.
pub fn last_full_months(n: u32, as_of: DateTime<Utc>, tz: Tz) -> Window {
    let current = Period::month_of(as_of, tz);
    let months = Period {
        first: add_months(current.first, -(n as i32)),
        months: n,
    };
    Window {
        start: months.start_utc(tz).timestamp_micros(),
        end: months.end_utc(tz).timestamp_micros(),
    }
}

/// What the derived tables of a query depend on besides the run: its period, or else its last
/// `months` full months, if its metadata names them.
pub fn scoped(params: &Params, months: Option<u32>, as_of: DateTime<Utc>, tz: Tz) -> Scoped {
    Scoped {
        trend_months: match params.values.get("months") {
            Some(params::Value::Int(n)) => *n as u32,
            _ => 12,
        },
        window: window(params, as_of, tz)
            .or_else(|| months.map(|n| last_full_months(n, as_of, tz))),
    }
}

/// Execute one SQL statement: register what it names, run it.
pub fn run_sql(
    snapshot: &Snapshot,
    model: &Model,
    scoped: &Scoped,
    params_df: DataFrame,
    sql: &str,
    engine: QueryEngine,
) -> Result<DataFrame> {
    let names = identifiers(sql);
    let ctx = SQLContext::new();
    for kind in DatasetKind::ALL {
        if names.contains(kind.name()) {
            ctx.register(kind.name(), snapshot.scan(kind)?);
        }
    }
    for def in model::TABLES {
        if names.contains(def.name) {
            let lf = match model.plan(def.name, scoped)? {
                Some(plan) => plan,
                None => model.table(def.name, scoped)?.lazy(),
            };
            ctx.register(def.name, lf);
        }
    }
    ctx.register("params", params_df.lazy());
    let mut ctx = ctx;
    let lf = ctx
        .execute(sql)
        .map_err(|e| Error::Usage(format!("SQL error: {e}")))?;
    let engine = match engine {
        QueryEngine::InMemory => Engine::InMemory,
        QueryEngine::Streaming => Engine::Streaming,
    };
    lf.collect_with_engine(engine)
        .map(|r| r.unwrap_single())
        .map_err(|e| Error::Usage(format!("SQL error: {e}")))
}

/// Check a canned query's output columns against its metadata.
pub fn check_columns(query: &Query, df: &DataFrame) -> Result<()> {
    let got: Vec<&str> = df
        .get_column_names()
        .into_iter()
        .map(|s| s.as_str())
        .collect();
    let declared: Vec<&str> = query.meta.columns.iter().map(|c| c.name.as_str()).collect();
    if got != declared {
        return Err(Error::Usage(format!(
            "query `{}` returned columns [{}] but its metadata declares [{}]",
            query.name,
            got.join(", "),
            declared.join(", ")
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::identifiers;

    #[test]
    fn identifiers_skip_comments_and_strings() {
        let ids = identifiers(
            "-- reads customer_months\nSELECT o.asset_id FROM outages o WHERE o.kind = 'sla_periods' AND x>=1",
        );
        assert!(ids.contains("outages") && ids.contains("asset_id") && ids.contains("x"));
        assert!(!ids.contains("customer_months") && !ids.contains("sla_periods"));
        assert!(identifiers("select * from Incidents").contains("incidents"));
    }
}
