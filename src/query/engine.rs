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

/// A token of SQL text: a word (lower-cased; a double-quoted name is one word) or one
/// punctuation character. Comments and string literals are dropped.
#[derive(Debug, PartialEq)]
enum Token {
    Word(String),
    Punct(char),
}

fn tokens(sql: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut chars = sql.chars().peekable();
    let flush = |w: &mut String, out: &mut Vec<Token>| {
        if !w.is_empty() {
            out.push(Token::Word(w.to_ascii_lowercase()));
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
            '/' if chars.peek() == Some(&'*') => {
                flush(&mut word, &mut out);
                chars.next();
                let mut prev = ' ';
                for c in chars.by_ref() {
                    if prev == '*' && c == '/' {
                        break;
                    }
                    prev = c;
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
            '"' => {
                flush(&mut word, &mut out);
                for c in chars.by_ref() {
                    if c == '"' {
                        break;
                    }
                    word.push(c);
                }
                flush(&mut word, &mut out);
            }
            c if c.is_alphanumeric() || c == '_' => word.push(c),
            c => {
                flush(&mut word, &mut out);
                if !c.is_whitespace() {
                    out.push(Token::Punct(c));
                }
            }
        }
    }
    flush(&mut word, &mut out);
    out
}

/// Keywords that start a clause: a comma's meaning depends on the last one at its depth.
const CLAUSES: [&str; 14] = [
    "select", "from", "join", "on", "using", "where", "group", "having", "order", "limit", "union",
    "with", "qualify", "window",
];

/// The names `sql` reads tables by, lower-cased: each word right after `FROM` or `JOIN`, and
/// after a comma in a `FROM` list (`FROM a x, b y`). A superset (CTE names and the column of
/// `EXTRACT(... FROM col)` are in it too), but a column name elsewhere (`SUM(t.minutes)`) is
/// not, so a derived table is built only when a query reads it.
pub fn tables_read(sql: &str) -> BTreeSet<String> {
    let toks = tokens(sql);
    let mut clause: Vec<&str> = vec![""];
    let mut out = BTreeSet::new();
    for (i, t) in toks.iter().enumerate() {
        match t {
            Token::Punct('(') => clause.push(""),
            Token::Punct(')') if clause.len() > 1 => {
                clause.pop();
            }
            Token::Word(w) => {
                let table = match i.checked_sub(1).map(|p| &toks[p]) {
                    Some(Token::Word(p)) => p == "from" || p == "join",
                    Some(Token::Punct(',')) => {
                        matches!(clause.last(), Some(&("from" | "join" | "on")))
                    }
                    _ => false,
                };
                if table {
                    out.insert(w.clone());
                }
                if let Some(k) = CLAUSES.iter().find(|k| **k == w) {
                    *clause.last_mut().expect("never empty") = k;
                }
            }
            Token::Punct(_) => {}
        }
    }
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
        // The `months` parameter, else the months the metadata names (trailing-twelve-months
        // reads `incident_months` for its 24), else a year.
        trend_months: match params.values.get("months") {
            Some(params::Value::Int(n)) => *n as u32,
            _ => months.unwrap_or(12),
        },
        window: window(params, as_of, tz)
            .or_else(|| months.map(|n| last_full_months(n, as_of, tz))),
        asset: match params.values.get("asset") {
            Some(params::Value::Text(a)) => Some(a.clone()),
            _ => None,
        },
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
    let names = tables_read(sql);
    // What polars computes from the lake alone starts in a second thread, and the model's
    // inputs load side by side if the tables need both.
    model.build_ahead(names.iter().map(String::as_str), scoped)?;
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
    use super::tables_read;

    fn read(sql: &str) -> Vec<String> {
        tables_read(sql).into_iter().collect()
    }

    #[test]
    fn tables_read_are_the_names_after_from_and_join() {
        // The headline KPIs' shape: a column named like a derived table is not read as one.
        assert_eq!(
            read(
                "WITH p AS (SELECT * FROM params), a AS (SELECT SUM(am.customer_months) AS n \
                 FROM availability_months am CROSS JOIN p) SELECT * FROM p CROSS JOIN a"
            ),
            ["a", "availability_months", "p", "params"]
        );
        assert_eq!(
            read(
                "SELECT x.a, y.b FROM Incidents x, \"Outages\" y LEFT JOIN churn c ON c.a = x.a, slas s"
            ),
            ["churn", "incidents", "outages", "slas"]
        );
        assert_eq!(
            read(
                "SELECT * FROM (SELECT a, b FROM changes) t, assets WHERE t.a IN (SELECT id FROM revenue)"
            ),
            ["assets", "changes", "revenue"]
        );
        assert_eq!(
            read(
                "SELECT EXTRACT(EPOCH FROM started_at), f(a, b) FROM outages GROUP BY a, customers"
            ),
            ["outages", "started_at"]
        );
    }

    #[test]
    fn tables_read_skip_comments_and_strings() {
        assert_eq!(
            read("-- FROM customer_months\nSELECT 'FROM sla_periods' /* join slas */ FROM outages"),
            ["outages"]
        );
    }
}
