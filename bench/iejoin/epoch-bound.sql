-- headline-kpis' incident step alone, its period filter written one way (bench/iejoin).
WITH p AS (SELECT * FROM params)
SELECT COUNT(*) AS incidents, AVG(t.time_to_resolve_min) AS mttr FROM incident_timings t CROSS JOIN p
WHERE t.started_at >= p.period_start
  AND EXTRACT(EPOCH FROM p.period_end) - EXTRACT(EPOCH FROM t.started_at) > 0
