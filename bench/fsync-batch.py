#!/usr/bin/env python3
"""fsync of a month-partitioned version's files and directories, one after another against
from eight threads at once: the figures behind `sync_version` in src/lake/store.rs. Writes N
small files (3,000 bytes, about one month of the maintenance dataset) in N directories under
DIR, then fsyncs the files and the directories; three trials each way, alternating.
  python3 bench/fsync-batch.py [DIR] [N]     (defaults: a temporary folder, 36)"""
import os, shutil, sys, tempfile, threading, time

made = len(sys.argv) < 2
root = tempfile.mkdtemp() if made else sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 36


def fsync(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def version(base):
    shutil.rmtree(base, ignore_errors=True)
    paths = []
    for i in range(n):
        d = os.path.join(base, f"month={i:03}")
        os.makedirs(d)
        p = os.path.join(d, "part-0.parquet")
        with open(p, "wb") as f:
            f.write(os.urandom(3000))
        paths += [p, d]
    return paths


for trial in range(3):
    for way in ("one after another", "eight threads"):
        paths = version(os.path.join(root, "v"))
        start = time.perf_counter()
        if way == "one after another":
            for p in paths:
                fsync(p)
        else:
            threads = [threading.Thread(target=lambda ps=paths[i::8]: [fsync(p) for p in ps]) for i in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        print(f"{len(paths)} fsyncs, {way}: {(time.perf_counter() - start) * 1000:.1f} ms")
shutil.rmtree(root if made else os.path.join(root, "v"), ignore_errors=True)
