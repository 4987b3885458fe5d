-- The 12 full months ending at the as-of date, one row per month with the headline KPIs, beside
-- the same month a year earlier.
WITH p AS (SELECT * FROM params),
avail AS (SELECT month, availability_pct FROM availability_months),
inc AS (
  SELECT month, COUNT(*) AS incidents, SUM(CASE WHEN severity IN ('sev1', 'sev2') THEN 1 ELSE 0 END) AS sev1_sev2,
         AVG(time_to_resolve_min) AS mttr_mean_min
  FROM incident_timings GROUP BY month
),
chg AS (
  SELECT month, CASE WHEN SUM(CASE WHEN completed THEN 1 ELSE 0 END) > 0 THEN 100.0 * SUM(CASE WHEN counts_as_failure THEN 1 ELSE 0 END) / SUM(CASE WHEN completed THEN 1 ELSE 0 END) END AS cfr
  FROM change_outcomes GROUP BY month
),
mrr AS (
  SELECT month, SUM(CASE WHEN kind IN ('churn', 'contraction') THEN 0.0 - amount ELSE 0.0 END) AS churned_mrr,
         SUM(mrr) AS mrr
  FROM mrr_movements GROUP BY month
),
nrr AS (
  SELECT m.month, 100.0 * SUM(COALESCE(now.mrr, 0.0)) / SUM(then.mrr) AS nrr_pct
  FROM months m
  JOIN mrr_movements then ON then.month = m.year_ago_month AND then.mrr > 0
  LEFT JOIN mrr_movements now ON now.month = m.month AND now.customer_id = then.customer_id
  GROUP BY m.month
),
kpi AS (
  SELECT m.month, m.year_ago_month, m.complete,
         a.availability_pct, COALESCE(i.incidents, 0) AS incidents, COALESCE(i.sev1_sev2, 0) AS sev1_sev2,
         i.mttr_mean_min, c.cfr AS change_failure_rate_pct, COALESCE(r.churned_mrr, 0.0) AS churned_mrr,
         r.mrr, n.nrr_pct
  FROM months m
  LEFT JOIN avail a ON a.month = m.month
  LEFT JOIN inc i ON i.month = m.month
  LEFT JOIN chg c ON c.month = m.month
  LEFT JOIN mrr r ON r.month = m.month
  LEFT JOIN nrr n ON n.month = m.month
),
recent AS (SELECT month, ROW_NUMBER() OVER (ORDER BY month DESC) AS back FROM months WHERE complete)
SELECT k.month,
       ROUND(k.availability_pct, 3) AS availability_pct, k.incidents, k.sev1_sev2,
       ROUND(k.mttr_mean_min, 1) AS mttr_mean_min, ROUND(k.change_failure_rate_pct, 2) AS change_failure_rate_pct,
       ROUND(k.churned_mrr, 2) AS churned_mrr, ROUND(k.mrr, 2) AS mrr, ROUND(k.nrr_pct, 2) AS nrr_pct,
       k.year_ago_month,
       ROUND(y.availability_pct, 3) AS year_ago_availability_pct, y.incidents AS year_ago_incidents,
       ROUND(y.mttr_mean_min, 1) AS year_ago_mttr_mean_min, ROUND(y.change_failure_rate_pct, 2) AS year_ago_change_failure_rate_pct,
       ROUND(y.churned_mrr, 2) AS year_ago_churned_mrr, ROUND(y.nrr_pct, 2) AS year_ago_nrr_pct
FROM kpi k
JOIN recent r ON r.month = k.month AND r.back <= 12
LEFT JOIN kpi y ON y.month = k.year_ago_month
ORDER BY k.month
