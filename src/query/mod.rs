//! The query layer: canned queries (files under `queries/`) and ad-hoc SQL over the lake's
//! datasets plus the derived model, with typed parameters and output formats.

pub mod catalog;
pub mod engine;
pub mod format;
pub mod params;
pub mod period;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::lake::Snapshot;
use crate::model::{self, Model, Policy, Trace};
use crate::schema::DatasetKind;
use catalog::{ParamType, Query, QueryEngine};
use polars::prelude::*;
use std::collections::BTreeMap;
use std::sync::Arc;

/// One run's access to the lake: a snapshot of it (read lazily, under the reader's lock), the
/// derived model per availability policy (each table built once, when a query first names it),
/// and the query catalog.
pub struct Session<'a> {
    pub ctx: &'a Context,
    pub queries: Vec<Query>,
    snapshot: Arc<Snapshot>,
    models: BTreeMap<&'static str, Model>,
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
            snapshot: Arc::new(Snapshot::open(&ctx.lake)?),
            models: BTreeMap::new(),
        })
    }

    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// The named columns of a lake dataset.
    pub fn read(&self, kind: DatasetKind, columns: &[&str]) -> Result<DataFrame> {
        self.snapshot.columns(kind, columns)
    }

    /// The derived model for `policy`.
    pub fn model(&mut self, policy: Policy) -> &Model {
        let (snapshot, ctx) = (&self.snapshot, self.ctx);
        self.models.entry(policy.name()).or_insert_with(|| {
            Model::new(
                snapshot.clone(),
                ctx.as_of,
                ctx.tz,
                policy,
                Trace(ctx.timings),
            )
        })
    }

    /// Whether an asset or customer id exists in the lake.
    pub fn has_id(&self, t: ParamType, v: &str) -> bool {
        let (kind, column) = match t {
            ParamType::Asset => (DatasetKind::Assets, "asset_id"),
            _ => (DatasetKind::Customers, "customer_id"),
        };
        self.snapshot
            .scan(kind)
            .and_then(|lf| {
                lf.filter(col(column).eq(lit(v)))
                    .select([len()])
                    .collect()
                    .map_err(Error::polars("reading the lake"))
            })
            .ok()
            .and_then(|df| df.column("len").ok()?.u32().ok()?.get(0))
            .is_some_and(|n| n > 0)
    }

    /// Run SQL with resolved parameters (in polars' in-memory engine).
    pub fn sql(&mut self, sql: &str, p: &params::Params) -> Result<DataFrame> {
        self.sql_with(sql, p, QueryEngine::InMemory, None)
    }

    /// Run SQL with resolved parameters in the given polars engine; without a period parameter,
    /// `months` limits the period-scoped tables to the last that many full months.
    pub fn sql_with(
        &mut self,
        sql: &str,
        p: &params::Params,
        engine: QueryEngine,
        months: Option<u32>,
    ) -> Result<DataFrame> {
        let (as_of, tz) = (self.ctx.as_of, self.ctx.tz);
        let scoped = engine::scoped(p, months, as_of, tz);
        let params_df = params::table(p, as_of, tz)?;
        let snapshot = self.snapshot.clone();
        let trace = Trace(self.ctx.timings);
        let model = self.model(p.policy());
        trace.time("sql", || {
            engine::run_sql(&snapshot, model, &scoped, params_df, sql, engine)
        })
    }

    /// The canned query `name` and its parameters resolved from `given` (`name=value` pairs).
    fn resolve(&self, name: &str, given: &[(String, String)]) -> Result<(Query, params::Params)> {
        let query = catalog::find(&self.queries, name)?.clone();
        let p = params::resolve(
            &query.name,
            &query.meta.params,
            given,
            self.ctx.as_of,
            self.ctx.tz,
            &|t, v| self.has_id(t, v),
        )?;
        Ok((query, p))
    }

    /// Tell the models which canned queries this run will answer, in order (name and given
    /// parameters): the derived tables they read that polars builds from the lake alone start
    /// building in a second thread, the last query's first ([`Model::build_ahead`]; the run's
    /// own thread reaches the first query's tables before a worker could).
    ///
    /// The windows the queries read `sla_periods` for are announced
    /// ([`Model::announce_sla_periods`]): adjacent ones are one pass over the SLAs.
    /// When more than one of the queries reads change tables, the changes are counted once
    /// over the whole history and each change table summed from that count
    /// ([`Model::share_change_counts`]): the report's six change tables were each a scan of
    /// every change in their window.
    pub fn build_ahead(&mut self, runs: &[(&str, Vec<(String, String)>)]) -> Result<()> {
        let (as_of, tz) = (self.ctx.as_of, self.ctx.tz);
        let mut planned = Vec::with_capacity(runs.len());
        for (name, given) in runs.iter().rev() {
            let (query, p) = self.resolve(name, given)?;
            let scoped = engine::scoped(&p, query.meta.months, as_of, tz);
            planned.push((p.policy(), engine::tables_read(&query.sql), scoped));
        }
        let reads_changes = planned
            .iter()
            .filter(|(_, names, _)| {
                names
                    .iter()
                    .any(|n| model::CHANGE_TABLES.contains(&n.as_str()))
            })
            .count();
        for (policy, names, scoped) in &planned {
            let model = self.model(*policy);
            if reads_changes > 1 {
                model.share_change_counts();
            }
            if let Some(w) = scoped.window
                && names.contains("sla_periods")
            {
                model.announce_sla_periods(w);
            }
            model.build_ahead(names.iter().map(String::as_str), scoped)?;
        }
        Ok(())
    }

    /// Wait until every model's tables built ahead are ready (see [`Model::wait_ahead`]).
    pub fn wait_ahead(&self) {
        self.models.values().for_each(Model::wait_ahead);
    }

    /// Run the canned query `name` with `given` parameters (`name=value` pairs, unparsed).
    pub fn answer(&mut self, name: &str, given: &[(String, String)]) -> Result<Answer> {
        let (query, p) = self.resolve(name, given)?;
        let df = self
            .sql_with(&query.sql, &p, query.meta.engine, query.meta.months)
            .map_err(|e| match e {
                Error::Usage(m) => Error::Usage(format!(
                    "query `{}` ({}): {m}",
                    query.name,
                    query.path.display()
                )),
                other => other,
            })?;
        engine::check_columns(&query, &df)?;
        Ok(Answer {
            query,
            params: p,
            df,
        })
    }
}
