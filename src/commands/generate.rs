//! `opsintel generate`: write the sample data set and list its files.

use crate::cli::GenerateArgs;
use crate::error::{Error, Result};
use crate::generate::{GenerateOptions, generate};
use crate::output::{table, thousands};
use chrono::NaiveDate;

pub fn run(args: GenerateArgs) -> Result<()> {
    let end_month = NaiveDate::parse_from_str(&format!("{}-01", args.end_month), "%Y-%m-%d")
        .map_err(|_| Error::Usage(format!("--end-month `{}` is not YYYY-MM", args.end_month)))?;
    let opts = GenerateOptions {
        out: args.out,
        seed: args.seed,
        customers: args.customers,
        months: args.months,
        end_month,
        scale: args.scale,
        gzip: args.gzip,
    };
    let summary = generate(&opts)?;
    let rows = summary
        .files
        .iter()
        .map(|(f, n)| vec![f.clone(), thousands(*n)])
        .collect();
    println!("{}", table(&["file", "rows"], rows, &["rows"]));
    println!("written to {}", opts.out.display());
    Ok(())
}
