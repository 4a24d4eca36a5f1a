#!/usr/bin/env python3
"""`llave eval mmeb` in one process against the same under `torchrun` (items shared among the processes), side by side.

    python benchmarks/eval_processes.py [--max-rows 100] [--repeats 2] [--processes 1 2] [--json OUT]

The shipped tiny model on the committed MMEB-mini (`--max-rows` rows of each of its 11 datasets), each setting run
as its own command, alternated `--repeats` times (ABAB...). A machine of C cores gives each of P processes C // P
threads, so one process is not starved of cores the other setting uses. Reports the command's wall time (model
loading included), unique items per second, and checks that every setting gives the same scores.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(processes: int, out: Path, max_rows: int) -> tuple[float, dict]:
    "One `llave eval mmeb` with `processes` processes; (wall seconds, summary.json)."
    from llave.pretrain import pretrained_model
    threads = max(1, (os.cpu_count() or 1) // processes)
    launcher = [sys.executable, "-m", "llave"] if processes == 1 else [
        sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}", "-m", "llave"]
    command = launcher + ["eval", "mmeb", "--model", str(pretrained_model()), "--data", str(ROOT / "data" / "mmeb-mini"),
                          "--out", str(out), "--max-rows", str(max_rows), "--batch-size", "32", "--overwrite"]
    environment = {**os.environ, "OMP_NUM_THREADS": str(threads), "HF_HUB_OFFLINE": "1"}
    started = time.perf_counter()
    subprocess.run(command, check=True, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started, json.loads((out / "summary.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-rows", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    seconds, summaries = {p: [] for p in args.processes}, {}
    with tempfile.TemporaryDirectory() as folder:
        for repeat in range(args.repeats):
            for processes in args.processes:
                wall, summaries[processes] = run(processes, Path(folder) / f"p{processes}", args.max_rows)
                seconds[processes].append(wall)
                print(f"repeat {repeat}: {processes} process(es) {wall:.1f} s", flush=True)
    scores = {p: s["per_dataset"] for p, s in summaries.items()}
    items = next(iter(summaries.values()))["encoding"]["unique_items"]
    base = statistics.median(seconds[args.processes[0]])
    rows = [{"processes": p, "threads_each": max(1, (os.cpu_count() or 1) // p), "seconds": [round(s, 2) for s in seconds[p]],
             "items_per_second": round(items / statistics.median(seconds[p]), 1),
             "speedup": round(base / statistics.median(seconds[p]), 3)} for p in args.processes]
    result = {"unique_items": items, "max_rows": args.max_rows, "cores": os.cpu_count(), "rows": rows,
              "same_scores": all(s == scores[args.processes[0]] for s in scores.values()),
              "load_average_before": load}
    print(json.dumps(result, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
