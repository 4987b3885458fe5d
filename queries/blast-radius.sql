-- Every active customer who uses the asset or anything that depends on it, with ARR, segment,
-- availability SLA target and the error budget left in their current SLA period; totals and the
-- asset's historical change failure rate are repeated on every row.
WITH p AS (SELECT * FROM params),
-- Customers whose closure holds the asset (their exposure group's assets), active ones only;
-- `direct` when they use it themselves.
hit AS (
  SELECT ac.customer_id, ac.direct
  FROM asset_customers ac CROSS JOIN p
  WHERE ac.asset_id = p.asset AND ac.active
),
-- The latest availability SLA period that started before the as-of time (running or just
-- ended); when several SLAs' latest periods start together: the lowest target and the
-- least budget left.
latest AS (
  SELECT s.customer_id, s.target, s.error_budget_remaining_minutes, s.period_start,
         MAX(s.period_start) OVER (PARTITION BY s.customer_id) AS newest
  FROM sla_current s CROSS JOIN p
  WHERE s.metric = 'availability' AND s.period_start < p.as_of
),
current_sla AS (
  SELECT customer_id, MIN(target) AS sla_target, MIN(error_budget_remaining_minutes) AS error_budget_remaining_minutes
  FROM latest WHERE period_start = newest GROUP BY customer_id
),
-- The asset's changes over the whole history (one row, empty sums when it has none), from the
-- per-asset sums: at 10 M incidents, every change's row held in memory took 8 GiB.
cfr AS (
  SELECT SUM(co.completed) AS completed, SUM(co.failures) AS failures
  FROM change_assets co CROSS JOIN p WHERE co.asset_id = p.asset
),
rows AS (
  SELECT c.customer_id, c.name AS customer_name, c.segment, c.arr, h.direct AS uses_directly,
         s.sla_target, s.error_budget_remaining_minutes
  FROM hit h JOIN customers c ON c.customer_id = h.customer_id
  LEFT JOIN current_sla s ON s.customer_id = h.customer_id
),
totals AS (SELECT COUNT(*) AS customers_at_risk, SUM(arr) AS total_arr_at_risk FROM rows)
SELECT p.asset AS asset_id, r.customer_id, r.customer_name, r.segment, ROUND(r.arr, 2) AS arr, r.uses_directly,
       r.sla_target, ROUND(r.error_budget_remaining_minutes, 1) AS error_budget_remaining_minutes,
       t.customers_at_risk, ROUND(t.total_arr_at_risk, 2) AS total_arr_at_risk,
       cfr.completed AS asset_changes_completed,
       ROUND(CASE WHEN cfr.completed > 0 THEN 100.0 * cfr.failures / cfr.completed END, 2) AS asset_change_failure_rate_pct
FROM rows r CROSS JOIN totals t CROSS JOIN cfr CROSS JOIN p
ORDER BY r.arr DESC, r.customer_id
