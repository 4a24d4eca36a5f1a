"""Forward+backward time of hardness_weighted_nce vs info_nce (N=1024, d=1024, fp32, CPU).

A measurement, not a test: prints the medians and their ratio (target <= 1.05).
Usage: python benchmarks/loss.py [--n 1024] [--dim 1024] [--repeats 30]
"""
import argparse
import statistics
import time

import torch

from llave.loss import hardness_weighted_nce, info_nce


def time_loss(loss_function, q, t, repeats: int) -> float:
    "Median seconds of one forward+backward pass."
    times = []
    for _ in range(repeats + 3):
        q.grad = t.grad = None
        start = time.perf_counter()
        loss_function(q, t).backward()
        times.append(time.perf_counter() - start)
    return statistics.median(times[3:])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1024)
    parser.add_argument("--dim", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    torch.manual_seed(0)
    q = torch.randn(args.n, args.dim, requires_grad=True)
    t = torch.randn(args.n, args.dim, requires_grad=True)
    results = {}
    for _ in range(2):   # interleave to even out machine noise
        for name, function in (("info_nce", info_nce), ("hardness_weighted_nce", hardness_weighted_nce)):
            results.setdefault(name, []).append(time_loss(function, q, t, args.repeats))
    baseline = min(results["info_nce"])
    weighted = min(results["hardness_weighted_nce"])
    print(f"N={args.n} d={args.dim} fp32 CPU threads={torch.get_num_threads()}")
    print(f"info_nce              {baseline * 1e3:8.2f} ms (median fwd+bwd)")
    print(f"hardness_weighted_nce {weighted * 1e3:8.2f} ms (median fwd+bwd)")
    print(f"ratio                 {weighted / baseline:8.3f}  (target <= 1.05)")


if __name__ == "__main__":
    main()
