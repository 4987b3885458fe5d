//! Integration tests: drive the real `opsintel` binary in temporary directories.
//!
//! Expected values are worked out by hand in the comments next to each fixture.

mod common;

use common::*;
use polars::prelude::*;
use std::fs;
use std::process::Stdio;
use std::time::Duration;

#[test]
fn sample_data_ingests_completely_and_reingest_is_a_no_op() {
    let w = Work::new();
    let sample = repo().join("sample-data");
    let out = w.ok(&[
        "--lake",
        "lake",
        "ingest",
        "--dir",
        sample.to_str().unwrap(),
    ]);
    assert!(out.contains("incidents"), "{out}");
    let m = w.manifest();
    for ds in DATASETS {
        let expected = csv_rows(&sample.join(format!("{ds}.csv")));
        assert_eq!(w.rows(ds), expected, "{ds}");
        let ing = m["ingests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["dataset"] == ds)
            .unwrap();
        assert_eq!(ing["rows_read"].as_u64(), Some(expected), "{ds}");
        assert_eq!(ing["accepted"].as_u64(), Some(expected), "{ds}");
        assert_eq!(ing["rejected"].as_u64(), Some(0), "{ds}");
        assert_eq!(ing["inserted"].as_u64(), Some(expected), "{ds}");
    }
    // Partitioned by month: 36 months of incidents.
    assert_eq!(
        m["datasets"]["incidents"]["files"]
            .as_array()
            .unwrap()
            .len(),
        36
    );

    let before = w.manifest_bytes();
    let again = w.ok(&[
        "--lake",
        "lake",
        "ingest",
        "--dir",
        sample.to_str().unwrap(),
    ]);
    assert_eq!(again.matches("already ingested").count(), 9, "{again}");
    assert_eq!(
        w.manifest_bytes(),
        before,
        "a re-ingest must not change the lake"
    );

    let status = w.ok(&["lake", "status", "--lake", "lake"]);
    assert!(status.contains("incidents"), "{status}");
    assert!(
        status.contains(&format!("{}", w.rows("customers"))),
        "{status}"
    );
    let check = w.ok(&["--lake", "lake", "lake", "check", "--as-of", "2026-11-01"]);
    assert!(check.contains("incidents unresolved 30+ days"), "{check}");
}

#[test]
fn sample_data_is_what_the_generator_writes() {
    let w = Work::new();
    w.ok(&["generate", "--out", "gen"]);
    let sample = repo().join("sample-data");
    for ds in DATASETS {
        let name = format!("{ds}.csv");
        assert!(
            fs::read(w.path("gen").join(&name)).unwrap() == fs::read(sample.join(&name)).unwrap(),
            "{name} differs from a fresh `opsintel generate`"
        );
    }
    // Same seed twice: identical; another seed: different.
    w.ok(&[
        "generate",
        "--out",
        "a",
        "--seed",
        "11",
        "--customers",
        "40",
        "--months",
        "6",
    ]);
    w.ok(&[
        "generate",
        "--out",
        "b",
        "--seed",
        "11",
        "--customers",
        "40",
        "--months",
        "6",
    ]);
    w.ok(&[
        "generate",
        "--out",
        "c",
        "--seed",
        "12",
        "--customers",
        "40",
        "--months",
        "6",
    ]);
    for ds in DATASETS {
        let name = format!("{ds}.csv");
        assert_eq!(
            fs::read(w.path("a").join(&name)).unwrap(),
            fs::read(w.path("b").join(&name)).unwrap(),
            "{name}"
        );
    }
    assert_ne!(
        fs::read(w.path("a/incidents.csv")).unwrap(),
        fs::read(w.path("c/incidents.csv")).unwrap()
    );
}

#[test]
fn sample_story_holds() {
    // The two troublesome components have the most incidents, and MTTR improves: the mean
    // time to mitigate of the last 12 months is well below that of the first 12.
    let df = CsvReadOptions::default()
        .try_into_reader_with_file_path(Some(repo().join("sample-data/incidents.csv")))
        .unwrap()
        .finish()
        .unwrap();
    let top = df
        .clone()
        .lazy()
        .group_by([col("asset_id")])
        .agg([len().alias("n")])
        .sort(
            ["n"],
            SortMultipleOptions::default().with_order_descending(true),
        )
        .limit(2)
        .collect()
        .unwrap();
    let mut names: Vec<String> = top
        .column("asset_id")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|s| s.unwrap().to_string())
        .collect();
    names.sort();
    assert_eq!(names, vec!["es-search", "integrations"]);
    let iso = StrptimeOptions {
        format: Some("%Y-%m-%dT%H:%M:%SZ".into()),
        ..Default::default()
    };
    let mttm = |from: &str, to: &str| -> f64 {
        let q = df
            .clone()
            .lazy()
            .filter(
                col("started_at")
                    .gt_eq(lit(from))
                    .and(col("started_at").lt(lit(to)))
                    .and(col("mitigated_at").is_not_null()),
            )
            .select([(col("mitigated_at").str().to_datetime(
                None,
                None,
                iso.clone(),
                lit("raise"),
            ) - col("started_at").str().to_datetime(
                None,
                None,
                iso.clone(),
                lit("raise"),
            ))
            .dt()
            .total_minutes(false)
            .mean()
            .alias("m")])
            .collect()
            .unwrap();
        q.column("m").unwrap().f64().unwrap().get(0).unwrap()
    };
    let first = mttm("2023-11", "2024-11");
    let last = mttm("2025-11", "2026-11");
    assert!(
        last < 0.8 * first,
        "MTTR should improve: first year {first:.0} min, last year {last:.0} min"
    );
}

#[test]
fn newer_exports_update_records_by_key() {
    let w = Work::new();
    // v1: three incidents.
    w.write(
        "v1.csv",
        "incident_id,title,severity,started_at,status,updated_at\n\
         I1,db down,sev1,2025-01-01T10:00:00Z,open,2025-01-01T10:00:00Z\n\
         I2,slow,sev3,2025-01-02T10:00:00Z,open,2025-01-02T10:00:00Z\n\
         I3,blip,sev4,2025-02-03T10:00:00Z,resolved,\n",
    );
    w.ok(&["--lake", "lake", "ingest", "incidents", "v1.csv"]);
    assert_eq!(w.rows("incidents"), 3);
    // v2:
    //   I1 newer updated_at, now resolved        -> updated
    //   I2 older updated_at, says closed         -> unchanged (the lake's newer record stays)
    //   I3 identical                             -> unchanged
    //   I4 new, twice; the later row wins        -> inserted, 1 duplicate merged
    w.write(
        "v2.csv",
        "incident_id,title,severity,started_at,status,updated_at\n\
         I1,db down,sev1,2025-01-01T10:00:00Z,resolved,2025-01-01T12:00:00Z\n\
         I2,slow,sev3,2025-01-02T10:00:00Z,closed,2025-01-02T09:00:00Z\n\
         I3,blip,sev4,2025-02-03T10:00:00Z,resolved,\n\
         I4,first title,sev2,2025-03-01T10:00:00Z,open,\n\
         I4,second title,sev2,2025-03-01T10:00:00Z,open,\n",
    );
    w.ok(&["--lake", "lake", "ingest", "incidents", "v2.csv"]);
    let m = w.manifest();
    let last = m["ingests"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["rows_read"], 5);
    assert_eq!(last["accepted"], 5);
    assert_eq!(last["inserted"], 1);
    assert_eq!(last["updated"], 1);
    assert_eq!(last["unchanged"], 2);
    assert_eq!(last["duplicates_in_file"], 1);
    assert_eq!(w.rows("incidents"), 4);
    let df = w.scan("incidents");
    assert_eq!(df.height(), 4);
    assert_eq!(
        str_at(&df, "status", "incident_id", "I1").as_deref(),
        Some("resolved")
    );
    assert_eq!(
        str_at(&df, "status", "incident_id", "I2").as_deref(),
        Some("open")
    );
    assert_eq!(
        str_at(&df, "title", "incident_id", "I4").as_deref(),
        Some("second title")
    );
    // I3 lives in the February partition, the others in January and March.
    let months: Vec<String> = w.manifest()["datasets"]["incidents"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["partition"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(months, vec!["2025-01", "2025-02", "2025-03"]);

    // A record whose updated_at is tied goes to the later ingest.
    w.write("v3.csv", "incident_id,title,severity,started_at,status,updated_at\nI1,db down,sev1,2025-01-01T10:00:00Z,closed,2025-01-01T12:00:00Z\n");
    w.ok(&["--lake", "lake", "ingest", "incidents", "v3.csv"]);
    assert_eq!(
        str_at(&w.scan("incidents"), "status", "incident_id", "I1").as_deref(),
        Some("closed")
    );
}

#[test]
fn timestamps_are_normalised_to_utc() {
    let w = Work::new();
    // Naive times are read in --source-tz; offsets are honoured as given.
    //   A: 2025-01-15 10:00 Berlin (CET, UTC+1)  = 09:00Z = 1736931600 s
    //   B: 2025-07-01T10:00:00-04:00            = 14:00Z = 1751378400 s
    //   C: 2025-07-01 10:00 Berlin (CEST, UTC+2) = 08:00Z = 1751356800 s
    w.write(
        "tz.csv",
        "incident_id,severity,started_at\nA,sev2,2025-01-15 10:00\nB,sev2,2025-07-01T10:00:00-04:00\nC,sev2,2025-07-01 10:00\n",
    );
    w.ok(&[
        "--lake",
        "lake",
        "ingest",
        "incidents",
        "tz.csv",
        "--source-tz",
        "Europe/Berlin",
    ]);
    let df = w.scan("incidents");
    assert_eq!(
        micros_at(&df, "started_at", "incident_id", "A"),
        1_736_931_600_000_000
    );
    assert_eq!(
        micros_at(&df, "started_at", "incident_id", "B"),
        1_751_378_400_000_000
    );
    assert_eq!(
        micros_at(&df, "started_at", "incident_id", "C"),
        1_751_356_800_000_000
    );
    assert_eq!(
        df.column("started_at").unwrap().dtype(),
        &DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC))
    );
    let (code, err) = w.fail(&[
        "--lake",
        "lake",
        "ingest",
        "incidents",
        "tz.csv",
        "--source-tz",
        "Europe/Berln",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("did you mean `Europe/Berlin`"), "{err}");
}

const BAD_ROWS: &str = "incident_id,severity,started_at,mitigated_at,resolved_at,impact,asset_id\n\
I1,sev1,2025-01-01T10:00:00Z,2025-01-01T11:00:00Z,2025-01-01T12:00:00Z,outage,a\n\
I2,,2025-01-02T10:00:00Z,,,,a\n\
I3,sev2,yesterday,,,,a\n\
I4,sev9,2025-01-03T10:00:00Z,,,,a\n\
I5,sev2,2025-01-04T10:00:00Z,2025-01-04T09:00:00Z,,,a\n\
I6,SEV3,2025-01-05 10:00,,,Outage,a\n\
I7,sev3,2025-01-06T10:00:00Z,,,partial,a,extra\n";

#[test]
fn bad_rows_are_quarantined_with_line_column_and_reason() {
    // Read at once, and one record per chunk: the same lines and reasons.
    for chunk in ["64M", "1"] {
        bad_rows_case(chunk);
    }
}

fn bad_rows_case(chunk: &str) {
    let w = Work::new();
    w.write("inc.csv", BAD_ROWS);
    let out = w.run(&[
        "--lake",
        "lake",
        "ingest",
        "incidents",
        "inc.csv",
        "--chunk-size",
        chunk,
    ]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    // 7 rows read: I1 and I6 good; I2..I5 and I7 rejected.
    let ing = w.manifest()["ingests"][0].clone();
    assert_eq!(
        (
            ing["rows_read"].as_u64(),
            ing["accepted"].as_u64(),
            ing["rejected"].as_u64()
        ),
        (Some(7), Some(2), Some(5))
    );
    assert!(
        stderr.contains("inc.csv:3: column `severity`: required value is missing"),
        "{stderr}"
    );
    assert!(
        stderr.contains("inc.csv:4: column `started_at` value \"yesterday\": not a timestamp"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "inc.csv:5: column `severity` value \"sev9\": unknown value; expected one of sev1"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("inc.csv:6: column `mitigated_at` value \"2025-01-04T09:00:00Z\": mitigated_at is before started_at"), "{stderr}");
    // The rejects file keeps every problem and the whole original record.
    let rel = ing["rejects_file"].as_str().unwrap();
    assert!(
        stderr.contains(rel),
        "the summary points to the rejects file: {stderr}"
    );
    let rejects = CsvReadOptions::default()
        .with_infer_schema_length(Some(0))
        .try_into_reader_with_file_path(Some(w.path("lake").join(rel)))
        .unwrap()
        .finish()
        .unwrap();
    assert_eq!(rejects.height(), 5);
    let lines: Vec<&str> = rejects
        .column("line")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|v| v.unwrap())
        .collect();
    assert_eq!(lines, vec!["3", "4", "5", "6", "8"]);
    let reason8 = rejects
        .column("reason")
        .unwrap()
        .str()
        .unwrap()
        .get(4)
        .unwrap()
        .to_string();
    assert_eq!(reason8, "the record has 8 fields, the header has 7");
    let record4: serde_json::Value = serde_json::from_str(
        rejects
            .column("record")
            .unwrap()
            .str()
            .unwrap()
            .get(1)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(record4["incident_id"], "I3");
    assert_eq!(record4["started_at"], "yesterday");
    // Accepted rows are normalised: SEV3 -> sev3, Outage -> outage.
    let df = w.scan("incidents");
    assert_eq!(
        str_at(&df, "severity", "incident_id", "I6").as_deref(),
        Some("sev3")
    );
    assert_eq!(
        str_at(&df, "impact", "incident_id", "I6").as_deref(),
        Some("outage")
    );
}

#[test]
fn json_and_ndjson_inputs_name_their_lines() {
    let w = Work::new();
    w.write(
        "ch.json",
        "[\n  {\"change_id\": \"C1\", \"asset_id\": \"db\", \"started_at\": \"2025-05-01T10:00:00Z\", \"outcome\": \"Rolled Back\"},\n  {\"change_id\": \"C2\", \"asset_id\": \"db\", \"started_at\": \"2025-05-02T10:00:00Z\", \"outcome\": \"exploded\"}\n]\n",
    );
    w.write(
        "ch.ndjson",
        "{\"change_id\": \"C3\", \"asset_id\": \"db\", \"started_at\": \"2025-05-03T10:00:00Z\", \"outcome\": \"succeeded\"}\nnot json at all\n{\"change_id\": \"C4\", \"asset_id\": \"db\", \"started_at\": \"2025-05-04T10:00:00Z\", \"finished_at\": \"2025-05-04T09:00:00Z\", \"outcome\": \"failed\"}\n",
    );
    let out = w.run(&[
        "--lake",
        "lake",
        "ingest",
        "changes",
        "ch.json",
        "ch.ndjson",
    ]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("ch.json:3: column `outcome` value \"exploded\": unknown value"),
        "{stderr}"
    );
    assert!(
        stderr.contains("ch.ndjson:2: invalid JSON at column 2: expected ident"),
        "{stderr}"
    );
    assert!(
        stderr.contains("ch.ndjson:3: column `finished_at`"),
        "{stderr}"
    );
    assert_eq!(w.rows("changes"), 2);
    assert_eq!(
        str_at(&w.scan("changes"), "outcome", "change_id", "C1").as_deref(),
        Some("rolled_back")
    );
}

#[test]
fn unreadable_files_fail_with_a_clear_error_and_leave_the_lake_untouched() {
    let w = Work::new();
    w.write("good.csv", "customer_id,name,arr\nC1,Acme,1000\n");
    w.ok(&["--lake", "lake", "ingest", "customers", "good.csv"]);
    let before = w.manifest_bytes();
    w.write("missing.csv", "customer_id,nmae\nC2,Beta\n");
    w.write(
        "latin1.csv",
        b"customer_id,name,arr\nC2,Caf\xe9 SA,10\n".to_vec(),
    );
    w.write("empty.csv", "");
    w.write("binary.csv", b"PK\x03\x04\x00\x00binary".to_vec());
    w.write(
        "broken.json",
        "[\n  {\"customer_id\": \"C2\",\n   \"name\": }\n]\n",
    );
    let cases: [(&str, &str); 6] = [
        (
            "missing.csv",
            "missing.csv: missing required columns `name`, `arr` for dataset `customers` (found: customer_id, nmae)",
        ),
        (
            "latin1.csv",
            "latin1.csv: not valid UTF-8 at line 2, column 7 (byte 0xE9)",
        ),
        ("empty.csv", "empty.csv: the file is empty"),
        ("binary.csv", "binary.csv: this is not a text file"),
        (
            "broken.json",
            "broken.json: invalid JSON at line 3, column 12: expected value",
        ),
        ("nope.csv", "nope.csv: file not found"),
    ];
    for (file, expected) in cases {
        let (code, err) = w.fail(&["--lake", "lake", "ingest", "customers", file]);
        assert_eq!(code, 2, "{file}: {err}");
        assert!(err.starts_with("error: "), "{err}");
        assert!(
            err.contains(expected),
            "{file}: expected {expected:?} in {err}"
        );
        assert_eq!(w.manifest_bytes(), before, "{file} changed the lake");
    }
    let (_, err) = w.fail(&["--lake", "lake", "ingest", "customers", "missing.csv"]);
    assert!(err.contains("hint: rename `nmae` → `name`?"), "{err}");
    // --dir with one bad file: nothing of the directory is ingested.
    w.write("dir/customers.csv", "customer_id,name,arr\nC9,Nine,9\n");
    w.write("dir/incidents.csv", "");
    let (code, _) = w.fail(&["--lake", "lake", "ingest", "--dir", "dir"]);
    assert_eq!(code, 2);
    assert_eq!(w.manifest_bytes(), before);
    // A mistyped dataset.
    let (code, err) = w.fail(&["--lake", "lake", "ingest", "custmers", "good.csv"]);
    assert_eq!(code, 2);
    assert!(err.contains("did you mean `customers`"), "{err}");
}

#[test]
fn strict_ingest_writes_nothing_when_a_row_is_rejected() {
    let w = Work::new();
    w.write("inc.csv", BAD_ROWS);
    let (code, err) = w.fail(&[
        "--lake",
        "lake",
        "ingest",
        "incidents",
        "inc.csv",
        "--strict",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("inc.csv: 5 of 7 rows rejected; --strict: nothing was written"),
        "{err}"
    );
    assert!(err.contains("inc.csv:3: column `severity`"), "{err}");
    assert!(w.manifest_bytes().is_none());
    assert!(!w.path("lake/incidents").exists());
}

#[test]
fn another_tool_reads_the_lake_as_plain_parquet() {
    let w = Work::new();
    let sample = repo().join("sample-data");
    w.ok(&[
        "--lake",
        "lake",
        "ingest",
        "--dir",
        sample.to_str().unwrap(),
    ]);
    for ds in DATASETS {
        let df = w.scan(ds);
        assert_eq!(df.height() as u64, w.rows(ds), "{ds}");
    }
    let inc = w.scan("incidents");
    // Hive partition key comes from the path.
    assert!(inc.column("month").is_ok());
    assert_eq!(
        inc.column("started_at").unwrap().dtype(),
        &DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC))
    );
    assert_eq!(
        inc.column("customer_ids").unwrap().dtype(),
        &DataType::List(Box::new(DataType::String))
    );
    // A single file opens on its own too.
    let one = fs::read_dir(w.path("lake/customers"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let df = ParquetReader::new(fs::File::open(one).unwrap())
        .finish()
        .unwrap();
    assert_eq!(df.height() as u64, w.rows("customers"));
}

#[test]
fn a_second_writer_is_refused_while_the_lake_is_locked() {
    let w = Work::new();
    w.write("c.csv", "customer_id,name,arr\nC1,Acme,1000\n");
    w.ok(&["--lake", "lake", "ingest", "customers", "c.csv"]);
    let lock = fs::OpenOptions::new()
        .write(true)
        .open(w.path("lake/_opsintel/lock"))
        .unwrap();
    lock.try_lock().unwrap();
    w.write("d.csv", "customer_id,name,arr\nC2,Beta,2000\n");
    let (code, err) = w.fail(&["--lake", "lake", "ingest", "customers", "d.csv"]);
    assert_eq!(code, 3);
    assert!(err.contains("is locked by another ingest"), "{err}");
    lock.unlock().unwrap();
    w.ok(&["--lake", "lake", "ingest", "customers", "d.csv"]);
    assert_eq!(w.rows("customers"), 2);
}

#[test]
fn concurrent_ingests_never_corrupt_the_lake() {
    let w = Work::new();
    let sample = repo().join("sample-data");
    w.write("c.csv", "customer_id,name,arr\nC1,Acme,1000\n");
    w.ok(&["--lake", "lake", "ingest", "customers", "c.csv"]);
    for round in 0..3 {
        let datasets = ["changes", "incidents", "revenue"];
        let children: Vec<_> = datasets
            .iter()
            .map(|ds| {
                w.command(&[
                    "--lake",
                    "lake",
                    "ingest",
                    ds,
                    sample.join(format!("{ds}.csv")).to_str().unwrap(),
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
            })
            .collect();
        let mut succeeded = 0;
        for (ds, child) in datasets.iter().zip(children) {
            let out = child.wait_with_output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            match out.status.code() {
                Some(0) => succeeded += 1,
                Some(3) => assert!(err.contains("locked by another ingest"), "{ds}: {err}"),
                other => panic!("round {round}, {ds}: exit {other:?}: {err}"),
            }
        }
        // Whoever takes the lock first finishes; the others are refused, never half-applied.
        assert!(succeeded >= 1, "round {round}: nobody got the lock");
        w.ok(&["--lake", "lake", "lake", "status"]);
        w.ok(&["--lake", "lake", "lake", "check"]);
    }
    // Whatever got in is complete.
    for ds in ["changes", "incidents", "revenue"] {
        let rows = w.rows(ds);
        assert!(
            rows == 0 || rows == csv_rows(&sample.join(format!("{ds}.csv"))),
            "{ds}: {rows}"
        );
        if rows > 0 {
            assert_eq!(w.scan(ds).height() as u64, rows, "{ds}");
        }
    }
}

#[test]
fn kill_9_during_an_ingest_leaves_the_old_or_the_new_lake() {
    let w = Work::new();
    let sample = repo().join("sample-data");
    // Baseline: the sample data. Then a bigger export of the same shape (overlapping keys).
    w.ok(&[
        "--lake",
        "lake",
        "ingest",
        "--dir",
        sample.to_str().unwrap(),
    ]);
    w.ok(&["generate", "--out", "big", "--seed", "3", "--scale", "6"]);
    let baseline: Vec<u64> = DATASETS.iter().map(|d| w.rows(d)).collect();
    let mut killed_midway = 0;
    for delay_ms in [40u64, 120, 250, 400, 600, 900, 1300, 1800] {
        let mut child = w
            .command(&["--lake", "lake", "ingest", "--dir", "big"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let finished = child.try_wait().unwrap().is_some();
        child.kill().ok(); // SIGKILL
        child.wait().unwrap();
        // The lake must read cleanly and be entirely old or entirely new.
        w.ok(&["--lake", "lake", "lake", "status"]);
        w.ok(&["--lake", "lake", "lake", "check"]);
        let now: Vec<u64> = DATASETS.iter().map(|d| w.rows(d)).collect();
        for (i, ds) in DATASETS.iter().enumerate() {
            assert_eq!(
                w.scan(ds).height() as u64,
                now[i],
                "{ds} after kill at {delay_ms} ms"
            );
        }
        if now == baseline {
            killed_midway += !finished as u32;
        } else {
            // The transaction committed: every dataset has the merged content.
            break;
        }
    }
    assert!(
        killed_midway > 0,
        "no kill landed during the ingest; the test proved nothing"
    );
    // Finishing the ingest afterwards gives the complete result, and nothing old is lost.
    w.ok(&["--lake", "lake", "ingest", "--dir", "big"]);
    for (i, ds) in DATASETS.iter().enumerate() {
        let big = csv_rows(&w.path("big").join(format!("{ds}.csv")));
        assert!(
            w.rows(ds) >= big.max(baseline[i]),
            "{ds}: {} < max({big}, {})",
            w.rows(ds),
            baseline[i]
        );
    }
    // No leftovers: one version directory per dataset.
    for ds in DATASETS {
        assert_eq!(
            fs::read_dir(w.path(&format!("lake/_opsintel/data/{ds}")))
                .unwrap()
                .count(),
            1,
            "{ds}"
        );
    }
}

#[test]
fn lake_check_reports_what_users_must_fix() {
    let w = Work::new();
    // assets: a -> b -> c -> a is a cycle; d depends on the unknown `ghost`.
    w.write(
        "assets.csv",
        "asset_id,name,depends_on\na,A,b\nb,B,c\nc,C,a\nd,D,ghost\n",
    );
    w.write("customers.csv", "customer_id,name,arr\nK1,Known,100\n");
    // incidents: I2 names unknown asset `zz`; I3 unknown customer `K9`; I4 open since 2025-01-01.
    w.write(
        "incidents.csv",
        "incident_id,severity,started_at,resolved_at,asset_id,customer_ids,status\n\
         I1,sev2,2025-03-01T00:00:00Z,2025-03-01T01:00:00Z,a,,resolved\n\
         I2,sev2,2025-03-02T00:00:00Z,2025-03-02T01:00:00Z,zz,,resolved\n\
         I3,sev3,2025-03-03T00:00:00Z,2025-03-03T01:00:00Z,b,K1;K9,resolved\n\
         I4,sev4,2025-01-01T00:00:00Z,,c,,open\n",
    );
    w.write(
        "churn.csv",
        "customer_id,churned_at,mrr_lost\nK1,2025-04-01,10\nK7,2025-04-02,20\n",
    );
    w.ok(&["--lake", "lake", "ingest", "assets", "assets.csv"]);
    w.ok(&["--lake", "lake", "ingest", "customers", "customers.csv"]);
    w.ok(&["--lake", "lake", "ingest", "incidents", "incidents.csv"]);
    w.ok(&["--lake", "lake", "ingest", "churn", "churn.csv"]);
    let out = w.ok(&[
        "--lake",
        "lake",
        "--as-of",
        "2025-03-31",
        "lake",
        "check",
        "--stale-days",
        "30",
    ]);
    let row = |check: &str| -> String {
        out.lines()
            .find(|l| l.contains(check))
            .unwrap_or_else(|| panic!("no `{check}` in\n{out}"))
            .to_string()
    };
    assert!(
        row("incidents.asset_id not in assets").contains("┆     1 ┆ I2 → zz"),
        "{out}"
    );
    assert!(
        row("incidents.customer_ids not in customers").contains("I3 → K9"),
        "{out}"
    );
    assert!(
        row("churn.customer_id not in customers").contains("K7"),
        "{out}"
    );
    assert!(
        row("asset dependency cycles").contains("a -> b -> c -> a"),
        "{out}"
    );
    assert!(
        row("assets.depends_on not in assets").contains("d -> ghost"),
        "{out}"
    );
    // I4 started 2025-01-01, 89 days before the as-of date: stale. I1-I3 are resolved.
    assert!(
        row("incidents unresolved 30+ days").contains("┆     1 ┆ I4"),
        "{out}"
    );
    assert!(out.contains("6 check(s) found problems"), "{out}");
}

#[test]
fn global_options_work_before_or_after_the_subcommand_and_from_the_environment() {
    let w = Work::new();
    w.write("c.csv", "customer_id,name,arr\nC1,Acme,1000\n");
    w.ok(&["ingest", "customers", "c.csv", "--lake", "elsewhere"]);
    assert!(w.path("elsewhere/_opsintel/manifest.json").exists());
    let out = w
        .command(&["lake", "status"])
        .env("OPSINTEL_LAKE", "elsewhere")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("customers"));
    let empty = w.ok(&["lake", "status"]);
    assert!(empty.contains("empty: nothing ingested yet"), "{empty}");
}

#[test]
fn docs_data_model_is_generated_from_the_schema() {
    let w = Work::new();
    let generated = w.ok(&["schema", "--markdown"]);
    let committed = fs::read_to_string(repo().join("docs/data-model.md")).unwrap();
    assert!(
        generated == committed,
        "docs/data-model.md is stale: run `cargo run -q -- schema --markdown > docs/data-model.md`"
    );
}
