//! Reads one input file (CSV, JSON array or NDJSON) into an all-text table with the source line
//! of every row, so validation can name file, line and column. It checks encoding and shape;
//! it knows nothing of the canonical schema.

use crate::error::{Error, Result};
use polars::prelude::*;
use serde_json::Value;
use std::io::Cursor;
use std::path::Path;

/// The format of an input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
    Ndjson,
}

/// A row that could not even be read (an NDJSON line that is not JSON, a record that is not an
/// object). It is rejected like a row that breaks the contract.
#[derive(Debug, Clone)]
pub struct Unreadable {
    pub line: u64,
    pub reason: String,
    pub raw: String,
}

/// An input file as text columns, one entry in `lines` per row.
#[derive(Debug)]
pub struct RawTable {
    pub format: Format,
    pub df: DataFrame,
    pub lines: Vec<u64>,
    pub unreadable: Vec<Unreadable>,
    /// Rows read but malformed (a CSV record with more or fewer fields than the header):
    /// (row index in `df`, reason). Validation rejects them.
    pub malformed: Vec<(usize, String)>,
}

impl RawTable {
    /// Rows read from the file, including unreadable ones.
    pub fn rows_read(&self) -> u64 {
        (self.df.height() + self.unreadable.len()) as u64
    }
}

/// Guess the format from the extension, else from the first non-blank byte.
pub fn detect_format(path: &Path, text: &str) -> Format {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("csv" | "tsv" | "txt") => Format::Csv,
        Some("ndjson" | "jsonl") => Format::Ndjson,
        Some("json") => {
            // An array, or one document spread over lines, is JSON; one object per line is NDJSON.
            let first = text.trim_start().lines().next().unwrap_or("");
            if text.trim_start().starts_with('[') || serde_json::from_str::<Value>(first).is_err() {
                Format::Json
            } else {
                Format::Ndjson
            }
        }
        _ => match text.trim_start().as_bytes().first() {
            Some(b'[') => Format::Json,
            Some(b'{') => Format::Ndjson,
            _ => Format::Csv,
        },
    }
}

/// Open an input file; a missing one is an input error naming it.
pub fn open_input(path: &Path) -> Result<std::fs::File> {
    std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::input(path, "file not found", None),
        _ => Error::io(path, e),
    })
}

/// The error for a file with nothing in it.
pub fn empty_file(path: &Path) -> Error {
    Error::input(
        path,
        "the file is empty",
        Some("export the data again; an empty file has nothing to ingest"),
    )
}

/// Decode the bytes of a file as UTF-8 (a BOM is dropped), or say where they are not.
pub fn decode(path: &Path, bytes: &[u8]) -> Result<String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(empty_file(path));
    }
    check_text(path, bytes, 1)?;
    Ok(std::str::from_utf8(bytes).expect("checked").to_string())
}

/// Reject bytes that are not UTF-8 text, naming line and column; `bytes` start on line
/// `first_line` of the file.
pub fn check_text(path: &Path, bytes: &[u8], first_line: u64) -> Result<()> {
    check_nul(path, bytes, first_line)?;
    if let Err(e) = std::str::from_utf8(bytes) {
        let at = e.valid_up_to();
        let (line, col) = line_col(&bytes[..at]);
        return Err(Error::input(
            path,
            format!(
                "not valid UTF-8 at line {}, column {col} (byte 0x{:02X})",
                line + first_line - 1,
                bytes[at]
            ),
            Some(
                "re-save the file as UTF-8, e.g. `iconv -f WINDOWS-1252 -t UTF-8 in.csv > out.csv`",
            ),
        ));
    }
    Ok(())
}

/// Reject bytes holding a NUL (a binary file), naming its line; `bytes` start on line
/// `first_line` of the file. Searched with `memchr` (SIMD).
pub fn check_nul(path: &Path, bytes: &[u8], first_line: u64) -> Result<()> {
    if let Some(at) = memchr::memchr(0, bytes) {
        let (line, _) = line_col(&bytes[..at]);
        return Err(Error::input(
            path,
            format!(
                "this is not a text file (NUL byte on line {}); opsintel reads CSV, JSON and NDJSON",
                line + first_line - 1
            ),
            Some("for a spreadsheet, save it as CSV (UTF-8) first"),
        ));
    }
    Ok(())
}

fn line_col(prefix: &[u8]) -> (u64, u64) {
    let line = prefix.iter().filter(|b| **b == b'\n').count() as u64 + 1;
    let start = prefix
        .iter()
        .rposition(|b| *b == b'\n')
        .map(|p| p + 1)
        .unwrap_or(0);
    let col = String::from_utf8_lossy(&prefix[start..]).chars().count() as u64 + 1;
    (line, col)
}

/// Read a decoded file in the given format.
pub fn read(path: &Path, text: String, format: Format) -> Result<RawTable> {
    match format {
        Format::Csv => read_csv(path, text),
        Format::Json => read_json_array(path, &text),
        Format::Ndjson => read_ndjson(path, &text),
    }
}

/// Separator of a CSV file: the most frequent of `,` `;` and tab in the header line.
pub(crate) fn sniff_separator(text: &str) -> u8 {
    let header = text.lines().next().unwrap_or("");
    [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|s| header.bytes().filter(|b| b == s).count())
        .unwrap_or(b',')
}

fn read_csv(path: &Path, text: String) -> Result<RawTable> {
    let separator = sniff_separator(&text);
    let df = CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .with_parse_options(
            CsvParseOptions::default()
                .with_separator(separator)
                .with_missing_is_null(true)
                // Records with extra fields are found by `scan_records` and rejected by line.
                .with_truncate_ragged_lines(true),
        )
        .into_reader_with_file_handle(Cursor::new(text.as_bytes()))
        .finish()
        .map_err(|e| {
            Error::input(
                path,
                format!("cannot be read as CSV: {e}"),
                Some(
                    "check that quotes are balanced and the file is comma- or semicolon-separated",
                ),
            )
        })?;
    let records = scan_records(&text, separator);
    let width = df.width();
    let (lines, malformed) = if records.len() == df.height() + 1 {
        let lines = records[1..].iter().map(|r| r.line).collect();
        let malformed = records[1..]
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.blank && r.fields != width)
            .map(|(i, r)| {
                (
                    i,
                    format!("the record has {} fields, the header has {width}", r.fields),
                )
            })
            .collect();
        (lines, malformed)
    } else {
        // The scan and polars disagree on record boundaries (unusual quoting): fall back to
        // counting line breaks inside fields, which is exact for well-formed files.
        (lines_from_fields(&df)?, Vec::new())
    };
    // Blank lines carry no data: drop rows that are entirely empty (but not a malformed
    // record, which is reported). Whether a row has a value comes from the columns' validity
    // bitmaps, OR-ed a column at a time.
    let mut any = BooleanChunked::full("any".into(), false, df.height());
    for column in df.columns() {
        any = &any | &column.is_not_null();
    }
    let mut keep: Vec<bool> = any.iter().map(|v| v.unwrap_or(false)).collect();
    for (i, _) in &malformed {
        keep[*i] = true;
    }
    let (df, lines, malformed) = if keep.iter().all(|k| *k) {
        (df, lines, malformed)
    } else {
        let mask: BooleanChunked = keep.iter().copied().collect();
        let new_index: Vec<usize> = keep
            .iter()
            .scan(0usize, |n, k| {
                let i = *n;
                if *k {
                    *n += 1;
                }
                Some(i)
            })
            .collect();
        let lines = lines
            .into_iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(l, _)| l)
            .collect();
        let malformed = malformed
            .into_iter()
            .map(|(i, r)| (new_index[i], r))
            .collect();
        (
            df.filter(&mask).map_err(Error::polars("reading CSV"))?,
            lines,
            malformed,
        )
    };
    Ok(RawTable {
        format: Format::Csv,
        df,
        lines,
        unreadable: Vec::new(),
        malformed,
    })
}

/// One CSV record as found by [`scan_records`].
#[derive(Debug, Clone, Copy, PartialEq)]
struct RecordSpan {
    line: u64,
    fields: usize,
    blank: bool,
}

/// The line `rest` starts with, without its line break (the rest of `rest` if it has none), and
/// whether it holds a quote. A line without one is a whole record of a CSV chunk when it starts
/// one: no field opens quotes before the line break, which ends the record. Found with
/// `memchr` (SIMD), not byte by byte.
pub(super) fn line_at(rest: &[u8]) -> (&[u8], bool) {
    let line = &rest[..memchr::memchr(b'\n', rest).unwrap_or(rest.len())];
    (line, memchr::memchr(b'"', line).is_some())
}

/// The line each CSV record starts on and its field count, by RFC 4180 rules (a quote opens a
/// field only at its start; `""` inside quotes is a quote). Used only to locate records for
/// error messages; parsing is polars' job.
fn scan_records(text: &str, sep: u8) -> Vec<RecordSpan> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let (mut line, mut i) = (1u64, 0usize);
    while i < b.len() {
        let start_line = line;
        // Most records hold no quote: then the record is the line, its fields are one more
        // than its separators, and it is blank if it holds nothing but carriage returns.
        let (record, quoted) = line_at(&b[i..]);
        if !quoted {
            out.push(RecordSpan {
                line: start_line,
                fields: 1 + record.iter().filter(|&&c| c == sep).count(),
                blank: record.iter().all(|&c| c == b'\r'),
            });
            line += 1;
            i += record.len() + 1;
            continue;
        }
        let mut fields = 1;
        let mut field_start = true;
        let mut in_quotes = false;
        let mut blank = true;
        while i < b.len() {
            let c = b[i];
            if in_quotes {
                if c == b'"' {
                    if b.get(i + 1) == Some(&b'"') {
                        i += 1;
                    } else {
                        in_quotes = false;
                    }
                } else if c == b'\n' {
                    line += 1;
                }
            } else if c == b'"' && field_start {
                in_quotes = true;
                field_start = false;
                blank = false;
            } else if c == sep {
                fields += 1;
                field_start = true;
                blank = false;
            } else if c == b'\n' {
                line += 1;
                i += 1;
                break;
            } else if c != b'\r' {
                field_start = false;
                blank = false;
            }
            i += 1;
        }
        out.push(RecordSpan {
            line: start_line,
            fields,
            blank,
        });
    }
    out
}

/// Line of each record from the line breaks inside its fields (header = line 1).
fn lines_from_fields(df: &DataFrame) -> Result<Vec<u64>> {
    let mut extra = vec![0u64; df.height()];
    for column in df.columns() {
        let ca = column.str().map_err(Error::polars("reading CSV"))?;
        for (i, v) in ca.iter().enumerate() {
            if let Some(v) = v {
                extra[i] += v.bytes().filter(|b| *b == b'\n').count() as u64;
            }
        }
    }
    let mut lines = Vec::with_capacity(df.height());
    let mut line = 2u64;
    for e in extra {
        lines.push(line);
        line += 1 + e;
    }
    Ok(lines)
}

/// One JSON record with the line it starts on.
type Record = (
    u64,
    Result<serde_json::Map<String, Value>, (String, String)>,
);

fn read_ndjson(path: &Path, text: &str) -> Result<RawTable> {
    let mut records = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let rec = match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(other) => Err((
                format!("expected a JSON object, found {}", kind(&other)),
                line.to_string(),
            )),
            Err(e) => Err((
                format!(
                    "invalid JSON at column {}: {}",
                    e.column(),
                    serde_message(&e)
                ),
                line.to_string(),
            )),
        };
        records.push((i as u64 + 1, rec));
    }
    if records.iter().all(|(_, r)| r.is_err()) && !records.is_empty() {
        return Err(Error::input(
            path,
            "no line of this file is a JSON object; expected NDJSON (one object per line)",
            None,
        ));
    }
    records_to_table(path, Format::Ndjson, records)
}

fn read_json_array(path: &Path, text: &str) -> Result<RawTable> {
    let bytes = text.as_bytes();
    let bad = |pos: usize, what: &str| {
        let (line, col) = line_col(&bytes[..pos.min(bytes.len())]);
        Error::input(
            path,
            format!("invalid JSON at line {line}, column {col}: {what}"),
            Some("a JSON input must be an array of objects, or NDJSON (one object per line)"),
        )
    };
    let skip_ws = |mut p: usize| {
        while p < bytes.len() && bytes[p].is_ascii_whitespace() {
            p += 1;
        }
        p
    };
    let mut p = skip_ws(0);
    if bytes.get(p) != Some(&b'[') {
        return Err(bad(p, "expected `[`"));
    }
    p = skip_ws(p + 1);
    let mut records = Vec::new();
    if bytes.get(p) == Some(&b']') {
        return records_to_table(path, Format::Json, records);
    }
    loop {
        let start = p;
        let mut stream = serde_json::Deserializer::from_slice(&bytes[p..]).into_iter::<Value>();
        let value = match stream.next() {
            Some(Ok(v)) => v,
            Some(Err(e)) => {
                // serde counts from the record's start; make the position absolute.
                let (line0, col0) = line_col(&bytes[..start]);
                let line = line0 + e.line() as u64 - 1;
                let col = if e.line() == 1 {
                    col0 + e.column() as u64 - 1
                } else {
                    e.column() as u64
                };
                return Err(Error::input(
                    path,
                    format!(
                        "invalid JSON at line {line}, column {col}: {}",
                        serde_message(&e)
                    ),
                    Some(
                        "a JSON input must be an array of objects, or NDJSON (one object per line)",
                    ),
                ));
            }
            None => return Err(bad(p, "unexpected end of file")),
        };
        let end = start + stream.byte_offset();
        let (line, _) = line_col(&bytes[..start]);
        let rec = match value {
            Value::Object(m) => Ok(m),
            other => Err((
                format!("expected a JSON object, found {}", kind(&other)),
                other.to_string(),
            )),
        };
        records.push((line, rec));
        p = skip_ws(end);
        match bytes.get(p) {
            Some(b',') => p = skip_ws(p + 1),
            Some(b']') => break,
            _ => return Err(bad(p, "expected `,` or `]` after a record")),
        }
    }
    if !bytes[skip_ws(p + 1)..].is_empty() {
        return Err(bad(skip_ws(p + 1), "trailing content after the array"));
    }
    records_to_table(path, Format::Json, records)
}

/// serde's message without its own (relative) " at line L column C" suffix.
fn serde_message(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A JSON value as the text the validators parse: arrays become `;`-separated lists, nested
/// objects stay JSON text (a typed column will then reject them with a reason).
pub fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(value_text)
                .collect::<Vec<_>>()
                .join(";"),
        ),
        other => Some(other.to_string()),
    }
}

fn records_to_table(_path: &Path, format: Format, records: Vec<Record>) -> Result<RawTable> {
    let mut names: Vec<String> = Vec::new();
    for (_, rec) in &records {
        if let Ok(m) = rec {
            for k in m.keys() {
                if !names.contains(k) {
                    names.push(k.clone());
                }
            }
        }
    }
    let mut cols: Vec<Vec<Option<String>>> = vec![Vec::new(); names.len()];
    let mut lines = Vec::new();
    let mut unreadable = Vec::new();
    for (line, rec) in records {
        match rec {
            Ok(m) => {
                for (i, n) in names.iter().enumerate() {
                    cols[i].push(m.get(n).and_then(value_text));
                }
                lines.push(line);
            }
            Err((reason, raw)) => unreadable.push(Unreadable { line, reason, raw }),
        }
    }
    let columns = names
        .iter()
        .zip(cols)
        .map(|(n, v)| Column::new(n.as_str().into(), v))
        .collect::<Vec<_>>();
    let df =
        DataFrame::new_infer_height(columns).map_err(Error::polars("building table from JSON"))?;
    Ok(RawTable {
        format,
        df,
        lines,
        unreadable,
        malformed: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("t")
    }

    #[test]
    fn csv_lines_account_for_multiline_fields() {
        let text = "id,title\n1,\"two\nlines\"\n2,plain\n3,\"a\r\nb\nc\"\n4,x\n".to_string();
        let t = read(p(), text, Format::Csv).unwrap();
        assert_eq!(t.df.height(), 4);
        // header=1; row 1 spans lines 2-3; row 2 = 4; row 3 spans 5-7 (\r\n counts once); row 4 = 8.
        assert_eq!(t.lines, vec![2, 4, 5, 8]);
    }

    #[test]
    fn records_with_and_without_quotes_are_located_alike() {
        // Quote-free records take the line-at-a-time path, the others the byte-at-a-time one:
        // a blank line, a line of a carriage return, a quoted line break (lines 5-6), a quote
        // inside a field (literal, so three fields), a quoted separator and escaped quote
        // ending in \r\n, and a last record without a line break.
        let text = "h1,h2\n1,a\n\n\r\n2,\"x\ny\"\n3,b\"c,d\n4,\"p,\"\"q\"\r\n5";
        let span = |line, fields, blank| RecordSpan {
            line,
            fields,
            blank,
        };
        assert_eq!(
            scan_records(text, b','),
            vec![
                span(1, 2, false),
                span(2, 2, false),
                span(3, 1, true),
                span(4, 1, true),
                span(5, 2, false),
                span(7, 3, false),
                span(8, 2, false),
                span(9, 1, false),
            ]
        );
    }

    #[test]
    fn ragged_and_blank_csv_records() {
        let text = "a,b\n1,2\n\n3,4,5\n6\n\"x,\"\"y\"\"\",7\n".to_string();
        let t = read(p(), text, Format::Csv).unwrap();
        // The blank line 3 is dropped; rows on lines 4 and 5 are malformed; line 6 is fine.
        assert_eq!(t.lines, vec![2, 4, 5, 6]);
        assert_eq!(
            t.malformed,
            vec![
                (1, "the record has 3 fields, the header has 2".to_string()),
                (2, "the record has 1 fields, the header has 2".to_string())
            ]
        );
        assert_eq!(
            t.df.column("a").unwrap().str().unwrap().get(3),
            Some("x,\"y\"")
        );
    }

    #[test]
    fn rows_without_a_value_are_dropped_unless_malformed() {
        // Line 3 has every field empty: dropped like a blank line. Line 4 is empty too, but
        // has a field too many: kept, to be reported. Line 5 has one value.
        let text = "a,b\n1,2\n,\n,,\n,9\n".to_string();
        let t = read(p(), text, Format::Csv).unwrap();
        assert_eq!(t.lines, vec![2, 4, 5]);
        assert_eq!(
            t.malformed,
            vec![(1, "the record has 3 fields, the header has 2".to_string())]
        );
        assert_eq!(t.df.column("b").unwrap().str().unwrap().get(2), Some("9"));
    }

    #[test]
    fn csv_semicolon_separator_and_bom() {
        let bytes = b"\xEF\xBB\xBFid;name\n1;a\n";
        let text = decode(p(), bytes).unwrap();
        let t = read(p(), text, Format::Csv).unwrap();
        assert_eq!(t.df.get_column_names(), vec!["id", "name"]);
    }

    #[test]
    fn bad_utf8_is_located() {
        let err = decode(p(), b"id,name\n1,caf\xE9\n")
            .unwrap_err()
            .to_string();
        // "1,caf" is 5 characters; the bad byte is the 6th.
        assert!(err.contains("line 2, column 6"), "{err}");
        assert!(err.contains("0xE9"), "{err}");
    }

    #[test]
    fn json_array_records_know_their_lines() {
        let text = "[\n  {\"id\": 1, \"tags\": [\"a\", \"b\"]},\n  7,\n  {\"id\": \"x\", \"n\": null}\n]\n";
        let t = read(p(), text.into(), Format::Json).unwrap();
        assert_eq!(t.lines, vec![2, 4]);
        assert_eq!(t.unreadable.len(), 1);
        assert_eq!(t.unreadable[0].line, 3);
        let tags =
            t.df.column("tags")
                .unwrap()
                .str()
                .unwrap()
                .get(0)
                .map(str::to_string);
        assert_eq!(tags.as_deref(), Some("a;b"));
        assert_eq!(t.df.column("id").unwrap().str().unwrap().get(0), Some("1"));
    }

    #[test]
    fn broken_json_names_line_and_column() {
        let err = read(p(), "[\n {\"id\": 1},\n {\"id\": }\n]".into(), Format::Json)
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 3"), "{err}");
    }

    #[test]
    fn ndjson_bad_lines_are_unreadable_rows() {
        let t = read(
            p(),
            "{\"id\":1}\n\nnot json\n{\"id\":2}\n".into(),
            Format::Ndjson,
        )
        .unwrap();
        assert_eq!(t.lines, vec![1, 4]);
        assert_eq!(t.unreadable[0].line, 3);
        assert_eq!(t.rows_read(), 3);
    }
}
