#!/usr/bin/env python3
"""Benchmark of MMEB evaluation on MMEB-mini: unique-item encoding (llave.eval) vs encoding every row naively.

    python benchmarks/eval_mmeb.py [--max-rows 100] [--batch-size 32] [--model DIR] [--mini DIR] [--json OUT]

Both strategies run the same model on the same rows. The *unique* strategy is `llave.eval.evaluate_datasets`
(each unique (text, image) item encoded once per run); the *naive* one encodes, for every row, its query and all
its candidates in one `encode` call (the model still batches them by modality). Reported for each: wall time,
forward passes (batches through the transformer), rows through the transformer (items encoded), and P@1 per
dataset; the two strategies' P@1 should agree (up to float noise from different batch padding).
Default model: a tiny untrained LLaVA-OneVision built in a temp dir (`llave.model.tiny_llava_onevision`).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch

from llave.data import load_eval_dataset
from llave.eval import available_datasets, collect_items, evaluate_datasets
from llave.minimmeb import ensure_mini
from llave.model import LLaVE, tiny_llava_onevision


def count_forwards(encoder: LLaVE) -> dict:
    "Count batches and rows that go through the encoder's transformer (a forward hook)."
    counts = {"passes": 0, "rows": 0}

    def hook(module, args, kwargs, output):
        counts["passes"] += 1
        counts["rows"] += kwargs["input_ids"].shape[0]

    encoder.model.model.register_forward_hook(hook, with_kwargs=True)
    return counts


def naive(encoder, datasets: dict, batch_size: int) -> dict[str, float]:
    "P@1 per dataset, encoding each row's query and candidates in one call per row; numpy argmax (first max)."
    scores = {}
    for name, rows in datasets.items():
        correct = 0
        for row in rows:
            vectors = encoder.encode(
                texts=[row.query_text, *row.candidate_texts],
                images=[row.query_image, *row.candidate_images],
                batch_size=batch_size,
                show_progress=False,
            )
            correct += int(np.argmax((vectors[1:] @ vectors[0]).numpy()) == 0)
        scores[name] = correct / len(rows) * 100
    return scores


def timed(function, counts: dict) -> tuple:
    before = dict(counts)
    start = time.perf_counter()
    result = function()
    return result, {
        "wall_s": round(time.perf_counter() - start, 2),
        "forward_passes": counts["passes"] - before["passes"],
        "forward_rows": counts["rows"] - before["rows"],
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mini", default=None, help="MMEB-mini root (default: llave.minimmeb.ensure_mini())")
    parser.add_argument("--model", default=None, help="model directory (default: a tiny untrained model in a temp dir)")
    parser.add_argument(
        "--max-rows",
        type=int,
        default=100,
        help="rows per dataset (default 100; the full 1000 makes the naive run ~30 min on 2 cores)",
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--no-naive", action="store_true", help="time the unique-item strategy only (e.g. on all 1000 rows)"
    )
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args(argv)

    root = Path(args.mini) if args.mini else ensure_mini()
    model_dir = args.model or tiny_llava_onevision(Path(tempfile.mkdtemp(prefix="llave-bench-")) / "tiny", seed=0)
    encoder = LLaVE.from_pretrained(model_dir)
    counts = count_forwards(encoder)
    datasets = {
        name: load_eval_dataset(root / "eval", name, image_root=root)[: args.max_rows]
        for name in available_datasets(root / "eval")
    }
    table = collect_items(datasets)
    encoder.encode(texts=["warm up"] * 4, show_progress=False)  # first-call overheads out of both timings

    (records, stats), unique_run = timed(
        lambda: evaluate_datasets(encoder, datasets, batch_size=args.batch_size, log=None), counts
    )
    unique_scores = {name: record["precision_at_1"] for name, record in records.items()}
    if args.no_naive:
        naive_scores, naive_run = {}, {"wall_s": float("nan"), "forward_passes": 0, "forward_rows": 0}
    else:
        naive_scores, naive_run = timed(lambda: naive(encoder, datasets, args.batch_size), counts)
    agree = sum(abs(unique_scores[n] - naive_scores[n]) < 1e-9 for n in naive_scores)
    result = {
        "device": "cpu",
        "threads": torch.get_num_threads(),
        "load_average": os.getloadavg(),
        "datasets": len(datasets),
        "rows": sum(len(r) for r in datasets.values()),
        "batch_size": args.batch_size,
        "unique_items": len(table.items),
        "naive_items": table.naive_count(),
        "unique": unique_run,
        "naive": naive_run,
        "speedup": round(naive_run["wall_s"] / unique_run["wall_s"], 2),
        "p_at_1_unique": unique_scores,
        "p_at_1_naive": naive_scores,
        "datasets_with_equal_p_at_1": agree,
    }
    print(
        f"MMEB-mini, {result['datasets']} datasets x {args.max_rows} rows ({result['rows']} queries), batch {args.batch_size}, "
        f"{result['threads']} threads, load average {result['load_average'][0]:.1f}"
    )
    print(f"{'strategy':10} {'wall s':>8} {'forward passes':>15} {'rows encoded':>13}")
    for name in ("unique",) if args.no_naive else ("unique", "naive"):
        run = result[name]
        print(f"{name:10} {run['wall_s']:8.1f} {run['forward_passes']:15d} {run['forward_rows']:13d}")
    print(
        f"unique items {result['unique_items']} vs naive {result['naive_items']}"
        + ("" if args.no_naive else f"; speedup x{result['speedup']}; P@1 equal on {agree}/{len(datasets)} datasets")
    )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    return result


if __name__ == "__main__":
    main()
