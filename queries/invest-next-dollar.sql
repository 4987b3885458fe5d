-- Rank components by the cost of their unreliability in the period, against what they cost to
-- run. cost_of_unreliability = downtime_cost + sla_credits + reliability_churn_arr, where
--   downtime_cost          = sum over (incident on the component, customer it reached) of
--                            incident downtime minutes / 525,600 x the customer's ARR
--                            (the share of a year's revenue that was down);
--   sla_credits            = credits of breached availability SLA periods overlapping the period,
--                            split between components by their share of the customer's incident
--                            downtime in that SLA period;
--   reliability_churn_arr  = 12 x MRR lost by customers who churned in the period citing
--                            reliability, within 90 days after the component's incidents reached
--                            them (attributed to every such component).
WITH p AS (SELECT * FROM params),
hits AS (
  SELECT ir.* FROM incident_reach ir CROSS JOIN p
  WHERE ir.downtime_minutes > 0 AND ir.started_at >= p.period_start
    -- (not `< p.period_end`: with two plain bounds polars plans an IEJoin; queries/README.md)
    AND EXTRACT(EPOCH FROM p.period_end) - EXTRACT(EPOCH FROM ir.started_at) > 0
    AND ir.asset_id IS NOT NULL
),
dcost AS (SELECT asset_id, SUM(downtime_minutes * arr_reached / 525600.0) AS downtime_cost FROM hits GROUP BY asset_id),
-- Distinct customers reached: everyone exposed to the component when an incident naming no
-- customers had downtime, plus the customers incidents name (once each).
broad AS (SELECT DISTINCT asset_id FROM hits WHERE NOT names_customers),
named AS (
  SELECT DISTINCT h.asset_id, n.customer_id, n.exposed
  FROM hits h JOIN incident_named_customers n ON n.incident_id = h.incident_id
),
arr_hit AS (
  SELECT x.asset_id, SUM(x.customers) AS customers_affected, SUM(x.arr) AS arr_affected FROM (
    SELECT b.asset_id, e.customers_exposed AS customers, e.arr_exposed AS arr
    FROM broad b JOIN asset_exposure e ON e.asset_id = b.asset_id
    UNION ALL
    SELECT n.asset_id, 1 AS customers, c.arr AS arr
    FROM named n JOIN customers c ON c.customer_id = n.customer_id
    LEFT JOIN broad b ON b.asset_id = n.asset_id
    WHERE NOT (n.exposed AND b.asset_id IS NOT NULL)
  ) x GROUP BY x.asset_id
),
down AS (
  SELECT o.asset_id, SUM(o.downtime_minutes) AS downtime_minutes FROM outages o CROSS JOIN p
  WHERE o.started_at >= p.period_start AND o.started_at < p.period_end GROUP BY o.asset_id
),
-- Credits of breached availability SLA periods overlapping the period, already split between
-- components by their share of the customer's incident downtime in the SLA period.
credits AS (
  SELECT s.asset_id, SUM(s.credit_share) AS sla_credits FROM sla_credit_by_asset s CROSS JOIN p
  WHERE s.period_start < p.period_end GROUP BY s.asset_id
),
-- The period's reliability churn, from churn_exposure: the churn rows dated in the period.
rel_churn AS (
  SELECT ch.customer_id, ch.churned_at, ch.mrr_lost FROM churn_exposure ch CROSS JOIN p
  WHERE ch.reason = 'reliability'
    AND EXTRACT(EPOCH FROM CAST(ch.churned_at AS TIMESTAMP)) >= EXTRACT(EPOCH FROM p.period_start)
    AND EXTRACT(EPOCH FROM CAST(ch.churned_at AS TIMESTAMP)) < EXTRACT(EPOCH FROM p.period_end)
),
churn_hit AS (
  SELECT DISTINCT x.asset_id, r.customer_id, r.churned_at, r.mrr_lost
  FROM rel_churn r
  JOIN churn_exposure_assets x ON x.customer_id = r.customer_id AND x.churned_at = r.churned_at
),
churn_cost AS (SELECT asset_id, 12.0 * SUM(mrr_lost) AS reliability_churn_arr FROM churn_hit GROUP BY asset_id),
scored AS (
  SELECT a.asset_id, a.name AS asset_name, a.kind, a.owner_team,
         COALESCE(d.downtime_minutes, 0.0) AS downtime_minutes,
         COALESCE(ah.customers_affected, 0) AS customers_affected,
         COALESCE(ah.arr_affected, 0.0) AS arr_affected,
         COALESCE(dc.downtime_cost, 0.0) AS downtime_cost,
         COALESCE(cr.sla_credits, 0.0) AS sla_credits,
         COALESCE(cc.reliability_churn_arr, 0.0) AS reliability_churn_arr,
         COALESCE(a.monthly_cost, 0.0) * p.period_months AS run_cost
  FROM assets a CROSS JOIN p
  LEFT JOIN down d ON d.asset_id = a.asset_id
  LEFT JOIN dcost dc ON dc.asset_id = a.asset_id
  LEFT JOIN arr_hit ah ON ah.asset_id = a.asset_id
  LEFT JOIN credits cr ON cr.asset_id = a.asset_id
  LEFT JOIN churn_cost cc ON cc.asset_id = a.asset_id
),
totalled AS (SELECT *, downtime_cost + sla_credits + reliability_churn_arr AS cost_of_unreliability FROM scored),
-- Ranked by the figures as shown (cents, tenths of a minute): components that share the same
-- reliability churn tie exactly, whatever order the floating-point sums ran in.
keyed AS (SELECT *, 0.0 - ROUND(cost_of_unreliability, 2) AS k1, 0.0 - ROUND(downtime_minutes, 1) AS k2 FROM totalled)
SELECT ROW_NUMBER() OVER (ORDER BY k1, k2, asset_id) AS rank,
       asset_id, asset_name, kind, owner_team,
       ROUND(downtime_minutes, 1) AS downtime_minutes, customers_affected, ROUND(arr_affected, 2) AS arr_affected,
       ROUND(downtime_cost, 2) AS downtime_cost, ROUND(sla_credits, 2) AS sla_credits,
       ROUND(reliability_churn_arr, 2) AS reliability_churn_arr,
       ROUND(cost_of_unreliability, 2) AS cost_of_unreliability,
       ROUND(run_cost, 2) AS run_cost,
       ROUND(CASE WHEN run_cost > 0 THEN cost_of_unreliability / run_cost END, 3) AS unreliability_to_run_cost,
       'downtime_cost + sla_credits + reliability_churn_arr; downtime_cost = incident minutes / 525600 x ARR of each customer reached' AS score_formula
FROM keyed
ORDER BY rank
