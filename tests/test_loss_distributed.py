"""The cross-rank gather of ContrastiveLoss, tested with two real processes (torchrun, gloo)."""
import os
import subprocess
import sys
from pathlib import Path

import torch

from llave.loss import ContrastiveLoss, hardness_weighted_nce

WORKER = Path(__file__).parent / "distributed" / "loss_worker.py"


def test_ddp_two_processes_equal_one_process():
    "Loss averaged over 2 ranks and DDP gradients equal one process on the full batch (equal and unequal splits, Eq. 5 and Focal-InfoNCE, printed and signed)."
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(WORKER)]
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=environment)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    lines = [line for line in result.stdout.splitlines() if line.startswith("sizes=")]
    assert len(lines) == 8 and all(line.endswith("ok") for line in lines), output
    assert any("sizes=(3, 5)" in line for line in lines)
    assert sum("focal_margin=0.3" in line for line in lines) == 2      # Focal-InfoNCE gathers its negatives too
    assert sum("focal_signed=True" in line for line in lines) == 1     # and so does its signed square


def test_without_process_group_is_plain_math():
    q, t = torch.randn(6, 4, dtype=torch.float64), torch.randn(6, 4, dtype=torch.float64)
    assert not torch.distributed.is_initialized()
    assert torch.allclose(ContrastiveLoss(alpha=9.0)(q, t), hardness_weighted_nce(q, t, alpha=9.0), atol=1e-12)
