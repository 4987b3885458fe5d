#!/bin/sh
# Ingest time of two opsintel binaries, alternating, each dataset into fresh lakes, then whether
# both lakes hold the same rows in the same file order: the "alternating, fresh lakes" ingest
# figures of docs/benchmarks.md. Needs GNU time and the duckdb Python package (bench/run
# installs both).
#   bench/ingest-alt.sh OLD_BINARY NEW_BINARY DATA_DIR RUNS DATASET...
# Prints "DATASET BINARY SECONDS s PEAK KB" per run, then "DATASET rows N same order: yes|NO";
# exits 1 if any lake differs.
set -e
A=$1; B=$2; DATA=$3; N=$4; shift 4
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
status=0
for ds in "$@"; do
  i=0
  while [ "$i" -lt "$N" ]; do
    for b in A B; do
      bin=$A; [ "$b" = B ] && bin=$B
      rm -rf "$W/$b"
      /usr/bin/time -f "$ds $bin %e s %M KB" "$bin" --lake "$W/$b" ingest "$ds" "$DATA/$ds.csv" 2>&1 >/dev/null | tail -1
    done
    i=$((i + 1))
  done
  python3 - "$W" "$ds" <<'PY' || status=1
import sys, duckdb
w, ds = sys.argv[1:]
con = duckdb.connect()
con.execute("SET threads=1")  # file order
def digest(lake):
    rel = f"read_parquet('{w}/{lake}/{ds}/**/*.parquet', hive_partitioning=false)"
    cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {rel}").fetchall()]
    row = " || '|' || ".join(f"coalesce(CAST(\"{c}\" AS VARCHAR), '')" for c in cols)
    return con.execute(f"SELECT count(*), md5(string_agg({row}, ',')) FROM {rel}").fetchone()
a, b = digest("A"), digest("B")
print(f"{ds} rows {a[0]} same order: {'yes' if a == b else 'NO'}")
sys.exit(a != b)
PY
done
exit $status
