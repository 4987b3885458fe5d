//! SLA periods: for every SLA and calendar period (month or quarter in the reporting zone),
//! attainment against target, breach, credit from the tiers, the period's fee and the credit
//! amount, and the error budget. Availability SLAs measure customer downtime; time SLAs measure
//! each in-scope incident's time to acknowledge or resolve.

use super::frames::{floats, frame, ints, lists, strs};
use super::intervals::{downtime_within, merge_max};
use super::{Calendar, Customer, Incident, MIN};
use crate::error::Result;
use crate::query::period::{Period, add_months, local_midnight};
use chrono::NaiveDate;
use polars::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

/// Credit % for an attainment: the largest credit among tiers whose threshold it falls below.
pub fn credit_pct(tiers: &str, attainment: f64) -> f64 {
    tiers
        .split(';')
        .filter_map(|t| t.split_once(':'))
        .filter_map(|(th, c)| {
            Some((
                th.trim().parse::<f64>().ok()?,
                c.trim().parse::<f64>().ok()?,
            ))
        })
        .filter(|(th, _)| attainment < *th)
        .map(|(_, c)| c)
        .fold(0.0, f64::max)
}

#[derive(Default)]
struct Cols {
    sla: Vec<String>,
    customer: Vec<String>,
    asset: Vec<Option<String>>,
    metric: Vec<String>,
    period_kind: Vec<String>,
    period: Vec<String>,
    start: Vec<i64>,
    end: Vec<i64>,
    complete: Vec<bool>,
    minutes: Vec<Option<f64>>,
    downtime: Vec<Option<f64>>,
    target: Vec<f64>,
    attainment: Vec<f64>,
    met: Vec<bool>,
    credit_pct: Vec<f64>,
    fee: Vec<f64>,
    credit: Vec<f64>,
    budget: Vec<Option<f64>>,
    budget_used: Vec<Option<f64>>,
    budget_left: Vec<Option<f64>>,
    in_scope: Vec<Option<i64>>,
    breached_n: Vec<Option<i64>>,
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn build(
    slas: &DataFrame,
    revenue: &DataFrame,
    incidents: &[Incident],
    reach: &[Vec<usize>],
    customers: &[Customer],
    cal: &Calendar,
    closure: &mut dyn FnMut(&str) -> BTreeSet<String>,
) -> Result<(DataFrame, DataFrame)> {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
    let day_start =
        |d: i64| local_midnight(epoch + chrono::Duration::days(d), cal.tz).timestamp_micros();
    // MRR per customer and month label, for the period fee.
    let mut mrr: BTreeMap<(String, String), f64> = BTreeMap::new();
    for ((c, m), v) in strs(revenue, "customer_id")?
        .into_iter()
        .zip(ints(revenue, "month")?)
        .zip(floats(revenue, "mrr")?)
    {
        if let (Some(c), Some(m), Some(v)) = (c, m, v) {
            *mrr.entry((
                c,
                (epoch + chrono::Duration::days(m))
                    .format("%Y-%m")
                    .to_string(),
            ))
            .or_default() += v;
        }
    }
    let index: BTreeMap<&str, usize> = customers
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id.as_str(), i))
        .collect();
    let mut hits: Vec<Vec<usize>> = vec![Vec::new(); customers.len()];
    for (i, r) in reach.iter().enumerate() {
        for &c in r {
            hits[c].push(i);
        }
    }

    let ids = strs(slas, "sla_id")?;
    let cust = strs(slas, "customer_id")?;
    let asset = strs(slas, "asset_id")?;
    let metric = strs(slas, "metric")?;
    let target = floats(slas, "target")?;
    let period = strs(slas, "period")?;
    let sevs = lists(slas, "severities")?;
    let tiers = strs(slas, "credit_tiers")?;
    let from = ints(slas, "valid_from")?;
    let to = ints(slas, "valid_to")?;

    let mut p = Cols::default();
    let (
        mut si_sla,
        mut si_cust,
        mut si_inc,
        mut si_metric,
        mut si_period,
        mut si_sev,
        mut si_target,
        mut si_actual,
        mut si_met,
        mut si_open,
    ) = (
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
    );
    for r in 0..slas.height() {
        let (Some(cid), Some(m), Some(tgt)) = (cust[r].as_deref(), metric[r].as_deref(), target[r])
        else {
            continue;
        };
        let Some(&ci) = index.get(cid) else { continue };
        let c = &customers[ci];
        let scope: Option<BTreeSet<String>> = asset[r].as_deref().map(&mut *closure);
        let relevant: Vec<usize> = hits[ci]
            .iter()
            .copied()
            .filter(|&i| match (&scope, &incidents[i].asset) {
                (None, _) => true,
                (Some(s), Some(a)) => s.contains(a),
                (Some(_), None) => false,
            })
            .collect();
        let segs = merge_max(
            &relevant
                .iter()
                .flat_map(|&i| incidents[i].pieces.iter().copied())
                .collect::<Vec<_>>(),
        );
        let months_per = if period[r].as_deref() == Some("quarter") {
            3
        } else {
            1
        };
        let valid_start = [from[r].map(day_start), c.since, cal.starts.first().copied()]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(cal.as_of);
        let valid_end = [
            to[r].map(|d| day_start(d + 1)),
            c.churned.map(day_start),
            Some(cal.as_of),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(cal.as_of);
        if valid_end <= valid_start {
            continue;
        }
        // Periods aligned to calendar months/quarters in the reporting zone.
        let first_local = Period::month_of(
            chrono::DateTime::from_timestamp_micros(valid_start).expect("valid"),
            cal.tz,
        )
        .first;
        let aligned = NaiveDate::from_ymd_opt(
            chrono::Datelike::year(&first_local),
            (chrono::Datelike::month0(&first_local) / months_per) * months_per + 1,
            1,
        )
        .expect("valid");
        let mut per = Period {
            first: aligned,
            months: months_per,
        };
        let tiers_r = tiers[r].clone().unwrap_or_default();
        loop {
            let (ps, pe) = (
                per.start_utc(cal.tz).timestamp_micros(),
                per.end_utc(cal.tz).timestamp_micros(),
            );
            if ps >= valid_end {
                break;
            }
            let (ws, we) = (ps.max(valid_start), pe.min(valid_end));
            if we > ws {
                let label = per.label();
                let fee_months: Vec<String> = (0..per.months as i32)
                    .map(|k| add_months(per.first, k).format("%Y-%m").to_string())
                    .collect();
                let fee: f64 = {
                    let known: Vec<f64> = fee_months
                        .iter()
                        .filter_map(|l| mrr.get(&(c.id.clone(), l.clone())).copied())
                        .collect();
                    if known.is_empty() {
                        c.arr / 12.0 * per.months as f64
                    } else {
                        known.iter().sum()
                    }
                };
                let (attain, minutes, down, budget, in_scope, breached_n);
                if m == "availability" {
                    let mins = (we - ws) as f64 / MIN as f64;
                    let d = downtime_within(&segs, ws, we);
                    attain = 100.0 * (1.0 - d / mins);
                    minutes = Some(mins);
                    down = Some(d);
                    budget = Some((1.0 - tgt / 100.0) * mins);
                    in_scope = None;
                    breached_n = None;
                } else {
                    let mut n = 0i64;
                    let mut bad = 0i64;
                    for &i in &relevant {
                        let inc = &incidents[i];
                        if inc.started < ws
                            || inc.started >= we
                            || !(sevs[r].is_empty() || sevs[r].contains(&inc.severity))
                        {
                            continue;
                        }
                        let t0 = if m == "time_to_acknowledge" {
                            inc.detected.unwrap_or(inc.started)
                        } else {
                            inc.started
                        };
                        let t1 = if m == "time_to_acknowledge" {
                            inc.acked.or(inc.resolved)
                        } else {
                            inc.resolved
                        };
                        let actual = (t1.unwrap_or(cal.as_of) - t0).max(0) as f64 / MIN as f64;
                        let ok = actual <= tgt;
                        n += 1;
                        bad += (!ok) as i64;
                        si_sla.push(ids[r].clone().unwrap_or_default());
                        si_cust.push(c.id.clone());
                        si_inc.push(inc.id.clone());
                        si_metric.push(m.to_string());
                        si_period.push(label.clone());
                        si_sev.push(inc.severity.clone());
                        si_target.push(tgt);
                        si_actual.push(actual);
                        si_met.push(ok);
                        si_open.push(t1.is_none());
                    }
                    attain = if n == 0 {
                        100.0
                    } else {
                        100.0 * (n - bad) as f64 / n as f64
                    };
                    minutes = None;
                    down = None;
                    budget = None;
                    in_scope = Some(n);
                    breached_n = Some(bad);
                }
                let met = if m == "availability" {
                    attain >= tgt
                } else {
                    breached_n == Some(0)
                };
                let cp = if met {
                    0.0
                } else {
                    credit_pct(&tiers_r, attain)
                };
                p.sla.push(ids[r].clone().unwrap_or_default());
                p.customer.push(c.id.clone());
                p.asset.push(asset[r].clone());
                p.metric.push(m.to_string());
                p.period_kind
                    .push(if months_per == 3 { "quarter" } else { "month" }.to_string());
                p.period.push(label);
                p.start.push(ps);
                p.end.push(pe);
                p.complete.push(pe <= cal.as_of);
                p.minutes.push(minutes);
                p.downtime.push(down);
                p.target.push(tgt);
                p.attainment.push(attain);
                p.met.push(met);
                p.credit_pct.push(cp);
                p.fee.push((fee * 100.0).round() / 100.0);
                p.credit.push((fee * cp).round() / 100.0);
                p.budget.push(budget);
                p.budget_used.push(
                    budget
                        .zip(down)
                        .map(|(b, d)| if b > 0.0 { 100.0 * d / b } else { 0.0 }),
                );
                p.budget_left.push(budget.zip(down).map(|(b, d)| b - d));
                p.in_scope.push(in_scope);
                p.breached_n.push(breached_n);
            }
            per = Period {
                first: add_months(per.first, months_per as i32),
                months: months_per,
            };
        }
    }
    let periods = frame(
        vec![
            Column::new("sla_id".into(), p.sla),
            Column::new("customer_id".into(), p.customer),
            Column::new("asset_id".into(), p.asset),
            Column::new("metric".into(), p.metric),
            Column::new("period_kind".into(), p.period_kind),
            Column::new("period".into(), p.period),
            Column::new("period_start".into(), p.start),
            Column::new("period_end".into(), p.end),
            Column::new("complete".into(), p.complete),
            Column::new("minutes_in_period".into(), p.minutes),
            Column::new("downtime_minutes".into(), p.downtime),
            Column::new("target".into(), p.target),
            Column::new("attainment_pct".into(), p.attainment),
            Column::new("met".into(), p.met.clone()),
            Column::new(
                "breached".into(),
                p.met.iter().map(|m| !m).collect::<Vec<_>>(),
            ),
            Column::new("credit_pct".into(), p.credit_pct),
            Column::new("period_fee".into(), p.fee),
            Column::new("credit_amount".into(), p.credit),
            Column::new("error_budget_minutes".into(), p.budget),
            Column::new("error_budget_used_pct".into(), p.budget_used),
            Column::new("error_budget_remaining_minutes".into(), p.budget_left),
            Column::new("incidents_in_scope".into(), p.in_scope),
            Column::new("incidents_breached".into(), p.breached_n),
        ],
        &["period_start", "period_end"],
    )?;
    let incidents_df = frame(
        vec![
            Column::new("sla_id".into(), si_sla),
            Column::new("customer_id".into(), si_cust),
            Column::new("incident_id".into(), si_inc),
            Column::new("metric".into(), si_metric),
            Column::new("period".into(), si_period),
            Column::new("severity".into(), si_sev),
            Column::new("target_minutes".into(), si_target),
            Column::new("actual_minutes".into(), si_actual),
            Column::new("met".into(), si_met),
            Column::new("is_open".into(), si_open),
        ],
        &[],
    )?;
    Ok((periods, incidents_df))
}

#[cfg(test)]
mod tests {
    use super::credit_pct;

    #[test]
    fn credit_is_the_largest_tier_fallen_below() {
        let t = "99.95:10;99.9:25;99:50";
        assert_eq!(credit_pct(t, 99.99), 0.0);
        assert_eq!(credit_pct(t, 99.95), 0.0); // at the threshold is not below it
        assert_eq!(credit_pct(t, 99.92), 10.0);
        assert_eq!(credit_pct(t, 99.5), 25.0);
        assert_eq!(credit_pct(t, 90.0), 50.0);
        assert_eq!(credit_pct("", 10.0), 0.0);
    }
}
