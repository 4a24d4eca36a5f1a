"""Peak resident memory of a command and all its child processes together (sampled), e.g. the test suite:

  python benchmarks/peak_memory.py [--every 0.2] -- python -m pytest tests -q

Samples the summed RSS of the process tree every `--every` seconds and prints the peak (GiB) and when it happened;
exits with the command's status. RSS counts shared pages once per process, so the sum is an upper bound.
"""

import argparse
import os
import subprocess
import sys
import time

PAGE = os.sysconf("SC_PAGE_SIZE")


def tree_rss(root: int) -> int:
    "Bytes resident in process `root` and its descendants now, read from /proc (Linux; vanished processes skipped)."
    parents, resident = {}, {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{name}/statm") as handle:
                resident[int(name)] = int(handle.read().split()[1]) * PAGE
            parents[int(name)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue
    members, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in members]
        members.update(children)
        frontier.extend(children)
    return sum(resident.get(pid, 0) for pid in members)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=float, default=0.2, help="seconds between samples")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command, after --")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")
    started, peak, peak_at = time.perf_counter(), 0, 0.0
    child = subprocess.Popen(command)
    while child.poll() is None:
        rss = tree_rss(child.pid)
        if rss > peak:
            peak, peak_at = rss, time.perf_counter() - started
        time.sleep(args.every)
    print(
        f"peak memory (RSS of the process tree, sampled every {args.every} s): {peak / 2**30:.2f} GiB "
        f"at {peak_at:.0f} s of {time.perf_counter() - started:.0f} s",
        file=sys.stderr,
    )
    return child.returncode


if __name__ == "__main__":
    raise SystemExit(main())
