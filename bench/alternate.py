#!/usr/bin/env python3
"""Alternate binaries on one command: each run starts every binary once, in turn, straight from
here (fork and exec, no GNU time), output discarded; then per binary the median wall time, user
and system CPU seconds and peak memory (max RSS) of its runs. This machine's speed drifts by the
hour, so comparisons in docs/benchmarks.md alternate rather than run one binary after the other.
  python3 bench/alternate.py RUNS BIN[@TUNABLES],BIN[@TUNABLES]... ARGS...
BIN@TUNABLES runs BIN with GLIBC_TUNABLES=TUNABLES (e.g. ./opsintel@glibc.malloc.arena_max=1)."""
import os, statistics, sys, time


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    runs, bins, args = int(sys.argv[1]), sys.argv[2].split(","), sys.argv[3:]
    results = {b: [] for b in bins}
    for _ in range(runs):
        for b in bins:
            path, _, tunables = b.partition("@")
            env = dict(os.environ)
            if tunables:
                env["GLIBC_TUNABLES"] = tunables
            start = time.perf_counter()
            pid = os.fork()
            if pid == 0:
                null = os.open(os.devnull, os.O_WRONLY)
                os.dup2(null, 1)
                os.dup2(null, 2)
                try:
                    os.execve(path, [path] + args, env)
                finally:
                    os._exit(127)
            _, status, usage = os.wait4(pid, 0)
            wall = time.perf_counter() - start
            if os.waitstatus_to_exitcode(status) != 0:
                sys.exit(f"{b} {' '.join(args)}: exit {os.waitstatus_to_exitcode(status)}")
            results[b].append((wall, usage.ru_utime, usage.ru_stime, usage.ru_maxrss / 1024))
    for b, r in results.items():
        med = lambda k: statistics.median(x[k] for x in r)
        walls = [x[0] for x in r]
        print(f"{b:40s} wall {med(0):7.3f} s (min {min(walls):.3f} max {max(walls):.3f})  "
              f"user {med(1):6.2f} s  sys {med(2):6.2f} s  peak {med(3):7.0f} MiB  runs {len(r)}")


if __name__ == "__main__":
    main()
