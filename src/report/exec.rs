//! The executive pack: headline KPI tiles with the change against the previous period, then one
//! section per executive question (answer in words, chart, compact table), then the definitions
//! of every metric used and what the lake holds.

use super::{Rendered, chart_svg, definitions, f64_at, lake_contents, num, table, words};
use crate::error::Result;
use crate::query::period::Period;
use crate::query::{Answer, Run, Session};
use serde_json::{Value, json};

/// Options of the executive report.
pub struct ExecOptions {
    /// `2026-03`, `2026-Q3` or `2026`; default the last full month.
    pub period: Option<String>,
    /// Availability policy for every figure.
    pub policy: String,
    pub template: String,
}

/// Columns of each section's table.
fn columns(query: &str) -> &'static [&'static str] {
    match query {
        "sla-attainment" => &[
            "customer_name",
            "metric",
            "sla_period",
            "target",
            "attainment_pct",
            "breached",
            "credit_amount",
        ],
        "since-last-downtime" => &[
            "asset_name",
            "last_downtime_end",
            "days_since",
            "longest_streak_days_in_period",
        ],
        "invest-next-dollar" => &[
            "asset_name",
            "downtime_minutes",
            "customers_affected",
            "cost_of_unreliability",
            "run_cost",
            "unreliability_to_run_cost",
        ],
        "churn-causes" => &[
            "reason",
            "logos_lost",
            "downgrades",
            "mrr_lost",
            "share_of_mrr_lost_pct",
        ],
        "change-outcomes" => &[
            "grouping",
            "key",
            "changes",
            "completed",
            "failed",
            "rolled_back",
            "change_failure_rate_pct",
        ],
        "troublesome-components" => &[
            "rank",
            "asset_name",
            "incidents",
            "sev1",
            "downtime_minutes",
            "mttr_mean_min",
            "change_failure_rate_pct",
            "customers_affected",
        ],
        "blast-radius" => &[
            "customer_name",
            "segment",
            "arr",
            "sla_target",
            "error_budget_remaining_minutes",
        ],
        "top-customers" => &[
            "customer_name",
            "arr",
            "availability_pct",
            "incidents",
            "credits",
            "churn_risk",
        ],
        "incident-trends" => &[
            "month",
            "incidents",
            "sev1",
            "sev2",
            "mtta_mean_min",
            "mttr_mean_min",
            "mttr_median_min",
            "mttr_p90_min",
        ],
        "trailing-twelve-months" => &[
            "month",
            "availability_pct",
            "incidents",
            "mttr_mean_min",
            "change_failure_rate_pct",
            "churned_mrr",
            "nrr_pct",
        ],
        _ => &[],
    }
}

struct Tile {
    label: &'static str,
    col: &'static str,
    unit: &'static str,
    higher_is_better: bool,
}

const TILES: [Tile; 8] = [
    Tile {
        label: "Customer availability",
        col: "availability_pct",
        unit: " %",
        higher_is_better: true,
    },
    Tile {
        label: "Days without downtime at period end",
        col: "days_without_downtime_at_end",
        unit: " d",
        higher_is_better: true,
    },
    Tile {
        label: "SLA periods breached",
        col: "slas_breached",
        unit: "",
        higher_is_better: false,
    },
    Tile {
        label: "SLA credit liability",
        col: "credit_liability",
        unit: "",
        higher_is_better: false,
    },
    Tile {
        label: "MTTR (mean)",
        col: "mttr_mean_min",
        unit: " min",
        higher_is_better: false,
    },
    Tile {
        label: "Change failure rate",
        col: "change_failure_rate_pct",
        unit: " %",
        higher_is_better: false,
    },
    Tile {
        label: "Churned MRR",
        col: "churned_mrr",
        unit: "",
        higher_is_better: false,
    },
    Tile {
        label: "Net revenue retention (12 mo)",
        col: "nrr_pct",
        unit: " %",
        higher_is_better: true,
    },
];

fn tiles(cur: &Answer, prev: &Answer, prev_label: &str) -> Vec<Value> {
    TILES
        .iter()
        .map(|t| {
            let extra = if t.col == "slas_breached" {
                format!(
                    "of {}",
                    f64_at(&cur.df, "slas", 0)
                        .map(num)
                        .unwrap_or_else(|| "0".into())
                )
            } else {
                String::new()
            };
            super::kpi_tile(
                t.label,
                &cur.df,
                &prev.df,
                t.col,
                t.unit,
                t.higher_is_better,
                prev_label,
                extra,
            )
        })
        .collect()
}

/// Build the executive report.
pub fn render(session: &Session<'_>, opts: &ExecOptions) -> Result<Rendered> {
    let ctx = session.ctx;
    let period = match &opts.period {
        Some(p) => Period::parse(p)?,
        None => Period::last_full_month(ctx.as_of, ctx.tz),
    };
    let pp = |p: &Period| {
        vec![
            ("period".to_string(), p.label()),
            ("policy".to_string(), opts.policy.clone()),
        ]
    };
    let policy_only = vec![("policy".to_string(), opts.policy.clone())];
    let mut top = pp(&period);
    top.push(("n".to_string(), "10".to_string()));
    let months = |n: &str| vec![("months".to_string(), n.to_string())];
    let mut heat_args = months("12");
    heat_args.extend(policy_only.clone());
    // The queries of the report, in order (blast-radius, whose asset comes from
    // troublesome-components' answer, is run after it by the same thread). What polars
    // computes from the lake alone starts in a second thread while the model is built; after
    // the first query, which builds the model, two queries run at a time
    // ([`Session::answer_all`]).
    let runs: Vec<Run<'_>> = vec![
        ("headline-kpis", pp(&period)),
        ("headline-kpis", pp(&period.previous())),
        ("sla-attainment", pp(&period)),
        ("since-last-downtime", pp(&period)),
        ("invest-next-dollar", pp(&period)),
        ("churn-causes", pp(&period)),
        (
            "change-outcomes",
            vec![("period".to_string(), period.label())],
        ),
        ("troublesome-components", pp(&period)),
        ("top-customers", top),
        ("incident-trends", months("12")),
        ("trailing-twelve-months", policy_only.clone()),
        ("downtime-by-month", heat_args),
    ];
    session.build_ahead(&runs)?;
    // The blast-radius example: the most troublesome component, else the most depended-on
    // one.
    let blast = |trouble: &Answer| {
        if trouble.query.name != "troublesome-components" {
            return None;
        }
        let asset =
            super::str_at(&trouble.df, "asset_id", 0).or_else(|| most_depended_on(session))?;
        let mut args = policy_only.clone();
        args.push(("asset".to_string(), asset));
        Some(("blast-radius".to_string(), args))
    };
    // Started dearest first, then put back in page order.
    let order = start_order(&runs);
    let started: Vec<Run<'_>> = order.iter().map(|&i| runs[i].clone()).collect();
    let mut by_run: Vec<Vec<Answer>> = runs.iter().map(|_| Vec::new()).collect();
    for (&i, answers) in order.iter().zip(session.answer_all(&started, blast)?) {
        by_run[i] = answers;
    }
    let mut answered: Vec<Answer> = by_run.into_iter().flatten().collect();
    let heat = answered.pop().expect("downtime-by-month");
    let mut answered = answered.into_iter();
    let (cur, prev) = (
        answered.next().expect("headline-kpis"),
        answered.next().expect("headline-kpis, previous period"),
    );
    let answers: Vec<Answer> = answered.collect();

    // Extra charts shown beside a section's own: where and when downtime hit, with the
    // troublesome components.
    let mut charts = Vec::new();
    let mut sections = Vec::new();
    for a in &answers {
        let mut paths = Vec::new();
        let extra: Vec<&Answer> = if a.query.name == "troublesome-components" {
            vec![&heat]
        } else {
            vec![]
        };
        for c in std::iter::once(a).chain(extra) {
            if let Some(svg) = chart_svg(session, c)? {
                paths.push(format!("charts/{}.svg", c.query.name));
                charts.push((c.query.name.clone(), svg));
            }
        }
        sections.push(json!({
            "n": a.query.meta.order,
            "name": a.query.name,
            "title": a.query.meta.title,
            "question": a.query.meta.question,
            "answer": words::sentence(a),
            "charts": paths,
            "table": table(&a.df, columns(&a.query.name), 12),
            "source": crate::chart::footnote(a, ctx),
        }));
    }
    // A period with no incidents, SLAs, changes or revenue movements has nothing to report.
    let has_data = [
        "incidents",
        "slas",
        "change_failure_rate_pct",
        "churned_mrr",
        "availability_pct",
    ]
    .iter()
    .any(|c| f64_at(&cur.df, c, 0).is_some_and(|v| v != 0.0));
    let mut used: Vec<&Answer> = answers.iter().collect();
    used.push(&cur);
    let data = json!({
        "title": "Operations review",
        "period": period.label(),
        "prev_period": period.previous().label(),
        "as_of": ctx.as_of.format("%Y-%m-%d %H:%M UTC").to_string(),
        "tz": ctx.tz.name(),
        "policy": opts.policy,
        "kpis": tiles(&cur, &prev, &period.previous().label()),
        "has_data": has_data,
        "sections": sections,
        "definitions": definitions(&used),
        "lake": lake_contents(session)?,
    });
    let mut files = vec![(
        "/data.json".to_string(),
        serde_json::to_vec_pretty(&data).expect("json"),
    )];
    for (name, svg) in &charts {
        files.push((format!("/charts/{name}.svg"), svg.clone().into_bytes()));
    }
    let world = super::world::ReportWorld::new(&opts.template, files, ctx.as_of.date_naive())?;
    let pdf = world.pdf(&format!("opsintel-exec-{}", period.label()))?;
    Ok(Rendered { pdf, charts })
}

/// The report's queries that take longest once the model is built (at 10 M incidents, two at a
/// time: 1-8 s each, blast-radius with troublesome-components; the others under 1 s).
const DEAREST: [&str; 4] = [
    "churn-causes",
    "invest-next-dollar",
    "troublesome-components",
    "top-customers",
];

/// The order to start `runs` in (indexes into it): the first (it builds the model), then the
/// [`DEAREST`] in that order, then the rest in theirs. Two at a time, a dear query started
/// last would run alone at the end while the cheap ones could have filled in beside it.
fn start_order(runs: &[Run<'_>]) -> Vec<usize> {
    let dear = |i: usize| DEAREST.iter().position(|d| *d == runs[i].0);
    let mut order: Vec<usize> = (1..runs.len()).collect();
    // Stable: the dearest by their rank, the rest (rank `None` sorted last) as they came.
    order.sort_by_key(|&i| dear(i).map_or(DEAREST.len(), |r| r));
    if !runs.is_empty() {
        order.insert(0, 0);
    }
    order
}

/// The asset the most customers use directly (the blast-radius example when no component had
/// an incident in the period); ties go to the first asset id.
fn most_depended_on(session: &Session<'_>) -> Option<String> {
    let uses = session
        .read(crate::schema::DatasetKind::CustomerAssets, &["asset_id"])
        .ok()?;
    let uses = &uses;
    let mut counts: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
    for r in 0..uses.height() {
        if let Some(a) = super::str_at(uses, "asset_id", r) {
            *counts.entry(a).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        .map(|(a, _)| a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_query_starts_first_then_the_dearest_then_the_rest_in_page_order() {
        let names = [
            "headline-kpis",
            "headline-kpis",
            "sla-attainment",
            "since-last-downtime",
            "invest-next-dollar",
            "churn-causes",
            "change-outcomes",
            "troublesome-components",
            "top-customers",
            "incident-trends",
        ];
        let runs: Vec<Run<'_>> = names.iter().map(|n| (*n, Vec::new())).collect();
        assert_eq!(start_order(&runs), vec![0, 5, 4, 7, 8, 1, 2, 3, 6, 9]);
        // The first run stays first even when it is one of the dearest.
        let runs: Vec<Run<'_>> = ["top-customers", "sla-attainment", "churn-causes"]
            .iter()
            .map(|n| (*n, Vec::new()))
            .collect();
        assert_eq!(start_order(&runs), vec![0, 2, 1]);
        assert!(start_order(&[]).is_empty());
    }
}
