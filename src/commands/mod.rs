//! One file per subcommand. Each turns its arguments into library options, calls the domain
//! module, and prints the result; none of them holds domain logic.

mod generate;
mod ingest;
mod lake_check;
mod lake_status;
mod schema;

use crate::cli::{Cli, Command, LakeCommand};
use crate::context::Context;
use crate::error::Result;

/// Run a parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    let ctx = Context::resolve(cli.lake, cli.as_of.as_deref(), cli.tz.as_deref())?;
    match cli.command {
        Command::Ingest(args) => ingest::run(&ctx, args),
        Command::Lake(LakeCommand::Status) => lake_status::run(&ctx),
        Command::Lake(LakeCommand::Check(args)) => lake_check::run(&ctx, args),
        Command::Generate(args) => generate::run(args),
        Command::Schema(args) => schema::run(args),
    }
}
