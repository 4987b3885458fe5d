-- Time since the last downtime, overall and per asset, and the longest run without downtime in
-- the requested period (clipped to the as-of time). Outage intervals are already merged and have
-- maintenance cut out; "overall" merges every asset's downtime.
WITH p AS (SELECT * FROM params),
spans AS (
  SELECT 'all assets' AS asset_id, started_at, ended_at, is_ongoing FROM downtime_all
  UNION ALL
  SELECT asset_id, started_at, ended_at, is_ongoing FROM outages
),
-- Join the month-split pieces back into continuous spans: a piece that starts where the
-- previous one ended continues it.
marked AS (
  SELECT asset_id, started_at, ended_at, is_ongoing,
         CASE WHEN LAG(ended_at) OVER (PARTITION BY asset_id ORDER BY started_at) = started_at THEN 0 ELSE 1 END AS is_new
  FROM spans
),
numbered AS (
  SELECT asset_id, started_at, ended_at, is_ongoing,
         SUM(is_new) OVER (PARTITION BY asset_id ORDER BY started_at) AS span_no
  FROM marked
),
joined AS (
  SELECT asset_id, span_no, MIN(started_at) AS started_at, MAX(ended_at) AS ended_at,
         MAX(CASE WHEN is_ongoing THEN 1 ELSE 0 END) AS ongoing
  FROM numbered GROUP BY asset_id, span_no
),
last AS (
  SELECT asset_id, MAX(ended_at) AS last_downtime_end, MAX(ongoing) AS ongoing, COUNT(*) AS downtime_spans
  FROM joined GROUP BY asset_id
),
-- Gaps inside the period: between consecutive spans, from the period start to the first span,
-- and from the last span to the period end.
inside AS (
  SELECT j.asset_id,
         EXTRACT(EPOCH FROM GREATEST(j.started_at, p.period_start)) AS s,
         EXTRACT(EPOCH FROM LEAST(j.ended_at, p.period_end)) AS e,
         EXTRACT(EPOCH FROM p.period_start) AS ps, EXTRACT(EPOCH FROM p.period_end) AS pe
  FROM joined j CROSS JOIN p
  WHERE j.ended_at > p.period_start AND j.started_at < p.period_end
),
gaps AS (
  SELECT asset_id, s - COALESCE(LAG(e) OVER (PARTITION BY asset_id ORDER BY s), ps) AS gap
  FROM inside
  UNION ALL
  SELECT asset_id, MAX(pe) - MAX(e) AS gap FROM inside GROUP BY asset_id
),
streaks AS (SELECT asset_id, MAX(gap) / 86400.0 AS longest_streak_days, COUNT(*) - 1 AS spans_in_period FROM gaps GROUP BY asset_id)
SELECT l.asset_id,
       CASE WHEN l.asset_id = 'all assets' THEN 'All customer-facing downtime' ELSE a.name END AS asset_name,
       l.last_downtime_end,
       l.ongoing = 1 AS ongoing,
       ROUND(CASE WHEN l.ongoing = 1 THEN 0.0 ELSE (EXTRACT(EPOCH FROM p.as_of) - EXTRACT(EPOCH FROM l.last_downtime_end)) / 3600.0 END, 1) AS hours_since,
       ROUND(CASE WHEN l.ongoing = 1 THEN 0.0 ELSE (EXTRACT(EPOCH FROM p.as_of) - EXTRACT(EPOCH FROM l.last_downtime_end)) / 86400.0 END, 2) AS days_since,
       COALESCE(s.spans_in_period, 0) AS downtime_spans_in_period,
       ROUND(COALESCE(s.longest_streak_days, (EXTRACT(EPOCH FROM p.period_end) - EXTRACT(EPOCH FROM p.period_start)) / 86400.0), 2) AS longest_streak_days_in_period,
       p.period_label AS period
FROM last l
CROSS JOIN p
LEFT JOIN assets a ON a.asset_id = l.asset_id
LEFT JOIN streaks s ON s.asset_id = l.asset_id
ORDER BY CASE WHEN l.asset_id = 'all assets' THEN 0 ELSE 1 END, days_since, l.asset_id
