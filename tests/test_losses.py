"""utils.losses: equal to torch's losses, the hand gradient equal to autograd's, shapes refused."""

import math
import warnings

import pytest
import torch
from torch import nn

from utils.losses import REDUCTIONS, huber, mae, mse, mse_grad


def pair(shape=(8, 3), seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g) * 3, torch.randn(shape, generator=g) * 3


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(8, 1), (8, 3), (5,), (2, 4, 3)])
def test_equal_to_torch_for_every_reduction(reduction, shape):
    prediction, target = pair(shape)
    torch.testing.assert_close(mse(prediction, target, reduction),
                               nn.MSELoss(reduction=reduction)(prediction, target))
    torch.testing.assert_close(mae(prediction, target, reduction),
                               nn.L1Loss(reduction=reduction)(prediction, target))
    for delta in (0.5, 1.0, 4.0):
        torch.testing.assert_close(huber(prediction, target, delta, reduction),
                                   nn.HuberLoss(reduction=reduction, delta=delta)(prediction,
                                                                                  target))


def test_mean_divides_by_the_number_of_elements_not_samples():
    prediction, target = pair((8, 3))
    total = ((prediction - target) ** 2).sum()
    torch.testing.assert_close(mse(prediction, target), total / 24)
    assert not torch.isclose(mse(prediction, target), total / 8)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("shape", [(8, 1), (8, 3)])
def test_hand_gradient_equals_autograd(reduction, shape):
    prediction, target = pair(shape)
    prediction.requires_grad_(True)
    nn.MSELoss(reduction=reduction)(prediction, target).backward()
    torch.testing.assert_close(mse_grad(prediction.detach(), target, reduction), prediction.grad)
    if reduction == "mean":
        torch.testing.assert_close(prediction.grad,
                                   2 * (prediction.detach() - target) / prediction.numel())


def test_mismatched_shapes_are_refused_where_torch_only_warns():
    prediction, target = pair((8, 1))
    flat = target.squeeze(1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        broadcast = nn.MSELoss()(prediction, flat)
    assert "different to the input size" in str(caught[0].message)
    torch.testing.assert_close(broadcast, ((prediction - flat.unsqueeze(0)) ** 2).mean())
    assert not torch.isclose(broadcast, mse(prediction, target))
    for loss in (mse, mae, huber):
        with pytest.raises(ValueError, match=r"\(8, 1\).*\(8,\).*unsqueeze"):
            loss(prediction, flat)
        with pytest.raises(ValueError, match=r"\(8,\).*\(8, 1\).*squeeze"):
            loss(flat, prediction)
    with pytest.raises(ValueError, match=r"\(8, 1\).*\(8,\)"):
        mse_grad(prediction, flat)
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(3, 2\)"):
        mse(torch.zeros(2, 3), torch.zeros(3, 2))


def test_other_bad_inputs():
    prediction, target = pair((4,))
    with pytest.raises(ValueError, match="one of.*'avg'"):
        mse(prediction, target, "avg")
    with pytest.raises(ValueError, match="'none'"):
        mse_grad(prediction, target, "none")
    with pytest.raises(TypeError, match="floating-point.*int64"):
        mse(prediction, torch.arange(4))
    with pytest.raises(TypeError, match="torch.Tensor.*list"):
        mae([1.0], target)
    with pytest.raises(ValueError, match="delta.*-1"):
        huber(prediction, target, delta=-1)


@pytest.mark.parametrize("loss", [mse, mae, huber, mse_grad])
def test_mismatched_dtypes_are_refused(loss):
    prediction, target = pair((4, 2))
    with pytest.raises(TypeError, match=r"same dtype, got prediction torch.float32 and target "
                                        r"torch.float64"):
        loss(prediction, target.double())


@pytest.mark.parametrize("loss", [mse, mae, huber, mse_grad])
@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_nan_and_infinite_values_are_refused(loss, bad):
    prediction, target = pair((4, 2))
    spoiled = target.clone()
    spoiled[1, 0] = bad
    with pytest.raises(ValueError, match="target must hold finite numbers only, got "
                                         f"{int(math.isnan(bad))} NaN"):
        loss(prediction, spoiled)
    with pytest.raises(ValueError, match="prediction must hold finite numbers only"):
        loss(spoiled, prediction)


def test_huber_delta_must_be_a_finite_positive_number():
    prediction, target = pair((4,))
    for delta in (0.0, math.inf, math.nan):
        with pytest.raises(ValueError, match="delta must be a finite number > 0"):
            huber(prediction, target, delta=delta)
    with pytest.raises(TypeError, match="delta must be a real number, got str"):
        huber(prediction, target, delta="1")
