-- The n largest active customers by ARR and how they fared in the period.
WITH p AS (SELECT * FROM params),
-- Ranked by ARR among the active customers (customer_status holds the customers' ARR), then
-- their name and segment.
ranked AS (
  SELECT cs.customer_id, cs.arr, ROW_NUMBER() OVER (ORDER BY k, cs.customer_id) AS rank
  FROM (SELECT *, 0.0 - arr AS k FROM customer_status WHERE active) cs
),
chosen AS (
  SELECT t.customer_id, c.name, c.segment, t.arr, t.rank
  FROM ranked t CROSS JOIN p JOIN customers c ON c.customer_id = t.customer_id
  WHERE t.rank <= p.n
),
cp AS (SELECT cp.* FROM chosen c JOIN customer_period cp ON cp.customer_id = c.customer_id),
sla AS (
  SELECT s.customer_id,
         MIN(CASE WHEN s.metric = 'availability' THEN s.target END) AS sla_target,
         SUM(CASE WHEN s.breached THEN 1 ELSE 0 END) AS sla_breaches,
         SUM(s.credit_amount) AS credits
  FROM chosen c JOIN sla_periods s ON s.customer_id = c.customer_id CROSS JOIN p
  WHERE s.period_start < p.period_end AND s.period_end > p.period_start
  GROUP BY s.customer_id
),
-- Changes in the period on the assets each chosen customer depends on (directly or through the
-- dependency graph); change_assets is period-scoped: the period's changes, summed per asset.
changes_in AS (SELECT asset_id, changes FROM change_assets),
chg AS (
  SELECT c.customer_id, SUM(ci.changes) AS changes_on_their_assets
  FROM chosen c JOIN customer_groups g ON g.customer_id = c.customer_id
  JOIN group_assets ga ON ga.group_id = g.group_id
  JOIN assets a ON a.asset_id = ga.asset_id
  JOIN changes_in ci ON ci.asset_id = ga.asset_id
  GROUP BY c.customer_id
),
down AS (
  SELECT ch.customer_id, MAX(ch.churned_at) AS last_downgrade FROM churn ch CROSS JOIN p
  WHERE ch.kind = 'downgrade' AND ch.churned_at >= CAST(p.period_start AS DATE) - INTERVAL '90 days'
  GROUP BY ch.customer_id
),
rows AS (
  SELECT c.rank, c.customer_id, c.name AS customer_name, c.segment, c.arr,
         100.0 * (1.0 - COALESCE(a.downtime_minutes, 0.0) / a.minutes) AS availability_pct,
         s.sla_target, COALESCE(s.sla_breaches, 0) AS sla_breaches, COALESCE(s.credits, 0.0) AS credits,
         COALESCE(a.incidents, 0) AS incidents, COALESCE(a.sev1_sev2, 0) AS sev1_sev2,
         COALESCE(a.downtime_minutes, 0.0) AS downtime_minutes,
         COALESCE(a.open_incidents, 0) AS open_incidents,
         COALESCE(g.changes_on_their_assets, 0) AS changes_on_their_assets,
         d.last_downgrade
  FROM chosen c
  LEFT JOIN cp a ON a.customer_id = c.customer_id
  LEFT JOIN sla s ON s.customer_id = c.customer_id
  LEFT JOIN chg g ON g.customer_id = c.customer_id
  LEFT JOIN down d ON d.customer_id = c.customer_id
)
SELECT rank, customer_id, customer_name, segment, ROUND(arr, 2) AS arr,
       ROUND(availability_pct, 3) AS availability_pct, sla_target,
       availability_pct >= COALESCE(sla_target, 0.0) AS meets_sla,
       incidents, sev1_sev2, ROUND(downtime_minutes, 1) AS downtime_minutes, open_incidents,
       sla_breaches, ROUND(credits, 2) AS credits, changes_on_their_assets,
       CASE
         WHEN sla_breaches > 0 OR last_downgrade IS NOT NULL THEN 'high'
         WHEN sev1_sev2 > 0 OR open_incidents > 0 THEN 'watch'
         ELSE 'low'
       END AS churn_risk,
       CONCAT_WS('; ',
         CASE WHEN sla_breaches > 0 THEN 'SLA breached' END,
         CASE WHEN last_downgrade IS NOT NULL THEN 'downgraded in the last 90 days' END,
         CASE WHEN sev1_sev2 > 0 THEN 'hit by a sev1/sev2' END,
         CASE WHEN open_incidents > 0 THEN 'incident still open' END) AS risk_signals
FROM rows
ORDER BY rank
