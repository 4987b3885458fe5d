-- Changes in the period to the assets one customer depends on (directly or through the
-- dependency graph).
WITH p AS (SELECT * FROM params),
their AS (
  SELECT ga.asset_id FROM customer_groups g CROSS JOIN p
  JOIN group_assets ga ON ga.group_id = g.group_id
  WHERE g.customer_id = p.customer
),
changes_in AS (
  SELECT co.* FROM change_outcomes co CROSS JOIN p
  WHERE co.started_at >= p.period_start AND co.started_at < p.period_end
)
SELECT co.change_id, COALESCE(a.name, co.asset_id) AS asset_name, co.started_at, co.outcome, co.incidents_caused, co.counts_as_failure
FROM their t
JOIN assets a ON a.asset_id = t.asset_id
JOIN changes_in co ON co.asset_id = t.asset_id
ORDER BY co.started_at, co.change_id
