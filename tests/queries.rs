//! Integration tests of the metrics engine and the canned queries: every query on the sample
//! data, reproducibility, parameter errors, and the hand-built fixture whose answers are worked
//! out in `tests/fixtures/hand/EXPECTED.md`.

mod common;

use common::*;
use polars::prelude::*;
use std::io::Cursor;

const AS_OF: &str = "2026-04-01T00:00:00Z";

/// A context on the sample lake of `w`, as of 2026-11-01, with the repository's queries.
fn sample_context(w: &Work) -> opsintel::context::Context {
    opsintel::context::Context::resolve(
        Some(w.path("lake")),
        Some("2026-11-01"),
        None,
        Some(repo().join("queries")),
    )
    .unwrap()
}

/// `f` in a thread with the stack of the project's own threads: polars' planner recurses
/// deeply on the headline's SQL, and a debug build needs more than a test thread's 2 MiB (the
/// CLI's main thread has 8 MiB).
fn on_big_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size(64 << 20)
            .spawn_scoped(s, f)
            .unwrap()
            .join()
            .unwrap()
    })
}

fn hand() -> Work {
    let w = Work::new();
    let dir = repo().join("tests/fixtures/hand");
    w.ok(&["--lake", "lake", "ingest", "--dir", dir.to_str().unwrap()]);
    w
}

/// The output of `args` on the work dir's lake in zone `tz` as of `as_of`.
fn at(w: &Work, tz: &str, as_of: &str, args: &[&str]) -> String {
    let mut all = vec!["--lake", "lake", "--tz", tz, "--as-of", as_of];
    all.extend_from_slice(args);
    w.ok(&all)
}

/// Run a canned query with `--format csv` and parse the result.
fn query(w: &Work, as_of: &str, name: &str, params: &[&str]) -> DataFrame {
    let mut args = vec![
        "--lake", "lake", "--as-of", as_of, "query", "run", name, "--format", "csv",
    ];
    for p in params {
        args.push("--param");
        args.push(p);
    }
    let out = w.ok(&args);
    CsvReadOptions::default()
        .with_infer_schema_length(Some(0))
        .into_reader_with_file_handle(Cursor::new(out.into_bytes()))
        .finish()
        .unwrap()
}

/// The text of `col` in the row where `key_col == key`.
fn get(df: &DataFrame, key_col: &str, key: &str, col: &str) -> String {
    let keys = df.column(key_col).unwrap().str().unwrap().clone();
    let i = keys
        .iter()
        .position(|k| k == Some(key))
        .unwrap_or_else(|| panic!("no row {key_col}={key} in\n{df}"));
    df.column(col)
        .unwrap()
        .str()
        .unwrap()
        .get(i)
        .unwrap_or("")
        .to_string()
}

fn num(df: &DataFrame, key_col: &str, key: &str, col: &str) -> f64 {
    let v = get(df, key_col, key, col);
    v.parse()
        .unwrap_or_else(|_| panic!("{col} of {key} is {v:?}"))
}

fn column(df: &DataFrame, col: &str) -> Vec<String> {
    df.column(col)
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|v| v.unwrap_or("").to_string())
        .collect()
}

const QUERIES: [&str; 10] = [
    "sla-attainment",
    "since-last-downtime",
    "invest-next-dollar",
    "churn-causes",
    "change-outcomes",
    "troublesome-components",
    "blast-radius",
    "top-customers",
    "incident-trends",
    "trailing-twelve-months",
];

#[test]
fn every_query_file_runs_on_the_sample_data_with_its_declared_columns() {
    let w = Work::with_sample();
    // The ten executive questions are among the files under queries/; every file runs, and
    // `query list` shows it.
    let mut files: Vec<String> = std::fs::read_dir(repo().join("queries"))
        .unwrap()
        .filter_map(|e| e.ok()?.path().file_name()?.to_str().map(str::to_string))
        .filter(|n| n.ends_with(".sql"))
        .map(|n| n.trim_end_matches(".sql").to_string())
        .collect();
    files.sort();
    for q in QUERIES {
        assert!(files.contains(&q.to_string()), "{q} missing from queries/");
    }
    let list = w.ok(&["query", "list"]);
    for q in &files {
        let q = q.as_str();
        assert!(list.contains(q), "{list}");
        let params: &[&str] = match q {
            "blast-radius" => &["asset=pg-main"],
            "incident-trends" | "trailing-twelve-months" => &[],
            "downtime-by-month" => &["months=6"],
            "since-last-downtime" | "invest-next-dollar" | "churn-causes" => &["period=2026"],
            c if c.starts_with("customer-") => &["customer=CUST-0036", "period=2026-Q3"],
            _ => &["period=2026-Q3"],
        };
        // The engine itself refuses a result whose columns differ from the metadata.
        let df = query(&w, "2026-11-01", q, params);
        assert!(df.height() > 0, "{q} returned no rows");
        assert!(df.width() > 3, "{q}");
    }
}

#[test]
fn the_same_lake_and_as_of_give_byte_identical_csv() {
    let w = Work::with_sample();
    for q in [
        "sla-attainment",
        "invest-next-dollar",
        "top-customers",
        "trailing-twelve-months",
    ] {
        let args = [
            "--lake",
            "lake",
            "--as-of",
            "2026-11-01",
            "query",
            "run",
            q,
            "--format",
            "csv",
        ];
        assert_eq!(w.ok(&args), w.ok(&args), "{q}");
    }
    // JSON and Parquet outputs work too.
    let json = w.ok(&[
        "--lake",
        "lake",
        "--as-of",
        "2026-11-01",
        "query",
        "run",
        "change-outcomes",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v[0]["grouping"], "total");
    w.ok(&[
        "--lake",
        "lake",
        "--as-of",
        "2026-11-01",
        "query",
        "run",
        "change-outcomes",
        "--format",
        "parquet",
        "--out",
        "co.parquet",
    ]);
    let df = ParquetReader::new(std::fs::File::open(w.path("co.parquet")).unwrap())
        .finish()
        .unwrap();
    assert!(df.height() > 1);
}

#[test]
fn parameters_are_typed_and_validated() {
    let w = hand();
    let bad: [(&[&str], &str); 6] = [
        (
            &["query", "run", "sla-attainment", "--param", "period=March"],
            "period `March` is not a month",
        ),
        (
            &["query", "run", "sla-attainment", "--param", "perod=2026-03"],
            "has no parameter `perod` (did you mean `period`?)",
        ),
        (
            &["query", "run", "blast-radius"],
            "parameter `asset` of `blast-radius`: required",
        ),
        (
            &["query", "run", "blast-radius", "--param", "asset=nope"],
            "no asset `nope` in the lake",
        ),
        (
            &["query", "run", "top-customers", "--param", "n=ten"],
            "`ten` is not a whole number",
        ),
        (
            &[
                "query",
                "run",
                "sla-attainment",
                "--param",
                "policy=lenient",
            ],
            "unknown availability policy `lenient`",
        ),
    ];
    for (args, expected) in bad {
        let mut full = vec!["--lake", "lake"];
        full.extend_from_slice(args);
        let (code, err) = w.fail(&full);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains(expected), "expected {expected:?} in {err}");
    }
    // A value that looks like SQL is only ever a value.
    let (_, err) = w.fail(&[
        "--lake",
        "lake",
        "query",
        "run",
        "blast-radius",
        "--param",
        "asset=db' OR '1'='1",
    ]);
    assert!(
        err.contains("no asset `db' OR '1'='1` in the lake"),
        "{err}"
    );
    let (_, err) = w.fail(&["--lake", "lake", "query", "run", "sla-atainment"]);
    assert!(err.contains("did you mean `sla-attainment`"), "{err}");
}

#[test]
fn sla_attainment_matches_the_hand_computation() {
    let w = hand();
    let df = query(&w, AS_OF, "sla-attainment", &["period=2026-03"]);
    // S-A: 150 min down of 44,640 -> 99.664 %, breached, 10 % of 10,000 = 1,000.
    assert_eq!(num(&df, "sla_id", "S-A", "attainment_pct"), 99.664);
    assert_eq!(num(&df, "sla_id", "S-A", "downtime_minutes"), 150.0);
    assert_eq!(
        num(&df, "sla_id", "S-A", "error_budget_remaining_minutes"),
        -105.4
    );
    assert_eq!(get(&df, "sla_id", "S-A", "breached"), "true");
    assert_eq!(num(&df, "sla_id", "S-A", "credit_pct"), 10.0);
    assert_eq!(num(&df, "sla_id", "S-A", "credit_amount"), 1000.0);
    // S-B: 120 min -> 99.731 %, met, budget 223.2 - 120 = 103.2.
    assert_eq!(num(&df, "sla_id", "S-B", "attainment_pct"), 99.731);
    assert_eq!(get(&df, "sla_id", "S-B", "breached"), "false");
    assert_eq!(
        num(&df, "sla_id", "S-B", "error_budget_remaining_minutes"),
        103.2
    );
    // S-D: measured until D churned on the 20th: 150 of 27,360 min -> 99.452 %, met.
    assert_eq!(num(&df, "sla_id", "S-D", "attainment_pct"), 99.452);
    // S-A-TTA: 1 of 3 sev1/sev2 incidents acknowledged within 15 min.
    assert_eq!(num(&df, "sla_id", "S-A-TTA", "incidents_in_scope"), 3.0);
    assert_eq!(num(&df, "sla_id", "S-A-TTA", "incidents_breached"), 2.0);
    assert_eq!(num(&df, "sla_id", "S-A-TTA", "attainment_pct"), 33.333);
    assert_eq!(num(&df, "sla_id", "S-A", "total_credit_liability"), 1000.0);
    assert_eq!(num(&df, "sla_id", "S-A", "slas_in_period"), 4.0);
    assert_eq!(num(&df, "sla_id", "S-A", "slas_breached"), 2.0);
}

#[test]
fn availability_policies_weigh_partial_outages_as_documented() {
    let w = hand();
    // A: I1 full 10:00-11:00, I2 partial 10:30-11:30, I3 full 60 min.
    // strict 90 + 60 = 150; weighted 60 + 30 x 0.3 + 60 = 129; major_only 60 + 60 = 120.
    for (policy, minutes) in [
        ("strict", 150.0),
        ("weighted", 129.0),
        ("major_only", 120.0),
    ] {
        let df = query(
            &w,
            AS_OF,
            "sla-attainment",
            &["period=2026-03", &format!("policy={policy}")],
        );
        assert_eq!(
            num(&df, "sla_id", "S-A", "downtime_minutes"),
            minutes,
            "{policy}"
        );
    }
}

#[test]
fn incident_timings_match_the_hand_computation() {
    let w = hand();
    let df = query(&w, AS_OF, "incident-trends", &["months=3"]);
    assert_eq!(column(&df, "month"), vec!["2026-01", "2026-02", "2026-03"]);
    // March: MTTA 10, 20, 30, 5, 20; MTTR 120, 75, 150, 60, 60.
    assert_eq!(num(&df, "month", "2026-03", "incidents"), 5.0);
    assert_eq!(num(&df, "month", "2026-03", "mtta_mean_min"), 17.0);
    assert_eq!(num(&df, "month", "2026-03", "mtta_median_min"), 20.0);
    assert_eq!(num(&df, "month", "2026-03", "mtta_p90_min"), 26.0);
    assert_eq!(num(&df, "month", "2026-03", "mttr_mean_min"), 93.0);
    assert_eq!(num(&df, "month", "2026-03", "mttr_median_min"), 75.0);
    assert_eq!(num(&df, "month", "2026-03", "mttr_p90_min"), 138.0);
    assert_eq!(num(&df, "month", "2026-03", "first_notice_mean_min"), 20.0);
    assert_eq!(num(&df, "month", "2026-01", "incidents"), 0.0);
    // Three monthly points are too few for the trend test: flat.
    assert_eq!(get(&df, "month", "2026-03", "mttr_trend"), "flat");
}

#[test]
fn the_calendar_starts_at_the_earliest_data_whether_or_not_the_manifest_records_it() {
    let w = hand();
    let months = |w: &Work| {
        w.ok(&[
            "--lake",
            "lake",
            "--as-of",
            AS_OF,
            "sql",
            "SELECT month FROM months ORDER BY month",
            "--format",
            "csv",
        ])
    };
    // Revenue starts in January 2026 (incidents and changes in February, churn in March).
    let from_manifest = months(&w);
    assert!(
        from_manifest.starts_with("month\n2026-01\n2026-02\n"),
        "{from_manifest}"
    );
    // A manifest written before ingest recorded each dataset's time range: read from the data.
    let mut m = w.manifest();
    for st in m["datasets"].as_object_mut().unwrap().values_mut() {
        assert!(st.get("time_min").is_some(), "{st}");
        st["time_min"] = serde_json::Value::Null;
    }
    w.write(
        "lake/_opsintel/manifest.json",
        serde_json::to_vec_pretty(&m).unwrap(),
    );
    assert_eq!(months(&w), from_manifest);
}

#[test]
fn change_failure_rate_matches_the_hand_computation() {
    let w = hand();
    let df = query(&w, AS_OF, "change-outcomes", &["period=2026-03"]);
    // 6 changes; completed CH1, CH3, CH4, CH6; failures CH3, CH4 and CH6 (caused I5).
    assert_eq!(num(&df, "key", "all", "changes"), 6.0);
    assert_eq!(num(&df, "key", "all", "completed"), 4.0);
    assert_eq!(num(&df, "key", "all", "succeeded_but_caused_incident"), 1.0);
    assert_eq!(num(&df, "key", "all", "incidents_caused"), 2.0);
    assert_eq!(num(&df, "key", "all", "change_failure_rate_pct"), 75.0);
    assert_eq!(num(&df, "key", "db", "change_failure_rate_pct"), 100.0);
    assert_eq!(num(&df, "key", "api", "change_failure_rate_pct"), 0.0);
    // No change to cdn completed: no rate rather than 0 %.
    let feb = query(&w, AS_OF, "change-outcomes", &["period=2026-02"]);
    assert_eq!(num(&feb, "key", "all", "change_failure_rate_pct"), 100.0);
    let q1 = query(&w, AS_OF, "change-outcomes", &["period=2026-Q1"]);
    assert_eq!(get(&q1, "key", "web", "change_failure_rate_pct"), "100.0");
}

#[test]
fn churn_rates_match_the_hand_computation_and_reconcile() {
    let w = hand();
    let df = query(&w, AS_OF, "churn-causes", &["period=2026-03"]);
    assert_eq!(column(&df, "reason"), vec!["price", "reliability"]);
    assert_eq!(num(&df, "reason", "price", "downgrades"), 1.0);
    assert_eq!(num(&df, "reason", "reliability", "logos_lost"), 1.0);
    assert_eq!(num(&df, "reason", "price", "start_customers"), 4.0);
    assert_eq!(num(&df, "reason", "price", "start_mrr"), 18000.0);
    assert_eq!(num(&df, "reason", "price", "logo_churn_rate_pct"), 25.0);
    assert_eq!(num(&df, "reason", "price", "gross_mrr_churn_pct"), 11.11);
    assert_eq!(num(&df, "reason", "price", "net_mrr_churn_pct"), 8.33);
    assert_eq!(num(&df, "reason", "price", "churned_incidents_90d"), 4.0);
    assert_eq!(num(&df, "reason", "price", "retained_incidents_90d"), 2.67);
    assert_eq!(
        num(&df, "reason", "price", "churned_downtime_min_90d"),
        200.0
    );
    assert_eq!(
        num(&df, "reason", "price", "retained_downtime_min_90d"),
        116.7
    );
    // Reconciliation: the MRR lost by reason (churn dataset) adds up to the churn + contraction
    // of the revenue movements behind the gross rate: 2,000 = 11.11 % of 18,000.
    let mrr_lost: f64 = column(&df, "mrr_lost")
        .iter()
        .map(|v| v.parse::<f64>().unwrap())
        .sum();
    assert_eq!(mrr_lost, 2000.0);
    assert_eq!(
        (mrr_lost / 18000.0 * 10000.0).round() / 100.0,
        num(&df, "reason", "price", "gross_mrr_churn_pct")
    );
}

#[test]
fn churned_mrr_reconciles_between_the_churn_and_revenue_datasets_on_the_sample() {
    let w = Work::with_sample();
    let out = w.ok(&[
        "--lake", "lake", "--as-of", "2026-11-01", "sql", "--format", "csv",
        "WITH a AS (SELECT STRFTIME(churned_at, '%Y-%m') AS month, SUM(mrr_lost) AS lost FROM churn GROUP BY 1), \
         b AS (SELECT month, SUM(CASE WHEN kind IN ('churn', 'contraction') THEN 0.0 - amount ELSE 0.0 END) AS moved FROM mrr_movements GROUP BY month) \
         SELECT COUNT(*) AS months, SUM(CASE WHEN ABS(a.lost - b.moved) > 0.005 THEN 1 ELSE 0 END) AS mismatched FROM a JOIN b ON a.month = b.month",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    let vals: Vec<&str> = lines[1].split(',').collect();
    assert!(vals[0].parse::<u32>().unwrap() > 20, "{out}");
    assert_eq!(vals[1], "0", "{out}");
}

#[test]
fn monthly_sums_reconcile_with_the_rows_they_sum_on_the_sample() {
    // mrr_months (one walk) against mrr_movements summed and self-joined in SQL; change_months
    // (streaming) against change_outcomes counted in SQL. Same months, figures equal to float
    // rounding.
    let w = Work::with_sample();
    let sql = |q: &str| {
        let out = w.ok(&[
            "--lake",
            "lake",
            "--as-of",
            "2026-11-01",
            "sql",
            "--format",
            "csv",
            q,
        ]);
        let lines: Vec<String> = out.lines().map(str::to_string).collect();
        assert_eq!(lines.len(), 2, "{out}");
        lines[1].split(',').map(str::to_string).collect::<Vec<_>>()
    };
    let mrr = sql("WITH a AS (SELECT month, SUM(mrr) AS mrr, \
           SUM(CASE WHEN kind IN ('churn', 'contraction') THEN 0.0 - amount ELSE 0.0 END) AS churned FROM mrr_movements GROUP BY month), \
         n AS (SELECT m.month, 100.0 * SUM(COALESCE(now.mrr, 0.0)) / SUM(then.mrr) AS nrr FROM months m \
           JOIN mrr_movements then ON then.month = m.year_ago_month AND then.mrr > 0 \
           LEFT JOIN mrr_movements now ON now.month = m.month AND now.customer_id = then.customer_id GROUP BY m.month) \
         SELECT COUNT(*) AS months, \
           SUM(CASE WHEN a.month IS NULL OR ABS(x.mrr - a.mrr) > 0.000001 OR ABS(x.churned_mrr - a.churned) > 0.000001 THEN 1 ELSE 0 END) AS off, \
           SUM(CASE WHEN x.nrr_pct IS NOT NULL THEN 1 ELSE 0 END) AS with_nrr, \
           SUM(CASE WHEN (x.nrr_pct IS NULL) <> (n.nrr IS NULL) OR ABS(x.nrr_pct - n.nrr) > 0.000001 THEN 1 ELSE 0 END) AS nrr_off \
         FROM mrr_months x LEFT JOIN a ON a.month = x.month LEFT JOIN n ON n.month = x.month");
    assert!(mrr[0].parse::<u32>().unwrap() > 20, "{mrr:?}");
    assert_eq!(mrr[1], "0", "{mrr:?}");
    assert!(mrr[2].parse::<u32>().unwrap() > 6, "{mrr:?}");
    assert_eq!(mrr[3], "0", "{mrr:?}");
    let chg = sql(
        "WITH c AS (SELECT month, COUNT(*) AS changes, SUM(CASE WHEN completed THEN 1 ELSE 0 END) AS completed, \
           SUM(CASE WHEN failed THEN 1 ELSE 0 END) AS failed, SUM(CASE WHEN counts_as_failure THEN 1 ELSE 0 END) AS failures, \
           SUM(CASE WHEN outcome = 'succeeded' AND incidents_caused > 0 THEN 1 ELSE 0 END) AS caused \
           FROM change_outcomes GROUP BY month) \
         SELECT COUNT(*) AS months, SUM(x.changes) AS changes, \
           SUM(CASE WHEN c.month IS NULL OR x.changes <> c.changes OR x.completed <> c.completed OR x.failed <> c.failed \
             OR x.failures <> c.failures OR x.succeeded_but_caused_incident <> c.caused THEN 1 ELSE 0 END) AS off, \
           MAX(k.n) AS months_rows \
         FROM change_months x LEFT JOIN c ON c.month = x.month CROSS JOIN (SELECT COUNT(*) AS n FROM c) k",
    );
    assert_eq!(chg[0], chg[3], "{chg:?}");
    assert!(chg[1].parse::<u32>().unwrap() > 100, "{chg:?}");
    assert_eq!(chg[2], "0", "{chg:?}");
    // change_assets: the same sums per asset, over the same changes.
    let by_asset = sql(
        "WITH c AS (SELECT asset_id, COUNT(*) AS changes, SUM(CASE WHEN completed THEN 1 ELSE 0 END) AS completed, \
           SUM(CASE WHEN counts_as_failure THEN 1 ELSE 0 END) AS failures FROM change_outcomes GROUP BY asset_id) \
         SELECT COUNT(*) AS assets, SUM(x.changes) AS changes, \
           SUM(CASE WHEN c.asset_id IS NULL OR x.changes <> c.changes OR x.completed <> c.completed \
             OR x.failures <> c.failures THEN 1 ELSE 0 END) AS off, MAX(k.n) AS asset_rows \
         FROM change_assets x LEFT JOIN c ON c.asset_id = x.asset_id CROSS JOIN (SELECT COUNT(*) AS n FROM c) k",
    );
    assert_eq!(by_asset[0], by_asset[3], "{by_asset:?}");
    assert_eq!(by_asset[1], chg[1], "{by_asset:?}");
    assert_eq!(by_asset[2], "0", "{by_asset:?}");
    // change_cells (what change-outcomes reads): the same changes per (month, asset, outcome),
    // with those that caused incidents and how many.
    let cells = sql(
        "WITH c AS (SELECT month, asset_id, outcome, COUNT(*) AS changes,            SUM(CASE WHEN completed THEN 1 ELSE 0 END) AS completed, SUM(CASE WHEN failed THEN 1 ELSE 0 END) AS failed,            SUM(CASE WHEN incidents_caused > 0 THEN 1 ELSE 0 END) AS with_incident, SUM(incidents_caused) AS incidents_caused,            SUM(CASE WHEN counts_as_failure THEN 1 ELSE 0 END) AS failures            FROM change_outcomes GROUP BY month, asset_id, outcome)          SELECT COUNT(*) AS cells, SUM(x.changes) AS changes,            SUM(CASE WHEN c.month IS NULL OR x.changes <> c.changes OR x.completed <> c.completed OR x.failed <> c.failed              OR x.with_incident <> c.with_incident OR x.incidents_caused <> c.incidents_caused              OR x.failures <> c.failures THEN 1 ELSE 0 END) AS off,            MAX(k.n) AS cell_rows, SUM(x.with_incident) AS with_incident, SUM(x.incidents_caused) AS caused          FROM change_cells x LEFT JOIN c ON c.month = x.month AND c.asset_id = x.asset_id AND c.outcome = x.outcome            CROSS JOIN (SELECT COUNT(*) AS n FROM c) k",
    );
    assert_eq!(cells[0], cells[3], "{cells:?}");
    assert_eq!(cells[1], chg[1], "{cells:?}");
    assert_eq!(cells[2], "0", "{cells:?}");
    // The sample's changes caused incidents, some more than one: the join is exercised.
    let (with, caused) = (
        cells[4].parse::<u32>().unwrap(),
        cells[5].parse::<u32>().unwrap(),
    );
    assert!(with > 0 && caused >= with, "{cells:?}");
}

#[test]
fn credits_summed_per_asset_reconcile_with_the_credit_rows() {
    // sla_credit_by_asset (summed as computed, for invest-next-dollar) and sla_credit_assets
    // (one row per credited period and asset) are two computations of the same split.
    let w = Work::with_sample();
    let run = |table: &str, count: &str| {
        w.ok(&[
            "--lake", "lake", "--as-of", "2026-11-01", "sql", "--format", "csv",
            &format!("SELECT asset_id, STRFTIME(period_start, '%Y-%m') AS m, ROUND(SUM(credit_share), 6) AS credit, {count} AS n FROM {table} GROUP BY 1, 2 ORDER BY 1, 2"),
        ])
    };
    let rows = run("sla_credit_assets", "COUNT(*)");
    let sums = run("sla_credit_by_asset", "SUM(credited_periods)");
    assert!(rows.lines().count() > 10, "{rows}");
    assert_eq!(rows, sums);
}

#[test]
fn blast_radius_follows_the_dependency_graph_and_skips_churned_customers() {
    let w = hand();
    let df = query(&w, AS_OF, "blast-radius", &["asset=db"]);
    // web -> api -> db and batch -> db: A (web), B (batch), E (api); D churned; C uses cdn.
    assert_eq!(column(&df, "customer_id"), vec!["A", "B", "E"]);
    assert_eq!(num(&df, "customer_id", "A", "total_arr_at_risk"), 216000.0);
    assert_eq!(get(&df, "customer_id", "A", "uses_directly"), "false");
    assert_eq!(
        num(&df, "customer_id", "A", "asset_change_failure_rate_pct"),
        100.0
    );
    assert_eq!(
        num(&df, "customer_id", "A", "error_budget_remaining_minutes"),
        -105.4
    );
    // The asset's own changes only (change_assets holds just the asked asset): db's CH3
    // failed and CH4 was rolled back; api's CH1 succeeded and CH5 was cancelled (not completed).
    assert_eq!(num(&df, "customer_id", "A", "asset_changes_completed"), 2.0);
    let api = query(&w, AS_OF, "blast-radius", &["asset=api"]);
    assert_eq!(
        num(&api, "customer_id", "A", "asset_changes_completed"),
        1.0
    );
    assert_eq!(column(&api, "customer_id"), vec!["A", "E"]);
    assert_eq!(get(&api, "customer_id", "E", "uses_directly"), "true");
}

#[test]
fn asset_customers_lists_every_asset_s_reach_with_churned_customers_marked() {
    // Unscoped (ad-hoc SQL names no asset): every asset any exposure group holds. web -> api ->
    // db and batch -> db; A and D use web, B batch, C cdn, E api; D churned in full on 20 March.
    let w = hand();
    let csv = w.ok(&[
        "--lake", "lake", "--as-of", AS_OF, "sql", "--format", "csv",
        "SELECT asset_id, customer_id, direct, active FROM asset_customers ORDER BY asset_id, customer_id",
    ]);
    assert_eq!(
        csv.lines().collect::<Vec<_>>(),
        vec![
            "asset_id,customer_id,direct,active",
            "api,A,false,true",
            "api,D,false,false",
            "api,E,true,true",
            "batch,B,true,true",
            "cdn,C,true,true",
            "db,A,false,true",
            "db,B,false,true",
            "db,D,false,false",
            "db,E,false,true",
            "web,A,true,true",
            "web,D,true,false",
        ]
    );
}

#[test]
fn customer_summary_counts_the_changes_on_the_assets_each_customer_depends_on() {
    // March (EXPECTED.md, "Changes in March"), per customer's closure: A (web -> api -> db) has
    // CH1, CH3, CH4, CH5 and CH7, of which CH3 (failed) and CH4 (rolled back) count as
    // failures; B (batch -> db) CH3, CH4 and CH6 (succeeded but caused I5): 3 of 3; E (api ->
    // db) CH1, CH3, CH4, CH5: 2 of 4; C (cdn) none. February: A's CH2 caused I6: 1 of 1.
    let w = hand();
    for (customer, period, changes, failed) in [
        ("A", "2026-03", 5.0, 2.0),
        ("B", "2026-03", 3.0, 3.0),
        ("E", "2026-03", 4.0, 2.0),
        ("C", "2026-03", 0.0, 0.0),
        ("A", "2026-02", 1.0, 1.0),
    ] {
        let df = query(
            &w,
            AS_OF,
            "customer-summary",
            &[&format!("customer={customer}"), &format!("period={period}")],
        );
        let got = (
            num(&df, "customer_id", customer, "changes_on_their_assets"),
            num(&df, "customer_id", customer, "failed_changes"),
        );
        assert_eq!(got, (changes, failed), "{customer} {period}");
    }
}

#[test]
fn time_since_downtime_and_streaks_match_the_hand_computation() {
    let w = hand();
    let df = query(&w, AS_OF, "since-last-downtime", &["period=2026-03"]);
    // Last downtime: I4 ended 2026-03-20 12:30, 11 days 11.5 hours before 1 April.
    assert_eq!(
        get(&df, "asset_id", "all assets", "last_downtime_end"),
        "2026-03-20T12:30:00Z"
    );
    assert_eq!(num(&df, "asset_id", "all assets", "hours_since"), 275.5);
    assert_eq!(num(&df, "asset_id", "all assets", "days_since"), 11.48);
    assert_eq!(
        num(&df, "asset_id", "all assets", "downtime_spans_in_period"),
        3.0
    );
    assert_eq!(
        num(
            &df,
            "asset_id",
            "all assets",
            "longest_streak_days_in_period"
        ),
        11.48
    );
    // db: last down until 15 March 04:00; its longest March streak is from then to 1 April.
    assert_eq!(num(&df, "asset_id", "db", "days_since"), 16.83);
    assert_eq!(
        num(&df, "asset_id", "db", "longest_streak_days_in_period"),
        16.83
    );
    // web was down only in February: the whole of March is a streak.
    assert_eq!(
        num(&df, "asset_id", "web", "longest_streak_days_in_period"),
        31.0
    );
}

#[test]
fn cost_of_unreliability_matches_the_hand_computation() {
    let w = hand();
    let df = query(&w, AS_OF, "invest-next-dollar", &["period=2026-03"]);
    assert_eq!(column(&df, "asset_id")[..4], ["db", "api", "web", "cdn"]);
    assert_eq!(num(&df, "asset_id", "db", "downtime_cost"), 52.05);
    assert_eq!(num(&df, "asset_id", "db", "sla_credits"), 666.67);
    assert_eq!(num(&df, "asset_id", "db", "reliability_churn_arr"), 12000.0);
    assert_eq!(
        num(&df, "asset_id", "db", "cost_of_unreliability"),
        12718.72
    );
    assert_eq!(
        num(&df, "asset_id", "db", "unreliability_to_run_cost"),
        12.719
    );
    assert_eq!(
        num(&df, "asset_id", "api", "cost_of_unreliability"),
        12352.51
    );
    assert_eq!(num(&df, "asset_id", "cdn", "downtime_cost"), 1.37);
    // Credits split between components add up to the credits owed.
    let credits: f64 = column(&df, "sla_credits")
        .iter()
        .map(|v| v.parse::<f64>().unwrap())
        .sum();
    assert!((credits - 1000.0).abs() < 0.011, "{credits}");
}

#[test]
fn top_customers_and_troublesome_components_match_the_hand_computation() {
    let w = hand();
    let top = query(&w, AS_OF, "top-customers", &["n=2", "period=2026-03"]);
    assert_eq!(column(&top, "customer_id"), vec!["A", "B"]);
    assert_eq!(num(&top, "customer_id", "A", "availability_pct"), 99.664);
    assert_eq!(get(&top, "customer_id", "A", "meets_sla"), "false");
    assert_eq!(num(&top, "customer_id", "A", "incidents"), 4.0);
    assert_eq!(num(&top, "customer_id", "A", "credits"), 1000.0);
    assert_eq!(
        num(&top, "customer_id", "A", "changes_on_their_assets"),
        5.0
    );
    assert_eq!(get(&top, "customer_id", "B", "churn_risk"), "high");
    assert!(get(&top, "customer_id", "B", "risk_signals").contains("downgraded"));
    let tc = query(&w, AS_OF, "troublesome-components", &["period=2026-03"]);
    assert_eq!(column(&tc, "asset_id"), vec!["db", "api", "cdn", "web"]);
    assert_eq!(num(&tc, "asset_id", "db", "downtime_minutes"), 120.0);
    assert_eq!(num(&tc, "asset_id", "db", "mttr_mean_min"), 135.0);
    assert_eq!(num(&tc, "asset_id", "db", "customers_affected"), 4.0);
    assert_eq!(get(&tc, "asset_id", "cdn", "change_failure_rate_pct"), "");
}

#[test]
fn trailing_twelve_months_compare_with_a_year_earlier() {
    let w = hand();
    let df = query(&w, AS_OF, "trailing-twelve-months", &[]);
    // Only three full months have data.
    assert_eq!(column(&df, "month"), vec!["2026-01", "2026-02", "2026-03"]);
    // March: mean of A 99.66398, B 99.73118, C 99.93280, D 99.45175, E 99.66398 = 99.689.
    assert_eq!(num(&df, "month", "2026-03", "availability_pct"), 99.689);
    assert_eq!(num(&df, "month", "2026-03", "churned_mrr"), 2000.0);
    assert_eq!(num(&df, "month", "2026-01", "churned_mrr"), 0.0);
    assert_eq!(
        num(&df, "month", "2026-03", "change_failure_rate_pct"),
        75.0
    );
    assert_eq!(get(&df, "month", "2026-03", "year_ago_month"), "2025-03");
    assert_eq!(get(&df, "month", "2026-03", "year_ago_incidents"), "");
    // Incidents (from the trend table over the query's 24 months): March I1 sev1, I2 and I3
    // sev2, I4 sev3, I5 sev4, MTTR 120, 75, 150, 60, 60 (mean 93); February I6, sev3, 30 min.
    assert_eq!(num(&df, "month", "2026-03", "incidents"), 5.0);
    assert_eq!(num(&df, "month", "2026-03", "sev1_sev2"), 3.0);
    assert_eq!(num(&df, "month", "2026-03", "mttr_mean_min"), 93.0);
    assert_eq!(num(&df, "month", "2026-02", "incidents"), 1.0);
    assert_eq!(num(&df, "month", "2026-02", "sev1_sev2"), 0.0);
    assert_eq!(num(&df, "month", "2026-02", "mttr_mean_min"), 30.0);
    assert_eq!(num(&df, "month", "2026-01", "incidents"), 0.0);
    assert_eq!(get(&df, "month", "2026-01", "mttr_mean_min"), "");
}

#[test]
fn incident_timings_of_a_period_are_the_rows_of_the_whole_history_started_in_it() {
    // A query with a period gets only that period's incidents (read from its month
    // partitions); the whole history (ad-hoc SQL has no period) filtered to the same bounds
    // must give the same incidents, downtime and response times.
    let w = Work::with_sample();
    let figures = "SELECT COUNT(*) AS incidents, ROUND(SUM(downtime_minutes), 6) AS downtime, \
         ROUND(SUM(time_to_resolve_min), 6) AS resolve, MIN(month) AS first_month, MAX(month) AS last_month \
         FROM incident_timings";
    w.write("mine/period-incidents.sql", format!("{figures}\n"));
    w.write(
        "mine/period-incidents.toml",
        "title = \"t\"\nquestion = \"q\"\n[[params]]\nname = \"period\"\ntype = \"period\"\ndoc = \"p\"\n\
         [[columns]]\nname = \"incidents\"\ndoc = \"d\"\n[[columns]]\nname = \"downtime\"\ndoc = \"d\"\n\
         [[columns]]\nname = \"resolve\"\ndoc = \"d\"\n[[columns]]\nname = \"first_month\"\ndoc = \"d\"\n\
         [[columns]]\nname = \"last_month\"\ndoc = \"d\"\n",
    );
    // (zone, as-of, period, its bounds in epoch seconds, its first and last month): a quarter,
    // the month before as-of, the month holding as-of (its end is as-of), and a quarter of New
    // York, whose bounds fall inside the lake's UTC month partitions (04:00 UTC): its first and
    // last partitions hold incidents outside it.
    for (tz, as_of, period, from, to, first, last) in [
        (
            "UTC",
            "2026-11-01",
            "2026-Q2",
            1_775_001_600,
            1_782_864_000,
            "2026-04",
            "2026-06",
        ),
        (
            "UTC",
            "2026-11-01",
            "2026-10",
            1_790_812_800,
            1_793_491_200,
            "2026-10",
            "2026-10",
        ),
        (
            "UTC",
            "2026-10-15T12:00:00Z",
            "2026-10",
            1_790_812_800,
            1_792_065_600,
            "2026-10",
            "2026-10",
        ),
        (
            "America/New_York",
            "2026-11-01",
            "2026-Q2",
            1_775_016_000,
            1_782_878_400,
            "2026-04",
            "2026-06",
        ),
    ] {
        let run = |args: &[&str]| at(&w, tz, as_of, args);
        let period = format!("period={period}");
        let scoped = run(&[
            "--queries",
            "mine",
            "query",
            "run",
            "period-incidents",
            "--param",
            &period,
            "--format",
            "csv",
        ]);
        let whole = run(&[
            "sql",
            "--format",
            "csv",
            &format!(
                "{figures} WHERE EXTRACT(EPOCH FROM started_at) >= {from} \
                 AND EXTRACT(EPOCH FROM started_at) < {to}"
            ),
        ]);
        assert_eq!(scoped, whole, "{period} as of {as_of} in {tz}");
        let row: Vec<&str> = scoped.lines().nth(1).unwrap().split(',').collect();
        assert!(row[0].parse::<u32>().unwrap() > 5, "{period}: {scoped}");
        // (The sample's first half of October has incidents, none with downtime.)
        if period.ends_with("Q2") {
            assert!(row[1].parse::<f64>().unwrap() > 0.0, "{period}: {scoped}");
        }
        assert_eq!((row[3], row[4]), (first, last), "{period}: {scoped}");
    }
}

#[test]
fn as_of_makes_results_reproducible_and_tz_moves_month_boundaries() {
    let w = hand();
    // In New York, I6 (2026-02-10T00:00Z) is still 9 February, and I1 is in March either way.
    let ny = w.ok(&[
        "--lake",
        "lake",
        "--as-of",
        AS_OF,
        "--tz",
        "America/New_York",
        "query",
        "run",
        "incident-trends",
        "--param",
        "months=3",
        "--format",
        "csv",
    ]);
    assert!(ny.lines().any(|l| l.starts_with("2026-02,1,")), "{ny}");
    // Tables and SQL.
    let tables = w.ok(&["--lake", "lake", "tables"]);
    for t in [
        "sla_periods",
        "customer_outages",
        "mrr_movements",
        "incident_trend",
    ] {
        assert!(tables.contains(t), "{tables}");
    }
    // Rows of a table as `opsintel tables` shows them.
    let rows_of = |listing: &str, t: &str| -> String {
        let line = listing
            .lines()
            .find(|l| {
                l.split('┆')
                    .next()
                    .is_some_and(|c| c.trim_start_matches('│').trim() == t)
            })
            .unwrap_or_else(|| panic!("no {t} in {listing}"));
        line.split('┆').nth(2).unwrap().trim().to_string()
    };
    // Without --rows no derived table is built (its columns come from an empty lake).
    assert_eq!(rows_of(&tables, "incidents"), "6");
    assert_eq!(rows_of(&tables, "incident_response"), "–");
    assert!(tables.contains("time_to_resolve_min f64"), "{tables}");
    let counted = w.ok(&["--lake", "lake", "--as-of", AS_OF, "tables", "--rows"]);
    assert_eq!(rows_of(&counted, "incident_response"), "6");
    // January (revenue's first month) to April, the as-of month.
    assert_eq!(rows_of(&counted, "months"), "4");
    let sql = w.ok(&[
        "--lake",
        "lake",
        "--as-of",
        AS_OF,
        "sql",
        "SELECT COUNT(*) AS n FROM incidents",
        "--format",
        "csv",
    ]);
    assert_eq!(sql, "n\n6\n");
    let (code, err) = w.fail(&["--lake", "lake", "sql", "SELECT nope FROM incidents"]);
    assert_eq!(code, 2);
    assert!(err.contains("SQL error"), "{err}");
}

#[test]
fn users_add_queries_by_dropping_files_and_bad_metadata_is_refused() {
    let w = hand();
    w.write("mine/incidents-by-asset.sql", "SELECT asset_id, COUNT(*) AS incidents FROM incidents GROUP BY asset_id ORDER BY asset_id\n");
    w.write(
        "mine/incidents-by-asset.toml",
        "title = \"Incidents by asset\"\nquestion = \"Where do incidents happen?\"\n[[columns]]\nname = \"asset_id\"\ndoc = \"asset\"\n[[columns]]\nname = \"incidents\"\ndoc = \"count\"\n",
    );
    let list = w.ok(&["--queries", "mine", "query", "list"]);
    assert!(
        list.contains("incidents-by-asset") && list.contains("sla-attainment"),
        "{list}"
    );
    let out = w.ok(&[
        "--lake",
        "lake",
        "--queries",
        "mine",
        "query",
        "run",
        "incidents-by-asset",
        "--format",
        "csv",
    ]);
    assert_eq!(out, "asset_id,incidents\napi,1\ncdn,1\ndb,2\nweb,2\n");
    // Declared columns that the SQL does not return.
    w.write("bad/wrong.sql", "SELECT 1 AS one\n");
    w.write(
        "bad/wrong.toml",
        "title = \"t\"\nquestion = \"q\"\n[[columns]]\nname = \"two\"\ndoc = \"d\"\n",
    );
    let (code, err) = w.fail(&[
        "--lake",
        "lake",
        "--queries",
        "bad",
        "query",
        "run",
        "wrong",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("query `wrong` returned columns [one] but its metadata declares [two]"),
        "{err}"
    );
    // An unknown metadata key.
    w.write("typo/x.sql", "SELECT 1 AS one\n");
    w.write(
        "typo/x.toml",
        "title = \"t\"\nquestoin = \"q\"\n[[columns]]\nname = \"one\"\ndoc = \"d\"\n",
    );
    let (_, err) = w.fail(&["--queries", "typo", "query", "list"]);
    assert!(
        err.contains("x.toml: invalid query metadata") && err.contains("questoin"),
        "{err}"
    );
}

#[test]
fn every_metric_a_query_links_to_is_defined_in_docs_metrics() {
    let docs = std::fs::read_to_string(repo().join("docs/metrics.md")).unwrap();
    let mut linked = 0;
    for entry in std::fs::read_dir(repo().join("queries")).unwrap().flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let q = path.file_stem().unwrap().to_str().unwrap().to_string();
        let meta = std::fs::read_to_string(&path).unwrap();
        for line in meta.lines().filter(|l| l.starts_with("metric = ")) {
            let anchor = line.trim_start_matches("metric = ").trim_matches('"');
            assert!(
                docs.contains(&format!("<a id=\"{anchor}\"></a>")),
                "{q}: metric `{anchor}` has no definition in docs/metrics.md"
            );
            linked += 1;
        }
    }
    assert!(linked > 40, "{linked}");
}

#[test]
fn churned_customers_are_not_top_customers_and_query_show_explains_a_query() {
    let w = hand();
    // Active customers by ARR: A 120k, B 60k, E 36k, C 24k; D (12k) churned in full on 20 March.
    let top = query(&w, AS_OF, "top-customers", &["n=10", "period=2026-03"]);
    assert_eq!(column(&top, "customer_id"), vec!["A", "B", "E", "C"]);
    // Before D churned, D is still a customer at risk.
    let before = query(&w, "2026-03-19T00:00:00Z", "blast-radius", &["asset=web"]);
    assert_eq!(column(&before, "customer_id"), vec!["A", "D"]);
    let show = w.ok(&["query", "show", "sla-attainment"]);
    for needle in [
        "Question: How are we really doing against our SLAs",
        "policy",
        "docs/metrics.md#sla-credit",
        "CROSS JOIN p",
    ] {
        assert!(show.contains(needle), "{needle} not in\n{show}");
    }
}

#[test]
fn queries_that_opt_into_the_streaming_engine_answer_as_the_in_memory_engine_does() {
    // Each canned query marked `engine = "streaming"` is copied, without that line, to a
    // replacement directory (same name, so it overrides the canned one) and run both ways.
    let streaming: Vec<String> = std::fs::read_dir(repo().join("queries"))
        .unwrap()
        .filter_map(|e| {
            let p = e.ok()?.path();
            let text = std::fs::read_to_string(&p).ok()?;
            (p.extension()? == "toml" && text.lines().any(|l| l.trim() == "engine = \"streaming\""))
                .then(|| p.file_stem()?.to_str().map(str::to_string))?
        })
        .collect();
    assert!(streaming.contains(&"change-outcomes".to_string()));
    for (w, as_of, periods) in [
        (
            Work::with_sample(),
            "2026-11-01",
            ["period=2026", "period=2026-Q3"],
        ),
        (hand(), AS_OF, ["period=2026-03", "period=2026-Q1"]),
    ] {
        for q in &streaming {
            let dir = repo().join("queries");
            let toml = std::fs::read_to_string(dir.join(format!("{q}.toml"))).unwrap();
            let in_memory: String = toml
                .lines()
                .filter(|l| l.trim() != "engine = \"streaming\"")
                .map(|l| format!("{l}\n"))
                .collect();
            w.write(&format!("mem/{q}.toml"), in_memory);
            w.write(
                &format!("mem/{q}.sql"),
                std::fs::read(dir.join(format!("{q}.sql"))).unwrap(),
            );
            for period in periods {
                let run = |extra: &[&str]| {
                    let mut args = vec!["--lake", "lake", "--as-of", as_of];
                    args.extend_from_slice(extra);
                    args.extend(["query", "run", q, "--param", period, "--format", "csv"]);
                    w.ok(&args)
                };
                let (s, m) = (run(&[]), run(&["--queries", "mem"]));
                assert!(s.lines().count() > 1, "{q} {period}: {s}");
                assert_eq!(s, m, "{q} {period}: streaming and in-memory answers differ");
            }
        }
    }
}

#[test]
fn the_epoch_period_bound_keeps_the_rows_two_plain_bounds_keep() {
    // The canned queries bound large tables by `started_at >= period_start AND
    // EPOCH(period_end) - EPOCH(started_at) > 0` to keep polars from planning an IEJoin
    // (queries/README.md). bench/iejoin holds that step written both ways; incidents a
    // microsecond either side of March's bounds, and on them, fall in the same months.
    let w = Work::new();
    let row = |id: &str, at: &str| format!("{id},t,sev2,resolved,db,outage,,{at},,,,,{at},,\n");
    let mut csv = String::from(
        "incident_id,title,severity,status,asset_id,impact,customer_ids,started_at,detected_at,acknowledged_at,first_customer_notice_at,mitigated_at,resolved_at,root_cause,caused_by_change_id\n",
    );
    for (id, at) in [
        ("F", "2026-02-28T23:59:59.999999Z"),
        ("M1", "2026-03-01T00:00:00Z"),
        ("M2", "2026-03-31T23:59:59.999999Z"),
        ("A", "2026-04-01T00:00:00Z"),
    ] {
        csv.push_str(&row(id, at));
    }
    let file = w.write("in/incidents.csv", csv);
    w.ok(&[
        "--lake",
        "lake",
        "ingest",
        "incidents",
        file.to_str().unwrap(),
    ]);
    let dir = repo().join("bench/iejoin");
    let count = |query: &str, period: &str| -> String {
        let out = w.ok(&[
            "--lake",
            "lake",
            "--as-of",
            "2026-05-01",
            "--queries",
            dir.to_str().unwrap(),
            "query",
            "run",
            query,
            "--param",
            &format!("period={period}"),
            "--format",
            "csv",
        ]);
        out.lines()
            .nth(1)
            .unwrap()
            .split(',')
            .next()
            .unwrap()
            .to_string()
    };
    for (period, n) in [("2026-02", "1"), ("2026-03", "2"), ("2026-04", "1")] {
        assert_eq!(count("two-bounds", period), n, "{period}");
        assert_eq!(count("epoch-bound", period), n, "{period}");
    }
}

#[test]
fn customers_sharing_assets_keep_their_own_named_incidents() {
    // X and Y use the same asset (one exposure group), so the pass computes the broad downtime
    // and time-SLA counts of their group once; only Y is named by N1 (on another asset).
    // Y's SLAs come first (the lake keeps SLAs in id order), so a group figure that took in
    // Y's named incident would show in X's.
    let w = Work::new();
    w.write(
        "d/customers.csv",
        "customer_id,name,segment,arr,since\nX,Xco,enterprise,120000,2025-01-01\nY,Yco,enterprise,120000,2025-01-01\n",
    );
    w.write(
        "d/customer_assets.csv",
        "customer_id,asset_id\nX,app\nY,app\n",
    );
    w.write(
        "d/assets.csv",
        "asset_id,name,kind,tier,owner_team,depends_on,monthly_cost\napp,App,service,1,platform,,100\nother,Other,service,2,platform,,100\n",
    );
    w.write(
        "d/incidents.csv",
        "incident_id,title,severity,status,asset_id,impact,customer_ids,started_at,detected_at,acknowledged_at,resolved_at\n\
         B1,app down,sev1,resolved,app,outage,,2026-03-05T10:00:00Z,2026-03-05T10:00:00Z,2026-03-05T10:30:00Z,2026-03-05T11:00:00Z\n\
         N1,other down for Y,sev1,resolved,other,outage,Y,2026-03-12T10:00:00Z,2026-03-12T10:00:00Z,2026-03-12T10:20:00Z,2026-03-12T10:45:00Z\n",
    );
    w.write(
        "d/slas.csv",
        "sla_id,customer_id,asset_id,metric,target,period,severities,credit_tiers,valid_from,valid_to\n\
         S1-Y-AV,Y,,availability,99.9,month,,99.9:10,2025-01-01,\n\
         S1-Y-TTA,Y,,time_to_acknowledge,15,month,sev1;sev2,,2025-01-01,\n\
         S2-X-AV,X,,availability,99.9,month,,99.9:10,2025-01-01,\n\
         S2-X-TTA,X,,time_to_acknowledge,15,month,sev1;sev2,,2025-01-01,\n",
    );
    w.ok(&["--lake", "lake", "ingest", "--dir", "d"]);
    let df = query(&w, AS_OF, "sla-attainment", &["period=2026-03"]);
    // Both acknowledged after 30 and 20 min, against 15: breached.
    assert_eq!(num(&df, "sla_id", "S2-X-TTA", "incidents_in_scope"), 1.0);
    assert_eq!(num(&df, "sla_id", "S2-X-TTA", "incidents_breached"), 1.0);
    assert_eq!(num(&df, "sla_id", "S1-Y-TTA", "incidents_in_scope"), 2.0);
    assert_eq!(num(&df, "sla_id", "S1-Y-TTA", "incidents_breached"), 2.0);
    // B1 is 60 min down for both; N1 adds 45 min for Y only.
    assert_eq!(num(&df, "sla_id", "S2-X-AV", "downtime_minutes"), 60.0);
    assert_eq!(num(&df, "sla_id", "S1-Y-AV", "downtime_minutes"), 105.0);
    // One row per time SLA and incident in its scope: Y's two, X's one. The SLA pass walks
    // the SLAs in two halves (Y's, then X's here): both halves' rows are in the table.
    let rows = w.ok(&[
        "--lake", "lake", "--as-of", AS_OF, "sql", "--format", "csv",
        "SELECT sla_id, incident_id, period, actual_minutes, met FROM sla_incidents ORDER BY sla_id, incident_id",
    ]);
    assert_eq!(
        rows,
        "sla_id,incident_id,period,actual_minutes,met\n\
         S1-Y-TTA,B1,2026-03,30.0,false\n\
         S1-Y-TTA,N1,2026-03,20.0,false\n\
         S2-X-TTA,B1,2026-03,30.0,false\n"
    );
}

#[test]
fn period_fees_agree_whether_the_revenue_is_read_near_the_period_or_whole() {
    // A query with a period reads only the revenue months near it for the SLA fees; `sql`
    // (no period) builds every SLA period from the whole revenue history. The fees of the
    // periods they share must agree.
    let w = Work::with_sample();
    w.write(
        "mine/fees.sql",
        "WITH p AS (SELECT * FROM params)\nSELECT s.sla_id, s.period, s.period_fee FROM sla_periods s CROSS JOIN p\nWHERE s.period_start < p.period_end AND s.period_end > p.period_start\nORDER BY s.sla_id, s.period\n",
    );
    w.write(
        "mine/fees.toml",
        "title = \"fees\"\nquestion = \"q\"\n[[params]]\nname = \"period\"\ntype = \"period\"\ndoc = \"d\"\n\
         [[columns]]\nname = \"sla_id\"\ndoc = \"d\"\n[[columns]]\nname = \"period\"\ndoc = \"d\"\n\
         [[columns]]\nname = \"period_fee\"\ndoc = \"d\"\n",
    );
    let near = w.ok(&[
        "--lake",
        "lake",
        "--as-of",
        "2026-11-01",
        "--queries",
        "mine",
        "query",
        "run",
        "fees",
        "--param",
        "period=2026-Q3",
        "--format",
        "csv",
    ]);
    let whole = w.ok(&[
        "--lake", "lake", "--as-of", "2026-11-01", "sql", "--format", "csv",
        "SELECT sla_id, period, period_fee FROM sla_periods WHERE period IN ('2026-07', '2026-08', '2026-09', '2026-Q3') ORDER BY sla_id, period",
    ]);
    assert!(near.lines().count() > 100, "{near}");
    assert_eq!(near, whole);
}

/// What a run that will read revenue, exposure and SLA tables builds beside the exposure (the
/// SLA terms, each customer's revenue number, `mrr_months`) gives the tables a run that
/// announced nothing builds one after another.
#[test]
fn tables_built_beside_the_exposure_are_those_built_alone() {
    use opsintel::model::{Policy, Scoped};
    use opsintel::query::Session;
    let w = Work::with_sample();
    let ctx = sample_context(&w);
    let scoped = Scoped {
        trend_months: 12,
        ..Default::default()
    };
    let names = ["availability_months", "mrr_months", "sla_current"];
    let (beside, alone) = on_big_stack(|| {
        let run = Session::open(&ctx).unwrap();
        let m = run.model(Policy::Strict);
        m.build_ahead(names, &scoped).unwrap();
        // The first builds the exposure, and beside it the others' pieces.
        let beside: Vec<DataFrame> = names.iter().map(|n| m.table(n, &scoped).unwrap()).collect();
        let run = Session::open(&ctx).unwrap();
        let m = run.model(Policy::Strict);
        let alone: Vec<DataFrame> = names
            .iter()
            .rev()
            .map(|n| m.table(n, &scoped).unwrap())
            .collect();
        (beside, alone.into_iter().rev().collect::<Vec<_>>())
    });
    for ((n, b), a) in names.iter().zip(&beside).zip(&alone) {
        assert!(b.height() > 10, "{n}: {b}");
        assert!(b.equals_missing(a), "{n}:\n{b}\n{a}");
    }
}

/// Queries answered two at a time (`Session::answer_all`, as the executive report does) give
/// the answers of the same queries answered one after another, each in the place of its run,
/// a follow-up right after the run that asked for it; a failing run fails the whole call with
/// its own error, the first in run order.
#[test]
fn queries_answered_two_at_a_time_give_the_answers_of_one_at_a_time() {
    use opsintel::query::{Answer, Session};
    let w = Work::with_sample();
    let ctx = sample_context(&w);
    let arg = |k: &str, v: &str| (k.to_string(), v.to_string());
    let runs: Vec<(&str, Vec<(String, String)>)> = vec![
        ("headline-kpis", vec![arg("period", "2026-Q3")]),
        ("headline-kpis", vec![arg("period", "2026-Q2")]),
        ("sla-attainment", vec![arg("period", "2026-Q3")]),
        ("troublesome-components", vec![arg("period", "2026")]),
        ("churn-causes", vec![arg("period", "2026")]),
        ("change-outcomes", vec![arg("period", "2026-Q3")]),
        ("top-customers", vec![arg("period", "2026-Q3")]),
        ("incident-trends", vec![arg("months", "12")]),
        ("trailing-twelve-months", vec![]),
    ];
    // The follow-up: the blast radius of the most troublesome component.
    let then = |a: &Answer| {
        (a.query.name == "troublesome-components").then(|| {
            let asset =
                a.df.column("asset_id")
                    .unwrap()
                    .str()
                    .unwrap()
                    .get(0)
                    .unwrap();
            ("blast-radius".to_string(), vec![arg("asset", asset)])
        })
    };
    let (together, alone, failed) = on_big_stack(|| {
        let alone: Vec<Answer> = {
            let s = Session::open(&ctx).unwrap();
            let mut out = Vec::new();
            for (q, args) in &runs {
                let a = s.answer(q, args).unwrap();
                let next = then(&a);
                out.push(a);
                if let Some((q, args)) = next {
                    out.push(s.answer(&q, &args).unwrap());
                }
            }
            out
        };
        let s = Session::open(&ctx).unwrap();
        s.build_ahead(&runs).unwrap();
        let together = s.answer_all(&runs, then).unwrap();
        let mut bad = runs.clone();
        bad.insert(4, ("no-such-query", vec![]));
        bad.insert(6, ("also-missing", vec![]));
        let failed = Session::open(&ctx)
            .unwrap()
            .answer_all(&bad, then)
            .err()
            .unwrap();
        (together, alone, failed)
    });
    let per_run: Vec<usize> = together.iter().map(Vec::len).collect();
    assert_eq!(per_run, vec![1, 1, 1, 2, 1, 1, 1, 1, 1]);
    let together: Vec<Answer> = together.into_iter().flatten().collect();
    let names = |v: &[Answer]| v.iter().map(|a| a.query.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&together), names(&alone));
    assert_eq!(together[4].query.name, "blast-radius");
    for (t, a) in together.iter().zip(&alone) {
        assert!(t.df.height() > 0, "{}", a.query.name);
        assert_eq!(t.params.values, a.params.values, "{}", a.query.name);
        assert!(
            t.df.equals_missing(&a.df),
            "{}:\n{}\n{}",
            a.query.name,
            t.df,
            a.df
        );
    }
    let failed = failed.to_string();
    assert!(failed.contains("no-such-query"), "{failed}");
}

/// The tables a run asks to be built ahead, in a second thread (as the executive report
/// does), give the same answers as those its own thread builds when a query reads them; so do
/// the SLA periods of adjacent periods announced together (built in one pass over both, then
/// split) and those of each period built alone, and the change tables summed from the whole
/// history's count (a run of several queries reading them) and those counted for their window.
#[test]
fn tables_built_ahead_give_the_same_answers() {
    use opsintel::model::{Policy, Scoped, Window};
    use opsintel::query::Session;
    use opsintel::query::period::Period;
    let w = Work::with_sample();
    let ctx = sample_context(&w);
    let arg = |k: &str, v: &str| (k.to_string(), v.to_string());
    let runs: Vec<(&str, Vec<(String, String)>)> = vec![
        ("headline-kpis", vec![arg("period", "2026-Q3")]),
        ("headline-kpis", vec![arg("period", "2026-Q2")]),
        ("sla-attainment", vec![arg("period", "2026-Q2")]),
        ("sla-attainment", vec![arg("period", "2026-Q3")]),
        ("sla-attainment", vec![arg("period", "2026-06")]),
        ("troublesome-components", vec![arg("period", "2026")]),
        ("change-outcomes", vec![arg("period", "2026-Q3")]),
        ("top-customers", vec![arg("period", "2026-Q3")]),
        ("blast-radius", vec![arg("asset", "pg-main")]),
        ("incident-trends", vec![arg("months", "12")]),
        ("trailing-twelve-months", vec![]),
    ];
    // The SLA periods tables themselves (the queries filter them again): Q2 and Q3 announced
    // together are one pass over both, then split; June is inside it.
    let windows: Vec<Window> = ["2026-Q2", "2026-Q3", "2026-06"]
        .iter()
        .map(|p| {
            let p = Period::parse(p).unwrap();
            Window {
                start: p.start_utc(chrono_tz::UTC).timestamp_micros(),
                end: p.end_utc(chrono_tz::UTC).timestamp_micros(),
            }
        })
        .collect();
    let answers = |ahead: bool| {
        let s = Session::open(&ctx).unwrap();
        if ahead {
            s.build_ahead(&runs).unwrap();
            // Take the worker's tables, not the ones this thread would build first.
            s.wait_ahead();
        }
        let mut dfs: Vec<DataFrame> = runs
            .iter()
            .map(|(q, args)| s.answer(q, args).unwrap().df)
            .collect();
        for w in &windows {
            let scoped = Scoped {
                trend_months: 12,
                window: Some(*w),
                asset: None,
            };
            dfs.push(
                s.model(Policy::Strict)
                    .table("sla_periods", &scoped)
                    .unwrap(),
            );
        }
        // The change tables themselves: with the run's changes counted once over the whole
        // history (ahead), each is summed from that count; here, counted from the changes.
        let model = s.model(Policy::Strict);
        let scoped = |window: Option<Window>, asset: Option<&str>| Scoped {
            trend_months: 12,
            window,
            asset: asset.map(str::to_string),
        };
        dfs.push(
            model
                .table("change_months", &scoped(Some(windows[0]), None))
                .unwrap(),
        );
        dfs.push(
            model
                .table("change_assets", &scoped(None, Some("pg-main")))
                .unwrap(),
        );
        dfs.push(
            model
                .table("change_assets", &scoped(Some(windows[1]), None))
                .unwrap(),
        );
        let cells = model
            .table("change_cells", &scoped(Some(windows[2]), None))
            .unwrap();
        dfs.push(
            cells
                .sort(["month", "asset_id", "outcome"], Default::default())
                .unwrap(),
        );
        dfs
    };
    let (ahead, here, kept) = on_big_stack(
        // Counted for their window first: the run built ahead keeps the change facts in
        // the lake, which a later run sums (compared below).
        || {
            let here = answers(false);
            (answers(true), here, answers(true))
        },
    );
    let names = runs.iter().map(|(q, _)| *q).chain([
        "sla_periods Q2",
        "sla_periods Q3",
        "sla_periods June",
        "change_months Q2",
        "change_assets pg-main",
        "change_assets Q3",
        "change_cells June",
    ]);
    assert_eq!(ahead.len(), runs.len() + 7);
    for (q, ((a, h), k)) in names.zip(ahead.iter().zip(&here).zip(&kept)) {
        assert!(a.height() > 0, "{q}");
        assert!(a.equals_missing(h), "{q}:\n{a}\n{h}");
        assert!(k.equals_missing(h), "{q} from kept facts:\n{k}\n{h}");
    }
    // Each period's table holds the SLA periods overlapping it, and no other.
    let june = &ahead[runs.len() + 2];
    let periods = june.column("period").unwrap().str().unwrap().clone();
    assert!(
        periods
            .iter()
            .all(|p| matches!(p, Some("2026-06" | "2026-Q2"))),
        "{june}"
    );
}

/// A run that shares its change counts (the executive report) keeps the as-of-free change
/// facts in the lake, per zone; later runs sum them instead of counting every change. The
/// whole history's `change_cells` summed from kept facts must equal those counted from the
/// changes for any as-of and zone, including an as-of between a change and the incident it
/// caused in the next month (CHG-00001100, 2024-05-31T23:20Z, and INC-00000113,
/// 2024-06-01T00:53Z: at 00:30 the change has caused no incident yet) and one between a change
/// and its incident in the as-of's own month (CHG-00006007 at 17:51Z and INC-00000669 at
/// 19:18Z on 18 October 2026), and must follow an ingest that changes the changes.
#[test]
fn change_counts_from_kept_facts_are_those_counted_from_the_changes() {
    use opsintel::context::Context;
    use opsintel::query::Session;
    let w = Work::with_sample();
    let cases = [
        ("UTC", "2024-06-01T00:30:00Z"),
        ("UTC", "2026-11-01"),
        ("America/New_York", "2026-11-01"),
        ("Asia/Kolkata", "2026-10-18T18:30:00Z"),
    ];
    let cells = |tz: &str, as_of: &str| {
        at(
            &w,
            tz,
            as_of,
            &[
                "sql",
                "--format",
                "csv",
                "SELECT * FROM change_cells ORDER BY month, asset_id, outcome",
            ],
        )
    };
    // A run of two queries that read change tables counts the facts once and keeps them.
    let keep = |tz: &str, as_of: &str| {
        let ctx = Context::resolve(
            Some(w.path("lake")),
            Some(as_of),
            Some(tz),
            Some(repo().join("queries")),
        )
        .unwrap();
        let s = Session::open(&ctx).unwrap();
        let runs: Vec<(&str, Vec<(String, String)>)> = vec![
            ("change-outcomes", vec![("period".into(), "2026-Q3".into())]),
            ("change-outcomes", vec![("period".into(), "2026-Q2".into())]),
        ];
        s.build_ahead(&runs).unwrap();
        s.wait_ahead();
    };
    let derived = w.path("lake/_opsintel/derived");
    let kept_files = || -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&derived)
            .map(|d| {
                d.flatten()
                    .flat_map(|e| std::fs::read_dir(e.path()).unwrap().flatten())
                    .map(|f| {
                        f.path()
                            .strip_prefix(&derived)
                            .unwrap()
                            .display()
                            .to_string()
                    })
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    };
    // change-outcomes of the as-of's year: whole months from the facts and the as-of's month
    // to as-of counted from its changes and the kept hits.
    let outcomes = |tz: &str, as_of: &str| {
        let period = format!("period={}", &as_of[..4]);
        at(
            &w,
            tz,
            as_of,
            &[
                "query",
                "run",
                "change-outcomes",
                "--param",
                &period,
                "--format",
                "csv",
            ],
        )
    };
    let counted: Vec<String> = cases.iter().map(|(tz, a)| cells(tz, a)).collect();
    let counted_outcomes: Vec<String> = cases.iter().map(|(tz, a)| outcomes(tz, a)).collect();
    assert!(kept_files().is_empty(), "{:?}", kept_files());
    // The cut case differs from the next as-of's count of May 2024 (its incident is counted).
    let may = |csv: &str| -> String {
        csv.lines()
            .filter(|l| l.starts_with("2024-05,"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_ne!(may(&counted[0]), may(&counted[1]));
    // When each zone's files were written: the UTC ones by the first case's run only (the
    // second case, another as-of, sums them and writes nothing).
    let written = || -> Vec<(String, std::time::SystemTime)> {
        kept_files()
            .into_iter()
            .map(|f| {
                let t = std::fs::metadata(derived.join(&f))
                    .unwrap()
                    .modified()
                    .unwrap();
                (f, t)
            })
            .collect()
    };
    let mut utc_written = Vec::new();
    for (i, ((tz, as_of), want)) in cases.iter().zip(&counted).enumerate() {
        keep(tz, as_of);
        assert_eq!(&cells(tz, as_of), want, "kept facts, {tz} as of {as_of}");
        let utc: Vec<_> = written()
            .into_iter()
            .filter(|(f, _)| f.contains("-UTC/"))
            .collect();
        match i {
            0 => utc_written = utc,
            1 => assert_eq!(
                utc, utc_written,
                "the second UTC case counted the facts again"
            ),
            _ => {}
        }
    }
    for ((tz, as_of), want) in cases.iter().zip(&counted_outcomes) {
        assert_eq!(
            &outcomes(tz, as_of),
            want,
            "change-outcomes, {tz} as of {as_of}"
        );
    }
    // One pair of files per zone, which `lake status` lists.
    let files = kept_files();
    assert_eq!(files.len(), 6, "{files:?}");
    let status = w.ok(&["--lake", "lake", "lake", "status"]);
    for f in &files {
        let (table, key) = f.split_once('/').unwrap();
        assert!(status.contains(table), "{status}");
        assert!(
            status.contains(key.trim_end_matches(".parquet")),
            "{status}"
        );
    }
    assert!(
        files
            .iter()
            .any(|f| f.starts_with("change_hits-America~New_York/f3-")),
        "{files:?}"
    );
    // A new change in March 2026 (failed): the kept facts are stale, the count has it, and the
    // next sharing run keeps facts with it (in place of the old ones).
    let before = cells("UTC", "2026-11-01");
    let header = std::fs::read_to_string(repo().join("sample-data/changes.csv")).unwrap();
    let header = header.lines().next().unwrap();
    let row: Vec<&str> = header
        .split(',')
        .map(|c| match c {
            "change_id" => "CHG-NEW-1",
            "asset_id" => "pg-main",
            "outcome" => "failed",
            "kind" => "standard",
            "summary" => "a new change",
            "started_at" => "2026-03-10T10:00:00Z",
            "finished_at" | "updated_at" => "2026-03-10T11:00:00Z",
            "risk" => "low",
            "source" => "github",
            _ => "",
        })
        .collect();
    w.write("more/changes.csv", format!("{header}\n{}\n", row.join(",")));
    w.ok(&[
        "--lake",
        "lake",
        "ingest",
        "changes",
        w.path("more/changes.csv").to_str().unwrap(),
    ]);
    let after = cells("UTC", "2026-11-01");
    let cell = |csv: &str| -> Vec<i64> {
        let line = csv
            .lines()
            .find(|l| l.starts_with("2026-03,pg-main,failed,"))
            .unwrap_or("2026-03,pg-main,failed,0,0,0,0,0,0,0")
            .to_string();
        line.split(',')
            .skip(3)
            .map(|v| v.parse().unwrap())
            .collect()
    };
    let (b, a) = (cell(&before), cell(&after));
    // changes, completed, failed and failures each one more.
    assert_eq!(
        (a[0], a[1], a[2], a[6]),
        (b[0] + 1, b[1] + 1, b[2] + 1, b[6] + 1),
        "{before}\n{after}"
    );
    keep("UTC", "2026-11-01");
    assert_eq!(cells("UTC", "2026-11-01"), after);
    let utc: Vec<String> = kept_files()
        .into_iter()
        .filter(|f| f.contains("-UTC/"))
        .collect();
    assert_eq!(utc.len(), 2, "{utc:?}");
    assert!(utc.iter().all(|f| !files.contains(f)), "{utc:?} {files:?}");
}

/// Keeping the change facts is only a saving: a lake where they cannot be written (here a file
/// stands where their folder would be) gets the same report, and a note on stderr says so.
#[test]
fn a_lake_that_cannot_keep_the_change_facts_is_answered_all_the_same() {
    let w = Work::with_sample();
    std::fs::write(w.path("lake/_opsintel/derived"), "not a folder").unwrap();
    let out = w.run(&[
        "--lake",
        "lake",
        "--as-of",
        "2026-11-01",
        "report",
        "exec",
        "--out",
        "exec.pdf",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("the change counts were not kept in the lake"),
        "{err}"
    );
    assert!(std::fs::metadata(w.path("exec.pdf")).unwrap().len() > 10_000);
    // Still a file: nothing was written in its place.
    assert!(w.path("lake/_opsintel/derived").is_file());
}

#[test]
fn churn_exposure_is_worked_out_per_churn_day_for_customers_of_one_group() {
    // X and Y depend on db alone (one exposure group). One db outage of 60 minutes on
    // 2026-03-10 lies in the 90 days before X's churn (2026-03-20), not before Y's
    // (2026-09-01, whose window starts on 2026-06-03): the group's part is the same for
    // customers churning on the same day only.
    let w = Work::new();
    let files = [
        (
            "assets",
            "asset_id,name,kind,tier,owner_team,depends_on,monthly_cost\ndb,Database,database,1,data,,1000\n",
        ),
        (
            "customers",
            "customer_id,name,segment,arr,since\nX,X Corp,smb,12000,2025-01-01\nY,Y Corp,smb,12000,2025-01-01\n",
        ),
        ("customer_assets", "customer_id,asset_id\nX,db\nY,db\n"),
        (
            "incidents",
            "incident_id,title,severity,status,asset_id,impact,customer_ids,started_at,detected_at,acknowledged_at,first_customer_notice_at,mitigated_at,resolved_at,root_cause,caused_by_change_id\n\
I1,db outage,sev1,resolved,db,outage,,2026-03-10T10:00:00Z,2026-03-10T10:00:00Z,2026-03-10T10:05:00Z,,2026-03-10T11:00:00Z,2026-03-10T11:00:00Z,hardware,\n",
        ),
        (
            "churn",
            "customer_id,churned_at,kind,mrr_lost,reason,voluntary\nX,2026-03-20,full,1000,price,true\nY,2026-09-01,full,1000,reliability,true\n",
        ),
    ];
    for (ds, csv) in files {
        let path = w.write(&format!("in/{ds}.csv"), csv);
        w.ok(&["--lake", "lake", "ingest", ds, path.to_str().unwrap()]);
    }
    let sql = |q: &str| {
        w.ok(&[
            "--lake",
            "lake",
            "--as-of",
            "2026-11-01",
            "sql",
            "--format",
            "csv",
            q,
        ])
    };
    assert_eq!(
        sql(
            "SELECT customer_id, incidents_90d, downtime_90d_min FROM churn_exposure ORDER BY customer_id"
        ),
        "customer_id,incidents_90d,downtime_90d_min\nX,1,60.0\nY,0,0.0\n"
    );
    assert_eq!(
        sql("SELECT customer_id, asset_id FROM churn_exposure_assets ORDER BY customer_id"),
        "customer_id,asset_id\nX,db\n"
    );
}
