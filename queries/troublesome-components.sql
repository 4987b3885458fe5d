-- Components ranked by the downtime they caused in the period, then by incidents.
WITH p AS (SELECT * FROM params),
inc AS (
  SELECT t.* FROM incident_timings t CROSS JOIN p
  WHERE t.started_at >= p.period_start AND t.asset_id IS NOT NULL
    -- (not `< p.period_end`: with two plain bounds polars plans an IEJoin; queries/README.md)
    AND EXTRACT(EPOCH FROM p.period_end) - EXTRACT(EPOCH FROM t.started_at) > 0
),
i AS (
  SELECT asset_id,
         COUNT(*) AS incidents,
         SUM(CASE WHEN severity = 'sev1' THEN 1 ELSE 0 END) AS sev1,
         SUM(CASE WHEN severity = 'sev2' THEN 1 ELSE 0 END) AS sev2,
         SUM(CASE WHEN severity = 'sev3' THEN 1 ELSE 0 END) AS sev3,
         SUM(CASE WHEN severity IN ('sev4', 'sev5') THEN 1 ELSE 0 END) AS sev4_5,
         AVG(time_to_resolve_min) AS mttr_mean_min
  FROM inc GROUP BY asset_id
),
d AS (
  SELECT o.asset_id, SUM(o.downtime_minutes) AS downtime_minutes FROM outages o CROSS JOIN p
  WHERE o.started_at >= p.period_start AND o.started_at < p.period_end GROUP BY o.asset_id
),
ch AS (
  SELECT asset_id, completed, failures
  FROM change_assets -- period-scoped: the period's changes only, summed per asset
),
-- Customers reached by the component's incidents with downtime in the period: everyone exposed
-- to it when an incident naming no customers had downtime, plus the customers incidents name.
hits AS (
  SELECT ir.incident_id, ir.asset_id, ir.names_customers FROM incident_reach ir CROSS JOIN p
  WHERE ir.started_at >= p.period_start AND ir.downtime_minutes > 0
    AND EXTRACT(EPOCH FROM p.period_end) - EXTRACT(EPOCH FROM ir.started_at) > 0
    AND ir.asset_id IS NOT NULL
),
broad AS (SELECT DISTINCT asset_id FROM hits WHERE NOT names_customers),
named AS (
  SELECT DISTINCT h.asset_id, n.customer_id, n.exposed
  FROM hits h JOIN incident_named_customers n ON n.incident_id = h.incident_id
),
cu AS (
  SELECT x.asset_id, SUM(x.customers) AS customers_affected FROM (
    SELECT b.asset_id, e.customers_exposed AS customers FROM broad b JOIN asset_exposure e ON e.asset_id = b.asset_id
    UNION ALL
    SELECT n.asset_id, 1 AS customers FROM named n LEFT JOIN broad b ON b.asset_id = n.asset_id
    WHERE NOT (n.exposed AND b.asset_id IS NOT NULL)
  ) x GROUP BY x.asset_id
),
joined AS (
  SELECT a.asset_id, a.name AS asset_name, a.kind, a.tier,
         COALESCE(i.incidents, 0) AS incidents, COALESCE(i.sev1, 0) AS sev1, COALESCE(i.sev2, 0) AS sev2,
         COALESCE(i.sev3, 0) AS sev3, COALESCE(i.sev4_5, 0) AS sev4_5,
         ROUND(COALESCE(d.downtime_minutes, 0.0), 1) AS downtime_minutes,
         ROUND(i.mttr_mean_min, 1) AS mttr_mean_min,
         COALESCE(ch.completed, 0) AS changes_completed,
         ROUND(CASE WHEN ch.completed > 0 THEN 100.0 * ch.failures / ch.completed END, 2) AS change_failure_rate_pct,
         COALESCE(cu.customers_affected, 0) AS customers_affected
  FROM assets a
  LEFT JOIN i ON i.asset_id = a.asset_id
  LEFT JOIN d ON d.asset_id = a.asset_id
  LEFT JOIN ch ON ch.asset_id = a.asset_id
  LEFT JOIN cu ON cu.asset_id = a.asset_id
),
-- (polars windows sort one direction only: rank by negated keys, ascending)
keyed AS (
  SELECT *, 0.0 - downtime_minutes AS k1, 0 - incidents AS k2, 0 - sev1 AS k3
  FROM joined WHERE incidents > 0 OR downtime_minutes > 0
)
SELECT ROW_NUMBER() OVER (ORDER BY k1, k2, k3, asset_id) AS rank,
       asset_id, asset_name, kind, tier, incidents, sev1, sev2, sev3, sev4_5, downtime_minutes,
       mttr_mean_min, changes_completed, change_failure_rate_pct, customers_affected
FROM keyed
ORDER BY rank
