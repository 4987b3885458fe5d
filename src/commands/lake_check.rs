//! `opsintel lake check`: the data-quality report.

use crate::cli::CheckArgs;
use crate::context::Context;
use crate::error::Result;
use crate::output::{table, thousands};
use crate::quality;

pub fn run(ctx: &Context, args: CheckArgs) -> Result<()> {
    let lake = &ctx.lake;
    if !lake.exists() {
        println!("lake: {} (empty: nothing to check)", lake.root().display());
        return Ok(());
    }
    let _guard = lake.read_lock()?;
    let manifest = lake.manifest()?;
    let findings = quality::check(lake, &manifest, ctx.as_of, args.stale_days)?;
    let rows = findings
        .iter()
        .map(|f| {
            vec![
                f.check.to_string(),
                thousands(f.count),
                f.examples.join(", "),
                f.action.to_string(),
            ]
        })
        .collect();
    println!(
        "lake: {} (as of {})",
        lake.root().display(),
        ctx.as_of.format("%Y-%m-%dT%H:%M:%SZ")
    );
    println!(
        "{}",
        table(
            &["check", "count", "examples", "what to do"],
            rows,
            &["count"]
        )
    );
    let problems = findings
        .iter()
        .filter(|f| f.count > 0 && f.is_problem)
        .count();
    println!("{problems} check(s) found problems");
    Ok(())
}
