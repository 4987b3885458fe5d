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
use std::sync::{Arc, Mutex, PoisonError};

/// A canned query to answer: its name and given parameters (`name=value` pairs, unparsed).
pub type Run<'a> = (&'a str, Given);

/// Given parameters of a canned query: `name=value` pairs, unparsed.
pub type Given = Vec<(String, String)>;

/// How many queries [`Session::answer_all`] answers at a time once the model's shared pieces
/// are built: each keeps about one core busy (a table's walk, then SQL), and the machine this
/// is tuned on has two; more would also hold more tables in memory at once.
pub const QUERY_THREADS: usize = 2;

/// One run's access to the lake: a snapshot of it (read lazily, under the reader's lock), the
/// derived model per availability policy (each table built once, when a query first names it),
/// and the query catalog.
pub struct Session<'a> {
    pub ctx: &'a Context,
    pub queries: Vec<Query>,
    snapshot: Arc<Snapshot>,
    /// The model of each policy asked for, shared by the run's threads ([`Session::answer_all`]).
    models: Mutex<BTreeMap<&'static str, Arc<Model>>>,
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
            models: Mutex::default(),
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
    pub fn model(&self, policy: Policy) -> Arc<Model> {
        let (snapshot, ctx) = (&self.snapshot, self.ctx);
        let mut models = self.models.lock().unwrap_or_else(PoisonError::into_inner);
        models
            .entry(policy.name())
            .or_insert_with(|| {
                Arc::new(Model::new(
                    snapshot.clone(),
                    ctx.as_of,
                    ctx.tz,
                    policy,
                    Trace(ctx.timings),
                ))
            })
            .clone()
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
    pub fn sql(&self, sql: &str, p: &params::Params) -> Result<DataFrame> {
        self.sql_with(sql, p, QueryEngine::InMemory, None)
    }

    /// Run SQL with resolved parameters in the given polars engine; without a period parameter,
    /// `months` limits the period-scoped tables to the last that many full months.
    pub fn sql_with(
        &self,
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
            engine::run_sql(&snapshot, &model, &scoped, params_df, sql, engine)
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
    pub fn build_ahead(&self, runs: &[(&str, Vec<(String, String)>)]) -> Result<()> {
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
        let models = self.models.lock().unwrap_or_else(PoisonError::into_inner);
        models.values().for_each(|m| m.wait_ahead());
    }

    /// Answer `runs` (canned query names with their given parameters), in the order given:
    /// the first alone, then the rest [`QUERY_THREADS`] at a time, each thread taking the
    /// next run not yet started. `then` is asked after each answer for a run that needs it
    /// (the report's blast-radius takes its asset from troublesome-components' answer); the
    /// thread that answered answers that one next. Returns each run's answers (its own, then
    /// its follow-up's), in the order of `runs`; on an error, the first run's error in that
    /// order.
    ///
    /// The first runs alone because it builds the model's shared pieces (incidents, customers,
    /// exposure, revenue), already side by side on both cores; two threads needing them at
    /// once would each build them. After it, the queries mostly build tables in one thread's
    /// walk and run SQL over them, one core each.
    pub fn answer_all(
        &self,
        runs: &[Run<'_>],
        then: impl Fn(&Answer) -> Option<(String, Given)> + Sync,
    ) -> Result<Vec<Vec<Answer>>> {
        let answer = |(name, given): &Run<'_>| -> Result<Vec<Answer>> {
            let first = self.answer(name, given)?;
            let next = then(&first);
            let mut out = vec![first];
            if let Some((name, given)) = next {
                out.push(self.answer(&name, &given)?);
            }
            Ok(out)
        };
        let Some((head, rest)) = runs.split_first() else {
            return Ok(Vec::new());
        };
        let head = answer(head)?;
        let slots: Vec<Mutex<Option<Result<Vec<Answer>>>>> =
            rest.iter().map(|_| Mutex::new(None)).collect();
        let next = std::sync::atomic::AtomicUsize::new(0);
        let work = || {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(run) = rest.get(i) else { break };
                let done = answer(run);
                // An error stops this thread's work; the others finish what they took.
                let failed = done.is_err();
                *slots[i].lock().unwrap_or_else(PoisonError::into_inner) = Some(done);
                if failed {
                    break;
                }
            }
        };
        std::thread::scope(|s| {
            let others: Vec<_> = (1..QUERY_THREADS.min(rest.len()))
                .filter_map(|_| model::thread("query").spawn_scoped(s, work).ok())
                .collect();
            work();
            for h in others {
                if let Err(p) = h.join() {
                    std::panic::resume_unwind(p);
                }
            }
        });
        let mut out = vec![head];
        for slot in slots {
            // Runs are taken in order and a thread stops only after a run that failed, so a run
            // no thread took comes after one that failed, returned here first.
            let done = slot.into_inner().unwrap_or_else(PoisonError::into_inner);
            out.push(done.expect("a run not taken follows a failed one")?);
        }
        Ok(out)
    }

    /// Run the canned query `name` with `given` parameters (`name=value` pairs, unparsed).
    pub fn answer(&self, name: &str, given: &[(String, String)]) -> Result<Answer> {
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
