//! Column extraction helpers: polars columns to plain Rust vectors for the model's algorithms.

use crate::error::{Error, Result};
use polars::prelude::*;

fn col<'a>(df: &'a DataFrame, name: &str) -> Result<&'a Column> {
    df.column(name)
        .map_err(Error::polars(format!("model: column {name}")))
}

pub fn strs(df: &DataFrame, name: &str) -> Result<Vec<Option<String>>> {
    let c = col(df, name)?
        .cast(&DataType::String)
        .map_err(Error::polars("model"))?;
    Ok(c.str()
        .map_err(Error::polars("model"))?
        .iter()
        .map(|v| v.map(str::to_string))
        .collect())
}

/// Timestamps (UTC microseconds) or dates (days) as i64.
pub fn ints(df: &DataFrame, name: &str) -> Result<Vec<Option<i64>>> {
    let c = col(df, name)?
        .to_physical_repr()
        .cast(&DataType::Int64)
        .map_err(Error::polars("model"))?;
    Ok(c.i64().map_err(Error::polars("model"))?.iter().collect())
}

pub fn floats(df: &DataFrame, name: &str) -> Result<Vec<Option<f64>>> {
    let c = col(df, name)?
        .cast(&DataType::Float64)
        .map_err(Error::polars("model"))?;
    Ok(c.f64().map_err(Error::polars("model"))?.iter().collect())
}

pub fn lists(df: &DataFrame, name: &str) -> Result<Vec<Vec<String>>> {
    let c = col(df, name)?;
    let ca = c.list().map_err(Error::polars("model"))?;
    Ok((0..ca.len())
        .map(|i| {
            ca.get_as_series(i)
                .and_then(|s| {
                    s.str()
                        .ok()
                        .map(|x| x.iter().flatten().map(str::to_string).collect())
                })
                .unwrap_or_default()
        })
        .collect())
}

/// The lake's timestamp type: microseconds, UTC.
pub fn utc_type() -> DataType {
    DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC))
}

/// A UTC-microsecond instant as a literal of the lake's timestamp type (to compare with a
/// timestamp column in a plan).
pub fn utc(micros: i64) -> Expr {
    lit(micros).cast(utc_type())
}

/// Build a DataFrame; `ts` names the i64 columns that are UTC-microsecond timestamps.
pub fn frame(columns: Vec<Column>, ts: &[&str]) -> Result<DataFrame> {
    let columns = columns
        .into_iter()
        .map(|c| {
            if ts.contains(&c.name().as_str()) {
                c.cast(&utc_type())
            } else {
                Ok(c)
            }
        })
        .collect::<PolarsResult<Vec<_>>>()
        .map_err(Error::polars("model"))?;
    DataFrame::new_infer_height(columns).map_err(Error::polars("model"))
}
