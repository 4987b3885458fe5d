-- Changes by outcome per month and per asset in the period, with the change failure rate:
-- (failed + rolled back + succeeded-but-caused-an-incident) / completed changes.
WITH p AS (SELECT * FROM params),
c AS (
  SELECT co.* FROM change_outcomes co CROSS JOIN p
  WHERE co.started_at >= p.period_start AND co.started_at < p.period_end
),
by_key AS (
  SELECT 'month' AS grouping, month AS key, outcome, completed, failed, incidents_caused, counts_as_failure FROM c
  UNION ALL
  SELECT 'asset' AS grouping, asset_id AS key, outcome, completed, failed, incidents_caused, counts_as_failure FROM c
  UNION ALL
  SELECT 'total' AS grouping, 'all' AS key, outcome, completed, failed, incidents_caused, counts_as_failure FROM c
)
SELECT grouping, key,
       COUNT(*) AS changes,
       SUM(CASE WHEN outcome = 'succeeded' THEN 1 ELSE 0 END) AS succeeded,
       SUM(CASE WHEN outcome = 'failed' THEN 1 ELSE 0 END) AS failed,
       SUM(CASE WHEN outcome = 'rolled_back' THEN 1 ELSE 0 END) AS rolled_back,
       SUM(CASE WHEN outcome = 'cancelled' THEN 1 ELSE 0 END) AS cancelled,
       SUM(CASE WHEN outcome = 'in_progress' THEN 1 ELSE 0 END) AS in_progress,
       SUM(CASE WHEN completed THEN 1 ELSE 0 END) AS completed,
       SUM(CASE WHEN outcome = 'succeeded' AND incidents_caused > 0 THEN 1 ELSE 0 END) AS succeeded_but_caused_incident,
       SUM(incidents_caused) AS incidents_caused,
       ROUND(CASE WHEN SUM(CASE WHEN completed THEN 1 ELSE 0 END) > 0
                  THEN 100.0 * SUM(CASE WHEN counts_as_failure THEN 1 ELSE 0 END) / SUM(CASE WHEN completed THEN 1 ELSE 0 END) END, 2) AS change_failure_rate_pct
FROM by_key
GROUP BY grouping, key
ORDER BY CASE grouping WHEN 'total' THEN 0 WHEN 'month' THEN 1 ELSE 2 END, key
