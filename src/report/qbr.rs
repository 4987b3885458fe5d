//! The quarterly business review of one customer: their SLA attainment month by month, the
//! incidents that reached them (durations, customer-notice times), changes on the assets they
//! depend on, credits due, and the trend against the previous quarter.

use super::{Rendered, chart_svg, definitions, f64_at, num, str_at, table};
use crate::error::{Error, Result};
use crate::query::period::{Period, add_months};
use crate::query::{Answer, Session};
use chrono::Datelike;
use serde_json::json;

/// The last full quarter before the as-of date (reporting zone).
pub fn last_full_quarter(session: &Session<'_>) -> Period {
    let m = Period::last_full_month(session.ctx.as_of, session.ctx.tz);
    let q_start = add_months(m.first, -((m.first.month0() % 3) as i32));
    let q = Period {
        first: q_start,
        months: 3,
    };
    // A quarter is full only if its last month is the last full month.
    if add_months(q.first, 2) == m.first {
        q
    } else {
        q.previous()
    }
}

/// The `n` largest active customers by ARR.
pub fn top_customers(session: &Session<'_>, n: u32) -> Result<Vec<String>> {
    let a = session.answer("top-customers", &[("n".into(), n.to_string())])?;
    Ok((0..a.df.height())
        .filter_map(|r| str_at(&a.df, "customer_id", r))
        .collect())
}

/// Build the QBR of `customer` for `quarter`.
pub fn render(
    session: &Session<'_>,
    customer: &str,
    quarter: &Period,
    policy: &str,
    template: &str,
) -> Result<Rendered> {
    if quarter.months != 3 {
        return Err(Error::Usage(format!(
            "--quarter {}: give a quarter such as 2026-Q3",
            quarter.label()
        )));
    }
    let ctx = session.ctx;
    let args = |p: &Period, with_policy: bool| {
        let mut v = vec![
            ("customer".to_string(), customer.to_string()),
            ("period".to_string(), p.label()),
        ];
        if with_policy {
            v.push(("policy".to_string(), policy.to_string()));
        }
        v
    };
    let cur = session.answer("customer-summary", &args(quarter, true))?;
    let prev = session.answer("customer-summary", &args(&quarter.previous(), true))?;
    let sla = session.answer("customer-sla", &args(quarter, true))?;
    let incidents = session.answer("customer-incidents", &args(quarter, true))?;
    let changes = session.answer("customer-changes", &args(quarter, false))?;

    let prev_label = quarter.previous().label();
    let tile = |label: &str, col: &str, unit: &str, higher_is_better: bool| {
        super::kpi_tile(
            label,
            &cur.df,
            &prev.df,
            col,
            unit,
            higher_is_better,
            &prev_label,
            String::new(),
        )
    };
    let kpis = vec![
        tile("Availability", "availability_pct", " %", true),
        tile("Downtime", "downtime_minutes", " min", false),
        tile("Incidents that reached you", "incidents", "", false),
        tile("SLA credits due", "credits_due", "", false),
    ];
    let name = str_at(&cur.df, "customer_name", 0).unwrap_or_else(|| customer.to_string());
    let summary = format!(
        "In {} your availability was {} % ({} minutes of downtime) against {} % the quarter before; {} incidents reached you ({} sev1/sev2); {} SLA period(s) were missed and {} in credits are due.",
        quarter.label(),
        f64_at(&cur.df, "availability_pct", 0)
            .map(num)
            .unwrap_or_else(|| "–".into()),
        f64_at(&cur.df, "downtime_minutes", 0)
            .map(num)
            .unwrap_or_else(|| "0".into()),
        f64_at(&prev.df, "availability_pct", 0)
            .map(num)
            .unwrap_or_else(|| "–".into()),
        f64_at(&cur.df, "incidents", 0)
            .map(num)
            .unwrap_or_else(|| "0".into()),
        f64_at(&cur.df, "sev1_sev2", 0)
            .map(num)
            .unwrap_or_else(|| "0".into()),
        f64_at(&cur.df, "sla_breaches", 0)
            .map(num)
            .unwrap_or_else(|| "0".into()),
        f64_at(&cur.df, "credits_due", 0)
            .map(num)
            .unwrap_or_else(|| "0".into()),
    );
    let mut charts = Vec::new();
    let chart_of = |a: &Answer, charts: &mut Vec<(String, String)>| -> Result<Option<String>> {
        Ok(chart_svg(session, a)?.map(|svg| {
            charts.push((a.query.name.clone(), svg));
            format!("charts/{}.svg", a.query.name)
        }))
    };
    let sla_chart = chart_of(&sla, &mut charts)?;
    let inc_chart = chart_of(&incidents, &mut charts)?;
    let data = json!({
        "customer": name,
        "customer_id": customer,
        "segment": str_at(&cur.df, "segment", 0).unwrap_or_default(),
        "arr": f64_at(&cur.df, "arr", 0).map(num).unwrap_or_default(),
        "quarter": quarter.label(),
        "prev_quarter": quarter.previous().label(),
        "as_of": ctx.as_of.format("%Y-%m-%d %H:%M UTC").to_string(),
        "tz": ctx.tz.name(),
        "policy": policy,
        "summary": summary,
        "kpis": kpis,
        "sla": { "chart": sla_chart, "table": table(&sla.df, &["sla_id", "metric", "sla_period", "target", "attainment_pct", "downtime_minutes", "breached", "credit_amount"], 40) },
        "incidents": { "chart": inc_chart, "count": incidents.df.height(), "table": table(&incidents.df, &["incident_id", "severity", "impact", "asset_name", "started_at", "downtime_minutes", "time_to_first_notice_min", "time_to_resolve_min"], 200) },
        "changes": { "count": changes.df.height(), "table": table(&changes.df, &["change_id", "asset_name", "started_at", "outcome", "incidents_caused"], 200) },
        "definitions": definitions(&[&cur, &sla, &incidents, &changes]),
    });
    let mut files = vec![(
        "/data.json".to_string(),
        serde_json::to_vec_pretty(&data).expect("json"),
    )];
    for (n, svg) in &charts {
        files.push((format!("/charts/{n}.svg"), svg.clone().into_bytes()));
    }
    let world = super::world::ReportWorld::new(template, files, ctx.as_of.date_naive())?;
    let pdf = world.pdf(&format!("opsintel-qbr-{customer}-{}", quarter.label()))?;
    Ok(Rendered { pdf, charts })
}
