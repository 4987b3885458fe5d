-- Incident management per month over the last `months` full months: volume by severity, MTTA and
-- MTTR (mean, median, p90), time to first customer notice; and the trend verdict of the
-- Mann-Kendall test over the same months (repeated on every row).
WITH p AS (SELECT * FROM params),
recent AS (SELECT month, ROW_NUMBER() OVER (ORDER BY month DESC) AS back FROM months WHERE complete),
w AS (SELECT r.month FROM recent r CROSS JOIN p WHERE r.back <= p.months),
t AS (SELECT it.* FROM incident_response it JOIN w ON w.month = it.month),
agg AS (
  SELECT month,
         COUNT(*) AS incidents,
         SUM(CASE WHEN severity = 'sev1' THEN 1 ELSE 0 END) AS sev1,
         SUM(CASE WHEN severity = 'sev2' THEN 1 ELSE 0 END) AS sev2,
         SUM(CASE WHEN severity = 'sev3' THEN 1 ELSE 0 END) AS sev3,
         SUM(CASE WHEN severity IN ('sev4', 'sev5') THEN 1 ELSE 0 END) AS sev4_5,
         AVG(time_to_acknowledge_min) AS mtta_mean,
         MEDIAN(time_to_acknowledge_min) AS mtta_median,
         QUANTILE_CONT(time_to_acknowledge_min, 0.9) AS mtta_p90,
         AVG(time_to_resolve_min) AS mttr_mean,
         MEDIAN(time_to_resolve_min) AS mttr_median,
         QUANTILE_CONT(time_to_resolve_min, 0.9) AS mttr_p90,
         AVG(time_to_first_notice_min) AS notice_mean
  FROM t GROUP BY month
),
tr AS (
  SELECT MAX(CASE WHEN metric = 'incidents' THEN verdict END) AS incidents_trend,
         MAX(CASE WHEN metric = 'mtta_mean_min' THEN verdict END) AS mtta_trend,
         MAX(CASE WHEN metric = 'mttr_mean_min' THEN verdict END) AS mttr_trend,
         MAX(CASE WHEN metric = 'mttr_mean_min' THEN p_value END) AS mttr_p_value,
         MAX(CASE WHEN metric = 'mttr_mean_min' THEN sen_slope_per_month END) AS mttr_slope
  FROM incident_trend
)
SELECT w.month,
       COALESCE(a.incidents, 0) AS incidents, COALESCE(a.sev1, 0) AS sev1, COALESCE(a.sev2, 0) AS sev2,
       COALESCE(a.sev3, 0) AS sev3, COALESCE(a.sev4_5, 0) AS sev4_5,
       ROUND(a.mtta_mean, 1) AS mtta_mean_min, ROUND(a.mtta_median, 1) AS mtta_median_min, ROUND(a.mtta_p90, 1) AS mtta_p90_min,
       ROUND(a.mttr_mean, 1) AS mttr_mean_min, ROUND(a.mttr_median, 1) AS mttr_median_min, ROUND(a.mttr_p90, 1) AS mttr_p90_min,
       ROUND(a.notice_mean, 1) AS first_notice_mean_min,
       tr.incidents_trend, tr.mtta_trend, tr.mttr_trend,
       ROUND(tr.mttr_p_value, 4) AS mttr_trend_p_value, ROUND(tr.mttr_slope, 2) AS mttr_slope_min_per_month
FROM w LEFT JOIN agg a ON a.month = w.month CROSS JOIN tr
ORDER BY w.month
