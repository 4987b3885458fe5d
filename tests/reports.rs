//! Integration tests of charts and PDF reports on the sample data: every chart renders, PNGs
//! decode at the requested size, reports are deterministic, and the figures in a report's text
//! are exactly those `opsintel query run` prints. Text is extracted with `pdftotext`
//! (poppler-utils, installed by `.ci/run`).

mod common;

use common::*;
use std::process::Command;

const AS_OF: &str = "2026-11-01";

fn sample() -> Work {
    Work::with_sample()
}

fn pdf_text(path: &std::path::Path) -> String {
    let out = Command::new("pdftotext")
        .args(["-layout", path.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext is needed for the report tests: apt-get install poppler-utils");
    assert!(out.status.success());
    // Thousands separators and the zero-width break hints do not change a figure.
    String::from_utf8_lossy(&out.stdout)
        .replace(',', "")
        .replace('\u{200B}', "")
}

fn png_size(path: &std::path::Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    let pixmap = resvg::tiny_skia::Pixmap::decode_png(&bytes).expect("a valid PNG");
    (pixmap.width(), pixmap.height())
}

/// A one-row CSV result as (column, value) pairs.
fn csv_row(text: &str) -> Vec<(String, String)> {
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    let values: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    header.into_iter().zip(values).collect()
}

#[test]
fn every_chart_renders_for_every_canned_query_on_the_sample_data() {
    let w = sample();
    let list = w.ok(&["query", "list"]);
    let mut drawn = 0;
    for meta in std::fs::read_dir(repo().join("queries")).unwrap().flatten() {
        let path = meta.path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml")
            || !std::fs::read_to_string(&path).unwrap().contains("[chart]")
        {
            continue;
        }
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        assert!(list.contains(&name));
        let params: &[&str] = match name.as_str() {
            "blast-radius" => &["--param", "asset=pg-main"],
            n if n.starts_with("customer-") => {
                &["--param", "customer=CUST-0036", "--param", "period=2026-Q3"]
            }
            "incident-trends" | "trailing-twelve-months" => &[],
            "downtime-by-month" => &["--param", "months=6"],
            _ => &["--param", "period=2026-Q3"],
        };
        let out = format!("{name}.png");
        let mut args = vec![
            "--lake", "lake", "--as-of", AS_OF, "chart", &name, "--out", &out, "--width", "800",
            "--height", "450",
        ];
        args.extend_from_slice(params);
        w.ok(&args);
        // HiDPI: twice the requested size.
        assert_eq!(png_size(&w.path(&out)), (1600, 900), "{name}");
        drawn += 1;
    }
    assert!(drawn >= 12, "{drawn}");
    // SVG output carries text, not pixels.
    w.ok(&[
        "--lake",
        "lake",
        "--as-of",
        AS_OF,
        "chart",
        "troublesome-components",
        "--param",
        "period=2026",
        "--out",
        "t.svg",
    ]);
    let svg = std::fs::read_to_string(w.path("t.svg")).unwrap();
    assert!(
        svg.starts_with("<svg")
            && svg.contains("Downtime by component")
            && svg.contains("Source: opsintel query troublesome-components")
    );
    let (code, err) = w.fail(&["--lake", "lake", "chart", "headline-kpis", "--out", "x.png"]);
    assert_eq!(code, 2);
    assert!(err.contains("suggests no chart"), "{err}");
    let (_, err) = w.fail(&[
        "--lake",
        "lake",
        "chart",
        "troublesome-components",
        "--out",
        "x.gif",
    ]);
    assert!(err.contains("give a .png or .svg file"), "{err}");
}

#[test]
fn the_executive_report_is_deterministic_and_shows_the_query_figures() {
    let w = sample();
    let args = [
        "--lake",
        "lake",
        "--as-of",
        AS_OF,
        "report",
        "exec",
        "--period",
        "2026-Q3",
        "--out",
        "a.pdf",
        "--png-dir",
        "png",
    ];
    w.ok(&args);
    let mut again = args;
    again[9] = "b.pdf";
    w.ok(&again);
    let (a, b) = (
        std::fs::read(w.path("a.pdf")).unwrap(),
        std::fs::read(w.path("b.pdf")).unwrap(),
    );
    assert!(a.starts_with(b"%PDF"));
    assert!(
        a == b,
        "the same lake, as-of and options must give a byte-identical PDF"
    );
    // Every chart of the report is also a PNG.
    let pngs = std::fs::read_dir(w.path("png")).unwrap().count();
    assert_eq!(
        pngs, 11,
        "one chart per executive question, plus the downtime heat map"
    );

    let text = pdf_text(&w.path("a.pdf"));
    let kpis = w.ok(&[
        "--lake",
        "lake",
        "--as-of",
        AS_OF,
        "query",
        "run",
        "headline-kpis",
        "--param",
        "period=2026-Q3",
        "--format",
        "csv",
    ]);
    for (col, value) in csv_row(&kpis) {
        if ["period", "slas", "incidents"].contains(&col.as_str()) || value.is_empty() {
            continue;
        }
        // The report prints whole numbers without ".0", as the table output does.
        let shown = value.strip_suffix(".0").unwrap_or(&value);
        assert!(
            text.contains(shown),
            "headline {col} = {shown} not found in the report text"
        );
    }
    // The answers quote the sections' queries.
    let sla = w.ok(&[
        "--lake",
        "lake",
        "--as-of",
        AS_OF,
        "query",
        "run",
        "sla-attainment",
        "--param",
        "period=2026-Q3",
        "--format",
        "csv",
    ]);
    let liability = csv_row(&sla)
        .into_iter()
        .find(|(c, _)| c == "total_credit_liability")
        .unwrap()
        .1;
    assert!(
        text.contains(&format!(
            "credits owed: {}",
            liability.strip_suffix(".0").unwrap_or(&liability)
        )),
        "{liability}"
    );
    for needle in [
        "Operations review — 2026-Q3",
        "What do we invest our next dollar in?",
        "Definitions",
        "What the lake holds",
        "Page 1 of",
    ] {
        assert!(text.contains(needle), "{needle}");
    }
}

#[test]
fn a_quarterly_business_review_for_a_top_customer() {
    let w = sample();
    w.ok(&[
        "--lake",
        "lake",
        "--as-of",
        AS_OF,
        "report",
        "qbr",
        "--customer",
        "CUST-0036",
        "--quarter",
        "2026-Q3",
        "--out",
        "qbr.pdf",
    ]);
    let text = pdf_text(&w.path("qbr.pdf"));
    let summary = w.ok(&[
        "--lake",
        "lake",
        "--as-of",
        AS_OF,
        "query",
        "run",
        "customer-summary",
        "--param",
        "customer=CUST-0036",
        "--param",
        "period=2026-Q3",
        "--format",
        "csv",
    ]);
    let row = csv_row(&summary);
    let get = |c: &str| row.iter().find(|(k, _)| k == c).unwrap().1.clone();
    assert!(text.contains(&get("customer_name")), "{text}");
    assert!(text.contains(&format!("{} %", get("availability_pct"))));
    assert!(text.contains(&format!(
        "Incidents that affected you ({})",
        get("incidents")
    )));
    // The default quarter is the last full one: 2026-Q3 for an as-of in November.
    w.ok(&[
        "--lake",
        "lake",
        "--as-of",
        AS_OF,
        "report",
        "qbr",
        "--all-top",
        "2",
        "--out",
        "packs",
    ]);
    let mut files: Vec<String> = std::fs::read_dir(w.path("packs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(files.len(), 2);
    assert!(
        files
            .iter()
            .all(|f| f.starts_with("qbr-CUST-") && f.ends_with("-2026-Q3.pdf")),
        "{files:?}"
    );
    let (code, err) = w.fail(&[
        "--lake",
        "lake",
        "report",
        "qbr",
        "--customer",
        "NOPE",
        "--out",
        "x.pdf",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("no customer `NOPE`"), "{err}");
}

#[test]
fn an_empty_lake_gives_a_report_that_says_so() {
    let w = Work::new();
    w.ok(&[
        "--lake",
        "lake",
        "--as-of",
        AS_OF,
        "report",
        "exec",
        "--out",
        "empty.pdf",
    ]);
    let text = pdf_text(&w.path("empty.pdf"));
    assert!(text.contains("No operations data for 2026-10"), "{text}");
    assert!(
        text.contains("No incident") || text.contains("No component had an incident"),
        "{text}"
    );
}

#[test]
fn months_gives_a_trailing_window_report() {
    let w = sample();
    w.ok(&[
        "--lake", "lake", "--as-of", AS_OF, "report", "exec", "--months", "12", "--out", "ttm.pdf",
    ]);
    let text = pdf_text(&w.path("ttm.pdf"));
    assert!(
        text.contains("Operations review — 2025-11..2026-10"),
        "{}",
        &text[..300.min(text.len())]
    );
    assert!(
        text.contains("2024-11..2025-10"),
        "the previous window is named"
    );
    // The same window works as a query parameter.
    let kpis = w.ok(&[
        "--lake",
        "lake",
        "--as-of",
        AS_OF,
        "query",
        "run",
        "headline-kpis",
        "--param",
        "period=2025-11..2026-10",
        "--format",
        "csv",
    ]);
    assert!(
        kpis.lines()
            .nth(1)
            .unwrap()
            .starts_with("2025-11..2026-10,"),
        "{kpis}"
    );
}

#[test]
fn a_period_without_data_says_so_and_templates_can_be_replaced() {
    let w = sample();
    // Long before the sample's first month.
    w.ok(&[
        "--lake", "lake", "--as-of", AS_OF, "report", "exec", "--period", "2019-03", "--out",
        "old.pdf",
    ]);
    let text = pdf_text(&w.path("old.pdf"));
    assert!(
        text.contains("No operations data for 2019-03"),
        "{}",
        &text[..400.min(text.len())]
    );
    assert!(text.contains("No SLA was in force in 2019-03"));
    // A company's own template gets the same data.
    w.write("mine.typ", "#let data = json(\"data.json\")\n#set text(font: \"DejaVu Sans\")\nACME board pack for #data.period: #data.kpis.at(0).label #data.kpis.at(0).value\n");
    w.ok(&[
        "--lake",
        "lake",
        "--as-of",
        AS_OF,
        "report",
        "exec",
        "--period",
        "2026-Q3",
        "--template",
        "mine.typ",
        "--out",
        "mine.pdf",
    ]);
    let mine = pdf_text(&w.path("mine.pdf"));
    assert!(
        mine.contains("ACME board pack for 2026-Q3: Customer availability"),
        "{mine}"
    );
    // A broken template is an error that names the problem, not a crash.
    w.write("bad.typ", "#let data = json(\"data.json\")\n#data.nope\n");
    let (code, err) = w.fail(&[
        "--lake",
        "lake",
        "--as-of",
        AS_OF,
        "report",
        "exec",
        "--template",
        "bad.typ",
        "--out",
        "bad.pdf",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("report template") && err.contains("nope"),
        "{err}"
    );
}
