//! `opsintel tables`: every table SQL can read, with its columns and types.

use crate::context::Context;
use crate::error::Result;
use crate::output::{table, thousands};
use crate::query::engine;
use crate::query::params::Params;

pub fn run(ctx: &Context) -> Result<()> {
    let tables = engine::tables(
        engine::read_lake(&ctx.lake)?,
        ctx.as_of,
        ctx.tz,
        &Params::default(),
    )?;
    let n_raw = tables.raw.len();
    let rows = tables
        .all()
        .into_iter()
        .enumerate()
        .map(|(i, (name, df))| {
            let cols = df
                .schema()
                .iter()
                .map(|(n, t)| format!("{n} {t}"))
                .collect::<Vec<_>>()
                .join(", ");
            vec![
                name,
                if i < n_raw {
                    "lake".into()
                } else {
                    "derived".into()
                },
                thousands(df.height() as u64),
                cols,
            ]
        })
        .collect();
    println!(
        "{}",
        table(&["table", "kind", "rows", "columns"], rows, &["rows"])
    );
    println!("plus `params`: one row with as_of and the query's parameters");
    Ok(())
}
