"""Regression losses written out, with the shape check that ``nn.MSELoss`` only warns about.

``nn.MSELoss`` broadcasts a ``(B,)`` target against a ``(B, 1)`` prediction to ``(B, B)``,
warns, and returns a wrong number. These versions refuse mismatched shapes instead, and also
mismatched dtypes and NaN or infinite values (which would make the loss NaN or infinite):

- ``mse``       mean squared error, ``reduction`` ``'mean'`` (over *elements*), ``'sum'``, ``'none'``
- ``mse_grad``  its gradient with respect to the prediction: ``2 (y_hat - y) / N`` for ``'mean'``
- ``mae``       mean absolute error (``nn.L1Loss``)
- ``huber``     quadratic within ``delta`` of the target, linear beyond (``nn.HuberLoss``)
"""

from __future__ import annotations

import math
import numbers

import torch

__all__ = ["REDUCTIONS", "check_same_shape", "check_same_dtype", "check_finite", "mse",
           "mse_grad", "mae", "huber"]

REDUCTIONS = ("mean", "sum", "none")


def check_same_shape(prediction: torch.Tensor, target: torch.Tensor) -> None:
    """Raise unless both are floating-point tensors of exactly the same shape."""
    for name, value in (("prediction", prediction), ("target", target)):
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
        if not value.is_floating_point():
            raise TypeError(f"{name} must be a floating-point tensor, got dtype {value.dtype}")
    if prediction.shape != target.shape:
        hint = ""
        if prediction.dim() == target.dim() + 1 and prediction.shape[-1] == 1:
            hint = "; use target.unsqueeze(-1) (or prediction.squeeze(-1))"
        elif target.dim() == prediction.dim() + 1 and target.shape[-1] == 1:
            hint = "; use target.squeeze(-1) (or prediction.unsqueeze(-1))"
        raise ValueError(f"prediction and target must have the same shape (no broadcasting), "
                         f"got prediction {tuple(prediction.shape)} and target "
                         f"{tuple(target.shape)}{hint}")


def check_same_dtype(prediction: torch.Tensor, target: torch.Tensor) -> None:
    """Raise ``TypeError`` unless both tensors have the same dtype (no silent promotion)."""
    if prediction.dtype != target.dtype:
        raise TypeError(f"prediction and target must have the same dtype, got prediction "
                        f"{prediction.dtype} and target {target.dtype}; convert one, e.g. "
                        f"target.to(prediction.dtype)")


def check_finite(name: str, values: torch.Tensor) -> None:
    """Raise ``ValueError`` if ``values`` holds a NaN or an infinite value."""
    bad = ~torch.isfinite(values.detach())
    if bad.any():
        nan = int(values.detach().isnan().sum())
        raise ValueError(f"{name} must hold finite numbers only, got {nan} NaN and "
                         f"{int(bad.sum()) - nan} infinite value(s) out of {values.numel()}")


def _check_pair(prediction: torch.Tensor, target: torch.Tensor) -> None:
    """Everything a loss needs: tensors of one floating dtype and one shape, all finite."""
    check_same_shape(prediction, target)
    check_same_dtype(prediction, target)
    check_finite("prediction", prediction)
    check_finite("target", target)


def _reduce(elementwise: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "mean":
        return elementwise.sum() / elementwise.numel()
    if reduction == "sum":
        return elementwise.sum()
    return elementwise


def _check_reduction(reduction: object) -> str:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    return reduction


def mse(prediction: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Squared errors ``(y_hat - y)**2``, summed and divided by the number of elements
    (``'mean'``), summed (``'sum'``), or returned per element (``'none'``)."""
    _check_reduction(reduction)
    _check_pair(prediction, target)
    return _reduce((prediction - target) ** 2, reduction)


def mse_grad(prediction: torch.Tensor, target: torch.Tensor,
             reduction: str = "mean") -> torch.Tensor:
    """d mse / d prediction: ``2 (y_hat - y) / N`` for ``'mean'`` (N = number of elements),
    ``2 (y_hat - y)`` for ``'sum'``. (``'none'`` has no single scalar to differentiate.)"""
    _check_reduction(reduction)
    if reduction == "none":
        raise ValueError("reduction='none' returns a tensor, not a scalar: its gradient needs "
                         "a weight per element; use 'mean' or 'sum'")
    _check_pair(prediction, target)
    gradient = 2 * (prediction - target)
    return gradient / prediction.numel() if reduction == "mean" else gradient


def mae(prediction: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Absolute errors ``|y_hat - y|``, reduced like :func:`mse`."""
    _check_reduction(reduction)
    _check_pair(prediction, target)
    return _reduce((prediction - target).abs(), reduction)


def huber(prediction: torch.Tensor, target: torch.Tensor, delta: float = 1.0,
          reduction: str = "mean") -> torch.Tensor:
    """``0.5 r**2`` where ``|r| <= delta``, else ``delta (|r| - 0.5 delta)``; r = y_hat - y."""
    _check_reduction(reduction)
    if isinstance(delta, bool) or not isinstance(delta, numbers.Real):
        raise TypeError(f"delta must be a real number, got {type(delta).__name__} ({delta!r})")
    if not (delta > 0 and math.isfinite(delta)):
        raise ValueError(f"delta must be a finite number > 0, got {delta!r}")
    _check_pair(prediction, target)
    r = (prediction - target).abs()
    elementwise = torch.where(r <= delta, 0.5 * r**2, delta * (r - 0.5 * delta))
    return _reduce(elementwise, reduction)
