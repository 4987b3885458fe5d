//! `opsintel report exec|qbr`: render a PDF report and, optionally, its charts as PNG.

use crate::chart::png::svg_to_png;
use crate::cli::{ReportCommand, ReportOutput};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::query::Session;
use crate::query::period::Period;
use crate::report::{self, Rendered, exec::ExecOptions};
use std::path::Path;

fn template(out: &ReportOutput, default: &str) -> Result<String> {
    match &out.template {
        Some(p) => std::fs::read_to_string(p).map_err(|e| Error::io(p, e)),
        None => Ok(default.to_string()),
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    std::fs::write(path, bytes).map_err(|e| Error::io(path, e))
}

fn save(rendered: &Rendered, pdf: &Path, png_dir: Option<&Path>, prefix: &str) -> Result<()> {
    write(pdf, &rendered.pdf)?;
    println!("{}", pdf.display());
    if let Some(dir) = png_dir {
        for (name, svg) in &rendered.charts {
            let path = dir.join(format!("{prefix}{name}.png"));
            write(&path, &svg_to_png(svg, 2.0)?)?;
            println!("{}", path.display());
        }
    }
    Ok(())
}

pub fn run(ctx: &Context, cmd: ReportCommand) -> Result<()> {
    let session = Session::open(ctx)?;
    match cmd {
        ReportCommand::Exec(args) => {
            let period = match (args.period, args.months) {
                (Some(p), _) => Some(p),
                (None, Some(n)) if n >= 1 => {
                    Some(Period::last_full_months(ctx.as_of, ctx.tz, n).label())
                }
                (None, Some(_)) => return Err(Error::Usage("--months must be at least 1".into())),
                (None, None) => None,
            };
            let opts = ExecOptions {
                period,
                policy: args.output.policy.clone(),
                template: template(&args.output, report::EXEC_TEMPLATE)?,
            };
            let rendered = report::exec::render(&session, &opts)?;
            save(
                &rendered,
                &args.output.out,
                args.output.png_dir.as_deref(),
                "",
            )
        }
        ReportCommand::Qbr(args) => {
            let quarter = match &args.quarter {
                Some(q) => Period::parse(q)?,
                None => report::qbr::last_full_quarter(&session),
            };
            let tpl = template(&args.output, report::QBR_TEMPLATE)?;
            match (args.customer, args.all_top) {
                (Some(c), _) => {
                    if !session.has_id(crate::query::catalog::ParamType::Customer, &c) {
                        return Err(Error::Usage(format!("no customer `{c}` in the lake")));
                    }
                    let r = report::qbr::render(&session, &c, &quarter, &args.output.policy, &tpl)?;
                    save(&r, &args.output.out, args.output.png_dir.as_deref(), "")
                }
                (None, Some(n)) => {
                    for c in report::qbr::top_customers(&session, n)? {
                        let r =
                            report::qbr::render(&session, &c, &quarter, &args.output.policy, &tpl)?;
                        let file = args
                            .output
                            .out
                            .join(format!("qbr-{c}-{}.pdf", quarter.label()));
                        save(&r, &file, args.output.png_dir.as_deref(), &format!("{c}-"))?;
                    }
                    Ok(())
                }
                (None, None) => Err(Error::Usage("give --customer ID or --all-top N".into())),
            }
        }
    }
}
