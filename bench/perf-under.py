"""CPU seconds under one function of a perf profile, split by what it called: the "s of CPU in
X" figures of docs/benchmarks.md. The profile comes from the symbols build
(`CARGO_PROFILE_RELEASE_STRIP=false cargo build --release`):

    perf record -o P.data -F 99 --call-graph dwarf,32768 ./opsintel ... 
    perf script -i P.data -F tid,ip,sym --no-inline > P.txt
    python3 bench/perf-under.py P.txt 99 'sla::build' [DEPTH]

Each sample whose stack holds a frame naming the function counts once, under the frames it
called (DEPTH of them, 1 unless given; "(self)" for samples in the function itself); seconds
are samples / frequency (the -F given to perf record), summed over threads.
"""
import collections
import sys


def samples(path):
    """The stacks of `perf script -F tid,ip,sym`, leaf first, as lists of symbols."""
    stack = []
    for line in open(path, errors="replace"):
        if not line.strip():
            if stack:
                yield stack
            stack = []
        elif line[0] in " \t":
            parts = line.strip().split(" ", 1)
            stack.append(parts[1] if len(parts) > 1 else "?")
        elif stack:  # a new sample's header without a blank line before it
            yield stack
            stack = []
    if stack:
        yield stack


def main():
    path, hz, target = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    depth = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    total, under, callees = 0, 0, collections.Counter()
    for stack in samples(path):
        total += 1
        hits = [i for i, f in enumerate(stack) if target in f]
        if not hits:
            continue
        under += 1
        i = hits[-1]  # the outermost frame of the function
        called = stack[max(i - depth, 0):i][::-1]
        callees[" > ".join(f[:70] for f in called) or "(self)"] += 1
    print(f"{target}: {under} of {total} samples, {under / hz:.2f} s of CPU")
    for name, n in callees.most_common(25):
        print(f"{n:6d} {n / hz:6.2f} s  {name}")


if __name__ == "__main__":
    main()
