-- Downtime minutes per asset and month over the last `months` full months: the heat map of where
-- and when customers were hurt. Assets without downtime in the window are left out.
WITH p AS (SELECT * FROM params),
recent AS (SELECT month, ROW_NUMBER() OVER (ORDER BY month DESC) AS back FROM months WHERE complete),
w AS (SELECT r.month FROM recent r CROSS JOIN p WHERE r.back <= p.months),
d AS (
  SELECT o.asset_id, o.month, SUM(o.downtime_minutes) AS downtime_minutes
  FROM outages o JOIN w ON w.month = o.month GROUP BY o.asset_id, o.month
),
hit AS (SELECT DISTINCT asset_id FROM d)
SELECT h.asset_id, COALESCE(a.name, h.asset_id) AS asset_name, w.month, ROUND(COALESCE(d.downtime_minutes, 0.0), 1) AS downtime_minutes
FROM hit h CROSS JOIN w
LEFT JOIN d ON d.asset_id = h.asset_id AND d.month = w.month
LEFT JOIN assets a ON a.asset_id = h.asset_id
ORDER BY h.asset_id, w.month
