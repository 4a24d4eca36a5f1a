"""Run under `torchrun --nproc_per_node=K`: ContrastiveLoss under DDP (gloo, float64) against one process.

For each case (per-rank batch sizes, alpha, Focal-InfoNCE margin and signed square), every rank builds the same two-tower linear encoder and the same
global batch. The reference is one process scoring the whole batch; the distributed run splits the batch across
ranks, wraps the encoder in DDP and uses ContrastiveLoss's cross-rank gathering. The loss averaged over ranks and
every parameter gradient must match to 1e-8. Rank 0 prints one line per case; the exit status is 1 on a mismatch.
"""

import copy
import gc
import sys

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from llave.loss import ContrastiveLoss

CASES = [
    ((4, 4), 9.0, None, False),
    ((4, 4), 0.0, None, False),
    ((3, 5), 9.0, None, False),
    ((1, 6), 9.0, None, False),
    ((2, 2), 15.0, None, False),
    ((4, 4), 0.0, 0.3, False),
    ((3, 5), 0.0, 0.3, False),
    ((3, 5), 0.0, 0.1, True),
]  # the last three: Focal-InfoNCE (alpha 0, margin 0.3; margin 0.1, signed square)


class TwoTowers(nn.Module):
    def __init__(self, inputs: int = 12, outputs: int = 8):
        super().__init__()
        self.query, self.target = nn.Linear(inputs, outputs), nn.Linear(inputs, outputs)

    def forward(self, query_inputs, target_inputs):
        return self.query(query_inputs), self.target(target_inputs)


def run_case(sizes, alpha, margin, signed, rank, world_size):
    torch.manual_seed(sum(sizes) + int(alpha))
    total = sum(sizes)
    query_inputs = torch.randn(total, 12, dtype=torch.float64)
    target_inputs = query_inputs + 0.5 * torch.randn(total, 12, dtype=torch.float64)
    reference = TwoTowers().double()
    model = DistributedDataParallel(copy.deepcopy(reference))

    options = dict(tau=0.05, alpha=alpha, focal_margin=margin, focal_signed=signed)
    expected = ContrastiveLoss(gather=False, **options)(*reference(query_inputs, target_inputs))
    expected.backward()

    start = sum(sizes[:rank])
    local = slice(start, start + sizes[rank])
    loss = ContrastiveLoss(**options)(*model(query_inputs[local], target_inputs[local]))
    loss.backward()
    averaged = loss.detach().clone()
    dist.all_reduce(averaged)
    averaged /= world_size

    loss_error = (averaged - expected).abs().item()
    gradient_error = max(
        (p.grad - r.grad).abs().max().item() for p, r in zip(model.module.parameters(), reference.parameters())
    )
    return loss_error, gradient_error


def main() -> int:
    dist.init_process_group("gloo")
    rank, world_size = dist.get_rank(), dist.get_world_size()
    failed = False
    for sizes, alpha, margin, signed in CASES:
        sizes = sizes[:world_size]
        loss_error, gradient_error = run_case(sizes, alpha, margin, signed, rank, world_size)
        ok = loss_error < 1e-8 and gradient_error < 1e-8
        failed |= not ok
        if rank == 0:
            print(
                f"sizes={sizes} alpha={alpha} focal_margin={margin} focal_signed={signed}: "
                f"loss error {loss_error:.2e}, gradient error {gradient_error:.2e}"
                f" {'ok' if ok else 'MISMATCH'}",
                flush=True,
            )
    gc.collect()  # free every case's DDP model (its reducer holds gloo work) while the process group lives:
    dist.barrier()  # destroying the group under a live reducer aborted the process at exit about half the time
    dist.destroy_process_group()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
