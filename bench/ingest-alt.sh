#!/bin/sh
# Ingest time of two opsintel binaries, alternating, each dataset into fresh lakes, then whether
# both lakes hold the same rows in the same file order: the "alternating, fresh lakes" ingest
# figures of docs/benchmarks.md. Needs GNU time and the duckdb Python package (bench/run
# installs both).
#   bench/ingest-alt.sh OLD_BINARY NEW_BINARY DATA_DIR RUNS DATASET...
# Prints "DATASET BINARY MILLISECONDS ms PEAK KB" per run (wall clock around the run, GNU
# time's own few milliseconds included alike for both), then per dataset the median of each
# binary's runs and "DATASET rows N same order: yes|NO"; exits 1 if any lake differs.
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
      t0=$(date +%s%N)
      /usr/bin/time -o "$W/peak" -f "%M" "$bin" --lake "$W/$b" ingest "$ds" "$DATA/$ds.csv" >/dev/null
      t1=$(date +%s%N)
      ms=$(awk "BEGIN { printf \"%.1f\", ($t1 - $t0) / 1e6 }")
      echo "$ds $bin $ms ms $(cat "$W/peak") KB"
      echo "$b $ms" >> "$W/times"
    done
    i=$((i + 1))
  done
  python3 - "$W" "$ds" "$A" "$B" <<'PY' || status=1
import statistics, sys, duckdb
w, ds, a_bin, b_bin = sys.argv[1:]
runs = {"A": [], "B": []}
for line in open(f"{w}/times"):
    b, ms = line.split()
    runs[b].append(float(ms))
for b, name in (("A", a_bin), ("B", b_bin)):
    print(f"{ds} {name} median {statistics.median(runs[b]):.1f} ms of {len(runs[b])}")
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
  rm -f "$W/times"
done
exit $status
