#!/usr/bin/env python3
"""Median wall time of N runs of one command, each a process started straight from here (no
GNU time around it), output discarded: the short before/after comparisons of docs/benchmarks.md.
  python3 bench/repeat.py N COMMAND [ARGS...]
Alternate two binaries in one batch to compare them; this machine's speed drifts by the hour."""
import statistics, subprocess, sys, time

n, cmd = int(sys.argv[1]), sys.argv[2:]
times = []
for _ in range(n):
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
    times.append(time.perf_counter() - start)
print(f"median {statistics.median(times) * 1000:.1f} ms  min {min(times) * 1000:.1f}  max {max(times) * 1000:.1f}")
