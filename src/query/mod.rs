//! The query layer: canned queries (files under `queries/`) and ad-hoc SQL over the lake's
//! datasets plus the derived model, with typed parameters and output formats.

pub mod catalog;
pub mod engine;
pub mod format;
pub mod params;
pub mod period;

use crate::context::Context;
use crate::error::Result;
use crate::schema::DatasetKind;
use catalog::{ParamType, Query};
use polars::prelude::DataFrame;
use std::collections::BTreeMap;

/// One run's access to the lake: the raw datasets read once, the derived model built once per
/// (policy, trend window), and the query catalog.
pub struct Session<'a> {
    pub ctx: &'a Context,
    pub queries: Vec<Query>,
    raw: BTreeMap<DatasetKind, DataFrame>,
    models: BTreeMap<(String, u32), engine::Tables>,
}

/// A query's result with the parameters it ran with.
pub struct Answer {
    pub query: Query,
    pub params: params::Params,
    pub df: DataFrame,
}

impl<'a> Session<'a> {
    pub fn open(ctx: &'a Context) -> Result<Self> {
        Ok(Session {
            ctx,
            queries: catalog::load_all(ctx.queries.as_deref())?,
            raw: engine::read_lake(&ctx.lake)?,
            models: BTreeMap::new(),
        })
    }

    pub fn raw(&self, kind: DatasetKind) -> &DataFrame {
        &self.raw[&kind]
    }

    /// Whether an asset or customer id exists in the lake.
    pub fn has_id(&self, t: ParamType, v: &str) -> bool {
        let (kind, col) = match t {
            ParamType::Asset => (DatasetKind::Assets, "asset_id"),
            _ => (DatasetKind::Customers, "customer_id"),
        };
        self.raw[&kind]
            .column(col)
            .ok()
            .and_then(|c| c.str().ok().map(|ca| ca.iter().any(|x| x == Some(v))))
            .unwrap_or(false)
    }

    /// Run the canned query `name` with `given` parameters (`name=value` pairs, unparsed).
    pub fn answer(&mut self, name: &str, given: &[(String, String)]) -> Result<Answer> {
        let query = catalog::find(&self.queries, name)?.clone();
        let p = params::resolve(
            &query.name,
            &query.meta.params,
            given,
            self.ctx.as_of,
            self.ctx.tz,
            &|t, v| self.has_id(t, v),
        )?;
        let trend = match p.values.get("months") {
            Some(params::Value::Int(n)) => *n as u32,
            _ => 12,
        };
        let key = (p.policy().name().to_string(), trend);
        if !self.models.contains_key(&key) {
            let t = engine::tables(self.raw.clone(), self.ctx.as_of, self.ctx.tz, &p)?;
            self.models.insert(key.clone(), t);
        }
        let df = engine::run_query(&query, &self.models[&key], &p, self.ctx.as_of, self.ctx.tz)?;
        Ok(Answer {
            query,
            params: p,
            df,
        })
    }
}
