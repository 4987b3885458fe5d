#!/bin/sh
# A canned query's time outside the derived tables it builds: its last `sql` step minus the
# top-level table steps (`--timings`), the "SQL outside the tables" figures of
# docs/benchmarks.md.
#   bench/sql-part.sh BINARY LAKE QUERY [--param K=V ...]
B=$1; L=$2; shift 2
"$B" --lake "$L" --as-of 2026-11-01 --timings query run "$@" --format csv 2>&1 >/dev/null | python3 -c '
import re, sys
lines = [l for l in sys.stdin if l.startswith("timing:")]
secs = lambda l: float(re.search(r"([0-9.]+) s", l).group(1))
sql = [secs(l) for l in lines if l.startswith("timing: sql")][-1]
tables = sum(secs(l) for l in lines if l.startswith("timing: table") and "ahead" not in l)
print(f"sql {sql:.3f} s, tables {tables:.3f} s, outside the tables {sql - tables:.3f} s")'
