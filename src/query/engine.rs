//! Runs SQL over the lake's datasets and the derived model. Loads the lake through its manifest
//! (under a reader's lock), builds the model once per run, registers every table and the one-row
//! `params` table in a polars `SQLContext`, executes, and checks a canned query's columns
//! against its metadata.

use super::catalog::Query;
use super::params::{self, Params};
use crate::error::{Error, Result};
use crate::lake::Lake;
use crate::model::{self, ModelInput};
use crate::schema::DatasetKind;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use polars::prelude::*;
use polars::sql::SQLContext;
use std::collections::BTreeMap;

/// Every table a query can read: raw datasets, then derived ones.
pub struct Tables {
    pub raw: BTreeMap<DatasetKind, DataFrame>,
    pub derived: Vec<(&'static str, DataFrame)>,
}

impl Tables {
    /// (name, frame) for every table, in listing order.
    pub fn all(&self) -> Vec<(String, &DataFrame)> {
        self.raw
            .iter()
            .map(|(k, df)| (k.name().to_string(), df))
            .chain(self.derived.iter().map(|(n, df)| (n.to_string(), df)))
            .collect()
    }
}

/// Read the raw datasets of the lake.
pub fn read_lake(lake: &Lake) -> Result<BTreeMap<DatasetKind, DataFrame>> {
    let _guard = lake.read_lock()?;
    let manifest = lake.manifest()?;
    DatasetKind::ALL
        .into_iter()
        .map(|k| Ok((k, lake.read(&manifest, k)?)))
        .collect()
}

/// Raw datasets plus the derived model for this run.
pub fn tables(
    raw: BTreeMap<DatasetKind, DataFrame>,
    as_of: DateTime<Utc>,
    tz: Tz,
    params: &Params,
) -> Result<Tables> {
    let trend_months = match params.values.get("months") {
        Some(params::Value::Int(n)) => *n as u32,
        _ => 12,
    };
    let derived = model::build(&ModelInput {
        data: &raw,
        as_of,
        tz,
        policy: params.policy(),
        trend_months,
    })?;
    Ok(Tables { raw, derived })
}

/// Execute one SQL statement over `tables` and `params`.
pub fn run_sql(tables: &Tables, params_df: DataFrame, sql: &str) -> Result<DataFrame> {
    let mut ctx = SQLContext::new();
    for (name, df) in tables.all() {
        ctx.register(&name, df.clone().lazy());
    }
    ctx.register("params", params_df.lazy());
    let lf = ctx
        .execute(sql)
        .map_err(|e| Error::Usage(format!("SQL error: {e}")))?;
    lf.collect()
        .map_err(|e| Error::Usage(format!("SQL error: {e}")))
}

/// Run a canned query and check its output columns against its metadata.
pub fn run_query(
    query: &Query,
    tables: &Tables,
    params: &Params,
    as_of: DateTime<Utc>,
    tz: Tz,
) -> Result<DataFrame> {
    let df = run_sql(tables, params::table(params, as_of, tz)?, &query.sql).map_err(|e| {
        Error::Usage(format!(
            "query `{}` ({}): {e}",
            query.name,
            query.path.display()
        ))
    })?;
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
    Ok(df)
}
