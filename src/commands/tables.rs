//! `opsintel tables`: every table SQL can read, with its columns: the lake's datasets (rows from
//! the manifest) and the derived tables (columns from building each over an empty lake, so the
//! listing is instant on any lake). `--rows` builds every derived table over the lake to count
//! its rows (the fan-out ones too): a tool for small lakes and for learning the model.

use crate::cli::TablesArgs;
use crate::context::Context;
use crate::error::Result;
use crate::model::{Empty, Model, Policy, Scoped, TABLES, Trace};
use crate::output::{table, thousands};
use crate::query::Session;
use crate::schema::DatasetKind;
use polars::prelude::*;
use std::sync::Arc;

fn columns(schema: &Schema) -> String {
    schema
        .iter()
        .map(|(n, t)| format!("{n} {t}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn run(ctx: &Context, args: &TablesArgs) -> Result<()> {
    let session = Session::open(ctx)?;
    let mut rows = Vec::new();
    for kind in DatasetKind::ALL {
        let mut lf = session.snapshot().scan(kind)?;
        let schema = lf
            .collect_schema()
            .map_err(crate::error::Error::polars("reading the lake"))?;
        rows.push(vec![
            kind.name().to_string(),
            "lake".into(),
            thousands(session.snapshot().rows(kind)),
            columns(&schema),
        ]);
    }
    let scoped = Scoped {
        trend_months: 12,
        window: None,
        asset: None,
    };
    // The schemas come from the empty lake; the rows, if asked for, from the lake.
    let empty = Model::new(
        Arc::new(Empty),
        ctx.as_of,
        ctx.tz,
        Policy::default(),
        Trace(ctx.timings),
    );
    let model = session.model(Policy::default());
    for def in TABLES {
        let schema = empty.table(def.name, &scoped)?.schema().clone();
        let n = if args.rows {
            thousands(model.table(def.name, &scoped)?.height() as u64)
        } else {
            "–".into()
        };
        rows.push(vec![
            def.name.to_string(),
            if def.fan_out {
                "derived (fan-out)".into()
            } else {
                "derived".into()
            },
            n,
            columns(&schema),
        ]);
    }
    println!(
        "{}",
        table(&["table", "kind", "rows", "columns"], rows, &["rows"])
    );
    println!("plus `params`: one row with as_of and the query's parameters");
    if !args.rows {
        println!(
            "derived tables are built per query, for its period; `opsintel tables --rows` counts their rows over the whole lake"
        );
    }
    Ok(())
}
