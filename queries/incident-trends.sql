-- Incident management per month over the last `months` full months: volume by severity, MTTA and
-- MTTR (mean, median, p90), time to first customer notice (the `incident_months` table, the
-- trend window's figures); and the trend verdict of the Mann-Kendall test over the same months
-- and the same figures (`incident_trend`, repeated on every row).
WITH tr AS (
  SELECT MAX(CASE WHEN metric = 'incidents' THEN verdict END) AS incidents_trend,
         MAX(CASE WHEN metric = 'mtta_mean_min' THEN verdict END) AS mtta_trend,
         MAX(CASE WHEN metric = 'mttr_mean_min' THEN verdict END) AS mttr_trend,
         MAX(CASE WHEN metric = 'mttr_mean_min' THEN p_value END) AS mttr_p_value,
         MAX(CASE WHEN metric = 'mttr_mean_min' THEN sen_slope_per_month END) AS mttr_slope
  FROM incident_trend
)
SELECT m.month, m.incidents, m.sev1, m.sev2, m.sev3, m.sev4_5,
       ROUND(m.mtta_mean_min, 1) AS mtta_mean_min, ROUND(m.mtta_median_min, 1) AS mtta_median_min,
       ROUND(m.mtta_p90_min, 1) AS mtta_p90_min,
       ROUND(m.mttr_mean_min, 1) AS mttr_mean_min, ROUND(m.mttr_median_min, 1) AS mttr_median_min,
       ROUND(m.mttr_p90_min, 1) AS mttr_p90_min,
       ROUND(m.first_notice_mean_min, 1) AS first_notice_mean_min,
       tr.incidents_trend, tr.mtta_trend, tr.mttr_trend,
       ROUND(tr.mttr_p_value, 4) AS mttr_trend_p_value, ROUND(tr.mttr_slope, 2) AS mttr_slope_min_per_month
FROM incident_months m CROSS JOIN tr
ORDER BY m.month
