//! `opsintel tables`: every table SQL can read, with its rows and columns. Builds every derived
//! table (the fan-out ones too), so it is a tool for small lakes and for learning the model.

use crate::context::Context;
use crate::error::Result;
use crate::model::{Policy, Scoped, TABLES};
use crate::output::{table, thousands};
use crate::query::Session;
use crate::schema::DatasetKind;
use polars::prelude::*;

fn columns(schema: &Schema) -> String {
    schema
        .iter()
        .map(|(n, t)| format!("{n} {t}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn run(ctx: &Context) -> Result<()> {
    let mut session = Session::open(ctx)?;
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
    };
    let model = session.model(Policy::default());
    for def in TABLES {
        let df = model.table(def.name, &scoped)?;
        rows.push(vec![
            def.name.to_string(),
            if def.fan_out {
                "derived (fan-out)".into()
            } else {
                "derived".into()
            },
            thousands(df.height() as u64),
            columns(&df.schema()),
        ]);
    }
    println!(
        "{}",
        table(&["table", "kind", "rows", "columns"], rows, &["rows"])
    );
    println!("plus `params`: one row with as_of and the query's parameters");
    Ok(())
}
