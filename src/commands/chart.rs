//! `opsintel chart`: run a canned query and draw the chart its metadata suggests.

use crate::chart::{self, ChartOptions};
use crate::cli::ChartArgs;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::query::{Session, params};

pub fn run(ctx: &Context, args: ChartArgs) -> Result<()> {
    let ext = args
        .out
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    if !matches!(ext.as_deref(), Some("png" | "svg")) {
        return Err(Error::Usage(format!(
            "--out {}: give a .png or .svg file",
            args.out.display()
        )));
    }
    let session = Session::open(ctx)?;
    let answer = session.answer(&args.name, &params::parse_pairs(&args.params)?)?;
    let spec = answer
        .query
        .meta
        .chart
        .clone()
        .ok_or_else(|| Error::Usage(format!("query `{}` suggests no chart", args.name)))?;
    let opts = ChartOptions {
        width: args.width,
        height: args.height,
        footnote: chart::footnote(&answer, ctx),
    };
    let svg = chart::render(&spec, &answer.df, &opts)?;
    let bytes = if ext.as_deref() == Some("png") {
        chart::png::svg_to_png(&svg, 2.0)?
    } else {
        svg.into_bytes()
    };
    std::fs::write(&args.out, bytes).map_err(|e| Error::io(&args.out, e))?;
    println!("{}", args.out.display());
    Ok(())
}
