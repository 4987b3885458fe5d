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
ci AS (
  SELECT ci.*, c.arr FROM customer_incidents ci CROSS JOIN p
  JOIN customers c ON c.customer_id = ci.customer_id
  WHERE ci.downtime_minutes > 0 AND ci.started_at >= p.period_start AND ci.started_at < p.period_end
),
dcost AS (
  SELECT asset_id, SUM(downtime_minutes * arr / 525600.0) AS downtime_cost,
         COUNT(DISTINCT customer_id) AS customers_affected
  FROM ci GROUP BY asset_id
),
arr_hit AS (
  SELECT asset_id, SUM(arr) AS arr_affected FROM (SELECT DISTINCT asset_id, customer_id, arr FROM ci) GROUP BY asset_id
),
down AS (
  SELECT o.asset_id, SUM(o.downtime_minutes) AS downtime_minutes FROM outages o CROSS JOIN p
  WHERE o.started_at >= p.period_start AND o.started_at < p.period_end GROUP BY o.asset_id
),
credited AS (
  SELECT s.sla_id, s.customer_id, s.period_start, s.period_end, s.credit_amount FROM sla_periods s CROSS JOIN p
  WHERE s.metric = 'availability' AND s.credit_amount > 0 AND s.period_start < p.period_end AND s.period_end > p.period_start
),
share AS (
  SELECT cr.sla_id, cr.period_start, x.asset_id, cr.credit_amount, SUM(x.downtime_minutes) AS asset_down
  FROM credited cr
  JOIN customer_incidents x ON x.customer_id = cr.customer_id AND x.downtime_minutes > 0
   AND x.started_at >= cr.period_start AND x.started_at < cr.period_end
  GROUP BY cr.sla_id, cr.period_start, x.asset_id, cr.credit_amount
),
share_tot AS (SELECT sla_id, period_start, SUM(asset_down) AS total_down FROM share GROUP BY sla_id, period_start),
credits AS (
  SELECT s.asset_id, SUM(s.credit_amount * s.asset_down / t.total_down) AS sla_credits
  FROM share s JOIN share_tot t ON t.sla_id = s.sla_id AND t.period_start = s.period_start
  GROUP BY s.asset_id
),
rel_churn AS (
  SELECT ch.customer_id, ch.churned_at, ch.mrr_lost FROM churn ch CROSS JOIN p
  WHERE ch.reason = 'reliability'
    AND EXTRACT(EPOCH FROM CAST(ch.churned_at AS TIMESTAMP)) >= EXTRACT(EPOCH FROM p.period_start)
    AND EXTRACT(EPOCH FROM CAST(ch.churned_at AS TIMESTAMP)) < EXTRACT(EPOCH FROM p.period_end)
),
churn_hit AS (
  SELECT DISTINCT x.asset_id, r.customer_id, r.churned_at, r.mrr_lost
  FROM rel_churn r
  JOIN customer_incidents x ON x.customer_id = r.customer_id AND x.downtime_minutes > 0
   AND EXTRACT(EPOCH FROM x.started_at) < EXTRACT(EPOCH FROM CAST(r.churned_at AS TIMESTAMP))
   AND EXTRACT(EPOCH FROM x.started_at) >= EXTRACT(EPOCH FROM CAST(r.churned_at AS TIMESTAMP)) - 90 * 86400
),
churn_cost AS (SELECT asset_id, 12.0 * SUM(mrr_lost) AS reliability_churn_arr FROM churn_hit GROUP BY asset_id),
scored AS (
  SELECT a.asset_id, a.name AS asset_name, a.kind, a.owner_team,
         COALESCE(d.downtime_minutes, 0.0) AS downtime_minutes,
         COALESCE(dc.customers_affected, 0) AS customers_affected,
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
keyed AS (SELECT *, 0.0 - cost_of_unreliability AS k1, 0.0 - downtime_minutes AS k2 FROM totalled)
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
