-- Changes in the period to the assets one customer depends on.
WITH p AS (SELECT * FROM params)
SELECT co.change_id, COALESCE(a.name, co.asset_id) AS asset_name, co.started_at, co.outcome, co.incidents_caused, co.counts_as_failure
FROM change_outcomes co CROSS JOIN p
JOIN asset_customers ac ON ac.asset_id = co.asset_id AND ac.customer_id = p.customer
LEFT JOIN assets a ON a.asset_id = co.asset_id
WHERE co.started_at >= p.period_start AND co.started_at < p.period_end
ORDER BY co.started_at, co.change_id
