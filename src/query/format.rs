//! Output formats for query results: a terminal table, CSV, JSON (array of objects) or Parquet.
//! Pure: a frame in, bytes out. Timestamps print as RFC 3339 UTC; the same frame always gives
//! the same bytes.

use crate::error::{Error, Result};
use polars::prelude::*;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Table,
    Csv,
    Json,
    Parquet,
}

impl FromStr for OutputFormat {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "table" => Ok(OutputFormat::Table),
            "csv" => Ok(OutputFormat::Csv),
            "json" => Ok(OutputFormat::Json),
            "parquet" => Ok(OutputFormat::Parquet),
            other => Err(Error::Usage(format!(
                "unknown format `{other}`; use table, csv, json or parquet"
            ))),
        }
    }
}

/// Render `df` in `format`.
pub fn render(df: &DataFrame, format: OutputFormat) -> Result<Vec<u8>> {
    let mut df = df.clone();
    let mut out = Vec::new();
    match format {
        OutputFormat::Csv => {
            CsvWriter::new(&mut out)
                .with_datetime_format(Some("%Y-%m-%dT%H:%M:%SZ".into()))
                .finish(&mut df)
                .map_err(Error::polars("writing CSV"))?;
        }
        OutputFormat::Json => {
            let mut df = stringify_times(&df)?;
            JsonWriter::new(&mut out)
                .with_json_format(JsonFormat::Json)
                .finish(&mut df)
                .map_err(Error::polars("writing JSON"))?;
            out.push(b'\n');
        }
        OutputFormat::Parquet => {
            ParquetWriter::new(&mut out)
                .finish(&mut df)
                .map_err(Error::polars("writing Parquet"))?;
        }
        OutputFormat::Table => {
            let header: Vec<String> = df
                .get_column_names()
                .iter()
                .map(|s| s.to_string())
                .collect();
            let text = stringify_times(&df)?;
            let mut rows = Vec::with_capacity(df.height());
            for i in 0..df.height() {
                rows.push(
                    text.columns()
                        .iter()
                        .map(|c| cell(c, i))
                        .collect::<Vec<_>>(),
                );
            }
            let numeric: Vec<&str> = df
                .columns()
                .iter()
                .filter(|c| c.dtype().is_primitive_numeric())
                .map(|c| c.name().as_str())
                .collect();
            let header_refs: Vec<&str> = header.iter().map(String::as_str).collect();
            let t = crate::output::table(&header_refs, rows, &numeric);
            out.extend_from_slice(format!("{t}\n({} rows)\n", df.height()).as_bytes());
        }
    }
    Ok(out)
}

fn cell(c: &Column, i: usize) -> String {
    match c.get(i) {
        Ok(AnyValue::Null) | Err(_) => String::new(),
        Ok(AnyValue::String(s)) => s.to_string(),
        Ok(AnyValue::StringOwned(s)) => s.to_string(),
        Ok(AnyValue::Float64(f)) => format_float(f),
        Ok(AnyValue::Float32(f)) => format_float(f as f64),
        Ok(v) => v.to_string(),
    }
}

/// A float as the query rounded it (shortest exact form), so every output agrees digit for digit.
fn format_float(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{f:.0}")
    } else {
        format!("{f}")
    }
}

/// Timestamps and dates as ISO text (JSON and the terminal table).
fn stringify_times(df: &DataFrame) -> Result<DataFrame> {
    let cols = df
        .columns()
        .iter()
        .map(|c| match c.dtype() {
            DataType::Datetime(_, _) => c
                .as_materialized_series()
                .datetime()
                .map(|ca| {
                    ca.to_string("%Y-%m-%dT%H:%M:%SZ")
                        .map(|s| s.into_series().into_column())
                })
                .and_then(|r| r),
            DataType::Date => c.cast(&DataType::String),
            _ => Ok(c.clone()),
        })
        .collect::<PolarsResult<Vec<_>>>()
        .map_err(Error::polars("formatting"))?;
    DataFrame::new(df.height(), cols).map_err(Error::polars("formatting"))
}
