-- SLA attainment, breaches and credits owed, per customer SLA, for the SLA periods that overlap
-- the requested period. Totals (credit liability) are repeated on every row.
WITH p AS (SELECT * FROM params),
rows AS (
  SELECT s.customer_id, c.name AS customer_name, c.segment, s.sla_id, s.metric, s.period AS sla_period,
         s.complete, s.target, s.attainment_pct, s.downtime_minutes, s.error_budget_used_pct, s.error_budget_remaining_minutes,
         s.incidents_in_scope, s.incidents_breached, s.breached, s.credit_pct, s.credit_amount
  FROM sla_periods s
  CROSS JOIN p
  JOIN customers c ON c.customer_id = s.customer_id
  WHERE s.period_start < p.period_end AND s.period_end > p.period_start
),
totals AS (
  SELECT COUNT(*) AS slas_in_period,
         SUM(CASE WHEN breached THEN 1 ELSE 0 END) AS slas_breached,
         ROUND(SUM(credit_amount), 2) AS total_credit_liability
  FROM rows
)
SELECT r.customer_id, r.customer_name, r.segment, r.sla_id, r.metric, r.sla_period, r.complete,
       r.target, ROUND(r.attainment_pct, 3) AS attainment_pct, ROUND(r.downtime_minutes, 1) AS downtime_minutes,
       ROUND(r.error_budget_used_pct, 1) AS error_budget_used_pct,
       ROUND(r.error_budget_remaining_minutes, 1) AS error_budget_remaining_minutes,
       r.incidents_in_scope, r.incidents_breached, r.breached, r.credit_pct,
       ROUND(r.credit_amount, 2) AS credit_amount,
       t.slas_in_period, t.slas_breached, t.total_credit_liability
FROM rows r CROSS JOIN totals t
ORDER BY r.breached DESC, r.credit_amount DESC, r.attainment_pct, r.customer_id, r.sla_id, r.sla_period
