//! `opsintel query list|show|run`: the canned queries.

use super::emit;
use crate::cli::QueryCommand;
use crate::context::Context;
use crate::error::Result;
use crate::output::table;
use crate::query::catalog;
use crate::query::params;

pub fn run(ctx: &Context, cmd: QueryCommand) -> Result<()> {
    let queries = catalog::load_all(ctx.queries.as_deref())?;
    match cmd {
        QueryCommand::List => {
            let rows = queries
                .iter()
                .map(|q| {
                    let ps = q.meta.params.iter().map(|p| match &p.default {
                        Some(d) => format!("{}={d}", p.name),
                        None => p.name.clone(),
                    });
                    vec![
                        q.name.clone(),
                        q.meta.title.clone(),
                        q.meta.question.clone(),
                        ps.collect::<Vec<_>>().join(" "),
                    ]
                })
                .collect();
            println!(
                "{}",
                table(&["name", "title", "question", "parameters"], rows, &[])
            );
            Ok(())
        }
        QueryCommand::Show { name } => {
            let q = catalog::find(&queries, &name)?;
            println!(
                "{} — {}\n\nQuestion: {}\n",
                q.name, q.meta.title, q.meta.question
            );
            if let Some(d) = &q.meta.description {
                println!("{d}\n");
            }
            let prow = q
                .meta
                .params
                .iter()
                .map(|p| {
                    vec![
                        p.name.clone(),
                        format!("{:?}", p.ty).to_lowercase(),
                        p.default.clone().unwrap_or_default(),
                        p.doc.clone(),
                    ]
                })
                .collect();
            println!(
                "Parameters:\n{}\n",
                table(&["name", "type", "default", "meaning"], prow, &[])
            );
            let crow = q
                .meta
                .columns
                .iter()
                .map(|c| {
                    vec![
                        c.name.clone(),
                        c.doc.clone(),
                        c.metric
                            .clone()
                            .map(|m| format!("docs/metrics.md#{m}"))
                            .unwrap_or_default(),
                    ]
                })
                .collect();
            println!(
                "Columns:\n{}\n",
                table(&["column", "meaning", "definition"], crow, &[])
            );
            println!("SQL ({}):\n{}", q.path.display(), q.sql.trim_end());
            Ok(())
        }
        QueryCommand::Run(args) => {
            let session = crate::query::Session::open(ctx)?;
            let answer = session.answer(&args.name, &params::parse_pairs(&args.params)?)?;
            emit(&answer.df, &args.output)
        }
    }
}
