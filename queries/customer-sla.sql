-- One customer's SLA periods overlapping the period: attainment against target, breach, credit.
WITH p AS (SELECT * FROM params)
SELECT s.sla_id, s.metric, s.period AS sla_period, s.complete, s.target, ROUND(s.attainment_pct, 3) AS attainment_pct,
       ROUND(s.downtime_minutes, 1) AS downtime_minutes, ROUND(s.error_budget_remaining_minutes, 1) AS error_budget_remaining_minutes,
       s.incidents_in_scope, s.incidents_breached, s.breached, s.credit_pct, ROUND(s.credit_amount, 2) AS credit_amount
FROM sla_periods s CROSS JOIN p
WHERE s.customer_id = p.customer AND s.period_start < p.period_end AND s.period_end > p.period_start
ORDER BY s.metric, s.period_start, s.sla_id
