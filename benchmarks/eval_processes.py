#!/usr/bin/env python3
"""`llave eval mmeb` in one process, with data worker processes, and under `torchrun`, side by side.

    python benchmarks/eval_processes.py [--max-rows 100] [--repeats 2] [--settings 1x0 1x1 1x2 2x0] [--json OUT]

A setting PxW is P processes (torchrun when P > 1, the unique items shared among them), each with W `--workers`
(processes that decode and prepare images while the model runs). The shipped tiny model on the committed MMEB-mini
(`--max-rows` rows of each of its 11 datasets), each setting run as its own command, alternated `--repeats` times.
A machine of C cores gives each of P processes C // P threads. Reports the command's wall time (model loading
included), unique items per second, and checks that every setting gives the same scores.
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


def run(processes: int, workers: int, out: Path, max_rows: int) -> tuple[float, dict]:
    "One `llave eval mmeb` with `processes` processes of `workers` workers; (wall seconds, summary.json)."
    from llave.mini.pretrain import pretrained_model

    threads = max(1, (os.cpu_count() or 1) // processes)
    launcher = (
        [sys.executable, "-m", "llave"]
        if processes == 1
        else [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            f"--nproc_per_node={processes}",
            "-m",
            "llave",
        ]
    )
    command = launcher + [
        "eval",
        "mmeb",
        "--model",
        str(pretrained_model()),
        "--data",
        str(ROOT / "data" / "mmeb-mini"),
        "--out",
        str(out),
        "--max-rows",
        str(max_rows),
        "--batch-size",
        "32",
        "--overwrite",
        "--workers",
        str(workers),
    ]
    environment = {**os.environ, "OMP_NUM_THREADS": str(threads), "HF_HUB_OFFLINE": "1"}
    started = time.perf_counter()
    subprocess.run(command, check=True, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started, json.loads((out / "summary.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-rows", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--settings", nargs="+", default=["1x0", "1x1", "1x2", "2x0"])
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    settings = [tuple(int(n) for n in setting.split("x")) for setting in args.settings]
    seconds, summaries = {s: [] for s in settings}, {}
    with tempfile.TemporaryDirectory() as folder:
        for repeat in range(args.repeats):
            for processes, workers in settings:
                wall, summaries[processes, workers] = run(
                    processes, workers, Path(folder) / f"{processes}x{workers}", args.max_rows
                )
                seconds[processes, workers].append(wall)
                print(f"repeat {repeat}: {processes} process(es) x {workers} worker(s) {wall:.1f} s", flush=True)
    scores = {s: summary["per_dataset"] for s, summary in summaries.items()}
    items = next(iter(summaries.values()))["encoding"]["unique_items"]
    base = statistics.median(seconds[settings[0]])
    rows = [
        {
            "processes": p,
            "workers": w,
            "threads_each": max(1, (os.cpu_count() or 1) // p),
            "seconds": [round(s, 2) for s in seconds[p, w]],
            "items_per_second": round(items / statistics.median(seconds[p, w]), 1),
            "speedup": round(base / statistics.median(seconds[p, w]), 3),
        }
        for p, w in settings
    ]
    result = {
        "unique_items": items,
        "max_rows": args.max_rows,
        "cores": os.cpu_count(),
        "rows": rows,
        "same_scores": all(s == scores[settings[0]] for s in scores.values()),
        "load_average_before": load,
    }
    print(json.dumps(result, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
