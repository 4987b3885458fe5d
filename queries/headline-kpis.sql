-- The headline KPIs of one period, each defined as in the query that answers its question, so
-- the executive report's tiles reconcile with the sections behind them.
WITH p AS (SELECT * FROM params),
avail AS (
  SELECT SUM(am.availability_sum) / SUM(am.customer_months) AS availability_pct FROM availability_months am CROSS JOIN p
  WHERE am.month >= p.period_first_month AND am.month <= p.period_last_month
),
last_down AS (
  SELECT MAX(d.ended_at) AS last_end FROM downtime_all d CROSS JOIN p WHERE d.started_at < p.period_end
),
sla AS (
  SELECT COUNT(*) AS slas, SUM(CASE WHEN s.breached THEN 1 ELSE 0 END) AS slas_breached, SUM(s.credit_amount) AS credits
  FROM sla_periods s CROSS JOIN p
  WHERE s.period_start < p.period_end AND s.period_end > p.period_start
),
-- The upper bound as a difference of epochs (the same rows): given two plain inequalities
-- against the params row, polars 0.55 plans an IEJoin, 6.6 s at 10 M incidents against 0.3 s
-- (queries/README.md, bench/iejoin).
inc AS (
  SELECT COUNT(*) AS incidents, AVG(t.time_to_resolve_min) AS mttr FROM incident_timings t CROSS JOIN p
  WHERE t.started_at >= p.period_start
    AND EXTRACT(EPOCH FROM p.period_end) - EXTRACT(EPOCH FROM t.started_at) > 0
),
-- change_months is period-scoped: the period's changes, already summed per month.
chg AS (SELECT SUM(c.completed) AS completed, SUM(c.failures) AS failures FROM change_months c),
mrr AS (
  SELECT SUM(m.churned_mrr) AS churned_mrr
  FROM mrr_months m CROSS JOIN p
  WHERE m.month >= p.period_first_month AND m.month <= p.period_last_month
),
nrr AS (
  SELECT m.nrr_pct FROM mrr_months m CROSS JOIN p WHERE m.month = p.period_last_month
)
SELECT p.period_label AS period,
       ROUND(a.availability_pct, 3) AS availability_pct,
       ROUND(CASE WHEN l.last_end IS NOT NULL THEN (EXTRACT(EPOCH FROM p.period_end) - EXTRACT(EPOCH FROM LEAST(l.last_end, p.period_end))) / 86400.0 END, 1) AS days_without_downtime_at_end,
       s.slas, COALESCE(s.slas_breached, 0) AS slas_breached, ROUND(COALESCE(s.credits, 0.0), 2) AS credit_liability,
       COALESCE(i.incidents, 0) AS incidents, ROUND(i.mttr, 1) AS mttr_mean_min,
       ROUND(CASE WHEN c.completed > 0 THEN 100.0 * c.failures / c.completed END, 2) AS change_failure_rate_pct,
       ROUND(COALESCE(m.churned_mrr, 0.0), 2) AS churned_mrr,
       ROUND(n.nrr_pct, 2) AS nrr_pct
FROM p CROSS JOIN avail a CROSS JOIN last_down l CROSS JOIN sla s CROSS JOIN inc i CROSS JOIN chg c CROSS JOIN mrr m
LEFT JOIN nrr n ON 1 = 1
