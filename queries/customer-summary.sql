-- One customer's period in one row: availability, downtime, incidents, SLA breaches, credits and
-- changes on the assets they depend on (the QBR's headline, also run for the previous period).
WITH p AS (SELECT * FROM params),
c AS (SELECT cu.* FROM customers cu CROSS JOIN p WHERE cu.customer_id = p.customer),
avail AS (
  SELECT SUM(cm.downtime_minutes) AS downtime, SUM(cm.minutes) AS minutes FROM customer_months cm CROSS JOIN p
  WHERE cm.customer_id = p.customer AND cm.month >= p.period_first_month AND cm.month <= p.period_last_month
),
inc AS (
  SELECT COUNT(*) AS incidents, SUM(CASE WHEN ci.severity IN ('sev1', 'sev2') THEN 1 ELSE 0 END) AS sev1_sev2
  FROM customer_incidents ci CROSS JOIN p
  WHERE ci.customer_id = p.customer AND ci.started_at >= p.period_start AND ci.started_at < p.period_end
),
sla AS (
  SELECT SUM(CASE WHEN s.breached THEN 1 ELSE 0 END) AS breaches, SUM(s.credit_amount) AS credits
  FROM sla_periods s CROSS JOIN p
  WHERE s.customer_id = p.customer AND s.period_start < p.period_end AND s.period_end > p.period_start
),
chg AS (
  SELECT COUNT(*) AS changes, SUM(CASE WHEN co.counts_as_failure THEN 1 ELSE 0 END) AS failed_changes
  FROM change_outcomes co CROSS JOIN p
  JOIN asset_customers ac ON ac.asset_id = co.asset_id AND ac.customer_id = p.customer
  WHERE co.started_at >= p.period_start AND co.started_at < p.period_end
)
SELECT c.customer_id, c.name AS customer_name, c.segment, ROUND(c.arr, 2) AS arr, p.period_label AS period,
       ROUND(CASE WHEN a.minutes > 0 THEN 100.0 * (1.0 - COALESCE(a.downtime, 0.0) / a.minutes) END, 3) AS availability_pct,
       ROUND(COALESCE(a.downtime, 0.0), 1) AS downtime_minutes,
       COALESCE(i.incidents, 0) AS incidents, COALESCE(i.sev1_sev2, 0) AS sev1_sev2,
       COALESCE(s.breaches, 0) AS sla_breaches, ROUND(COALESCE(s.credits, 0.0), 2) AS credits_due,
       COALESCE(g.changes, 0) AS changes_on_their_assets, COALESCE(g.failed_changes, 0) AS failed_changes
FROM c CROSS JOIN p CROSS JOIN avail a CROSS JOIN inc i CROSS JOIN sla s CROSS JOIN chg g
