//! Integration tests of the connectors: every preset on a fixture shaped like the vendor's export
//! (row counts and values asserted), the documented example mappings, the walkthrough's event
//! log, mapping typos, `mapping check` and `sync`.

mod common;

use common::*;

fn fixture(name: &str) -> String {
    repo()
        .join("tests/fixtures/connectors")
        .join(name)
        .to_str()
        .unwrap()
        .to_string()
}

fn doc_mapping(name: &str) -> String {
    repo()
        .join("docs/mappings")
        .join(name)
        .to_str()
        .unwrap()
        .to_string()
}

/// Ingest with a preset or mapping; returns the manifest's record of the ingest.
fn ingest(w: &Work, dataset: &str, file: &str, how: &[&str]) -> serde_json::Value {
    let mut args = vec!["--lake", "lake", "ingest", dataset, file];
    args.extend_from_slice(how);
    w.ok(&args);
    w.manifest()["ingests"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone()
}

fn counts(r: &serde_json::Value) -> (u64, u64, u64, u64, u64) {
    let n = |k: &str| r[k].as_u64().unwrap_or(0);
    (
        n("rows_read"),
        n("accepted"),
        n("rejected"),
        n("filtered"),
        n("superseded"),
    )
}

#[test]
fn servicenow_presets() {
    let w = Work::new();
    // Incidents: BOM, CRLF, a quoted multi-line title, "1 - Critical" and bare priority codes,
    // NULL for an empty CI; the 4th row's opened_at is not a timestamp and is rejected.
    let r = ingest(
        &w,
        "incidents",
        &fixture("servicenow-incident.csv"),
        &["--preset", "servicenow-incident"],
    );
    assert_eq!(counts(&r), (4, 3, 1, 0, 0));
    assert_eq!(r["mapping"], "preset:servicenow-incident");
    let df = w.scan("incidents");
    assert_eq!(
        str_at(&df, "severity", "incident_id", "INC0010001").as_deref(),
        Some("sev1")
    );
    assert_eq!(
        str_at(&df, "impact", "incident_id", "INC0010001").as_deref(),
        Some("outage")
    );
    assert_eq!(
        str_at(&df, "status", "incident_id", "INC0010001").as_deref(),
        Some("closed")
    );
    assert_eq!(
        str_at(&df, "caused_by_change_id", "incident_id", "INC0010001").as_deref(),
        Some("CHG0030001")
    );
    assert_eq!(
        str_at(&df, "status", "incident_id", "INC0010002").as_deref(),
        Some("open")
    );
    assert_eq!(str_at(&df, "asset_id", "incident_id", "INC0010003"), None);
    // 2025-03-04 09:15:00 read as UTC.
    assert_eq!(
        micros_at(&df, "started_at", "incident_id", "INC0010001"),
        1_741_079_700_000_000
    );

    // Changes: close codes and states to outcomes.
    let r = ingest(
        &w,
        "changes",
        &fixture("servicenow-change.csv"),
        &["--preset", "servicenow-change"],
    );
    assert_eq!(counts(&r), (5, 5, 0, 0, 0));
    let df = w.scan("changes");
    for (id, outcome) in [
        ("CHG0030001", "failed"),
        ("CHG0030002", "succeeded"),
        ("CHG0030003", "rolled_back"),
        ("CHG0030004", "cancelled"),
        ("CHG0030005", "in_progress"),
    ] {
        assert_eq!(
            str_at(&df, "outcome", "change_id", id).as_deref(),
            Some(outcome),
            "{id}"
        );
    }
    assert_eq!(
        str_at(&df, "kind", "change_id", "CHG0030003").as_deref(),
        Some("emergency")
    );
    assert_eq!(
        str_at(&df, "risk", "change_id", "CHG0030003").as_deref(),
        Some("high")
    );

    // Outages: planned ones are left out (counted), degradations are degraded incidents.
    let r = ingest(
        &w,
        "incidents",
        &fixture("servicenow-outage.csv"),
        &["--preset", "servicenow-outage"],
    );
    assert_eq!(counts(&r), (3, 2, 0, 1, 0));
    let df = w.scan("incidents");
    assert_eq!(
        str_at(&df, "impact", "incident_id", "INC0010007").as_deref(),
        Some("degraded")
    );
}

#[test]
fn servicenow_times_follow_source_tz() {
    let w = Work::new();
    ingest(
        &w,
        "incidents",
        &fixture("servicenow-incident.csv"),
        &[
            "--preset",
            "servicenow-incident",
            "--source-tz",
            "Europe/Berlin",
        ],
    );
    // 09:15 in Berlin (CET, UTC+1) on 4 March 2025 = 08:15Z.
    assert_eq!(
        micros_at(
            &w.scan("incidents"),
            "started_at",
            "incident_id",
            "INC0010001"
        ),
        1_741_076_100_000_000
    );
}

#[test]
fn pagerduty_api_objects_and_csv_export() {
    let w = Work::new();
    let r = ingest(
        &w,
        "incidents",
        &fixture("pagerduty-incidents.json"),
        &["--preset", "pagerduty-incidents"],
    );
    assert_eq!(counts(&r), (3, 3, 0, 0, 0));
    let df = w.scan("incidents");
    // P1 beats the urgency; resolved at the last status change; first acknowledgement.
    assert_eq!(
        str_at(&df, "severity", "incident_id", "PT4KHLK").as_deref(),
        Some("sev1")
    );
    assert_eq!(
        str_at(&df, "impact", "incident_id", "PT4KHLK").as_deref(),
        Some("outage")
    );
    assert_eq!(
        str_at(&df, "asset_id", "incident_id", "PT4KHLK").as_deref(),
        Some("payments-api")
    );
    assert_eq!(
        micros_at(&df, "resolved_at", "incident_id", "PT4KHLK"),
        1_741_082_460_000_000
    ); // 2025-03-04T10:01:00Z
    assert_eq!(
        micros_at(&df, "acknowledged_at", "incident_id", "PT4KHLK"),
        1_741_080_000_000_000
    ); // 09:20
    // No priority: low urgency = sev4; acknowledged, not resolved.
    assert_eq!(
        str_at(&df, "severity", "incident_id", "PT4KHLM").as_deref(),
        Some("sev4")
    );
    assert_eq!(
        str_at(&df, "status", "incident_id", "PT4KHLM").as_deref(),
        Some("open")
    );
    assert_eq!(str_at(&df, "resolved_at", "incident_id", "PT4KHLM"), None);
    assert_eq!(
        str_at(&df, "acknowledged_at", "incident_id", "PT4KHLN"),
        None
    );
    // The web UI export: the same incident updates, a new one is added.
    let r = ingest(
        &w,
        "incidents",
        &fixture("pagerduty-incidents.csv"),
        &["--preset", "pagerduty-incidents"],
    );
    assert_eq!(counts(&r), (2, 2, 0, 0, 0));
    assert_eq!(r["inserted"], 1);
    let df = w.scan("incidents");
    assert_eq!(
        str_at(&df, "asset_id", "incident_id", "PT4KHLP").as_deref(),
        Some("batch")
    );
    assert_eq!(
        micros_at(&df, "resolved_at", "incident_id", "PT4KHLP"),
        1_741_491_000_000_000
    ); // 2025-03-09T03:30Z
}

#[test]
fn opsgenie_and_statuspage_presets() {
    let w = Work::new();
    let r = ingest(
        &w,
        "incidents",
        &fixture("opsgenie-alerts.json"),
        &["--preset", "opsgenie-alerts"],
    );
    assert_eq!(counts(&r), (2, 2, 0, 0, 0));
    let df = w.scan("incidents");
    let id = "70413a06-38d6-4c85-92b8-5ebc900d42e2";
    assert_eq!(
        str_at(&df, "severity", "incident_id", id).as_deref(),
        Some("sev2")
    );
    assert_eq!(
        str_at(&df, "status", "incident_id", id).as_deref(),
        Some("closed")
    );
    assert_eq!(
        str_at(&df, "asset_id", "incident_id", id).as_deref(),
        Some("api-gateway")
    );
    // Impact starts before the alert was created.
    assert_eq!(
        micros_at(&df, "started_at", "incident_id", id),
        1_741_082_280_000_000
    ); // 09:58Z
    assert_eq!(
        micros_at(&df, "detected_at", "incident_id", id),
        1_741_082_400_000_000
    ); // 10:00Z

    // Statuspage incidents.json: the maintenance entry is left out; the oldest update is the
    // first customer notice; the first component is the asset.
    let r = ingest(
        &w,
        "incidents",
        &fixture("statuspage-incidents.json"),
        &["--preset", "statuspage-incidents"],
    );
    assert_eq!(counts(&r), (3, 2, 0, 1, 0));
    let df = w.scan("incidents");
    assert_eq!(
        str_at(&df, "severity", "incident_id", "p31zjtct2jer").as_deref(),
        Some("sev1")
    );
    assert_eq!(
        str_at(&df, "asset_id", "incident_id", "p31zjtct2jer").as_deref(),
        Some("Payments")
    );
    assert_eq!(
        micros_at(
            &df,
            "first_customer_notice_at",
            "incident_id",
            "p31zjtct2jer"
        ),
        1_741_080_120_000_000
    ); // 09:22Z
    assert_eq!(
        str_at(&df, "impact", "incident_id", "yqwmnh8bwpm3").as_deref(),
        Some("degraded")
    );
    let r = ingest(
        &w,
        "maintenance",
        &fixture("statuspage-maintenances.json"),
        &["--preset", "statuspage-maintenances"],
    );
    assert_eq!(counts(&r), (2, 2, 0, 0, 0));
    let df = w.scan("maintenance");
    assert_eq!(
        str_at(&df, "asset_id", "window_id", "w1").as_deref(),
        Some("Database")
    );
    assert_eq!(
        micros_at(&df, "ends_at", "window_id", "w1"),
        1_741_492_800_000_000
    ); // 2025-03-09T04:00Z
}

#[test]
fn deployment_presets_and_the_bitbucket_mapping() {
    let w = Work::new();
    let r = ingest(
        &w,
        "changes",
        &fixture("github-deployments.json"),
        &["--preset", "github-deployments"],
    );
    assert_eq!(counts(&r), (3, 3, 0, 0, 0));
    let df = w.scan("changes");
    assert_eq!(
        str_at(&df, "outcome", "change_id", "1001").as_deref(),
        Some("succeeded")
    );
    assert_eq!(
        str_at(&df, "outcome", "change_id", "1002").as_deref(),
        Some("failed")
    );
    assert_eq!(
        str_at(&df, "outcome", "change_id", "1003").as_deref(),
        Some("in_progress")
    );
    assert_eq!(
        str_at(&df, "asset_id", "change_id", "1003").as_deref(),
        Some("staging")
    );
    let r = ingest(
        &w,
        "changes",
        &fixture("gitlab-deployments.json"),
        &["--preset", "gitlab-deployments"],
    );
    assert_eq!(counts(&r), (3, 3, 0, 0, 0));
    let df = w.scan("changes");
    assert_eq!(
        str_at(&df, "outcome", "change_id", "42").as_deref(),
        Some("failed")
    );
    assert_eq!(
        str_at(&df, "outcome", "change_id", "43").as_deref(),
        Some("cancelled")
    );
    assert_eq!(
        micros_at(&df, "started_at", "change_id", "41"),
        1_741_075_260_000_000
    ); // deployable start 08:01Z
    let r = ingest(
        &w,
        "changes",
        &fixture("bitbucket-deployments.json"),
        &["--mapping", &doc_mapping("bitbucket-deployments.toml")],
    );
    assert_eq!(counts(&r), (2, 2, 0, 0, 0));
    assert!(r["mapping"].as_str().unwrap().starts_with("mapping:"));
    assert_eq!(
        str_at(&w.scan("changes"), "outcome", "change_id", "{d2}").as_deref(),
        Some("rolled_back")
    );
}

#[test]
fn churn_sheet_and_downtime_windows() {
    let w = Work::new();
    let r = ingest(
        &w,
        "churn",
        &fixture("churn-csv.csv"),
        &["--preset", "churn-csv"],
    );
    assert_eq!(counts(&r), (3, 3, 0, 0, 0));
    let df = w.scan("churn");
    assert_eq!(
        str_at(&df, "reason", "customer_id", "ACME-1").as_deref(),
        Some("reliability")
    );
    assert_eq!(
        str_at(&df, "kind", "customer_id", "ACME-2").as_deref(),
        Some("downgrade")
    );
    assert_eq!(
        str_at(&df, "mrr_lost", "customer_id", "ACME-2").as_deref(),
        Some("300.5")
    );
    assert_eq!(
        str_at(&df, "reason", "customer_id", "ACME-3").as_deref(),
        Some("other")
    );
    // Downtime windows: maintenance left out; mitigation = start + duration_minutes.
    let r = ingest(
        &w,
        "incidents",
        &fixture("downtime_windows.csv"),
        &[
            "--mapping",
            &doc_mapping("statuspage-downtime-windows.toml"),
        ],
    );
    assert_eq!(counts(&r), (3, 2, 0, 1, 0));
    let df = w.scan("incidents");
    // 2022-03-27T10:00Z + 45 min = 10:45Z = 1648377900 s.
    assert_eq!(
        micros_at(&df, "mitigated_at", "incident_id", "9640000"),
        1_648_377_900_000_000
    );
    assert_eq!(
        str_at(&df, "severity", "incident_id", "9640000").as_deref(),
        Some("sev2")
    );
}

#[test]
fn the_walkthrough_event_log_keeps_the_latest_row_per_incident() {
    let w = Work::new();
    // Latin-1, `;`-separated, day-first dates in Berlin time, `?` for unknown values, three rows
    // for INC0042 of which the last (Resolved) is kept.
    let r = ingest(
        &w,
        "incidents",
        &fixture("servicenow-audit-log.csv"),
        &["--mapping", &doc_mapping("servicenow-audit-log.toml")],
    );
    assert_eq!(counts(&r), (4, 2, 0, 0, 2));
    assert_eq!(r["source_tz"], "Europe/Berlin");
    let df = w.scan("incidents");
    assert_eq!(
        str_at(&df, "status", "incident_id", "INC0042").as_deref(),
        Some("resolved")
    );
    // 5/3/2025 = 5 March; 09:00 Berlin (CET) = 08:00Z; resolved 10:30 Berlin = 09:30Z.
    assert_eq!(
        micros_at(&df, "started_at", "incident_id", "INC0042"),
        1_741_161_600_000_000
    );
    assert_eq!(
        micros_at(&df, "resolved_at", "incident_id", "INC0042"),
        1_741_167_000_000_000
    );
    assert_eq!(
        str_at(&df, "title", "incident_id", "INC0043").as_deref(),
        Some("Café wifi down")
    );
    assert_eq!(str_at(&df, "asset_id", "incident_id", "INC0043"), None);
    assert_eq!(str_at(&df, "resolved_at", "incident_id", "INC0043"), None);
}

#[test]
fn mapping_typos_name_the_problem_and_the_nearest_valid_name() {
    let w = Work::new();
    let base = std::fs::read_to_string(doc_mapping("servicenow-audit-log.toml")).unwrap();
    let audit = fixture("servicenow-audit-log.csv");
    let cases = [
        (
            base.replace("[columns.incident_id]", "[columns.incidnet_id]"),
            "`incidnet_id` is not a column of `incidents` (did you mean `incident_id`?)",
        ),
        (
            base.replace("from = \"Number\"", "from = \"Numbr\""),
            "field `Numbr` is not in the file; nearest: `Number`",
        ),
        (
            base.replace(
                "from = \"Short description\"",
                "fromm = \"Short description\"",
            ),
            "unknown field `fromm`",
        ),
        (
            base.replace("\"4 - Low\" = \"sev4\", ", ""),
            "mapping columns.severity: values not in its map: `4 - Low` (1 row)",
        ),
        (
            base.replace(
                "[columns.started_at]\nfrom = \"Opened\"\nformat = \"%d/%m/%Y %H:%M\"",
                "[columns.started_at]\nfrom = \"Opened\"\nformat = \"%Y-%m-%d %H:%M\"",
            ),
            "mapping columns.started_at: no value matches the format `%Y-%m-%d %H:%M`",
        ),
        (
            base.replace("dataset = \"incidents\"", "dataset = \"incident\""),
            "unknown dataset `incident` (did you mean `incidents`?)",
        ),
    ];
    for (i, (text, expected)) in cases.iter().enumerate() {
        let file = format!("typo{i}.toml");
        w.write(&file, text);
        let (code, err) = w.fail(&[
            "--lake",
            "lake",
            "ingest",
            "incidents",
            &audit,
            "--mapping",
            &file,
        ]);
        assert_eq!(code, 2, "{err}");
        assert!(
            err.contains(expected),
            "case {i}: expected {expected:?} in\n{err}"
        );
        assert!(
            w.manifest_bytes().is_none(),
            "a failed mapping must not touch the lake"
        );
    }
    let (_, err) = w.fail(&[
        "--lake",
        "lake",
        "ingest",
        "incidents",
        &audit,
        "--preset",
        "servicenow-incidnt",
    ]);
    assert!(err.contains("did you mean `servicenow-incident`"), "{err}");
    let (_, err) = w.fail(&[
        "--lake",
        "lake",
        "ingest",
        "changes",
        &fixture("pagerduty-incidents.json"),
        "--preset",
        "pagerduty-incidents",
    ]);
    assert!(
        err.contains("the mapping produces `incidents`, not `changes`"),
        "{err}"
    );
}

#[test]
fn mapping_check_previews_without_touching_the_lake_and_list_shows_presets() {
    let w = Work::new();
    let out = w.ok(&[
        "--lake",
        "lake",
        "mapping",
        "check",
        &doc_mapping("servicenow-audit-log.toml"),
        &fixture("servicenow-audit-log.csv"),
    ]);
    assert!(out.contains("4 rows read → 2 accepted, 0 rejected, 0 left out by keep/drop, 2 older event rows merged"), "{out}");
    assert!(
        out.contains("INC0042") && out.contains("2025-03-05T08:00:00Z"),
        "{out}"
    );
    assert!(!w.path("lake").exists());
    let check = w.ok(&[
        "mapping",
        "check",
        "servicenow-incident",
        &fixture("servicenow-incident.csv"),
    ]);
    assert!(
        check.contains(":6: started_at: value `08.03.2025 08:00`"),
        "{check}"
    );
    let list = w.ok(&["mapping", "list"]);
    for p in [
        "servicenow-incident",
        "servicenow-change",
        "servicenow-outage",
        "pagerduty-incidents",
        "opsgenie-alerts",
        "statuspage-incidents",
        "statuspage-maintenances",
        "github-deployments",
        "gitlab-deployments",
        "churn-csv",
    ] {
        assert!(list.contains(p), "{p}");
    }
    assert!(
        w.ok(&["mapping", "show", "churn-csv"])
            .contains("dataset = \"churn\"")
    );
}

#[test]
fn reingest_through_the_same_mapping_is_a_no_op_and_sync_runs_every_source() {
    let w = Work::new();
    let file = fixture("churn-csv.csv");
    ingest(&w, "churn", &file, &["--preset", "churn-csv"]);
    let again = w.ok(&[
        "--lake",
        "lake",
        "ingest",
        "churn",
        &file,
        "--preset",
        "churn-csv",
    ]);
    assert!(again.contains("already ingested"), "{again}");

    // A nightly job: two sources; one file of the first is broken and fails alone.
    let sn = std::fs::read(fixture("servicenow-incident.csv")).unwrap();
    w.write("exports/sn/2025-03-01.csv", &sn);
    let broken = String::from_utf8_lossy(&sn).replace(",3,", ",9,");
    w.write("exports/sn/2025-03-02.csv", broken);
    w.write(
        "exports/pd/incidents.json",
        std::fs::read(fixture("pagerduty-incidents.json")).unwrap(),
    );
    w.write(
        "opsintel.toml",
        "[[sources]]\ndataset = \"incidents\"\nfiles = \"exports/sn/*.csv\"\npreset = \"servicenow-incident\"\nsource_tz = \"UTC\"\n\n[[sources]]\ndataset = \"incidents\"\nfiles = \"exports/pd/*.json\"\npreset = \"pagerduty-incidents\"\n",
    );
    let out = w.run(&["--lake", "lake", "sync"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("2025-03-01.csv")
            && stdout.contains("ingested: 4 read, 3 accepted, 1 rejected"),
        "{stdout}"
    );
    assert!(
        stdout.contains("failed:") && stderr.contains("values not in its map: `9`"),
        "{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("incidents.json") && stdout.contains("ingested: 3 read, 3 accepted"),
        "{stdout}"
    );
    assert_eq!(w.rows("incidents"), 6);
    // Fix the broken file; the next run ingests only it.
    std::fs::remove_file(w.path("exports/sn/2025-03-02.csv")).unwrap();
    let out = w.ok(&["--lake", "lake", "sync"]);
    assert_eq!(out.matches("unchanged").count(), 2, "{out}");
    let (code, err) = w.fail(&["--lake", "lake", "sync", "--config", "nope.toml"]);
    assert_eq!(code, 2);
    assert!(err.contains("no project file"), "{err}");
}

#[test]
fn event_logs_can_pick_the_first_or_last_value_and_columns_can_be_assembled() {
    let w = Work::new();
    let base = std::fs::read_to_string(doc_mapping("servicenow-audit-log.toml")).unwrap();
    // detected_at: the first Updated of each incident (when it was logged as New);
    // title: number and description assembled.
    let extra = "\n[columns.detected_at]\nfrom = \"Updated\"\nformat = \"%d/%m/%Y %H:%M\"\npick = \"first\"\n";
    let text = base.replace(
        "[columns.title]\nfrom = \"Short description\"",
        "[columns.title]\nconcat = [\"Number\", \"Short description\"]\nsep = \" - \"",
    ) + extra;
    w.write("audit.toml", &text);
    ingest(
        &w,
        "incidents",
        &fixture("servicenow-audit-log.csv"),
        &["--mapping", "audit.toml"],
    );
    let df = w.scan("incidents");
    // INC0042 was logged at 09:00 Berlin (08:00Z) and resolved in its latest row.
    assert_eq!(
        micros_at(&df, "detected_at", "incident_id", "INC0042"),
        1_741_161_600_000_000
    );
    assert_eq!(
        str_at(&df, "status", "incident_id", "INC0042").as_deref(),
        Some("resolved")
    );
    assert_eq!(
        str_at(&df, "title", "incident_id", "INC0042").as_deref(),
        Some("INC0042 - Login fails for SSO users")
    );
    // `pick = "last"` on a field that is `?` (missing) until the last row takes that row's value.
    let last = base
        + "\n[columns.mitigated_at]\nfrom = \"Resolved\"\nformat = \"%d/%m/%Y %H:%M\"\npick = \"last\"\n";
    w.write("audit2.toml", &last);
    w.ok(&[
        "--lake",
        "lake2",
        "ingest",
        "incidents",
        &fixture("servicenow-audit-log.csv"),
        "--mapping",
        "audit2.toml",
    ]);
    let glob = w.path("lake2/incidents/**/*.parquet");
    let df2 = polars::prelude::LazyFrame::scan_parquet(
        polars::prelude::PlRefPath::new(glob.to_str().unwrap()),
        Default::default(),
    )
    .unwrap()
    .collect()
    .unwrap();
    assert_eq!(
        micros_at(&df2, "mitigated_at", "incident_id", "INC0042"),
        1_741_167_000_000_000
    ); // 09:30Z
    // Without `latest`, `pick` is refused.
    let no_latest = std::fs::read_to_string(w.path("audit2.toml"))
        .unwrap()
        .replace(
            "latest = { key = \"Number\", by = \"Updated\", format = \"%d/%m/%Y %H:%M\" }\n",
            "",
        );
    w.write("audit3.toml", no_latest);
    let (_, err) = w.fail(&[
        "--lake",
        "lake3",
        "ingest",
        "incidents",
        &fixture("servicenow-audit-log.csv"),
        "--mapping",
        "audit3.toml",
    ]);
    assert!(err.contains("`pick` needs `latest`"), "{err}");
}
