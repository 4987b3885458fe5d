"""opsintel benchmark: times opsintel's ingest, canned queries, executive report and start-up on
generated data, and DuckDB on the same files for the questions both can answer, after checking
that both give the same numbers. Medians over several runs; peak memory (max RSS) per step.

Not a test: run it by hand (bench/run), read docs/benchmarks.md.
"""
import argparse, csv, io, json, os, platform, shutil, statistics, subprocess, sys, tempfile, time
from pathlib import Path

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
DATASETS = ["customers", "assets", "customer_assets", "incidents", "changes", "maintenance", "slas", "churn", "revenue"]


def timed(cmd, cwd=None):
    """Run a command; return (seconds, its peak RSS in MiB, stdout). The child is started with
    posix_spawn (no copy of this Python process, whose pages would otherwise count in the child's
    peak) and reaped with wait4, which reports that child's own peak RSS. Output goes through
    temp files, so a chatty child never blocks on a full pipe."""
    cmd = [str(c) for c in cmd]
    exe = shutil.which(cmd[0]) or cmd[0]
    with tempfile.NamedTemporaryFile() as out, tempfile.NamedTemporaryFile() as err:
        actions = [(os.POSIX_SPAWN_OPEN, 1, out.name, os.O_WRONLY, 0), (os.POSIX_SPAWN_OPEN, 2, err.name, os.O_WRONLY, 0)]
        start = time.perf_counter()
        pid = os.posix_spawn(exe, cmd, dict(os.environ), file_actions=actions)
        _, status, usage = os.wait4(pid, 0)
        seconds = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"failed: {' '.join(cmd)}\n{open(err.name).read()}")
        return seconds, usage.ru_maxrss / 1024.0, open(out.name).read()


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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sizes", nargs="*", default=["small"])
    ap.add_argument("--bin", required=True)
    ap.add_argument("--runs", type=int, default=3)
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
        con = duckdb.connect()
        for ds in DATASETS:
            con.execute(f"CREATE VIEW {ds} AS SELECT * FROM read_parquet('{lake / ds}/**/*.parquet', hive_partitioning = true, union_by_name = true)")

        # Canned queries.
        answers = {}
        for name, params in QUERIES:
            cmd = base + ["query", "run", name, "--format", "csv"] + sum((["--param", p] for p in params), [])
            t, rss, out = median_of(args.runs, lambda: timed(cmd))
            answers[name] = csv_rows(out)
            res["steps"].append({"step": f"query {name}", "opsintel_s": t, "max_rss_mib": rss, "duckdb_s": None, "same_answer": None})
            print(f"query {name}: {t:.3f}s ({rss:.0f} MiB)", flush=True)

        # DuckDB on the same Parquet files, for the questions it can answer with plain SQL.
        def duck_change_outcomes():
            return con.execute("""
                WITH c AS (
                  SELECT ch.change_id, ch.outcome,
                         ch.outcome IN ('succeeded','failed','rolled_back') AS completed,
                         ch.outcome IN ('failed','rolled_back') AS failed,
                         (SELECT count(*) FROM incidents i WHERE i.caused_by_change_id = ch.change_id) AS caused
                  FROM changes ch
                  WHERE ch.started_at >= TIMESTAMPTZ '2026-01-01 00:00:00+00' AND ch.started_at < TIMESTAMPTZ '2026-11-02 00:00:00+00')
                SELECT count(*), sum(CASE WHEN outcome='succeeded' THEN 1 ELSE 0 END),
                       sum(CASE WHEN outcome='failed' THEN 1 ELSE 0 END), sum(CASE WHEN outcome='rolled_back' THEN 1 ELSE 0 END),
                       sum(CASE WHEN completed THEN 1 ELSE 0 END), sum(caused),
                       round(100.0 * sum(CASE WHEN completed AND (failed OR caused > 0) THEN 1 ELSE 0 END) / sum(CASE WHEN completed THEN 1 ELSE 0 END), 2)
                FROM c""").fetchone()
        dt, duck = duckdb_time(args.runs, duck_change_outcomes)
        mine = next(r for r in answers["change-outcomes"] if r["grouping"] == "total")
        same = all(close(a, mine[k]) for a, k in zip(duck, ["changes", "succeeded", "failed", "rolled_back", "completed", "incidents_caused", "change_failure_rate_pct"]))
        step = next(s for s in res["steps"] if s["step"] == "query change-outcomes")
        step.update(duckdb_s=dt, same_answer=same)
        print(f"duckdb change-outcomes {dt:.3f}s same={same} {duck}", flush=True)

        def duck_trends():
            return con.execute("""
                WITH t AS (
                  SELECT strftime(started_at AT TIME ZONE 'UTC', '%Y-%m') AS month,
                         (epoch(resolved_at) - epoch(started_at)) / 60.0 AS ttr
                  FROM incidents WHERE started_at >= TIMESTAMPTZ '2025-11-01 00:00:00+00' AND started_at < TIMESTAMPTZ '2026-11-01 00:00:00+00')
                SELECT month, count(*), round(avg(ttr), 1), round(quantile_cont(ttr, 0.5), 1), round(quantile_cont(ttr, 0.9), 1)
                FROM t GROUP BY month ORDER BY month""").fetchall()
        dt, duck = duckdb_time(args.runs, duck_trends)
        mine = answers["incident-trends"]
        same = len(duck) == len(mine) and all(
            d[0] == m["month"] and close(d[1], m["incidents"]) and close(d[2], m["mttr_mean_min"], 0.11) and close(d[3], m["mttr_median_min"], 0.11) and close(d[4], m["mttr_p90_min"], 0.11)
            for d, m in zip(duck, mine))
        step = next(s for s in res["steps"] if s["step"] == "query incident-trends")
        step.update(duckdb_s=dt, same_answer=same)
        print(f"duckdb incident-trends {dt:.3f}s same={same}", flush=True)

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
    lines = ["| size | incidents | step | opsintel (median s) | max RSS (MiB) | DuckDB (median s) | opsintel / DuckDB | same answer |", "|---|---|---|---|---|---|---|---|"]
    for f in sorted(results_dir.glob("*.json"), key=lambda p: json.loads(p.read_text())["scale"]):
        size = f.stem
        r = json.loads(f.read_text())
        for s in r["steps"]:
            d = s["duckdb_s"]
            ratio = f"{s['opsintel_s'] / d:.2f}" if d else ""
            same = "" if s["same_answer"] is None else ("yes" if s["same_answer"] else "NO")
            lines.append(f"| {size} | {r['incidents']:,} | {s['step']} | {s['opsintel_s']:.3f} | {s['max_rss_mib']:.0f} | {'' if d is None else f'{d:.3f}'} | {ratio} | {same} |")
    (results_dir / "latest.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
