//! Column extraction helpers: polars columns to plain Rust vectors for the model's algorithms.

use crate::error::{Error, Result};
use polars::prelude::*;

fn col<'a>(df: &'a DataFrame, name: &str) -> Result<&'a Column> {
    df.column(name)
        .map_err(Error::polars(format!("model: column {name}")))
}

/// A text column as a `StringChunked` (cast if stored otherwise): iterate it for borrowed
/// values, where [`strs`] would allocate a `String` per row.
pub fn texts(df: &DataFrame, name: &str) -> Result<StringChunked> {
    let c = col(df, name)?
        .cast(&DataType::String)
        .map_err(Error::polars("model"))?;
    Ok(c.str().map_err(Error::polars("model"))?.clone())
}

/// A list column as a `ListChunked`, to iterate (`amortized_iter`) without a `Vec` per row.
pub fn list_col(df: &DataFrame, name: &str) -> Result<ListChunked> {
    Ok(col(df, name)?
        .list()
        .map_err(Error::polars("model"))?
        .clone())
}

/// The arrow array behind a `StringChunked` chunk.
type TextArray = <StringType as PolarsDataType>::Array;

/// A text column kept as read, its values found by row: the chunks are shared with the
/// column (no copy), and a row's chunk is found by binary search over their first rows
/// (`StringChunked::get` walks the chunks one by one).
pub struct RowTexts {
    arrays: Vec<TextArray>,
    /// First row of each array.
    starts: Vec<usize>,
}

impl RowTexts {
    pub fn new(ca: &StringChunked) -> Self {
        let arrays: Vec<TextArray> = ca.downcast_iter().cloned().collect();
        let starts = arrays
            .iter()
            .scan(0, |next, a| {
                let first = *next;
                *next += a.len();
                Some(first)
            })
            .collect();
        RowTexts { arrays, starts }
    }

    /// The value at `row` (None for a null or a row past the end).
    pub fn get(&self, row: usize) -> Option<&str> {
        let k = self.starts.partition_point(|&s| s <= row).checked_sub(1)?;
        let a = &self.arrays[k];
        let i = row - self.starts[k];
        (i < a.len()).then(|| a.get(i)).flatten()
    }
}

/// Timestamps (UTC microseconds) or dates (days) as an `Int64Chunked`, to iterate.
pub fn int_col(df: &DataFrame, name: &str) -> Result<Int64Chunked> {
    let c = col(df, name)?
        .to_physical_repr()
        .cast(&DataType::Int64)
        .map_err(Error::polars("model"))?;
    Ok(c.i64().map_err(Error::polars("model"))?.clone())
}

/// A number column as a `Float64Chunked`, to iterate.
pub fn float_col(df: &DataFrame, name: &str) -> Result<Float64Chunked> {
    let c = col(df, name)?
        .cast(&DataType::Float64)
        .map_err(Error::polars("model"))?;
    Ok(c.f64().map_err(Error::polars("model"))?.clone())
}

/// A text column built from borrowed values (`&str`, or `Option<&str>` for nulls) by a
/// builder sized once.
pub fn text<'a, V: Into<Option<&'a str>>>(
    name: &str,
    values: impl ExactSizeIterator<Item = V>,
) -> Column {
    let mut b = StringChunkedBuilder::new(name.into(), values.len());
    values.for_each(|v| b.append_option(v.into()));
    b.finish().into_column()
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

/// A list-of-text column, one `Vec` per row (empty for a null or empty list; no allocation for
/// those).
pub fn lists(df: &DataFrame, name: &str) -> Result<Vec<Vec<String>>> {
    let c = col(df, name)?;
    let ca = c.list().map_err(Error::polars("model"))?;
    Ok(ca
        .amortized_iter()
        .map(|s| {
            s.and_then(|s| {
                s.as_ref()
                    .str()
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
