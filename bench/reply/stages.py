#!/usr/bin/env python3
"""Where CPU 0 goes per request, from `perf record -g -C 0` samples.

stages.py SECONDS NAME DATA PID TIDS REQUESTS [NAME DATA PID TIDS REQUESTS ...]
prints a Markdown table, one column per location: µs of CPU 0 per request
for each thread and part. PID is the worker under test (its event loop),
TIDS a file listing the worker's threads (the writer and syncer besides it),
REQUESTS how many requests the location answered in the SECONDS sampled.
Used by bench/reply/profile.sh."""
import collections
import re
import subprocess
import sys

PARTS = [
    "event loop, user: nginx",
    "event loop, user: the module (and libstdc++)",
    "event loop, user: libc (malloc/free, memcpy)",
    "event loop, user: libcrypto, LMDB, other",
    "event loop, kernel: socket writes (but the wakeups)",
    "event loop, kernel: waking a reader (sock_def_readable)",
    "event loop, kernel: socket reads",
    "event loop, kernel: other (epoll, getsockopt, eventfd, timers)",
    "writer + syncer, user",
    "writer + syncer, kernel: fdatasync",
    "writer + syncer, kernel: pwrite",
    "writer + syncer, kernel: other",
    "CPU 0 idle",
    "others on CPU 0 (kworkers, ...)",
]


def part_of(tid, frames, pid, tids):
    if tid == "0":
        return "CPU 0 idle"
    leaf = frames[0] if frames else ""
    stack = " ".join(frames)
    kernel = "kernel.kallsyms" in leaf
    if tid == pid:
        if kernel:
            if "sock_def_readable" in stack:
                return "event loop, kernel: waking a reader (sock_def_readable)"
            if "writev" in stack:
                return "event loop, kernel: socket writes (but the wakeups)"
            if "recvfrom" in stack or "sys_recv" in stack:
                return "event loop, kernel: socket reads"
            return "event loop, kernel: other (epoll, getsockopt, eventfd, timers)"
        m = re.search(r"\(([^)]*)\)\s*$", leaf)
        dso = m.group(1) if m else ""
        if dso.endswith("/nginx"):
            return "event loop, user: nginx"
        if "whatsapp" in dso or "libstdc++" in dso:
            return "event loop, user: the module (and libstdc++)"
        if "libc.so" in dso:
            return "event loop, user: libc (malloc/free, memcpy)"
        return "event loop, user: libcrypto, LMDB, other"
    if tid in tids:
        if not kernel:
            return "writer + syncer, user"
        if "fdatasync" in stack:
            return "writer + syncer, kernel: fdatasync"
        if "pwrite" in stack:
            return "writer + syncer, kernel: pwrite"
        return "writer + syncer, kernel: other"
    return "others on CPU 0 (kworkers, ...)"


def profile(data, pid, tids_file, requests, seconds):
    tids = set(open(tids_file).read().split()) - {pid}
    out = subprocess.run(["perf", "script", "-i", data, "-F", "tid,ip,sym,dso"],
                         capture_output=True, text=True, check=True).stdout
    count = collections.Counter()
    total = 0
    for block in out.split("\n\n"):
        lines = [line for line in block.split("\n") if line.strip()]
        if not lines:
            continue
        total += 1
        count[part_of(lines[0].split()[0], lines[1:], pid, tids)] += 1
    us = seconds * 1e6 / max(total, 1) / max(requests, 1)  # per sample, per request
    return {part: n * us for part, n in count.items()}, total * us


def main(argv):
    seconds = float(argv[1])
    columns = []
    for i in range(2, len(argv), 5):
        name, data, pid, tids, requests = argv[i:i + 5]
        columns.append((name, *profile(data, pid, tids, float(requests), seconds)))
    print("| thread, part | " + " | ".join(f"{c[0]} (µs / request)" for c in columns) + " |")
    print("|---|" + "---|" * len(columns))
    for part in PARTS:
        cells = [f"{c[1][part]:.1f}" if part in c[1] else "–" for c in columns]
        print(f"| {part} | " + " | ".join(cells) + " |")
    print("| **all of CPU 0** | " + " | ".join(f"**{c[2]:.1f}**" for c in columns) + " |")


if __name__ == "__main__":
    main(sys.argv)
