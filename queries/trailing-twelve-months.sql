-- The 12 full months ending at the as-of date, one row per month with the headline KPIs, beside
-- the same month a year earlier.
-- Every figure is computed only for the 24 months shown (`wanted`), from tables already summed
-- per month: incidents (`incident_months`), change outcomes (`change_months`, built for those
-- 24 months only) and MRR movements
-- (`mrr_months`, with net revenue retention). At 10 M incidents the per-change and
-- per-customer rows behind them did not fit in memory.
WITH p AS (SELECT * FROM params),
recent AS (
  SELECT month, year_ago_month, ROW_NUMBER() OVER (ORDER BY month DESC) AS back FROM months WHERE complete
),
shown AS (SELECT month, year_ago_month FROM recent WHERE back <= 12),
wanted AS (
  SELECT month, year_ago_month FROM months
  WHERE month IN (SELECT month FROM shown) OR month IN (SELECT year_ago_month FROM shown)
),
avail AS (SELECT month, availability_pct FROM availability_months WHERE month IN (SELECT month FROM wanted)),
-- Incidents per month from the trend table over the same 24 months (this query's `months`),
-- built from the incidents' response times of those months' partitions only.
inc AS (
  SELECT month, incidents, sev1 + sev2 AS sev1_sev2, mttr_mean_min
  FROM incident_months WHERE month IN (SELECT month FROM wanted)
),
chg AS (
  SELECT month, CASE WHEN completed > 0 THEN 100.0 * failures / completed END AS cfr
  FROM change_months WHERE month IN (SELECT month FROM wanted)
),
mrr AS (SELECT month, churned_mrr, mrr, nrr_pct FROM mrr_months WHERE month IN (SELECT month FROM wanted)),
kpi AS (
  SELECT m.month, m.year_ago_month,
         a.availability_pct, COALESCE(i.incidents, 0) AS incidents, COALESCE(i.sev1_sev2, 0) AS sev1_sev2,
         i.mttr_mean_min, c.cfr AS change_failure_rate_pct, COALESCE(r.churned_mrr, 0.0) AS churned_mrr,
         r.mrr, r.nrr_pct
  FROM wanted m
  LEFT JOIN avail a ON a.month = m.month
  LEFT JOIN inc i ON i.month = m.month
  LEFT JOIN chg c ON c.month = m.month
  LEFT JOIN mrr r ON r.month = m.month
)
SELECT k.month,
       ROUND(k.availability_pct, 3) AS availability_pct, k.incidents, k.sev1_sev2,
       ROUND(k.mttr_mean_min, 1) AS mttr_mean_min, ROUND(k.change_failure_rate_pct, 2) AS change_failure_rate_pct,
       ROUND(k.churned_mrr, 2) AS churned_mrr, ROUND(k.mrr, 2) AS mrr, ROUND(k.nrr_pct, 2) AS nrr_pct,
       k.year_ago_month,
       ROUND(y.availability_pct, 3) AS year_ago_availability_pct, y.incidents AS year_ago_incidents,
       ROUND(y.mttr_mean_min, 1) AS year_ago_mttr_mean_min, ROUND(y.change_failure_rate_pct, 2) AS year_ago_change_failure_rate_pct,
       ROUND(y.churned_mrr, 2) AS year_ago_churned_mrr, ROUND(y.nrr_pct, 2) AS year_ago_nrr_pct
FROM kpi k
JOIN shown r ON r.month = k.month
LEFT JOIN kpi y ON y.month = k.year_ago_month
ORDER BY k.month
