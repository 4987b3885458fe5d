"""DuckDB's answers to opsintel's questions, in plain SQL, for the benchmark: the same data read
either from the lake's Parquet files or from the generated CSVs, the same definitions as
docs/metrics.md (strict availability policy, UTC, as of the end of AS_OF_DAY).

Each question is a function (con) -> rows, over the views `views()` makes. The harness checks
the rows against opsintel's CSV output before it times anything.
"""

AS_OF = "TIMESTAMPTZ '2026-11-02 00:00:00+00'"  # --as-of 2026-11-01: the end of that day, UTC
AS_OF_DAY = "DATE '2026-11-01'"

DATASETS = ["customers", "assets", "customer_assets", "incidents", "changes", "maintenance", "slas", "churn", "revenue"]

# CSV columns that are not text, by dataset: how to read them.
TS = "TIMESTAMPTZ"
CSV_TYPES = {
    "customers": {"arr": "DOUBLE", "since": "DATE", "updated_at": TS},
    "assets": {"tier": "BIGINT", "depends_on": "LIST", "monthly_cost": "DOUBLE", "updated_at": TS},
    "incidents": {c: TS for c in ["started_at", "detected_at", "acknowledged_at", "first_customer_notice_at", "mitigated_at", "resolved_at", "updated_at"]} | {"customer_ids": "LIST"},
    "changes": {c: TS for c in ["scheduled_start", "scheduled_end", "started_at", "finished_at", "updated_at"]},
    "maintenance": {c: TS for c in ["starts_at", "ends_at", "announced_at"]},
    "slas": {"target": "DOUBLE", "severities": "LIST", "valid_from": "DATE", "valid_to": "DATE"},
    "churn": {"churned_at": "DATE", "mrr_lost": "DOUBLE", "voluntary": "BOOLEAN"},
    "revenue": {"month": "DATE", "mrr": "DOUBLE"},
}


def views(con, source, where, ext="csv"):
    """Views named after the datasets, over the lake (`source` = 'parquet', `where` = lake dir)
    or the CSVs (`source` = 'csv', `where` = data dir; files end in `ext`: csv or csv.gz)."""
    for ds in DATASETS:
        if source == "parquet":
            body = f"SELECT * FROM read_parquet('{where}/{ds}/**/*.parquet', hive_partitioning = false, union_by_name = true)"
        else:
            raw = f"read_csv('{where}/{ds}.{ext}', header = true, all_varchar = true)"
            cols = con.execute(f"SELECT * FROM {raw} LIMIT 0").description
            exprs = []
            for (name, *_rest) in cols:
                t = CSV_TYPES.get(ds, {}).get(name)
                v = f"NULLIF({name}, '')"
                if t == "LIST":
                    exprs.append(f"CASE WHEN {v} IS NULL THEN []::VARCHAR[] ELSE string_split({name}, ';') END AS {name}")
                elif t:
                    exprs.append(f"CAST({v} AS {t}) AS {name}")
                else:
                    exprs.append(f"{v} AS {name}")
            body = f"SELECT {', '.join(exprs)} FROM {raw}"
        con.execute(f"CREATE OR REPLACE VIEW {ds} AS {body}")
    con.execute("SET TimeZone = 'UTC'")


# CTEs merging the intervals (k, s, e) of a CTE named `raw` per key k into `merged` (k, s, e):
# an interval that starts before (or where) the ones before it end joins their span.
# Rows are numbered first so both window passes see one order: with ties on (s, e) two passes
# may order the tied rows differently, and a tied interval then opens a second island over the
# first (its downtime counted twice; seen at 10 M incidents, where many intervals clipped to a
# one-day window are identical).
MERGED = """r AS (SELECT k, s, e, ROW_NUMBER() OVER (PARTITION BY k ORDER BY s, e) AS rn FROM raw),
    o AS (SELECT *, MAX(e) OVER (PARTITION BY k ORDER BY rn ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS pe FROM r),
    g AS (SELECT *, SUM(CASE WHEN pe >= s THEN 0 ELSE 1 END) OVER (PARTITION BY k ORDER BY rn ROWS UNBOUNDED PRECEDING) AS grp0 FROM o),
    merged AS (SELECT k, MIN(s) AS s, MAX(e) AS e FROM g GROUP BY k, grp0)"""


# CTE text: `asset_spans` = each asset's merged downtime (k = asset_id, s, e).
ASSET_SPANS = f"""raw AS (SELECT i.asset_id AS k, p.s, p.e FROM pieces p JOIN inc i USING (incident_id) WHERE i.asset_id IS NOT NULL),
    {MERGED},
    asset_spans AS (SELECT * FROM merged)"""


def changes_cte(incidents="inc"):
    """CTE text: `chg` = every change with the incidents it caused (counted in `incidents`),
    whether it completed and whether it counts as a failure (docs/metrics.md)."""
    return f"""caused AS (SELECT caused_by_change_id AS change_id, COUNT(*) AS n FROM {incidents} WHERE caused_by_change_id IS NOT NULL GROUP BY 1),
    chg AS (SELECT c.*, COALESCE(x.n, 0) AS caused, c.outcome IN ('succeeded', 'failed', 'rolled_back') AS completed,
                   c.outcome IN ('failed', 'rolled_back') OR (c.outcome = 'succeeded' AND COALESCE(x.n, 0) > 0) AS failure
            FROM changes c LEFT JOIN caused x ON x.change_id = c.change_id)"""


# ---- Shared building blocks (strict policy: outages and partial outages count fully). ----

def prepare(con, timelines=True):
    """Tables the questions below read: merged maintenance, incident downtime pieces with
    maintenance cut out, customer exposure (closure through the dependency graph), each
    customer's span as a customer, the calendar's months, and (with `timelines`) the merged
    downtime timeline of every group of customers with the same exposure."""
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE mw AS
    WITH raw AS (SELECT asset_id AS k, starts_at AS s, ends_at AS e FROM maintenance WHERE ends_at > starts_at),
    {MERGED}
    SELECT k AS asset_id, s, e FROM merged""")
    # Incidents started by as-of, whether still open at as-of, and the downtime interval of those
    # with an outage or partial impact.
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE inc AS
    SELECT * REPLACE (COALESCE(customer_ids, []::VARCHAR[]) AS customer_ids),
           CASE WHEN resolved_at <= {AS_OF} THEN resolved_at END AS resolved_f,
           CASE WHEN acknowledged_at <= {AS_OF} THEN acknowledged_at END AS acked_f,
           COALESCE(resolved_at > {AS_OF}, false) OR (resolved_at IS NULL AND COALESCE(status, '') NOT IN ('closed', 'resolved')) AS is_open,
           CASE WHEN impact IN ('outage', 'partial') THEN started_at END AS s,
           CASE WHEN impact IN ('outage', 'partial') THEN LEAST(COALESCE(mitigated_at, resolved_at, {AS_OF}), {AS_OF}) END AS e
    FROM incidents WHERE started_at <= {AS_OF}""")
    con.execute("""
    CREATE OR REPLACE TEMP TABLE pieces AS
    WITH iv AS (SELECT incident_id, asset_id, s, e FROM inc WHERE e > s),
    ov AS (SELECT i.incident_id, GREATEST(m.s, i.s) AS ms, LEAST(m.e, i.e) AS me
           FROM iv i JOIN mw m ON m.asset_id = i.asset_id AND m.s < i.e AND m.e > i.s),
    starts AS (SELECT incident_id, s AS t FROM iv UNION ALL SELECT incident_id, me FROM ov),
    ends AS (SELECT incident_id, e AS t FROM iv UNION ALL SELECT incident_id, ms FROM ov),
    sr AS (SELECT incident_id, t, ROW_NUMBER() OVER (PARTITION BY incident_id ORDER BY t) AS k FROM starts),
    er AS (SELECT incident_id, t, ROW_NUMBER() OVER (PARTITION BY incident_id ORDER BY t) AS k FROM ends)
    SELECT sr.incident_id, sr.t AS s, er.t AS e FROM sr JOIN er USING (incident_id, k) WHERE er.t > sr.t""")
    con.execute("""
    CREATE OR REPLACE TEMP TABLE inc_down AS
    SELECT i.incident_id, COALESCE(SUM(epoch(p.e) - epoch(p.s)), 0) / 60.0 AS downtime
    FROM inc i LEFT JOIN pieces p USING (incident_id) GROUP BY i.incident_id""")
    # Running totals per asset and day of the incidents (impact other than none) that name no
    # customers: a window's tally is the total before its end minus the total before its start
    # (windows here start and end at midnight UTC; see `window_totals`).
    con.execute("""
    CREATE OR REPLACE TEMP TABLE broad_cum AS
    WITH daily AS (SELECT i.asset_id, date_trunc('day', i.started_at) AS day, count(*) AS n,
                          count(*) FILTER (i.severity IN ('sev1', 'sev2')) AS sev12, SUM(d.downtime) AS down,
                          count(*) FILTER (d.downtime > 0) AS dn
                   FROM inc i JOIN inc_down d USING (incident_id)
                   WHERE len(i.customer_ids) = 0 AND i.impact <> 'none' AND i.asset_id IS NOT NULL GROUP BY 1, 2)
    SELECT asset_id, day, SUM(n) OVER w AS n, SUM(sev12) OVER w AS sev12, SUM(down) OVER w AS down, SUM(dn) OVER w AS dn
    FROM daily WINDOW w AS (PARTITION BY asset_id ORDER BY day)""")
    # Customer exposure: every asset a customer uses, and everything those need.
    con.execute("""
    CREATE OR REPLACE TEMP TABLE needs AS
    WITH RECURSIVE dep AS (SELECT asset_id, unnest(COALESCE(depends_on, []::VARCHAR[])) AS need FROM assets),
    n(asset_id, need) AS (
      SELECT asset_id, asset_id FROM assets
      UNION SELECT n.asset_id, d.need FROM n JOIN dep d ON d.asset_id = n.need)
    SELECT * FROM n""")
    con.execute("""
    CREATE OR REPLACE TEMP TABLE cx AS
    SELECT DISTINCT ca.customer_id, COALESCE(n.need, ca.asset_id) AS asset_id
    FROM customer_assets ca JOIN customers c ON c.customer_id = ca.customer_id
    LEFT JOIN needs n ON n.asset_id = ca.asset_id""")
    # The customers each incident names (those that exist): an incident naming customers reaches
    # only them; one naming none reaches everyone exposed to its asset.
    con.execute("""
    CREATE OR REPLACE TEMP TABLE named AS
    SELECT DISTINCT i.incident_id, i.asset_id, u.customer_id
    FROM (SELECT incident_id, asset_id, unnest(customer_ids) AS customer_id FROM inc WHERE len(customer_ids) > 0) i
    JOIN customers u ON u.customer_id = i.customer_id""")
    # Customers with the same exposure (group key: their sorted assets) share one timeline.
    con.execute("""
    CREATE OR REPLACE TEMP TABLE ckey AS
    WITH g AS (SELECT customer_id, string_agg(asset_id, ',' ORDER BY asset_id) AS grp FROM cx GROUP BY customer_id)
    SELECT c.customer_id, COALESCE(g.grp, '') AS grp FROM customers c LEFT JOIN g ON g.customer_id = c.customer_id""")
    # The reporting calendar starts with the month of the earliest data.
    con.execute("""
    CREATE OR REPLACE TEMP TABLE cal AS
    SELECT date_trunc('month', LEAST(
      (SELECT MIN(started_at) FROM incidents)::DATE, (SELECT MIN(started_at) FROM changes)::DATE,
      (SELECT MIN(month) FROM revenue), (SELECT MIN(churned_at) FROM churn)))::TIMESTAMPTZ AS first_month""")
    # Each customer's span as a customer: from their first day (or the calendar's) to full churn
    # or as-of.
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE span AS
    WITH fc AS (SELECT customer_id, MIN(churned_at) AS day FROM churn
                WHERE (kind IS NULL OR kind <> 'downgrade') AND churned_at <= {AS_OF_DAY} GROUP BY customer_id)
    SELECT c.customer_id, c.arr, k.grp, fc.day IS NOT NULL AS churned,
           GREATEST(COALESCE(c.since::TIMESTAMPTZ, cal.first_month), cal.first_month) AS since,
           LEAST(COALESCE(fc.day::TIMESTAMPTZ, {AS_OF}), {AS_OF}) AS until
    FROM customers c CROSS JOIN cal JOIN ckey k ON k.customer_id = c.customer_id
    LEFT JOIN fc ON fc.customer_id = c.customer_id""")
    # Months of the calendar.
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE mon AS
    SELECT m::TIMESTAMPTZ AS ms, LEAST((m + INTERVAL 1 MONTH)::TIMESTAMPTZ, {AS_OF}) AS me
    FROM cal, generate_series(cal.first_month::TIMESTAMP, {AS_OF}::TIMESTAMP - INTERVAL 1 MICROSECOND, INTERVAL 1 MONTH) t(m)""")
    if not timelines:
        return
    merge = f"{MERGED} SELECT * FROM merged"
    # Group timelines: merge each asset's broad downtime, then each group's assets.
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE am AS
    WITH raw AS (SELECT i.asset_id AS k, p.s, p.e FROM pieces p JOIN inc i USING (incident_id) WHERE len(i.customer_ids) = 0),
    {merge}""")
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE gtl AS
    WITH ga AS (SELECT DISTINCT k.grp, x.asset_id FROM ckey k JOIN cx x ON x.customer_id = k.customer_id),
    raw AS (SELECT ga.grp AS k, am.s, am.e FROM ga JOIN am ON am.k = ga.asset_id),
    {merge}""")
    # Customers named by incidents: the part of those incidents outside their group's downtime.
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE np AS
    WITH raw AS (SELECT n.customer_id AS k, p.s, p.e FROM named n JOIN pieces p USING (incident_id)),
    {merge}""")
    con.execute("""
    CREATE OR REPLACE TEMP TABLE xs AS
    WITH ov AS (SELECT n.k AS customer_id, n.s AS ns, GREATEST(g.s, n.s) AS ms, LEAST(g.e, n.e) AS me
                FROM np n JOIN ckey c ON c.customer_id = n.k JOIN gtl g ON g.k = c.grp AND g.s < n.e AND g.e > n.s),
    starts AS (SELECT k AS customer_id, s AS ns, s AS t FROM np UNION ALL SELECT customer_id, ns, me FROM ov),
    ends AS (SELECT k AS customer_id, s AS ns, e AS t FROM np UNION ALL SELECT customer_id, ns, ms FROM ov),
    sr AS (SELECT *, ROW_NUMBER() OVER (PARTITION BY customer_id, ns ORDER BY t) AS r FROM starts),
    er AS (SELECT *, ROW_NUMBER() OVER (PARTITION BY customer_id, ns ORDER BY t) AS r FROM ends)
    SELECT sr.customer_id, sr.t AS s, er.t AS e FROM sr JOIN er USING (customer_id, ns, r) WHERE er.t > sr.t""")
    # The timelines split by month, with each group's full months.
    for name, src in (("gtl_m", "gtl"), ("xs_m", "xs")):
        key = "k" if src == "gtl" else "customer_id"
        con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {name} AS
        SELECT x.{key} AS k, m.ms, GREATEST(x.s, m.ms) AS s, LEAST(x.e, m.me) AS e
        FROM {src} x JOIN mon m ON x.s < m.me AND x.e > m.ms""")
    con.execute("""
    CREATE OR REPLACE TEMP TABLE gm AS
    SELECT k, ms, SUM(epoch(e) - epoch(s)) / 60.0 AS down FROM gtl_m GROUP BY k, ms""")


def window_downtime(con, windows):
    """Customer downtime minutes in each window of the table `windows` (wid, customer_id, grp,
    f, t): the group's downtime (whole months from `gm`, partial months from its monthly
    pieces) plus the customer's excess. Returns a table name with (wid, down)."""
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE wparts AS
    SELECT w.wid, w.customer_id, w.grp, m.ms, GREATEST(w.f, m.ms) AS f, LEAST(w.t, m.me) AS t,
           GREATEST(w.f, m.ms) = m.ms AND LEAST(w.t, m.me) = m.me AS whole
    FROM {windows} w JOIN mon m ON w.f < m.me AND w.t > m.ms""")
    con.execute("""
    CREATE OR REPLACE TEMP TABLE wdown AS
    WITH full_m AS (SELECT p.wid, COALESCE(g.down, 0) AS down FROM wparts p LEFT JOIN gm g ON g.k = p.grp AND g.ms = p.ms WHERE p.whole),
    part_m AS (SELECT p.wid, SUM(epoch(LEAST(g.e, p.t)) - epoch(GREATEST(g.s, p.f))) / 60.0 AS down
               FROM wparts p JOIN gtl_m g ON g.k = p.grp AND g.ms = p.ms AND g.s < p.t AND g.e > p.f
               WHERE NOT p.whole GROUP BY p.wid),
    ex_m AS (SELECT p.wid, SUM(epoch(LEAST(x.e, p.t)) - epoch(GREATEST(x.s, p.f))) / 60.0 AS down
             FROM wparts p JOIN xs_m x ON x.k = p.customer_id AND x.ms = p.ms AND x.s < p.t AND x.e > p.f GROUP BY p.wid)
    SELECT wid, SUM(down) AS down FROM (SELECT * FROM full_m UNION ALL SELECT * FROM part_m UNION ALL SELECT * FROM ex_m) GROUP BY wid""")
    return "wdown"


def direct_downtime(con, windows, out="wdown"):
    """Customer downtime minutes in each window of the table `windows` (wid, customer_id, f, t),
    the plain way: the downtime pieces of every incident that reached the customer (those naming
    no customers on an asset in their exposure, and those naming them), clipped to the window
    and merged. For a few windows; `window_downtime` serves many. Writes the table `out`
    (wid, down) and returns its name."""
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE {out} AS
    WITH w AS (SELECT wid, customer_id, f, t FROM {windows} WHERE t > f),
    lim AS (SELECT MIN(f) AS f0, MAX(t) AS t0 FROM w),
    bp AS (SELECT i.asset_id, p.s, p.e FROM pieces p JOIN inc i USING (incident_id) CROSS JOIN lim
           WHERE len(i.customer_ids) = 0 AND p.s < lim.t0 AND p.e > lim.f0),
    np AS (SELECT n.customer_id, p.s, p.e FROM named n JOIN pieces p USING (incident_id) CROSS JOIN lim
           WHERE p.s < lim.t0 AND p.e > lim.f0),
    raw AS (
      SELECT w.wid AS k, GREATEST(b.s, w.f) AS s, LEAST(b.e, w.t) AS e
      FROM w JOIN cx x USING (customer_id) JOIN bp b ON b.asset_id = x.asset_id AND b.s < w.t AND b.e > w.f
      UNION ALL
      SELECT w.wid, GREATEST(n.s, w.f), LEAST(n.e, w.t)
      FROM w JOIN np n ON n.customer_id = w.customer_id AND n.s < w.t AND n.e > w.f),
    {MERGED}
    SELECT w.wid, COALESCE(SUM(epoch(m.e) - epoch(m.s)), 0) / 60.0 AS down
    FROM w LEFT JOIN merged m ON m.k = w.wid GROUP BY w.wid""")
    return out


def window_totals(name, src, f="f", t="t"):
    """CTE text: `name` = the rows of the CTE `src` (which has asset_id and the bounds `f`, `t`)
    with n, sev12, down (summed incident downtime) and dn (incidents with downtime) of the
    incidents naming no customers on that asset started in [f, t), from `broad_cum`."""
    tot = lambda c: f"COALESCE(c.n, 0) AS n{c}, COALESCE(c.sev12, 0) AS s{c}, COALESCE(c.down, 0) AS d{c}, COALESCE(c.dn, 0) AS dn{c}"
    return f"""{name}_lo AS (SELECT s.*, {tot(0)} FROM {src} s ASOF LEFT JOIN broad_cum c ON c.asset_id = s.asset_id AND s.{f} > c.day),
    {name}_hi AS (SELECT s.*, {tot(1)} FROM {name}_lo s ASOF LEFT JOIN broad_cum c ON c.asset_id = s.asset_id AND s.{t} > c.day),
    {name} AS (SELECT * EXCLUDE (n0, s0, d0, dn0, n1, s1, d1, dn1), n1 - n0 AS n, s1 - s0 AS sev12, d1 - d0 AS down, dn1 - dn0 AS dn
               FROM {name}_hi)"""


def reach_tally(con, windows):
    """The incidents (impact other than none) that reached each customer of the table `windows`
    (wid, customer_id, f, t) and started in [f, t): count, sev1+sev2, and the sum of their own
    downtime minutes (not merged). Customers with the same exposure and window share the
    incidents that name no customers, from running totals per asset (`window_totals`). Returns a table (wid, incidents, sev12, downtime)."""
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE wtally AS
    WITH w AS (SELECT w.wid, w.customer_id, k.grp, w.f, w.t FROM {windows} w JOIN ckey k USING (customer_id)),
    ga AS (SELECT DISTINCT k.grp, x.asset_id FROM ckey k JOIN cx x USING (customer_id)),
    ends AS (SELECT gw.grp, gw.f, gw.t, ga.asset_id FROM (SELECT DISTINCT grp, f, t FROM w) gw JOIN ga USING (grp)),
    {window_totals("tot", "ends")},
    gt AS (SELECT grp, f, t, SUM(n) AS n, SUM(sev12) AS sev12, SUM(down) AS down FROM tot GROUP BY 1, 2, 3),
    nt AS (SELECT w.wid, count(*) AS n, count(*) FILTER (i.severity IN ('sev1', 'sev2')) AS sev12, SUM(d.downtime) AS down
           FROM w JOIN named n USING (customer_id) JOIN inc i USING (incident_id) JOIN inc_down d USING (incident_id)
           WHERE i.impact <> 'none' AND i.started_at >= w.f AND i.started_at < w.t GROUP BY 1)
    SELECT w.wid, COALESCE(g.n, 0) + COALESCE(n.n, 0) AS incidents, COALESCE(g.sev12, 0) + COALESCE(n.sev12, 0) AS sev12,
           COALESCE(g.down, 0) + COALESCE(n.down, 0) AS downtime
    FROM w LEFT JOIN gt g ON g.grp = w.grp AND g.f = w.f AND g.t = w.t LEFT JOIN nt n ON n.wid = w.wid""")
    return "wtally"


def change_outcomes(con):
    """The whole answer of 2026 (to as-of): per month (UTC), per asset and in total, changes by
    outcome, completed, succeeded-but-caused-an-incident, incidents caused, change failure rate.
    Rows: (grouping, key, changes, succeeded, failed, rolled_back, cancelled, in_progress,
    completed, succeeded_but_caused_incident, incidents_caused, change_failure_rate_pct)."""
    return con.execute(f"""
        WITH {changes_cte(f"(SELECT * FROM incidents WHERE started_at <= {AS_OF})")},
        c AS (SELECT * FROM chg WHERE started_at >= TIMESTAMPTZ '2026-01-01 00:00:00+00' AND started_at < {AS_OF}),
        cell AS (
          SELECT strftime(started_at, '%Y-%m') AS month, asset_id, count(*) AS changes,
                 count(*) FILTER (outcome = 'succeeded') AS succeeded, count(*) FILTER (outcome = 'failed') AS failed,
                 count(*) FILTER (outcome = 'rolled_back') AS rolled_back, count(*) FILTER (outcome = 'cancelled') AS cancelled,
                 count(*) FILTER (outcome = 'in_progress') AS in_progress, count(*) FILTER (completed) AS completed,
                 count(*) FILTER (outcome = 'succeeded' AND caused > 0) AS sbc, sum(caused) AS caused,
                 count(*) FILTER (failure) AS failures
          FROM c GROUP BY ALL)
        SELECT CASE WHEN grouping(month) = 0 THEN 'month' WHEN grouping(asset_id) = 0 THEN 'asset' ELSE 'total' END,
               COALESCE(month, asset_id, 'all'), sum(changes), sum(succeeded), sum(failed), sum(rolled_back),
               sum(cancelled), sum(in_progress), sum(completed), sum(sbc), sum(caused),
               round(100.0 * sum(failures) / sum(completed), 2)
        FROM cell GROUP BY GROUPING SETS ((month), (asset_id), ())""").fetchall()


def incident_trends(con):
    """Per month of the 12 full months before as-of (UTC): incidents, by severity, MTTA and MTTR
    (mean, median, p90), mean time to first customer notice: the per-month columns of
    opsintel's answer (its trend verdicts, a 12-point Mann-Kendall test, are not redone here).
    A time after as-of has not happened yet; a duration whose end precedes its start is missing."""
    def minutes(a, b):
        return f"CASE WHEN {b} >= {a} THEN (epoch_us({b}) - epoch_us({a})) / 60000000.0 END"
    def known(c):
        return f"CASE WHEN {c} <= {AS_OF} THEN {c} END"
    return con.execute(f"""
        WITH t AS (
          SELECT strftime(started_at, '%Y-%m') AS month, severity,
                 {minutes("COALESCE(detected_at, started_at)", known("acknowledged_at"))} AS tta,
                 {minutes("started_at", known("resolved_at"))} AS ttr,
                 {minutes("started_at", known("first_customer_notice_at"))} AS notice
          FROM incidents WHERE started_at >= TIMESTAMPTZ '2025-11-01 00:00:00+00' AND started_at < TIMESTAMPTZ '2026-11-01 00:00:00+00')
        SELECT month, count(*), count(*) FILTER (severity = 'sev1'), count(*) FILTER (severity = 'sev2'),
               count(*) FILTER (severity = 'sev3'), count(*) FILTER (severity IN ('sev4', 'sev5')),
               round(avg(tta), 1), round(quantile_cont(tta, 0.5), 1), round(quantile_cont(tta, 0.9), 1),
               round(avg(ttr), 1), round(quantile_cont(ttr, 0.5), 1), round(quantile_cont(ttr, 0.9), 1),
               round(avg(notice), 1)
        FROM t GROUP BY month ORDER BY month""").fetchall()


def troublesome_components(con):
    """Per asset with incidents or downtime in 2026 (to as-of): incidents by severity, merged
    downtime, MTTR mean, completed changes and failure rate, customers reached."""
    return con.execute(f"""
        WITH w AS (SELECT TIMESTAMPTZ '2026-01-01 00:00:00+00' AS ps, {AS_OF} AS pe),
        i AS (
          SELECT asset_id, count(*) AS incidents, count(*) FILTER (severity = 'sev1') AS sev1,
                 count(*) FILTER (severity = 'sev2') AS sev2, count(*) FILTER (severity = 'sev3') AS sev3,
                 count(*) FILTER (severity IN ('sev4', 'sev5')) AS sev4_5,
                 avg(CASE WHEN resolved_f >= started_at THEN (epoch(resolved_f) - epoch(started_at)) / 60.0 END) AS mttr
          FROM inc CROSS JOIN w WHERE started_at >= ps AND started_at < pe AND asset_id IS NOT NULL GROUP BY asset_id),
        {ASSET_SPANS},
        d AS (SELECT k AS asset_id, SUM(GREATEST(epoch(LEAST(e, pe)) - epoch(GREATEST(s, ps)), 0)) / 60.0 AS downtime
              FROM asset_spans CROSS JOIN w WHERE e > ps AND s < pe GROUP BY k),
        {changes_cte()},
        ch AS (
          SELECT c.asset_id, count(*) FILTER (c.completed) AS completed, count(*) FILTER (c.failure) AS failures
          FROM chg c CROSS JOIN w WHERE c.started_at >= ps AND c.started_at < pe GROUP BY c.asset_id),
        hits AS (SELECT i.incident_id, i.asset_id, len(i.customer_ids) > 0 AS names FROM inc i JOIN inc_down d USING (incident_id) CROSS JOIN w
                 WHERE d.downtime > 0 AND i.started_at >= ps AND i.started_at < pe AND i.asset_id IS NOT NULL),
        reached AS (
          SELECT DISTINCT h.asset_id, x.customer_id FROM (SELECT DISTINCT asset_id FROM hits WHERE NOT names) h JOIN cx x ON x.asset_id = h.asset_id
          UNION
          SELECT DISTINCT h.asset_id, n.customer_id FROM hits h JOIN named n USING (incident_id) WHERE h.names),
        cu AS (SELECT asset_id, count(*) AS customers FROM reached GROUP BY asset_id)
        SELECT a.asset_id, COALESCE(i.incidents, 0), COALESCE(i.sev1, 0), COALESCE(i.sev2, 0), COALESCE(i.sev3, 0), COALESCE(i.sev4_5, 0),
               round(COALESCE(d.downtime, 0), 1), round(i.mttr, 1), COALESCE(ch.completed, 0),
               round(CASE WHEN ch.completed > 0 THEN 100.0 * ch.failures / ch.completed END, 2), COALESCE(cu.customers, 0)
        FROM assets a LEFT JOIN i USING (asset_id) LEFT JOIN d USING (asset_id) LEFT JOIN ch USING (asset_id) LEFT JOIN cu USING (asset_id)
        WHERE COALESCE(i.incidents, 0) > 0 OR COALESCE(d.downtime, 0) > 0
        ORDER BY a.asset_id""").fetchall()


def trailing_twelve_months(con):
    """Per month of the 12 full months before as-of: mean customer availability, incidents,
    sev1+sev2, MTTR mean, change failure rate, churned MRR, MRR, NRR."""
    # Customer-months of the window, and each one's downtime.
    con.execute("""
    CREATE OR REPLACE TEMP TABLE cmw AS
    WITH mm AS (SELECT g.m::TIMESTAMPTZ AS ms, (g.m + INTERVAL 1 MONTH)::TIMESTAMPTZ AS me, strftime(g.m, '%Y-%m') AS month
                FROM generate_series(TIMESTAMP '2025-11-01', TIMESTAMP '2026-10-01', INTERVAL 1 MONTH) g(m))
    SELECT ROW_NUMBER() OVER () AS wid, s.customer_id, s.grp, mm.month,
           GREATEST(mm.ms, s.since) AS f, LEAST(mm.me, s.until) AS t
    FROM span s CROSS JOIN mm WHERE LEAST(mm.me, s.until) > GREATEST(mm.ms, s.since)""")
    window_downtime(con, "cmw")
    return con.execute(f"""
        WITH months AS (SELECT m::TIMESTAMPTZ AS ms, (m + INTERVAL 1 MONTH)::TIMESTAMPTZ AS me, strftime(m, '%Y-%m') AS month,
                               strftime(m - INTERVAL 12 MONTH, '%Y-%m') AS year_ago
                        FROM generate_series(TIMESTAMP '2025-11-01', TIMESTAMP '2026-10-01', INTERVAL 1 MONTH) t(m)),
        avail AS (SELECT month, AVG(100.0 * (1.0 - COALESCE(d.down, 0) / ((epoch(t) - epoch(f)) / 60.0))) AS availability
                  FROM cmw LEFT JOIN wdown d USING (wid) GROUP BY month),
        it AS (SELECT strftime(started_at, '%Y-%m') AS month, count(*) AS incidents, count(*) FILTER (severity IN ('sev1','sev2')) AS sev12,
                      avg(CASE WHEN resolved_f >= started_at THEN (epoch(resolved_f) - epoch(started_at)) / 60.0 END) AS mttr
               FROM inc GROUP BY 1),
        {changes_cte()},
        cfr AS (SELECT strftime(started_at, '%Y-%m') AS month,
                       100.0 * count(*) FILTER (failure) / NULLIF(count(*) FILTER (completed), 0) AS cfr
                FROM chg WHERE started_at <= {AS_OF} GROUP BY 1),
        rev AS (SELECT customer_id, strftime(month, '%Y-%m') AS month, SUM(mrr) AS mrr FROM revenue GROUP BY 1, 2),
        prevm AS (SELECT customer_id, strftime(strptime(month, '%Y-%m') + INTERVAL 1 MONTH, '%Y-%m') AS month, mrr FROM rev),
        moves AS (SELECT COALESCE(n.month, p.month) AS month, COALESCE(n.mrr, 0) AS cur, COALESCE(p.mrr, 0) AS prev
                  FROM rev n FULL JOIN prevm p ON p.customer_id = n.customer_id AND p.month = n.month),
        mrr AS (SELECT month, SUM(CASE WHEN cur < prev THEN round((prev - cur) * 100) / 100 ELSE 0 END) AS churned, SUM(cur) AS mrr
                FROM moves GROUP BY month),
        nrr AS (SELECT m.month, 100.0 * SUM(COALESCE(n.mrr, 0)) / SUM(t.mrr) AS nrr
                FROM months m JOIN rev t ON t.month = m.year_ago AND t.mrr > 0 LEFT JOIN rev n ON n.month = m.month AND n.customer_id = t.customer_id
                GROUP BY m.month)
        SELECT m.month, round(a.availability, 3), COALESCE(it.incidents, 0), COALESCE(it.sev12, 0), round(it.mttr, 1), round(c.cfr, 2),
               round(COALESCE(r.churned, 0), 2), round(r.mrr, 2), round(n.nrr, 2)
        FROM months m LEFT JOIN avail a USING (month) LEFT JOIN it USING (month) LEFT JOIN cfr c USING (month)
        LEFT JOIN mrr r USING (month) LEFT JOIN nrr n USING (month) ORDER BY m.month""").fetchall()


def sla_attainment(con):
    """Every SLA period overlapping 2026-Q3: attainment, breach and credit, and the totals."""
    sla_periods(con, "2026-07-01", "2026-10-01")
    return con.execute("""
        SELECT sla_id, label, attainment, breached, credit, count(*) OVER () AS n, count(*) FILTER (breached) OVER () AS nb,
               round(SUM(credit) OVER (), 2) AS total
        FROM slarows ORDER BY sla_id, label""").fetchall()


def sla_periods(con, start, end, customers=None, downtime=window_downtime):
    """The table `slarows`: every SLA period overlapping [start, end) (UTC days; of the
    customers in the table `customers`, else all) with its attainment, breach and credit;
    availability downtime from `downtime` (window_downtime, or direct_downtime for a few
    customers)."""
    only = f"WHERE l.customer_id IN (SELECT customer_id FROM {customers})" if customers else ""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE slaw AS
        WITH per AS (
          SELECT 'month' AS kind, m::TIMESTAMPTZ AS ps, (m + INTERVAL 1 MONTH)::TIMESTAMPTZ AS pe, strftime(m, '%Y-%m') AS label, 1 AS n
          FROM generate_series(TIMESTAMP '{start}', TIMESTAMP '{end}' - INTERVAL 1 MICROSECOND, INTERVAL 1 MONTH) t(m)
          UNION ALL
          SELECT 'quarter', m::TIMESTAMPTZ, (m + INTERVAL 3 MONTH)::TIMESTAMPTZ, strftime(m, '%Y') || '-Q' || quarter(m), 3
          FROM generate_series(date_trunc('quarter', TIMESTAMP '{start}'), TIMESTAMP '{end}' - INTERVAL 1 MICROSECOND, INTERVAL 3 MONTH) t(m)),
        sp AS (
          SELECT l.sla_id, l.customer_id, l.metric, l.target, l.severities, l.credit_tiers, s.grp, s.arr, p.label, p.ps, p.pe, p.n,
                 GREATEST(p.ps, s.since, COALESCE(l.valid_from::TIMESTAMPTZ, s.since)) AS ws,
                 LEAST(p.pe, s.until, COALESCE((l.valid_to + 1)::TIMESTAMPTZ, s.until)) AS we
          FROM slas l JOIN span s ON s.customer_id = l.customer_id JOIN per p ON p.kind = l.period {only})
        SELECT ROW_NUMBER() OVER () AS wid, *, ws AS f, we AS t FROM sp WHERE we > ws""")
    downtime(con, "slaw")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE slarows AS
        WITH w AS (SELECT * FROM slaw),
        down AS (SELECT w.sla_id, w.label, d.down FROM w JOIN wdown d USING (wid) WHERE w.metric = 'availability'),
        -- Time SLAs: customers of a group with the same window share the verdicts on the
        -- incidents that name no customers; incidents naming the customer are added.
        tw AS (SELECT DISTINCT grp, ws, we, metric, target, COALESCE(severities, []::VARCHAR[]) AS sevs FROM w WHERE metric <> 'availability'),
        ga AS (SELECT DISTINCT k.grp, x.asset_id FROM ckey k JOIN cx x USING (customer_id)),
        judged_b AS (
          SELECT tw.grp, tw.ws, tw.we, tw.metric, tw.target, tw.sevs,
                 CASE WHEN tw.metric = 'time_to_acknowledge'
                      THEN GREATEST(epoch(COALESCE(i.acked_f, i.resolved_f, {AS_OF})) - epoch(COALESCE(i.detected_at, i.started_at)), 0)
                      ELSE GREATEST(epoch(COALESCE(i.resolved_f, {AS_OF})) - epoch(i.started_at), 0) END / 60.0 AS actual
          FROM tw JOIN ga ON ga.grp = tw.grp
          JOIN inc i ON i.asset_id = ga.asset_id AND len(i.customer_ids) = 0 AND i.started_at >= tw.ws AND i.started_at < tw.we
          WHERE len(tw.sevs) = 0 OR list_contains(tw.sevs, i.severity)),
        tb AS (SELECT grp, ws, we, metric, target, sevs, count(*) AS n, count(*) FILTER (actual > target) AS bad FROM judged_b GROUP BY ALL),
        judged_n AS (
          SELECT w.sla_id, w.label,
                 CASE WHEN w.metric = 'time_to_acknowledge'
                      THEN GREATEST(epoch(COALESCE(i.acked_f, i.resolved_f, {AS_OF})) - epoch(COALESCE(i.detected_at, i.started_at)), 0)
                      ELSE GREATEST(epoch(COALESCE(i.resolved_f, {AS_OF})) - epoch(i.started_at), 0) END / 60.0 AS actual, w.target
          FROM w JOIN named n ON n.customer_id = w.customer_id JOIN inc i ON i.incident_id = n.incident_id
          WHERE w.metric <> 'availability' AND i.started_at >= w.ws AND i.started_at < w.we
            AND (COALESCE(len(w.severities), 0) = 0 OR list_contains(w.severities, i.severity))),
        tnn AS (SELECT sla_id, label, count(*) AS n, count(*) FILTER (actual > target) AS bad FROM judged_n GROUP BY 1, 2),
        tm AS (
          SELECT w.sla_id, w.label, COALESCE(b.n, 0) + COALESCE(x.n, 0) AS n, COALESCE(b.bad, 0) + COALESCE(x.bad, 0) AS bad
          FROM w LEFT JOIN tb b ON b.grp = w.grp AND b.ws = w.ws AND b.we = w.we AND b.metric = w.metric AND b.target = w.target
                 AND b.sevs = COALESCE(w.severities, []::VARCHAR[])
          LEFT JOIN tnn x ON x.sla_id = w.sla_id AND x.label = w.label
          WHERE w.metric <> 'availability'),
        fee AS (
          SELECT w.sla_id, w.label, SUM(r.mrr) AS fee FROM w JOIN revenue r ON r.customer_id = w.customer_id
            AND r.month >= w.ps::DATE AND r.month < w.pe::DATE GROUP BY 1, 2),
        att AS (
          SELECT w.*, f.fee AS known_fee,
                 CASE WHEN w.metric = 'availability'
                      THEN 100.0 * (1.0 - COALESCE(d.down, 0) / ((epoch(w.we) - epoch(w.ws)) / 60.0))
                      ELSE CASE WHEN COALESCE(t.n, 0) = 0 THEN 100.0 ELSE 100.0 * (t.n - t.bad) / t.n END END AS attainment,
                 CASE WHEN w.metric = 'availability' THEN NULL ELSE COALESCE(t.bad, 0) END AS bad
          FROM w LEFT JOIN down d USING (sla_id, label) LEFT JOIN tm t USING (sla_id, label) LEFT JOIN fee f USING (sla_id, label)),
        judged_p AS (
          SELECT *, CASE WHEN metric = 'availability' THEN attainment >= target ELSE bad = 0 END AS met,
                 COALESCE(known_fee, arr / 12.0 * n) AS fee2 FROM att),
        credit AS (
          SELECT j.sla_id, j.label, COALESCE(MAX(TRY_CAST(split_part(t.tier, ':', 2) AS DOUBLE))
                 FILTER (j.attainment < TRY_CAST(split_part(t.tier, ':', 1) AS DOUBLE)), 0) AS pct
          FROM judged_p j LEFT JOIN (SELECT sla_id, label, unnest(string_split(credit_tiers, ';')) AS tier FROM judged_p WHERE NOT met) t USING (sla_id, label)
          GROUP BY 1, 2),
        rows AS (
          SELECT j.sla_id, j.customer_id, j.metric, j.target, j.label, j.ps, j.pe, round(j.attainment, 3) AS attainment, NOT j.met AS breached,
                 CASE WHEN j.met THEN 0 ELSE round(j.fee2 * c.pct) / 100 END AS credit
          FROM judged_p j JOIN credit c USING (sla_id, label))
        SELECT * FROM rows""")


def since_last_downtime(con):
    """Per asset and for all assets together: end of the last downtime, whether ongoing, hours
    and days since, downtime spans in 2026 (to as-of) and the longest gap between them."""
    return con.execute(f"""
        WITH raw AS (SELECT i.asset_id AS k, p.s, p.e FROM pieces p JOIN inc i USING (incident_id) WHERE i.asset_id IS NOT NULL
                     UNION ALL SELECT 'all assets', s, e FROM pieces),
        {MERGED},
        w AS (SELECT TIMESTAMPTZ '2026-01-01 00:00:00+00' AS ps, {AS_OF} AS pe),
        last AS (SELECT k, MAX(e) AS last_end, MAX(e) >= {AS_OF} AS ongoing FROM merged GROUP BY k),
        inside AS (SELECT k, epoch(GREATEST(s, ps)) AS s, epoch(LEAST(e, pe)) AS e, epoch(ps) AS ps, epoch(pe) AS pe
                   FROM merged CROSS JOIN w WHERE e > ps AND s < pe),
        gaps AS (SELECT k, s - COALESCE(LAG(e) OVER (PARTITION BY k ORDER BY s), ps) AS gap FROM inside
                 UNION ALL SELECT k, MAX(pe) - MAX(e) FROM inside GROUP BY k),
        st AS (SELECT k, MAX(gap) / 86400.0 AS longest, count(*) - 1 AS n FROM gaps GROUP BY k)
        SELECT l.k, l.ongoing,
               round(CASE WHEN l.ongoing THEN 0 ELSE (epoch({AS_OF}) - epoch(l.last_end)) / 3600.0 END, 1),
               round(CASE WHEN l.ongoing THEN 0 ELSE (epoch({AS_OF}) - epoch(l.last_end)) / 86400.0 END, 2),
               COALESCE(st.n, 0), round(COALESCE(st.longest, (epoch(w.pe) - epoch(w.ps)) / 86400.0), 2)
        FROM last l CROSS JOIN w LEFT JOIN st USING (k) ORDER BY l.k""").fetchall()


def blast_radius(con, asset="pg-main"):
    """Active customers exposed to the asset: ARR, whether they use it themselves, their current
    availability SLA (lowest target, least error budget left), the totals and the asset's
    change failure rate over all changes to as-of."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE hit AS
        SELECT s.* FROM span s WHERE NOT s.churned AND s.customer_id IN (SELECT customer_id FROM cx WHERE asset_id = '{asset}')""")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE bw AS
        WITH sl AS (SELECT l.customer_id, l.target, CASE WHEN l.period = 'quarter' THEN 3 ELSE 1 END AS months,
                      GREATEST(h.since, COALESCE(l.valid_from::TIMESTAMPTZ, h.since)) AS vs,
                      LEAST(h.until, COALESCE((l.valid_to + 1)::TIMESTAMPTZ, h.until)) AS ve
               FROM slas l JOIN hit h USING (customer_id) WHERE l.metric = 'availability'),
        -- Each SLA's latest period: the one holding its last valid instant.
        per AS (SELECT *, CASE WHEN months = 3 THEN date_trunc('quarter', ve - INTERVAL 1 MICROSECOND)
                               ELSE date_trunc('month', ve - INTERVAL 1 MICROSECOND) END AS ps FROM sl WHERE ve > vs)
        SELECT ROW_NUMBER() OVER () AS wid, customer_id, target, ps,
               GREATEST(ps, vs) AS f, LEAST(ps + to_months(months), ve) AS t FROM per""")
    direct_downtime(con, "bw")
    return con.execute(f"""
        WITH budget AS (SELECT b.customer_id, b.target, b.ps,
                          (1 - b.target / 100.0) * (epoch(b.t) - epoch(b.f)) / 60.0 - d.down AS left_min,
                          MAX(b.ps) OVER (PARTITION BY b.customer_id) AS newest
                   FROM bw b JOIN wdown d USING (wid) WHERE b.ps < {AS_OF}),
        cur AS (SELECT customer_id, MIN(target) AS target, MIN(left_min) AS left_min FROM budget WHERE ps = newest GROUP BY 1),
        rows AS (SELECT c.customer_id, c.arr, c.customer_id IN (SELECT customer_id FROM customer_assets WHERE asset_id = '{asset}') AS direct,
                        cur.target, cur.left_min
                 FROM hit h JOIN customers c USING (customer_id) LEFT JOIN cur USING (customer_id)),
        {changes_cte()},
        cfr AS (SELECT count(*) FILTER (completed) AS completed, count(*) FILTER (failure) AS failures
                FROM chg WHERE asset_id = '{asset}' AND started_at <= {AS_OF})
        SELECT r.customer_id, round(r.arr, 2), r.direct, r.target, round(r.left_min, 1),
               count(*) OVER (), round(SUM(r.arr) OVER (), 2), cfr.completed,
               round(CASE WHEN cfr.completed > 0 THEN 100.0 * cfr.failures / cfr.completed END, 2)
        FROM rows r CROSS JOIN cfr ORDER BY r.arr DESC, r.customer_id""").fetchall()


def churn_causes(con):
    """2026 (to as-of): churn by stated reason, the start-of-period base, logo, gross and net MRR
    churn rates, and the mean incidents and incident downtime of the 90 days before churn (full
    churners) or before the period end (retained customers)."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE cw AS
        WITH w AS (SELECT TIMESTAMPTZ '2026-01-01 00:00:00+00' AS ps, {AS_OF} AS pe),
        ev AS (SELECT ch.customer_id, ch.churned_at::TIMESTAMPTZ AS t FROM churn ch CROSS JOIN w
               WHERE ch.churned_at::TIMESTAMPTZ >= w.ps AND ch.churned_at::TIMESTAMPTZ < w.pe AND (ch.kind IS NULL OR ch.kind = 'full')),
        start_c AS (SELECT customer_id FROM revenue WHERE month = DATE '2025-12-01' GROUP BY 1 HAVING SUM(mrr) > 0),
        ret AS (SELECT s.customer_id FROM start_c s ANTI JOIN ev ON ev.customer_id = s.customer_id)
        SELECT ROW_NUMBER() OVER () AS wid, * FROM (
          SELECT 'churned' AS side, customer_id, t - INTERVAL 90 DAY AS f, t FROM ev
          UNION ALL SELECT 'retained', r.customer_id, w.pe - INTERVAL 90 DAY, w.pe FROM ret r CROSS JOIN w)""")
    reach_tally(con, "cw")
    return con.execute(f"""
        WITH w AS (SELECT TIMESTAMPTZ '2026-01-01 00:00:00+00' AS ps, {AS_OF} AS pe),
        rev AS (SELECT customer_id, date_trunc('month', month)::DATE AS m, SUM(mrr) AS mrr FROM revenue
                WHERE customer_id IS NOT NULL AND mrr IS NOT NULL GROUP BY 1, 2),
        -- Movements run over the calendar's months up to the last month with revenue data.
        months AS (SELECT ms::DATE AS m FROM mon WHERE ms::DATE <= (SELECT MAX(m) FROM rev)),
        grid AS (SELECT c.customer_id, months.m, COALESCE(r.mrr, 0) AS cur
                 FROM (SELECT DISTINCT customer_id FROM rev) c CROSS JOIN months LEFT JOIN rev r ON r.customer_id = c.customer_id AND r.m = months.m),
        seq AS (SELECT *, COALESCE(LAG(cur) OVER (PARTITION BY customer_id ORDER BY m), 0) AS prev,
                       COALESCE(MAX(cur > 0) OVER (PARTITION BY customer_id ORDER BY m ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), false) AS ever
                FROM grid),
        mv AS (SELECT customer_id, m, cur, round((cur - prev) * 100) / 100 AS amount,
                      CASE WHEN cur > 0 AND prev = 0 THEN CASE WHEN ever THEN 'reactivation' ELSE 'new' END
                           WHEN cur = 0 AND prev > 0 THEN 'churn' WHEN cur > prev THEN 'expansion'
                           WHEN cur < prev THEN 'contraction' ELSE 'flat' END AS kind
               FROM seq WHERE cur > 0 OR prev > 0),
        start_c AS (SELECT customer_id, cur AS mrr FROM mv WHERE m = DATE '2025-12-01' AND cur > 0),
        pm AS (SELECT * FROM mv WHERE m >= DATE '2026-01-01' AND m <= DATE '2026-12-01'),
        base AS (SELECT count(*) AS sc, SUM(mrr) AS smrr FROM start_c),
        lost AS (SELECT count(DISTINCT pm.customer_id) AS logos FROM pm JOIN start_c USING (customer_id) WHERE pm.kind = 'churn'),
        moves AS (SELECT SUM(CASE WHEN kind = 'churn' THEN -amount ELSE 0 END) AS churn,
                         SUM(CASE WHEN kind = 'contraction' THEN -amount ELSE 0 END) AS contraction,
                         SUM(CASE WHEN kind = 'expansion' THEN amount ELSE 0 END) AS expansion,
                         SUM(CASE WHEN kind = 'reactivation' THEN amount ELSE 0 END) AS reactivation FROM pm),
        by_reason AS (SELECT COALESCE(ch.reason, 'unknown') AS reason, count(*) FILTER (ch.kind IS DISTINCT FROM 'downgrade') AS logos_lost,
                             count(*) FILTER (ch.kind = 'downgrade') AS downgrades, SUM(ch.mrr_lost) AS mrr_lost
                      FROM churn ch CROSS JOIN w WHERE ch.churned_at::TIMESTAMPTZ >= w.ps AND ch.churned_at::TIMESTAMPTZ < w.pe GROUP BY 1),
        x AS (SELECT cw.side, cw.customer_id, SUM(COALESCE(t.incidents, 0)) AS n, SUM(COALESCE(t.downtime, 0)) AS d
              FROM cw LEFT JOIN wtally t USING (wid) GROUP BY 1, 2),
        cx_ AS (SELECT AVG(n) AS n, AVG(d) AS d FROM x WHERE side = 'churned'),
        rx_ AS (SELECT AVG(n) AS n, AVG(d) AS d FROM x WHERE side = 'retained')
        SELECT r.reason, r.logos_lost, r.downgrades, round(r.mrr_lost, 2), round(100.0 * r.mrr_lost / SUM(r.mrr_lost) OVER (), 2),
               b.sc, round(b.smrr, 2), l.logos, round(100.0 * l.logos / b.sc, 2),
               round(100.0 * (m.churn + m.contraction) / b.smrr, 2),
               round(100.0 * (m.churn + m.contraction - m.expansion - m.reactivation) / b.smrr, 2),
               round(cx_.n, 2), round(rx_.n, 2), round(cx_.d, 1), round(rx_.d, 1)
        FROM by_reason r CROSS JOIN base b CROSS JOIN lost l CROSS JOIN moves m CROSS JOIN cx_ CROSS JOIN rx_
        ORDER BY r.mrr_lost DESC, r.reason""").fetchall()


def top_customers(con, n=10):
    """The n active customers with the largest ARR, over 2026-Q3: availability, incidents that
    reached them, downtime, open incidents, SLA breaches and credits (periods overlapping the
    quarter), changes to the assets they depend on, and the churn-risk rule."""
    q = "TIMESTAMPTZ '2026-07-01 00:00:00+00'", "TIMESTAMPTZ '2026-10-01 00:00:00+00'"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE chosen AS
        SELECT ROW_NUMBER() OVER (ORDER BY c.arr DESC, c.customer_id) AS rank, c.customer_id, c.arr, s.since, s.until
        FROM customers c JOIN span s USING (customer_id) WHERE NOT s.churned ORDER BY rank LIMIT {n}""")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE tw AS
        SELECT rank AS wid, customer_id, GREATEST({q[0]}, since) AS f, LEAST({q[1]}, until) AS t FROM chosen""")
    direct_downtime(con, "tw", out="tdown")
    con.execute(f"CREATE OR REPLACE TEMP TABLE tq AS SELECT rank AS wid, customer_id, {q[0]} AS f, {q[1]} AS t FROM chosen")
    reach_tally(con, "tq")
    sla_periods(con, "2026-07-01", "2026-10-01", customers="chosen", downtime=direct_downtime)
    return con.execute(f"""
        WITH av AS (SELECT tw.wid, 100.0 * (1 - d.down / ((epoch(tw.t) - epoch(tw.f)) / 60.0)) AS availability, d.down
                    FROM tw JOIN tdown d USING (wid) WHERE tw.t > tw.f),
        open_b AS (SELECT c.rank, count(*) AS n FROM chosen c JOIN cx x USING (customer_id)
                   JOIN inc i ON i.asset_id = x.asset_id AND len(i.customer_ids) = 0
                   WHERE i.impact <> 'none' AND i.is_open
                   GROUP BY 1),
        open_n AS (SELECT c.rank, count(*) AS n FROM chosen c JOIN named n USING (customer_id) JOIN inc i USING (incident_id)
                   WHERE i.impact <> 'none' AND i.is_open
                   GROUP BY 1),
        sla AS (SELECT customer_id, MIN(CASE WHEN metric = 'availability' THEN target END) AS target,
                       count(*) FILTER (breached) AS breaches, SUM(credit) AS credits FROM slarows GROUP BY 1),
        chg AS (SELECT c.rank, count(*) AS n FROM chosen c JOIN cx x USING (customer_id) JOIN assets a USING (asset_id)
                JOIN changes ch ON ch.asset_id = x.asset_id WHERE ch.started_at >= {q[0]} AND ch.started_at < {q[1]} GROUP BY 1),
        down AS (SELECT customer_id, MAX(churned_at) AS last_downgrade FROM churn
                 WHERE kind = 'downgrade' AND churned_at >= DATE '2026-07-01' - INTERVAL 90 DAY GROUP BY 1),
        rows AS (SELECT c.rank, c.customer_id, c.arr, av.availability, s.target, COALESCE(s.breaches, 0) AS breaches,
                        COALESCE(s.credits, 0) AS credits, t.incidents, t.sev12, COALESCE(av.down, 0) AS down,
                        COALESCE(ob.n, 0) + COALESCE(onn.n, 0) AS open, COALESCE(g.n, 0) AS changes, d.last_downgrade
                 FROM chosen c JOIN wtally t ON t.wid = c.rank LEFT JOIN av ON av.wid = c.rank LEFT JOIN sla s USING (customer_id)
                 LEFT JOIN open_b ob USING (rank) LEFT JOIN open_n onn USING (rank) LEFT JOIN chg g USING (rank)
                 LEFT JOIN down d USING (customer_id))
        SELECT rank, customer_id, round(arr, 2), round(availability, 3), target, incidents, sev12, round(down, 1), open,
               breaches, round(credits, 2), changes,
               CASE WHEN breaches > 0 OR last_downgrade IS NOT NULL THEN 'high' WHEN sev12 > 0 OR open > 0 THEN 'watch' ELSE 'low' END
        FROM rows ORDER BY rank""").fetchall()


def invest_next_dollar(con):
    """Per asset over 2026 (to as-of): merged downtime, customers and ARR its incidents with
    downtime reached, downtime cost, SLA credits split by share of incident downtime,
    reliability churn ARR, cost of unreliability, run cost and their ratio."""
    ps, pe = "TIMESTAMPTZ '2026-01-01 00:00:00+00'", AS_OF
    sla_periods(con, "2026-01-01", "2026-11-02")
    return con.execute(f"""
        WITH hits AS (SELECT i.incident_id, i.asset_id, len(i.customer_ids) > 0 AS names, d.downtime
                      FROM inc i JOIN inc_down d USING (incident_id)
                      WHERE i.impact <> 'none' AND d.downtime > 0 AND i.started_at >= {ps} AND i.started_at < {pe} AND i.asset_id IS NOT NULL),
        expo AS (SELECT x.asset_id, count(*) AS n, SUM(COALESCE(c.arr, 0)) AS arr FROM cx x JOIN customers c USING (customer_id) GROUP BY 1),
        nreach AS (SELECT n.incident_id, SUM(COALESCE(c.arr, 0)) AS arr FROM named n JOIN customers c USING (customer_id) GROUP BY 1),
        dcost AS (SELECT h.asset_id, SUM(h.downtime * CASE WHEN h.names THEN COALESCE(r.arr, 0) ELSE COALESCE(e.arr, 0) END / 525600.0) AS cost
                  FROM hits h LEFT JOIN nreach r ON r.incident_id = h.incident_id LEFT JOIN expo e ON e.asset_id = h.asset_id GROUP BY 1),
        broad AS (SELECT DISTINCT asset_id FROM hits WHERE NOT names),
        nm AS (SELECT DISTINCT h.asset_id, n.customer_id, x.customer_id IS NOT NULL AS exposed
               FROM hits h JOIN named n ON n.incident_id = h.incident_id
               LEFT JOIN cx x ON x.customer_id = n.customer_id AND x.asset_id = h.asset_id WHERE h.names),
        arr_hit AS (SELECT asset_id, SUM(k) AS customers, SUM(a) AS arr FROM (
                      SELECT b.asset_id, e.n AS k, e.arr AS a FROM broad b JOIN expo e ON e.asset_id = b.asset_id
                      UNION ALL
                      SELECT n.asset_id, 1, COALESCE(c.arr, 0) FROM nm n JOIN customers c ON c.customer_id = n.customer_id
                      LEFT JOIN broad b ON b.asset_id = n.asset_id WHERE NOT (n.exposed AND b.asset_id IS NOT NULL)) GROUP BY 1),
        {ASSET_SPANS},
        down AS (SELECT k AS asset_id, SUM(epoch(LEAST(e, {pe})) - epoch(GREATEST(s, {ps}))) / 60.0 AS m
                 FROM asset_spans WHERE e > {ps} AND s < {pe} GROUP BY 1),
        -- Credits of breached availability periods, split by the customer's incident downtime
        -- per asset over the whole SLA period.
        cr AS (SELECT sla_id, customer_id, ps, pe, credit FROM slarows WHERE metric = 'availability' AND credit > 0),
        cra AS (SELECT cr.*, x.asset_id FROM cr JOIN cx x USING (customer_id)),
        {window_totals("crb", "cra", "ps", "pe")},
        crn AS (SELECT cr.sla_id, cr.ps, cr.credit, i.asset_id, SUM(d.downtime) AS down
                FROM cr JOIN named n ON n.customer_id = cr.customer_id JOIN inc i ON i.incident_id = n.incident_id
                JOIN inc_down d ON d.incident_id = n.incident_id
                WHERE i.impact <> 'none' AND i.started_at >= cr.ps AND i.started_at < cr.pe GROUP BY 1, 2, 3, 4),
        by_asset AS (SELECT sla_id, ps, credit, asset_id, SUM(down) AS d FROM (
                       SELECT sla_id, ps, credit, asset_id, down FROM crb UNION ALL SELECT * FROM crn) GROUP BY 1, 2, 3, 4),
        tot AS (SELECT sla_id, ps, SUM(d) AS total FROM by_asset GROUP BY 1, 2),
        credits AS (SELECT b.asset_id, SUM(b.credit * b.d / t.total) AS c FROM by_asset b JOIN tot t USING (sla_id, ps)
                    WHERE t.total > 0 AND b.d > 0 AND b.asset_id IS NOT NULL GROUP BY 1),
        -- Reliability churn in the period: every asset whose incidents with downtime reached the
        -- customer in the 90 days before.
        rel AS (SELECT customer_id, churned_at, mrr_lost, churned_at::TIMESTAMPTZ - INTERVAL 90 DAY AS f, churned_at::TIMESTAMPTZ AS t
                FROM churn WHERE reason = 'reliability' AND churned_at::TIMESTAMPTZ >= {ps} AND churned_at::TIMESTAMPTZ < {pe}),
        rela AS (SELECT r.*, x.asset_id FROM rel r JOIN cx x USING (customer_id)),
        {window_totals("relb", "rela")},
        reln AS (SELECT r.customer_id, r.churned_at, r.mrr_lost, i.asset_id
                 FROM rel r JOIN named n ON n.customer_id = r.customer_id JOIN inc i ON i.incident_id = n.incident_id
                 JOIN inc_down d ON d.incident_id = n.incident_id
                 WHERE i.impact <> 'none' AND d.downtime > 0 AND i.asset_id IS NOT NULL AND i.started_at >= r.f AND i.started_at < r.t),
        churn_cost AS (SELECT asset_id, 12.0 * SUM(mrr_lost) AS c FROM (
                         SELECT customer_id, churned_at, mrr_lost, asset_id FROM relb WHERE dn > 0 UNION SELECT * FROM reln) GROUP BY 1),
        scored AS (SELECT a.asset_id, COALESCE(dn.m, 0) AS down, COALESCE(ah.customers, 0) AS customers, COALESCE(ah.arr, 0) AS arr,
                          COALESCE(dc.cost, 0) AS dcost, COALESCE(c.c, 0) AS credits, COALESCE(cc.c, 0) AS churn,
                          COALESCE(a.monthly_cost, 0) * 12 AS run
                   FROM assets a LEFT JOIN down dn USING (asset_id) LEFT JOIN arr_hit ah USING (asset_id) LEFT JOIN dcost dc USING (asset_id)
                   LEFT JOIN credits c USING (asset_id) LEFT JOIN churn_cost cc USING (asset_id)),
        totalled AS (SELECT *, dcost + credits + churn AS total FROM scored)
        SELECT asset_id, ROW_NUMBER() OVER (ORDER BY round(total, 2) DESC, round(down, 1) DESC, asset_id), round(down, 1), customers, round(arr, 2),
               round(dcost, 2), round(credits, 2), round(churn, 2), round(total, 2), round(run, 2),
               round(CASE WHEN run > 0 THEN total / run END, 3)
        FROM totalled ORDER BY 2""").fetchall()
