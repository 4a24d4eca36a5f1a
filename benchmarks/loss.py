"""Forward+backward time of LLaVE's loss against InfoNCE (N=1024, d=1024, fp32, CPU).

A measurement, not a test. The three losses run interleaved (one pass of each, in a rotating order, `--repeats`
times) so that machine noise hits them alike; it prints each loss's median and the ratio of medians to InfoNCE
(issue target: <= 1.05), then the same ratio over the first and the second half of the repeats, as a spread.
Usage: python benchmarks/loss.py [--n 1024] [--dim 1024] [--repeats 60] [--threads 2]
"""

import argparse
import statistics
import time

import torch

from llave.loss import ContrastiveLoss, hardness_weighted_nce, info_nce


def one_pass(loss_function, q, t) -> float:
    "Seconds of one forward+backward pass."
    q.grad = t.grad = None
    start = time.perf_counter()
    loss_function(q, t).backward()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1024)
    parser.add_argument("--dim", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=60)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    q = torch.randn(args.n, args.dim, requires_grad=True)
    t = torch.randn(args.n, args.dim, requires_grad=True)
    losses = {
        "info_nce": info_nce,
        "hardness_weighted_nce": hardness_weighted_nce,
        "ContrastiveLoss(alpha=9)": ContrastiveLoss(tau=0.02, alpha=9.0),
    }
    names = list(losses)
    for name in names:  # warm-up
        for _ in range(3):
            one_pass(losses[name], q, t)
    times = {name: [] for name in names}
    for repeat in range(args.repeats):
        order = names[repeat % len(names) :] + names[: repeat % len(names)]
        for name in order:
            times[name].append(one_pass(losses[name], q, t))
    baseline = statistics.median(times["info_nce"])
    half = args.repeats // 2
    print(f"N={args.n} d={args.dim} fp32 CPU threads={torch.get_num_threads()} repeats={args.repeats} (interleaved)")
    for name in names:
        median = statistics.median(times[name])
        halves = [
            statistics.median(times[name][part]) / statistics.median(times["info_nce"][part])
            for part in (slice(0, half), slice(half, None))
        ]
        print(
            f"{name:26s} {median * 1e3:8.2f} ms median   ratio {median / baseline:6.3f}   "
            f"(halves {halves[0]:.3f}, {halves[1]:.3f})"
        )


if __name__ == "__main__":
    main()
