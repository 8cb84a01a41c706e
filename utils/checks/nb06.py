"""Checkers for the exercises of notebook 06 (MSE loss)."""

from __future__ import annotations

import math

import torch

from ..losses import check_same_shape, huber, mse, mse_grad
from . import Verdict, as_number, feedback

__all__ = ["check_fixed_loss", "check_mse_gradient", "check_huber_value", "check_raw_mse"]


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-7)


def check_fixed_loss(answer: object, prediction: torch.Tensor, target: torch.Tensor) -> Verdict:
    """Exercise 06.1: the right MSE of ``(B, 1)`` predictions against ``(B,)`` targets."""
    value = as_number(answer)
    if value is None:
        return feedback(False, "", f"give the loss as one number (a float or a 0-d tensor), "
                                   f"got {type(answer).__name__}.")
    expected = float(mse(prediction.detach(), target.detach().reshape(prediction.shape)))
    broadcast = float(((prediction.detach() - target.detach().reshape(1, -1)) ** 2).mean())
    if _close(value, broadcast) and not _close(broadcast, expected):
        return feedback(False, "", "that is the broadcast (B, B) value: make the two shapes "
                                   "equal first, e.g. target.unsqueeze(1).")
    return feedback(_close(value, expected),
                    f"{expected:.4f}: with equal shapes each prediction meets only its own "
                    "target.",
                    "compare each prediction with its own target only: reshape one side so "
                    "that both are (B, 1) or both (B,).")


def check_mse_gradient(answer: object, prediction: torch.Tensor,
                       target: torch.Tensor) -> Verdict:
    """Exercise 06.2: d MSELoss() / d prediction, by hand."""
    prediction, target = prediction.detach(), target.detach()
    check_same_shape(prediction, target)
    if not isinstance(answer, torch.Tensor):
        return feedback(False, "", f"give a tensor shaped like the prediction "
                                   f"{tuple(prediction.shape)}, got {type(answer).__name__}.")
    if answer.shape != prediction.shape:
        return feedback(False, "", f"the gradient has the prediction's shape "
                                   f"{tuple(prediction.shape)}, got {tuple(answer.shape)}.")
    answer = answer.detach()
    expected = mse_grad(prediction, target)

    def same(x):
        return bool(torch.allclose(answer, x, rtol=1e-5, atol=1e-7))
    if same(-expected):
        return feedback(False, "", "the sign is flipped: d/dŷ (ŷ - y)² = +2 (ŷ - y).")
    if same(mse_grad(prediction, target, "sum")):
        return feedback(False, "", "that is the gradient of the sum; 'mean' also divides by "
                                   "N, the number of elements.")
    if prediction.dim() > 1 and same(2 * (prediction - target) / prediction.shape[0]):
        return feedback(False, "", "divide by the number of elements, not by the batch size.")
    if same(expected / 2):
        return feedback(False, "", "the factor 2 from the square is missing.")
    return feedback(same(expected), "2 (ŷ - y) / N, the same as autograd's prediction.grad.",
                    "differentiate (1/N) Σ (ŷ - y)² with respect to each ŷ.")


def check_huber_value(answer: object, residual: float = 3.0, delta: float = 1.0) -> Verdict:
    """Exercise 06.3: Huber's loss of one residual."""
    value = as_number(answer)
    if value is None:
        return feedback(False, "", f"give one number, got {type(answer).__name__}.")
    r = torch.tensor([residual])
    expected = float(huber(r, torch.zeros(1), delta))
    if abs(residual) > delta and _close(value, 0.5 * residual**2):
        return feedback(False, "", f"0.5 r² is the quadratic part; |r| = {abs(residual):g} is "
                                   f"beyond delta = {delta:g}, where the loss is linear.")
    if _close(value, residual**2):
        return feedback(False, "", "that is the squared error (MSE).")
    return feedback(_close(value, expected),
                    f"{expected:g} = delta (|r| - delta / 2): linear beyond delta.",
                    "beyond delta Huber is delta * (|r| - 0.5 * delta); within, 0.5 * r².")


def check_raw_mse(answer: object, standardized_mse: float = 0.04,
                  target_std: float = 50.0) -> Verdict:
    """Exercise 06.4: an MSE on standardized targets, back in the original units."""
    value = as_number(answer)
    if value is None:
        return feedback(False, "", f"give one number, got {type(answer).__name__}.")
    expected = standardized_mse * target_std**2
    if _close(value, standardized_mse * target_std):
        return feedback(False, "", "errors scale by the std, so squared errors scale by its "
                                   "square.")
    return feedback(_close(value, expected),
                    f"{expected:g}: y = mean + std · z, so every error is std times larger "
                    "and every squared error std² times larger (the mean cancels).",
                    "write y = mean + std · z and see what happens to (ŷ - y)².")
