//! One file per subcommand. Each turns its arguments into library options, calls the domain
//! module, and prints the result; none of them holds domain logic.

mod chart;
mod generate;
mod ingest;
mod lake_check;
mod lake_status;
mod mapping;
mod query;
mod report;
mod schema;
mod sql;
mod sync;
mod tables;

use crate::cli::OutputArgs;
use crate::cli::{Cli, Command, LakeCommand, QueryCommand};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::query::format::{OutputFormat, render};
use polars::prelude::DataFrame;

/// Write a result to `--out` or stdout in `--format`.
fn emit(df: &DataFrame, out: &OutputArgs) -> Result<()> {
    let format: OutputFormat = out.format.parse()?;
    if format == OutputFormat::Parquet && out.out.is_none() {
        return Err(Error::Usage("--format parquet needs --out FILE".into()));
    }
    let bytes = render(df, format, (out.max_rows > 0).then_some(out.max_rows))?;
    match &out.out {
        Some(path) => std::fs::write(path, bytes).map_err(|e| Error::io(path, e)),
        None => {
            use std::io::Write;
            std::io::stdout()
                .write_all(&bytes)
                .map_err(|e| Error::io("stdout", e))
        }
    }
}

/// Run a parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    // Commands that build the model reuse freed memory; ingest keeps the allocator's defaults,
    // and listing or showing queries needs neither.
    if matches!(
        cli.command,
        Command::Query(QueryCommand::Run(_))
            | Command::Sql(_)
            | Command::Chart(_)
            | Command::Report(_)
    ) {
        if crate::memory::keep_freed() {
            crate::memory::warm_zeroes();
        }
    }
    let ctx = Context::resolve(
        cli.lake,
        cli.as_of.as_deref(),
        cli.tz.as_deref(),
        cli.queries,
    )?
    .with_timings(cli.timings);
    match cli.command {
        Command::Ingest(args) => ingest::run(&ctx, args),
        Command::Lake(LakeCommand::Status) => lake_status::run(&ctx),
        Command::Lake(LakeCommand::Check(args)) => lake_check::run(&ctx, args),
        Command::Generate(args) => generate::run(args),
        Command::Schema(args) => schema::run(args),
        Command::Mapping(cmd) => mapping::run(cmd),
        Command::Sync(args) => sync::run(&ctx, args),
        Command::Query(cmd) => query::run(&ctx, cmd),
        Command::Sql(args) => sql::run(&ctx, args),
        Command::Tables(args) => tables::run(&ctx, &args),
        Command::Chart(args) => chart::run(&ctx, args),
        Command::Report(cmd) => report::run(&ctx, cmd),
    }
}
