//! Streaming ingest: a file read in many small chunks, or gzip-compressed, gives exactly the
//! lake a single read gives; keys whose time moves to another month stay unique.

mod common;

use common::{DATASETS, Work, repo, str_at};
use std::io::Write;

#[test]
fn small_chunks_and_gzip_store_exactly_what_one_read_stores() {
    let whole = Work::with_sample();
    // The same files, gzip-compressed, read 2 KiB at a time (hundreds of chunks).
    let w = Work::new();
    for ds in DATASETS {
        let text = std::fs::read(repo().join("sample-data").join(format!("{ds}.csv"))).unwrap();
        w.write(&format!("in/{ds}.csv.gz"), gzip(&text));
    }
    w.ok(&[
        "--lake",
        "lake",
        "ingest",
        "--dir",
        "in",
        "--chunk-size",
        "2K",
    ]);
    for ds in DATASETS {
        let (a, b) = (whole.scan(ds), w.scan(ds));
        assert!(a.height() > 0, "{ds}");
        assert!(a.equals_missing(&b), "{ds}: chunked ingest differs");
        assert_eq!(whole.rows(ds), w.rows(ds), "{ds}");
        assert_eq!(parts(&whole, ds), parts(&w, ds), "{ds}");
    }
    // The same content again is a no-op, compressed or not.
    let out = w.ok(&["--lake", "lake", "ingest", "--dir", "in"]);
    assert!(out.contains("already ingested"), "{out}");
}

/// `bytes` gzip-compressed.
fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// (partition, rows) of each file of a dataset, from the manifest.
fn parts(w: &Work, ds: &str) -> Vec<(String, u64)> {
    w.manifest()["datasets"][ds]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["partition"].as_str().unwrap_or("").to_string(),
                f["rows"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// The incidents' time range after the second and third ingest of the month-move test.
const RANGE: (&str, &str) = ("2025-02-01T10:00:00Z", "2025-06-01T10:00:00Z");

/// The manifest of the month-move test's lake: incidents' (partition, rows) per file, total
/// rows, and the time range `RANGE`.
fn assert_incidents(w: &Work, expect: &[(&str, u64)], rows: u64) {
    assert_eq!(
        parts(w, "incidents"),
        expect
            .iter()
            .map(|(p, n)| (p.to_string(), *n))
            .collect::<Vec<_>>()
    );
    let m = &w.manifest()["datasets"]["incidents"];
    assert_eq!(m["rows"], rows);
    assert_eq!(
        (&m["time_min"], &m["time_max"]),
        (&RANGE.0.into(), &RANGE.1.into())
    );
}

const HEADER: &str = "incident_id,title,severity,started_at,status,updated_at\n";

#[test]
fn a_record_whose_time_moves_to_another_month_stays_one_record() {
    let w = Work::new();
    w.write(
        "v1.csv",
        format!(
            "{HEADER}\
             I1,a,sev1,2025-01-05T10:00:00Z,open,2025-01-05T10:00:00Z\n\
             I2,b,sev2,2025-02-01T10:00:00Z,open,2025-02-01T10:00:00Z\n\
             I3,c,sev3,2025-02-09T10:00:00Z,open,2025-02-09T10:00:00Z\n"
        ),
    );
    w.ok(&["--lake", "lake", "ingest", "incidents", "v1.csv"]);
    // I1 moves to March with a newer record (it wins); I2's record for April is older than
    // the lake's (the lake's February record stays); I5 appears in May, then in June (the
    // later row wins). Every record is its own chunk.
    w.write(
        "v2.csv",
        format!(
            "{HEADER}\
             I1,a2,sev1,2025-03-02T10:00:00Z,resolved,2025-03-02T10:00:00Z\n\
             I2,b2,sev2,2025-04-01T10:00:00Z,open,2025-01-01T10:00:00Z\n\
             I5,first,sev4,2025-05-01T10:00:00Z,open,\n\
             I5,second,sev4,2025-06-01T10:00:00Z,open,\n"
        ),
    );
    w.ok(&[
        "--lake",
        "lake",
        "ingest",
        "incidents",
        "v2.csv",
        "--chunk-size",
        "1",
    ]);
    let m = w.manifest();
    let last = m["ingests"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        [
            &last["inserted"],
            &last["updated"],
            &last["unchanged"],
            &last["duplicates_in_file"]
        ],
        [1, 1, 1, 1]
    );
    let df = w.scan("incidents");
    assert_eq!(df.height(), 4, "{df}");
    assert_eq!(
        str_at(&df, "title", "incident_id", "I1").as_deref(),
        Some("a2")
    );
    assert_eq!(
        str_at(&df, "title", "incident_id", "I2").as_deref(),
        Some("b")
    );
    assert_eq!(
        str_at(&df, "title", "incident_id", "I5").as_deref(),
        Some("second")
    );
    // January emptied; February keeps I2 and I3 untouched; I1 in March; I5 in June.
    assert_incidents(&w, &[("2025-02", 2), ("2025-03", 1), ("2025-06", 1)], 4);
    let ids = df.column("incident_id").unwrap();
    assert_eq!(ids.n_unique().unwrap(), df.height(), "one row per key");

    // A file touching only April: February, March and June are linked unchanged, and the
    // time range still comes from the first and last of them.
    w.write(
        "v3.csv",
        format!("{HEADER}I7,d,sev3,2025-04-15T10:00:00Z,open,\n"),
    );
    w.ok(&["--lake", "lake", "ingest", "incidents", "v3.csv"]);
    assert_incidents(
        &w,
        &[
            ("2025-02", 2),
            ("2025-03", 1),
            ("2025-04", 1),
            ("2025-06", 1),
        ],
        5,
    );
    assert_eq!(w.scan("incidents").height(), 5);
}

#[test]
fn a_file_that_breaks_after_chunks_were_spilled_leaves_the_lake_as_it_was() {
    // The sample changes, gzip-compressed, cut off three quarters through: read 2 KiB at a
    // time, dozens of chunks have gone to the spill thread before decompression fails.
    let w = Work::with_sample();
    let before = w.manifest_bytes().unwrap();
    let rows = w.rows("changes");
    let text = std::fs::read(repo().join("sample-data").join("changes.csv")).unwrap();
    let gz = gzip(&text);
    w.write("cut/changes.csv.gz", &gz[..gz.len() * 3 / 4]);
    let (code, err) = w.fail(&[
        "--lake",
        "lake",
        "ingest",
        "changes",
        "cut/changes.csv.gz",
        "--chunk-size",
        "2K",
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("cut/changes.csv.gz"), "{err}");
    assert!(err.contains("truncated"), "{err}");
    assert_eq!(w.manifest_bytes().unwrap(), before);
    assert_eq!(w.rows("changes"), rows);
    assert!(!w.path("lake/_opsintel/staging").exists());
}

#[test]
fn a_scan_between_two_times_reads_only_the_months_they_overlap() {
    use opsintel::lake::{Lake, Snapshot};
    use opsintel::schema::DatasetKind;
    let w = Work::new();
    w.write(
        "in.csv",
        format!(
            "{HEADER}\
             J1,a,sev1,2025-01-31T23:59:59Z,open,\n\
             F1,b,sev2,2025-02-01T00:00:00Z,open,\n\
             F2,c,sev3,2025-02-28T12:00:00Z,open,\n\
             M1,d,sev3,2025-03-01T00:00:00Z,open,\n\
             A1,e,sev4,2025-04-10T00:00:00Z,open,\n"
        ),
    );
    w.ok(&["--lake", "lake", "ingest", "incidents", "in.csv"]);
    let snap = Snapshot::open(&Lake::new(w.path("lake"))).unwrap();
    let micros = |t: &str| {
        chrono::DateTime::parse_from_rfc3339(t)
            .unwrap()
            .timestamp_micros()
    };
    let ids = |from: &str, to: &str| -> Vec<String> {
        let df = snap
            .scan_between(DatasetKind::Incidents, micros(from), micros(to))
            .unwrap()
            .collect()
            .unwrap();
        let mut ids: Vec<String> = df
            .column("incident_id")
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .map(|v| v.unwrap().to_string())
            .collect();
        ids.sort();
        ids
    };
    // A span inside February: February's file whole, no other month's.
    assert_eq!(
        ids("2025-02-10T00:00:00Z", "2025-02-11T00:00:00Z"),
        ["F1", "F2"]
    );
    // Half-open: a span ending at March's first instant does not open March; one starting at
    // February's last microsecond opens February only.
    assert_eq!(
        ids("2025-02-28T23:59:59.999999Z", "2025-03-01T00:00:00Z"),
        ["F1", "F2"]
    );
    // Across months; and a span in a month without rows reads nothing.
    assert_eq!(
        ids("2025-01-31T00:00:00Z", "2025-03-02T00:00:00Z"),
        ["F1", "F2", "J1", "M1"]
    );
    assert!(ids("2025-05-01T00:00:00Z", "2025-06-01T00:00:00Z").is_empty());
    // The whole scan holds every row.
    assert_eq!(
        snap.scan(DatasetKind::Incidents)
            .unwrap()
            .collect()
            .unwrap()
            .height(),
        5
    );
}
