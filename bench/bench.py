"""opsintel benchmark: times opsintel's ingest, canned queries, executive report and start-up on
generated data, and DuckDB on the same files for the questions both can answer, after checking
that both give the same numbers. Medians over several runs; peak memory (max RSS) per step.

Not a test: run it by hand (bench/run), read docs/benchmarks.md.
"""
import argparse, csv, io, json, os, platform, shutil, statistics, subprocess, sys, tempfile, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import duck  # noqa: E402

# Sizes: generator scale giving about 100 thousand, 1 million and 10 million incidents
# (about 670 incidents per unit of scale), with customers, changes and revenue in proportion;
# `tiny` (about 3,400) only checks that the harness works.
SIZES = {"tiny": 5, "small": 150, "medium": 1500, "large": 15000}
AS_OF = "2026-11-01"
QUERIES = [
    ("sla-attainment", ["period=2026-Q3"]),
    ("since-last-downtime", ["period=2026"]),
    ("invest-next-dollar", ["period=2026"]),
    ("churn-causes", ["period=2026"]),
    ("change-outcomes", ["period=2026"]),
    ("troublesome-components", ["period=2026"]),
    ("blast-radius", ["asset=pg-main"]),
    ("top-customers", ["period=2026-Q3"]),
    ("incident-trends", []),
    ("trailing-twelve-months", []),
]
DATASETS = duck.DATASETS


def timed(cmd, cwd=None):
    """Run a command; return (seconds, its peak RSS in MiB, stdout). The peak comes from GNU
    time (`/usr/bin/time -f %M`), which forks the command from its own small process: a child
    started straight from this Python process would report this process's peak (grown by
    DuckDB's in-process work) as its own. Output goes through temp files, so a chatty child never
    blocks on a full pipe."""
    cmd = [str(c) for c in cmd]
    with tempfile.NamedTemporaryFile() as out, tempfile.NamedTemporaryFile() as err, tempfile.NamedTemporaryFile() as rss:
        full = ["/usr/bin/time", "-f", "%M", "-o", rss.name] + cmd
        start = time.perf_counter()
        proc = subprocess.run(full, stdout=out, stderr=err, cwd=cwd)
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"failed: {' '.join(cmd)}\n{open(err.name).read()}")
        kib = float(open(rss.name).read().split()[-1])
        return seconds, kib / 1024.0, open(out.name).read()


def median_of(runs, fn):
    results = [fn() for _ in range(runs)]
    return statistics.median(r[0] for r in results), max(r[1] for r in results), results[-1][2]


def duckdb_time(runs, fn):
    times = []
    value = None
    for _ in range(runs):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), value


def csv_rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def close(a, b, tol=0.011):
    if a in (None, "") and b in (None, ""):
        return True
    try:
        return abs(float(a) - float(b)) <= tol
    except (TypeError, ValueError):
        return str(a) == str(b)


def rows_match(duck_rows, mine, key, cols, tols=None):
    """Compare DuckDB rows (tuples: key, then cols in order) with opsintel's CSV rows."""
    tols = tols or {}
    mine_by = {r[key]: r for r in mine}
    if len(duck_rows) != len(mine_by):
        return False, f"{len(duck_rows)} rows vs {len(mine_by)}"
    for d in duck_rows:
        m = mine_by.get(str(d[0]))
        if m is None:
            return False, f"{d[0]} missing"
        for v, c in zip(d[1:], cols):
            if not close(v, m[c], tols.get(c, 0.011)):
                return False, f"{d[0]} {c}: duckdb {v} opsintel {m[c]}"
    return True, ""


def check_change_outcomes(rows, mine):
    m = next(r for r in mine if r["grouping"] == "total")
    cols = ["changes", "succeeded", "failed", "rolled_back", "completed", "incidents_caused", "change_failure_rate_pct"]
    bad = [(c, a, m[c]) for a, c in zip(rows[0], cols) if not close(a, m[c])]
    return not bad, str(bad[:1]) if bad else ""


def check_incident_trends(rows, mine):
    return rows_match(rows, mine, "month", ["incidents", "mttr_mean_min", "mttr_median_min", "mttr_p90_min"], {c: 0.11 for c in ["mttr_mean_min", "mttr_median_min", "mttr_p90_min"]})


def check_troublesome(rows, mine):
    cols = ["incidents", "sev1", "sev2", "sev3", "sev4_5", "downtime_minutes", "mttr_mean_min", "changes_completed", "change_failure_rate_pct", "customers_affected"]
    return rows_match(rows, mine, "asset_id", cols, {"downtime_minutes": 0.11, "mttr_mean_min": 0.11})


def check_ttm(rows, mine):
    cols = ["availability_pct", "incidents", "sev1_sev2", "mttr_mean_min", "change_failure_rate_pct", "churned_mrr", "mrr", "nrr_pct"]
    return rows_match(rows, mine, "month", cols, {"availability_pct": 0.0011, "mttr_mean_min": 0.11})


def check_sla(rows, mine):
    mine_k = [dict(r, k=f"{r['sla_id']}|{r['sla_period']}") for r in mine]
    duck_k = [(f"{r[0]}|{r[1]}", r[2], str(r[3]).lower(), r[4]) for r in rows]
    ok, why = rows_match(duck_k, mine_k, "k", ["attainment_pct", "breached", "credit_amount"], {"attainment_pct": 0.0011})
    if ok and rows and mine:
        t = mine[0]
        for v, c in zip(rows[0][5:], ["slas_in_period", "slas_breached", "total_credit_liability"]):
            if not close(v, t[c], 0.011 if c != "total_credit_liability" else 0.05):
                return False, f"{c}: duckdb {v} opsintel {t[c]}"
    return ok, why


# The questions DuckDB answers too, with how to compare its rows with opsintel's.
CHECKS = {
    "change-outcomes": check_change_outcomes,
    "incident-trends": check_incident_trends,
    "troublesome-components": check_troublesome,
    "trailing-twelve-months": check_ttm,
    "sla-attainment": check_sla,
}
# Questions whose DuckDB SQL reads the shared tables of duck.prepare (timed with them), and
# whether they need the customer timelines.
NEEDS_PREPARE = {"troublesome-components": False, "trailing-twelve-months": True, "sla-attainment": True}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sizes", nargs="*", default=["small"])
    ap.add_argument("--bin", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--duck-runs", type=int, default=None, help="runs of each DuckDB question (default: --runs)")
    ap.add_argument("--duck-sources", default="parquet,csv", help="what DuckDB reads: parquet, csv or both (default)")
    ap.add_argument("--work", default=None, help="where to put generated data and lakes (default: a temp dir)")
    args = ap.parse_args()
    import duckdb

    results_dir = Path("bench/results")
    results_dir.mkdir(parents=True, exist_ok=True)
    work = Path(args.work or tempfile.mkdtemp(prefix="opsintel-bench-"))
    machine = {"cores": os.cpu_count(), "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
               "platform": platform.platform(), "duckdb": duckdb.__version__}
    rows = []
    for size in args.sizes:
        # A named size, or `xN` for generator scale N (to measure how cost grows).
        scale = SIZES[size] if size in SIZES else float(size.lstrip("x"))
        data = work / f"data-{size}"
        if not (data / "incidents.csv").exists():
            shutil.rmtree(data, ignore_errors=True)
            t, rss, _ = timed([args.bin, "generate", "--out", str(data), "--scale", str(scale)])
            rows.append((size, "generate (not compared)", t, rss, None, None))
        n_inc = sum(1 for _ in open(data / "incidents.csv")) - 1
        print(f"== {size}: scale {scale}, {n_inc:,} incidents", flush=True)
        res = {"size": size, "scale": scale, "incidents": n_inc, "machine": machine, "steps": []}

        # Ingest, one dataset at a time into a fresh lake each run; DuckDB copies the same CSV to
        # Parquet (its fastest path, no validation).
        for ds in DATASETS:
            def ingest_once():
                lake = work / f"lake-{size}-{ds}"
                shutil.rmtree(lake, ignore_errors=True)
                return timed([args.bin, "--lake", str(lake), "ingest", ds, str(data / f"{ds}.csv")])
            t, rss, _ = median_of(args.runs, ingest_once)
            con = duckdb.connect()
            out = work / f"duck-{ds}.parquet"
            dt, _ = duckdb_time(args.runs, lambda: con.execute(f"COPY (SELECT * FROM read_csv_auto('{data / (ds + '.csv')}')) TO '{out}' (FORMAT PARQUET)"))
            res["steps"].append({"step": f"ingest {ds}", "opsintel_s": t, "max_rss_mib": rss, "duckdb_s": dt, "same_answer": None})
            print(f"ingest {ds}: {t:.3f}s ({rss:.0f} MiB) duckdb {dt:.3f}s", flush=True)

        lake = work / f"lake-{size}"
        if not (lake / "_opsintel" / "manifest.json").exists():
            timed([args.bin, "--lake", str(lake), "ingest", "--dir", str(data)])
        base = [args.bin, "--lake", str(lake), "--as-of", AS_OF]

        # Canned queries.
        answers = {}
        for name, params in QUERIES:
            cmd = base + ["query", "run", name, "--format", "csv"] + sum((["--param", p] for p in params), [])
            t, rss, out = median_of(args.runs, lambda: timed(cmd))
            answers[name] = csv_rows(out)
            res["steps"].append({"step": f"query {name}", "opsintel_s": t, "max_rss_mib": rss, "duckdb_s": None, "same_answer": None})
            print(f"query {name}: {t:.3f}s ({rss:.0f} MiB)", flush=True)

        # DuckDB answers the same questions in SQL (bench/duck.py), from the lake's Parquet files
        # and from the CSVs. Both answers are checked against opsintel's before the ratio counts.
        for source, where in (("parquet", lake), ("csv", data)):
            if source not in args.duck_sources.split(","):
                continue
            con = duckdb.connect()
            duck.views(con, source, where)
            t0 = time.perf_counter()
            duck.prepare(con)
            prep = time.perf_counter() - t0
            print(f"duckdb {source}: shared tables {prep:.3f}s", flush=True)
            for name, check in CHECKS.items():
                fn = getattr(duck, name.replace("-", "_"))
                # Each timed run rebuilds the shared tables it needs, as opsintel does per run.
                def once():
                    if name in NEEDS_PREPARE:
                        duck.prepare(con, timelines=NEEDS_PREPARE[name])
                    return fn(con)
                dt, rows = duckdb_time(args.duck_runs or args.runs, once)
                same, why = check(rows, answers[name])
                step = next(s for s in res["steps"] if s["step"] == f"query {name}")
                step[f"duckdb_{source}_s"] = dt
                step[f"same_{source}"] = same
                if source == "parquet":
                    step.update(duckdb_s=dt, same_answer=same)
                print(f"duckdb {source} {name}: {dt:.3f}s same={same} {why}", flush=True)
            con.close()

        # The executive report and start-up.
        pdf = work / f"exec-{size}.pdf"
        t, rss, _ = median_of(args.runs, lambda: timed(base + ["report", "exec", "--out", str(pdf)]))
        res["steps"].append({"step": "report exec", "opsintel_s": t, "max_rss_mib": rss, "duckdb_s": None, "same_answer": None})
        print(f"report exec: {t:.3f}s ({rss:.0f} MiB)", flush=True)
        t, rss, _ = median_of(max(args.runs, 5), lambda: timed([args.bin, "query", "list"]))
        res["steps"].append({"step": "query list (start-up)", "opsintel_s": t, "max_rss_mib": rss, "duckdb_s": None, "same_answer": None})
        print(f"query list: {t*1000:.1f} ms", flush=True)
        (results_dir / f"{size}.json").write_text(json.dumps(res, indent=2) + "\n")

    # The table of every size measured so far.
    lines = ["| size | incidents | step | opsintel (median s) | max RSS (MiB) | DuckDB on Parquet (median s) | ratio | DuckDB on CSV (median s) | ratio | same answer (Parquet/CSV) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for f in sorted(results_dir.glob("*.json"), key=lambda p: json.loads(p.read_text())["scale"]):
        size = f.stem
        r = json.loads(f.read_text())
        for s in r["steps"]:
            d = s.get("duckdb_parquet_s", s["duckdb_s"])
            dc = s.get("duckdb_csv_s")
            ratio = f"{s['opsintel_s'] / d:.2f}" if d else ""
            ratio_c = f"{s['opsintel_s'] / dc:.2f}" if dc else ""
            flags = [s.get("same_parquet", s["same_answer"]), s.get("same_csv")]
            same = "/".join("" if f is None else ("yes" if f else "NO") for f in flags).strip("/")
            lines.append(f"| {size} | {r['incidents']:,} | {s['step']} | {s['opsintel_s']:.3f} | {s['max_rss_mib']:.0f} | {'' if d is None else f'{d:.3f}'} | {ratio} | {'' if dc is None else f'{dc:.3f}'} | {ratio_c} | {same} |")
    (results_dir / "latest.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
