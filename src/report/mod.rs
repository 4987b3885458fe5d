//! Reports: the executive pack and the per-customer quarterly business review, as PDF through
//! typst. Every figure comes from a canned query's result (so it matches `opsintel query run`);
//! the template (a file under `templates/`, replaceable with `--template`) receives the data as
//! JSON and the charts as SVG; nothing is pasted into markup. Pure: a query session in, PDF bytes
//! and chart SVGs out; the command writes the files.

pub mod exec;
pub mod qbr;
mod words;
pub mod world;

use crate::chart::{self, ChartOptions};
use crate::error::Result;
use crate::query::{Answer, Session};
use polars::prelude::*;
use serde_json::{Value, json};

/// A rendered report.
pub struct Rendered {
    pub pdf: Vec<u8>,
    /// (file stem, SVG) of every chart in the report.
    pub charts: Vec<(String, String)>,
}

/// The default templates (the files under `templates/`).
pub const EXEC_TEMPLATE: &str = include_str!("../../templates/exec.typ");
pub const QBR_TEMPLATE: &str = include_str!("../../templates/qbr.typ");
const METRICS_DOC: &str = include_str!("../../docs/metrics.md");

/// A number as the query rounded it, with thousands separators: 12718.72 → "12,718.72".
pub fn num(v: f64) -> String {
    let s = if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    };
    let (sign, s) = s
        .strip_prefix('-')
        .map(|r| ("-", r.to_string()))
        .unwrap_or(("", s.clone()));
    let (int, frac) = s
        .split_once('.')
        .map(|(a, b)| (a.to_string(), format!(".{b}")))
        .unwrap_or((s, String::new()));
    let out = crate::output::group_digits(&int);
    format!("{sign}{out}{frac}")
}

/// A KPI tile: the figure of `col` in `cur`, and its change against `prev` (tone "good" or
/// "bad" by whether higher is better), shaped for the templates.
#[allow(clippy::too_many_arguments)]
pub fn kpi_tile(
    label: &str,
    cur: &DataFrame,
    prev: &DataFrame,
    col: &str,
    unit: &str,
    higher_is_better: bool,
    prev_label: &str,
    extra: String,
) -> Value {
    let (c, p) = (f64_at(cur, col, 0), f64_at(prev, col, 0));
    let (delta, tone) = match (c, p) {
        (Some(c), Some(p)) => {
            let d = ((c - p) * 1000.0).round() / 1000.0;
            let tone = if d == 0.0 {
                "flat"
            } else if (d > 0.0) == higher_is_better {
                "good"
            } else {
                "bad"
            };
            let arrow = if d > 0.0 {
                "▲"
            } else if d < 0.0 {
                "▼"
            } else {
                "="
            };
            (
                format!(
                    "{arrow} {}{} vs {prev_label}",
                    if d > 0.0 { "+" } else { "" },
                    num(d)
                ),
                tone,
            )
        }
        _ => (format!("no figure for {prev_label}"), "flat"),
    };
    json!({
        "label": label,
        "value": c.map(|v| format!("{}{unit}", num(v))).unwrap_or_else(|| "–".into()),
        "extra": extra,
        "delta": delta,
        "tone": tone,
    })
}

/// A cell as text for a report table.
pub fn cell(df: &DataFrame, col: &str, row: usize) -> String {
    if row >= df.height() {
        return "–".into();
    }
    match df.column(col).and_then(|c| c.get(row)) {
        Ok(AnyValue::Null) | Err(_) => "–".into(),
        Ok(AnyValue::Float64(f)) => num(f),
        Ok(AnyValue::Int64(i)) => num(i as f64),
        Ok(AnyValue::UInt32(i)) => num(i as f64),
        Ok(AnyValue::Int32(i)) => num(i as f64),
        Ok(AnyValue::UInt64(i)) => num(i as f64),
        Ok(AnyValue::Boolean(b)) => {
            if b {
                "yes".into()
            } else {
                "no".into()
            }
        }
        // A zero-width space after `_` lets long identifiers wrap in narrow table cells.
        Ok(AnyValue::String(s)) => s.replace('_', "_\u{200B}"),
        Ok(AnyValue::StringOwned(s)) => s.replace('_', "_\u{200B}"),
        Ok(AnyValue::Datetime(v, _, _)) => chrono::DateTime::from_timestamp_micros(v)
            .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default(),
        Ok(other) => other.to_string(),
    }
}

pub fn f64_at(df: &DataFrame, col: &str, row: usize) -> Option<f64> {
    if row >= df.height() {
        return None;
    }
    df.column(col)
        .ok()?
        .cast(&DataType::Float64)
        .ok()?
        .f64()
        .ok()?
        .get(row)
}

pub fn str_at(df: &DataFrame, col: &str, row: usize) -> Option<String> {
    if row >= df.height() {
        return None;
    }
    df.column(col)
        .ok()?
        .cast(&DataType::String)
        .ok()?
        .str()
        .ok()?
        .get(row)
        .map(str::to_string)
}

/// A compact table: the given columns (header from the column name), at most `rows` rows.
pub fn table(df: &DataFrame, cols: &[&str], rows: usize) -> Value {
    let header: Vec<String> = cols.iter().map(|c| chart::pretty(c)).collect();
    let numeric: Vec<bool> = cols
        .iter()
        .map(|c| {
            df.column(c)
                .map(|x| x.dtype().is_primitive_numeric())
                .unwrap_or(false)
        })
        .collect();
    let body: Vec<Vec<String>> = (0..df.height().min(rows))
        .map(|r| cols.iter().map(|c| cell(df, c, r)).collect())
        .collect();
    json!({
        "header": header,
        "align": numeric.iter().map(|n| if *n { "right" } else { "left" }).collect::<Vec<_>>(),
        "rows": body,
        "more": df.height().saturating_sub(rows),
    })
}

/// The chart of an answer as SVG, sized for an A4 page.
pub fn chart_svg(session: &Session<'_>, answer: &Answer) -> Result<Option<String>> {
    let Some(spec) = &answer.query.meta.chart else {
        return Ok(None);
    };
    let opts = ChartOptions {
        width: 1000,
        height: 500,
        footnote: chart::footnote(answer, session.ctx),
    };
    Ok(Some(chart::render(spec, &answer.df, &opts)?))
}

/// Definitions (title, text) of the metrics the given queries' columns link to, from
/// docs/metrics.md, in the order they appear there.
pub fn definitions(answers: &[&Answer]) -> Vec<Value> {
    let mut wanted: Vec<&str> = answers
        .iter()
        .flat_map(|a| {
            a.query
                .meta
                .columns
                .iter()
                .filter_map(|c| c.metric.as_deref())
        })
        .collect();
    wanted.sort();
    wanted.dedup();
    let mut out = Vec::new();
    for part in METRICS_DOC.split("<a id=\"").skip(1) {
        let Some((anchor, rest)) = part.split_once("\"></a>") else {
            continue;
        };
        if !wanted.contains(&anchor) {
            continue;
        }
        let mut lines = rest.trim_start().lines();
        let title = lines
            .next()
            .unwrap_or("")
            .trim_start_matches('#')
            .trim()
            .to_string();
        // Markdown to plain paragraphs: join wrapped lines, keep list items and table rows on
        // their own lines, drop table rules and emphasis marks.
        let mut body = String::new();
        for l in lines.take_while(|l| !l.starts_with("## ")).map(str::trim) {
            if l.starts_with("|---") {
                continue;
            }
            let starts_block = l.starts_with("- ") || l.starts_with('|') || l.is_empty();
            if l.is_empty() {
                body.push('\n');
            } else if starts_block || body.ends_with('\n') || body.is_empty() {
                if !body.is_empty() && !body.ends_with('\n') {
                    body.push('\n');
                }
                body.push_str(&l.trim_matches('|').replace(" | ", " · "));
            } else {
                body.push(' ');
                body.push_str(l);
            }
        }
        let body = body.trim().replace("**", "").replace('`', "");
        out.push(json!({ "anchor": anchor, "title": title, "text": body }));
    }
    out
}

/// What the lake holds, for the report's last page.
pub fn lake_contents(session: &Session<'_>) -> Result<Vec<Value>> {
    let m = session.ctx.lake.manifest()?;
    Ok(crate::schema::DatasetKind::ALL
        .iter()
        .map(|k| {
            let st = m.datasets.get(k.name());
            json!({
                "dataset": k.name(),
                "rows": num(st.map(|s| s.rows as f64).unwrap_or(0.0)),
                "range": st.and_then(|s| Some(format!("{} .. {}", s.time_min.clone()?, s.time_max.clone()?))).unwrap_or_default(),
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_keep_the_query_rounding() {
        assert_eq!(super::num(12718.72), "12,718.72");
        assert_eq!(super::num(99.664), "99.664");
        assert_eq!(super::num(1000.0), "1,000");
        assert_eq!(super::num(-105.4), "-105.4");
        assert_eq!(super::num(1234567.0), "1,234,567");
    }

    #[test]
    fn definitions_come_from_docs_metrics() {
        let docs = super::METRICS_DOC;
        assert!(docs.contains("<a id=\"mttr\"></a>"));
    }
}
