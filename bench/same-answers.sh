#!/bin/sh
# Every canned query's CSV from two opsintel binaries, compared: the "same answers" check of a
# change in docs/benchmarks.md (27 runs: every query over two periods, the weighted and
# major-only policies, blast-radius, the customer queries).
#   bench/same-answers.sh OLD_BINARY NEW_BINARY LAKE CUSTOMER_ID [AS_OF]
# Prints "same NAME" or "DIFF NAME" per run; exits 1 if any differs or fails.
set -u
A=$1; B=$2; L=$3; C=$4; AS_OF=${5:-2026-11-01}
out=$(mktemp -d); bad=0
run() { # name args...
  n=$1; shift
  for b in "$A" "$B"; do
    "$b" --lake "$L" --as-of "$AS_OF" query run "$@" --format csv > "$out/$(basename "$b").$n.csv" 2>/dev/null \
      || { echo "FAIL $b $n"; bad=1; }
  done
  if cmp -s "$out/$(basename "$A").$n.csv" "$out/$(basename "$B").$n.csv"; then echo "same $n"; else echo "DIFF $n"; bad=1; fi
}
for q in headline-kpis sla-attainment since-last-downtime invest-next-dollar churn-causes \
         change-outcomes troublesome-components top-customers; do
  run "$q" "$q" --param period=2026; run "$q-q3" "$q" --param period=2026-Q3
done
run blast-radius blast-radius --param asset=pg-main
run incident-trends incident-trends
run ttm trailing-twelve-months
run dbm downtime-by-month
run ttm-weighted trailing-twelve-months --param policy=weighted
run sla-weighted sla-attainment --param period=2026 --param policy=weighted
run inv-major invest-next-dollar --param period=2026 --param policy=major_only
for q in customer-summary customer-sla customer-incidents customer-changes; do
  run "$q" "$q" --param customer="$C" --param period=2026
done
rm -rf "$out"
exit $bad
