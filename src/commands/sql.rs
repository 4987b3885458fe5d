//! `opsintel sql`: ad-hoc SQL over the lake and the derived tables.

use super::emit;
use crate::cli::SqlArgs;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::query::Session;
use crate::query::params::{Params, Value};

pub fn run(ctx: &Context, args: SqlArgs) -> Result<()> {
    let policy = args.policy.parse().map_err(Error::Usage)?;
    let mut p = Params::default();
    p.values.insert("policy".into(), Value::Policy(policy));
    let df = Session::open(ctx)?.sql(&args.sql, &p)?;
    emit(&df, &args.output)
}
