-- The incidents that reached one customer in the period, with how long they lasted and when the
-- customer was told: those on the assets the customer depends on that name no customers, and
-- those that name the customer.
WITH p AS (SELECT * FROM params),
inp AS (
  SELECT ir.* FROM incident_reach ir CROSS JOIN p
  WHERE ir.started_at >= p.period_start AND ir.started_at < p.period_end
),
their AS (
  SELECT ga.asset_id FROM customer_groups g CROSS JOIN p
  JOIN group_assets ga ON ga.group_id = g.group_id
  WHERE g.customer_id = p.customer
),
ci AS (
  SELECT inp.* FROM inp JOIN their t ON t.asset_id = inp.asset_id WHERE NOT inp.names_customers
  UNION ALL
  SELECT inp.* FROM inp JOIN incident_named_customers n ON n.incident_id = inp.incident_id CROSS JOIN p
  WHERE n.customer_id = p.customer
)
SELECT ci.incident_id, i.title, ci.severity, ci.impact, COALESCE(a.name, ci.asset_id) AS asset_name, ci.started_at,
       ROUND(ci.downtime_minutes, 1) AS downtime_minutes,
       ROUND(t.time_to_first_notice_min, 1) AS time_to_first_notice_min,
       ROUND(t.time_to_mitigate_min, 1) AS time_to_mitigate_min,
       ROUND(t.time_to_resolve_min, 1) AS time_to_resolve_min,
       ci.is_open
FROM ci
JOIN incidents i ON i.incident_id = ci.incident_id
JOIN incident_timings t ON t.incident_id = ci.incident_id
LEFT JOIN assets a ON a.asset_id = ci.asset_id
ORDER BY ci.started_at, ci.incident_id
