//! Typed query parameters: parse `--param k=v` against a query's declarations, apply defaults,
//! and build the one-row `params` table the SQL reads. A bad value or an unknown name is a clear
//! error; values never enter SQL text.

use super::catalog::{ParamSpec, ParamType};
use super::period::Period;
use crate::error::{Error, Result};
use crate::model::Policy;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use polars::prelude::*;
use std::collections::BTreeMap;

/// One resolved value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Period(Period),
    Int(i64),
    Text(String),
    Policy(Policy),
}

/// All resolved parameters of one run.
#[derive(Debug, Clone, Default)]
pub struct Params {
    pub values: BTreeMap<String, Value>,
}

impl Params {
    pub fn policy(&self) -> Policy {
        self.values
            .values()
            .find_map(|v| match v {
                Value::Policy(p) => Some(*p),
                _ => None,
            })
            .unwrap_or_default()
    }

    /// The `period` parameter, if the query has one.
    pub fn period(&self) -> Option<Period> {
        match self.values.get("period") {
            Some(Value::Period(p)) => Some(*p),
            _ => None,
        }
    }
}

/// Split `k=v` strings.
pub fn parse_pairs(raw: &[String]) -> Result<Vec<(String, String)>> {
    raw.iter()
        .map(|s| {
            s.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .ok_or_else(|| Error::Usage(format!("--param `{s}` is not of the form name=value")))
        })
        .collect()
}

/// Resolve `given` against `specs`. `ids` checks asset and customer ids exist.
pub fn resolve(
    query: &str,
    specs: &[ParamSpec],
    given: &[(String, String)],
    as_of: DateTime<Utc>,
    tz: Tz,
    ids: &dyn Fn(ParamType, &str) -> bool,
) -> Result<Params> {
    for (k, _) in given {
        if !specs.iter().any(|s| &s.name == k) {
            let near = crate::schema::nearest(k, specs.iter().map(|s| s.name.as_str()));
            let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
            return Err(Error::Usage(format!(
                "query `{query}` has no parameter `{k}`{}; its parameters: {}",
                near.map(|n| format!(" (did you mean `{n}`?)"))
                    .unwrap_or_default(),
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            )));
        }
    }
    let mut values = BTreeMap::new();
    for spec in specs {
        let raw = given
            .iter()
            .rev()
            .find(|(k, _)| k == &spec.name)
            .map(|(_, v)| v.clone())
            .or_else(|| spec.default.clone());
        let bad =
            |why: String| Error::Usage(format!("parameter `{}` of `{query}`: {why}", spec.name));
        let value = match (spec.ty, raw) {
            (ParamType::Period, None) => Value::Period(Period::last_full_month(as_of, tz)),
            (ParamType::Period, Some(v)) => {
                Value::Period(Period::parse(&v).map_err(|e| bad(e.to_string()))?)
            }
            (ParamType::Policy, v) => Value::Policy(match v {
                None => Policy::default(),
                Some(v) => v.parse().map_err(bad)?,
            }),
            (_, None) => return Err(bad("required; give it with --param".into())),
            (ParamType::Int, Some(v)) => {
                let n: i64 = v
                    .parse()
                    .map_err(|_| bad(format!("`{v}` is not a whole number")))?;
                if n < 1 {
                    return Err(bad(format!("{n} must be at least 1")));
                }
                Value::Int(n)
            }
            (ParamType::Text, Some(v)) => Value::Text(v),
            (t @ (ParamType::Asset | ParamType::Customer), Some(v)) => {
                if !ids(t, &v) {
                    let what = if t == ParamType::Asset {
                        "asset"
                    } else {
                        "customer"
                    };
                    return Err(bad(format!("no {what} `{v}` in the lake")));
                }
                Value::Text(v)
            }
        };
        values.insert(spec.name.clone(), value);
    }
    Ok(Params { values })
}

/// The one-row `params` table: every parameter as a typed column, plus `as_of`.
pub fn table(params: &Params, as_of: DateTime<Utc>, tz: Tz) -> Result<DataFrame> {
    let ts = |t: DateTime<Utc>, name: &str| -> PolarsResult<Column> {
        Column::new(name.into(), [t.timestamp_micros()]).cast(&DataType::Datetime(
            TimeUnit::Microseconds,
            Some(TimeZone::UTC),
        ))
    };
    let mut cols = vec![ts(as_of, "as_of").map_err(Error::polars("params"))?];
    for (name, v) in &params.values {
        match v {
            Value::Period(p) => {
                for (suffix, t) in [
                    ("start", p.start_utc(tz)),
                    ("end", p.end_utc(tz).min(as_of.max(p.start_utc(tz)))),
                    ("prev_start", p.previous().start_utc(tz)),
                    ("prev_end", p.previous().end_utc(tz)),
                    ("year_ago_start", p.year_before().start_utc(tz)),
                    ("year_ago_end", p.year_before().end_utc(tz)),
                ] {
                    cols.push(ts(t, &format!("{name}_{suffix}")).map_err(Error::polars("params"))?);
                }
                cols.push(Column::new(format!("{name}_label").into(), [p.label()]));
                cols.push(Column::new(
                    format!("{name}_months").into(),
                    [p.months as i64],
                ));
                cols.push(Column::new(
                    format!("{name}_first_month").into(),
                    [p.first.format("%Y-%m").to_string()],
                ));
                cols.push(Column::new(
                    format!("{name}_prev_month").into(),
                    [super::period::add_months(p.first, -1)
                        .format("%Y-%m")
                        .to_string()],
                ));
                cols.push(Column::new(
                    format!("{name}_last_month").into(),
                    [super::period::add_months(p.end(), -1)
                        .format("%Y-%m")
                        .to_string()],
                ));
            }
            Value::Int(n) => cols.push(Column::new(name.as_str().into(), [*n])),
            Value::Text(s) => cols.push(Column::new(name.as_str().into(), [s.as_str()])),
            Value::Policy(p) => cols.push(Column::new(name.as_str().into(), [p.name()])),
        }
    }
    DataFrame::new_infer_height(cols).map_err(Error::polars("params"))
}
