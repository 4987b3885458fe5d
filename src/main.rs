//! The `opsintel` binary: parse the command line, run, print any error once to stderr.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = opsintel::cli::Cli::parse();
    match opsintel::commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            if let Some(h) = e.hint() {
                eprintln!("  hint: {h}");
            }
            ExitCode::from(e.exit_code() as u8)
        }
    }
}
