"""The cross-rank gather of ContrastiveLoss, tested with two real processes (torchrun, gloo)."""

from pathlib import Path

import pytest
import torch

from llave.loss import ContrastiveLoss, hardness_weighted_nce
from torchrun import run_torchrun

WORKER = Path(__file__).parent / "distributed" / "loss_worker.py"


@pytest.mark.slow
def test_ddp_two_processes_equal_one_process():
    """Loss averaged over 2 ranks and DDP gradients equal one process on the full batch (equal and unequal splits,
    Eq. 5 and Focal-InfoNCE, printed and signed)."""
    result = run_torchrun([str(WORKER)], timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    lines = [line for line in result.stdout.splitlines() if line.startswith("sizes=")]
    assert len(lines) == 8 and all(line.endswith("ok") for line in lines), output
    assert any("sizes=(3, 5)" in line for line in lines)
    assert sum("focal_margin=0.3" in line for line in lines) == 2  # Focal-InfoNCE gathers its negatives too
    assert sum("focal_signed=True" in line for line in lines) == 1  # and so does its signed square


def test_without_process_group_is_plain_math():
    q, t = torch.randn(6, 4, dtype=torch.float64), torch.randn(6, 4, dtype=torch.float64)
    assert not torch.distributed.is_initialized()
    assert torch.allclose(ContrastiveLoss(alpha=9.0)(q, t), hardness_weighted_nce(q, t, alpha=9.0), atol=1e-12)


def test_only_a_native_abort_is_rerun():
    "The torchrun helper reruns a job only when its first failing rank died of a signal, never after a Python error."
    from torchrun import native_abort

    report = (
        "Root Cause (first observed failure):\n  [0]:\n    rank      : 0 (local_rank: 0)\n    exitcode  : {} (pid: 7)\n"
    )
    assert native_abort("malloc(): unaligned tcache chunk detected\n" + report.format(-6))
    assert native_abort(report.format(-11))
    assert not native_abort("ValueError: bad config\n" + report.format(1))
    assert not native_abort("exitcode  : -6 without torchrun's root-cause report")
