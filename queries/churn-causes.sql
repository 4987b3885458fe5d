-- Churned MRR and logos by stated reason in the period, with the period's churn rates
-- (ChartMogul's B2B definitions: start-of-period denominators) and, for churned versus
-- retained customers, the incidents that reached them in the 90 days before (churn date, or
-- period end for the retained). Period-level figures are repeated on every row.
WITH p AS (SELECT * FROM params),
start_c AS (
  SELECT m.customer_id, m.mrr FROM mrr_movements m CROSS JOIN p
  WHERE m.month = p.period_prev_month AND m.mrr > 0
),
mv AS (
  SELECT m.* FROM mrr_movements m CROSS JOIN p
  WHERE m.month >= p.period_first_month AND m.month <= p.period_last_month
),
base AS (SELECT COUNT(*) AS start_customers, SUM(mrr) AS start_mrr FROM start_c),
lost_logos AS (
  SELECT COUNT(DISTINCT mv.customer_id) AS churned_logos FROM mv JOIN start_c s ON s.customer_id = mv.customer_id
  WHERE mv.kind = 'churn'
),
moves AS (
  SELECT SUM(CASE WHEN kind = 'churn' THEN 0.0 - amount ELSE 0.0 END) AS churn_mrr,
         SUM(CASE WHEN kind = 'contraction' THEN 0.0 - amount ELSE 0.0 END) AS contraction_mrr,
         SUM(CASE WHEN kind = 'expansion' THEN amount ELSE 0.0 END) AS expansion_mrr,
         SUM(CASE WHEN kind = 'reactivation' THEN amount ELSE 0.0 END) AS reactivation_mrr
  FROM mv
),
-- The period's churn events: churn_exposure holds exactly the churn rows dated in the period
-- (the same comparison as below); crossing the whole churn dataset with params gathered every
-- row before the filter.
events AS (
  SELECT ch.* FROM churn_exposure ch CROSS JOIN p
  WHERE EXTRACT(EPOCH FROM CAST(ch.churned_at AS TIMESTAMP)) >= EXTRACT(EPOCH FROM p.period_start)
    AND EXTRACT(EPOCH FROM CAST(ch.churned_at AS TIMESTAMP)) < EXTRACT(EPOCH FROM p.period_end)
),
by_reason AS (
  SELECT COALESCE(reason, 'unknown') AS reason,
         SUM(CASE WHEN kind = 'downgrade' THEN 0 ELSE 1 END) AS logos_lost,
         SUM(CASE WHEN kind = 'downgrade' THEN 1 ELSE 0 END) AS downgrades,
         SUM(mrr_lost) AS mrr_lost
  FROM events GROUP BY COALESCE(reason, 'unknown')
),
-- Incident exposure in the 90 days before: churned (full) customers up to their churn date,
-- retained customers (active at start, no full churn in the period) up to the period end.
churned_x AS (
  SELECT e.customer_id, SUM(e.incidents_90d) AS incidents, SUM(e.downtime_90d_min) AS downtime
  FROM churn_exposure e CROSS JOIN p
  WHERE EXTRACT(EPOCH FROM CAST(e.churned_at AS TIMESTAMP)) >= EXTRACT(EPOCH FROM p.period_start)
    AND EXTRACT(EPOCH FROM CAST(e.churned_at AS TIMESTAMP)) < EXTRACT(EPOCH FROM p.period_end)
    AND (e.kind IS NULL OR e.kind = 'full')
  GROUP BY e.customer_id
),
retained AS (
  SELECT s.customer_id FROM start_c s
  LEFT JOIN (SELECT customer_id FROM events WHERE kind IS NULL OR kind = 'full') f ON f.customer_id = s.customer_id
  WHERE f.customer_id IS NULL
),
retained_x AS (
  SELECT r.customer_id, COALESCE(cp.incidents_90d_to_end, 0) AS incidents, COALESCE(cp.downtime_90d_to_end, 0.0) AS downtime
  FROM retained r LEFT JOIN customer_period cp ON cp.customer_id = r.customer_id
),
cx AS (SELECT AVG(incidents) AS churned_incidents_90d, AVG(downtime) AS churned_downtime_90d FROM churned_x),
rx AS (SELECT AVG(incidents) AS retained_incidents_90d, AVG(downtime) AS retained_downtime_90d FROM retained_x)
SELECT p.period_label AS period, r.reason, r.logos_lost, r.downgrades, ROUND(r.mrr_lost, 2) AS mrr_lost,
       ROUND(100.0 * r.mrr_lost / SUM(r.mrr_lost) OVER (), 2) AS share_of_mrr_lost_pct,
       b.start_customers, ROUND(b.start_mrr, 2) AS start_mrr,
       l.churned_logos,
       ROUND(100.0 * l.churned_logos / b.start_customers, 2) AS logo_churn_rate_pct,
       ROUND(100.0 * (m.churn_mrr + m.contraction_mrr) / b.start_mrr, 2) AS gross_mrr_churn_pct,
       ROUND(100.0 * (m.churn_mrr + m.contraction_mrr - m.expansion_mrr - m.reactivation_mrr) / b.start_mrr, 2) AS net_mrr_churn_pct,
       ROUND(cx.churned_incidents_90d, 2) AS churned_incidents_90d, ROUND(rx.retained_incidents_90d, 2) AS retained_incidents_90d,
       ROUND(cx.churned_downtime_90d, 1) AS churned_downtime_min_90d, ROUND(rx.retained_downtime_90d, 1) AS retained_downtime_min_90d
FROM by_reason r CROSS JOIN p CROSS JOIN base b CROSS JOIN lost_logos l CROSS JOIN moves m CROSS JOIN cx CROSS JOIN rx
ORDER BY r.mrr_lost DESC, r.reason
