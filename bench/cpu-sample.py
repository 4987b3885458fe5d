#!/usr/bin/env python3
"""Where a run's cores go, second by second: run a command, sample its CPU (user and system,
in cores) and resident memory once a second from /proc/PID/stat, and print the samples
interleaved with the command's stderr lines (`--timings`), each with its time since the start.
The "both cores busy for the first 10 s, then 1.0-1.3 cores" figures of docs/benchmarks.md.
Linux only; the command's stdout is discarded.
  python3 bench/cpu-sample.py ./opsintel --lake LAKE --as-of 2026-11-01 --timings report exec --out x.pdf"""
import os, subprocess, sys, threading, time


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    start = time.time()
    proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines = []

    def read_stderr():
        for line in proc.stderr:
            lines.append((time.time() - start, line.rstrip()))

    reader = threading.Thread(target=read_stderr)
    reader.start()
    hz, page = os.sysconf("SC_CLK_TCK"), os.sysconf("SC_PAGE_SIZE")
    before = None
    while proc.poll() is None:
        try:
            # Fields after the command name: utime and stime are the 12th and 13th.
            with open(f"/proc/{proc.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{proc.pid}/statm") as f:
                rss = int(f.read().split()[1]) * page >> 20
        except (FileNotFoundError, ProcessLookupError, IndexError):
            break
        now, user, system = time.time() - start, int(fields[11]), int(fields[12])
        if before:
            dt = now - before[0]
            lines.append((now, f"cpu user {(user - before[1]) / hz / dt:.2f} "
                               f"sys {(system - before[2]) / hz / dt:.2f} rss {rss} MiB"))
        before = (now, user, system)
        time.sleep(1)
    reader.join()
    proc.wait()
    for t, line in sorted(lines):
        print(f"{t:7.2f} {line}")
    sys.exit(proc.returncode)


if __name__ == "__main__":
    main()
