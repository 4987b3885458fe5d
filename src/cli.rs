//! Command-line types (clap). Only the binary's edge sees these; [`crate::context`] resolves the
//! global options once, and each command turns its arguments into library options.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "opsintel",
    version,
    about = "Operations intelligence: ingest ops exports into a Parquet lake and answer executive questions",
    after_help = "Examples:\n  opsintel --lake lake ingest --dir sample-data\n  opsintel --lake lake --as-of 2026-11-01 report exec --out exec.pdf --png-dir charts\n  opsintel --lake lake query run sla-attainment --param period=2026-Q3\n  opsintel ingest incidents export.csv --preset servicenow-incident --source-tz Europe/Berlin\n  opsintel lake check --stale-days 14"
)]
pub struct Cli {
    /// Lake directory [default: $OPSINTEL_LAKE, else ./lake]
    #[arg(long, global = true, env = "OPSINTEL_LAKE", value_name = "DIR")]
    pub lake: Option<PathBuf>,

    /// Reference time for "now" (YYYY-MM-DD or an RFC 3339 timestamp) [default: now]
    #[arg(long, global = true, value_name = "DATE|TIMESTAMP")]
    pub as_of: Option<String>,

    /// Reporting time zone (IANA name) [default: UTC]
    #[arg(long, global = true, value_name = "ZONE")]
    pub tz: Option<String>,

    /// Directory of extra or replacement canned queries [default: ./queries if present]
    #[arg(long, global = true, value_name = "DIR")]
    pub queries: Option<PathBuf>,

    /// Print to stderr how long each step took (model pieces, tables, SQL)
    #[arg(long, global = true)]
    pub timings: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Ingest export files into the lake (CSV, JSON array or NDJSON)
    #[command(
        after_help = "Examples:\n  opsintel ingest incidents incidents.csv\n  opsintel ingest changes a.json b.ndjson --source-tz America/New_York\n  opsintel ingest --dir sample-data --strict"
    )]
    Ingest(IngestArgs),
    /// Inspect the lake
    #[command(subcommand)]
    Lake(LakeCommand),
    /// Write a realistic, deterministic sample data set (every dataset, as CSV)
    Generate(GenerateArgs),
    /// Print the canonical data model
    Schema(SchemaArgs),
    /// Mappings that read the exports of real tools
    #[command(subcommand)]
    Mapping(MappingCommand),
    /// Ingest every new or changed file of the sources in opsintel.toml (a nightly job)
    Sync(SyncArgs),
    /// Canned queries: the executive questions
    #[command(subcommand)]
    Query(QueryCommand),
    /// Run ad-hoc SQL over the lake and the derived tables
    #[command(
        after_help = "Examples:\n  opsintel sql \"SELECT severity, count(*) AS n FROM incidents GROUP BY severity ORDER BY severity\"\n  opsintel sql \"SELECT * FROM sla_periods WHERE breached\" --format csv --out breaches.csv"
    )]
    Sql(SqlArgs),
    /// List the tables SQL can read, with their columns
    #[command(
        after_help = "Examples:\n  opsintel tables\n  opsintel tables --rows --as-of 2026-11-01"
    )]
    Tables(TablesArgs),
    /// PDF reports: the executive pack and per-customer quarterly business reviews
    #[command(subcommand)]
    Report(ReportCommand),
    /// Draw the chart a canned query suggests, as PNG or SVG
    #[command(
        after_help = "Examples:\n  opsintel chart troublesome-components --param period=2026 --out components.png\n  opsintel chart incident-trends --out trends.svg --width 1200 --height 600"
    )]
    Chart(ChartArgs),
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// The executive pack: headline KPIs, one section per executive question, definitions
    #[command(
        after_help = "Examples:\n  opsintel report exec --out exec.pdf --png-dir charts\n  opsintel --as-of 2026-11-01 report exec --period 2026-Q3 --out q3.pdf\n  opsintel report exec --months 12 --out ttm.pdf"
    )]
    Exec(ExecArgs),
    /// The quarterly business review of one customer (or of each top customer)
    #[command(
        after_help = "Examples:\n  opsintel report qbr --customer CUST-0036 --quarter 2026-Q3 --out qbr.pdf\n  opsintel report qbr --all-top 10 --out qbr/"
    )]
    Qbr(QbrArgs),
}

#[derive(Debug, Args)]
pub struct ReportOutput {
    /// Output PDF (for --all-top: a directory)
    #[arg(long, value_name = "FILE")]
    pub out: std::path::PathBuf,
    /// Also write every chart of the report as PNG into DIR
    #[arg(long, value_name = "DIR")]
    pub png_dir: Option<std::path::PathBuf>,
    /// A typst template to use instead of the built-in one (templates/*.typ)
    #[arg(long, value_name = "FILE")]
    pub template: Option<std::path::PathBuf>,
    /// Availability policy: strict, weighted or major_only
    #[arg(long, default_value = "strict")]
    pub policy: String,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Period: a month (2026-03), quarter (2026-Q3), year (2026) or range (2025-11..2026-10)
    #[arg(long, conflicts_with = "months")]
    pub period: Option<String>,
    /// The last N full months instead of a period
    #[arg(long)]
    pub months: Option<u32>,
    #[command(flatten)]
    pub output: ReportOutput,
}

#[derive(Debug, Args)]
pub struct QbrArgs {
    /// The customer
    #[arg(long, required_unless_present = "all_top", conflicts_with = "all_top")]
    pub customer: Option<String>,
    /// One pack for each of the N largest active customers by ARR
    #[arg(long, value_name = "N")]
    pub all_top: Option<u32>,
    /// Quarter (2026-Q3); default: the last full quarter
    #[arg(long)]
    pub quarter: Option<String>,
    #[command(flatten)]
    pub output: ReportOutput,
}

#[derive(Debug, Args)]
pub struct ChartArgs {
    /// The canned query
    pub name: String,
    /// A parameter, as name=value (repeatable)
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Output file: .png (2x, for slides) or .svg
    #[arg(long, value_name = "FILE")]
    pub out: std::path::PathBuf,
    /// Width in pixels (the PNG is twice as large)
    #[arg(long, default_value_t = 1000)]
    pub width: u32,
    /// Height in pixels
    #[arg(long, default_value_t = 560)]
    pub height: u32,
}

#[derive(Debug, Subcommand)]
pub enum QueryCommand {
    /// Name, title, question and parameters of every canned query
    List,
    /// A query's metadata and SQL
    Show { name: String },
    /// Run a canned query
    #[command(
        after_help = "Examples:\n  opsintel query run sla-attainment --param period=2026-Q3\n  opsintel query run blast-radius --param asset=pg-main --format csv\n  opsintel --as-of 2026-11-01 query run top-customers --param n=5 --format json --out top.json"
    )]
    Run(RunArgs),
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Output format: table, csv, json or parquet
    #[arg(long, default_value = "table")]
    pub format: String,
    /// Write to FILE instead of stdout
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Rows a table shows, the first ones (0: all); other formats write every row
    #[arg(long, value_name = "N", default_value_t = crate::query::format::TABLE_ROWS)]
    pub max_rows: usize,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    pub name: String,
    /// A parameter, as name=value (repeatable)
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct TablesArgs {
    /// Also build every derived table over the lake to count its rows (slow on a large lake:
    /// the fan-out tables grow with incidents × customers)
    #[arg(long)]
    pub rows: bool,
}

#[derive(Debug, Args)]
pub struct SqlArgs {
    /// One SQL statement
    pub sql: String,
    /// Availability policy for the derived tables: strict, weighted or major_only
    #[arg(long, default_value = "strict")]
    pub policy: String,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Dataset to load the files into (customers, assets, customer_assets, incidents, changes,
    /// maintenance, slas, churn, revenue)
    #[arg(required_unless_present = "dir")]
    pub dataset: Option<String>,
    /// Files to ingest
    #[arg(requires = "dataset")]
    pub files: Vec<PathBuf>,
    /// Ingest every file in DIR named after its dataset (incidents.csv, churn.json, ...)
    #[arg(long, value_name = "DIR", conflicts_with_all = ["dataset", "files"])]
    pub dir: Option<PathBuf>,
    /// Time zone of naive timestamps in the input (IANA name) [default: the mapping's, else UTC]
    #[arg(long, value_name = "TZ")]
    pub source_tz: Option<String>,
    /// Fail the whole ingest, writing nothing, if any row is rejected
    #[arg(long)]
    pub strict: bool,
    /// Read the files through this mapping file (docs/mappings.md)
    #[arg(long, value_name = "FILE", conflicts_with_all = ["preset", "dir"])]
    pub mapping: Option<PathBuf>,
    /// Read the files through a preset mapping (`opsintel mapping list`)
    #[arg(long, value_name = "NAME", conflicts_with = "dir")]
    pub preset: Option<String>,
    /// CSV read and validated at a time (bytes; K, M or G suffix): bounds ingest memory
    #[arg(long, value_name = "SIZE", default_value = "64M", value_parser = parse_size)]
    pub chunk_size: usize,
}

/// A size in bytes with an optional K, M or G suffix (powers of 1024).
fn parse_size(s: &str) -> std::result::Result<usize, String> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 1usize << 10),
        Some((i, 'm' | 'M')) => (&t[..i], 1 << 20),
        Some((i, 'g' | 'G')) => (&t[..i], 1 << 30),
        _ => (t, 1),
    };
    num.trim()
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("`{s}` is not a size like 64M, 512K or 1G"))
}

#[derive(Debug, Subcommand)]
pub enum MappingCommand {
    /// The preset mappings shipped with opsintel
    List,
    /// Preview a mapping on a file: the first mapped rows and every problem, lake untouched
    #[command(
        after_help = "Examples:\n  opsintel mapping check servicenow-incident export.csv --source-tz Europe/Berlin\n  opsintel mapping check my-mapping.toml events.csv --rows 20"
    )]
    Check(MappingCheckArgs),
    /// Print a preset's TOML (a starting point for your own mapping)
    Show { name: String },
}

#[derive(Debug, Args)]
pub struct MappingCheckArgs {
    /// A mapping file, or the name of a preset
    pub mapping: String,
    /// The export to try it on
    pub file: PathBuf,
    /// Time zone of naive timestamps [default: the mapping's, else UTC]
    #[arg(long, value_name = "TZ")]
    pub source_tz: Option<String>,
    /// How many mapped rows to show
    #[arg(long, default_value_t = 10)]
    pub rows: usize,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Project file declaring the sources [default: ./opsintel.toml]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum LakeCommand {
    /// Rows, partitions, time range and last ingest of every dataset
    Status,
    /// Data-quality report: unknown references, dependency cycles, stale incidents, merges
    Check(CheckArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// An incident still unresolved this many days after it started is reported
    #[arg(long, default_value_t = 30)]
    pub stale_days: u32,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Output directory (created if missing)
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Random seed; the same seed and options give identical files
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Number of customers at scale 1
    #[arg(long, default_value_t = 300)]
    pub customers: usize,
    /// Months of history
    #[arg(long, default_value_t = 36)]
    pub months: u32,
    /// Last month of history (YYYY-MM)
    #[arg(long, default_value = "2026-10", value_name = "YYYY-MM")]
    pub end_month: String,
    /// Multiply customers, incidents and changes (e.g. 15000 for about ten million incidents)
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// Write gzip-compressed files (`incidents.csv.gz`, ...), which `ingest` reads as they are
    #[arg(long)]
    pub gzip: bool,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Only this dataset
    pub dataset: Option<String>,
    /// Print the Markdown of docs/data-model.md
    #[arg(long)]
    pub markdown: bool,
}
