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
    Ok(text_list_rows(ca)
        .map(|row| {
            row.map(|r| r.iter().flatten().map(str::to_string).collect())
                .unwrap_or_default()
        })
        .collect())
}

/// The rows of a list-of-text column, walked in place: per row `None` for a null list, else
/// its values (each `None` when null). polars' `amortized_iter` makes a one-row series per row,
/// an array boxed and dropped each time: 7 % of since-last-downtime's samples at 10 M
/// incidents, on the incidents' `customer_ids`. A list of values that are not text (an
/// all-null column read as a list of nulls) reads as null lists.
pub fn text_list_rows(ca: &ListChunked) -> impl Iterator<Item = Option<TextList<'_>>> + '_ {
    ca.downcast_iter().flat_map(|arr| {
        let values = arr.values().as_any().downcast_ref::<TextArray>();
        (0..arr.len()).map(move |i| {
            let values = values.filter(|_| arr.validity().is_none_or(|v| v.get_bit(i)))?;
            let (start, end) = arr.offsets().start_end(i);
            Some(TextList {
                values,
                rows: start..end,
            })
        })
    })
}

/// One row of a list-of-text column ([`text_list_rows`]).
pub struct TextList<'a> {
    values: &'a TextArray,
    rows: std::ops::Range<usize>,
}

impl<'a> TextList<'a> {
    /// The row's values, in order (`None` for a null value).
    pub fn iter(&self) -> impl Iterator<Item = Option<&'a str>> + 'a {
        let values = self.values;
        self.rows.clone().map(move |i| values.get(i))
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_list_rows_walk_every_chunk_with_null_lists_and_values() {
        let list = |name: &str, rows: Vec<Option<Vec<Option<&str>>>>| {
            let rows: Vec<Option<Series>> = rows
                .into_iter()
                .map(|r| r.map(|v| Series::new("".into(), v)))
                .collect();
            Series::new(name.into(), rows).list().unwrap().clone()
        };
        // Two chunks, the second sliced so its offsets do not start at zero.
        let mut ca = list(
            "c",
            vec![Some(vec![Some("a"), None, Some("b")]), None, Some(vec![])],
        );
        let second = list(
            "c",
            vec![
                Some(vec![Some("x")]),
                Some(vec![Some("c"), Some("d")]),
                None,
            ],
        )
        .slice(1, 2);
        ca.append(&second).unwrap();
        assert_eq!(ca.chunks().len(), 2);
        let rows: Vec<Option<Vec<Option<&str>>>> = text_list_rows(&ca)
            .map(|r| r.map(|r| r.iter().collect()))
            .collect();
        assert_eq!(
            rows,
            vec![
                Some(vec![Some("a"), None, Some("b")]),
                None,
                Some(vec![]),
                Some(vec![Some("c"), Some("d")]),
                None,
            ]
        );
        // Lists of numbers read as null lists.
        let numbers = Series::new("n".into(), [Some(Series::new("".into(), [1i64, 2]))]);
        assert_eq!(
            text_list_rows(numbers.list().unwrap())
                .map(|r| r.is_none())
                .collect::<Vec<_>>(),
            vec![true]
        );
    }
}
