"""opsintel benchmark: times opsintel's ingest, canned queries, executive report and start-up on
generated data, and DuckDB on the same files for the questions both can answer, after checking
that both give the same numbers. Medians over several runs; peak memory (max RSS) per step.

Not a test: run it by hand (bench/run), read docs/benchmarks.md.
"""
import argparse, csv, io, json, os, platform, shutil, statistics, subprocess, sys, tempfile, threading, time
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


# Limits of one opsintel step (set from the command line): a step over them is stopped and
# recorded as failed, so one step that would exhaust the machine does not end the run.
LIMITS = {"rss_gib": 20.0, "seconds": 1800.0}


class StepFailed(Exception):
    pass


def tree_rss_kib(pid):
    """Resident memory of a process and its descendants (Linux /proc), in KiB."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            with open(f"/proc/{p}/task/{p}/children") as f:
                todo.extend(int(c) for c in f.read().split())
        except (FileNotFoundError, ProcessLookupError, ValueError):
            pass
    return total


def timed(cmd, cwd=None, rss=True):
    """Run a command; return (seconds, its peak RSS in MiB, stdout). The peak comes from GNU
    time (`/usr/bin/time -f %M`), which forks the command from its own small process: a child
    started straight from this Python process would report this process's peak (grown by
    DuckDB's in-process work) as its own. With rss=False the command runs straight from here,
    its peak is None, and the time holds no GNU time process (see `measured`). Output goes
    through temp files, so a chatty child never blocks on a full pipe. A step over LIMITS is
    killed and raises StepFailed."""
    cmd = [str(c) for c in cmd]
    with tempfile.NamedTemporaryFile() as out, tempfile.NamedTemporaryFile() as err, tempfile.NamedTemporaryFile() as rss_file:
        full = (["/usr/bin/time", "-f", "%M", "-o", rss_file.name] if rss else []) + cmd
        start = time.perf_counter()
        proc = subprocess.Popen(full, stdout=out, stderr=err, cwd=cwd)
        stop = {}

        def watch():
            # A thread watches the limits; the main thread waits, so the time is exact.
            while proc.poll() is None:
                if tree_rss_kib(proc.pid) > LIMITS["rss_gib"] * 2**20:
                    stop["why"] = f"stopped at {LIMITS['rss_gib']:g} GiB resident"
                elif time.perf_counter() - start > LIMITS["seconds"]:
                    stop["why"] = f"stopped after {LIMITS['seconds']:g} s"
                if stop:
                    subprocess.run(["pkill", "-KILL", "-P", str(proc.pid)])
                    return
                time.sleep(0.2)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        proc.wait()
        why = stop.get("why")
        seconds = time.perf_counter() - start
        if why or proc.returncode != 0:
            tail = open(err.name).read()[-2000:]
            raise StepFailed(why or f"exit {proc.returncode}: {tail.strip().splitlines()[-1] if tail.strip() else ''}")
        mib = float(open(rss_file.name).read().split()[-1]) / 1024.0 if rss else None
        return seconds, mib, open(out.name).read()


def measured(runs, cmd):
    """A step that leaves the lake as it found it (a query, the report, start-up): one run under
    GNU time for its peak RSS and its output, then `runs` runs straight from here, whose median
    is its time. GNU time's own process (its fork, exec and wait: 3-4 ms here, as much as a
    whole start-up) is not opsintel's time, and DuckDB's in-process times hold no process at all;
    the command's own process start is in the time."""
    _, rss, out = timed(cmd)
    t = statistics.median(timed(cmd, rss=False)[0] for _ in range(runs))
    return t, rss, out


def median_of(runs, fn):
    results = [fn(i) for i in range(runs)]
    return statistics.median(r[0] for r in results), max(r[1] for r in results), results[-1][2]


def duckdb_time(runs, fn, con=None):
    """Median seconds of `fn` over `runs`, and its last value. With `con`, a run longer than
    LIMITS["seconds"] is interrupted and raises StepFailed."""
    times = []
    value = None
    for _ in range(runs):
        timer = threading.Timer(LIMITS["seconds"], con.interrupt) if con else None
        if timer:
            timer.start()
        start = time.perf_counter()
        try:
            value = fn()
        except Exception as e:  # duckdb.InterruptException and any engine error
            raise StepFailed(f"duckdb: {type(e).__name__} after {time.perf_counter() - start:.0f} s") from e
        finally:
            if timer:
                timer.cancel()
        times.append(time.perf_counter() - start)
    return statistics.median(times), value


def duck_connect(work):
    """A DuckDB connection whose spill files go under `work` (by default DuckDB spills to `.tmp`
    in the current directory: the timeline questions at 1 M wrote up to 43 GB there)."""
    import duckdb
    con = duckdb.connect()
    con.execute(f"SET temp_directory = '{Path(work) / 'duckdb-tmp'}'")
    return con


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
    cols = ["changes", "succeeded", "failed", "rolled_back", "cancelled", "in_progress", "completed",
            "succeeded_but_caused_incident", "incidents_caused", "change_failure_rate_pct"]
    keyed = [(f"{r[0]}|{r[1]}", *r[2:]) for r in rows]
    return rows_match(keyed, [dict(r, k=f"{r['grouping']}|{r['key']}") for r in mine], "k", cols)


def check_incident_trends(rows, mine):
    cols = ["incidents", "sev1", "sev2", "sev3", "sev4_5", "mtta_mean_min", "mtta_median_min", "mtta_p90_min",
            "mttr_mean_min", "mttr_median_min", "mttr_p90_min", "first_notice_mean_min"]
    return rows_match(rows, mine, "month", cols, {c: 0.11 for c in cols[5:]})


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


def check_since_last_downtime(rows, mine):
    rows = [(r[0], str(r[1]).lower(), *r[2:]) for r in rows]
    cols = ["ongoing", "hours_since", "days_since", "downtime_spans_in_period", "longest_streak_days_in_period"]
    return rows_match(rows, mine, "asset_id", cols)


def check_blast_radius(rows, mine):
    rows = [(r[0], r[1], str(r[2]).lower(), *r[3:]) for r in rows]
    cols = ["arr", "uses_directly", "sla_target", "error_budget_remaining_minutes", "customers_at_risk", "total_arr_at_risk",
            "asset_changes_completed", "asset_change_failure_rate_pct"]
    ok, why = rows_match(rows, mine, "customer_id", cols, {"error_budget_remaining_minutes": 0.11})
    order = [r[0] for r in rows] == [m["customer_id"] for m in mine]
    return ok and order, why or ("" if order else "order differs")


def check_churn_causes(rows, mine):
    cols = ["logos_lost", "downgrades", "mrr_lost", "share_of_mrr_lost_pct", "start_customers", "start_mrr", "churned_logos",
            "logo_churn_rate_pct", "gross_mrr_churn_pct", "net_mrr_churn_pct", "churned_incidents_90d", "retained_incidents_90d",
            "churned_downtime_min_90d", "retained_downtime_min_90d"]
    return rows_match(rows, mine, "reason", cols, {"churned_downtime_min_90d": 0.11, "retained_downtime_min_90d": 0.11})


def check_top_customers(rows, mine):
    rows = [(str(r[0]), *r[1:]) for r in rows]
    cols = ["customer_id", "arr", "availability_pct", "sla_target", "incidents", "sev1_sev2", "downtime_minutes", "open_incidents",
            "sla_breaches", "credits", "changes_on_their_assets", "churn_risk"]
    return rows_match(rows, mine, "rank", cols, {"availability_pct": 0.0011, "downtime_minutes": 0.11})


def check_invest(rows, mine):
    cols = ["rank", "downtime_minutes", "customers_affected", "arr_affected", "downtime_cost", "sla_credits", "reliability_churn_arr",
            "cost_of_unreliability", "run_cost", "unreliability_to_run_cost"]
    return rows_match(rows, mine, "asset_id", cols, {"downtime_minutes": 0.11, "sla_credits": 0.05, "cost_of_unreliability": 0.05})


# The questions DuckDB answers too, with how to compare its rows with opsintel's.
CHECKS = {
    "change-outcomes": check_change_outcomes,
    "incident-trends": check_incident_trends,
    "troublesome-components": check_troublesome,
    "trailing-twelve-months": check_ttm,
    "sla-attainment": check_sla,
    "since-last-downtime": check_since_last_downtime,
    "blast-radius": check_blast_radius,
    "churn-causes": check_churn_causes,
    "top-customers": check_top_customers,
    "invest-next-dollar": check_invest,
}
# Questions whose DuckDB SQL reads the shared tables of duck.prepare (timed with them), and
# whether they need the customer timelines.
NEEDS_PREPARE = {"troublesome-components": False, "trailing-twelve-months": True, "sla-attainment": True,
                 "since-last-downtime": False, "blast-radius": False,
                 "churn-causes": False, "top-customers": False, "invest-next-dollar": True}


def render(results_dir):
    """The table of every size measured so far (bench/results/*.json) into latest.md, and printed."""
    lines = ["| size | incidents | step | opsintel (median s) | max RSS (MiB) | DuckDB on Parquet (median s) | ratio | DuckDB on CSV (median s) | ratio | same answer (Parquet/CSV) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for f in sorted(results_dir.glob("*.json"), key=lambda p: json.loads(p.read_text())["scale"]):
        size = f.stem
        r = json.loads(f.read_text())
        for s in r["steps"]:
            if s.get("failed"):
                lines.append(f"| {size} | {r['incidents']:,} | {s['step']} | failed: {s['failed']} | | | | | | |")
                continue
            d = s.get("duckdb_parquet_s", s["duckdb_s"])
            dc = s.get("duckdb_csv_s")
            ratio = f"{s['opsintel_s'] / d:.2f}" if d else ""
            ratio_c = f"{s['opsintel_s'] / dc:.2f}" if dc else ""
            flags = [s.get("same_parquet", s["same_answer"]), s.get("same_csv")]
            same = "/".join("" if f is None else ("yes" if f else "NO") for f in flags).strip("/")
            if s.get("duckdb_earlier"):
                same += " (earlier DuckDB run)"
            lines.append(f"| {size} | {r['incidents']:,} | {s['step']} | {s['opsintel_s']:.3f} | {s['max_rss_mib']:.0f} | {'' if d is None else f'{d:.3f}'} | {ratio} | {'' if dc is None else f'{dc:.3f}'} | {ratio_c} | {same} |")
    lines += growth(results_dir)
    (results_dir / "latest.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def growth(results_dir, smaller="medium", larger="large"):
    """Lines of a table: how each step's time and peak memory grow from one size to the next
    (the issue's "no faster than the data"), when both sizes have results."""
    a, b = results_dir / f"{smaller}.json", results_dir / f"{larger}.json"
    if not (a.exists() and b.exists()):
        return []
    ra, rb = json.loads(a.read_text()), json.loads(b.read_text())
    data = rb["incidents"] / ra["incidents"]
    out = ["", f"Growth from {smaller} ({ra['incidents']:,} incidents) to {larger} ({rb['incidents']:,}): {data:.1f}x the data", "",
           "| step | time x | memory x | DuckDB (Parquet) time x |", "|---|---|---|---|"]
    steps_a = {s["step"]: s for s in ra["steps"]}
    for s in rb["steps"]:
        p = steps_a.get(s["step"])
        if not p or p.get("failed") or not p.get("opsintel_s"):
            continue
        if s.get("failed"):
            out.append(f"| {s['step']} | failed: {s['failed']} | | |")
            continue
        dt = f"{s['duckdb_s'] / p['duckdb_s']:.1f}" if s.get("duckdb_s") and p.get("duckdb_s") else ""
        out.append(f"| {s['step']} | {s['opsintel_s'] / p['opsintel_s']:.1f} | {s['max_rss_mib'] / p['max_rss_mib']:.1f} | {dt} |")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sizes", nargs="*", default=["small"])
    ap.add_argument("--bin", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--duck-runs", type=int, default=None, help="runs of each DuckDB question (default: --runs)")
    ap.add_argument("--duck-sources", default="parquet,csv", help="what DuckDB reads: parquet, csv or both (default)")
    ap.add_argument("--work", default=None, help="where to put generated data and lakes (default: a temp dir)")
    ap.add_argument("--gzip", action="store_true", help="generate and read .csv.gz files (for sizes larger than the free disk)")
    ap.add_argument("--duck-questions", default=",".join(CHECKS), help="which questions DuckDB answers (default: all it can)")
    ap.add_argument("--max-rss-gib", type=float, default=LIMITS["rss_gib"], help="stop an opsintel step above this resident memory")
    ap.add_argument("--timeout", type=float, default=LIMITS["seconds"], help="stop an opsintel step after this many seconds")
    ap.add_argument("--queries", default=",".join(q for q, _ in QUERIES), help="which canned queries to time (default: all; 'none' for none)")
    ap.add_argument("--no-report", action="store_true", help="do not time report exec")
    ap.add_argument("--reuse-lake", action="store_true",
                    help="keep the lake an earlier run left in --work and skip the ingest steps; steps measured now replace "
                         "those of the same name in bench/results/<size>.json, the others are kept")
    args = ap.parse_args()
    if args.reuse_lake and not args.work:
        ap.error("--reuse-lake needs --work (where the earlier run left its lake)")
    LIMITS.update(rss_gib=args.max_rss_gib, seconds=args.timeout)
    ext = "csv.gz" if args.gzip else "csv"
    import duckdb

    results_dir = Path("bench/results")
    results_dir.mkdir(parents=True, exist_ok=True)
    work = Path(args.work or tempfile.mkdtemp(prefix="opsintel-bench-"))
    machine = {"cores": os.cpu_count(), "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
               "platform": platform.platform(), "duckdb": duckdb.__version__}
    for size in args.sizes:
        # A named size, or `xN` for generator scale N (to measure how cost grows).
        scale = SIZES[size] if size in SIZES else float(size.lstrip("x"))
        data = work / f"data-{size}{'-gz' if args.gzip else ''}"
        if not (data / f"incidents.{ext}").exists():
            shutil.rmtree(data, ignore_errors=True)
            timed([args.bin, "generate", "--out", str(data), "--scale", str(scale)] + (["--gzip"] if args.gzip else []))
        mib = sum(f.stat().st_size for f in data.iterdir()) / 2**20
        print(f"== {size}: scale {scale}, {mib:,.0f} MiB of {ext} files", flush=True)
        res = {"size": size, "scale": scale, "format": ext, "machine": machine, "steps": []}

        # Ingest, one dataset at a time. The first run of each builds the lake the queries read
        # (each dataset starts empty in it, as in a fresh lake); further runs use a scratch lake.
        # DuckDB copies the same file to Parquet (its fastest path, no validation).
        lake = work / f"lake-{size}"
        reuse = args.reuse_lake and (lake / "_opsintel" / "manifest.json").exists()
        if not reuse:
            shutil.rmtree(lake, ignore_errors=True)
        for ds in DATASETS if not reuse else []:
            src = data / f"{ds}.{ext}"
            def ingest_once(i):
                target = lake if i == 0 else work / f"lake-{size}-scratch"
                if i > 0:
                    shutil.rmtree(target, ignore_errors=True)
                return timed([args.bin, "--lake", str(target), "ingest", ds, str(src)])
            t, rss, _ = median_of(args.runs, ingest_once)
            shutil.rmtree(work / f"lake-{size}-scratch", ignore_errors=True)
            con = duck_connect(work)
            out = work / f"duck-{ds}.parquet"
            dt, _ = duckdb_time(args.duck_runs or args.runs, lambda: con.execute(f"COPY (SELECT * FROM read_csv_auto('{src}')) TO '{out}' (FORMAT PARQUET)"))
            con.close()
            out.unlink(missing_ok=True)
            res["steps"].append({"step": f"ingest {ds}", "opsintel_s": t, "max_rss_mib": rss, "duckdb_s": dt, "same_answer": None,
                                 "input_mib": src.stat().st_size / 2**20})
            print(f"ingest {ds}: {t:.3f}s ({rss:.0f} MiB) duckdb {dt:.3f}s", flush=True)
        manifest = json.loads((lake / "_opsintel" / "manifest.json").read_text())
        res["incidents"] = manifest["datasets"]["incidents"]["rows"]
        res["rows"] = {ds: manifest["datasets"][ds]["rows"] for ds in manifest["datasets"]}
        print(f"{res['incidents']:,} incidents", flush=True)
        base = [args.bin, "--lake", str(lake), "--as-of", AS_OF]
        # Tables an earlier run kept in the lake (the change facts a report keeps) would answer
        # change-outcomes from them: on a reused lake the canned queries, and the report's first
        # run, would not be what their names say. The lake keeps them only as a saving, so they
        # are dropped here, as on a fresh lake.
        shutil.rmtree(lake / "_opsintel" / "derived", ignore_errors=True)
        # The generated files and the ingests' lakes still being written back to disk would
        # compete with the timed queries for both cores: flush them first.
        os.sync()

        # Canned queries.
        answers = {}
        chosen = args.queries.split(",")
        for name, params in QUERIES:
            if name not in chosen:
                continue
            cmd = base + ["query", "run", name, "--format", "csv"] + sum((["--param", p] for p in params), [])
            try:
                t, rss, out = measured(args.runs, cmd)
            except StepFailed as e:
                res["steps"].append({"step": f"query {name}", "opsintel_s": None, "max_rss_mib": None, "duckdb_s": None, "same_answer": None, "failed": str(e)})
                print(f"query {name}: FAILED {e}", flush=True)
                continue
            answers[name] = csv_rows(out)
            res["steps"].append({"step": f"query {name}", "opsintel_s": t, "max_rss_mib": rss, "duckdb_s": None, "same_answer": None})
            print(f"query {name}: {t:.3f}s ({rss:.0f} MiB)", flush=True)

        # DuckDB answers the same questions in SQL (bench/duck.py), from the lake's Parquet files
        # and from the CSVs. Both answers are checked against opsintel's before the ratio counts.
        for source, where in (("parquet", lake), ("csv", data)):
            if source not in args.duck_sources.split(","):
                continue
            con = duck_connect(work)
            duck.views(con, source, where, ext)
            wanted = [q for q in CHECKS if q in args.duck_questions.split(",") and q in answers]
            if any(q in NEEDS_PREPARE for q in wanted):
                try:
                    prep, _ = duckdb_time(1, lambda: duck.prepare(con, timelines=any(NEEDS_PREPARE.get(q) for q in wanted)), con)
                    print(f"duckdb {source}: shared tables {prep:.3f}s", flush=True)
                except StepFailed as e:
                    print(f"duckdb {source}: shared tables FAILED {e}", flush=True)
                    wanted = [q for q in wanted if q not in NEEDS_PREPARE]
            for name in wanted:
                check = CHECKS[name]
                fn = getattr(duck, name.replace("-", "_"))
                # Each timed run rebuilds the shared tables it needs, as opsintel does per run.
                def once():
                    if name in NEEDS_PREPARE:
                        duck.prepare(con, timelines=NEEDS_PREPARE[name])
                    return fn(con)
                step = next(s for s in res["steps"] if s["step"] == f"query {name}")
                try:
                    dt, rows = duckdb_time(args.duck_runs or args.runs, once, con)
                except StepFailed as e:
                    step[f"duckdb_{source}_failed"] = str(e)
                    print(f"duckdb {source} {name}: FAILED {e}", flush=True)
                    continue
                same, why = check(rows, answers[name])
                step[f"duckdb_{source}_s"] = dt
                step[f"same_{source}"] = same
                if source == "parquet":
                    step.update(duckdb_s=dt, same_answer=same)
                print(f"duckdb {source} {name}: {dt:.3f}s same={same} {why}", flush=True)
            con.close()

        # The executive report and start-up.
        pdf = work / f"exec-{size}.pdf"
        if not args.no_report:
            # The first report on a lake counts the change facts and keeps them in it (under
            # _opsintel/derived); later runs sum them. Both are recorded: the first run alone,
            # and the median of the runs after it.
            first = "report exec (first run: keeps the change facts)"
            try:
                t, rss, _ = timed(base + ["report", "exec", "--out", str(pdf)])
                res["steps"].append({"step": first, "opsintel_s": t, "max_rss_mib": rss, "duckdb_s": None, "same_answer": None})
                print(f"{first}: {t:.3f}s ({rss:.0f} MiB)", flush=True)
                t, rss, _ = measured(args.runs, base + ["report", "exec", "--out", str(pdf)])
                res["steps"].append({"step": "report exec", "opsintel_s": t, "max_rss_mib": rss, "duckdb_s": None, "same_answer": None})
                print(f"report exec: {t:.3f}s ({rss:.0f} MiB)", flush=True)
            except StepFailed as e:
                res["steps"].append({"step": "report exec", "opsintel_s": None, "max_rss_mib": None, "duckdb_s": None, "same_answer": None, "failed": str(e)})
                print(f"report exec: FAILED {e}", flush=True)
            # change-outcomes again, now that the lake holds the change facts: the same answer,
            # against the same DuckDB time.
            before = next((s for s in res["steps"] if s["step"] == "query change-outcomes" and s.get("opsintel_s")), None)
            if before and "change-outcomes" in answers:
                params = dict(QUERIES)["change-outcomes"]
                cmd = base + ["query", "run", "change-outcomes", "--format", "csv"] + sum((["--param", p] for p in params), [])
                try:
                    t, rss, out = measured(args.runs, cmd)
                    same = csv_rows(out) == answers["change-outcomes"]
                    d = before.get("duckdb_parquet_s", before.get("duckdb_s"))
                    res["steps"].append({"step": "query change-outcomes (change facts kept)", "opsintel_s": t, "max_rss_mib": rss,
                                         "duckdb_s": d, "duckdb_parquet_s": d, "duckdb_csv_s": before.get("duckdb_csv_s"),
                                         "same_answer": same, "same_parquet": same and before.get("same_parquet", before.get("same_answer")),
                                         "same_csv": (same and before["same_csv"]) if before.get("same_csv") is not None else None})
                    print(f"query change-outcomes (change facts kept): {t:.3f}s ({rss:.0f} MiB) same as before the facts: {same}", flush=True)
                except StepFailed as e:
                    print(f"query change-outcomes (change facts kept): FAILED {e}", flush=True)
        t, rss, _ = measured(max(args.runs, 5), [args.bin, "query", "list"])
        res["steps"].append({"step": "query list (start-up)", "opsintel_s": t, "max_rss_mib": rss, "duckdb_s": None, "same_answer": None})
        print(f"query list: {t*1000:.1f} ms", flush=True)
        out_file = results_dir / f"{size}.json"
        if reuse and out_file.exists():
            # Steps measured now replace the earlier ones of the same name; the rest are kept. A
            # step measured now without DuckDB keeps the earlier DuckDB figures (marked: the
            # table shows their ratio with "earlier DuckDB run").
            old = json.loads(out_file.read_text())
            now = {s["step"]: s for s in res["steps"]}
            for s in old["steps"]:
                new = now.get(s["step"])
                if new and new.get("duckdb_s") is None and s.get("duckdb_s") is not None:
                    for k in ("duckdb_s", "duckdb_parquet_s", "duckdb_csv_s", "same_answer", "same_parquet", "same_csv"):
                        if s.get(k) is not None:
                            new[k] = s[k]
                    new["duckdb_earlier"] = True
            steps = [now.pop(s["step"], s) for s in old["steps"]] + list(now.values())
            res = old | {"steps": steps, "machine": machine}
        out_file.write_text(json.dumps(res, indent=2) + "\n")

    render(results_dir)

if __name__ == "__main__":
    main()
