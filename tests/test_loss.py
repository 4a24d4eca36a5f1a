"""Bad input and edge cases of llave.loss (the notebook shows the maths; these pin the error messages)."""

import pytest
import torch

from llave.loss import ContrastiveLoss, focal_info_nce, hardness_weighted_nce, info_nce

LOSSES = [info_nce, hardness_weighted_nce, focal_info_nce, ContrastiveLoss()]


@pytest.mark.parametrize("loss", LOSSES)
def test_shape_mismatch_names_both_shapes(loss):
    with pytest.raises(ValueError, match=r"q \(4, 8\) and t \(3, 8\)"):
        loss(torch.randn(4, 8), torch.randn(3, 8))


@pytest.mark.parametrize("loss", LOSSES)
def test_not_two_dimensional(loss):
    with pytest.raises(ValueError, match=r"2-D.*\(8,\)"):
        loss(torch.randn(8), torch.randn(8))


@pytest.mark.parametrize("loss", LOSSES)
def test_empty_batch(loss):
    with pytest.raises(ValueError, match=r"empty batch.*\(0, 8\)"):
        loss(torch.randn(0, 8), torch.randn(0, 8))


def test_not_a_tensor():
    with pytest.raises(ValueError, match="torch.Tensor, got list"):
        info_nce([[1.0]], torch.ones(1, 1))


def test_single_pair_has_zero_loss():
    "With one pair there are no negatives: the loss is exactly 0 for every alpha."
    q = torch.randn(1, 5)
    for alpha in (0.0, 9.0):
        assert hardness_weighted_nce(q, torch.randn(1, 5), alpha=alpha).item() == 0.0


def test_gradients_reach_both_towers():
    q, t = torch.randn(6, 4, requires_grad=True), torch.randn(6, 4, requires_grad=True)
    ContrastiveLoss()(q, t).backward()
    assert q.grad.abs().sum() > 0 and t.grad.abs().sum() > 0


def test_alpha_raises_loss_with_hard_negatives():
    "Hard negatives (similar to the query) get a larger loss under alpha=9 than under InfoNCE."
    q = torch.nn.functional.normalize(torch.randn(8, 16), dim=-1)
    t = q + 0.3 * torch.randn(8, 16)
    assert hardness_weighted_nce(q, t, alpha=9.0) > info_nce(q, t)
