//! `opsintel sql`: ad-hoc SQL over the lake and the derived tables.

use super::emit;
use crate::cli::SqlArgs;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::query::engine;
use crate::query::params::{self, Params, Value};

pub fn run(ctx: &Context, args: SqlArgs) -> Result<()> {
    let policy = args.policy.parse().map_err(Error::Usage)?;
    let mut p = Params::default();
    p.values.insert("policy".into(), Value::Policy(policy));
    let tables = engine::tables(engine::read_lake(&ctx.lake)?, ctx.as_of, ctx.tz, &p)?;
    let df = engine::run_sql(&tables, params::table(&p, ctx.as_of, ctx.tz)?, &args.sql)?;
    emit(&df, &args.output)
}
