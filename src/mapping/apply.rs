//! Applies a mapping to one export: decode (encoding), read records (CSV rows or JSON objects,
//! nested paths), filter rows, keep the latest row per key for event logs, then compute every
//! canonical column as text. The result is the same all-text table plain ingest reads, so
//! validation, rejects, upserts and atomic writes are shared. Problems with the mapping itself
//! (unknown fields, unmapped values, a format that matches nothing) fail the file with the
//! nearest valid name; problems with single rows reject those rows.

use super::spec::{ColumnMap, Mapping};
use crate::error::{Error, Result};
use crate::ingest::parse;
use crate::ingest::read::{self, Format, RawTable, Unreadable};
use crate::schema::{ColumnType, DatasetKind, nearest};
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone as _};
use chrono_tz::Tz;
use polars::prelude::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// An export after its mapping.
#[derive(Debug)]
pub struct Mapped {
    pub dataset: DatasetKind,
    pub raw: RawTable,
    /// Rows left out by `keep`/`drop`.
    pub filtered: u64,
    /// Older rows of an event log replaced by a later row of the same key.
    pub superseded: u64,
}

/// Decode `bytes` in the mapping's encoding.
fn decode(path: &Path, bytes: &[u8], encoding: Option<&str>) -> Result<String> {
    let label = encoding.unwrap_or("utf-8").trim().to_ascii_lowercase();
    if label == "utf-8" || label == "utf8" {
        return read::decode(path, bytes);
    }
    let label = match label.as_str() {
        "latin1" | "latin-1" | "iso-8859-1" => "iso-8859-1",
        "mac-roman" | "macroman" | "mac_roman" => "macintosh",
        other => other,
    };
    let enc = encoding_rs::Encoding::for_label(label.as_bytes()).ok_or_else(|| {
        Error::input(
            path,
            format!("unknown encoding `{label}`"),
            Some("use utf-8, windows-1252, latin1 or macintosh"),
        )
    })?;
    let (text, had_errors) = enc.decode_with_bom_removal(bytes);
    if had_errors {
        return Err(Error::input(
            path,
            format!("bytes that are not valid {}", enc.name()),
            None,
        ));
    }
    if text.trim().is_empty() {
        return Err(Error::input(path, "the file is empty", None));
    }
    Ok(text.into_owned())
}

/// One segment of a JSON path.
enum Seg<'a> {
    Key(&'a str),
    /// An array index; negative counts from the end (`[-1]` is the last).
    Index(i64),
}

fn segments(path: &str) -> Vec<Seg<'_>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let mut rest = part;
        if let Some(i) = rest.find('[') {
            if i > 0 {
                out.push(Seg::Key(&rest[..i]));
            }
            rest = &rest[i..];
            while let Some(end) = rest.find(']') {
                if let Ok(n) = rest[1..end].parse() {
                    out.push(Seg::Index(n));
                }
                rest = &rest[end + 1..];
                if !rest.starts_with('[') {
                    break;
                }
            }
        } else {
            out.push(Seg::Key(rest));
        }
    }
    out
}

/// The value at `path` in `record` (a flat key first, then a nested path).
pub fn get<'a>(record: &'a Value, path: &str) -> Option<&'a Value> {
    if let Some(v) = record.get(path) {
        return Some(v);
    }
    let mut cur = record;
    for s in segments(path) {
        cur = match s {
            Seg::Key(k) => cur.get(k)?,
            Seg::Index(i) if i >= 0 => cur.get(i as usize)?,
            Seg::Index(i) => {
                let arr = cur.as_array()?;
                arr.get(arr.len().checked_sub(i.unsigned_abs() as usize)?)?
            }
        };
    }
    Some(cur)
}

fn first_key(path: &str) -> &str {
    path.split(['.', '[']).next().unwrap_or(path)
}

struct Ctx {
    missing: BTreeSet<String>,
}

impl Ctx {
    fn text(&self, record: &Value, path: &str) -> Option<String> {
        let v = get(record, path)?;
        let s = read::value_text(v)?;
        let t = s.trim();
        if t.is_empty() || self.missing.contains(&t.to_lowercase()) {
            None
        } else {
            Some(t.to_string())
        }
    }
}

/// Parse a timestamp in `format` (strftime, `epoch`, `epoch_ms`, `iso`) as UTC microseconds.
pub fn parse_time(raw: &str, format: Option<&str>, tz: Tz) -> std::result::Result<i64, String> {
    match format.unwrap_or("iso") {
        "iso" => parse::timestamp(raw, tz),
        "epoch" => raw
            .trim()
            .parse::<f64>()
            .map(|s| (s * 1e6).round() as i64)
            .map_err(|_| "not epoch seconds".into()),
        "epoch_ms" => raw
            .trim()
            .parse::<f64>()
            .map(|s| (s * 1e3).round() as i64)
            .map_err(|_| "not epoch milliseconds".into()),
        f => {
            if let Ok(dt) = DateTime::parse_from_str(raw.trim(), f) {
                return Ok(dt.timestamp_micros());
            }
            let naive = NaiveDateTime::parse_from_str(raw.trim(), f)
                .or_else(|_| {
                    NaiveDate::parse_from_str(raw.trim(), f)
                        .map(|d| d.and_hms_opt(0, 0, 0).expect("midnight"))
                })
                .map_err(|_| format!("does not match the format `{f}`"))?;
            tz.from_local_datetime(&naive)
                .earliest()
                .map(|t| t.timestamp_micros())
                .ok_or_else(|| format!("{naive} does not exist in time zone {tz}"))
        }
    }
}

fn iso(micros: i64) -> String {
    DateTime::from_timestamp_micros(micros)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.fZ").to_string())
        .unwrap_or_default()
}

/// A duration as seconds: `unit` is seconds, minutes or hms (`HHH:MM:SS`).
pub fn parse_duration(raw: &str, unit: &str) -> std::result::Result<f64, String> {
    let raw = raw.trim();
    match unit {
        "seconds" => raw
            .parse::<f64>()
            .map_err(|_| format!("`{raw}` is not a number of seconds")),
        "minutes" => raw
            .parse::<f64>()
            .map(|m| m * 60.0)
            .map_err(|_| format!("`{raw}` is not a number of minutes")),
        "hms" => {
            let parts: Vec<&str> = raw.split(':').collect();
            if parts.len() != 3 {
                return Err(format!("`{raw}` is not HHH:MM:SS"));
            }
            let n: Vec<f64> = parts
                .iter()
                .map(|p| p.parse::<f64>())
                .collect::<std::result::Result<_, _>>()
                .map_err(|_| format!("`{raw}` is not HHH:MM:SS"))?;
            Ok(n[0] * 3600.0 + n[1] * 60.0 + n[2])
        }
        other => Err(format!(
            "unknown duration unit `{other}` (seconds, minutes or hms)"
        )),
    }
}

/// Read the export's records: (line or record number, object).
fn records(
    path: &Path,
    text: String,
    format: Format,
    m: &Mapping,
) -> Result<(Vec<(u64, Value)>, Vec<Unreadable>, Vec<String>)> {
    match format {
        Format::Csv => {
            let t = read::read(path, text, Format::Csv)?;
            let names: Vec<String> =
                t.df.get_column_names()
                    .iter()
                    .map(|s| s.to_string())
                    .collect();
            let cols: Vec<StringChunked> =
                t.df.columns()
                    .iter()
                    .map(|c| c.str().cloned())
                    .collect::<PolarsResult<_>>()
                    .map_err(Error::polars("reading CSV"))?;
            let mut unreadable = Vec::new();
            let mut out = Vec::new();
            for (i, line) in t.lines.iter().enumerate() {
                let mut obj = serde_json::Map::new();
                for (n, c) in names.iter().zip(&cols) {
                    obj.insert(
                        n.clone(),
                        c.get(i)
                            .map(|s| Value::String(s.to_string()))
                            .unwrap_or(Value::Null),
                    );
                }
                if let Some((_, reason)) = t.malformed.iter().find(|(r, _)| *r == i) {
                    unreadable.push(Unreadable {
                        line: *line,
                        reason: reason.clone(),
                        raw: Value::Object(obj).to_string(),
                    });
                } else {
                    out.push((*line, Value::Object(obj)));
                }
            }
            Ok((out, unreadable, names))
        }
        Format::Ndjson => {
            let mut out = Vec::new();
            let mut unreadable = Vec::new();
            for (i, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                match serde_json::from_str::<Value>(line) {
                    Ok(v) => match records_in(&v, m) {
                        Some(items) => out.extend(items.into_iter().map(|x| (i as u64 + 1, x))),
                        None => out.push((i as u64 + 1, v)),
                    },
                    Err(e) => unreadable.push(Unreadable {
                        line: i as u64 + 1,
                        reason: format!("invalid JSON: {e}"),
                        raw: line.to_string(),
                    }),
                }
            }
            Ok((out, unreadable, Vec::new()))
        }
        Format::Json => {
            let doc: Value = serde_json::from_str(&text).map_err(|e| {
                Error::input(
                    path,
                    format!(
                        "invalid JSON at line {}, column {}: {e}",
                        e.line(),
                        e.column()
                    ),
                    None,
                )
            })?;
            let arr = match records_in(&doc, m) {
                Some(items) => Value::Array(items),
                None if doc.is_array() || m.records.is_none() => doc,
                None => {
                    let keys: Vec<String> = doc
                        .as_object()
                        .map(|o| o.keys().cloned().collect())
                        .unwrap_or_default();
                    let paths = m.records.as_ref().map(|r| r.paths()).unwrap_or_default();
                    let near = nearest(
                        paths.first().copied().unwrap_or(""),
                        keys.iter().map(String::as_str),
                    )
                    .map(|n| format!(" (did you mean `{n}`?)"))
                    .unwrap_or_default();
                    return Err(Error::input(
                        path,
                        format!(
                            "no array at `{}` in the document{near}; `records` must name the array of records",
                            paths.join("`, `")
                        ),
                        None,
                    ));
                }
            };
            match arr {
                // The position of a record in the array stands in for its line.
                Value::Array(items) => Ok((
                    items
                        .into_iter()
                        .enumerate()
                        .map(|(i, v)| (i as u64 + 1, v))
                        .collect(),
                    Vec::new(),
                    Vec::new(),
                )),
                obj @ Value::Object(_) => Ok((vec![(1, obj)], Vec::new(), Vec::new())),
                _ => Err(Error::input(
                    path,
                    "expected an array of records (set `records` to the path of the array)",
                    None,
                )),
            }
        }
    }
}

/// The records array a mapping's `records` names inside `v`, if any.
fn records_in(v: &Value, m: &Mapping) -> Option<Vec<Value>> {
    m.records
        .as_ref()?
        .paths()
        .into_iter()
        .find_map(|p| get(v, p).and_then(Value::as_array).cloned())
}

fn matches(ctx: &Ctx, rec: &Value, field: &str, values: &[String]) -> bool {
    let v = ctx.text(rec, field).unwrap_or_default().to_lowercase();
    values.iter().any(|x| x.trim().to_lowercase() == v)
}

/// Every source field a mapping reads, as groups of alternatives (a group is satisfied when any
/// of its fields exists), with the setting that reads it and whether it may be absent.
fn referenced(m: &Mapping) -> Vec<(Vec<String>, String, bool)> {
    let mut out = Vec::new();
    for (name, c) in &m.columns {
        let by = format!("columns.{name}");
        if let Some(f) = &c.from {
            out.push((
                f.paths().into_iter().map(str::to_string).collect(),
                by.clone(),
                c.optional,
            ));
        }
        for p in c.concat.iter().flatten() {
            out.push((vec![p.clone()], by.clone(), c.optional));
        }
        for case in &c.cases {
            for k in case.when.keys() {
                out.push((vec![k.clone()], by.clone(), c.optional));
            }
            if let Some(f) = &case.from {
                out.push((vec![f.clone()], by.clone(), c.optional));
            }
        }
        if let Some(a) = &c.add {
            out.push((vec![a.from.clone()], by.clone(), c.optional));
        }
    }
    for k in m.keep.keys().chain(m.drop.keys()) {
        out.push((vec![k.clone()], "keep/drop".into(), false));
    }
    if let Some(l) = &m.latest {
        out.push((vec![l.key.clone()], "latest.key".into(), false));
        out.push((vec![l.by.clone()], "latest.by".into(), false));
    }
    out
}

/// Apply `m` to the export at `path`.
pub fn apply(path: &Path, bytes: &[u8], m: &Mapping, tz: Tz) -> Result<Mapped> {
    let dataset: DatasetKind = m
        .dataset
        .parse()
        .map_err(|e: crate::schema::UnknownDataset| {
            Error::input(path, format!("mapping: {e}"), None)
        })?;
    let spec = dataset.spec();
    for name in m.columns.keys() {
        if spec.column(name).is_none() {
            let near = nearest(name, spec.column_names())
                .map(|n| format!(" (did you mean `{n}`?)"))
                .unwrap_or_default();
            return Err(Error::input(
                path,
                format!(
                    "mapping: `{name}` is not a column of `{}`{near}",
                    spec.name()
                ),
                Some("the canonical columns are listed by `opsintel schema DATASET`"),
            ));
        }
    }
    if let Some((name, _)) = m.columns.iter().find(|(_, c)| c.pick.is_some()) {
        if m.latest.is_none() {
            return Err(Error::input(
                path,
                format!(
                    "mapping columns.{name}: `pick` needs `latest` (it picks among the rows of a key)"
                ),
                None,
            ));
        }
    }
    let text = decode(path, bytes, m.encoding.as_deref())?;
    let format = match m.format.as_deref() {
        Some("csv") => Format::Csv,
        Some("json") => Format::Json,
        Some("ndjson") | Some("jsonl") => Format::Ndjson,
        Some(other) => {
            return Err(Error::input(
                path,
                format!("mapping: unknown format `{other}` (csv, json or ndjson)"),
                None,
            ));
        }
        None => read::detect_format(path, &text),
    };
    let ctx = Ctx {
        missing: m.missing.iter().map(|s| s.trim().to_lowercase()).collect(),
    };
    let (mut recs, unreadable, header) = records(path, text, format, m)?;

    // Every field the mapping reads must exist in the file (unless marked optional).
    let mut seen: BTreeSet<String> = header.into_iter().collect();
    for (_, r) in recs.iter().take(1000) {
        if let Some(o) = r.as_object() {
            seen.extend(o.keys().cloned());
        }
    }
    if !recs.is_empty() {
        for (fields, used_by, optional) in referenced(m) {
            if optional
                || fields
                    .iter()
                    .any(|f| seen.contains(f) || seen.contains(first_key(f)))
            {
                continue;
            }
            let field = fields.join("`, `");
            let near = nearest(first_key(&fields[0]), seen.iter().map(String::as_str))
                .map(|n| format!("; nearest: `{n}`"))
                .unwrap_or_default();
            return Err(Error::input(
                path,
                format!("mapping {used_by}: field `{field}` is not in the file{near}"),
                Some(&format!(
                    "the file's fields are: {}",
                    seen.iter().take(40).cloned().collect::<Vec<_>>().join(", ")
                )),
            ));
        }
    }
    for c in spec.columns.iter().filter(|c| c.required) {
        if !m.columns.contains_key(c.name) {
            return Err(Error::input(
                path,
                format!(
                    "mapping gives no `{}`, which `{}` requires",
                    c.name,
                    spec.name()
                ),
                None,
            ));
        }
    }

    // Row filters and event logs.
    let before = recs.len() as u64;
    recs.retain(|(_, r)| {
        m.keep.iter().all(|(f, vals)| matches(&ctx, r, f, vals))
            && !m.drop.iter().any(|(f, vals)| matches(&ctx, r, f, vals))
    });
    let filtered = before - recs.len() as u64;
    let mut superseded = 0;
    // For event logs: each kept row's whole group (all rows of its key, oldest first).
    let mut groups: Option<Vec<Vec<Value>>> = None;
    if let Some(l) = &m.latest {
        let mut by_key: BTreeMap<String, Vec<(i64, usize)>> = BTreeMap::new();
        for (i, (_, r)) in recs.iter().enumerate() {
            let key = ctx.text(r, &l.key).unwrap_or_default();
            let t = ctx
                .text(r, &l.by)
                .and_then(|s| parse_time(&s, l.format.as_deref(), tz).ok())
                .unwrap_or(i64::MIN);
            by_key.entry(key).or_default().push((t, i));
        }
        let mut kept: Vec<(usize, Vec<usize>)> = by_key
            .into_values()
            .map(|mut rows| {
                // Stable: equal times keep file order, so the later row wins ties.
                rows.sort_by_key(|(t, _)| *t);
                (
                    rows.last().map(|(_, i)| *i).unwrap_or(0),
                    rows.into_iter().map(|(_, i)| i).collect(),
                )
            })
            .collect();
        kept.sort_by_key(|(i, _)| *i);
        superseded = (recs.len() - kept.len()) as u64;
        groups = Some(
            kept.iter()
                .map(|(_, g)| g.iter().map(|&i| recs[i].1.clone()).collect())
                .collect(),
        );
        let keep: Vec<usize> = kept.iter().map(|(i, _)| *i).collect();
        let mut all: Vec<Option<(u64, Value)>> = recs.into_iter().map(Some).collect();
        recs = keep.into_iter().filter_map(|i| all[i].take()).collect();
    }

    // Canonical columns, as text.
    let mut columns = Vec::new();
    let mut malformed: Vec<(usize, String)> = Vec::new();
    for col in spec.columns {
        let Some(cm) = m.columns.get(col.name) else {
            continue;
        };
        let is_time = col.ty == ColumnType::Timestamp;
        let mut out: Vec<Option<String>> = Vec::with_capacity(recs.len());
        let mut unmapped: BTreeMap<String, u64> = BTreeMap::new();
        let mut bad_time: Option<(usize, String)> = None;
        let mut ok_times = 0;
        for (row, (_, r)) in recs.iter().enumerate() {
            let (mut v, from_case) = match (cm.pick, &groups) {
                (Some(pick), Some(groups)) => {
                    let group = &groups[row];
                    let mut values = group
                        .iter()
                        .map(|g| source_value(&ctx, g, cm))
                        .filter(|(v, _)| v.is_some());
                    let found = if pick == super::spec::Pick::First {
                        values.next()
                    } else {
                        values.last()
                    };
                    found.unwrap_or((None, false))
                }
                _ => source_value(&ctx, r, cm),
            };
            if from_case {
                // A case gives the final value: no map, no default.
            } else if let (Some(x), false) = (&v, cm.map.is_empty()) {
                let key = x.trim().to_lowercase();
                match cm.map.iter().find(|(k, _)| k.trim().to_lowercase() == key) {
                    Some((_, mapped)) => v = Some(mapped.clone()),
                    None => match &cm.default {
                        Some(d) => v = Some(d.clone()),
                        None => *unmapped.entry(x.clone()).or_default() += 1,
                    },
                }
            } else if v.is_none() && !cm.map.is_empty() {
                // A mapped column whose source is missing takes the default too.
                v = cm.default.clone();
            }
            if let (Some(x), true) = (&v, is_time || cm.format.is_some()) {
                match parse_time(x, cm.format.as_deref(), tz) {
                    Ok(mut t) => {
                        if let Some(a) = &cm.add {
                            match ctx.text(r, &a.from).map(|d| parse_duration(&d, &a.unit)) {
                                Some(Ok(secs)) => t += (secs * 1e6).round() as i64,
                                Some(Err(e)) => malformed.push((row, format!("{}: {e}", col.name))),
                                None => {}
                            }
                        }
                        ok_times += 1;
                        v = Some(iso(t));
                    }
                    Err(reason) => {
                        if bad_time.is_none() {
                            bad_time = Some((row, x.clone()));
                        }
                        malformed.push((row, format!("{}: value `{x}` {reason}", col.name)));
                        v = None;
                    }
                }
            }
            out.push(v);
        }
        if !unmapped.is_empty() {
            let list: Vec<String> = unmapped
                .iter()
                .take(10)
                .map(|(k, n)| format!("`{k}` ({n} row{})", if *n == 1 { "" } else { "s" }))
                .collect();
            return Err(Error::input(
                path,
                format!(
                    "mapping columns.{}: values not in its map: {}",
                    col.name,
                    list.join(", ")
                ),
                Some(&format!(
                    "add them to [columns.{}.map] or set `default`",
                    col.name
                )),
            ));
        }
        if let (Some((_, example)), 0) = (&bad_time, ok_times) {
            return Err(Error::input(
                path,
                format!(
                    "mapping columns.{}: no value matches the format `{}` (e.g. `{example}`)",
                    col.name,
                    cm.format.as_deref().unwrap_or("iso")
                ),
                Some(
                    "formats are chrono strftime patterns such as `%d/%m/%Y %H:%M`, or epoch, epoch_ms, iso",
                ),
            ));
        }
        columns.push(Column::new(col.name.into(), out));
    }
    let lines: Vec<u64> = recs.iter().map(|(l, _)| *l).collect();
    let df = DataFrame::new(recs.len(), columns).map_err(Error::polars("mapping"))?;
    Ok(Mapped {
        dataset,
        raw: RawTable {
            format,
            df,
            lines,
            unreadable,
            malformed,
        },
        filtered,
        superseded,
    })
}

/// The raw value of a column before its map and format (cases, constant, concat or from), and
/// whether a case gave it.
fn source_value(ctx: &Ctx, r: &Value, cm: &ColumnMap) -> (Option<String>, bool) {
    for case in &cm.cases {
        if case.when.iter().all(|(f, want)| {
            ctx.text(r, f).unwrap_or_default().to_lowercase() == want.trim().to_lowercase()
        }) {
            match (&case.value, &case.from) {
                (Some(v), _) => return (Some(v.clone()), true),
                // A case reading a missing field does not apply: try the next rule.
                (None, Some(f)) => match ctx.text(r, f) {
                    Some(v) => return (Some(v), true),
                    None => continue,
                },
                (None, None) => return (None, true),
            }
        }
    }
    if let Some(v) = &cm.value {
        return (Some(v.clone()), false);
    }
    if let Some(parts) = &cm.concat {
        let vals: Vec<String> = parts.iter().filter_map(|p| ctx.text(r, p)).collect();
        return (
            (!vals.is_empty()).then(|| vals.join(cm.sep.as_deref().unwrap_or(" "))),
            false,
        );
    }
    (
        cm.from
            .as_ref()
            .and_then(|f| f.paths().into_iter().find_map(|p| ctx.text(r, p))),
        false,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_reach_into_nested_records() {
        let v: Value = serde_json::json!({"service": {"summary": "API"}, "assignments": [{"at": "t0"}, {"at": "t1"}], "a.b": "flat"});
        assert_eq!(
            get(&v, "service.summary"),
            Some(&Value::String("API".into()))
        );
        assert_eq!(
            get(&v, "assignments[1].at"),
            Some(&Value::String("t1".into()))
        );
        assert_eq!(get(&v, "a.b"), Some(&Value::String("flat".into())));
        assert_eq!(get(&v, "assignments[5].at"), None);
        assert_eq!(
            get(&v, "assignments[-1].at"),
            Some(&Value::String("t1".into()))
        );
        assert_eq!(get(&v, "assignments[-3].at"), None);
    }

    #[test]
    fn day_first_epoch_and_durations() {
        // 5/3/2016 14:02 day-first = 5 March 2016 14:02 UTC = 1457186520 s.
        assert_eq!(
            parse_time("5/3/2016 14:02", Some("%d/%m/%Y %H:%M"), Tz::UTC),
            Ok(1_457_186_520_000_000)
        );
        assert_eq!(
            parse_time("1457186520", Some("epoch"), Tz::UTC),
            Ok(1_457_186_520_000_000)
        );
        assert_eq!(
            parse_time("1457186520000", Some("epoch_ms"), Tz::UTC),
            Ok(1_457_186_520_000_000)
        );
        assert!(parse_time("2016-03-05", Some("%d/%m/%Y"), Tz::UTC).is_err());
        assert_eq!(parse_duration("102:30:15", "hms"), Ok(369_015.0));
        assert_eq!(parse_duration("28800", "seconds"), Ok(28_800.0));
        assert!(parse_duration("1:2", "hms").is_err());
    }
}
