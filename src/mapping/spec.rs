//! The mapping file format (TOML): how a foreign export becomes a canonical dataset. Declarative
//! only; `apply` does the work. Unknown keys are errors, so a typo is caught.

use serde::Deserialize;
use std::collections::BTreeMap;

/// A whole mapping file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// The canonical dataset it produces.
    pub dataset: String,
    /// What it is for (shown by `mapping list`).
    #[serde(default)]
    pub description: Option<String>,
    /// `csv`, `json` or `ndjson`; default: from the file.
    #[serde(default)]
    pub format: Option<String>,
    /// `utf-8` (default; a BOM is fine), `windows-1252`, `latin1` (ISO-8859-1), `macintosh`.
    #[serde(default)]
    pub encoding: Option<String>,
    /// Zone of naive timestamps (IANA); `--source-tz` overrides it.
    #[serde(default)]
    pub source_tz: Option<String>,
    /// Values that mean "missing" in this export, besides the empty string (e.g. `?`, `N/A`).
    #[serde(default)]
    pub missing: Vec<String>,
    /// JSON path to the array of records inside a JSON document (e.g. `incidents`), or a list
    /// tried in order; a document (or NDJSON line) without any of them is itself the record(s).
    #[serde(default)]
    pub records: Option<OneOrMany>,
    /// Keep only rows whose field (path) has one of these values (case-insensitive).
    #[serde(default)]
    pub keep: BTreeMap<String, Vec<String>>,
    /// Drop rows whose field has one of these values.
    #[serde(default)]
    pub drop: BTreeMap<String, Vec<String>>,
    /// Event logs: several rows per record; keep the latest row per key.
    #[serde(default)]
    pub latest: Option<Latest>,
    /// One entry per canonical column.
    pub columns: BTreeMap<String, ColumnMap>,
}

/// Keep one row per `key`: the one with the greatest `by` (a timestamp in the column's format,
/// compared as an instant; ties keep the later row).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Latest {
    pub key: String,
    pub by: String,
    /// Format of `by` (as for columns); default: the formats the canonical timestamps accept.
    #[serde(default)]
    pub format: Option<String>,
}

/// A source field, or several tried in order (the first present and not missing wins).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn paths(&self) -> Vec<&str> {
        match self {
            OneOrMany::One(s) => vec![s.as_str()],
            OneOrMany::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

/// How one canonical column is filled.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnMap {
    /// Source column or JSON path (`service.summary`, `assignments[0].at`), or a list of them.
    #[serde(default)]
    pub from: Option<OneOrMany>,
    /// A constant.
    #[serde(default)]
    pub value: Option<String>,
    /// Several source fields joined with `sep` (default a space), e.g. a date and a time.
    #[serde(default)]
    pub concat: Option<Vec<String>>,
    #[serde(default)]
    pub sep: Option<String>,
    /// Derived values: the first case whose `when` fields all match gives the value.
    #[serde(default)]
    pub cases: Vec<Case>,
    /// Value map (keys case-insensitive), e.g. `"1 - Critical" = "sev1"`.
    #[serde(default)]
    pub map: BTreeMap<String, String>,
    /// Value for anything the map does not name; without it, unmapped values are an error.
    #[serde(default)]
    pub default: Option<String>,
    /// Timestamp format: a chrono strftime pattern (`%d/%m/%Y %H:%M` for day-first), `epoch`
    /// (seconds), `epoch_ms`, or `iso` (the default for timestamp columns).
    #[serde(default)]
    pub format: Option<String>,
    /// Add a duration from another field to this timestamp.
    #[serde(default)]
    pub add: Option<AddDuration>,
    /// The source field may be absent from the file (the column is then empty).
    #[serde(default)]
    pub optional: bool,
    /// With `latest`: take this column from the `first` or `last` row of the key (in `by` order)
    /// that has a value, instead of from the latest row.
    #[serde(default)]
    pub pick: Option<Pick>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pick {
    First,
    Last,
}

/// `{ from = "calendar_stc", unit = "seconds" }`: unit is `seconds`, `minutes` or `hms`
/// (`HHH:MM:SS`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddDuration {
    pub from: String,
    pub unit: String,
}

/// `{ when = { status = "resolved" }, from = "last_status_change_at" }` or `value = "..."`. A case
/// whose `from` field is missing does not apply (the next case, then the column's own source, is
/// tried).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub when: BTreeMap<String, String>,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub from: Option<String>,
}
