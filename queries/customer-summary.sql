-- One customer's period in one row: availability, downtime, incidents, SLA breaches, credits and
-- changes on the assets they depend on (the QBR's headline, also run for the previous period).
WITH p AS (SELECT * FROM params),
c AS (SELECT cu.* FROM customers cu CROSS JOIN p WHERE cu.customer_id = p.customer),
cp AS (SELECT cp.* FROM customer_period cp CROSS JOIN p WHERE cp.customer_id = p.customer),
sla AS (
  SELECT SUM(CASE WHEN s.breached THEN 1 ELSE 0 END) AS breaches, SUM(s.credit_amount) AS credits
  FROM sla_periods s CROSS JOIN p
  WHERE s.customer_id = p.customer AND s.period_start < p.period_end AND s.period_end > p.period_start
),
-- Changes on the assets the customer depends on (directly or through the dependency graph).
their AS (
  SELECT ga.asset_id FROM customer_groups g CROSS JOIN p
  JOIN group_assets ga ON ga.group_id = g.group_id
  JOIN assets a ON a.asset_id = ga.asset_id
  WHERE g.customer_id = p.customer
),
-- change_assets is period-scoped: the period's changes summed per asset (`failures`: those that
-- count as failed, as change_outcomes' `counts_as_failure`), built once per period for every
-- customer's pack rather than every change scanned again for each.
chg AS (
  SELECT SUM(ca.changes) AS changes, SUM(ca.failures) AS failed_changes
  FROM their t JOIN change_assets ca ON ca.asset_id = t.asset_id
)
SELECT c.customer_id, c.name AS customer_name, c.segment, ROUND(c.arr, 2) AS arr, p.period_label AS period,
       ROUND(CASE WHEN a.minutes > 0 THEN 100.0 * (1.0 - COALESCE(a.downtime_minutes, 0.0) / a.minutes) END, 3) AS availability_pct,
       ROUND(COALESCE(a.downtime_minutes, 0.0), 1) AS downtime_minutes,
       COALESCE(a.incidents, 0) AS incidents, COALESCE(a.sev1_sev2, 0) AS sev1_sev2,
       COALESCE(s.breaches, 0) AS sla_breaches, ROUND(COALESCE(s.credits, 0.0), 2) AS credits_due,
       COALESCE(g.changes, 0) AS changes_on_their_assets, COALESCE(g.failed_changes, 0) AS failed_changes
FROM c CROSS JOIN p CROSS JOIN cp a CROSS JOIN sla s CROSS JOIN chg g
