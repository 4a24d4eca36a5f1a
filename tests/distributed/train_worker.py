"""Run under `torchrun --nproc_per_node=2`: one training step of the tiny LLaVA-OV under DDP vs one process.

argv: MODEL_DIR PAIRS_JSON. Every rank computes the single-process reference on the full batch (plain and with
GradCache), then the DDP step on its half with negatives gathered across ranks; parameter gradients must match.
Rank 0 prints one line per mode; exit status 1 on a mismatch.
"""

import json
import sys

import torch
import torch.distributed as dist

from llave.data import TrainPair
from llave.loss import ContrastiveLoss
from llave.model import LLaVE
from llave.train import PairEncoder, TrainConfig, train_step, wrap_model


def gradients(model):
    return {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}


def main() -> int:
    dist.init_process_group("gloo")
    rank, world_size = dist.get_rank(), dist.get_world_size()
    model_dir, pairs_file = sys.argv[1], sys.argv[2]
    pairs = [TrainPair(**p) for p in json.load(open(pairs_file))]
    half = len(pairs) // world_size
    local = pairs[rank * half : (rank + 1) * half]
    failed = False
    for chunk in (None, 2):
        config = TrainConfig(gradcache_chunk_size=chunk)
        no_autocast = lambda: torch.autocast("cpu", enabled=False)
        reference = LLaVE.from_pretrained(model_dir).train()
        reference.freeze_vision(True)
        single = train_step(
            PairEncoder(reference),
            reference,
            ContrastiveLoss(tau=0.05, alpha=9.0, gather=False),
            [pairs],
            config,
            no_autocast,
        )
        model = LLaVE.from_pretrained(model_dir).train()
        model.freeze_vision(True)
        encoder = wrap_model(model, config, world_size, torch.device("cpu"))
        distributed = train_step(encoder, model, ContrastiveLoss(tau=0.05, alpha=9.0), [local], config, no_autocast)
        expected, actual = gradients(reference), gradients(model)
        worst = max((expected[n] - actual[n]).abs().max().item() for n in expected)
        largest = max(g.abs().max().item() for g in expected.values())
        ok = (
            expected.keys() == actual.keys()
            and worst <= 1e-5 * max(1.0, largest)
            and abs(single["loss"] - distributed["loss"]) < 1e-5
        )
        failed |= not ok
        if rank == 0:
            print(
                f"gradcache={chunk}: loss {single['loss']:.6f} vs {distributed['loss']:.6f}, "
                f"gradient difference {worst:.2e} (largest {largest:.2e}) {'ok' if ok else 'MISMATCH'}",
                flush=True,
            )
    dist.destroy_process_group()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
