//! One-sentence answers in words, computed from a query's result. Every number is printed as the
//! query rounded it (`num`), so it can be found in `opsintel query run` output. An empty result
//! gives a sentence that says so.

use super::{f64_at, num, str_at};
use crate::query::Answer;
use polars::prelude::*;

fn n(df: &DataFrame, col: &str, row: usize) -> String {
    f64_at(df, col, row).map(num).unwrap_or_else(|| "–".into())
}

fn plural(v: f64, one: &str, many: &str) -> String {
    format!("{} {}", num(v), if v == 1.0 { one } else { many })
}

fn period(a: &Answer) -> String {
    a.params.period().map(|p| p.label()).unwrap_or_default()
}

pub fn sentence(a: &Answer) -> String {
    let df = &a.df;
    let empty = df.height() == 0;
    match a.query.name.as_str() {
        "sla-attainment" if empty => format!("No SLA was in force in {}.", period(a)),
        "sla-attainment" => format!(
            "{} of {} SLA periods overlapping {} were breached; credits owed: {}.",
            n(df, "slas_breached", 0),
            n(df, "slas_in_period", 0),
            period(a),
            n(df, "total_credit_liability", 0)
        ),
        "since-last-downtime" if empty => "No downtime has been recorded.".into(),
        "since-last-downtime" => {
            if str_at(df, "ongoing", 0).as_deref() == Some("true") {
                "Customers are affected by downtime right now.".into()
            } else {
                format!(
                    "The last customer-facing downtime ended {} days ago ({} UTC); the longest run without downtime in {} was {} days.",
                    n(df, "days_since", 0),
                    super::cell(df, "last_downtime_end", 0),
                    period(a),
                    n(df, "longest_streak_days_in_period", 0)
                )
            }
        }
        "invest-next-dollar"
            if empty || f64_at(df, "cost_of_unreliability", 0).unwrap_or(0.0) == 0.0 =>
        {
            format!(
                "No component's unreliability cost anything measurable in {}.",
                period(a)
            )
        }
        "invest-next-dollar" => format!(
            "Invest first in {}: its unreliability cost {} in {} (downtime {}, SLA credits {}, churn {}) against {} to run it.",
            str_at(df, "asset_name", 0).unwrap_or_default(),
            n(df, "cost_of_unreliability", 0),
            period(a),
            n(df, "downtime_cost", 0),
            n(df, "sla_credits", 0),
            n(df, "reliability_churn_arr", 0),
            n(df, "run_cost", 0)
        ),
        "churn-causes" if empty => format!("No customer churned or downgraded in {}.", period(a)),
        "churn-causes" => format!(
            "{} churned ({} % logo churn); gross MRR churn {} %, net {} %. The main reason was {} ({} % of MRR lost). Churned customers were hit by {} incidents in their last 90 days, retained ones by {}.",
            plural(
                f64_at(df, "churned_logos", 0).unwrap_or(0.0),
                "customer",
                "customers"
            ),
            n(df, "logo_churn_rate_pct", 0),
            n(df, "gross_mrr_churn_pct", 0),
            n(df, "net_mrr_churn_pct", 0),
            str_at(df, "reason", 0).unwrap_or_default(),
            n(df, "share_of_mrr_lost_pct", 0),
            n(df, "churned_incidents_90d", 0),
            n(df, "retained_incidents_90d", 0)
        ),
        "change-outcomes" if empty => format!("No change was made in {}.", period(a)),
        "change-outcomes" => format!(
            "Of {} changes in {}, {} completed: {} succeeded, {} failed and {} were rolled back; change failure rate {} % ({} incidents caused by changes).",
            n(df, "changes", 0),
            period(a),
            n(df, "completed", 0),
            n(df, "succeeded", 0),
            n(df, "failed", 0),
            n(df, "rolled_back", 0),
            n(df, "change_failure_rate_pct", 0),
            n(df, "incidents_caused", 0)
        ),
        "troublesome-components" if empty => {
            format!("No component had an incident in {}.", period(a))
        }
        "troublesome-components" => format!(
            "{} was the most troublesome component in {}: {} minutes of downtime from {}, reaching {}.",
            str_at(df, "asset_name", 0).unwrap_or_default(),
            period(a),
            n(df, "downtime_minutes", 0),
            plural(
                f64_at(df, "incidents", 0).unwrap_or(0.0),
                "incident",
                "incidents"
            ),
            plural(
                f64_at(df, "customers_affected", 0).unwrap_or(0.0),
                "customer",
                "customers"
            )
        ),
        "blast-radius" if empty => "No active customer depends on this asset.".into(),
        "blast-radius" => format!(
            "A change to {} puts {} customers and {} of ARR at risk; its change failure rate so far is {} %.",
            str_at(df, "asset_id", 0).unwrap_or_default(),
            n(df, "customers_at_risk", 0),
            n(df, "total_arr_at_risk", 0),
            n(df, "asset_change_failure_rate_pct", 0)
        ),
        "top-customers" if empty => "There are no active customers.".into(),
        "top-customers" => {
            let rows = df.height();
            let met = (0..rows)
                .filter(|&r| str_at(df, "meets_sla", r).as_deref() == Some("true"))
                .count();
            let high = (0..rows)
                .filter(|&r| str_at(df, "churn_risk", r).as_deref() == Some("high"))
                .count();
            format!(
                "{met} of the top {rows} customers met their availability SLA in {}; {high} show a high churn risk.",
                period(a)
            )
        }
        "incident-trends" if empty => "There are no full months to show yet.".into(),
        "incident-trends" => {
            let last = df.height() - 1;
            format!(
                "In {} MTTR was {} minutes (median {}) and MTTA {} minutes; over the last {} months the MTTR trend is {} (Mann-Kendall p = {}).",
                str_at(df, "month", last).unwrap_or_default(),
                n(df, "mttr_mean_min", last),
                n(df, "mttr_median_min", last),
                n(df, "mtta_mean_min", last),
                df.height(),
                str_at(df, "mttr_trend", last).unwrap_or_default(),
                n(df, "mttr_trend_p_value", last)
            )
        }
        "trailing-twelve-months" if empty => "There are no full months to show yet.".into(),
        "trailing-twelve-months" => {
            let last = df.height() - 1;
            format!(
                "In {} customer availability was {} % (a year earlier {} %), with {} incidents, MTTR {} minutes and NRR {} %.",
                str_at(df, "month", last).unwrap_or_default(),
                n(df, "availability_pct", last),
                n(df, "year_ago_availability_pct", last),
                n(df, "incidents", last),
                n(df, "mttr_mean_min", last),
                n(df, "nrr_pct", last)
            )
        }
        _ if empty => "No data for this period.".into(),
        _ => String::new(),
    }
}
