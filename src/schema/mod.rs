//! The canonical data model: every dataset's columns, types, required fields, enums, keys,
//! partitioning and cross-field rules, declared once.
//!
//! Ingest, validation, the lake writer, `docs/data-model.md` and the tests all read this
//! declaration. This module only describes data; it never reads files or touches the lake.

mod datasets;
mod markdown;

pub use datasets::ALL;
pub use markdown::render_markdown;

use std::fmt;
use std::str::FromStr;

/// The type of one canonical column, as stored in the lake.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ColumnType {
    /// UTF-8 text, trimmed; empty means missing.
    Text,
    /// 64-bit integer within an inclusive range.
    Int { min: i64, max: i64 },
    /// Finite 64-bit float, at least `min`.
    Float { min: f64 },
    /// true/false (also yes/no, y/n, 1/0), case-insensitive.
    Bool,
    /// Calendar date `YYYY-MM-DD`.
    Date,
    /// First day of a month: `YYYY-MM` or `YYYY-MM-01`.
    Month,
    /// Instant, stored as UTC microseconds.
    Timestamp,
    /// One value of a closed set, normalised to lower snake case.
    Enum(&'static [&'static str]),
    /// List of identifiers: `;`-separated in CSV, an array or `;`-separated string in JSON.
    List,
    /// SLA credit tiers, e.g. `99.9:10;99.0:25` (threshold % : credit %), stored as text.
    CreditTiers,
}

impl ColumnType {
    /// Short name used in docs and error messages.
    pub fn describe(&self) -> String {
        match self {
            ColumnType::Text => "text".into(),
            ColumnType::Int { min, max } => format!("integer {min}..{max}"),
            ColumnType::Float { min } => format!("number ≥ {min}"),
            ColumnType::Bool => "bool".into(),
            ColumnType::Date => "date (YYYY-MM-DD)".into(),
            ColumnType::Month => "month (YYYY-MM or YYYY-MM-01)".into(),
            ColumnType::Timestamp => "timestamp (UTC)".into(),
            ColumnType::Enum(values) => format!("one of {}", values.join(", ")),
            ColumnType::List => "list of ids (`;`-separated in CSV)".into(),
            ColumnType::CreditTiers => "credit tiers (`threshold:credit%;...`)".into(),
        }
    }

    /// The Parquet/polars physical type the lake stores for this column.
    pub fn storage(&self) -> &'static str {
        match self {
            ColumnType::Text | ColumnType::Enum(_) | ColumnType::CreditTiers => "string",
            ColumnType::Int { .. } => "int64",
            ColumnType::Float { .. } => "float64",
            ColumnType::Bool => "boolean",
            ColumnType::Date | ColumnType::Month => "date",
            ColumnType::Timestamp => "timestamp[us, UTC]",
            ColumnType::List => "list<string>",
        }
    }
}

/// One canonical column.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub ty: ColumnType,
    pub required: bool,
    pub doc: &'static str,
}

/// How a dataset is laid out in the lake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One file set (small dimension tables).
    Single,
    /// Hive partitions `month=YYYY-MM` by the UTC month of this timestamp column.
    MonthlyBy(&'static str),
}

/// The name of the Hive partition key used by [`Layout::MonthlyBy`] datasets.
pub const PARTITION_KEY: &str = "month";

/// One canonical dataset.
#[derive(Debug)]
pub struct Dataset {
    pub kind: DatasetKind,
    pub doc: &'static str,
    /// Columns that together identify a record (upsert key).
    pub key: &'static [&'static str],
    pub columns: &'static [Column],
    pub layout: Layout,
    /// Chains of columns that must be non-decreasing when present, e.g.
    /// `started_at <= mitigated_at <= resolved_at`.
    pub orderings: &'static [&'static [&'static str]],
}

impl Dataset {
    pub fn name(&self) -> &'static str {
        self.kind.name()
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Column used for "newest wins" upserts, when the dataset has one.
    pub fn version_column(&self) -> Option<&'static str> {
        self.column("updated_at").map(|c| c.name)
    }

    /// Column whose range `lake status` reports (the partition column, or the first timestamp
    /// or date column).
    pub fn time_column(&self) -> Option<&'static str> {
        match self.layout {
            Layout::MonthlyBy(c) => Some(c),
            Layout::Single => self
                .columns
                .iter()
                .find(|c| {
                    matches!(
                        c.ty,
                        ColumnType::Date | ColumnType::Month | ColumnType::Timestamp
                    ) && c.required
                })
                .map(|c| c.name),
        }
    }

    pub fn column_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.columns.iter().map(|c| c.name)
    }
}

/// The canonical datasets. The order is the order of ingest for `--dir` and of reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DatasetKind {
    Customers,
    Assets,
    CustomerAssets,
    Incidents,
    Changes,
    Maintenance,
    Slas,
    Churn,
    Revenue,
}

impl DatasetKind {
    pub const ALL: [DatasetKind; 9] = [
        DatasetKind::Customers,
        DatasetKind::Assets,
        DatasetKind::CustomerAssets,
        DatasetKind::Incidents,
        DatasetKind::Changes,
        DatasetKind::Maintenance,
        DatasetKind::Slas,
        DatasetKind::Churn,
        DatasetKind::Revenue,
    ];

    pub fn name(self) -> &'static str {
        match self {
            DatasetKind::Customers => "customers",
            DatasetKind::Assets => "assets",
            DatasetKind::CustomerAssets => "customer_assets",
            DatasetKind::Incidents => "incidents",
            DatasetKind::Changes => "changes",
            DatasetKind::Maintenance => "maintenance",
            DatasetKind::Slas => "slas",
            DatasetKind::Churn => "churn",
            DatasetKind::Revenue => "revenue",
        }
    }

    /// The declaration of this dataset.
    pub fn spec(self) -> &'static Dataset {
        ALL.iter()
            .find(|d| d.kind == self)
            .expect("every DatasetKind is declared in schema::datasets::ALL")
    }
}

impl fmt::Display for DatasetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Error for an unknown dataset name, with the nearest valid one.
#[derive(Debug, thiserror::Error)]
#[error("unknown dataset `{given}`{}; datasets are: {}", suggestion_suffix(.nearest), DatasetKind::ALL.map(|d| d.name()).join(", "))]
pub struct UnknownDataset {
    pub given: String,
    pub nearest: Option<&'static str>,
}

fn suggestion_suffix(nearest: &Option<&'static str>) -> String {
    nearest
        .map(|n| format!(" (did you mean `{n}`?)"))
        .unwrap_or_default()
}

impl FromStr for DatasetKind {
    type Err = UnknownDataset;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm = s.trim().to_ascii_lowercase().replace('-', "_");
        DatasetKind::ALL
            .into_iter()
            .find(|d| d.name() == norm)
            .ok_or_else(|| UnknownDataset {
                given: s.to_string(),
                nearest: nearest(&norm, DatasetKind::ALL.iter().map(|d| d.name())),
            })
    }
}

/// The candidate closest to `given` by edit distance, if it is close enough to be a typo and
/// no other candidate is as close (`sev9` suggests nothing among sev1..sev5).
pub fn nearest<'a>(given: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let given = given.to_ascii_lowercase();
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(&given, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .collect();
    scored.sort();
    match scored.as_slice() {
        [(d, c), rest @ ..] if rest.first().is_none_or(|(d2, _)| d2 > d) => Some(c),
        _ => None,
    }
}

/// Normalise an enum spelling: trimmed, lower case, spaces and hyphens as underscores.
pub fn normalise_enum(raw: &str) -> String {
    raw.trim()
        .to_lowercase()
        .chars()
        .map(|c| if c == ' ' || c == '-' { '_' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_declared_once_and_keys_are_columns() {
        for kind in DatasetKind::ALL {
            let spec = kind.spec();
            assert_eq!(ALL.iter().filter(|d| d.kind == kind).count(), 1);
            for k in spec.key {
                let c = spec
                    .column(k)
                    .unwrap_or_else(|| panic!("{kind}: key {k} not a column"));
                assert!(c.required, "{kind}: key column {k} must be required");
            }
            for chain in spec.orderings {
                for c in *chain {
                    assert!(spec.column(c).is_some(), "{kind}: ordering names {c}");
                }
            }
            if let Layout::MonthlyBy(c) = spec.layout {
                let col = spec.column(c).unwrap();
                assert!(col.required && col.ty == ColumnType::Timestamp);
            }
        }
        assert_eq!(ALL.len(), DatasetKind::ALL.len());
    }

    #[test]
    fn dataset_names_parse_with_suggestions() {
        assert_eq!(
            "Incidents".parse::<DatasetKind>().unwrap(),
            DatasetKind::Incidents
        );
        assert_eq!(
            "customer-assets".parse::<DatasetKind>().unwrap(),
            DatasetKind::CustomerAssets
        );
        let err = "incidnets".parse::<DatasetKind>().unwrap_err();
        assert_eq!(err.nearest, Some("incidents"));
        assert!(err.to_string().contains("did you mean `incidents`"));
        assert_eq!("zzz".parse::<DatasetKind>().unwrap_err().nearest, None);
    }

    #[test]
    fn enum_normalisation() {
        assert_eq!(normalise_enum(" Rolled Back "), "rolled_back");
        assert_eq!(normalise_enum("MID-MARKET"), "mid_market");
    }
}
