-- The incidents that reached one customer in the period, with how long they lasted and when the
-- customer was told.
WITH p AS (SELECT * FROM params)
SELECT ci.incident_id, i.title, ci.severity, ci.impact, COALESCE(a.name, ci.asset_id) AS asset_name, ci.started_at,
       ROUND(ci.downtime_minutes, 1) AS downtime_minutes,
       ROUND(t.time_to_first_notice_min, 1) AS time_to_first_notice_min,
       ROUND(t.time_to_mitigate_min, 1) AS time_to_mitigate_min,
       ROUND(t.time_to_resolve_min, 1) AS time_to_resolve_min,
       ci.is_open
FROM customer_incidents ci CROSS JOIN p
JOIN incidents i ON i.incident_id = ci.incident_id
JOIN incident_timings t ON t.incident_id = ci.incident_id
LEFT JOIN assets a ON a.asset_id = ci.asset_id
WHERE ci.customer_id = p.customer AND ci.started_at >= p.period_start AND ci.started_at < p.period_end
ORDER BY ci.started_at, ci.incident_id
